package dicomjson_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// ctHeader reads a CT image of the corpus with its Pixel Data left in the source.
func ctHeader(b *testing.B) *dicom.Dataset {
	dir := corpustest.Need(b)
	f, err := dicom.ReadFile(corpustest.Path(dir, "orthanc-tests__SignedCT.dcm"), dicom.ReadOptions{BulkThreshold: 1024})
	if err != nil {
		b.Skipf("corpus CT file: %v", err)
	}
	return f.Dataset
}

var benchOpts = dicomjson.Options{BulkDataURI: func(dicomjson.Path, *dicom.Element) string {
	return "https://pacs.example/studies/1/series/2/instances/3/bulk"
}}

// BenchmarkEncodeCTHeader encodes the metadata of one CT image, bulk data as BulkDataURI.
func BenchmarkEncodeCTHeader(b *testing.B) {
	ds := ctHeader(b)
	buf, err := dicomjson.Append(nil, ds, benchOpts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, err = dicomjson.Append(buf[:0], ds, benchOpts)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeStudyMetadata streams the metadata of a 50-instance study as one array, as a
// WADO-RS metadata response does.
func BenchmarkEncodeStudyMetadata(b *testing.B) {
	ds := ctHeader(b)
	b.ReportAllocs()
	for b.Loop() {
		aw := dicomjson.NewArrayWriter(io.Discard, benchOpts)
		for range 50 {
			if err := aw.Write(ds); err != nil {
				b.Fatal(err)
			}
		}
		if err := aw.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeCTHeader decodes the JSON of one CT image.
func BenchmarkDecodeCTHeader(b *testing.B) {
	ds := ctHeader(b)
	js, err := dicomjson.Marshal(ds, benchOpts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(js)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dicomjson.Decode(bytes.NewReader(js), dicomjson.DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
