package dicom_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// manifestValue turns a manifest cell back into the value it describes ("hex:" for non-UTF-8).
func manifestValue(s string) string {
	if strings.HasPrefix(s, "hex:") {
		b, err := hex.DecodeString(s[4:])
		if err == nil {
			return string(b)
		}
	}
	return s
}

// rawString returns t's value bytes with padding removed, undecoded (the manifest keeps raw
// bytes as UTF-8 or hex).
func rawString(ds *dicom.Dataset, t tag.Tag) string {
	e := ds.Element(t)
	if e == nil {
		return ""
	}
	return strings.TrimRight(string(e.Value), " \x00")
}

func TestCorpusTags(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	for _, r := range rows {
		t.Run(r.File(), func(t *testing.T) {
			b, err := os.ReadFile(corpustest.Path(dir, r.File()))
			if err != nil {
				t.Fatal(err)
			}
			f, err := dicom.Parse(b, dicom.ReadOptions{})
			if r["dcmdump_rc"] != "0" {
				// DCMTK refuses these: a clean error or a documented recovery, never a panic.
				if err != nil {
					var pe *dicom.ParseError
					if !errors.As(err, &pe) {
						t.Fatalf("error is not a *ParseError: %v", err)
					}
					t.Logf("rejected as expected: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			ds := f.Dataset
			checks := []struct {
				col string
				t   tag.Tag
			}{
				{"PatientID", tag.PatientID},
				{"StudyInstanceUID", tag.StudyInstanceUID},
				{"SeriesInstanceUID", tag.SeriesInstanceUID},
				{"SOPInstanceUID", tag.SOPInstanceUID},
				{"sop_class_uid", tag.SOPClassUID},
				{"NumberOfFrames", tag.NumberOfFrames},
			}
			for _, c := range checks {
				want := manifestValue(r[c.col])
				got := rawString(ds, c.t)
				if c.col == "PatientID" && !utf8.ValidString(got) {
					got = string(ds.Element(c.t).Value)
					got = strings.TrimRight(got, " \x00")
				}
				if got != want {
					t.Errorf("%s = %q, manifest says %q", c.col, got, want)
				}
			}
			if want := r["transfer_syntax_uid"]; want != "" && f.Meta != nil {
				if got := strings.TrimRight(f.Meta.String(tag.TransferSyntaxUID), "\x00 "); got != want {
					t.Errorf("transfer syntax = %q, manifest says %q", got, want)
				}
			}
		})
	}
}

func TestCorpusRoundTrip(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	identical, total := 0, 0
	var differ []string
	for _, r := range rows {
		b, err := os.ReadFile(corpustest.Path(dir, r.File()))
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(b, dicom.ReadOptions{})
		if err != nil {
			continue
		}
		t.Run(r.File(), func(t *testing.T) {
			var out bytes.Buffer
			if err := dicom.Write(&out, f, dicom.WriteOptions{}); err != nil {
				t.Fatalf("write: %v", err)
			}
			g, err := dicom.Parse(out.Bytes(), dicom.ReadOptions{})
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			if diff := dicom.Diff(f.Dataset, g.Dataset); diff != "" {
				t.Fatalf("data set changed by write/read: %s", diff)
			}
			total++
			if bytes.Equal(out.Bytes(), b) {
				identical++
			} else {
				differ = append(differ, r.File())
			}
		})
	}
	t.Logf("%d of %d files written back byte-identical", identical, total)
	for _, d := range differ {
		t.Logf("not identical: %s", d)
	}
}
