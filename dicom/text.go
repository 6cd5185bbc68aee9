package dicom

import (
	"fmt"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom/charset"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// charsetTerms returns the Specific Character Set in force for ds: its own (0008,0005), or its
// parent's for an item without one (PS3.5 7.5.3).
func (ds *Dataset) charsetTerms() []string {
	for d := ds; d != nil; d = d.parent {
		if e := d.Element(tag.SpecificCharacterSet); e != nil {
			return splitTerms(e.Value)
		}
	}
	return nil
}

func splitTerms(b []byte) []string {
	var out []string
	start := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '\\' {
			out = append(out, trimSpaceNul(string(b[start:i])))
			start = i + 1
		}
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func trimSpaceNul(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == 0) {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == 0) {
		j--
	}
	return s[i:j]
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0x1B {
			return false
		}
	}
	return true
}

// decode turns a string value into UTF-8.
func (ds *Dataset) decode(b []byte, v vr.VR) (string, error) {
	if isASCII(b) || !v.IsText() {
		return string(b), nil
	}
	terms := ds.charsetTerms()
	return decodeText(terms, b, v)
}

// encode turns UTF-8 into the data set's character set.
func (ds *Dataset) encode(s string, v vr.VR) ([]byte, error) {
	if isASCII([]byte(s)) || !v.IsText() {
		return []byte(s), nil
	}
	return encodeText(ds.charsetTerms(), s, v)
}

func charsetOf(terms []string) *charset.Set {
	cs, _ := charset.Lenient(terms)
	return cs
}

func decodeText(terms []string, b []byte, v vr.VR) (string, error) {
	if len(terms) == 0 && utf8.Valid(b) {
		// No Specific Character Set, yet bytes beyond ASCII: UTF-8 is the common mistake.
		return string(b), nil
	}
	return charsetOf(terms).Decode(b, charset.KindForVR(v.String()))
}

func encodeText(terms []string, s string, v vr.VR) ([]byte, error) {
	cs := charsetOf(terms)
	if cs.IsDefault() {
		return nil, fmt.Errorf("%q needs a Specific Character Set (0008,0005): set it first, e.g. to ISO_IR 192", s)
	}
	return cs.Encode(s, charset.KindForVR(v.String()))
}
