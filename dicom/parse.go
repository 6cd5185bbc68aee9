package dicom

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrValue is wrapped by the value parsers when a string does not follow its VR's format.
var ErrValue = errors.New("invalid value")

// ParseIS parses an Integer String (PS3.5 6.2: optional sign, digits, leading/trailing spaces).
func ParseIS(s string) (int64, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: IS %q", ErrValue, s)
	}
	return n, nil
}

// ParseDS parses a Decimal String (fixed or floating point, PS3.5 6.2).
func ParseDS(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty DS", ErrValue)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E') {
			return 0, fmt.Errorf("%w: DS %q", ErrValue, s)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: DS %q", ErrValue, s)
	}
	return f, nil
}

// FormatDS formats f as a Decimal String of at most 16 characters.
func FormatDS(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	for prec := 16; prec > 0; prec-- {
		s := strconv.FormatFloat(f, 'g', prec, 64)
		if len(s) <= 16 {
			return s
		}
	}
	return strconv.FormatFloat(f, 'g', 1, 64)
}

// ParseDA parses a Date (YYYYMMDD; also the retired YYYY.MM.DD form, PS3.5 6.2 note).
func ParseDA(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) == 10 && s[4] == '.' && s[7] == '.' {
		s = s[:4] + s[5:7] + s[8:]
	}
	if len(s) != 8 {
		return time.Time{}, fmt.Errorf("%w: DA %q", ErrValue, s)
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: DA %q", ErrValue, s)
	}
	return t, nil
}

// Time is a Time (TM) value with its precision: how many components were given.
type Time struct {
	Hour, Minute, Second int
	Nanosecond           int
	// Precision: 1 = HH, 2 = HHMM, 3 = HHMMSS, 4 = with fraction.
	Precision int
}

// Duration returns the time of day as a duration since midnight.
func (t Time) Duration() time.Duration {
	return time.Duration(t.Hour)*time.Hour + time.Duration(t.Minute)*time.Minute +
		time.Duration(t.Second)*time.Second + time.Duration(t.Nanosecond)
}

// ParseTM parses a Time: HH[MM[SS[.F{1-6}]]], also the retired HH:MM:SS form.
func ParseTM(s string) (Time, error) {
	s = strings.TrimSpace(s)
	orig := s
	if strings.Contains(s, ":") && len(s) >= 5 {
		s = strings.ReplaceAll(s, ":", "")
	}
	var t Time
	bad := func() (Time, error) { return Time{}, fmt.Errorf("%w: TM %q", ErrValue, orig) }
	num := func(p string) (int, bool) {
		n, err := strconv.Atoi(p)
		return n, err == nil && len(p) == 2
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i+1:]
		if len(s) != 6 || len(frac) == 0 || len(frac) > 6 {
			return bad()
		}
	}
	var ok bool
	switch len(s) {
	case 6:
		if t.Second, ok = num(s[4:6]); !ok || t.Second > 60 {
			return bad()
		}
		t.Precision = 3
		fallthrough
	case 4:
		if t.Minute, ok = num(s[2:4]); !ok || t.Minute > 59 {
			return bad()
		}
		if t.Precision == 0 {
			t.Precision = 2
		}
		fallthrough
	case 2:
		if t.Hour, ok = num(s[0:2]); !ok || t.Hour > 23 {
			return bad()
		}
		if t.Precision == 0 {
			t.Precision = 1
		}
	default:
		return bad()
	}
	if frac != "" {
		n, err := strconv.Atoi(frac)
		if err != nil || n < 0 {
			return bad()
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		t.Nanosecond = n
		t.Precision = 4
	}
	return t, nil
}

// ParseDT parses a Date Time: YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]][&ZZXX]. Missing components take
// their lowest value; without an offset the time is returned in UTC with hasZone false.
func ParseDT(s string) (t time.Time, hasZone bool, err error) {
	s = strings.TrimSpace(s)
	orig := s
	loc := time.UTC
	if i := strings.LastIndexAny(s, "+-"); i >= 4 {
		z := s[i:]
		s = s[:i]
		if len(z) != 5 {
			return time.Time{}, false, fmt.Errorf("%w: DT %q", ErrValue, orig)
		}
		hh, err1 := strconv.Atoi(z[1:3])
		mm, err2 := strconv.Atoi(z[3:5])
		if err1 != nil || err2 != nil || hh > 14 || mm > 59 {
			return time.Time{}, false, fmt.Errorf("%w: DT %q", ErrValue, orig)
		}
		off := hh*3600 + mm*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone(z, off)
		hasZone = true
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i+1:]
		if len(s) != 14 || frac == "" || len(frac) > 6 {
			return time.Time{}, false, fmt.Errorf("%w: DT %q", ErrValue, orig)
		}
	}
	layouts := map[int]string{4: "2006", 6: "200601", 8: "20060102", 10: "2006010215", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(s)]
	if !ok {
		return time.Time{}, false, fmt.Errorf("%w: DT %q", ErrValue, orig)
	}
	t, perr := time.ParseInLocation(layout, s, loc)
	if perr != nil {
		return time.Time{}, false, fmt.Errorf("%w: DT %q", ErrValue, orig)
	}
	if frac != "" {
		n, err := strconv.Atoi(frac)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%w: DT %q", ErrValue, orig)
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		t = t.Add(time.Duration(n))
	}
	return t, hasZone, nil
}

// Age is an Age String (AS): a number of days, weeks, months or years.
type Age struct {
	N    int
	Unit byte // 'D', 'W', 'M' or 'Y'
}

// ParseAS parses an Age String: nnnD, nnnW, nnnM or nnnY.
func ParseAS(s string) (Age, error) {
	s = strings.TrimSpace(s)
	if len(s) != 4 {
		return Age{}, fmt.Errorf("%w: AS %q", ErrValue, s)
	}
	n, err := strconv.Atoi(s[:3])
	u := s[3]
	if err != nil || n < 0 || (u != 'D' && u != 'W' && u != 'M' && u != 'Y') {
		return Age{}, fmt.Errorf("%w: AS %q", ErrValue, s)
	}
	return Age{N: n, Unit: u}, nil
}

// NameGroup is one component group of a Person Name (PS3.5 6.2.1.1).
type NameGroup struct {
	Family, Given, Middle, Prefix, Suffix string
}

// String joins the components with "^", dropping trailing empty ones.
func (g NameGroup) String() string {
	parts := []string{g.Family, g.Given, g.Middle, g.Prefix, g.Suffix}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "^")
}

// PersonName is a Person Name split into its alphabetic, ideographic and phonetic groups.
type PersonName struct {
	Alphabetic, Ideographic, Phonetic NameGroup
}

// String joins the groups with "=", dropping trailing empty ones.
func (p PersonName) String() string {
	parts := []string{p.Alphabetic.String(), p.Ideographic.String(), p.Phonetic.String()}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "=")
}

// ParsePN splits one Person Name value (already decoded to UTF-8) into groups and components.
func ParsePN(s string) PersonName {
	var p PersonName
	groups := strings.SplitN(s, "=", 3)
	dst := []*NameGroup{&p.Alphabetic, &p.Ideographic, &p.Phonetic}
	for i, g := range groups {
		c := strings.SplitN(g, "^", 5)
		for len(c) < 5 {
			c = append(c, "")
		}
		*dst[i] = NameGroup{Family: strings.TrimRight(c[0], " "), Given: strings.TrimRight(c[1], " "),
			Middle: strings.TrimRight(c[2], " "), Prefix: strings.TrimRight(c[3], " "), Suffix: strings.TrimRight(c[4], " ")}
	}
	return p
}
