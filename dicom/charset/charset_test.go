package charset

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func mustNew(t testing.TB, terms ...string) *Set {
	t.Helper()
	s, err := New(terms)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNew(t *testing.T) {
	tests := []struct {
		terms     []string
		wantTerms []string
		isDefault bool
		isUTF8    bool
		ext       bool
	}{
		{nil, nil, true, false, false},
		{[]string{}, nil, true, false, false},
		{[]string{""}, nil, true, false, false},
		{[]string{"  "}, nil, true, false, false},
		{[]string{"ISO_IR 6"}, []string{"ISO_IR 6"}, true, false, false},
		{[]string{"ISO 2022 IR 6"}, []string{"ISO 2022 IR 6"}, true, false, true},
		{[]string{" ISO_IR 100 "}, []string{"ISO_IR 100"}, false, false, false},
		{[]string{"ISO_IR 192"}, []string{"ISO_IR 192"}, false, true, false},
		{[]string{"GB18030"}, []string{"GB18030"}, false, false, false},
		{[]string{"GBK"}, []string{"GBK"}, false, false, false},
		{[]string{"ISO_IR 13"}, []string{"ISO_IR 13"}, false, false, false},
		{[]string{"", "ISO 2022 IR 87"}, []string{"", "ISO 2022 IR 87"}, false, false, true},
		{[]string{"ISO 2022 IR 6", "ISO 2022 IR 87", "ISO 2022 IR 159"}, []string{"ISO 2022 IR 6", "ISO 2022 IR 87", "ISO 2022 IR 159"}, false, false, true},
		{[]string{"ISO 2022 IR 13", "ISO 2022 IR 87"}, []string{"ISO 2022 IR 13", "ISO 2022 IR 87"}, false, false, true},
		{[]string{"ISO 2022 IR 149"}, []string{"ISO 2022 IR 149"}, false, false, true},
		{[]string{"", "ISO 2022 IR 58"}, []string{"", "ISO 2022 IR 58"}, false, false, true},
		{[]string{"ISO 2022 IR 100", "ISO 2022 IR 144", "ISO 2022 IR 126"}, []string{"ISO 2022 IR 100", "ISO 2022 IR 144", "ISO 2022 IR 126"}, false, false, true},
	}
	for _, ir := range []string{"100", "101", "109", "110", "144", "127", "126", "138", "148", "203", "166"} {
		tests = append(tests,
			struct {
				terms     []string
				wantTerms []string
				isDefault bool
				isUTF8    bool
				ext       bool
			}{[]string{"ISO_IR " + ir}, []string{"ISO_IR " + ir}, false, false, false},
			struct {
				terms     []string
				wantTerms []string
				isDefault bool
				isUTF8    bool
				ext       bool
			}{[]string{"ISO 2022 IR " + ir}, []string{"ISO 2022 IR " + ir}, false, false, true})
	}
	for _, tc := range tests {
		s, err := New(tc.terms)
		if err != nil {
			t.Errorf("New(%q): %v", tc.terms, err)
			continue
		}
		if got := s.Terms(); !slices.Equal(got, tc.wantTerms) {
			t.Errorf("New(%q).Terms() = %q, want %q", tc.terms, got, tc.wantTerms)
		}
		if s.IsDefault() != tc.isDefault || s.IsUTF8() != tc.isUTF8 || s.Extensions() != tc.ext {
			t.Errorf("New(%q): IsDefault %v IsUTF8 %v Extensions %v, want %v %v %v",
				tc.terms, s.IsDefault(), s.IsUTF8(), s.Extensions(), tc.isDefault, tc.isUTF8, tc.ext)
		}
		if s.String() != strings.Join(tc.wantTerms, `\`) {
			t.Errorf("New(%q).String() = %q", tc.terms, s.String())
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		terms   []string
		is      error
		index   int
		mention string // the error message must contain it
	}{
		{[]string{"ISO-IR 100"}, ErrUnknownTerm, 0, `"ISO-IR 100"`},
		{[]string{"ISO_IR 999"}, ErrUnknownTerm, 0, `"ISO_IR 999"`},
		{[]string{"iso_ir 100"}, ErrUnknownTerm, 0, `did you mean "ISO_IR 100"`},
		{[]string{"UTF-8"}, ErrUnknownTerm, 0, `"UTF-8"`},
		{[]string{"", "ISO 2022 IR 87", "KLINGON"}, ErrUnknownTerm, 2, `"KLINGON"`},
		{[]string{"ISO_IR 192", "ISO 2022 IR 87"}, ErrInvalidTerms, 1, "code extensions"},
		{[]string{"", "GB18030"}, ErrInvalidTerms, 1, "GB18030"},
		{[]string{"ISO_IR 100", "ISO 2022 IR 144"}, ErrInvalidTerms, 0, `"ISO 2022 IR 100"`},
		{[]string{"ISO 2022 IR 100", "ISO_IR 144"}, ErrInvalidTerms, 1, `"ISO 2022 IR 144"`},
		{[]string{"ISO 2022 IR 87"}, ErrInvalidTerms, 0, "two-byte G0"},
		{[]string{"ISO 2022 IR 100", ""}, ErrInvalidTerms, 1, "only value 1 may be empty"},
	}
	for _, tc := range tests {
		_, err := New(tc.terms)
		var te *TermError
		if !errors.Is(err, tc.is) || !errors.As(err, &te) || te.Index != tc.index || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("New(%q) = %v; want %v at index %d mentioning %s", tc.terms, err, tc.is, tc.index, tc.mention)
		}
	}
}

func TestParse(t *testing.T) {
	s, err := Parse(`\ISO 2022 IR 87 `)
	if err != nil || !slices.Equal(s.Terms(), []string{"", "ISO 2022 IR 87"}) {
		t.Errorf("Parse = %v, %v", s, err)
	}
	if s, err := Parse(""); err != nil || !s.IsDefault() {
		t.Errorf("Parse(\"\") = %v, %v", s, err)
	}
}

func TestTermsIsACopy(t *testing.T) {
	s := mustNew(t, "", "ISO 2022 IR 87")
	s.Terms()[1] = "changed"
	if s.Terms()[1] != "ISO 2022 IR 87" {
		t.Error("Terms exposes the set's own slice")
	}
}

func TestLenient(t *testing.T) {
	tests := []struct {
		terms []string
		want  []string
		fixes int
	}{
		{nil, nil, 0},
		{[]string{"ISO_IR 100"}, []string{"ISO_IR 100"}, 0},
		{[]string{"ISO 2022 IR 100"}, []string{"ISO 2022 IR 100"}, 0},
		{[]string{"ISO-IR 100"}, []string{"ISO_IR 100"}, 1},
		{[]string{"ISO_IR100"}, []string{"ISO_IR 100"}, 1},
		{[]string{"ISO IR 100"}, []string{"ISO_IR 100"}, 1},
		{[]string{"iso_ir 100"}, []string{"ISO_IR 100"}, 1},
		{[]string{"ISO2022IR100"}, []string{"ISO 2022 IR 100"}, 1},
		{[]string{"UTF-8"}, []string{"ISO_IR 192"}, 1},
		{[]string{"utf8"}, []string{"ISO_IR 192"}, 1},
		{[]string{"gbk"}, []string{"GBK"}, 1},
		{[]string{"ISO 2022 GBK"}, []string{"GBK"}, 1},
		{[]string{"GB2312"}, []string{"ISO 2022 IR 58"}, 1},
		{[]string{"ISO-8859-5"}, []string{"ISO_IR 144"}, 1},
		{[]string{"latin1"}, []string{"ISO_IR 100"}, 1},
		{[]string{"KLINGON"}, []string{"ISO_IR 100"}, 1},
		{[]string{"", "ISO 2022 IR 87", "KLINGON"}, []string{"", "ISO 2022 IR 87"}, 1},
		{[]string{"ISO_IR 192", "ISO 2022 IR 87"}, []string{"ISO_IR 192"}, 1},
		{[]string{"", "GB18030"}, nil, 1},
		{[]string{"ISO_IR 100", "ISO_IR 144"}, []string{"ISO 2022 IR 100", "ISO 2022 IR 144"}, 2},
		{[]string{"ISO 2022 IR 87"}, []string{"", "ISO 2022 IR 87"}, 1},
		{[]string{"ISO 2022 IR 100", "", " "}, []string{"ISO 2022 IR 100"}, 2},
		{[]string{"ISO_IR 100\x00"}, []string{"ISO_IR 100"}, 0},
	}
	for _, tc := range tests {
		s, fixes := Lenient(tc.terms)
		if got := s.Terms(); !slices.Equal(got, tc.want) || len(fixes) != tc.fixes {
			t.Errorf("Lenient(%q) = %q with fixes %v; want %q with %d fixes", tc.terms, got, fixes, tc.want, tc.fixes)
		}
		for _, f := range fixes {
			if f.String() == "" || f.Reason == "" {
				t.Errorf("Lenient(%q): fix without a reason: %#v", tc.terms, f)
			}
		}
		if _, err := New(s.Terms()); err != nil {
			t.Errorf("Lenient(%q) gave terms New rejects: %v", tc.terms, err)
		}
	}
}

func TestKindForVR(t *testing.T) {
	for vr, want := range map[string]Kind{"PN": PN, "ST": LongText, "LT": LongText, "UT": LongText, "SH": Text, "LO": Text, "UC": Text} {
		if got := KindForVR(vr); got != want {
			t.Errorf("KindForVR(%q) = %v, want %v", vr, got, want)
		}
	}
	if Kind(9).String() != "Kind(9)" {
		t.Error(Kind(9).String())
	}
}

// TestDecode covers the state machine of PS3.5 6.1.2.5: which delimiters
// end a code extension for each Kind, and what happens to invalid input.
func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		terms   []string
		kind    Kind
		in      string
		want    string
		wantErr bool
	}{
		{"ascii", nil, Text, "Doe^John", "Doe^John", false},
		{"latin1", []string{"ISO_IR 100"}, PN, "Buc^J\xe9r\xf4me", "Buc^Jérôme", false},
		{"latin9 euro", []string{"ISO_IR 203"}, Text, "\xa4", "€", false},
		{"thai", []string{"ISO_IR 166"}, Text, "\xa1", "ก", false},
		{"katakana single byte", []string{"ISO_IR 13"}, PN, "\xd4\xcf\xc0\xde", "ﾔﾏﾀﾞ", false},
		{"default with 8-bit bytes reads Latin-1", nil, Text, "J\xe9r\xf4me", "Jérôme", true},
		{"undefined byte", []string{"ISO_IR 127"}, Text, "\xa1", "\uFFFD", true},
		{"C1 control", []string{"ISO_IR 100"}, Text, "a\x85b", "a\u0085b", true},
		// PS3.5 6.1.2.5.3: "^" and "=" end the G1 designation in PN ...
		{"PN delimiter resets G1", []string{"", "ISO 2022 IR 149"}, PN, "\x1b$)C\xfb\xf3^\xfb\xf3", "洪^洪", true},
		// ... but not in other VRs,
		{"caret in LO is no delimiter", []string{"", "ISO 2022 IR 149"}, Text, "\x1b$)C\xfb\xf3^\xfb\xf3", "洪^洪", false},
		// "\" ends it in multi-valued VRs,
		{"backslash resets in LO", []string{"", "ISO 2022 IR 100"}, Text, "\x1b-A\xe9\\\xe9", "é\\é", true},
		// but is an ordinary character in LT,
		{"backslash in LT", []string{"", "ISO 2022 IR 100"}, LongText, "\x1b-A\xe9\\\xe9", "é\\é", false},
		// and control characters end it everywhere.
		{"CR LF reset in LT", []string{"", "ISO 2022 IR 100"}, LongText, "\x1b-A\xe9\r\n\xe9", "é\r\né", true},
		{"TAB resets in LT", []string{"", "ISO 2022 IR 100"}, LongText, "\x1b-A\xe9\t\xe9", "é\té", true},
		{"reset to value 1 G1", []string{"ISO 2022 IR 100", "ISO 2022 IR 144"}, PN, "\x1b-L\xb6^\xe9", "Ж^é", false},
		// Inside a two-byte G0 set the bytes of "\", "^" and "=" are halves of
		// characters, not delimiters: JIS X 0208 0x245C, 0x245E, 0x243D.
		{"delimiter bytes inside JIS X 0208", []string{"", "ISO 2022 IR 87"}, PN, "\x1b$B$\\$^$=\x1b(B", "ぼまそ", false},
		{"space inside JIS X 0208", []string{"", "ISO 2022 IR 87"}, PN, "\x1b$B;3ED \x1b(B", "山田 ", false},
		{"JIS X 0212", []string{"", "ISO 2022 IR 87", "ISO 2022 IR 159"}, PN, "\x1b$(D0!\x1b(B", "丂", false},
		{"JIS X 0208 left active at the end", []string{"", "ISO 2022 IR 87"}, PN, "\x1b$B;3", "山", false},
		{"odd byte in JIS X 0208", []string{"", "ISO 2022 IR 87"}, PN, "\x1b$B;", "\uFFFD", true},
		{"undefined JIS X 0208 cell", []string{"", "ISO 2022 IR 87"}, PN, "\x1b$B\x7e\x7e", "\uFFFD", true},
		{"half a KS X 1001 character", []string{"", "ISO 2022 IR 149"}, PN, "\x1b$)C\xfb", "\uFFFD", true},
		{"G1 value 1 needs no escape", []string{"ISO 2022 IR 149"}, PN, "\xc8\xab\xb1\xe6\xb5\xbf", "홍길동", false},
		{"ESC ( B always allowed", []string{"ISO 2022 IR 13", "ISO 2022 IR 87"}, PN, "\x1b$B;3\x1b(B^", "山^", false},
		{"unknown escape", []string{"", "ISO 2022 IR 87"}, PN, "a\x1b(Zb", "a\uFFFDb", true},
		{"truncated escape", []string{"", "ISO 2022 IR 87"}, PN, "a\x1b$", "a\uFFFD", true},
		{"undeclared escape is honoured", []string{"", "ISO 2022 IR 87"}, PN, "\x1b-A\xe9", "é", true},
		{"escape without code extensions", []string{"ISO_IR 100"}, PN, "\x1b$B;3\x1b(B", "山", true},
		{"utf-8", []string{"ISO_IR 192"}, PN, "Wang^XiaoDong=\xe7\x8e\x8b", "Wang^XiaoDong=王", false},
		{"utf-8 keeps ESC", []string{"ISO_IR 192"}, LongText, "\x1b\xc3\xa9", "\x1bé", false},
		{"invalid utf-8", []string{"ISO_IR 192"}, Text, "a\xffb", "a\uFFFDb", true},
		{"gb18030 four bytes", []string{"GB18030"}, Text, "\x94\x39\xfc\x36", "😀", false},
		{"gb18030 U+FFFD is valid", []string{"GB18030"}, Text, "\x84\x31\xa4\x37", "\uFFFD", false},
		{"gb18030 backslash trail byte", []string{"GB18030"}, Text, "\x81\x5c", "乗", false},
		{"gb18030 invalid", []string{"GB18030"}, Text, "a\xff", "a\uFFFD", true},
		{"gbk four bytes invalid", []string{"GBK"}, Text, "\x94\x39\xfc\x36", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, tc.terms...)
			got, err := s.Decode([]byte(tc.in), tc.kind)
			if (err != nil) != tc.wantErr {
				t.Errorf("Decode(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrDecode) {
				t.Errorf("Decode error %v does not wrap ErrDecode", err)
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("Decode(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDecodeErrorOffset(t *testing.T) {
	_, err := mustNew(t, "", "ISO 2022 IR 149").DecodePN([]byte("\x1b$)C\xfb\xf3^\xfb\xf3"))
	var de *DecodeError
	if !errors.As(err, &de) || de.Offset != 7 || de.Set != `\ISO 2022 IR 149` {
		t.Errorf("error %#v, want offset 7", err)
	}
}

// TestEncode checks the escape sequences Encode chooses.
func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		terms []string
		kind  Kind
		in    string
		want  string
	}{
		{"latin1", []string{"ISO_IR 100"}, PN, "Buc^Jérôme", "Buc^J\xe9r\xf4me"},
		{"katakana", []string{"ISO_IR 13"}, PN, "ﾔﾏﾀﾞ", "\xd4\xcf\xc0\xde"},
		// Value 1 keeps G1; other sets are designated as needed, and "^"
		// returns G1 to value 1's set.
		{"value 1 first", []string{"ISO 2022 IR 100", "ISO 2022 IR 144"}, PN, "Jérôme Жуков", "J\xe9r\xf4me \x1b-L\xb6\xe3\xda\xde\xd2"},
		{"reset after caret", []string{"ISO 2022 IR 100", "ISO 2022 IR 144"}, PN, "Жуков^Jérôme", "\x1b-L\xb6\xe3\xda\xde\xd2^J\xe9r\xf4me"},
		{"no reset in LT", []string{"ISO 2022 IR 100", "ISO 2022 IR 144"}, LongText, "Ж^é", "\x1b-L\xb6^\x1b-A\xe9"},
		{"first term that can", []string{"ISO 2022 IR 144", "ISO 2022 IR 100", "ISO 2022 IR 203"}, Text, "é€", "\x1b-A\xe9\x1b-b\xa4"},
		{"space leaves JIS X 0208", []string{"", "ISO 2022 IR 87"}, PN, "山田 太郎", "\x1b$B;3ED\x1b(B \x1b$BB@O:\x1b(B"},
		{"JIS X 0212 when JIS X 0208 cannot", []string{"", "ISO 2022 IR 87", "ISO 2022 IR 159"}, PN, "山丂", "\x1b$B;3\x1b$(D0!\x1b(B"},
		{"G1 value 1 needs no escape", []string{"ISO 2022 IR 149"}, PN, "홍^길동", "\xc8\xab^\xb1\xe6\xb5\xbf"},
		{"katakana G1 and kanji G0 coexist", []string{"ISO 2022 IR 13", "ISO 2022 IR 87"}, LongText, "ｱ山ｱ", "\xb1\x1b$B;3\xb1\x1b(J"},
		{"line ends leave JIS X 0208", []string{"", "ISO 2022 IR 87"}, LongText, "山\r\n山", "\x1b$B;3\x1b(B\r\n\x1b$B;3\x1b(B"},
		{"utf-8 keeps ESC", []string{"ISO_IR 192"}, LongText, "\x1bé", "\x1b\xc3\xa9"},
		{"gb18030 four bytes", []string{"GB18030"}, Text, "😀", "\x94\x39\xfc\x36"},
		{"gbk", []string{"GBK"}, Text, "王", "\xcd\xf5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, tc.terms...)
			got, err := s.Encode(tc.in, tc.kind)
			if err != nil || string(got) != tc.want {
				t.Errorf("Encode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			if back, err := s.Decode(got, tc.kind); err != nil || back != tc.in {
				t.Errorf("Decode(Encode(%q)) = %q, %v", tc.in, back, err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		terms  []string
		in     string
		rune   rune
		offset int
	}{
		{"default", nil, "Jérôme", 'é', 1},
		{"cyrillic in latin1", []string{"ISO_IR 100"}, "abcЖ", 'Ж', 3},
		{"no extensions", []string{"ISO_IR 100"}, "山", '山', 0},
		{"not in any term", []string{"", "ISO 2022 IR 87"}, "Jérôme", 'é', 1},
		{"ESC", []string{"", "ISO 2022 IR 87"}, "a\x1b(B", 0x1B, 1},
		{"C1", []string{"ISO_IR 100"}, "a\u0085", 0x85, 1},
		{"U+FFFD", []string{"ISO_IR 100"}, "a\uFFFD", 0xFFFD, 1},
		{"invalid utf-8", []string{"ISO_IR 100"}, "é\xff", utf8.RuneError, 2},
		{"invalid utf-8 in utf-8", []string{"ISO_IR 192"}, "é\xff", utf8.RuneError, 2},
		{"gbk cannot encode emoji", []string{"GBK"}, "王😀", '😀', 3},
		{"vendor row not written", []string{"", "ISO 2022 IR 87"}, "①", '①', 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mustNew(t, tc.terms...).Encode(tc.in, PN)
			var ee *EncodeError
			if !errors.Is(err, ErrEncode) || !errors.As(err, &ee) || ee.Rune != tc.rune || ee.Offset != tc.offset {
				t.Fatalf("Encode(%q) error = %v; want rune %U at %d", tc.in, err, tc.rune, tc.offset)
			}
			if tc.rune != utf8.RuneError && !strings.Contains(err.Error(), string(tc.rune)) && tc.rune >= 0x20 && tc.rune != 0x85 {
				t.Errorf("error %q does not name the character", err)
			}
		})
	}
}

// TestSingleByteRoundTrip decodes every upper-half byte of every single-byte
// set and encodes it back.
func TestSingleByteRoundTrip(t *testing.T) {
	for _, ir := range []string{"100", "101", "109", "110", "144", "127", "126", "138", "148", "203", "166", "13"} {
		for _, term := range []string{"ISO_IR " + ir, "ISO 2022 IR " + ir} {
			s := mustNew(t, term)
			n := 0
			for c := 0xA0; c <= 0xFF; c++ {
				in := []byte{'a', byte(c), 'z'}
				got, err := s.DecodeText(in)
				if err != nil {
					continue
				}
				n++
				if utf8.RuneCountInString(got) != 3 {
					t.Errorf("%s: 0x%02X decodes to %q", term, c, got)
				}
				back, err := s.EncodeText(got)
				if err != nil || !bytes.Equal(back, in) {
					t.Errorf("%s: 0x%02X: Encode(%q) = %q, %v", term, c, got, back, err)
				}
			}
			if n < 50 { // ISO 8859-6 has the fewest: 51
				t.Errorf("%s: only %d upper-half bytes decode", term, n)
			}
		}
	}
}

// TestTwoByteTables checks that the two-byte tables are complete enough and
// round-trip: every writable cell decodes to a character that encodes back
// to it.
func TestTwoByteTables(t *testing.T) {
	for _, tc := range []struct {
		id  elemID
		min int
	}{{elemJIS0208, 6800}, {elemJIS0212, 5800}, {elemKSX1001, 8200}, {elemGB2312, 7400}} {
		tab := elements[tc.id].table()
		if len(tab.enc) < tc.min {
			t.Errorf("%s: %d encodable characters, want at least %d", elements[tc.id].name, len(tab.enc), tc.min)
		}
		for r, code := range tab.enc {
			if tab.dec[code] != r {
				t.Errorf("%s: %U encodes to cell %d, which decodes to %U", elements[tc.id].name, r, code, tab.dec[code])
			}
		}
	}
}

func TestFastPathAllocations(t *testing.T) {
	s := mustNew(t, "", "ISO 2022 IR 87")
	b := []byte("Yamada^Tarou=Some^Ascii=Only^Value")
	str := string(b)
	if n := testing.AllocsPerRun(100, func() { _, _ = s.DecodePN(b) }); n > 1 {
		t.Errorf("Decode of ASCII: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = s.EncodePN(str) }); n > 1 {
		t.Errorf("Encode of ASCII: %v allocations", n)
	}
}

func TestPlain(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true},
		{"short", true},
		{"exactly8", true},
		{"a longer ASCII string with ^ and = and \\", true},
		{"a longer ASCII string\x1b with ESC", false},
		{"\x1b", false},
		{"seven..\x1b", false},
		{"a longer string with é", false},
		{"\x7f\x00\x1a\x1c", true},
	} {
		if got := plainString(tc.in); got != tc.want {
			t.Errorf("plainString(%q) = %v", tc.in, got)
		}
		if got := plainBytes([]byte(tc.in)); got != tc.want {
			t.Errorf("plainBytes(%q) = %v", tc.in, got)
		}
	}
}
