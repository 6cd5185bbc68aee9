package charset

import (
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// EncodeText encodes a value of VR SH, LO or UC (Kind Text).
func (s *Set) EncodeText(str string) ([]byte, error) { return s.Encode(str, Text) }

// EncodePN encodes a value of VR PN.
func (s *Set) EncodePN(str string) ([]byte, error) { return s.Encode(str, PN) }

// Encode encodes a UTF-8 string (a whole Value Field: all values with their
// "\" delimiters) in the set's own encoding. It adds no padding.
//
// For sets with code extensions it starts from the initial designations
// (those of value 1) and, for each character the current G0 and G1 cannot
// represent, designates the first code element in term order that can,
// emitting its escape sequence. Before every delimiter of kind k (see
// [Kind]) and at the end of the value it designates the initial G0 set
// again, and after the delimiter both designations are back to their
// initial state, as PS3.5 6.1.2.5.3 requires; this reproduces the examples
// of PS3.5 Annexes H, I and K.
//
// A string of bytes below 0x80 without ESC is returned as []byte(str).
// A character the set cannot represent, ESC in a set that uses escape
// sequences, C1 control characters outside UTF-8, GB18030 and GBK, and
// invalid UTF-8 yield an *EncodeError.
func (s *Set) Encode(str string, k Kind) ([]byte, error) {
	if plainString(str) {
		return []byte(str), nil
	}
	switch s.kind {
	case kindUTF8:
		if !utf8.ValidString(str) {
			return nil, s.invalidUTF8(str)
		}
		return []byte(str), nil
	case kindGB18030:
		return s.encodeGB(str, simplifiedchinese.GB18030)
	case kindGBK:
		return s.encodeGB(str, simplifiedchinese.GBK)
	}
	return s.encode2022(str, k)
}

func (s *Set) invalidUTF8(str string) error {
	for i, r := range str {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(str[i:]); n == 1 {
				return &EncodeError{Set: s.name, Rune: r, Offset: i, Reason: "invalid UTF-8"}
			}
		}
	}
	return nil
}

func (s *Set) encodeGB(str string, enc encoding.Encoding) ([]byte, error) {
	if !utf8.ValidString(str) {
		return nil, s.invalidUTF8(str)
	}
	out, err := enc.NewEncoder().Bytes([]byte(str))
	if err == nil {
		return out, nil
	}
	// Find the character at fault.
	e := enc.NewEncoder()
	var buf [utf8.UTFMax]byte
	for i, r := range str {
		n := utf8.EncodeRune(buf[:], r)
		if _, rerr := e.Bytes(buf[:n]); rerr != nil {
			return nil, &EncodeError{Set: s.name, Rune: r, Offset: i, Err: rerr}
		}
	}
	return nil, &EncodeError{Set: s.name, Rune: utf8.RuneError, Offset: 0, Reason: "encoder failed", Err: err}
}

// encode2022 is the inverse of decode2022.
func (s *Set) encode2022(str string, k Kind) ([]byte, error) {
	out := make([]byte, 0, len(str)+len(str)/2+8)
	g0, g1 := s.g0, s.g1
	for i, r := range str {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(str[i:]); n == 1 {
				return nil, &EncodeError{Set: s.name, Rune: r, Offset: i, Reason: "invalid UTF-8"}
			}
			return nil, &EncodeError{Set: s.name, Rune: r, Offset: i}
		case r == esc:
			return nil, &EncodeError{Set: s.name, Rune: r, Offset: i, Reason: "ESC would start an escape sequence"}
		case r < 0x80:
			// ISO-IR 6 (or ISO-IR 14) in G0 before any single-byte character,
			// delimiter or control character.
			if g0 != s.g0 {
				out = append(out, elements[s.g0].esc...)
				g0 = s.g0
			}
			out = append(out, byte(r))
			if r < 0x20 || k.delimiter(byte(r)) {
				g0, g1 = s.g0, s.g1
			}
		case r < 0xA0:
			return nil, &EncodeError{Set: s.name, Rune: r, Offset: i, Reason: "C1 control character"}
		default:
			var ok bool
			if g1 != elemNone {
				if out, ok = encodeIn(out, g1, r); ok {
					continue
				}
			}
			if elements[g0].width == 2 {
				if out, ok = encodeIn(out, g0, r); ok {
					continue
				}
			}
			for _, id := range s.order {
				if id == g0 || id == g1 || elements[id].width == 1 && !elements[id].g1 {
					continue
				}
				if !s.ext && id != s.g1 {
					continue
				}
				n := len(out)
				out = append(out, elements[id].esc...)
				if out, ok = encodeIn(out, id, r); ok {
					if elements[id].g1 {
						g1 = id
					} else {
						g0 = id
					}
					break
				}
				out = out[:n]
			}
			if !ok {
				return nil, &EncodeError{Set: s.name, Rune: r, Offset: i}
			}
		}
	}
	if g0 != s.g0 {
		out = append(out, elements[s.g0].esc...)
	}
	return out, nil
}
