//go:build cgo && !nocgocodecs

package openjpeg

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

// maxFuzzFrame bounds the frame a fuzz input may ask for, to keep the library's memory small.
const maxFuzzFrame = 1 << 20

// fuzzImage returns the Image a fuzz input is decoded against: the one its SIZ declares when
// that is small enough, else a 64×64 16-bit image (which the input then contradicts).
func fuzzImage(src []byte) codec.Image {
	im := codec.Image{Rows: 64, Columns: 64, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	s, err := ParseSIZ(src)
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

// FuzzDecode feeds arbitrary codestreams and JP2 files to the decoder: an error or a frame,
// never a crash, within the time and memory budget.
func FuzzDecode(f *testing.F) {
	codectest.SeedFuzz(f, syntaxes...)
	f.Add(pad(sizMarker(65535, 65535, 65535, 1, 16), 256))
	f.Add(pad(sizMarker(512, 512, 1, 1, 16), 256))
	f.Add(pad(sizMarker(64, 64, 64, 3, 8), 256))
	// Small codestreams of our own encoders reach the code-block decoder within the seed size
	// limit (most corpus frames are larger).
	for _, im := range []codec.Image{
		{Rows: 16, Columns: 16, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, Photometric: "MONOCHROME2"},
		{Rows: 33, Columns: 70, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, PixelRepresentation: 1, Photometric: "MONOCHROME2"},
		{Rows: 20, Columns: 24, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, Photometric: "RGB"},
	} {
		frame := make([]byte, im.FrameSize())
		for i := range frame {
			frame[i] = byte(i/7) ^ byte(i*i>>3)
		}
		for _, enc := range []codec.EncoderFunc{EncodeLossless, EncodeLossy} {
			if cs, _, err := enc(nil, frame, im, codec.EncodeOptions{}); err == nil {
				f.Add(cs)
			}
		}
	}
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
