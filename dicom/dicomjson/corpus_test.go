package dicomjson_test

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// corpusFile is one parsed file of the shared corpus.
type corpusFile struct {
	name string
	file *dicom.File
}

// parseCorpus parses every corpus file that package dicom accepts, or skips when the corpus is
// absent.
func parseCorpus(t testing.TB) []corpusFile {
	t.Helper()
	dir, rows := corpustest.Manifest(t)
	var out []corpusFile
	for _, r := range rows {
		b, err := os.ReadFile(corpustest.Path(dir, r.File()))
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(b, dicom.ReadOptions{})
		if err != nil {
			continue
		}
		out = append(out, corpusFile{name: r.File(), file: f})
	}
	return out
}

// TestCorpusRoundTrip encodes every parsable corpus file with InlineBinary, decodes the JSON and
// compares the data sets: byte for byte with dicom.Diff where possible, otherwise by the values
// the JSON model carries (decoded strings, numbers), since the model keeps neither padding nor
// the source character set.
func TestCorpusRoundTrip(t *testing.T) {
	files := parseCorpus(t)
	exact, semantic := 0, 0
	for _, cf := range files {
		t.Run(cf.name, func(t *testing.T) {
			ds := cf.file.Dataset
			b, err := dicomjson.Marshal(ds, dicomjson.Options{})
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			got, err := dicomjson.Decode(bytes.NewReader(b), dicomjson.DecodeOptions{})
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if dicom.Diff(ds, got) == "" {
				exact++
				return
			}
			if d := compareModel(ds, got, ""); d != "" {
				if lim := charsetLimit(ds, got); lim != "" {
					t.Skipf("package dicom cannot yet encode this: %s", lim)
				}
				t.Fatalf("data set changed by JSON round trip: %s (dicom.Diff: %s)", d, dicom.Diff(ds, got))
			}
			semantic++
			// The JSON of the decoded data set is a fixed point.
			b2, err := dicomjson.Marshal(got, dicomjson.Options{})
			if err != nil {
				t.Fatal(err)
			}
			again, err := dicomjson.Decode(bytes.NewReader(b2), dicomjson.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d := dicom.Diff(got, again); d != "" {
				t.Errorf("second round trip not exact: %s", d)
			}
			if b3, _ := dicomjson.Marshal(again, dicomjson.Options{}); !bytes.Equal(b2, b3) {
				t.Errorf("JSON not stable over a second round trip")
			}
		})
	}
	t.Logf("%d files: %d identical after the round trip (dicom.Diff), %d equal in the JSON model's terms", len(files), exact, semantic)
}

// expected lists the elements of ds the JSON carries without a BulkDataURI function: no group
// lengths, no encapsulated Pixel Data, no values left in the source.
func expected(ds *dicom.Dataset) []*dicom.Element {
	var out []*dicom.Element
	for i := range ds.Elements {
		e := &ds.Elements[i]
		if e.Tag.IsGroupLength() || e.Fragments != nil || e.Bulk {
			continue
		}
		out = append(out, e)
	}
	return out
}

// compareModel compares a and b in the terms of the JSON model.
func compareModel(a, b *dicom.Dataset, path string) string {
	ea, eb := expected(a), expected(b)
	if path == "" && !a.Has(tag.SpecificCharacterSet) && b.String(tag.SpecificCharacterSet) == "ISO_IR 192" {
		// The decoder names UTF-8 for non-ASCII text in an object without a character set.
		eb = slices.DeleteFunc(eb, func(e *dicom.Element) bool { return e.Tag == tag.SpecificCharacterSet })
	}
	if len(ea) != len(eb) {
		return fmt.Sprintf("%s: %d elements vs %d", path, len(ea), len(eb))
	}
	for i, x := range ea {
		y := eb[i]
		p := path + x.Tag.String()
		if x.Tag != y.Tag {
			return fmt.Sprintf("%s: tag %s vs %s", path, x.Tag, y.Tag)
		}
		xv := x.VR
		if x.Items != nil {
			xv = vr.SQ // an undefined-length UN holds a sequence (PS3.5 6.2.2)
		} else if !xv.Valid() {
			xv = vr.UN
		}
		if xv != y.VR {
			return fmt.Sprintf("%s: VR %s vs %s", p, xv, y.VR)
		}
		if len(x.Items) != len(y.Items) {
			return fmt.Sprintf("%s: %d items vs %d", p, len(x.Items), len(y.Items))
		}
		for j := range x.Items {
			if d := compareModel(x.Items[j], y.Items[j], fmt.Sprintf("%s[%d]", p, j)); d != "" {
				return d
			}
		}
		if x.Items != nil {
			continue
		}
		switch {
		case xv.IsString():
			sa, sb := modelStrings(a, x), modelStrings(b, y)
			if !slices.Equal(sa, sb) {
				return fmt.Sprintf("%s: values %q vs %q", p, sa, sb)
			}
		case xv.IsBulk():
			if !bytes.Equal(padded(x.Value), y.Value) {
				return fmt.Sprintf("%s: %d bytes vs %d", p, len(x.Value), len(y.Value))
			}
		default:
			w := xv.FixedWidth()
			n := len(x.Value) / w * w // a partial value at the end is not a value
			if !bytes.Equal(x.Value[:n], y.Value) {
				return fmt.Sprintf("%s: values differ", p)
			}
		}
	}
	return ""
}

// charsetLimit reports a text value of a that package dicom does not give back after storing it
// with SetString in a data set of the same character set: a limit of the character set support,
// not of the JSON codec.
func charsetLimit(a, b *dicom.Dataset) string {
	var found string
	a.Walk(func(_ []tag.Tag, e *dicom.Element) bool {
		if found != "" || !e.VR.IsText() || e.Items != nil {
			return found == ""
		}
		// Find the data set holding e to decode it with the right character set.
		holder := a
		a.Walk(func(_ []tag.Tag, x *dicom.Element) bool {
			for _, it := range x.Items {
				for i := range it.Elements {
					if &it.Elements[i] == e {
						holder = it
					}
				}
			}
			return true
		})
		want := holder.ElementStrings(e)
		probe := dicom.NewDataset()
		for d := holder; d != nil; d = d.Parent() {
			if cs := d.Element(tag.SpecificCharacterSet); cs != nil {
				probe.Set(*cs)
				break
			}
		}
		if err := probe.SetString(e.Tag, e.VR, want...); err != nil {
			found = fmt.Sprintf("%s %q: %v", e.Tag, want, err)
			return false
		}
		if got := probe.Strings(e.Tag); !slices.Equal(got, want) && len(want) > 0 {
			found = fmt.Sprintf("%s %q in %q comes back as %q", e.Tag, want, probe.Strings(tag.SpecificCharacterSet), got)
		}
		return found == ""
	})
	return found
}

// modelStrings returns the values of a string element as the JSON model has them: decoded,
// trimmed, trailing empty Person Name groups dropped, no values when all are empty.
func modelStrings(ds *dicom.Dataset, e *dicom.Element) []string {
	vals := ds.ElementStrings(e)
	empty := true
	for i, s := range vals {
		if e.VR == vr.PN {
			// Groups without a non-empty component are left out (F.2.2).
			groups := strings.SplitN(s, "=", 3)
			for j, g := range groups {
				if strings.Trim(g, "^ ") == "" {
					groups[j] = ""
				}
			}
			s = strings.TrimRight(strings.Join(groups, "="), "=")
			vals[i] = s
		}
		if s != "" {
			empty = false
		}
	}
	if empty {
		return nil
	}
	return vals
}

// padded returns b padded to even length, as a Value Field is.
func padded(b []byte) []byte {
	if len(b)%2 == 1 {
		return append(b[:len(b):len(b)], 0)
	}
	return b
}
