//go:build cgo && !nocgocodecs

package openjph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/codec/isolate"
	"github.com/lightbox-pacs/lightbox/codec/openjpeg"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

// maxFuzzFrame bounds the frame a fuzz input may ask for, to keep the library's memory small.
const maxFuzzFrame = 1 << 20

// fuzzImage returns the Image a fuzz input is decoded against: the one its SIZ declares when
// that is small enough, else a 64×64 16-bit image (which the input then contradicts).
func fuzzImage(src []byte) codec.Image {
	im := codec.Image{Rows: 64, Columns: 64, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	s, err := openjpeg.ParseSIZ(src)
	if err != nil || (len(s.Components) != 1 && len(s.Components) != 3) || s.Width > 4096 || s.Height > 4096 {
		return im
	}
	c := s.Components[0]
	cand := codec.Image{Rows: s.Height, Columns: s.Width, SamplesPerPixel: len(s.Components), BitsAllocated: 8,
		BitsStored: c.Precision, Photometric: "MONOCHROME2"}
	if c.Precision > 8 {
		cand.BitsAllocated = 16
	}
	if c.Signed {
		cand.PixelRepresentation = 1
	}
	if cand.SamplesPerPixel == 3 {
		cand.Photometric = "RGB"
	}
	if cand.Check() != nil || cand.FrameSize() > maxFuzzFrame {
		return im
	}
	return cand
}

// FuzzDecode feeds arbitrary codestreams to the registered HTJ2K decoder, OpenJPH and OpenJPEG
// in a worker process: an error or a frame, never a crash of this process, within the time
// and memory budget. Both libraries abort on some inputs (see package isolate); that must
// come back as an error.
func FuzzDecode(f *testing.F) {
	codectest.SeedFuzz(f, htj2kSyntaxes...)
	siz := []byte{0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0x40, 0}
	for _, v := range []uint32{65535, 65535, 0, 0, 65535, 65535, 0, 0} {
		siz = binary.BigEndian.AppendUint32(siz, v)
	}
	siz = append(siz, 0, 1, 15, 1, 1)
	f.Add(append(siz, make([]byte, 200)...))
	// Small codestreams of our own encoder reach the code-block decoders within the seed size
	// limit (the corpus's HTJ2K frames are larger).
	for _, im := range smallImages {
		if cs, _, err := Encode(nil, testFrame(im), im, codec.EncodeOptions{}); err == nil {
			f.Add(cs)
		}
	}
	pool := isolate.NewPool(workerName)
	f.Cleanup(pool.Close)
	f.Fuzz(func(t *testing.T, src []byte) {
		im := fuzzImage(src)
		fuzzbudget.Check(t, src, func() {
			out, got, err := pool.Decode(nil, src, im)
			if err == nil && int64(len(out)) != got.FrameSize() {
				t.Fatalf("decoded %d bytes for a frame of %d", len(out), got.FrameSize())
			}
		})
	})
}

// smallImages are the images whose encodings seed FuzzDecode.
var smallImages = []codec.Image{
	{Rows: 16, Columns: 16, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, Photometric: "MONOCHROME2"},
	{Rows: 33, Columns: 70, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 12, Photometric: "MONOCHROME2"},
	{Rows: 64, Columns: 64, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, PixelRepresentation: 1, Photometric: "MONOCHROME2"},
	{Rows: 20, Columns: 24, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, Photometric: "RGB"},
}

// testFrame is a frame of im with a pattern of gradients and noise, its samples within Bits Stored.
func testFrame(im codec.Image) []byte {
	fr := make([]byte, im.FrameSize())
	x := uint32(12345)
	for i := range fr {
		x = x*1664525 + 1013904223
		fr[i] = byte(i/7) ^ byte(x>>29)
	}
	if im.BitsAllocated == 16 && im.BitsStored < 16 {
		for i := 1; i < len(fr); i += 2 {
			fr[i] &= byte(1<<(im.BitsStored-8) - 1)
		}
	}
	return fr
}

// TestWorkerAbortIsAnError decodes the inputs under testdata/fuzz/FuzzDecode, which make
// OpenJPH or OpenJPEG abort their process, through the registered decoder: each is an error,
// at least one of them ended a worker, and the pool decodes a valid frame afterwards.
func TestWorkerAbortIsAnError(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecode", "*"))
	if len(paths) == 0 {
		t.Fatal("no inputs under testdata/fuzz/FuzzDecode")
	}
	pool := isolate.NewPool(workerName)
	defer pool.Close()
	ended := 0
	for _, p := range paths {
		src := readFuzzInput(t, p)
		_, _, err := pool.Decode(nil, src, fuzzImage(src))
		if err == nil {
			continue
		}
		if !errors.Is(err, codec.ErrCorrupt) && !errors.Is(err, codec.ErrUnsupported) {
			t.Errorf("%s: %v, want a codec error", p, err)
		}
		if strings.Contains(err.Error(), "process ended") {
			ended++
		}
	}
	if ended == 0 {
		t.Errorf("no input ended a worker; the inputs no longer exercise the isolation")
	}
	im := smallImages[2]
	fr := testFrame(im)
	cs, _, err := Encode(nil, fr, im, codec.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := pool.Decode(nil, cs, im)
	if err != nil || !bytes.Equal(got, fr) {
		t.Fatalf("decode after the aborts: %v, equal %v", err, bytes.Equal(got, fr))
	}
}

// readFuzzInput reads the []byte of a one-value fuzz corpus file ("go test fuzz v1").
func readFuzzInput(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		t.Fatalf("%s: not a []byte fuzz input", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}
