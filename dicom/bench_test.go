package dicom_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// benchFile is a 525 KB uncompressed 512×512 16-bit CT (WG04 CT1 in Explicit VR Little Endian).
const benchFile = "orthanc-tests__SignedCT.dcm"

func loadBench(b *testing.B, name string) []byte {
	dir := corpustest.Need(b)
	data, err := os.ReadFile(corpustest.Path(dir, name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkParseHeader(b *testing.B) {
	data := loadBench(b, benchFile)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := dicom.Parse(data, dicom.ReadOptions{StopAt: tag.PixelData}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadHeaderStream(b *testing.B) {
	data := loadBench(b, benchFile)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dicom.Read(bytes.NewReader(data), dicom.ReadOptions{StopAt: tag.PixelData}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFull(b *testing.B) {
	data := loadBench(b, benchFile)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := dicom.Parse(data, dicom.ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	data := loadBench(b, benchFile)
	f, err := dicom.Parse(data, dicom.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		out.Reset()
		if err := dicom.Write(&out, f, dicom.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
