package charset

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
)

// cr parses the standard's column/row notation, "05/09 06/01 ...".
func cr(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for _, f := range strings.Fields(s) {
		col, row, ok := strings.Cut(f, "/")
		c, err1 := strconv.Atoi(col)
		r, err2 := strconv.Atoi(row)
		if !ok || err1 != nil || err2 != nil || c > 15 || r > 15 {
			t.Fatalf("bad column/row %q", f)
		}
		out = append(out, byte(c<<4|r))
	}
	return out
}

// hx parses hexadecimal bytes, "0x5A 0x68 ..." or "5a68...".
func hx(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.NewReplacer("0x", "", "0X", "", " ", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestStandardExamples reproduces the examples of PS3.5 Annexes H, I, J and
// K: decoding the encoded representation yields the character string, and
// encoding the character string yields the encoded representation (or, where
// the example spends escape sequences that change nothing, an equivalent
// shorter form).
func TestStandardExamples(t *testing.T) {
	tests := []struct {
		name  string
		terms []string
		kind  Kind
		text  string
		enc   []byte
		// want is what Encode produces when it differs from enc.
		want []byte
	}{
		{
			// PS3.5 H.3.1, Example H.3-1: value 1 of Specific Character Set
			// is not present (ISO-IR 6 in G0), JIS X 0208 by ESC $ B.
			name:  "H.3-1",
			terms: []string{"", "ISO 2022 IR 87"},
			kind:  PN,
			text:  "Yamada^Tarou=山田^太郎=やまだ^たろう",
			enc: cr(t, `05/09 06/01 06/13 06/01 06/04 06/01 05/14 05/04 06/01 07/02 06/15 07/05
				03/13 01/11 02/04 04/02 03/11 03/03 04/05 04/04 01/11 02/08 04/02 05/14
				01/11 02/04 04/02 04/02 04/00 04/15 03/10 01/11 02/08 04/02 03/13 01/11
				02/04 04/02 02/04 06/04 02/04 05/14 02/04 04/00 01/11 02/08 04/02 05/14
				01/11 02/04 04/02 02/04 03/15 02/04 06/13 02/04 02/06 01/11 02/08 04/02`),
		},
		{
			// PS3.5 H.3.2, Example H.3-2: value 1 is ISO 2022 IR 13, so
			// JIS X 0201 katakana is in G1 from the start and ESC ( J
			// returns G0 to ISO-IR 14 before each delimiter.
			name:  "H.3-2",
			terms: []string{"ISO 2022 IR 13", "ISO 2022 IR 87"},
			kind:  PN,
			text:  "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう",
			enc: cr(t, `13/04 12/15 12/00 13/14 05/14 12/00 13/11 11/03 03/13 01/11 02/04 04/02
				03/11 03/03 04/05 04/04 01/11 02/08 04/10 05/14 01/11 02/04 04/02 04/02
				04/00 04/15 03/10 01/11 02/08 04/10 03/13 01/11 02/04 04/02 02/04 06/04
				02/04 05/14 02/04 04/00 01/11 02/08 04/10 05/14 01/11 02/04 04/02 02/04
				03/15 02/04 06/13 02/04 02/06 01/11 02/08 04/10`),
		},
		{
			// PS3.5 I.2, Example I.2-1: KS X 1001 in G1 by ESC $ ) C, which
			// must be repeated after each delimiter.
			name:  "I.2-1",
			terms: []string{"", "ISO 2022 IR 149"},
			kind:  PN,
			text:  "Hong^Gildong=洪^吉洞=홍^길동",
			enc: cr(t, `04/08 06/15 06/14 06/07 05/14 04/07 06/09 06/12 06/04 06/15 06/14 06/07
				03/13 01/11 02/04 02/09 04/03 15/11 15/03 05/14 01/11 02/04 02/09 04/03
				13/01 12/14 13/04 13/07 03/13 01/11 02/04 02/09 04/03 12/08 10/11 05/14
				01/11 02/04 02/09 04/03 11/01 14/06 11/05 11/15`),
		},
		{
			// PS3.5 I.3, Example I.3-1: the escape sequence at the head of each
			// line designates KS X 1001 to G1 until the line ends; ASCII and
			// Hangul mix freely. Encoding designates G1 just before the first
			// Hangul character instead.
			name:  "I.3-1",
			terms: []string{"", "ISO 2022 IR 149"},
			kind:  LongText,
			text:  "The first line includes 한글.\r\nThe second line includes 한글, too.\r\nThe third line",
			enc: []byte("\x1b$)CThe first line includes \xc7\xd1\xb1\xdb.\r\n" +
				"\x1b$)CThe second line includes \xc7\xd1\xb1\xdb, too.\r\nThe third line"),
			want: []byte("The first line includes \x1b$)C\xc7\xd1\xb1\xdb.\r\n" +
				"The second line includes \x1b$)C\xc7\xd1\xb1\xdb, too.\r\nThe third line"),
		},
		{
			// PS3.5 J.1, Example J.1-1: UTF-8 (the traditional script).
			name:  "J.1-1",
			terms: []string{"ISO_IR 192"},
			kind:  PN,
			text:  "Wang^XiaoDong=王^小東=",
			enc:   hx(t, "0x57 0x61 0x6e 0x67 0x5e 0x58 0x69 0x61 0x6f 0x44 0x6f 0x6e 0x67 0x3d 0xe7 0x8e 0x8b 0x5e 0xe5 0xb0 0x8f 0xe6 0x9d 0xb1 0x3d"),
		},
		{
			// PS3.5 J.3, Example J.3-1: GB18030 (the simplified script).
			name:  "J.3-1",
			terms: []string{"GB18030"},
			kind:  PN,
			text:  "Wang^XiaoDong=王^小东=",
			enc:   hx(t, "0x57 0x61 0x6e 0x67 0x5e 0x58 0x69 0x61 0x6f 0x44 0x6f 0x6e 0x67 0x3d 0xcd 0xf5 0x5e 0xd0 0xa1 0xb6 0xab 0x3d"),
		},
		{
			// PS3.5 J.3 applies to GBK as well (Annex J introduction: the
			// characters lie in the area GBK shares with GB18030).
			name:  "J.3-1 GBK",
			terms: []string{"GBK"},
			kind:  PN,
			text:  "Wang^XiaoDong=王^小东=",
			enc:   hx(t, "0x57 0x61 0x6e 0x67 0x5e 0x58 0x69 0x61 0x6f 0x44 0x6f 0x6e 0x67 0x3d 0xcd 0xf5 0x5e 0xd0 0xa1 0xb6 0xab 0x3d"),
		},
		{
			// PS3.5 J.4, Example J.4-1: Long Text in GB18030.
			name:  "J.4-1",
			terms: []string{"GB18030"},
			kind:  LongText,
			text:  "The first line includes中文.\r\nThe second line includes中文, too.\r\nThe third line.\r\n",
			enc: hx(t, `0x54 0x68 0x65 0x20 0x66 0x69 0x72 0x73 0x74 0x20 0x6c 0x69 0x6e 0x65 0x20 0x69 0x6e 0x63 0x6c 0x75 0x64 0x65 0x73
				0xd6 0xd0 0xce 0xc4
				0x2e 0x0d 0x0a 0x54 0x68 0x65 0x20 0x73 0x65 0x63 0x6f 0x6e 0x64 0x20 0x6c 0x69 0x6e 0x65 0x20 0x69 0x6e 0x63 0x6c 0x75 0x64 0x65 0x73
				0xd6 0xd0 0xce 0xc4
				0x2c 0x20 0x74 0x6f 0x6f 0x2e 0x0d 0x0a 0x54 0x68 0x65 0x20 0x74 0x68 0x69 0x72 0x64 0x20 0x6c 0x69 0x6e 0x65 0x2e 0x0d 0x0a`),
		},
		{
			// PS3.5 K.2, Example K.2-1: GB 2312 in G1 by ESC $ ) A, repeated
			// in each name component; the value is padded with a space.
			name:  "K.2-1",
			terms: []string{"", "ISO 2022 IR 58"},
			kind:  PN,
			text:  "Zhang^XiaoDong=张^小东= ",
			enc:   hx(t, "0x5A 0x68 0x61 0x6E 0x67 0x5E 0x58 0x69 0x61 0x6F 0x44 0x6F 0x6E 0x67 0x3D 0x1B 0x24 0x29 0x41 0xD5 0xC5 0x5E 0x1B 0x24 0x29 0x41 0xD0 0xA1 0xB6 0xAB 0x3D 0x20"),
		},
		{
			// PS3.5 K.3, Example K.3-1: Long Text with explicit escape
			// sequences. The example designates ISO-IR 6 to G0 again before
			// each CR LF although G0 never changed; Encode leaves that out.
			name:  "K.3-1",
			terms: []string{"", "ISO 2022 IR 58"},
			kind:  LongText,
			text:  "1.第一行文字。\r\n2.第二行文字。\r\n3.第三行文字。\r\n ",
			enc: hx(t, `0x31 0x2e 0x1B 0x24 0x29 0x41 0xB5 0xDA 0xD2 0xBB 0xD0 0xD0 0xCE 0xC4 0xD7 0xD6 0xA1 0xA3 0x1B 0x28 0x42 0x0D 0x0A
				0x32 0x2e 0x1B 0x24 0x29 0x41 0xB5 0xDA 0xB6 0xFE 0xD0 0xD0 0xCE 0xC4 0xD7 0xD6 0xA1 0xA3 0x1B 0x28 0x42 0x0D 0x0A
				0x33 0x2e 0x1B 0x24 0x29 0x41 0xB5 0xDA 0xC8 0xFD 0xD0 0xD0 0xCE 0xC4 0xD7 0xD6 0xA1 0xA3 0x1B 0x28 0x42 0x0D 0x0A 0x20`),
			want: hx(t, `0x31 0x2e 0x1B 0x24 0x29 0x41 0xB5 0xDA 0xD2 0xBB 0xD0 0xD0 0xCE 0xC4 0xD7 0xD6 0xA1 0xA3 0x0D 0x0A
				0x32 0x2e 0x1B 0x24 0x29 0x41 0xB5 0xDA 0xB6 0xFE 0xD0 0xD0 0xCE 0xC4 0xD7 0xD6 0xA1 0xA3 0x0D 0x0A
				0x33 0x2e 0x1B 0x24 0x29 0x41 0xB5 0xDA 0xC8 0xFD 0xD0 0xD0 0xCE 0xC4 0xD7 0xD6 0xA1 0xA3 0x0D 0x0A 0x20`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.terms)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Decode(tc.enc, tc.kind)
			if err != nil || got != tc.text {
				t.Errorf("Decode = %q, %v; want %q", got, err, tc.text)
			}
			want := tc.want
			if want == nil {
				want = tc.enc
			}
			b, err := s.Encode(tc.text, tc.kind)
			if err != nil || !bytes.Equal(b, want) {
				t.Errorf("Encode = %q, %v;\n want %q", b, err, want)
			}
			if back, err := s.Decode(b, tc.kind); err != nil || back != tc.text {
				t.Errorf("Decode(Encode) = %q, %v", back, err)
			}
		})
	}
}
