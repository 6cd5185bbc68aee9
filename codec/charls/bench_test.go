//go:build cgo && !nocgocodecs

package charls

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// BenchmarkDecode measures decoding speed in MB/s of native output.
func BenchmarkDecode(b *testing.B) {
	dir := corpustest.Need(b)
	for _, bf := range []struct{ name, file string }{
		{"80_CT_512x512x16", "dicomParser__CT1_UNC.fragmented_bot_jpeg_ls.80.dcm"},
		{"80_RGB_640x400x8", "cornerstone3D__TestPattern_JPEG-LS-Lossless.dcm"},
		{"81_CT_512x512x16", "orthanc-tests__1.2.840.10008.1.2.4.81.dcm"},
	} {
		b.Run(bf.name, func(b *testing.B) {
			frames, im, err := readFrames(b, corpustest.Path(dir, bf.file))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(im.FrameSize())
			var dst []byte
			for b.Loop() {
				if dst, _, err = Decode(dst, frames[0], im); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeLossless measures lossless JPEG-LS encoding of a 512×512 16-bit CT frame.
func BenchmarkEncodeLossless(b *testing.B) {
	dir := corpustest.Need(b)
	frames, im, err := readFrames(b, corpustest.Path(dir, "dicomParser__CT1_UNC.fragmented_bot_jpeg_ls.80.dcm"))
	if err != nil {
		b.Fatal(err)
	}
	frame, _, err := Decode(nil, frames[0], im)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(im.FrameSize())
	var dst []byte
	for b.Loop() {
		if dst, _, err = EncodeLossless(dst, frame, im, codec.EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
