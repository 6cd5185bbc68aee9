package dicomjson

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// DefaultBulkThreshold is the BulkThreshold used when Options.BulkThreshold is 0.
const DefaultBulkThreshold = 1024

// maxEncodeDepth bounds sequence nesting when encoding, so that an item that contains itself
// ends in an error rather than in a stack overflow.
const maxEncodeDepth = 1000

// Options control encoding. The zero value writes every value in memory inline and leaves out
// values that are not in memory (bulk data left in the source, encapsulated Pixel Data).
type Options struct {
	// BulkDataURI, when set, returns the URI written as "BulkDataURI" (F.2.6) for: a value of VR
	// OB, OD, OF, OL, OV, OW or UN longer than BulkThreshold; a value left in the source
	// (Element.Bulk); encapsulated Pixel Data. path lists the sequence items enclosing e. Both are
	// only valid during the call. Returning "" writes an in-memory value inline and leaves out the
	// attribute otherwise.
	BulkDataURI func(path Path, e *dicom.Element) string
	// BulkThreshold is the length in bytes above which values of the bulk VRs are referenced
	// through BulkDataURI: 0 selects DefaultBulkThreshold, a negative value references every
	// non-empty value. It has no effect without BulkDataURI.
	BulkThreshold int
	// GroupLengths keeps group length elements (gggg,0000), which F.2.2 leaves out.
	GroupLengths bool
}

// PathStep is one level of nesting: a sequence's tag and the index of the item, from 0.
type PathStep struct {
	Tag  tag.Tag
	Item int
}

// Path lists the sequence items that enclose an element, outermost first; it is empty for an
// element of the top-level data set.
type Path []PathStep

// String formats p as "00081115[0].00081199[2]", or "" for the top level.
func (p Path) String() string {
	var b []byte
	for i, s := range p {
		if i > 0 {
			b = append(b, '.')
		}
		b = appendHexTag(b, s.Tag)
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(s.Item), 10)
		b = append(b, ']')
	}
	return string(b)
}

// Append appends the JSON object for ds to dst.
func Append(dst []byte, ds *dicom.Dataset, opts Options) ([]byte, error) {
	e := newEncoder(opts)
	e.buf = dst
	err := e.dataset(ds, 0)
	return e.buf, err
}

// Marshal returns the JSON object for ds.
func Marshal(ds *dicom.Dataset, opts Options) ([]byte, error) {
	return Append(make([]byte, 0, 256+64*len(ds.Elements)), ds, opts)
}

// Encode writes the JSON object for ds to w.
func Encode(w io.Writer, ds *dicom.Dataset, opts Options) error {
	b, err := Marshal(ds, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("dicomjson: write: %w", err)
	}
	return nil
}

// EncodeArray writes a JSON array holding the object of each data set.
func EncodeArray(w io.Writer, dss []*dicom.Dataset, opts Options) error {
	aw := NewArrayWriter(w, opts)
	for _, ds := range dss {
		if err := aw.Write(ds); err != nil {
			return err
		}
	}
	return aw.Close()
}

// ArrayWriter streams a JSON array of data sets: each Write encodes one data set and writes it
// out, so that a response of many data sets never needs them all in memory. Close ends the array.
// The buffer is reused from one data set to the next.
type ArrayWriter struct {
	w      io.Writer
	e      encoder
	n      int
	closed bool
}

// NewArrayWriter returns an ArrayWriter writing to w.
func NewArrayWriter(w io.Writer, opts Options) *ArrayWriter {
	return &ArrayWriter{w: w, e: newEncoder(opts)}
}

// Write appends the object for ds to the array.
func (a *ArrayWriter) Write(ds *dicom.Dataset) error {
	if a.closed {
		return fmt.Errorf("dicomjson: write after Close")
	}
	a.e.buf = a.e.buf[:0]
	if a.n == 0 {
		a.e.buf = append(a.e.buf, '[')
	} else {
		a.e.buf = append(a.e.buf, ',')
	}
	if err := a.e.dataset(ds, 0); err != nil {
		return err
	}
	a.n++
	if _, err := a.w.Write(a.e.buf); err != nil {
		return fmt.Errorf("dicomjson: write: %w", err)
	}
	return nil
}

// Count returns the number of data sets written.
func (a *ArrayWriter) Count() int { return a.n }

// Close ends the array ("[]" when no data set was written). It does not close the writer.
func (a *ArrayWriter) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	end := "]"
	if a.n == 0 {
		end = "[]"
	}
	if _, err := io.WriteString(a.w, end); err != nil {
		return fmt.Errorf("dicomjson: write: %w", err)
	}
	return nil
}

type encoder struct {
	buf       []byte
	opts      Options
	threshold int
	path      Path
}

func newEncoder(opts Options) encoder {
	e := encoder{opts: opts, threshold: opts.BulkThreshold}
	if e.threshold == 0 {
		e.threshold = DefaultBulkThreshold
	}
	return e
}

const hexDigits = "0123456789ABCDEF"

func appendHexTag(b []byte, t tag.Tag) []byte {
	return append(b, hexDigits[t>>28&0xF], hexDigits[t>>24&0xF], hexDigits[t>>20&0xF], hexDigits[t>>16&0xF],
		hexDigits[t>>12&0xF], hexDigits[t>>8&0xF], hexDigits[t>>4&0xF], hexDigits[t&0xF])
}

func (e *encoder) dataset(ds *dicom.Dataset, depth int) error {
	if depth > maxEncodeDepth {
		return fmt.Errorf("dicomjson: %s: sequences nested deeper than %d", e.path, maxEncodeDepth)
	}
	e.buf = append(e.buf, '{')
	first := true
	for i := range ds.Elements {
		el := &ds.Elements[i]
		if el.Tag.IsGroupLength() && !e.opts.GroupLengths {
			continue
		}
		mark := len(e.buf)
		if !first {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '"')
		e.buf = appendHexTag(e.buf, el.Tag)
		e.buf = append(e.buf, `":{"vr":"`...)
		ok, err := e.element(ds, el, depth)
		if err != nil {
			return err
		}
		if !ok {
			e.buf = e.buf[:mark]
			continue
		}
		e.buf = append(e.buf, '}')
		first = false
	}
	e.buf = append(e.buf, '}')
	return nil
}

// appendVR writes the VR and the closing quote of "vr".
func (e *encoder) appendVR(v vr.VR) {
	e.buf = append(e.buf, byte(v>>8), byte(v), '"')
}

// uriCapable reports whether F.2.2 allows a BulkDataURI for v.
func uriCapable(v vr.VR) bool {
	switch v {
	case vr.DS, vr.FL, vr.FD, vr.IS, vr.LT, vr.OB, vr.OD, vr.OF, vr.OL, vr.OV, vr.OW, vr.SL, vr.SS,
		vr.ST, vr.SV, vr.UC, vr.UL, vr.UN, vr.US, vr.UT, vr.UV:
		return true
	}
	return false
}

func (e *encoder) uri(el *dicom.Element) string {
	if e.opts.BulkDataURI == nil {
		return ""
	}
	return e.opts.BulkDataURI(e.path, el)
}

func (e *encoder) appendURI(uri string) {
	e.buf = append(e.buf, `,"BulkDataURI":`...)
	e.buf = appendString(e.buf, uri)
}

// element writes the rest of the attribute object after `"vr":"`, without the closing brace. It
// returns false when the attribute is to be left out.
func (e *encoder) element(ds *dicom.Dataset, el *dicom.Element, depth int) (bool, error) {
	v := el.VR
	switch {
	case el.Fragments != nil:
		uri := e.uri(el)
		if uri == "" {
			return false, nil
		}
		if v != vr.OB && v != vr.OW {
			v = vr.OB
		}
		e.appendVR(v)
		e.appendURI(uri)
		return true, nil
	case el.Items != nil || v == vr.SQ:
		e.appendVR(vr.SQ)
		if len(el.Items) == 0 {
			return true, nil
		}
		e.buf = append(e.buf, `,"Value":[`...)
		e.path = append(e.path, PathStep{Tag: el.Tag})
		for i, it := range el.Items {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.path[len(e.path)-1].Item = i
			if it == nil {
				e.buf = append(e.buf, '{', '}')
				continue
			}
			if err := e.dataset(it, depth+1); err != nil {
				return false, err
			}
		}
		e.path = e.path[:len(e.path)-1]
		e.buf = append(e.buf, ']')
		return true, nil
	case el.Bulk:
		if !uriCapable(v) {
			return false, nil
		}
		uri := e.uri(el)
		if uri == "" {
			return false, nil
		}
		e.appendVR(v)
		e.appendURI(uri)
		return true, nil
	case !v.Valid():
		v = vr.UN
		fallthrough
	case v.IsBulk():
		e.appendVR(v)
		if len(el.Value) == 0 {
			return true, nil
		}
		if len(el.Value) > e.threshold || e.threshold < 0 {
			if uri := e.uri(el); uri != "" {
				e.appendURI(uri)
				return true, nil
			}
		}
		e.buf = append(e.buf, `,"InlineBinary":"`...)
		val := el.Value
		if len(val)%2 == 1 {
			// The Value Field is of even length: write the padding a Part 10 writer adds.
			val = append(val[:len(val):len(val)], 0)
		}
		e.buf = base64.StdEncoding.AppendEncode(e.buf, val)
		e.buf = append(e.buf, '"')
		return true, nil
	}
	e.appendVR(v)
	if len(el.Value) == 0 {
		return true, nil
	}
	mark := len(e.buf)
	e.buf = append(e.buf, `,"Value":[`...)
	var n int
	if v.IsString() {
		n = e.strings(ds, el, v)
	} else {
		n = e.binary(el.Value, v)
	}
	if n == 0 {
		// Only padding or empty values: an attribute without a value (F.2.5).
		e.buf = e.buf[:mark]
		return true, nil
	}
	e.buf = append(e.buf, ']')
	return true, nil
}

// isPlainASCII reports whether b needs no character set decoding: 7-bit, no ESC.
func isPlainASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0x1B {
			return false
		}
	}
	return true
}

// trimValue removes the padding of one value as package dicom does for ElementStrings.
func trimValue(b []byte, v vr.VR) []byte {
	i, j := 0, len(b)
	for j > i && (b[j-1] == ' ' || b[j-1] == 0) {
		j--
	}
	switch v {
	case vr.AE, vr.AS, vr.CS, vr.DA, vr.DS, vr.DT, vr.IS, vr.TM:
		for i < j && (b[i] == ' ' || b[i] == 0) {
			i++
		}
	}
	return b[i:j]
}

// strings writes the values of a string VR and returns how many are non-empty.
func (e *encoder) strings(ds *dicom.Dataset, el *dicom.Element, v vr.VR) int {
	b := el.Value
	if !isPlainASCII(b) {
		vals := ds.ElementStrings(el)
		n := 0
		for i, s := range vals {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if e.appendValue(s, v) {
				n++
			}
		}
		return n
	}
	if !v.MultiValued() {
		if e.appendValue(string(trimValue(b, v)), v) {
			return 1
		}
		return 0
	}
	j := len(b)
	for j > 0 && (b[j-1] == ' ' || b[j-1] == 0) {
		j--
	}
	b = b[:j]
	if len(b) == 0 {
		return 0
	}
	n := 0
	for first := true; ; first = false {
		if !first {
			e.buf = append(e.buf, ',')
		}
		k := 0
		for k < len(b) && b[k] != '\\' {
			k++
		}
		if e.appendValueBytes(trimValue(b[:k], v), v) {
			n++
		}
		if k == len(b) {
			break
		}
		b = b[k+1:]
	}
	return n
}

// appendValue writes one string value (null when empty) and reports whether it was non-empty.
func (e *encoder) appendValue(s string, v vr.VR) bool {
	var ok bool
	e.buf, ok = appendValue(e.buf, s, v)
	return ok
}

func (e *encoder) appendValueBytes(s []byte, v vr.VR) bool {
	var ok bool
	e.buf, ok = appendValue(e.buf, s, v)
	return ok
}

func appendValue[S []byte | string](buf []byte, s S, v vr.VR) ([]byte, bool) {
	if len(s) == 0 {
		return append(buf, "null"...), false
	}
	switch v {
	case vr.PN:
		for i := 0; i < len(s); i++ {
			if c := s[i]; c != '=' && c != '^' && c != ' ' {
				return appendPN(buf, s), true
			}
		}
		return append(buf, "null"...), false
	case vr.IS, vr.DS:
		if isJSONNumber(s) {
			return append(buf, s...), true
		}
	}
	return appendString(buf, s), true
}

// appendPN writes a Person Name as an object of its non-empty component groups (F.2.2).
func appendPN[S []byte | string](buf []byte, s S) []byte {
	buf = append(buf, '{')
	names := [3]string{"Alphabetic", "Ideographic", "Phonetic"}
	n := 0
	for g := 0; g < 3; g++ {
		k := len(s)
		if g < 2 {
			k = 0
			for k < len(s) && s[k] != '=' {
				k++
			}
		}
		if !emptyGroup(s[:k]) {
			if n > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '"')
			buf = append(buf, names[g]...)
			buf = append(buf, '"', ':')
			buf = appendString(buf, s[:k])
			n++
		}
		if k >= len(s) {
			break
		}
		s = s[k+1:]
	}
	return append(buf, '}')
}

// emptyGroup reports whether a Person Name component group has no non-empty component.
func emptyGroup[S []byte | string](g S) bool {
	for i := 0; i < len(g); i++ {
		if g[i] != '^' && g[i] != ' ' {
			return false
		}
	}
	return true
}

// isJSONNumber reports whether s is a number in the grammar of RFC 8259 section 6.
func isJSONNumber[S []byte | string](s S) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i == len(s) {
		return false
	}
	switch {
	case s[i] == '0':
		i++
	case s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// appendString writes s as a JSON string. Control characters are escaped; bytes that are not
// UTF-8 become U+FFFD, so that the output is always valid JSON.
func appendString[S []byte | string](buf []byte, s S) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		end := min(i+utf8.UTFMax, len(s))
		r, size := utf8.DecodeRuneInString(string(s[i:end]))
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, "\\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// binary writes the values of a binary VR and returns how many there are.
func (e *encoder) binary(b []byte, v vr.VR) int {
	n := 0
	sep := func() {
		if n > 0 {
			e.buf = append(e.buf, ',')
		}
		n++
	}
	switch v {
	case vr.US:
		for ; len(b) >= 2; b = b[2:] {
			sep()
			e.buf = strconv.AppendUint(e.buf, uint64(binary.LittleEndian.Uint16(b)), 10)
		}
	case vr.SS:
		for ; len(b) >= 2; b = b[2:] {
			sep()
			e.buf = strconv.AppendInt(e.buf, int64(int16(binary.LittleEndian.Uint16(b))), 10)
		}
	case vr.UL:
		for ; len(b) >= 4; b = b[4:] {
			sep()
			e.buf = strconv.AppendUint(e.buf, uint64(binary.LittleEndian.Uint32(b)), 10)
		}
	case vr.SL:
		for ; len(b) >= 4; b = b[4:] {
			sep()
			e.buf = strconv.AppendInt(e.buf, int64(int32(binary.LittleEndian.Uint32(b))), 10)
		}
	case vr.UV:
		for ; len(b) >= 8; b = b[8:] {
			sep()
			u := binary.LittleEndian.Uint64(b)
			if u > maxSafeInt {
				e.buf = append(e.buf, '"')
				e.buf = strconv.AppendUint(e.buf, u, 10)
				e.buf = append(e.buf, '"')
			} else {
				e.buf = strconv.AppendUint(e.buf, u, 10)
			}
		}
	case vr.SV:
		for ; len(b) >= 8; b = b[8:] {
			sep()
			s := int64(binary.LittleEndian.Uint64(b))
			if s > maxSafeInt || s < -maxSafeInt {
				e.buf = append(e.buf, '"')
				e.buf = strconv.AppendInt(e.buf, s, 10)
				e.buf = append(e.buf, '"')
			} else {
				e.buf = strconv.AppendInt(e.buf, s, 10)
			}
		}
	case vr.FL:
		for ; len(b) >= 4; b = b[4:] {
			sep()
			e.buf = appendFloat(e.buf, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32)
		}
	case vr.FD:
		for ; len(b) >= 8; b = b[8:] {
			sep()
			e.buf = appendFloat(e.buf, math.Float64frombits(binary.LittleEndian.Uint64(b)), 64)
		}
	case vr.AT:
		for ; len(b) >= 4; b = b[4:] {
			sep()
			e.buf = append(e.buf, '"')
			e.buf = appendHexTag(e.buf, tag.New(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])))
			e.buf = append(e.buf, '"')
		}
	}
	return n
}

// maxSafeInt is 2^53, the largest integer below which every integer is exact in a binary64 float.
const maxSafeInt = 1 << 53

func appendFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bits)
}
