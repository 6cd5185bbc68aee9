package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// String returns the value of t as text: strings decoded through the data set's Specific
// Character Set with padding removed (all values, backslashes kept), numbers formatted and
// joined with backslashes. Absent elements, sequences and bulk data give "".
func (ds *Dataset) String(t tag.Tag) string {
	e := ds.Element(t)
	if e == nil {
		return ""
	}
	return ds.ElementString(e)
}

// ElementString returns e's value as text, decoded with ds's character set (see String).
func (ds *Dataset) ElementString(e *Element) string {
	if e.Value == nil {
		return ""
	}
	v := e.ValueVR()
	if v.IsString() {
		s, err := ds.decode(e.Value, v)
		if err != nil {
			// Keep going with what the bytes say in Latin-1, the most common 8-bit set.
			s = latin1(e.Value)
		}
		return trimValue(s, v)
	}
	return formatBinary(e.Value, v)
}

// Strings returns the values of t (split at backslashes for multi-valued VRs), decoded and
// trimmed as by String.
func (ds *Dataset) Strings(t tag.Tag) []string {
	e := ds.Element(t)
	if e == nil || e.Value == nil {
		return nil
	}
	return ds.ElementStrings(e)
}

// ElementStrings returns e's values, decoded with ds's character set.
func (ds *Dataset) ElementStrings(e *Element) []string {
	v := e.ValueVR()
	if !v.IsString() {
		return binaryStrings(e.Value, v)
	}
	s, err := ds.decode(e.Value, v)
	if err != nil {
		s = latin1(e.Value)
	}
	if !v.MultiValued() {
		return []string{trimValue(s, v)}
	}
	s = strings.TrimRight(s, " \x00")
	if s == "" {
		return nil
	}
	parts := strings.Split(s, `\`)
	for i, p := range parts {
		parts[i] = trimValue(p, v)
	}
	return parts
}

// Int returns the first value of t as an integer, for the binary integer VRs and IS (also DS
// values that are whole numbers).
func (ds *Dataset) Int(t tag.Tag) (int64, bool) {
	vals := ds.Ints(t)
	if len(vals) == 0 {
		return 0, false
	}
	return vals[0], true
}

// Ints returns every value of t as an integer; values that do not parse are skipped.
func (ds *Dataset) Ints(t tag.Tag) []int64 {
	e := ds.Element(t)
	if e == nil || e.Value == nil {
		return nil
	}
	v := e.ValueVR()
	switch v {
	case vr.US, vr.SS, vr.UL, vr.SL, vr.SV, vr.UV, vr.OW, vr.OL, vr.OV:
		return binaryInts(e.Value, v)
	case vr.IS, vr.DS:
		var out []int64
		for _, s := range ds.ElementStrings(e) {
			if n, err := ParseIS(s); err == nil {
				out = append(out, n)
			} else if f, err := ParseDS(s); err == nil && f == math.Trunc(f) {
				out = append(out, int64(f))
			}
		}
		return out
	}
	return nil
}

// Float returns the first value of t as a float, for FL, FD, DS, IS and the integer VRs.
func (ds *Dataset) Float(t tag.Tag) (float64, bool) {
	vals := ds.Floats(t)
	if len(vals) == 0 {
		return 0, false
	}
	return vals[0], true
}

// Floats returns every value of t as a float; values that do not parse are skipped.
func (ds *Dataset) Floats(t tag.Tag) []float64 {
	e := ds.Element(t)
	if e == nil || e.Value == nil {
		return nil
	}
	v := e.ValueVR()
	switch v {
	case vr.FL, vr.OF:
		out := make([]float64, 0, len(e.Value)/4)
		for i := 0; i+4 <= len(e.Value); i += 4 {
			out = append(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(e.Value[i:]))))
		}
		return out
	case vr.FD, vr.OD:
		out := make([]float64, 0, len(e.Value)/8)
		for i := 0; i+8 <= len(e.Value); i += 8 {
			out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(e.Value[i:])))
		}
		return out
	case vr.DS, vr.IS:
		var out []float64
		for _, s := range ds.ElementStrings(e) {
			if f, err := ParseDS(s); err == nil {
				out = append(out, f)
			}
		}
		return out
	}
	ints := ds.Ints(t)
	out := make([]float64, len(ints))
	for i, n := range ints {
		out[i] = float64(n)
	}
	return out
}

// Sequence returns the items of sequence t, or nil.
func (ds *Dataset) Sequence(t tag.Tag) []*Dataset {
	if e := ds.Element(t); e != nil {
		return e.Items
	}
	return nil
}

// SetString sets t to the given string values, encoded in ds's character set and padded to even
// length. For (0008,0005) the new character set applies to values set afterwards.
func (ds *Dataset) SetString(t tag.Tag, v vr.VR, values ...string) error {
	s := strings.Join(values, `\`)
	b, err := ds.encode(s, v)
	if err != nil {
		return fmt.Errorf("set %s: %w", t, err)
	}
	if len(b)%2 == 1 {
		b = append(b, v.Padding())
	}
	ds.Set(NewElement(t, v, b))
	return nil
}

// SetInts sets t to binary integer values of VR v (US, SS, UL, SL, SV, UV) or IS.
func (ds *Dataset) SetInts(t tag.Tag, v vr.VR, values ...int64) error {
	if v == vr.IS {
		parts := make([]string, len(values))
		for i, n := range values {
			parts[i] = strconv.FormatInt(n, 10)
		}
		return ds.SetString(t, v, parts...)
	}
	w := v.FixedWidth()
	if w == 0 || v == vr.AT || v == vr.FL || v == vr.FD {
		return fmt.Errorf("set %s: VR %s does not hold integers", t, v)
	}
	b := make([]byte, 0, w*len(values))
	for _, n := range values {
		switch w {
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(n))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(n))
		case 8:
			b = binary.LittleEndian.AppendUint64(b, uint64(n))
		}
	}
	ds.Set(NewElement(t, v, b))
	return nil
}

// SetFloats sets t to FL, FD or DS values.
func (ds *Dataset) SetFloats(t tag.Tag, v vr.VR, values ...float64) error {
	switch v {
	case vr.FL:
		b := make([]byte, 0, 4*len(values))
		for _, f := range values {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(f)))
		}
		ds.Set(NewElement(t, v, b))
	case vr.FD:
		b := make([]byte, 0, 8*len(values))
		for _, f := range values {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		}
		ds.Set(NewElement(t, v, b))
	case vr.DS:
		parts := make([]string, len(values))
		for i, f := range values {
			parts[i] = FormatDS(f)
		}
		return ds.SetString(t, v, parts...)
	default:
		return fmt.Errorf("set %s: VR %s does not hold floats", t, v)
	}
	return nil
}

// trimValue removes the padding PS3.5 6.2 calls insignificant: trailing spaces (and NULs) for
// every string VR, leading spaces too where the VR says so.
func trimValue(s string, v vr.VR) string {
	switch v {
	case vr.UI:
		return strings.TrimRight(s, "\x00 ")
	case vr.AE, vr.AS, vr.CS, vr.DA, vr.DS, vr.DT, vr.IS, vr.TM:
		return strings.Trim(s, " \x00")
	case vr.UT, vr.ST, vr.LT, vr.UR:
		return strings.TrimRight(s, " \x00")
	}
	return strings.TrimRight(s, " \x00")
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func binaryInts(b []byte, v vr.VR) []int64 {
	switch v {
	case vr.US, vr.OW:
		out := make([]int64, 0, len(b)/2)
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, int64(binary.LittleEndian.Uint16(b[i:])))
		}
		return out
	case vr.SS:
		out := make([]int64, 0, len(b)/2)
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, int64(int16(binary.LittleEndian.Uint16(b[i:]))))
		}
		return out
	case vr.UL, vr.OL:
		out := make([]int64, 0, len(b)/4)
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, int64(binary.LittleEndian.Uint32(b[i:])))
		}
		return out
	case vr.SL:
		out := make([]int64, 0, len(b)/4)
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, int64(int32(binary.LittleEndian.Uint32(b[i:]))))
		}
		return out
	case vr.SV, vr.UV, vr.OV:
		out := make([]int64, 0, len(b)/8)
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, int64(binary.LittleEndian.Uint64(b[i:])))
		}
		return out
	}
	return nil
}

// binaryStrings formats each value of a binary VR.
func binaryStrings(b []byte, v vr.VR) []string {
	switch v {
	case vr.AT:
		out := make([]string, 0, len(b)/4)
		for i := 0; i+4 <= len(b); i += 4 {
			t := tag.New(binary.LittleEndian.Uint16(b[i:]), binary.LittleEndian.Uint16(b[i+2:]))
			out = append(out, fmt.Sprintf("%04X%04X", t.Group(), t.Element()))
		}
		return out
	case vr.FL, vr.OF:
		out := make([]string, 0, len(b)/4)
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, strconv.FormatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))), 'g', -1, 32))
		}
		return out
	case vr.FD, vr.OD:
		out := make([]string, 0, len(b)/8)
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(b[i:])), 'g', -1, 64))
		}
		return out
	case vr.UV:
		out := make([]string, 0, len(b)/8)
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, strconv.FormatUint(binary.LittleEndian.Uint64(b[i:]), 10))
		}
		return out
	}
	ints := binaryInts(b, v)
	if ints == nil {
		return nil
	}
	out := make([]string, len(ints))
	for i, n := range ints {
		out[i] = strconv.FormatInt(n, 10)
	}
	return out
}

func formatBinary(b []byte, v vr.VR) string {
	return strings.Join(binaryStrings(b, v), `\`)
}
