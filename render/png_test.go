package render

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// checkPNG encodes img with Encode and decodes it with image/png (which checks the zlib
// checksum and the deflate stream strictly): the samples must come back unchanged.
func checkPNG(t *testing.T, name string, img image.Image) int {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, img, PNG, 0); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	n := buf.Len()
	got, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("%s: image/png cannot decode: %v", name, err)
	}
	if got.Bounds().Size() != img.Bounds().Size() {
		t.Fatalf("%s: decoded size %v, want %v", name, got.Bounds().Size(), img.Bounds().Size())
	}
	if !bytes.Equal(rgbOf(got), rgbOf(img)) {
		t.Fatalf("%s: decoded samples differ", name)
	}
	return n
}

// TestEncodePNG round-trips grey and RGB images through the PNG writer: noise (no runs),
// flat images (runs only), runs of every length around the match limits, smooth images, and
// images larger than a deflate block.
func TestEncodePNG(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	noise := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(r.IntN(256))
	}
	checkPNG(t, "noise", noise)
	flat := image.NewGray(image.Rect(0, 0, 1000, 3))
	checkPNG(t, "flat", flat)
	// Rows of runs of 1 … 300 equal Sub-filtered bytes, then noise.
	runs := image.NewGray(image.Rect(0, 0, 600, 300))
	for y := range 300 {
		row := runs.Pix[y*600 : y*600+600]
		for x := range row {
			if x > y {
				row[x] = uint8(r.IntN(256))
			}
		}
	}
	checkPNG(t, "runs", runs)
	checkPNG(t, "1x1", image.NewGray(image.Rect(0, 0, 1, 1)))
	for _, sz := range []image.Point{{1, 1}, {7, 3}, {400, 400}} {
		checkPNG(t, "rgb", testRGB(sz.X, sz.Y, 9))
	}
	big := testGray(900, 700, 3) // 631,400 bytes filtered: three blocks
	n := checkPNG(t, "big", big)
	t.Logf("900×700 grey: %d bytes", n)
	// Few distinct values: code lengths with long runs of zeros in the header.
	few := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range few.Pix {
		few.Pix[i] = uint8(r.IntN(2) * 200)
	}
	checkPNG(t, "few", few)
	sub := big.SubImage(image.Rect(3, 5, 333, 222))
	checkPNG(t, "sub-image", sub)
}

// FuzzEncodePNG round-trips grey and RGB images of any size up to 300×300 and any samples
// through the PNG writer and image/png.
func FuzzEncodePNG(f *testing.F) {
	f.Add(uint16(1), uint16(1), false, []byte{0})
	f.Add(uint16(300), uint16(2), true, []byte{0, 0, 0, 0, 1, 1, 1, 255})
	f.Add(uint16(17), uint16(9), false, []byte{7, 7, 7, 7, 7, 7, 8})
	f.Fuzz(func(t *testing.T, w, h uint16, colour bool, data []byte) {
		width, height := int(w%300)+1, int(h%300)+1
		if len(data) == 0 {
			data = []byte{0}
		}
		var img image.Image
		if colour {
			m := image.NewRGBA(image.Rect(0, 0, width, height))
			for i := range m.Pix {
				m.Pix[i] = data[i%len(data)]
				if i%4 == 3 {
					m.Pix[i] = 255
				}
			}
			img = m
		} else {
			m := image.NewGray(image.Rect(0, 0, width, height))
			for i := range m.Pix {
				m.Pix[i] = data[(i*7/5)%len(data)]
			}
			img = m
		}
		checkPNG(t, "fuzz", img)
	})
}

// TestEncodePNGZlib has zlib itself (Python's zlib module) inflate the image data of the PNG
// writer's output: it must accept the stream, checksum included, and give the bytes Go's
// compress/zlib gives.
func TestEncodePNGZlib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	dir := t.TempDir()
	for name, img := range map[string]image.Image{"gray": testGray(900, 700, 3), "rgb": testRGB(333, 77, 4)} {
		var buf bytes.Buffer
		if err := Encode(&buf, img, PNG, 0); err != nil {
			t.Fatal(err)
		}
		// The IDAT chunks' data, concatenated: the zlib stream.
		var z []byte
		for b := buf.Bytes()[8:]; len(b) >= 12; {
			n := int(binary.BigEndian.Uint32(b))
			if string(b[4:8]) == "IDAT" {
				z = append(z, b[8:8+n]...)
			}
			b = b[12+n:]
		}
		in, out := filepath.Join(dir, name+".z"), filepath.Join(dir, name+".raw")
		if err := os.WriteFile(in, z, 0o644); err != nil {
			t.Fatal(err)
		}
		script := "import sys, zlib; open(sys.argv[2], 'wb').write(zlib.decompress(open(sys.argv[1], 'rb').read()))"
		if msg, err := exec.Command(python, "-c", script, in, out).CombinedOutput(); err != nil {
			t.Fatalf("%s: zlib: %v\n%s", name, err, msg)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: zlib inflates %d bytes, compress/zlib %d, or they differ", name, len(got), len(want))
		}
	}
}
