//go:build cgo && !nocgocodecs

package charls

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec/codectest"
)

// BenchmarkDecode measures decoding speed in MB/s of native output.
func BenchmarkDecode(b *testing.B) {
	codectest.BenchDecode(b, Decode,
		codectest.BenchFile{Name: "80_CT_512x512x16", File: "dicomParser__CT1_UNC.fragmented_bot_jpeg_ls.80.dcm"},
		codectest.BenchFile{Name: "80_RGB_640x400x8", File: "cornerstone3D__TestPattern_JPEG-LS-Lossless.dcm"},
		codectest.BenchFile{Name: "81_CT_512x512x16", File: "orthanc-tests__1.2.840.10008.1.2.4.81.dcm"},
	)
}

// BenchmarkEncodeLossless measures lossless JPEG-LS encoding of a 512×512 16-bit CT frame.
func BenchmarkEncodeLossless(b *testing.B) {
	codectest.BenchEncode(b, "dicomParser__CT1_UNC.fragmented_bot_jpeg_ls.80.dcm", Decode, EncodeLossless)
}
