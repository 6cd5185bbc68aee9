//go:build cgo && !nocgocodecs

package charls

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

// maxFuzzFrame bounds the frame a fuzz input may ask for.
const maxFuzzFrame = 1 << 20

// fuzzImage returns the Image a fuzz input is decoded against: the one its frame header
// declares when that is small enough, else a 64×64 16-bit image.
func fuzzImage(src []byte) codec.Image {
	im := codec.Image{Rows: 64, Columns: 64, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	f, err := ParseFrame(src)
	if err != nil || (f.Components != 1 && f.Components != 3) || f.Bits < 2 || f.Bits > 16 {
		return im
	}
	cand := codec.Image{Rows: f.Height, Columns: f.Width, SamplesPerPixel: f.Components, BitsAllocated: 8, BitsStored: f.Bits, Photometric: "MONOCHROME2"}
	if f.Bits > 8 {
		cand.BitsAllocated = 16
	}
	if cand.SamplesPerPixel == 3 {
		cand.Photometric = "RGB"
	}
	if cand.Check() != nil || cand.FrameSize() > maxFuzzFrame {
		return im
	}
	return cand
}

// FuzzDecode feeds arbitrary JPEG-LS streams to the decoder: an error or a frame, never a
// crash, within the time and memory budget.
func FuzzDecode(f *testing.F) {
	codectest.SeedFuzz(f, JPEGLSLossless, JPEGLSNearLossless)
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xF7, 0, 11, 16, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x11, 0, 0xFF, 0xDA})
	f.Fuzz(func(t *testing.T, src []byte) {
		im := fuzzImage(src)
		fuzzbudget.Check(t, src, func() {
			out, got, err := Decode(nil, src, im)
			if err == nil && int64(len(out)) != got.FrameSize() {
				t.Fatalf("decoded %d bytes for a frame of %d", len(out), got.FrameSize())
			}
		})
	})
}
