package toolkit_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	sk "github.com/suyashkumar/dicom"
	sktag "github.com/suyashkumar/dicom/pkg/tag"
)

// benchFiles are the corpus files the benchmarks run on; the first is the headline file.
var benchFiles = []string{
	"orthanc-tests__SignedCT.dcm",      // 525 KB uncompressed 512×512 16-bit CT
	"pydicom__MR_small.dcm",            // 10 KB uncompressed 64×64 MR
	"fo-dicom__multiframe.dcm",         // 564 KB JPEG Baseline, 140 frames in 140 fragments
	"pydicom-data__emri_small_RLE.dcm", // 49 KB RLE Lossless, 10 frames
	"pydicom__rtplan.dcm",              // 2.7 KB RT Plan, nested sequences, no pixel data
}

func TestMain(m *testing.M) {
	// suyashkumar/dicom logs parse errors through the standard logger; the tests report them.
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// corpusDir returns the shared corpus: LIGHTBOX_CORPUS, or ../shared/corpus beside the repository
// root (the directory above this module holding go.mod and dicom/).
func corpusDir() (string, bool) {
	if d := os.Getenv("LIGHTBOX_CORPUS"); d != "" {
		return d, true
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isRepoRoot(d) {
			c := filepath.Join(d, "..", "shared", "corpus")
			if _, err := os.Stat(filepath.Join(c, "MANIFEST.tsv")); err == nil {
				return c, true
			}
			return "", false
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

func isRepoRoot(d string) bool {
	if _, err := os.Stat(filepath.Join(d, "go.mod")); err != nil {
		return false
	}
	st, err := os.Stat(filepath.Join(d, "dicom"))
	return err == nil && st.IsDir()
}

func needCorpus(tb testing.TB) string {
	tb.Helper()
	d, ok := corpusDir()
	if !ok {
		tb.Skip("shared corpus not found (expected ../shared/corpus beside the repository, or LIGHTBOX_CORPUS): skipping")
	}
	return d
}

// manifestRow is one row of MANIFEST.tsv: column name → value.
type manifestRow map[string]string

func readManifest(tb testing.TB, dir string) []manifestRow {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		tb.Fatalf("open manifest: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	var rows []manifestRow
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cols
			continue
		}
		r := manifestRow{}
		for i, h := range header {
			if i < len(cols) {
				r[h] = cols[i]
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read manifest: %v", err)
	}
	return rows
}

// Parsers of both libraries. The suyashkumar ones recover from panics, which some malformed
// inputs cause, and report them as errors.

func lightboxHeader(b []byte) (*dicom.File, error) {
	return dicom.Parse(b, dicom.ReadOptions{StopAt: tag.PixelData})
}

func lightboxFull(b []byte) (*dicom.File, error) {
	return dicom.Parse(b, dicom.ReadOptions{})
}

func lightboxStream(b []byte) (*dicom.File, error) {
	return dicom.Read(bytes.NewReader(b), dicom.ReadOptions{})
}

func suyashkumarHeader(b []byte) (sk.Dataset, error) {
	return suyashkumarParse(b, sk.SkipPixelData())
}

func suyashkumarFull(b []byte) (sk.Dataset, error) {
	return suyashkumarParse(b)
}

func suyashkumarParse(b []byte, opts ...sk.ParseOption) (ds sk.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return sk.Parse(bytes.NewReader(b), int64(len(b)), nil, opts...)
}

func suyashkumarWrite(w *bytes.Buffer, ds sk.Dataset) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	// Without SkipVRVerification the writer rejects valid files whose VR differs from the one
	// its dictionary lists (US or SS elements written as SS, OB Pixel Data).
	return sk.Write(w, ds, sk.SkipVRVerification())
}

// suyashkumarString returns t's value as text, multiple values joined with backslashes.
func suyashkumarString(ds sk.Dataset, t sktag.Tag) string {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return ""
	}
	switch v := e.Value.GetValue().(type) {
	case []string:
		return clean(strings.Join(v, `\`))
	case []byte: // VR UN
		return clean(string(v))
	}
	return ""
}

func clean(s string) string { return strings.Trim(s, " \x00") }
