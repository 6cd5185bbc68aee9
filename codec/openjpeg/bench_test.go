//go:build cgo && !nocgocodecs

package openjpeg

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec/codectest"
)

// benchFiles are the corpus files of the decode benchmarks, one or two per syntax. HTJ2K is
// measured in package openjph, OpenJPEG beside OpenJPH (Decode refuses HT code-blocks).
var benchFiles = []codectest.BenchFile{
	{Name: "90_CT_512x512x16", File: "cornerstone3D__CT1_J2KR.dcm"},
	{Name: "90_Gray_1416x1420x16", File: "pylibjpeg-data__JPEG2KLossless_1s_1f_u_16_16.dcm"},
	{Name: "91_MR_1024x1024x16", File: "pydicom-data__MR2_J2KI.dcm"},
	{Name: "91_US_640x480_YBR_ICT", File: "pydicom-data__US1_J2KI.dcm"},
}

// BenchmarkDecode measures decoding speed in MB/s of native output.
func BenchmarkDecode(b *testing.B) {
	codectest.BenchDecode(b, Decode, benchFiles...)
}

// BenchmarkEncodeLossless measures reversible JPEG 2000 encoding of a 512×512 16-bit CT frame.
func BenchmarkEncodeLossless(b *testing.B) {
	codectest.BenchEncode(b, "cornerstone3D__CT1_J2KR.dcm", Decode, EncodeLossless)
}
