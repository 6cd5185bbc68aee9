package dicom_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

// FuzzParse feeds arbitrary bytes to the Part 10 reader: it must return a file or a *ParseError
// within budget, and whatever it reads must survive a write and a re-read unchanged.
func FuzzParse(f *testing.F) {
	fuzzbudget.SeedFiles(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		var file *dicom.File
		var err error
		fuzzbudget.Check(t, in, func() {
			file, err = dicom.Parse(in, dicom.ReadOptions{Limits: dicom.Limits{MaxInflated: 32 << 20}})
		})
		if err != nil {
			var pe *dicom.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		roundTrip(t, file)
	})
}

func roundTrip(t *testing.T, file *dicom.File) {
	var out bytes.Buffer
	if err := dicom.Write(&out, file, dicom.WriteOptions{}); err != nil {
		return // e.g. native pixel data in an encapsulated syntax: refused, not mangled
	}
	again, err := dicom.Parse(out.Bytes(), dicom.ReadOptions{Limits: dicom.Limits{MaxInflated: 64 << 20}})
	if err != nil {
		t.Fatalf("re-reading what was written: %v", err)
	}
	diff := dicom.Diff
	if file.Syntax.Implicit {
		diff = dicom.DiffValues
	}
	if d := diff(file.Dataset, again.Dataset); d != "" {
		t.Fatalf("write/read changed the data set: %s", d)
	}
}

// FuzzReadStream reads the same inputs as a stream of unknown size, with bulk values skipped:
// the path network input takes.
func FuzzReadStream(f *testing.F) {
	fuzzbudget.SeedFiles(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzbudget.Check(t, in, func() {
			_, err := dicom.Read(unsized{bytes.NewReader(in)}, dicom.ReadOptions{BulkThreshold: 64, Limits: dicom.Limits{MaxInflated: 32 << 20}})
			if err != nil {
				var pe *dicom.ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("error is not a *ParseError: %v", err)
				}
			}
		})
	})
}

// FuzzParseDataset reads a bare data set in each native transfer syntax.
func FuzzParseDataset(f *testing.F) {
	fuzzbudget.SeedFiles(f)
	syntaxes := []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian, dicom.DeflatedExplicitVRLittleEndian}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, uid := range syntaxes {
			var ds *dicom.Dataset
			var err error
			fuzzbudget.Check(t, in, func() {
				ds, err = dicom.ParseDataset(in, uid, dicom.ReadOptions{Limits: dicom.Limits{MaxInflated: 32 << 20}})
			})
			if err != nil {
				continue
			}
			var out bytes.Buffer
			if dicom.WriteDataset(&out, ds, uid, dicom.WriteOptions{}) != nil {
				continue
			}
			again, err := dicom.ParseDataset(out.Bytes(), uid, dicom.ReadOptions{})
			if err != nil {
				t.Fatalf("%s: re-reading what was written: %v", uid, err)
			}
			if d := dicom.DiffValues(ds, again); d != "" {
				t.Fatalf("%s: write/read changed the data set: %s", uid, d)
			}
		}
	})
}
