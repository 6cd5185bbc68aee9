package jpeg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/internal/cpuclock"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

// testImage makes a w×h frame with a smooth pattern plus some noise.
func testImage(w, h, spp, bitsAlloc, bitsStored int) ([]byte, codec.Image) {
	im := codec.Image{Rows: h, Columns: w, SamplesPerPixel: spp, BitsAllocated: bitsAlloc, BitsStored: bitsStored, Photometric: "MONOCHROME2"}
	if spp == 3 {
		im.Photometric = "RGB"
	}
	r := rand.New(rand.NewPCG(1, 2))
	maxv := 1<<bitsStored - 1
	frame := make([]byte, 0, im.FrameSize())
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < spp; c++ {
				v := ((x*(c+1)+y*3)*maxv/(w+3*h+1) + r.IntN(4)) & maxv
				if bitsAlloc == 16 {
					frame = binary.LittleEndian.AppendUint16(frame, uint16(v))
				} else {
					frame = append(frame, byte(v))
				}
			}
		}
	}
	return frame, im
}

// sofHeader builds a codestream that is only a frame header claiming w×h, padded to n bytes.
func sofHeader(marker byte, prec, w, h, nc, n int) []byte {
	b := []byte{0xFF, mSOI}
	samp := bytes.Repeat([]byte{0x11}, nc)
	b = appendSOF(b, marker, prec, h, w, samp, make([]byte, nc))
	b = append(b, 0xFF, mSOS, 0, 8, 1, 1, 0, 0, 63, 0)
	for len(b) < n {
		b = append(b, 0x55)
	}
	return b
}

func TestHostileHeaders(t *testing.T) {
	huge := codec.Image{Rows: 65535, Columns: 65535, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, Photometric: "MONOCHROME2"}
	if _, _, err := Decode(nil, sofHeader(mSOF0, 8, 65535, 65535, 1, 300), huge); !errors.Is(err, codec.ErrTooLarge) {
		t.Errorf("65535×65535: got %v, want ErrTooLarge", err)
	}
	// A 16384×16384 image is within MaxFrameBytes, but not in a few hundred bytes.
	big := codec.Image{Rows: 16384, Columns: 16384, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	for _, m := range []byte{mSOF0, mSOF1, mSOF2, mSOF3} {
		prec := 12
		if m == mSOF0 {
			prec = 8
		}
		src := sofHeader(m, prec, 16384, 16384, 1, 400)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := cpuclock.Now()
		_, _, err := Decode(nil, src, big)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("SOF %02X: got %v, want ErrCorrupt", m, err)
		}
		if a := after.TotalAlloc - before.TotalAlloc; a > 1<<20 {
			t.Errorf("SOF %02X: allocated %d bytes for a %d-byte codestream", m, a, len(src))
		}
		if d := cpuclock.Since(start); d > 250*time.Millisecond {
			t.Errorf("SOF %02X: took %v of CPU time", m, d)
		}
	}
	// Header and data set disagree.
	frame, im := testImage(20, 10, 1, 8, 8)
	cs, out, err := EncodeLossless(nil, frame, im, codec.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []codec.Image{
		func() codec.Image { i := out; i.Columns = 19; return i }(),
		func() codec.Image { i := out; i.SamplesPerPixel = 3; return i }(),
		func() codec.Image { i := out; i.BitsAllocated = 1; return i }(),
	} {
		if _, _, err := Decode(nil, cs, bad); err == nil {
			t.Errorf("image %+v accepted", bad)
		}
	}
}

// TestTruncated cuts and corrupts valid codestreams of every process: errors, never panics.
func TestTruncated(t *testing.T) {
	for _, s := range synthStreams(t) {
		for n := 0; n < len(s.cs); n += max(1, len(s.cs)/97) {
			_, _, err := Decode(nil, s.cs[:n], s.im)
			if err == nil && n < len(s.cs)-2 {
				t.Errorf("%s cut at %d of %d: no error", s.name, n, len(s.cs))
			}
			if err != nil && !errors.Is(err, codec.ErrCorrupt) && !errors.Is(err, codec.ErrUnsupported) {
				t.Errorf("%s cut at %d: unexpected error class: %v", s.name, n, err)
			}
		}
		r := rand.New(rand.NewPCG(3, 4))
		for range 200 {
			b := bytes.Clone(s.cs)
			for range 1 + r.IntN(4) {
				b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
			}
			_, _, _ = Decode(nil, b, s.im) // must not panic
		}
	}
}

type synth struct {
	name string
	cs   []byte
	im   codec.Image
}

// synthStreams encodes small test images with each encoder and option.
func synthStreams(t testing.TB) []synth {
	var out []synth
	add := func(name string, cs []byte, im codec.Image, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, synth{name, cs, im})
	}
	g8, gim8 := testImage(37, 21, 1, 8, 8)
	g12, gim12 := testImage(33, 17, 1, 16, 12)
	g16, gim16 := testImage(19, 23, 1, 16, 16)
	rgb, rgbim := testImage(29, 18, 3, 8, 8)
	cs, im, err := EncodeBaseline(nil, g8, gim8, codec.EncodeOptions{})
	add("baseline-grey", cs, im, err)
	cs, im, err = EncodeBaseline(nil, rgb, rgbim, codec.EncodeOptions{Quality: 60})
	add("baseline-rgb", cs, im, err)
	cs, im, err = encodeDCT(nil, rgb, rgbim, codec.EncodeOptions{}, 8, mSOF0, 3)
	add("baseline-rgb-restart", cs, im, err)
	cs, im, err = EncodeExtended(nil, g12, gim12, codec.EncodeOptions{})
	add("extended-12", cs, im, err)
	cs, im, err = EncodeLossless(nil, g16, gim16, codec.EncodeOptions{})
	add("lossless-16", cs, im, err)
	cs, im, err = encodeLossless(nil, rgb, rgbim, losslessParams{psv: 7, restartRows: 2})
	add("lossless-rgb-psv7-restart", cs, im, err)
	return out
}

// TestDNL decodes a frame whose height comes from a DNL marker (T.81 B.2.5).
func TestDNL(t *testing.T) {
	frame, im := testImage(16, 9, 1, 16, 12)
	cs, out, err := EncodeLossless(nil, frame, im, codec.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(cs, []byte{0xFF, mSOF3})
	cs[i+5], cs[i+6] = 0, 0 // number of lines: 0
	dnl := cs[: len(cs)-2 : len(cs)-2]
	dnl = append(dnl, 0xFF, mDNL, 0, 4, 0, 9, 0xFF, mEOI)
	got, _, err := Decode(nil, dnl, out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, frame) {
		t.Fatal("DNL frame differs")
	}
	dnl[len(dnl)-3] = 8 // DNL disagrees with the data set
	if _, _, err := Decode(nil, dnl, out); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("wrong DNL: %v", err)
	}
}

// FuzzDecode feeds arbitrary codestreams to Decode with an Image taken from the frame header the
// stream itself carries (so that fuzzing reaches the scans), bounded in size.
func FuzzDecode(f *testing.F) {
	for _, s := range synthStreams(f) {
		f.Add(s.cs)
	}
	f.Add(sofHeader(mSOF0, 8, 65535, 65535, 1, 300))
	f.Add(sofHeader(mSOF2, 12, 1000, 1000, 3, 200))
	f.Add(sofHeader(mSOF3, 16, 4000, 1, 4, 100))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	// Small codestreams of the corpus, when it is present.
	if dir, ok := corpusDir(); ok {
		for _, name := range []string{"pydicom__SC_rgb_small_odd_jpeg.dcm", "pydicom__SC_rgb_jpeg_gdcm.dcm", "pydicom__SC_rgb_dcmtk_+eb+cy+np.dcm", "fo-dicom__GH184.dcm"} {
			if fr, ok := firstFrame(filepath.Join(dir, name)); ok {
				f.Add(fr)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		im, ok := imageFromHeader(b)
		if !ok {
			im = codec.Image{Rows: 8, Columns: 8, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, Photometric: "MONOCHROME2"}
		}
		fuzzbudget.Check(t, b, func() {
			out, oim, err := Decode(nil, b, im)
			if err == nil && int64(len(out)) != oim.FrameSize() {
				t.Fatalf("decoded %d bytes for a frame of %d", len(out), oim.FrameSize())
			}
		})
	})
}

func corpusDir() (string, bool) {
	d := os.Getenv("LIGHTBOX_CORPUS")
	if d == "" {
		d = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	_, err := os.Stat(filepath.Join(d, "MANIFEST.tsv"))
	return d, err == nil
}

func firstFrame(path string) ([]byte, bool) {
	f, err := readDICOM(path)
	if err != nil {
		return nil, false
	}
	frames, err := codec.Frames(f)
	if err != nil || len(frames) == 0 {
		return nil, false
	}
	return frames[0], true
}

// imageFromHeader derives an Image from the first frame header of b, when its size is modest.
func imageFromHeader(b []byte) (codec.Image, bool) {
	for i := 0; i+11 < len(b); i++ {
		if b[i] != 0xFF || b[i+1] < mSOF0 || b[i+1] > mSOF3 {
			continue
		}
		p := b[i+4:]
		prec := int(p[0])
		h := int(binary.BigEndian.Uint16(p[1:]))
		w := int(binary.BigEndian.Uint16(p[3:]))
		nc := int(p[5])
		if h == 0 {
			h = 16
		}
		if w*h > 1<<20 || nc < 1 || nc > 4 {
			return codec.Image{}, false
		}
		ba := 8
		if prec > 8 {
			ba = 16
		}
		im := codec.Image{Rows: h, Columns: w, SamplesPerPixel: nc, BitsAllocated: ba, BitsStored: max(1, min(prec, ba)), Photometric: "MONOCHROME2"}
		if nc == 3 {
			im.Photometric = "YBR_FULL_422"
		}
		return im, im.Check() == nil
	}
	return codec.Image{}, false
}
