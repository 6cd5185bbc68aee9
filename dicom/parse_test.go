package dicom_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
)

func TestParseIS(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"12", 12, true}, {" -7 ", -7, true}, {"+3", 3, true}, {"1A", 0, false}, {"", 0, false}, {"1.5", 0, false}} {
		got, err := dicom.ParseIS(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseIS(%q) = %d, %v", c.in, got, err)
		}
		if err != nil && !errors.Is(err, dicom.ErrValue) {
			t.Errorf("ParseIS(%q) error does not wrap ErrValue", c.in)
		}
	}
}

func TestParseDS(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{{"1.5", 1.5, true}, {" -2.5e3", -2500, true}, {"0", 0, true}, {"NaN", 0, false}, {"1,5", 0, false}, {"", 0, false}} {
		got, err := dicom.ParseDS(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDS(%q) = %v, %v", c.in, got, err)
		}
	}
	for _, f := range []float64{0, 1.5, -1234.5678, 1e-300, 123456789012345678} {
		s := dicom.FormatDS(f)
		if len(s) > 16 {
			t.Errorf("FormatDS(%v) = %q, longer than 16", f, s)
		}
		if _, err := dicom.ParseDS(s); err != nil {
			t.Errorf("FormatDS(%v) = %q does not parse back: %v", f, s, err)
		}
	}
}

func TestParseDA(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{{"20240229", "2024-02-29", true}, {"1997.04.30", "1997-04-30", true}, {"20230229", "", false}, {"2024", "", false}} {
		got, err := dicom.ParseDA(c.in)
		if (err == nil) != c.ok || (c.ok && got.Format("2006-01-02") != c.want) {
			t.Errorf("ParseDA(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestParseTM(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		prec int
		ok   bool
	}{
		{"07", 7 * time.Hour, 1, true},
		{"0715", 7*time.Hour + 15*time.Minute, 2, true},
		{"071530", 7*time.Hour + 15*time.Minute + 30*time.Second, 3, true},
		{"071530.25", 7*time.Hour + 15*time.Minute + 30*time.Second + 250*time.Millisecond, 4, true},
		{"07:15:30", 7*time.Hour + 15*time.Minute + 30*time.Second, 3, true},
		{"2500", 0, 0, false}, {"07153", 0, 0, false}, {"071530.1234567", 0, 0, false},
	} {
		got, err := dicom.ParseTM(c.in)
		if (err == nil) != c.ok || (c.ok && (got.Duration() != c.want || got.Precision != c.prec)) {
			t.Errorf("ParseTM(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestParseDT(t *testing.T) {
	got, zone, err := dicom.ParseDT("20240102030405.5+0130")
	if err != nil || !zone {
		t.Fatalf("ParseDT: %v %v", err, zone)
	}
	want := time.Date(2024, 1, 2, 3, 4, 5, 500_000_000, time.FixedZone("", 90*60))
	if !got.Equal(want) {
		t.Errorf("ParseDT = %v, want %v", got, want)
	}
	if got, zone, err := dicom.ParseDT("2024"); err != nil || zone || got.Year() != 2024 {
		t.Errorf("ParseDT(2024) = %v %v %v", got, zone, err)
	}
	for _, bad := range []string{"20241", "2024010203040506", "20240102+01"} {
		if _, _, err := dicom.ParseDT(bad); err == nil {
			t.Errorf("ParseDT(%q) succeeded", bad)
		}
	}
}

func TestParseAS(t *testing.T) {
	if a, err := dicom.ParseAS("045Y"); err != nil || a.N != 45 || a.Unit != 'Y' {
		t.Errorf("ParseAS(045Y) = %+v, %v", a, err)
	}
	for _, bad := range []string{"45Y", "045X", "04YY"} {
		if _, err := dicom.ParseAS(bad); err == nil {
			t.Errorf("ParseAS(%q) succeeded", bad)
		}
	}
}

func TestParsePN(t *testing.T) {
	p := dicom.ParsePN("Yamada^Tarou=山田^太郎=やまだ^たろう")
	if p.Alphabetic.Family != "Yamada" || p.Ideographic.Given != "太郎" || p.Phonetic.Family != "やまだ" {
		t.Errorf("ParsePN = %+v", p)
	}
	if s := p.String(); s != "Yamada^Tarou=山田^太郎=やまだ^たろう" {
		t.Errorf("String = %q", s)
	}
	q := dicom.ParsePN("Adams^John Robert Quincy^^Rev.^B.A. M.Div.")
	if q.Alphabetic.Given != "John Robert Quincy" || q.Alphabetic.Prefix != "Rev." || q.Alphabetic.Suffix != "B.A. M.Div." {
		t.Errorf("ParsePN = %+v", q)
	}
}
