package toolkit_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	sk "github.com/suyashkumar/dicom"
)

// Results are kept here so that the compiler cannot drop a parse.
var (
	sinkLightbox    *dicom.File
	sinkSuyashkumar sk.Dataset
)

func loadFile(b *testing.B, dir, name string) []byte {
	b.Helper()
	data, err := os.ReadFile(dir + "/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// benchBoth runs one sub-benchmark per library and file: <lib>/<file>. A nil parser leaves that
// library out; a library that cannot parse a file is reported as skipped with its error.
func benchBoth(b *testing.B, lb func([]byte) (*dicom.File, error), sw func([]byte) (sk.Dataset, error)) {
	dir := needCorpus(b)
	for _, name := range benchFiles {
		data := loadFile(b, dir, name)
		if lb != nil {
			b.Run("lightbox/"+name, func(b *testing.B) {
				if _, err := lb(data); err != nil {
					b.Skipf("lightbox cannot parse %s: %v", name, err)
				}
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					f, err := lb(data)
					if err != nil {
						b.Fatal(err)
					}
					sinkLightbox = f
				}
			})
		}
		if sw != nil {
			b.Run("suyashkumar/"+name, func(b *testing.B) {
				if _, err := sw(data); err != nil {
					b.Skipf("suyashkumar cannot parse %s: %v", name, err)
				}
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					ds, err := sw(data)
					if err != nil {
						b.Fatal(err)
					}
					sinkSuyashkumar = ds
				}
			})
		}
	}
}

// BenchmarkHeader reads everything before Pixel Data. Lightbox stops at (7FE0,0010); suyashkumar
// skips the Pixel Data value and reads on to the end of the file.
func BenchmarkHeader(b *testing.B) {
	benchBoth(b, lightboxHeader, suyashkumarHeader)
}

// BenchmarkFull reads the whole file, Pixel Data included. Lightbox's values alias the input
// slice; suyashkumar reads through an io.Reader, copies every value and, for native (uncompressed)
// Pixel Data, unpacks each sample into an int.
func BenchmarkFull(b *testing.B) {
	benchBoth(b, lightboxFull, suyashkumarFull)
}

// BenchmarkStream reads the whole file through Lightbox's io.Reader path, which copies values out
// of the stream. suyashkumar's parser always reads from an io.Reader: its figures are those of
// BenchmarkFull.
func BenchmarkStream(b *testing.B) {
	benchBoth(b, lightboxStream, nil)
}

// BenchmarkWrite encodes a fully parsed file back to Part 10 bytes in memory, each library from
// its own parse of the file.
func BenchmarkWrite(b *testing.B) {
	dir := needCorpus(b)
	for _, name := range benchFiles {
		data := loadFile(b, dir, name)
		b.Run("lightbox/"+name, func(b *testing.B) {
			f, err := lightboxFull(data)
			if err != nil {
				b.Skipf("lightbox cannot parse %s: %v", name, err)
			}
			var out bytes.Buffer
			if err := dicom.Write(&out, f, dicom.WriteOptions{}); err != nil {
				b.Skipf("lightbox cannot write %s: %v", name, err)
			}
			b.SetBytes(int64(out.Len()))
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				if err := dicom.Write(&out, f, dicom.WriteOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("suyashkumar/"+name, func(b *testing.B) {
			ds, err := suyashkumarFull(data)
			if err != nil {
				b.Skipf("suyashkumar cannot parse %s: %v", name, err)
			}
			var out bytes.Buffer
			if err := suyashkumarWrite(&out, ds); err != nil {
				b.Skipf("suyashkumar cannot write %s: %v", name, err)
			}
			b.SetBytes(int64(out.Len()))
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				if err := suyashkumarWrite(&out, ds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
