package charset

import (
	"strconv"
	"strings"
)

// setKind is how a whole set decodes.
type setKind uint8

const (
	kindISO2022 setKind = iota // G0/G1 state machine: all single-byte and ISO 2022 terms
	kindUTF8                   // ISO_IR 192
	kindGB18030                // GB18030
	kindGBK                    // GBK
)

// termInfo describes one Defined Term of PS3.3 C.12.1.1.2.
type termInfo struct {
	kind   setKind
	ext    bool   // an "ISO 2022" term: code extensions permitted
	g0, g1 elemID // the elements the term designates
}

// terms maps each Defined Term to its meaning. It is never modified.
var terms = func() map[string]termInfo {
	m := map[string]termInfo{
		// ISO_IR 6 is not a Defined Term of Table C.12-2, but it names the
		// default repertoire unambiguously and is common in practice.
		"ISO_IR 6":        {g0: elemASCII},
		"ISO 2022 IR 6":   {ext: true, g0: elemASCII},
		"ISO_IR 13":       {g0: elemRomaji, g1: elemKatakana},
		"ISO 2022 IR 13":  {ext: true, g0: elemRomaji, g1: elemKatakana},
		"ISO 2022 IR 87":  {ext: true, g0: elemJIS0208},
		"ISO 2022 IR 159": {ext: true, g0: elemJIS0212},
		"ISO 2022 IR 149": {ext: true, g1: elemKSX1001},
		"ISO 2022 IR 58":  {ext: true, g1: elemGB2312},
		"ISO_IR 192":      {kind: kindUTF8},
		"GB18030":         {kind: kindGB18030},
		"GBK":             {kind: kindGBK},
	}
	for ir, e := range singleByte {
		n := strconv.Itoa(ir)
		m["ISO_IR "+n] = termInfo{g0: elemASCII, g1: e}
		m["ISO 2022 IR "+n] = termInfo{ext: true, g0: elemASCII, g1: e}
	}
	return m
}()

// singleByte maps the ISO-IR number of each ISO 8859 style set (PS3.3 Table
// C.12-2) to its G1 element.
var singleByte = map[int]elemID{
	100: elemLatin1,
	101: elemLatin2,
	109: elemLatin3,
	110: elemLatin4,
	144: elemCyrillic,
	127: elemArabic,
	126: elemGreek,
	138: elemHebrew,
	148: elemLatin5,
	203: elemLatin9,
	166: elemThai,
}

// aliases maps spellings seen in the wild, upper-cased and with spaces,
// underscores and hyphens removed, to Defined Terms. Spellings of the form
// ISO_IR n and ISO 2022 IR n are handled by [canonicalTerm] directly.
var aliases = map[string]string{
	"UTF8":       "ISO_IR 192",
	"ISO10646":   "ISO_IR 192",
	"UNICODE":    "ISO_IR 192",
	"ISO2022GBK": "GBK", // CP-1234 draft spelling
	"CP936":      "GBK",
	"GB2312":     "ISO 2022 IR 58",
	"EUCCN":      "ISO 2022 IR 58",
	"ISO202258":  "ISO 2022 IR 58", // CP-1234 draft spelling
	"EUCKR":      "ISO 2022 IR 149",
	"KSC5601":    "ISO 2022 IR 149",
	"KSX1001":    "ISO 2022 IR 149",
	"ASCII":      "ISO_IR 6",
	"USASCII":    "ISO_IR 6",
	"LATIN1":     "ISO_IR 100",
	"LATIN2":     "ISO_IR 101",
	"LATIN3":     "ISO_IR 109",
	"LATIN4":     "ISO_IR 110",
	"LATIN5":     "ISO_IR 148",
	"LATIN9":     "ISO_IR 203",
	"CYRILLIC":   "ISO_IR 144",
	"ARABIC":     "ISO_IR 127",
	"GREEK":      "ISO_IR 126",
	"HEBREW":     "ISO_IR 138",
	"TIS620":     "ISO_IR 166",
	"ISO88591":   "ISO_IR 100",
	"ISO88592":   "ISO_IR 101",
	"ISO88593":   "ISO_IR 109",
	"ISO88594":   "ISO_IR 110",
	"ISO88595":   "ISO_IR 144",
	"ISO88596":   "ISO_IR 127",
	"ISO88597":   "ISO_IR 126",
	"ISO88598":   "ISO_IR 138",
	"ISO88599":   "ISO_IR 148",
	"ISO885911":  "ISO_IR 166",
	"ISO885915":  "ISO_IR 203",
}

// canonicalTerm returns the Defined Term that a misspelled term most likely
// means, or "" when it cannot tell.
func canonicalTerm(t string) string {
	u := strings.ToUpper(strings.TrimSpace(t))
	if _, ok := terms[u]; ok {
		return u
	}
	key := strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' || r == '-' || r == '.' {
			return -1
		}
		return r
	}, u)
	if a, ok := aliases[key]; ok {
		return a
	}
	try := func(prefix, term string) string {
		if n, ok := strings.CutPrefix(key, prefix); ok {
			if _, err := strconv.Atoi(n); err == nil {
				if _, known := terms[term+n]; known {
					return term + n
				}
			}
		}
		return ""
	}
	for _, p := range [][2]string{
		{"ISO2022IR", "ISO 2022 IR "},
		{"ISO2022", "ISO 2022 IR "},
		{"ISOIR", "ISO_IR "},
		{"IR", "ISO_IR "},
	} {
		if c := try(p[0], p[1]); c != "" {
			return c
		}
	}
	return ""
}

// extended returns the "ISO 2022 IR n" form of a single-byte term
// "ISO_IR n", or "" when it has none.
func extended(term string) string {
	if n, ok := strings.CutPrefix(term, "ISO_IR "); ok {
		if _, known := terms["ISO 2022 IR "+n]; known {
			return "ISO 2022 IR " + n
		}
	}
	return ""
}
