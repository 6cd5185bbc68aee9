package render_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/render"
)

// benchCT is a 512×512 CT of 16 bits, signed (WG04 CT1).
const benchCT = "dicomParser__CT1_UNC.explicit_big_endian.dcm"

// loadBench returns the layout and the native frame of benchCT.
func loadBench(b *testing.B) (*render.Layout, []byte) {
	b.Helper()
	f, err := dicom.ReadFile(corpustest.Path(corpustest.Need(b), benchCT), dicom.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := render.Describe(f.Dataset)
	if err != nil {
		b.Fatal(err)
	}
	return l, codec.PixelData(f.Dataset).Value
}

// BenchmarkRender renders the 512×512 16-bit CT frame to 8 bits, encoded as PNG and JPEG at full
// size (and as JPEG by image/jpeg, for comparison), and as a JPEG thumbnail of 128×128.
func BenchmarkRender(b *testing.B) {
	l, frame := loadBench(b)
	win := &render.Window{Center: 40, Width: 400}
	for _, bc := range []struct {
		name  string
		media string
		size  image.Point
	}{
		{"frame", "", image.Point{}},
		{"PNG", render.PNG, image.Point{}},
		{"JPEG", render.JPEG, image.Point{}},
		{"JPEG-image-jpeg", "stdlib", image.Point{}},
		{"thumbnail-JPEG", render.JPEG, image.Pt(128, 128)},
		{"thumbnail-PNG", render.PNG, image.Pt(128, 128)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				img, err := l.Frame(frame, render.Options{Window: win, Size: bc.size})
				if err != nil {
					b.Fatal(err)
				}
				if bc.media == "" {
					continue
				}
				buf.Reset()
				if bc.media == "stdlib" {
					// The writer Encode used before it had its own, for comparison.
					if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: render.DefaultQuality}); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if err := render.Encode(&buf, img, bc.media, 0); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
			if buf.Len() > 0 {
				b.ReportMetric(float64(buf.Len()), "bytes")
			}
		})
	}
}

// cpuTime is the CPU time the process has used: on a machine shared with other work, CPU time
// per operation says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkDcm2pnm times DCMTK's dcm2pnm on the same frame to PNG, for comparison (one process
// per rendering, reading the file).
func BenchmarkDcm2pnm(b *testing.B) {
	bin, err := exec.LookPath("dcm2pnm")
	if err != nil {
		b.Skip("dcm2pnm (DCMTK) is not installed")
	}
	path := corpustest.Path(corpustest.Need(b), benchCT)
	for _, bc := range []struct{ name, format string }{{"PNG", "+on"}, {"PNM", "+op"}} {
		b.Run(bc.name, func(b *testing.B) {
			var child time.Duration
			for b.Loop() {
				cmd := exec.Command(bin, "+Ww", "40", "400", bc.format, path)
				cmd.Stdout = io.Discard
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
				child += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			b.ReportMetric(float64(child)/float64(b.N), "cpu-ns/op")
		})
	}
}
