//go:build cgo && !nocgocodecs

package openjph

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/openjpeg"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// BenchmarkDecode compares OpenJPH and OpenJPEG on the corpus HTJ2K files (MB/s of native
// output).
func BenchmarkDecode(b *testing.B) {
	dir := corpustest.Need(b)
	files := []struct{ name, file string }{
		{"201_RGB_640x480x8", "pydicom-data__HTJ2KLossless_08_RGB.dcm"},
		{"202_CT_512x512x16", "DICOMHTJ2K__CT1_JPH.dcm"},
		{"202_XA_1024x1024x16", "DICOMHTJ2K__XA1_JPH.dcm"},
	}
	for _, bf := range files {
		frames, im, err := readFrames(b, corpustest.Path(dir, bf.file))
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []struct {
			name string
			fn   codec.DecoderFunc
		}{{"openjph", Decode}, {"openjpeg", openjpeg.Decode}} {
			b.Run(bf.name+"/"+d.name, func(b *testing.B) {
				b.SetBytes(im.FrameSize())
				var dst []byte
				for b.Loop() {
					if dst, _, err = d.fn(dst, frames[0], im); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEncode measures HTJ2K Lossless RPCL encoding of 512×512 16-bit CT (the target is
// at least 50 frames/s) and of a 640×480 RGB frame.
func BenchmarkEncode(b *testing.B) {
	dir := corpustest.Need(b)
	for _, bf := range []struct{ name, file string }{
		{"CT_512x512x16", "DICOMHTJ2K__CT1_JPH.dcm"},
		{"RGB_640x480x8", "pydicom-data__HTJ2KLossless_08_RGB.dcm"},
	} {
		b.Run(bf.name, func(b *testing.B) {
			frames, im, err := readFrames(b, corpustest.Path(dir, bf.file))
			if err != nil {
				b.Fatal(err)
			}
			frame, out, err := openjpeg.Decode(nil, frames[0], im)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(out.FrameSize())
			var dst []byte
			for b.Loop() {
				if dst, _, err = Encode(dst, frame, out, codec.EncodeOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
