package rle_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/codec/rle"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

var fuzzBits = []int{8, 16, 32, 1, 64}

// fuzzImage maps fuzz parameters to an Image: any size up to 65535×65535, 1 to 4 samples.
func fuzzImage(rows, cols uint16, spp, bits, planar uint8) codec.Image {
	im := codec.Image{
		Rows: int(rows), Columns: int(cols),
		SamplesPerPixel:     1 + int(spp%4),
		BitsAllocated:       fuzzBits[int(bits)%len(fuzzBits)],
		PlanarConfiguration: int(planar % 2),
		Photometric:         "MONOCHROME2",
	}
	im.BitsStored = im.BitsAllocated
	if im.SamplesPerPixel > 1 {
		im.Photometric = "RGB"
	}
	return im
}

// fuzzParams inverts fuzzImage for seeds.
func fuzzParams(im codec.Image) (rows, cols uint16, spp, bits, planar uint8) {
	for i, b := range fuzzBits {
		if b == im.BitsAllocated {
			bits = uint8(i)
		}
	}
	return uint16(im.Rows), uint16(im.Columns), uint8(im.SamplesPerPixel - 1), bits, uint8(im.PlanarConfiguration)
}

// FuzzDecode decodes hostile RLE frames: segment offsets past the end or out of order, huge
// images declared over a few bytes, runs overshooting rows. It must return an error or a frame
// of the declared size, within the fuzz budget; a decoded frame must survive an encode and a
// decode unchanged.
func FuzzDecode(f *testing.F) {
	add := func(im codec.Image, src []byte) {
		rows, cols, spp, bits, planar := fuzzParams(im)
		f.Add(rows, cols, spp, bits, planar, src)
	}
	add(mono(2, 2, 8), frame([]byte{0xFD, 7}))
	add(mono(1, 2, 16), frame([]byte{1, 0x12, 0x34}, []byte{1, 0x56, 0x78}))
	add(rgb(1, 2, 8, 1), frame([]byte{1, 1, 2}, []byte{1, 3, 4}, []byte{1, 5, 6}))
	past := frame([]byte{0, 1})
	binary.LittleEndian.PutUint32(past[4:], 0xFFFFFFF0)
	add(mono(1, 1, 8), past)
	add(codec.Image{Rows: 65535, Columns: 65535, SamplesPerPixel: 1, BitsAllocated: 16}, frame(bytes.Repeat([]byte{0x81, 0}, 96)))
	add(mono(4096, 4096, 8), frame(bytes.Repeat([]byte{0x81, 0}, 96)))
	if dir, ok := corpustest.Dir(); ok {
		paths, _ := filepath.Glob(filepath.Join(dir, "*rle*.dcm"))
		for _, p := range paths {
			if st, err := os.Stat(p); err != nil || st.Size() > fuzzbudget.MaxInput {
				continue
			}
			file, err := dicom.ReadFile(p, dicom.ReadOptions{})
			if err != nil || file.TransferSyntax() != rle.TransferSyntax {
				continue
			}
			im, _, err := codec.ImageOf(file.Dataset)
			frames, ferr := codec.Frames(file.Dataset)
			// Small frames only: the fuzzer minimizes every new input, which is slow for large ones.
			if err == nil && ferr == nil && len(frames[0]) <= 16<<10 {
				add(im, frames[0])
			}
		}
	}
	f.Fuzz(func(t *testing.T, rows, cols uint16, spp, bits, planar uint8, src []byte) {
		in := fuzzImage(rows, cols, spp, bits, planar)
		var out []byte
		var im codec.Image
		var err error
		fuzzbudget.Check(t, src, func() {
			out, im, err = rle.Decode(nil, src, in)
		})
		if err != nil {
			return
		}
		if int64(len(out)) != in.FrameSize() || im != in {
			t.Fatalf("decoded %d bytes as %+v for %+v", len(out), im, in)
		}
		enc, eim, err := rle.Encode(nil, out, in, codec.EncodeOptions{})
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, _, err := rle.Decode(nil, enc, eim)
		if err != nil {
			t.Fatalf("decode of our own encoding: %v", err)
		}
		if !bytes.Equal(again, codectest.Planar(out, in, eim.PlanarConfiguration)) {
			t.Fatal("re-encoded frame decodes differently")
		}
	})
}
