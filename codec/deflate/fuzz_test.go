package deflate_test

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/deflate"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

// fuzzMaxFrame bounds the frames the fuzzer declares, within the fuzz memory budget: a real
// deflate bomb may fill any frame it is given, so larger frames are only tried where the Image
// itself is refused.
const fuzzMaxFrame = 16 << 20

// FuzzDecode inflates hostile frames (deflate bombs, truncated and invalid streams, huge declared
// images): an error or a frame of exactly the declared size, within the fuzz budget.
func FuzzDecode(f *testing.F) {
	f.Add(uint16(4), uint16(4), uint8(0), uint8(0), raw(f, make([]byte, 16)))
	f.Add(uint16(3), uint16(3), uint8(0), uint8(0), raw(f, make([]byte, 10)))
	f.Add(uint16(64), uint16(64), uint8(0), uint8(1), raw(f, make([]byte, 1<<20)))
	f.Add(uint16(65535), uint16(65535), uint8(0), uint8(1), make([]byte, 256))
	f.Add(uint16(9), uint16(9), uint8(2), uint8(3), raw(f, make([]byte, 11)))
	f.Fuzz(func(t *testing.T, rows, cols uint16, spp, bits uint8, src []byte) {
		in := codec.Image{
			Rows: int(rows), Columns: int(cols),
			SamplesPerPixel: 1 + int(spp%4),
			BitsAllocated:   []int{8, 16, 32, 1, 64}[int(bits)%5],
			Photometric:     "MONOCHROME2",
		}
		in.BitsStored = in.BitsAllocated
		if n := in.FrameSize(); n > fuzzMaxFrame && n <= codec.MaxFrameBytes {
			return
		}
		var out []byte
		var err error
		fuzzbudget.Check(t, src, func() {
			out, _, err = deflate.Decode(nil, src, in)
		})
		if err == nil && int64(len(out)) != in.FrameSize() {
			t.Fatalf("decoded %d bytes for a frame of %d", len(out), in.FrameSize())
		}
	})
}
