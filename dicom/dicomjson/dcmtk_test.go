package dicomjson_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// TestDCMTK compares the output with DCMTK's dcm2json at the level of attributes, VRs and values
// (not formatting), for the corpus files dcm2json converts (it refuses encapsulated Pixel Data)
// whose text is ASCII or UTF-8.
func TestDCMTK(t *testing.T) {
	bin, err := exec.LookPath("dcm2json")
	if err != nil {
		t.Skip("dcm2json (DCMTK) not installed")
	}
	dir := corpustest.Need(t)
	compared, refused := 0, 0
	for _, cf := range parseCorpus(t) {
		if !utf8Only(cf.file.Dataset) {
			continue
		}
		t.Run(cf.name, func(t *testing.T) {
			out, err := exec.Command(bin, "-q", "-fc", filepath.Join(dir, cf.name)).Output()
			if err != nil {
				refused++
				t.Skipf("dcm2json refuses the file: %v", err)
			}
			ours, err := dicomjson.Marshal(cf.file.Dataset, dicomjson.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var a, b map[string]any
			if err := json.Unmarshal(out, &b); err != nil {
				t.Skipf("dcm2json output is not JSON: %v", err)
			}
			if err := json.Unmarshal(ours, &a); err != nil {
				t.Fatalf("our output is not JSON: %v", err)
			}
			for _, d := range compareJSON(a, b, "") {
				t.Error(d)
			}
			compared++
		})
	}
	t.Logf("compared with dcm2json: %d files (%d refused by dcm2json)", compared, refused)
}

// compareJSON lists the differences between two DICOM JSON objects.
func compareJSON(a, b map[string]any, path string) []string {
	var diffs []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		p := path + k
		x, okx := a[k].(map[string]any)
		y, oky := b[k].(map[string]any)
		if !okx || !oky {
			diffs = append(diffs, fmt.Sprintf("%s: present in ours %v, in dcm2json's %v", p, okx, oky))
			continue
		}
		if k == "00080005" {
			// dcm2json converts to UTF-8 and rewrites Specific Character Set.
			continue
		}
		if x["vr"] == "SQ" && y["vr"] == "UN" {
			// An undefined-length UN holds a sequence (PS3.5 6.2.2): we write its items, dcm2json
			// the implicit VR encoding of the items as InlineBinary.
			continue
		}
		if (x["vr"] == "OB" || x["vr"] == "OW") && (y["vr"] == "OB" || y["vr"] == "OW") {
			// An "OB or OW" element read in Implicit VR: package dicom chooses OW as PS3.5 A.1 (c)
			// says; dcm2json gives OB for the retired Curve Data (50xx,3000).
			x["vr"] = y["vr"]
		}
		if x["vr"] != y["vr"] {
			diffs = append(diffs, fmt.Sprintf("%s: vr %v vs %v", p, x["vr"], y["vr"]))
			continue
		}
		if x["InlineBinary"] != y["InlineBinary"] || x["BulkDataURI"] != y["BulkDataURI"] {
			diffs = append(diffs, fmt.Sprintf("%s: binary values differ", p))
		}
		xv, _ := x["Value"].([]any)
		yv, _ := y["Value"].([]any)
		if len(xv) != len(yv) {
			diffs = append(diffs, fmt.Sprintf("%s: %d values vs %d: %v vs %v", p, len(xv), len(yv), xv, yv))
			continue
		}
		for i := range xv {
			vp := fmt.Sprintf("%s.Value[%d]", p, i)
			if xi, ok := xv[i].(map[string]any); ok && x["vr"] == "SQ" {
				yi, _ := yv[i].(map[string]any)
				diffs = append(diffs, compareJSON(xi, yi, vp+".")...)
				continue
			}
			if !sameValue(xv[i], yv[i]) {
				diffs = append(diffs, fmt.Sprintf("%s: %#v vs %#v", vp, xv[i], yv[i]))
			}
		}
	}
	return diffs
}

// sameValue compares two values; numbers (and numeric strings) compare by value, to within the
// precision of a float32 printed by another formatter.
func sameValue(x, y any) bool {
	if reflect.DeepEqual(x, y) {
		return true
	}
	fx, okx := number(x)
	fy, oky := number(y)
	if !okx || !oky {
		return false
	}
	return fx == fy || math.Abs(fx-fy) <= 1e-6*math.Max(math.Abs(fx), math.Abs(fy))
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(string(bytes.TrimSpace([]byte(x))), 64)
		return f, err == nil
	}
	return 0, false
}

// utf8Only reports whether every Specific Character Set in ds, items included, is absent or UTF-8,
// so that dcm2json's output is UTF-8 too.
func utf8Only(ds *dicom.Dataset) bool {
	ok := true
	ds.Walk(func(_ []tag.Tag, e *dicom.Element) bool {
		if e.Tag == tag.SpecificCharacterSet {
			if s := string(bytes.Trim(e.Value, " \x00")); s != "" && s != "ISO_IR 192" {
				ok = false
			}
		}
		return ok
	})
	return ok
}
