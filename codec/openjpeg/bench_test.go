//go:build cgo && !nocgocodecs

package openjpeg

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// benchFiles are the corpus files of the decode benchmarks, one or two per syntax.
var benchFiles = []struct{ name, file string }{
	{"90_CT_512x512x16", "cornerstone3D__CT1_J2KR.dcm"},
	{"90_Gray_1416x1420x16", "pylibjpeg-data__JPEG2KLossless_1s_1f_u_16_16.dcm"},
	{"91_MR_1024x1024x16", "pydicom-data__MR2_J2KI.dcm"},
	{"91_US_640x480_YBR_ICT", "pydicom-data__US1_J2KI.dcm"},
	{"201_RGB_640x480x8", "pydicom-data__HTJ2KLossless_08_RGB.dcm"},
	{"202_CT_512x512x16", "DICOMHTJ2K__CT1_JPH.dcm"},
	{"202_XA_1024x1024x16", "DICOMHTJ2K__XA1_JPH.dcm"},
}

// BenchmarkDecode measures decoding speed in MB/s of native output.
func BenchmarkDecode(b *testing.B) {
	dir := corpustest.Need(b)
	for _, bf := range benchFiles {
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

// BenchmarkEncodeLossless measures reversible JPEG 2000 encoding of a 512×512 16-bit CT frame.
func BenchmarkEncodeLossless(b *testing.B) {
	dir := corpustest.Need(b)
	frames, im, err := readFrames(b, corpustest.Path(dir, "cornerstone3D__CT1_J2KR.dcm"))
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
