package charset

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

const esc = 0x1B

// DecodeText decodes a value of VR SH, LO or UC (Kind Text) to UTF-8.
func (s *Set) DecodeText(b []byte) (string, error) { return s.Decode(b, Text) }

// DecodePN decodes a value of VR PN to UTF-8.
func (s *Set) DecodePN(b []byte) (string, error) { return s.Decode(b, PN) }

// Decode decodes a whole Value Field (all values, with their "\"
// delimiters and any padding) to UTF-8. k selects the delimiters at which
// code extensions end; see [KindForVR].
//
// Bytes below 0x80 other than ESC decode to themselves in every set, so such
// a value is returned as string(b) with no further work.
//
// On error the string is still a best-effort decoding; the error is a
// *DecodeError that reports the first problem.
func (s *Set) Decode(b []byte, k Kind) (string, error) {
	if plainBytes(b) {
		return string(b), nil
	}
	switch s.kind {
	case kindUTF8:
		if utf8.Valid(b) {
			return string(b), nil
		}
		return s.decodeInvalidUTF8(b)
	case kindGB18030:
		return s.decodeGB(b, simplifiedchinese.GB18030, true)
	case kindGBK:
		return s.decodeGB(b, simplifiedchinese.GBK, false)
	}
	return s.decode2022(b, k)
}

// plainBytes reports whether b holds only bytes below 0x80 and no ESC.
func plainBytes(b []byte) bool {
	for len(b) >= 8 {
		if !plainWord(binary.LittleEndian.Uint64(b)) {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 || c == esc {
			return false
		}
	}
	return true
}

// plainString is plainBytes for a string.
func plainString(s string) bool {
	for len(s) >= 8 {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		if !plainWord(v) {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == esc {
			return false
		}
	}
	return true
}

// plainWord reports whether none of the eight bytes of v is 0x80 or more or
// ESC.
func plainWord(v uint64) bool {
	const hi, lo = 0x8080808080808080, 0x0101010101010101
	if v&hi != 0 {
		return false
	}
	x := v ^ (esc * lo) // a byte equal to ESC becomes zero
	return (x-lo)&^x&hi == 0
}

func (s *Set) decodeInvalidUTF8(b []byte) (string, error) {
	var err error
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			if err == nil {
				err = &DecodeError{Set: s.name, Offset: i, Reason: fmt.Sprintf("invalid UTF-8 byte 0x%02X", b[i])}
			}
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return string(out), err
}

// gbReplacement is U+FFFD in GB18030, which may legitimately appear.
const gbReplacement = "\x84\x31\xA4\x37"

func (s *Set) decodeGB(b []byte, enc encoding.Encoding, gb18030 bool) (string, error) {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return string(out), &DecodeError{Set: s.name, Offset: 0, Reason: "decoder failed", Err: err}
	}
	// x/text replaces invalid sequences with U+FFFD instead of failing;
	// find the first such sequence by walking the byte structure.
	if !containsRuneError(out) {
		return string(out), nil
	}
	dec := enc.NewDecoder()
	for i := 0; i < len(b); {
		n := gbLen(b[i:], gb18030)
		unit := b[i : i+n]
		got, _ := dec.Bytes(unit)
		if string(got) == "\uFFFD" && string(unit) != gbReplacement {
			return string(out), &DecodeError{Set: s.name, Offset: i,
				Reason: fmt.Sprintf("invalid byte sequence % X", unit)}
		}
		i += n
	}
	return string(out), nil
}

func containsRuneError(b []byte) bool {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError {
			return true
		}
		i += n
	}
	return false
}

// gbLen returns the length of the GBK or GB18030 character starting b, as
// far as the byte structure tells: 1, 2 or 4.
func gbLen(b []byte, gb18030 bool) int {
	c := b[0]
	if c < 0x81 || c == 0xFF || len(b) < 2 {
		return 1
	}
	c1 := b[1]
	if gb18030 && c1 >= 0x30 && c1 <= 0x39 {
		if len(b) >= 4 && b[2] >= 0x81 && b[2] <= 0xFE && b[3] >= 0x30 && b[3] <= 0x39 {
			return 4
		}
		return 1
	}
	if c1 >= 0x40 && c1 != 0x7F && c1 != 0xFF {
		return 2
	}
	return 1
}

// decode2022 runs the ISO/IEC 2022 state machine of PS3.5 6.1.2.5.
func (s *Set) decode2022(b []byte, k Kind) (string, error) {
	out := make([]byte, 0, len(b)+len(b)/2)
	g0, g1 := s.g0, s.g1
	var first *DecodeError
	fail := func(off int, format string, args ...any) {
		if first == nil {
			first = &DecodeError{Set: s.name, Offset: off, Reason: fmt.Sprintf(format, args...)}
		}
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == esc:
			id, n, complete := parseEscape(b[i:])
			switch {
			case !complete:
				fail(i, "incomplete escape sequence % X", b[i:i+n])
				out = append(out, "\uFFFD"...)
			case id == elemNone:
				fail(i, "unknown escape sequence % X", b[i:i+n])
				out = append(out, "\uFFFD"...)
			default:
				if !s.ext {
					fail(i, "escape sequence for %s, but %s does not permit code extensions", elements[id].name, describe(s.name))
				} else if s.allowed&(1<<id) == 0 {
					fail(i, "escape sequence for %s, which %s does not name", elements[id].name, describe(s.name))
				}
				if elements[id].g1 {
					g1 = id
				} else {
					g0 = id
				}
			}
			i += n
		case c < 0x20:
			// Control characters always end a code extension.
			out = append(out, c)
			g0, g1 = s.g0, s.g1
			i++
		case c == 0x20 || c == 0x7F:
			// SPACE and DELETE are never part of a 94-character set.
			out = append(out, c)
			i++
		case c < 0x80:
			if elements[g0].width == 1 {
				if k.delimiter(c) {
					out = append(out, c)
					g0, g1 = s.g0, s.g1
					i++
					continue
				}
				// Copy the run of graphic characters up to the next byte
				// that needs attention.
				j := i + 1
				for j < len(b) && b[j] > 0x20 && b[j] < 0x7F && !k.delimiter(b[j]) {
					j++
				}
				out = append(out, b[i:j]...)
				i = j
				continue
			}
			if i+1 < len(b) && b[i+1] >= 0x21 && b[i+1] <= 0x7E {
				r, ok := elements[g0].table().decode(c, b[i+1])
				if !ok {
					fail(i, "% X is not a character of %s", b[i:i+2], elements[g0].name)
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
				i += 2
				continue
			}
			fail(i, "incomplete two-byte character of %s", elements[g0].name)
			out = append(out, "\uFFFD"...)
			i++
		default:
			id := g1
			if c < 0xA0 {
				fail(i, "C1 control byte 0x%02X", c)
				out = utf8.AppendRune(out, rune(c))
				i++
				continue
			}
			if id == elemNone {
				if s.fallback == elemNone {
					fail(i, "byte 0x%02X is outside the default repertoire; read as ISO 8859-1", c)
					out = utf8.AppendRune(out, rune(c))
					i++
					continue
				}
				fail(i, "byte 0x%02X but no character set is designated to G1; read as %s", c, elements[s.fallback].name)
				id = s.fallback
			}
			e := &elements[id]
			if e.width == 1 {
				r, ok := decodeG1Byte(id, c)
				if !ok {
					fail(i, "byte 0x%02X is not a character of %s", c, e.name)
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
				i++
				continue
			}
			if c >= 0xA1 && c <= 0xFE && i+1 < len(b) && b[i+1] >= 0xA1 && b[i+1] <= 0xFE {
				r, ok := e.table().decode(c, b[i+1])
				if !ok {
					fail(i, "% X is not a character of %s", b[i:i+2], e.name)
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
				i += 2
				continue
			}
			fail(i, "incomplete or invalid two-byte character of %s", e.name)
			out = append(out, "\uFFFD"...)
			i++
		}
	}
	if first != nil {
		return ownedString(out), first
	}
	return ownedString(out), nil
}

// ownedString returns b as a string without copying. The caller must not use
// b afterwards; decode2022 builds b locally and drops it.
func ownedString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
