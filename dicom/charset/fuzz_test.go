package charset

import (
	"bytes"
	"testing"
)

// fuzzTerms are the sets FuzzDecode draws from.
var fuzzTerms = [][]string{
	nil,
	{"ISO_IR 100"},
	{"ISO_IR 101"},
	{"ISO_IR 144"},
	{"ISO_IR 127"},
	{"ISO_IR 126"},
	{"ISO_IR 138"},
	{"ISO_IR 166"},
	{"ISO_IR 13"},
	{"ISO_IR 192"},
	{"GB18030"},
	{"GBK"},
	{"", "ISO 2022 IR 87"},
	{"", "ISO 2022 IR 87", "ISO 2022 IR 159"},
	{"ISO 2022 IR 13", "ISO 2022 IR 87"},
	{"", "ISO 2022 IR 149"},
	{"ISO 2022 IR 149"},
	{"", "ISO 2022 IR 58"},
	{"ISO 2022 IR 100", "ISO 2022 IR 144", "ISO 2022 IR 126"},
	{"ISO 2022 IR 6", "ISO 2022 IR 100", "ISO 2022 IR 87", "ISO 2022 IR 149"},
}

// FuzzDecode decodes arbitrary bytes in a set drawn from fuzzTerms. Decode
// must not panic; and whatever string it returns, Encode either fails or
// yields bytes that decode, without error, to the same string.
func FuzzDecode(f *testing.F) {
	seeds := []struct {
		set, kind uint8
		b         string
	}{
		{12, 2, "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"},
		{14, 2, "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J"},
		{15, 2, "Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7"},
		{17, 1, "1.\x1b$)A\xb5\xda\xd2\xbb\x1b(B\r\n"},
		{10, 2, "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab="},
		{9, 0, "\xe7\x8e\x8b\\\xff"},
		{18, 0, "\x1b-L\xb6\\\xe9\x1b-F\xc4"},
		{1, 0, "J\xe9r\xf4me\x1b$B"},
		{0, 0, "plain ascii"},
		{19, 2, "\x1b$(D0!\x1b$)C\xc8\xab\x1b-A\xe9"},
	}
	for _, s := range seeds {
		f.Add(s.set, s.kind, []byte(s.b))
	}
	sets := make([]*Set, len(fuzzTerms))
	for i, terms := range fuzzTerms {
		s, err := New(terms)
		if err != nil {
			f.Fatal(err)
		}
		sets[i] = s
	}
	f.Fuzz(func(t *testing.T, set, kind uint8, b []byte) {
		s := sets[int(set)%len(sets)]
		k := Kind(kind % 3)
		str, _ := s.Decode(b, k)
		enc, err := s.Encode(str, k)
		if err != nil {
			return
		}
		back, err := s.Decode(enc, k)
		if err != nil || back != str {
			t.Fatalf("%s %v: Decode(%q) = %q; Encode = %q; Decode again = %q, %v", s, k, b, str, enc, back, err)
		}
		// Encoding is deterministic, so a second round gives the same bytes.
		if enc2, err := s.Encode(back, k); err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("%s %v: Encode not stable: %q then %q, %v", s, k, enc, enc2, err)
		}
	})
}
