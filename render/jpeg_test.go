package render

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// psnr is the peak signal-to-noise ratio in dB of b against a (8-bit samples of equal length);
// +Inf when they are equal.
func psnr(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(len(a))/se)
}

// testGray is a smooth image with some noise and a sharp edge, like a windowed CT slice.
func testGray(w, h int, seed uint64) *image.Gray {
	r := rand.New(rand.NewPCG(seed, 1))
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx, dy := float64(x-w/2), float64(y-h/2)
			v := 128 + 100*math.Cos(math.Hypot(dx, dy)/9) + r.NormFloat64()*3
			if x > w*2/3 {
				v = 30
			}
			m.Pix[y*m.Stride+x] = uint8(max(0, min(255, math.Round(v))))
		}
	}
	return m
}

// testRGB is a smooth colour image, opaque.
func testRGB(w, h int, seed uint64) *image.RGBA {
	g := testGray(w, h, seed)
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := g.Pix[y*g.Stride+x]
			i := y*m.Stride + 4*x
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = v, uint8(x*255/max(1, w-1)), 255-v, 255
		}
	}
	return m
}

// rgbOf returns the red, green and blue samples of an image.
func rgbOf(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

// grayOf returns the samples of a grey image.
func grayOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("decoded %T, want *image.Gray", img)
	}
	b := g.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy())
	for y := range b.Dy() {
		out = append(out, g.Pix[y*g.Stride:y*g.Stride+b.Dx()]...)
	}
	return out
}

// TestEncodeJPEG checks the fast JPEG writer against image/jpeg: the output decodes with
// image/jpeg to the input within a PSNR bound, no worse than image/jpeg's own encoding by more
// than a little, for grey and RGB images of sizes that are and are not multiples of the block
// and MCU sizes, at several qualities.
func TestEncodeJPEG(t *testing.T) {
	sizes := []image.Point{{512, 512}, {1, 1}, {7, 9}, {17, 33}, {100, 61}, {16, 16}}
	for _, sz := range sizes {
		for _, q := range []int{90, 50, 1, 100} {
			for _, colour := range []bool{false, true} {
				var img image.Image = testGray(sz.X, sz.Y, uint64(sz.X*sz.Y))
				if colour {
					img = testRGB(sz.X, sz.Y, uint64(sz.X*sz.Y))
				}
				var ours, std bytes.Buffer
				if err := Encode(&ours, img, JPEG, q); err != nil {
					t.Fatal(err)
				}
				if err := jpeg.Encode(&std, img, &jpeg.Options{Quality: q}); err != nil {
					t.Fatal(err)
				}
				got, err := jpeg.Decode(bytes.NewReader(ours.Bytes()))
				if err != nil {
					t.Fatalf("%v q%d colour %v: image/jpeg cannot decode: %v", sz, q, colour, err)
				}
				if got.Bounds().Size() != sz {
					t.Fatalf("%v q%d: decoded size %v", sz, q, got.Bounds().Size())
				}
				ref, err := jpeg.Decode(bytes.NewReader(std.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				var p, pstd float64
				if colour {
					p, pstd = psnr(rgbOf(img), rgbOf(got)), psnr(rgbOf(img), rgbOf(ref))
				} else {
					p, pstd = psnr(grayOf(t, img), grayOf(t, got)), psnr(grayOf(t, img), grayOf(t, ref))
				}
				if p < pstd-0.5 {
					t.Errorf("%v q%d colour %v: PSNR %.2f dB, image/jpeg %.2f dB", sz, q, colour, p, pstd)
				}
				if q == 90 && sz.X >= 100 {
					bound := 38.0
					if colour {
						bound = 30 // 4:2:0 chrominance
					}
					if p < bound {
						t.Errorf("%v q90 colour %v: PSNR %.2f dB, want at least %.0f", sz, colour, p, bound)
					}
					t.Logf("%v q90 colour %v: %.2f dB %d bytes; image/jpeg %.2f dB %d bytes", sz, colour, p, ours.Len(), pstd, std.Len())
				}
			}
		}
	}
}

// TestEncodeJPEGStuffing codes noise at quality 100, whose coefficients are large and whose
// entropy-coded data hold many 0xFF bytes to stuff, and a flat image, which is nearly all
// end-of-block codes.
func TestEncodeJPEGStuffing(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	noise := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(r.IntN(256))
	}
	flat := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range flat.Pix {
		flat.Pix[i] = 255
	}
	// Patterns of the largest coefficients: a checkerboard of 0 and 255, and basis-like stripes.
	checker := image.NewGray(image.Rect(0, 0, 64, 48))
	stripes := image.NewGray(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			checker.Pix[y*64+x] = uint8(255 * ((x + y) & 1))
			stripes.Pix[y*64+x] = uint8(255 * (x / 4 & 1))
		}
	}
	for name, img := range map[string]*image.Gray{"noise": noise, "flat": flat, "checker": checker, "stripes": stripes} {
		var buf bytes.Buffer
		if err := Encode(&buf, img, JPEG, 100); err != nil {
			t.Fatal(err)
		}
		got, err := jpeg.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p := psnr(img.Pix, grayOf(t, got)); p < 40 {
			t.Errorf("%s: PSNR %.2f dB at quality 100", name, p)
		}
	}
}

// TestEncodeJPEGSubimage encodes a sub-image (a stride wider than the row) like the whole.
func TestEncodeJPEGSubimage(t *testing.T) {
	g := testGray(64, 64, 1)
	sub := g.SubImage(image.Rect(5, 3, 42, 40)).(*image.Gray)
	cp := image.NewGray(image.Rect(0, 0, 37, 37))
	for y := range 37 {
		copy(cp.Pix[y*cp.Stride:], sub.Pix[y*sub.Stride:y*sub.Stride+37])
	}
	var a, b bytes.Buffer
	if err := Encode(&a, sub, JPEG, 80); err != nil {
		t.Fatal(err)
	}
	if err := Encode(&b, cp, JPEG, 80); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("a sub-image encodes differently from its copy")
	}
}

// TestEncodeJPEGDCMTK wraps the JPEG files in DICOM with img2dcm and decodes them with DCMTK's
// dcmj2pnm (libjpeg), checking they decode to within a PSNR bound of the input.
func TestEncodeJPEGDCMTK(t *testing.T) {
	img2dcm, err1 := exec.LookPath("img2dcm")
	dcmj2pnm, err2 := exec.LookPath("dcmj2pnm")
	if err1 != nil || err2 != nil {
		t.Skip("img2dcm and dcmj2pnm (DCMTK) are not installed")
	}
	dir := t.TempDir()
	for _, colour := range []bool{false, true} {
		var img image.Image = testGray(100, 61, 7)
		if colour {
			img = testRGB(100, 61, 7)
		}
		var buf bytes.Buffer
		if err := Encode(&buf, img, JPEG, 90); err != nil {
			t.Fatal(err)
		}
		jpg, dcm, pnm := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "in.dcm"), filepath.Join(dir, "out.pnm")
		if err := os.WriteFile(jpg, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(img2dcm, "-i", "JPEG", jpg, dcm).CombinedOutput(); err != nil {
			t.Fatalf("img2dcm: %v\n%s", err, out)
		}
		if out, err := exec.Command(dcmj2pnm, "+op", dcm, pnm).CombinedOutput(); err != nil {
			t.Fatalf("dcmj2pnm: %v\n%s", err, out)
		}
		data, err := os.ReadFile(pnm)
		if err != nil {
			t.Fatal(err)
		}
		// Binary PNM: magic, width, height, maxval, each followed by one whitespace byte.
		fields, rest := 0, data
		for fields < 4 && len(rest) > 0 {
			i := bytes.IndexAny(rest, " \n\t\r")
			if i < 0 {
				t.Fatal("short PNM header")
			}
			if i > 0 {
				fields++
			}
			rest = rest[i+1:]
		}
		var want []byte
		if colour {
			want = rgbOf(img)
		} else {
			want = grayOf(t, img)
		}
		if len(rest) != len(want) {
			t.Fatalf("colour %v: dcmj2pnm wrote %d samples, want %d", colour, len(rest), len(want))
		}
		p := psnr(want, rest)
		bound := 38.0
		if colour {
			bound = 30
		}
		if p < bound {
			t.Errorf("colour %v: DCMTK decodes to PSNR %.2f dB, want at least %.0f", colour, p, bound)
		}
		t.Logf("colour %v: DCMTK decodes to PSNR %.2f dB", colour, p)
	}
}

// BenchmarkEncodeJPEG times the JPEG writer alone on a 512×512 grey and RGB image at quality
// 90, beside image/jpeg.
func BenchmarkEncodeJPEG(b *testing.B) {
	for _, bc := range []struct {
		name string
		img  image.Image
	}{{"gray", testGray(512, 512, 1)}, {"rgb", testRGB(512, 512, 1)}} {
		b.Run(bc.name, func(b *testing.B) {
			var buf bytes.Buffer
			cpu := processCPU()
			for b.Loop() {
				buf.Reset()
				if err := Encode(&buf, bc.img, JPEG, 90); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
		b.Run(bc.name+"-image-jpeg", func(b *testing.B) {
			var buf bytes.Buffer
			cpu := processCPU()
			for b.Loop() {
				buf.Reset()
				if err := jpeg.Encode(&buf, bc.img, &jpeg.Options{Quality: 90}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}

// processCPU is the CPU time the process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzEncodeJPEG encodes grey and RGB images of any size up to 40×40, any samples and any
// quality: image/jpeg must decode the output to an image of the same size, and at quality 100
// close to the input.
func FuzzEncodeJPEG(f *testing.F) {
	f.Add(uint8(1), uint8(1), false, uint8(90), []byte{0})
	f.Add(uint8(17), uint8(9), true, uint8(100), []byte{0, 255, 0, 255, 128, 7})
	f.Add(uint8(40), uint8(33), false, uint8(1), []byte{255, 0, 255, 0})
	f.Fuzz(func(t *testing.T, w, h uint8, colour bool, quality uint8, data []byte) {
		width, height := int(w%40)+1, int(h%40)+1
		if len(data) == 0 {
			data = []byte{0}
		}
		var img image.Image
		if colour {
			m := image.NewRGBA(image.Rect(0, 0, width, height))
			for i := range m.Pix {
				m.Pix[i] = data[i%len(data)]
			}
			img = m
		} else {
			m := image.NewGray(image.Rect(0, 0, width, height))
			for i := range m.Pix {
				m.Pix[i] = data[i%len(data)]
			}
			img = m
		}
		q := int(quality%100) + 1
		var buf bytes.Buffer
		if err := Encode(&buf, img, JPEG, q); err != nil {
			t.Fatal(err)
		}
		got, err := jpeg.Decode(&buf)
		if err != nil {
			t.Fatalf("image/jpeg cannot decode: %v", err)
		}
		if got.Bounds().Size() != img.Bounds().Size() {
			t.Fatalf("decoded size %v, want %v", got.Bounds().Size(), img.Bounds().Size())
		}
		if q == 100 && !colour {
			if p := psnr(img.(*image.Gray).Pix, grayOf(t, got)); p < 30 {
				t.Errorf("quality 100: PSNR %.2f dB", p)
			}
		}
	})
}
