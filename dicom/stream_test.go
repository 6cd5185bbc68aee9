package dicom_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// TestBulkOffsets checks that values left in the source are located exactly: a ranged read at
// (Offset, Length) gives the bytes a full parse loads, for native, big endian and encapsulated
// pixel data.
func TestBulkOffsets(t *testing.T) {
	dir := corpustest.Need(t)
	files := []string{
		"orthanc-tests__SignedCT.dcm",                          // explicit LE
		"pydicom__MR_small_bigendian.dcm",                      // explicit BE
		"orthanc-tests__1.2.840.10008.1.2.dcm",                 // implicit LE
		"pydicom-data__emri_small_RLE.dcm",                     // encapsulated, several frames
		"dicomParser__CT0012.fragmented_no_bot_jpeg_ls.80.dcm", // fragments without BOT
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			path := corpustest.Path(dir, name)
			full, err := dicom.ReadFile(path, dicom.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			fh, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			lazy, err := dicom.Read(fh, dicom.ReadOptions{BulkThreshold: 256})
			if err != nil {
				t.Fatal(err)
			}
			want := full.Dataset.Element(tag.PixelData)
			got := lazy.Dataset.Element(tag.PixelData)
			if want == nil || got == nil {
				t.Fatal("no pixel data")
			}
			if want.Fragments != nil {
				if len(got.Fragments) != len(want.Fragments) {
					t.Fatalf("%d fragments, want %d", len(got.Fragments), len(want.Fragments))
				}
				for i, f := range got.Fragments {
					b := make([]byte, f.Length)
					if _, err := fh.ReadAt(b, f.Offset); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(b, want.Fragments[i].Data) {
						t.Fatalf("fragment %d at offset %d differs", i, f.Offset)
					}
				}
				return
			}
			if !got.Bulk {
				t.Fatal("pixel data loaded despite BulkThreshold")
			}
			b := make([]byte, got.Length)
			if _, err := fh.ReadAt(b, got.Offset); err != nil {
				t.Fatal(err)
			}
			if got.BigEndian {
				// The ranged read gives big endian words; the full parse swapped them.
				for i := 0; i+1 < len(b); i += 2 {
					b[i], b[i+1] = b[i+1], b[i]
				}
			}
			if !bytes.Equal(b, want.Value) {
				t.Fatalf("bytes at offset %d differ from the loaded value", got.Offset)
			}
			// Writing the lazily read file with the source at hand gives the same bytes as
			// writing the fully loaded one.
			var a, c bytes.Buffer
			if err := dicom.Write(&a, full, dicom.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := dicom.Write(&c, lazy, dicom.WriteOptions{BulkSource: fh}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), c.Bytes()) {
				t.Fatal("writing from the bulk source differs from writing loaded values")
			}
			if err := dicom.Write(io.Discard, lazy, dicom.WriteOptions{}); err == nil {
				t.Fatal("writing bulk data without a source succeeded")
			}
		})
	}
}

func TestStopAtAndHandler(t *testing.T) {
	dir := corpustest.Need(t)
	path := corpustest.Path(dir, "orthanc-tests__SignedCT.dcm")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := dicom.Read(bytes.NewReader(raw), dicom.ReadOptions{StopAt: tag.PixelData})
	if err != nil {
		t.Fatal(err)
	}
	if f.Dataset.Has(tag.PixelData) || !f.Dataset.Has(tag.Rows) {
		t.Fatal("StopAt: want the header without pixel data")
	}
	full, _ := dicom.Parse(raw, dicom.ReadOptions{})
	var got []byte
	_, err = dicom.Read(bytes.NewReader(raw), dicom.ReadOptions{BulkThreshold: 1024, BulkHandler: func(e *dicom.Element, r io.Reader) error {
		if e.Tag != tag.PixelData {
			return nil
		}
		var err error
		got, err = io.ReadAll(r)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, full.Dataset.Element(tag.PixelData).Value) {
		t.Fatal("bulk handler saw other bytes than the value")
	}
}

// TestStreamEqualsBytes reads every corpus file both from memory and as a stream of unknown size
// and expects the same outcome.
func TestStreamEqualsBytes(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	for _, r := range rows {
		raw, err := os.ReadFile(corpustest.Path(dir, r.File()))
		if err != nil {
			t.Fatal(err)
		}
		a, errA := dicom.Parse(raw, dicom.ReadOptions{})
		b, errB := dicom.Read(unsized{bytes.NewReader(raw)}, dicom.ReadOptions{})
		if (errA == nil) != (errB == nil) {
			t.Errorf("%s: bytes error %v, stream error %v", r.File(), errA, errB)
			continue
		}
		if errA == nil {
			if d := dicom.Diff(a.Dataset, b.Dataset); d != "" {
				t.Errorf("%s: stream and bytes differ: %s", r.File(), d)
			}
		}
	}
}
