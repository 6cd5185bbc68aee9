package dicomjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/cpuclock"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// indent formats JSON for golden files; json.Indent keeps numbers and strings as written.
func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update to accept):\n%s", path, got)
	}
}

// bulkURIs records the BulkDataURIs met while decoding and gives them back when encoding, keyed
// by path and tag.
type bulkURIs map[string]string

func (m bulkURIs) key(p dicomjson.Path, t tag.Tag) string { return p.String() + "/" + t.String() }

func (m bulkURIs) decodeOpts() dicomjson.DecodeOptions {
	return dicomjson.DecodeOptions{BulkData: func(p dicomjson.Path, uri string, e *dicom.Element) error {
		m[m.key(p, e.Tag)] = uri
		return nil
	}}
}

func (m bulkURIs) encodeOpts() dicomjson.Options {
	return dicomjson.Options{BulkDataURI: func(p dicomjson.Path, e *dicom.Element) string { return m[m.key(p, e.Tag)] }}
}

// TestGolden decodes each testdata/*.json, encodes the data sets again and compares with
// testdata/*.golden; the golden output must itself be a fixed point of decode and encode.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			uris := bulkURIs{}
			dss, err := decodeAny(src, uris.decodeOpts())
			if err != nil {
				t.Fatal(err)
			}
			out := encodeAny(t, src, dss, uris.encodeOpts())
			checkGolden(t, strings.TrimSuffix(in, ".json")+".golden", indent(t, out))

			again, err := decodeAny(out, uris.decodeOpts())
			if err != nil {
				t.Fatalf("decode own output: %v", err)
			}
			for i := range dss {
				// Group lengths are left out of the JSON (F.2.2).
				dss[i].Elements = slices.DeleteFunc(dss[i].Elements, func(e dicom.Element) bool { return e.Tag.IsGroupLength() })
				if d := dicom.Diff(dss[i], again[i]); d != "" {
					t.Errorf("data set %d changed by encode/decode: %s", i, d)
				}
			}
			if out2 := encodeAny(t, src, again, uris.encodeOpts()); !bytes.Equal(out, out2) {
				t.Errorf("JSON not stable:\n%s\n%s", out, out2)
			}
		})
	}
}

// decodeAny decodes an object or an array.
func decodeAny(b []byte, opts dicomjson.DecodeOptions) ([]*dicom.Dataset, error) {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		return dicomjson.DecodeArray(bytes.NewReader(b), opts)
	}
	ds, err := dicomjson.Decode(bytes.NewReader(b), opts)
	return []*dicom.Dataset{ds}, err
}

func encodeAny(t testing.TB, src []byte, dss []*dicom.Dataset, opts dicomjson.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if bytes.HasPrefix(bytes.TrimSpace(src), []byte("[")) {
		err = dicomjson.EncodeArray(&buf, dss, opts)
	} else {
		err = dicomjson.Encode(&buf, dss[0], opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func str(t tag.Tag, v vr.VR, raw string) dicom.Element {
	return dicom.NewElement(t, v, []byte(raw))
}

func TestEncode(t *testing.T) {
	const pn = tag.PatientName
	f32 := func(fs ...float32) []byte {
		var b []byte
		for _, f := range fs {
			u := math.Float32bits(f)
			b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
		}
		return b
	}
	u64 := func(n uint64) []byte {
		return []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24), byte(n >> 32), byte(n >> 40), byte(n >> 48), byte(n >> 56)}
	}
	uri := func(p dicomjson.Path, e *dicom.Element) string { return "bulk/" + p.String() + "/" + e.Tag.String() }
	big := make([]byte, 2000)
	tests := []struct {
		name string
		el   dicom.Element
		opts dicomjson.Options
		want string // the attribute object, or "" when left out
	}{
		{"empty", str(pn, vr.PN, ""), dicomjson.Options{}, `{"vr":"PN"}`},
		{"padding only", str(tag.PatientID, vr.LO, "  "), dicomjson.Options{}, `{"vr":"LO"}`},
		{"PN groups", str(pn, vr.PN, "A^B=C^D=E^F"), dicomjson.Options{}, `{"vr":"PN","Value":[{"Alphabetic":"A^B","Ideographic":"C^D","Phonetic":"E^F"}]}`},
		{"PN ideographic only", str(pn, vr.PN, "=C^D"), dicomjson.Options{}, `{"vr":"PN","Value":[{"Ideographic":"C^D"}]}`},
		{"PN empty components", str(pn, vr.PN, "^^^^"), dicomjson.Options{}, `{"vr":"PN"}`},
		{"PN empty second value", str(pn, vr.PN, `A\\B `), dicomjson.Options{}, `{"vr":"PN","Value":[{"Alphabetic":"A"},null,{"Alphabetic":"B"}]}`},
		{"CS trimmed", str(tag.ImageType, vr.CS, ` A \B `), dicomjson.Options{}, `{"vr":"CS","Value":["A","B"]}`},
		{"DS forms", str(tag.PixelSpacing, vr.DS, ` 1.5\+2\.5\1e3\01\ `), dicomjson.Options{}, `{"vr":"DS","Value":[1.5,"+2",".5",1e3,"01",null]}`},
		{"IS", str(tag.SeriesNumber, vr.IS, "-12 "), dicomjson.Options{}, `{"vr":"IS","Value":[-12]}`},
		{"LT keeps backslash", str(tag.AdditionalPatientHistory, vr.LT, `a\b "q"`), dicomjson.Options{}, `{"vr":"LT","Value":["a\\b \"q\""]}`},
		{"control characters", str(tag.PatientComments, vr.LT, "a\x00\x1fb"), dicomjson.Options{}, `{"vr":"LT","Value":["a\u0000\u001Fb"]}`},
		{"US", dicom.NewElement(tag.Rows, vr.US, []byte{0, 2, 1, 0}), dicomjson.Options{}, `{"vr":"US","Value":[512,1]}`},
		{"FL not finite", dicom.NewElement(0x00189219, vr.FL, f32(0.5, float32(math.NaN()), float32(math.Inf(-1)))), dicomjson.Options{}, `{"vr":"FL","Value":[0.5,"NaN","-Infinity"]}`},
		{"UV beyond 2^53", dicom.NewElement(0x0072007A, vr.UV, append(u64(1<<53), u64(1<<53+1)...)), dicomjson.Options{}, `{"vr":"UV","Value":[9007199254740992,"9007199254740993"]}`},
		{"AT", dicom.NewElement(0x00209165, vr.AT, []byte{0x10, 0, 0x10, 0, 0xE0, 0x7F, 0x10, 0}), dicomjson.Options{}, `{"vr":"AT","Value":["00100010","7FE00010"]}`},
		{"OB inline", dicom.NewElement(0x00420011, vr.OB, []byte{1, 2, 3}), dicomjson.Options{}, `{"vr":"OB","InlineBinary":"AQIDAA=="}`},
		{"OB under threshold", dicom.NewElement(0x00420011, vr.OB, []byte{1, 2}), dicomjson.Options{BulkDataURI: uri}, `{"vr":"OB","InlineBinary":"AQI="}`},
		{"OB over threshold", dicom.NewElement(0x00420011, vr.OB, big), dicomjson.Options{BulkDataURI: uri}, `{"vr":"OB","BulkDataURI":"bulk//(0042,0011)"}`},
		{"negative threshold", dicom.NewElement(0x00420011, vr.OB, []byte{1, 2}), dicomjson.Options{BulkDataURI: uri, BulkThreshold: -1}, `{"vr":"OB","BulkDataURI":"bulk//(0042,0011)"}`},
		{"URI function declines", dicom.NewElement(0x00420011, vr.OB, big[:2]), dicomjson.Options{BulkDataURI: func(dicomjson.Path, *dicom.Element) string { return "" }, BulkThreshold: -1}, `{"vr":"OB","InlineBinary":"AAA="}`},
		{"bulk left in source, no URI", dicom.Element{Tag: tag.PixelData, VR: vr.OW, Bulk: true, Length: 100, Offset: 10}, dicomjson.Options{}, ""},
		{"bulk left in source", dicom.Element{Tag: tag.PixelData, VR: vr.OW, Bulk: true, Length: 100, Offset: 10}, dicomjson.Options{BulkDataURI: uri}, `{"vr":"OW","BulkDataURI":"bulk//(7FE0,0010)"}`},
		{"bulk PN left out", dicom.Element{Tag: pn, VR: vr.PN, Bulk: true, Length: 100, Offset: 10}, dicomjson.Options{BulkDataURI: uri}, ""},
		{"encapsulated, no URI", dicom.Element{Tag: tag.PixelData, VR: vr.OB, Fragments: []dicom.Fragment{{}, {Data: []byte{1, 2}}}}, dicomjson.Options{}, ""},
		{"encapsulated", dicom.Element{Tag: tag.PixelData, VR: vr.OB, Fragments: []dicom.Fragment{{}, {Data: []byte{1, 2}}}}, dicomjson.Options{BulkDataURI: uri}, `{"vr":"OB","BulkDataURI":"bulk//(7FE0,0010)"}`},
		{"group length left out", dicom.NewElement(0x00080000, vr.UL, []byte{4, 0, 0, 0}), dicomjson.Options{}, ""},
		{"group length kept", dicom.NewElement(0x00080000, vr.UL, []byte{4, 0, 0, 0}), dicomjson.Options{GroupLengths: true}, `{"vr":"UL","Value":[4]}`},
		{"empty sequence", dicom.NewSequence(tag.ReferencedImageSequence), dicomjson.Options{}, `{"vr":"SQ"}`},
		{"UN holding items", dicom.Element{Tag: 0x00091010, VR: vr.UN, Items: []*dicom.Dataset{dicom.NewItem()}}, dicomjson.Options{}, `{"vr":"SQ","Value":[{}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := dicom.NewDataset(tc.el)
			got, err := dicomjson.Marshal(ds, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			want := "{}"
			if tc.want != "" {
				k := tc.el.Tag
				want = fmt.Sprintf(`{"%04X%04X":%s}`, k.Group(), k.Element(), tc.want)
			}
			if string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestEncodeInvalidUTF8(t *testing.T) {
	// A default-repertoire VR holding 8-bit bytes is decoded as raw bytes; invalid UTF-8 must
	// not make the JSON invalid.
	ds := dicom.NewDataset(str(tag.Modality, vr.CS, "A\xffB"))
	got, err := dicomjson.Marshal(ds, dicomjson.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(got) {
		t.Fatalf("invalid JSON: %q", got)
	}
}

func TestEncodePath(t *testing.T) {
	inner := dicom.NewItem(dicom.NewElement(0x00289001, vr.OW, make([]byte, 4)))
	ds := dicom.NewDataset(dicom.NewSequence(0x00540016, dicom.NewItem(), inner))
	var got []string
	_, err := dicomjson.Marshal(ds, dicomjson.Options{BulkThreshold: -1, BulkDataURI: func(p dicomjson.Path, e *dicom.Element) string {
		got = append(got, fmt.Sprintf("%s %s", p, e.Tag))
		return "x"
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "00540016[1] (0028,9001)"; len(got) != 1 || got[0] != want {
		t.Errorf("paths %q, want [%q]", got, want)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		t    tag.Tag
		vr   vr.VR
		want string // raw value bytes
	}{
		{"PN groups", `{"00100010":{"vr":"PN","Value":[{"Alphabetic":"A^B","Phonetic":"P"},null]}}`, tag.PatientName, vr.PN, `A^B==P\ `},
		{"DS number kept as written", `{"00280030":{"vr":"DS","Value":[1.50,"+2",null]}}`, tag.PixelSpacing, vr.DS, `1.50\+2\`},
		{"DS number too long", `{"00280030":{"vr":"DS","Value":[0.30000000000000004]}}`, tag.PixelSpacing, vr.DS, `0.3 `},
		{"IS from float form", `{"00200011":{"vr":"IS","Value":[1e3]}}`, tag.SeriesNumber, vr.IS, `1000`},
		{"UI padded with NUL", `{"00080016":{"vr":"UI","Value":["1.2.3"]}}`, tag.SOPClassUID, vr.UI, "1.2.3\x00"},
		{"vr from dictionary", `{"00200010":{"Value":["S1"]}}`, tag.StudyID, vr.SH, `S1`},
		{"Value before vr", `{"00280010":{"Value":[512],"vr":"US"}}`, tag.Rows, vr.US, "\x00\x02"},
		{"unknown member skipped", `{"00280010":{"vr":"US","x":{"a":[1,{}]},"Value":[1]}}`, tag.Rows, vr.US, "\x01\x00"},
		{"Value null", `{"00100010":{"vr":"PN","Value":null}}`, tag.PatientName, vr.PN, ``},
		{"InlineBinary unpadded base64", `{"00420011":{"vr":"OB","InlineBinary":"AQI"}}`, 0x00420011, vr.OB, "\x01\x02"},
		{"SV as string", `{"0072007C":{"vr":"SV","Value":["-9223372036854775808"]}}`, 0x0072007C, vr.SV, "\x00\x00\x00\x00\x00\x00\x00\x80"},
		{"lower-case tag", `{"7fe00010":{"vr":"OW","InlineBinary":"AAE="}}`, tag.PixelData, vr.OW, "\x00\x01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := dicomjson.Decode(strings.NewReader(tc.in), dicomjson.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			e := ds.Element(tc.t)
			if e == nil {
				t.Fatalf("%s missing", tc.t)
			}
			if e.VR != tc.vr || string(e.Value) != tc.want {
				t.Errorf("got %s %q, want %s %q", e.VR, e.Value, tc.vr, tc.want)
			}
		})
	}
}

func TestDecodeBulkData(t *testing.T) {
	in := `{"00540016":{"vr":"SQ","Value":[{"00289001":{"vr":"OW","BulkDataURI":"u1"}}]},"7FE00010":{"vr":"OB","BulkDataURI":"u2"}}`
	var refs []string
	ds, err := dicomjson.Decode(strings.NewReader(in), dicomjson.DecodeOptions{BulkData: func(p dicomjson.Path, uri string, e *dicom.Element) error {
		refs = append(refs, fmt.Sprintf("%s %s %s %s", p, e.Tag, e.VR, uri))
		if uri == "u2" {
			e.Value = []byte{1, 2}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"00540016[0] (0028,9001) OW u1", " (7FE0,0010) OB u2"}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Errorf("references %q, want %q", refs, want)
	}
	if e := ds.Sequence(0x00540016)[0].Element(0x00289001); e == nil || !e.Bulk || e.Value != nil {
		t.Errorf("unresolved reference: %+v", e)
	}
	if e := ds.Element(tag.PixelData); e == nil || e.Bulk || string(e.Value) != "\x01\x02" {
		t.Errorf("resolved reference: %+v", e)
	}
	// Without a callback the element is kept, marked Bulk.
	ds, err = dicomjson.Decode(strings.NewReader(in), dicomjson.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := ds.Element(tag.PixelData); e == nil || !e.Bulk || e.Offset != -1 {
		t.Errorf("kept reference: %+v", e)
	}
	// A callback error ends decoding and is wrapped.
	errStop := errors.New("stop")
	_, err = dicomjson.Decode(strings.NewReader(in), dicomjson.DecodeOptions{BulkData: func(dicomjson.Path, string, *dicom.Element) error { return errStop }})
	if !errors.Is(err, errStop) {
		t.Errorf("callback error not wrapped: %v", err)
	}
}

// TestDecodeCharset stores strings through the object's Specific Character Set.
func TestDecodeCharset(t *testing.T) {
	probe := dicom.NewDataset()
	if err := probe.SetString(tag.SpecificCharacterSet, vr.CS, "ISO_IR 100"); err != nil {
		t.Fatal(err)
	}
	if err := probe.SetString(tag.PatientName, vr.PN, "é"); err != nil || string(probe.Element(tag.PatientName).Value) != "\xe9 " {
		t.Skip("package dicom does not yet encode ISO_IR 100 in SetString")
	}
	// The character set comes after the name: the decoder must still encode the name in it.
	in := `{"00100010":{"vr":"PN","Value":[{"Alphabetic":"Müller"}]},"00080005":{"vr":"CS","Value":["ISO_IR 100"]}}`
	ds, err := dicomjson.Decode(strings.NewReader(in), dicomjson.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ds.Element(tag.PatientName).Value); got != "M\xfcller" {
		t.Errorf("value %q, want Latin-1", got)
	}
}

func TestDecodeUTF8Default(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"00100010":{"vr":"PN","Value":[{"Alphabetic":"Müller"}]}}`, "ISO_IR 192"},
		{`{"00100010":{"vr":"PN","Value":[{"Alphabetic":"Muller"}]}}`, ""},
		{`{"00080005":{"vr":"CS","Value":["ISO_IR 192"]},"00100010":{"vr":"PN","Value":[{"Alphabetic":"Müller"}]}}`, "ISO_IR 192"},
	} {
		ds, err := dicomjson.Decode(strings.NewReader(tc.in), dicomjson.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ds.String(tag.SpecificCharacterSet); got != tc.want {
			t.Errorf("%s: Specific Character Set %q, want %q", tc.in, got, tc.want)
		}
	}
}

func nested(depth int) string {
	return strings.Repeat(`{"00081115":{"vr":"SQ","Value":[`, depth) + "{}" + strings.Repeat("]}}", depth)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts dicomjson.DecodeOptions
		is   error
		msg  string
	}{
		{"PN string", `{"00100010":{"vr":"PN","Value":["Doe^John"]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "00100010: Value[0]: PN object expected, found string"},
		{"nested error path", `{"00081115":{"vr":"SQ","Value":[{},{"00100010":{"vr":"PN","Value":[1]}}]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "00081115: Value[1]: 00100010: Value[0]: PN object expected, found number"},
		{"not JSON", `{"00100010":`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "unexpected end of input"},
		{"syntax error", `{"00100010" 1}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "invalid character"},
		{"array for object", `[{}]`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "JSON object expected, found '['"},
		{"bad tag", `{"0010001":{"vr":"PN"}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "not a tag"},
		{"duplicate", `{"00100010":{"vr":"PN"},"00100010":{"vr":"PN"}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "duplicate attribute"},
		{"unknown VR", `{"00100010":{"vr":"XX"}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, `unknown VR "XX"`},
		{"no vr, private", `{"00091010":{"Value":["x"]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "vr missing"},
		{"US out of range", `{"00280010":{"vr":"US","Value":[65536]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "00280010: Value[0]: 65536 out of range"},
		{"US fraction", `{"00280010":{"vr":"US","Value":[1.5]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "integer expected"},
		{"US null", `{"00280010":{"vr":"US","Value":[null]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "number expected, found null"},
		{"IS fraction", `{"00200011":{"vr":"IS","Value":[1.5]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "integer expected"},
		{"LT two values", `{"00104000":{"vr":"LT","Value":["a","b"]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "Value[1]: VR LT holds a single value"},
		{"Value for OB", `{"00420011":{"vr":"OB","Value":[1]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "InlineBinary or BulkDataURI expected"},
		{"bad base64", `{"00420011":{"vr":"OB","InlineBinary":"@@"}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "InlineBinary"},
		{"two kinds", `{"00420011":{"vr":"OB","InlineBinary":"AA==","BulkDataURI":"x"}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "both InlineBinary and BulkDataURI"},
		{"item not object", `{"00081115":{"vr":"SQ","Value":[null]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "item object expected"},
		{"AT", `{"00209165":{"vr":"AT","Value":["0010"]}}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "AT value expected"},
		{"trailing data", `{} {}`, dicomjson.DecodeOptions{}, dicomjson.ErrInvalid, "after the top-level value"},
		{"depth", nested(3), dicomjson.DecodeOptions{MaxDepth: 2}, dicomjson.ErrLimit, "00081115: Value[0]: 00081115: Value[0]: 00081115: Value[0]: sequences nested deeper than 2"},
		{"deep unknown member", `{"00100010":{"vr":"PN","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`, dicomjson.DecodeOptions{}, dicomjson.ErrLimit, "unknown member nested deeper than 64"},
		{"size", `{"00100020":{"vr":"LO","Value":["` + strings.Repeat("x", 1000) + `"]}}`, dicomjson.DecodeOptions{MaxSize: 100}, dicomjson.ErrLimit, "input larger than 100 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dicomjson.Decode(strings.NewReader(tc.in), tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

// TestDecodeDeep: 10,000 nested sequences fail fast with a clear error.
func TestDecodeDeep(t *testing.T) {
	in := nested(10000)
	start := cpuclock.Now()
	_, err := dicomjson.Decode(strings.NewReader(in), dicomjson.DecodeOptions{})
	if !errors.Is(err, dicomjson.ErrLimit) || !strings.Contains(err.Error(), "sequences nested deeper than 64") {
		t.Fatalf("error %v", err)
	}
	if d := cpuclock.Since(start); d > time.Second {
		t.Errorf("took %v of CPU time", d)
	}
	// Deep arrays where an object is expected.
	_, err = dicomjson.Decode(strings.NewReader(strings.Repeat("[", 10000)), dicomjson.DecodeOptions{})
	if !errors.Is(err, dicomjson.ErrInvalid) {
		t.Fatalf("error %v", err)
	}
	// Deep nesting buffered because "Value" comes before "vr".
	in = `{"00081115":{"Value":[` + nested(10000) + `],"vr":"SQ"}}`
	_, err = dicomjson.Decode(strings.NewReader(in), dicomjson.DecodeOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	t.Logf("%v", err)
}

func TestArray(t *testing.T) {
	var dss []*dicom.Dataset
	for i := 0; i < 3; i++ {
		ds := dicom.NewDataset()
		if err := ds.SetString(tag.SOPInstanceUID, vr.UI, fmt.Sprintf("1.2.%d", i)); err != nil {
			t.Fatal(err)
		}
		dss = append(dss, ds)
	}
	var buf bytes.Buffer
	aw := dicomjson.NewArrayWriter(&buf, dicomjson.Options{})
	for _, ds := range dss {
		if err := aw.Write(ds); err != nil {
			t.Fatal(err)
		}
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	want := `[{"00080018":{"vr":"UI","Value":["1.2.0"]}},{"00080018":{"vr":"UI","Value":["1.2.1"]}},{"00080018":{"vr":"UI","Value":["1.2.2"]}}]`
	if buf.String() != want {
		t.Errorf("got %s", buf.String())
	}
	ar := dicomjson.NewArrayReader(bytes.NewReader(buf.Bytes()), dicomjson.DecodeOptions{})
	for i := 0; ; i++ {
		ds, err := ar.Next()
		if err == io.EOF {
			if i != 3 {
				t.Errorf("%d data sets", i)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d := dicom.Diff(dss[i], ds); d != "" {
			t.Errorf("data set %d: %s", i, d)
		}
	}
	buf.Reset()
	if err := dicomjson.EncodeArray(&buf, nil, dicomjson.Options{}); err != nil || buf.String() != "[]" {
		t.Errorf("empty array: %q %v", buf.String(), err)
	}
	if _, err := dicomjson.DecodeArray(strings.NewReader(`[{},{"00100010":{"vr":"PN","Value":["x"]}}]`), dicomjson.DecodeOptions{}); err == nil ||
		!strings.Contains(err.Error(), "[1]: 00100010: Value[0]: PN object expected") {
		t.Errorf("array error %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.golden")
	more, _ := filepath.Glob("testdata/*.json")
	for _, p := range append(seeds, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if bytes.HasPrefix(b, []byte("[")) {
			// Seed the objects of an array one by one.
			var objs []json.RawMessage
			if err := json.Unmarshal(b, &objs); err == nil {
				for _, o := range objs {
					f.Add([]byte(o))
				}
			}
			continue
		}
		f.Add(b)
	}
	f.Add([]byte(nested(100)))
	f.Fuzz(func(t *testing.T, in []byte) {
		opts := dicomjson.DecodeOptions{MaxSize: 1 << 20}
		ds, err := dicomjson.Decode(bytes.NewReader(in), opts)
		if err != nil {
			return
		}
		b, err := dicomjson.Marshal(ds, dicomjson.Options{})
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if !json.Valid(b) {
			t.Fatalf("encoded invalid JSON: %s", b)
		}
		ds2, err := dicomjson.Decode(bytes.NewReader(b), opts)
		if err != nil {
			t.Fatalf("decode own output: %v\n%s", err, b)
		}
		b2, err := dicomjson.Marshal(ds2, dicomjson.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ds3, err := dicomjson.Decode(bytes.NewReader(b2), opts)
		if err != nil {
			t.Fatal(err)
		}
		if d := dicom.Diff(ds2, ds3); d != "" {
			t.Fatalf("decode/encode/decode not stable: %s\n%s\n%s", d, b, b2)
		}
		if !bytes.Equal(b, b2) {
			// The first pass may normalise (padding, number forms); the second must not.
			if b3, _ := dicomjson.Marshal(ds3, dicomjson.Options{}); !bytes.Equal(b2, b3) {
				t.Fatalf("JSON not stable:\n%s\n%s", b2, b3)
			}
		}
	})
}
