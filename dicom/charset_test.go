package dicom_test

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// pydicomCase is one element of the character set golden file, made with Debian's pydicom
// (dicom/charset/testdata/gen_pydicom_names.py).
type pydicomCase struct {
	File   string   `json:"file"`
	Path   string   `json:"path"`
	VR     string   `json:"vr"`
	Values []string `json:"values"`
}

// find follows a path like "(0032,1064) item 0 (0010,0010)" from ds.
func find(t *testing.T, ds *dicom.Dataset, path string) (*dicom.Dataset, *dicom.Element) {
	t.Helper()
	path = strings.ReplaceAll(strings.ReplaceAll(path, " item ", "["), " (", "](")
	for {
		end := strings.IndexByte(path, ')')
		tg, err := tag.Parse(path[:end+1])
		if err != nil {
			t.Fatalf("path %q: %v", path, err)
		}
		e := ds.Element(tg)
		path = path[end+1:]
		if path == "" {
			return ds, e
		}
		if e == nil || path[0] != '[' {
			t.Fatalf("path %q: no sequence", path)
		}
		close := strings.IndexByte(path, ']')
		i, _ := strconv.Atoi(path[1:close])
		ds = e.Items[i]
		path = path[close+1:]
	}
}

// TestCharsetMatchesPydicom decodes every text element of the character set test files through
// the data set getters, which apply (0008,0005) and its inheritance into sequence items, and
// compares with pydicom; then it sets each value again and expects the original bytes.
func TestCharsetMatchesPydicom(t *testing.T) {
	dir := corpustest.Need(t)
	raw, err := os.ReadFile("charset/testdata/pydicom_names.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct{ Cases []pydicomCase }
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range golden.Cases {
		f, err := dicom.ReadFile(corpustest.Path(dir, c.File), dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.File, err)
		}
		ds, e := find(t, f.Dataset, c.Path)
		if e == nil {
			t.Fatalf("%s %s: element not found", c.File, c.Path)
		}
		got := ds.ElementStrings(e)
		want := c.Values
		if c.VR == "PN" {
			for i := range want {
				want[i] = strings.TrimRight(want[i], "=")
			}
			for i := range got {
				got[i] = strings.TrimRight(got[i], "=")
			}
		}
		if strings.Join(got, `\`) != strings.Join(want, `\`) {
			t.Errorf("%s %s: got %q, pydicom %q", c.File, c.Path, got, want)
			continue
		}
		n++
		// Setting the decoded value again encodes it in the data set's own character set.
		v, _ := vr.FromString(c.VR)
		orig := append([]byte(nil), e.Value...)
		if err := ds.SetString(e.Tag, v, ds.ElementStrings(e)...); err != nil {
			t.Errorf("%s %s: set: %v", c.File, c.Path, err)
			continue
		}
		if back := ds.Element(e.Tag).Value; strings.TrimRight(string(back), " ") != strings.TrimRight(string(orig), " ") &&
			!strings.Contains(c.File, "chrSQEncoding") {
			t.Errorf("%s %s: re-encoded as %q, file holds %q", c.File, c.Path, back, orig)
		}
	}
	if n < 50 {
		t.Fatalf("only %d elements compared", n)
	}
}
