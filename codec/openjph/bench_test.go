//go:build cgo && !nocgocodecs

package openjph

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/codec/isolate"
	"github.com/lightbox-pacs/lightbox/codec/openjpeg"
)

// BenchmarkDecode compares OpenJPH and OpenJPEG on the corpus HTJ2K files (MB/s of native
// output), in this process, and the registered decoder, which runs them in a worker process.
func BenchmarkDecode(b *testing.B) {
	pool := isolate.NewPool(workerName)
	defer pool.Close()
	for _, bf := range []codectest.BenchFile{
		{Name: "201_RGB_640x480x8", File: "pydicom-data__HTJ2KLossless_08_RGB.dcm"},
		{Name: "202_CT_512x512x16", File: "DICOMHTJ2K__CT1_JPH.dcm"},
		{Name: "202_XA_1024x1024x16", File: "DICOMHTJ2K__XA1_JPH.dcm"},
	} {
		b.Run(bf.Name, func(b *testing.B) {
			codectest.BenchDecode(b, Decode, codectest.BenchFile{Name: "openjph", File: bf.File})
			codectest.BenchDecode(b, openjpeg.DecodeUnchecked, codectest.BenchFile{Name: "openjpeg", File: bf.File})
			codectest.BenchDecode(b, pool.Decode, codectest.BenchFile{Name: "isolated", File: bf.File})
		})
	}
}

// BenchmarkEncode measures HTJ2K Lossless RPCL encoding of 512×512 16-bit CT (the target is
// at least 50 frames/s) and of a 640×480 RGB frame.
func BenchmarkEncode(b *testing.B) {
	for _, bf := range []codectest.BenchFile{
		{Name: "CT_512x512x16", File: "DICOMHTJ2K__CT1_JPH.dcm"},
		{Name: "RGB_640x480x8", File: "pydicom-data__HTJ2KLossless_08_RGB.dcm"},
	} {
		b.Run(bf.Name, func(b *testing.B) {
			codectest.BenchEncode(b, bf.File, openjpeg.DecodeUnchecked, Encode)
		})
	}
}
