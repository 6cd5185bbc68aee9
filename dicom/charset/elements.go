package charset

import (
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// elemID identifies an ISO/IEC 2022 code element (a graphic character set
// that an escape sequence designates into G0 or G1), PS3.3 Tables C.12-3 and
// C.12-4.
type elemID uint8

const (
	elemNone     elemID = iota
	elemASCII           // ISO-IR 6
	elemRomaji          // ISO-IR 14, JIS X 0201 romaji
	elemKatakana        // ISO-IR 13, JIS X 0201 katakana
	elemJIS0208         // ISO-IR 87
	elemJIS0212         // ISO-IR 159
	elemKSX1001         // ISO-IR 149
	elemGB2312          // ISO-IR 58
	elemLatin1          // ISO-IR 100
	elemLatin2          // ISO-IR 101
	elemLatin3          // ISO-IR 109
	elemLatin4          // ISO-IR 110
	elemCyrillic        // ISO-IR 144
	elemArabic          // ISO-IR 127
	elemGreek           // ISO-IR 126
	elemHebrew          // ISO-IR 138
	elemLatin5          // ISO-IR 148
	elemLatin9          // ISO-IR 203
	elemThai            // ISO-IR 166
	numElems
)

// element describes one code element.
type element struct {
	name  string // ISO registration, for messages
	esc   string // the escape sequence that designates it
	g1    bool   // designated into G1 (upper half); otherwise G0
	width int    // bytes per character
	cm    *charmap.Charmap
	table func() *dbcs // two-byte sets
}

// elements is indexed by elemID. It is never modified.
var elements = [numElems]element{
	elemNone:     {name: "none"},
	elemASCII:    {name: "ISO-IR 6", esc: "\x1b(B", width: 1},
	elemRomaji:   {name: "ISO-IR 14", esc: "\x1b(J", width: 1},
	elemKatakana: {name: "ISO-IR 13", esc: "\x1b)I", g1: true, width: 1},
	elemJIS0208:  {name: "ISO-IR 87", esc: "\x1b$B", width: 2, table: jis0208Table},
	elemJIS0212:  {name: "ISO-IR 159", esc: "\x1b$(D", width: 2, table: jis0212Table},
	elemKSX1001:  {name: "ISO-IR 149", esc: "\x1b$)C", g1: true, width: 2, table: ksx1001Table},
	elemGB2312:   {name: "ISO-IR 58", esc: "\x1b$)A", g1: true, width: 2, table: gb2312Table},
	elemLatin1:   {name: "ISO-IR 100", esc: "\x1b-A", g1: true, width: 1, cm: charmap.ISO8859_1},
	elemLatin2:   {name: "ISO-IR 101", esc: "\x1b-B", g1: true, width: 1, cm: charmap.ISO8859_2},
	elemLatin3:   {name: "ISO-IR 109", esc: "\x1b-C", g1: true, width: 1, cm: charmap.ISO8859_3},
	elemLatin4:   {name: "ISO-IR 110", esc: "\x1b-D", g1: true, width: 1, cm: charmap.ISO8859_4},
	elemCyrillic: {name: "ISO-IR 144", esc: "\x1b-L", g1: true, width: 1, cm: charmap.ISO8859_5},
	elemArabic:   {name: "ISO-IR 127", esc: "\x1b-G", g1: true, width: 1, cm: charmap.ISO8859_6},
	elemGreek:    {name: "ISO-IR 126", esc: "\x1b-F", g1: true, width: 1, cm: charmap.ISO8859_7},
	elemHebrew:   {name: "ISO-IR 138", esc: "\x1b-H", g1: true, width: 1, cm: charmap.ISO8859_8},
	elemLatin5:   {name: "ISO-IR 148", esc: "\x1b-M", g1: true, width: 1, cm: charmap.ISO8859_9},
	elemLatin9:   {name: "ISO-IR 203", esc: "\x1b-b", g1: true, width: 1, cm: charmap.ISO8859_15},
	// TIS 620-2533 (ISO-IR 166) is the upper half of Windows-874 from 0xA0 up;
	// the C1 range 0x80-0x9F, where Windows-874 differs, is never decoded
	// through G1.
	elemThai: {name: "ISO-IR 166", esc: "\x1b-T", g1: true, width: 1, cm: charmap.Windows874},
}

// parseEscape reads the escape sequence at the start of b (b[0] is ESC). It
// returns the designated element, or elemNone when the sequence is not one
// of PS3.3 Tables C.12-3/C.12-4, and the sequence length. ok is false when b
// ends inside the sequence. An escape sequence is ESC, any number of
// intermediate bytes 02/00-02/15 and one final byte 03/00-07/14 (ISO/IEC
// 2022 clause 13.1).
func parseEscape(b []byte) (id elemID, n int, ok bool) {
	n = 1
	for n < len(b) && b[n] >= 0x20 && b[n] <= 0x2F {
		n++
	}
	if n >= len(b) || b[n] < 0x30 || b[n] > 0x7E {
		// Truncated, or not an escape sequence at all: consume ESC and
		// the intermediates only.
		return elemNone, n, false
	}
	n++
	seq := b[:n]
	for i := elemASCII; i < numElems; i++ {
		if string(seq) == elements[i].esc {
			return i, n, true
		}
	}
	return elemNone, n, true
}

// decodeG1Byte decodes one byte 0xA0-0xFF through a single-byte G1 element.
func decodeG1Byte(id elemID, c byte) (rune, bool) {
	if id == elemKatakana {
		if c >= 0xA1 && c <= 0xDF {
			return 0xFF61 + rune(c-0xA1), true
		}
		return 0, false
	}
	if c < 0xA0 {
		return 0, false
	}
	r := upperHalves[id][c-0xA0]
	return r, r != 0
}

// upperHalves holds, for each ISO 8859 style element, the characters of
// bytes 0xA0-0xFF (0: none). It is filled once at start-up from the
// charmaps and never modified.
var upperHalves = func() (t [numElems][96]rune) {
	for id := range elements {
		cm := elements[id].cm
		if cm == nil {
			continue
		}
		for c := 0xA0; c <= 0xFF; c++ {
			if r := cm.DecodeByte(byte(c)); r != utf8.RuneError {
				t[id][c-0xA0] = r
			}
		}
	}
	return t
}()

// encodeIn appends the encoding of r (r >= 0xA0) in element id to dst.
func encodeIn(dst []byte, id elemID, r rune) ([]byte, bool) {
	e := &elements[id]
	switch {
	case id == elemKatakana:
		if r >= 0xFF61 && r <= 0xFF9F {
			return append(dst, byte(r-0xFF61+0xA1)), true
		}
	case e.cm != nil:
		if b, ok := e.cm.EncodeRune(r); ok && b >= 0xA0 {
			return append(dst, b), true
		}
	case e.table != nil:
		if code, ok := e.table().enc[r]; ok {
			hi, lo := byte(code/94), byte(code%94)
			if e.g1 {
				return append(dst, 0xA1+hi, 0xA1+lo), true
			}
			return append(dst, 0x21+hi, 0x21+lo), true
		}
	}
	return dst, false
}

// dbcs is the table of a 94x94 two-byte code element. Cell i is row i/94,
// column i%94 (both 0-based), that is bytes 0x21+i/94, 0x21+i%94 in G0 or
// 0xA1+i/94, 0xA1+i%94 in G1. It is built once and never modified.
type dbcs struct {
	dec [94 * 94]rune // 0: no character
	enc map[rune]uint16
}

func (t *dbcs) decode(hi, lo byte) (rune, bool) {
	r := t.dec[int(hi&0x7F-0x21)*94+int(lo&0x7F-0x21)]
	return r, r != 0
}

var (
	jis0208Table = sync.OnceValue(func() *dbcs {
		// Rows 1-8 and 16-84 are JIS X 0208 proper; other rows decoded by
		// the WHATWG table are vendor extensions that are read, never written.
		return buildDBCS(japanese.EUCJP, nil, func(row int) bool {
			return row <= 8 || (row >= 16 && row <= 84)
		})
	})
	jis0212Table = sync.OnceValue(func() *dbcs {
		return buildDBCS(japanese.EUCJP, []byte{0x8F}, nil)
	})
	ksx1001Table = sync.OnceValue(func() *dbcs {
		return buildDBCS(korean.EUCKR, nil, nil)
	})
	gb2312Table = sync.OnceValue(func() *dbcs {
		return buildDBCS(simplifiedchinese.GBK, nil, nil)
	})
)

// buildDBCS tabulates a 94x94 set from the EUC form of an x/text encoding:
// each cell is decoded as prefix, 0xA1+row, 0xA1+column. writable, if not
// nil, says which 1-based rows may be used when encoding.
func buildDBCS(enc encoding.Encoding, prefix []byte, writable func(row int) bool) *dbcs {
	t := &dbcs{enc: make(map[rune]uint16, 8000)}
	dec := enc.NewDecoder()
	src := make([]byte, 0, len(prefix)+2)
	for i := range 94 * 94 {
		src = append(src[:0], prefix...)
		src = append(src, byte(0xA1+i/94), byte(0xA1+i%94))
		out, err := dec.Bytes(src)
		if err != nil {
			continue
		}
		r, n := utf8.DecodeRune(out)
		if n != len(out) || r == utf8.RuneError || r < 0x80 || isPrivateUse(r) {
			continue
		}
		t.dec[i] = r
		if writable != nil && !writable(i/94+1) {
			continue
		}
		if _, dup := t.enc[r]; !dup {
			t.enc[r] = uint16(i)
		}
	}
	return t
}

func isPrivateUse(r rune) bool {
	return (r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000
}
