package dicomjson

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Errors the decoder wraps; test with errors.Is.
var (
	// ErrInvalid: the input is not JSON, or not a DICOM JSON Model object (F.2).
	ErrInvalid = errors.New("invalid DICOM JSON")
	// ErrLimit: the input exceeds DecodeOptions.MaxDepth or MaxSize.
	ErrLimit = errors.New("limit exceeded")
)

type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// locatedError names where in the input an error was found: an attribute, a value, a member.
type locatedError struct {
	at  string
	err error
}

func (e *locatedError) Error() string { return e.at + ": " + e.err.Error() }
func (e *locatedError) Unwrap() error { return e.err }

func atValue(i int, err error) error {
	return &locatedError{at: "Value[" + strconv.Itoa(i) + "]", err: err}
}

func invalidf(format string, args ...any) error { return invalidError(fmt.Sprintf(format, args...)) }

type limitError string

func (e limitError) Error() string        { return string(e) }
func (e limitError) Is(target error) bool { return target == ErrLimit }

// Defaults of DecodeOptions.
const (
	DefaultMaxDepth = 64
	DefaultMaxSize  = 256 << 20
)

// DecodeOptions control decoding. The zero value applies the default limits and keeps
// BulkDataURI attributes as elements without a value.
type DecodeOptions struct {
	// BulkData is called for each attribute given by a "BulkDataURI" (F.2.6), with the sequence
	// items enclosing it, the URI and the element (Tag and VR set, Bulk true, no value), before
	// the element is stored. The callback may resolve the URI and set e.Value; it may also just
	// record the reference. Without a callback the element is stored with Bulk set and no value
	// (Offset -1: there is no source to read it from). path is only valid during the call.
	BulkData func(path Path, uri string, e *dicom.Element) error
	// MaxDepth is the deepest sequence nesting accepted (default DefaultMaxDepth).
	MaxDepth int
	// MaxSize is the largest input accepted in bytes (default DefaultMaxSize); for DecodeArray
	// and ArrayReader it bounds the whole array.
	MaxSize int64
}

// Decode reads one DICOM JSON Model object from r, the whole of r, and returns its data set.
//
// Elements take the VRs the object gives (the dictionary's VR when "vr" is missing). Strings are
// stored in the character set named by the object's Specific Character Set (0008,0005); when the
// object has none and holds a non-ASCII string, (0008,0005) is set to "ISO_IR 192" (UTF-8).
// "InlineBinary" is decoded from base64; for "BulkDataURI" see DecodeOptions.BulkData.
func Decode(r io.Reader, opts DecodeOptions) (*dicom.Dataset, error) {
	d := newDecoder(r, opts)
	tok, err := d.token()
	if err != nil {
		return nil, fmt.Errorf("dicomjson: %w", err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("dicomjson: %w", invalidf("JSON object expected, found %s", describe(tok)))
	}
	ds, err := d.top()
	if err != nil {
		return nil, fmt.Errorf("dicomjson: %w", err)
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("dicomjson: %w", err)
	}
	return ds, nil
}

// DecodeArray reads a JSON array of DICOM JSON Model objects, the whole of r.
func DecodeArray(r io.Reader, opts DecodeOptions) ([]*dicom.Dataset, error) {
	ar := NewArrayReader(r, opts)
	var out []*dicom.Dataset
	for {
		ds, err := ar.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
}

// ArrayReader reads a JSON array of DICOM JSON Model objects one data set at a time.
type ArrayReader struct {
	d       *decoder
	n       int
	started bool
	done    bool
}

// NewArrayReader returns an ArrayReader reading from r.
func NewArrayReader(r io.Reader, opts DecodeOptions) *ArrayReader {
	return &ArrayReader{d: newDecoder(r, opts)}
}

// Next returns the next data set of the array, or io.EOF after the last one.
func (a *ArrayReader) Next() (*dicom.Dataset, error) {
	if a.done {
		return nil, io.EOF
	}
	if !a.started {
		tok, err := a.d.token()
		if err != nil {
			a.done = true
			return nil, fmt.Errorf("dicomjson: %w", err)
		}
		if tok != json.Delim('[') {
			a.done = true
			return nil, fmt.Errorf("dicomjson: %w", invalidf("JSON array expected, found %s", describe(tok)))
		}
		a.started = true
	}
	tok, err := a.d.token()
	if err != nil {
		a.done = true
		return nil, fmt.Errorf("dicomjson: [%d]: %w", a.n, err)
	}
	if tok == json.Delim(']') {
		a.done = true
		if err := a.d.end(); err != nil {
			return nil, fmt.Errorf("dicomjson: %w", err)
		}
		return nil, io.EOF
	}
	if tok != json.Delim('{') {
		a.done = true
		return nil, fmt.Errorf("dicomjson: [%d]: %w", a.n, invalidf("JSON object expected, found %s", describe(tok)))
	}
	ds, err := a.d.top()
	if err != nil {
		a.done = true
		return nil, fmt.Errorf("dicomjson: [%d]: %w", a.n, err)
	}
	a.n++
	return ds, nil
}

// pendingText is a non-ASCII value of a text VR, stored once the character set is known.
type pendingText struct {
	ds  *dicom.Dataset
	tag tag.Tag
	vr  vr.VR
	s   string
	at  string
}

type decoder struct {
	dec      *json.Decoder
	opts     DecodeOptions
	path     Path
	text     []pendingText
	nonASCII bool
	buf      []byte
}

func newDecoder(r io.Reader, opts DecodeOptions) *decoder {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	d := &decoder{opts: opts}
	d.dec = json.NewDecoder(&limitReader{r: r, left: opts.MaxSize, max: opts.MaxSize})
	d.dec.UseNumber()
	return d
}

// limitReader fails once more than max bytes are read.
type limitReader struct {
	r         io.Reader
	left, max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, limitError(fmt.Sprintf("input larger than %d bytes", l.max))
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func (d *decoder) token() (json.Token, error) {
	tok, err := d.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, invalidf("unexpected end of input")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: offset %d: %w", ErrInvalid, se.Offset, err)
		}
		return nil, err
	}
	return tok, nil
}

// end checks that nothing but white space follows the top-level value.
func (d *decoder) end() error {
	if _, err := d.dec.Token(); err != io.EOF {
		if err != nil && !errors.Is(err, ErrLimit) {
			return fmt.Errorf("%w: after the top-level value: %w", ErrInvalid, err)
		} else if err != nil {
			return err
		}
		return invalidf("data after the top-level value")
	}
	return nil
}

func describe(tok json.Token) string {
	switch x := tok.(type) {
	case json.Delim:
		return "'" + x.String() + "'"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// top reads a top-level object whose '{' has been read.
func (d *decoder) top() (*dicom.Dataset, error) {
	ds := dicom.NewDataset()
	d.text = d.text[:0]
	d.nonASCII = false
	if err := d.object(ds, 0); err != nil {
		return nil, err
	}
	if d.nonASCII && !ds.Has(tag.SpecificCharacterSet) {
		if err := ds.SetString(tag.SpecificCharacterSet, vr.CS, "ISO_IR 192"); err != nil {
			return nil, fmt.Errorf("00080005: %w", err)
		}
	}
	for _, p := range d.text {
		if err := p.ds.SetString(p.tag, p.vr, p.s); err != nil {
			return nil, fmt.Errorf("%s: %w", p.at, err)
		}
	}
	return ds, nil
}

// parseTag reads eight hexadecimal digits.
func parseTag(s string) (tag.Tag, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var t uint32
	for i := 0; i < 8; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		t = t<<4 | uint32(c)
	}
	return tag.Tag(t), true
}

// object reads the attributes of a data set whose '{' has been read, through the closing '}'.
func (d *decoder) object(ds *dicom.Dataset, depth int) error {
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		if tok == json.Delim('}') {
			return nil
		}
		key, ok := tok.(string)
		if !ok {
			return invalidf("attribute tag expected, found %s", describe(tok))
		}
		t, ok := parseTag(key)
		if !ok {
			return invalidf("%q: attribute name is not a tag (eight hexadecimal digits)", key)
		}
		if ds.Has(t) {
			return invalidf("%s: duplicate attribute", key)
		}
		if err := d.attribute(ds, t, depth); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
}

// attribute reads one attribute object and stores its element in ds.
func (d *decoder) attribute(ds *dicom.Dataset, t tag.Tag, depth int) error {
	tok, err := d.token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return invalidf("attribute object expected, found %s", describe(tok))
	}
	var (
		v       vr.VR
		haveVR  bool
		kind    string // "Value", "InlineBinary" or "BulkDataURI"
		raw     json.RawMessage
		str     string
		doneVal bool
	)
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		if tok == json.Delim('}') {
			break
		}
		name, _ := tok.(string)
		switch name {
		case "vr":
			if haveVR {
				return invalidf("vr given twice")
			}
			tok, err := d.token()
			if err != nil {
				return err
			}
			s, _ := tok.(string)
			x, ok := vr.FromString(s)
			if !ok {
				if s == "" {
					return invalidf("vr: string expected, found %s", describe(tok))
				}
				return invalidf("vr: unknown VR %q", s)
			}
			v, haveVR = x, true
		case "Value", "InlineBinary", "BulkDataURI":
			if kind != "" {
				return invalidf("both %s and %s given", kind, name)
			}
			kind = name
			if name == "Value" {
				if haveVR {
					if err := d.value(ds, t, v, depth); err != nil {
						return err
					}
					doneVal = true
				} else if err := d.dec.Decode(&raw); err != nil {
					return fmt.Errorf("%w: Value: %w", ErrInvalid, err)
				}
				continue
			}
			tok, err := d.token()
			if err != nil {
				return err
			}
			s, ok := tok.(string)
			if !ok {
				return invalidf("%s: string expected, found %s", name, describe(tok))
			}
			str = s
		default:
			if err := d.skip(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if !haveVR {
		info, ok := tag.Lookup(t)
		if !ok || info.VR == 0 {
			return invalidf("vr missing and the tag is not in the dictionary")
		}
		v = info.VR
	}
	switch kind {
	case "":
		if v == vr.SQ {
			ds.Set(dicom.NewSequence(t))
		} else {
			ds.Set(dicom.NewElement(t, v, nil))
		}
	case "Value":
		if !doneVal {
			saved := d.dec
			d.dec = json.NewDecoder(bytes.NewReader(raw))
			d.dec.UseNumber()
			err := d.value(ds, t, v, depth)
			d.dec = saved
			if err != nil {
				return err
			}
		}
	case "InlineBinary":
		if v == vr.SQ {
			return invalidf("InlineBinary: not allowed for VR SQ")
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(str); err != nil {
				return invalidf("InlineBinary: %v", err)
			}
		}
		ds.Set(dicom.NewElement(t, v, b))
	case "BulkDataURI":
		e := dicom.Element{Tag: t, VR: v, Bulk: true, Offset: -1}
		if d.opts.BulkData != nil {
			if err := d.opts.BulkData(d.path, str, &e); err != nil {
				return fmt.Errorf("BulkDataURI %q: %w", str, err)
			}
			e.Tag = t
			if e.Value != nil {
				e.Bulk = false
				e.Length = uint32(len(e.Value))
			}
		}
		ds.Set(e)
	}
	return nil
}

// skip reads past one value of any kind, nested no deeper than MaxDepth.
func (d *decoder) skip() error {
	depth := 0
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			if depth > d.opts.MaxDepth {
				return limitError(fmt.Sprintf("unknown member nested deeper than %d", d.opts.MaxDepth))
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// value reads a "Value" array for VR v and stores the element.
func (d *decoder) value(ds *dicom.Dataset, t tag.Tag, v vr.VR, depth int) error {
	tok, err := d.token()
	if err != nil {
		return err
	}
	if tok == nil {
		// "Value": null, as some writers give for an empty attribute.
		ds.Set(dicom.NewElement(t, v, nil))
		return nil
	}
	if tok != json.Delim('[') {
		return invalidf("Value: array expected, found %s", describe(tok))
	}
	switch {
	case v == vr.SQ:
		return d.items(ds, t, depth)
	case v.IsBulk():
		return invalidf("Value: not allowed for VR %s (InlineBinary or BulkDataURI expected)", v)
	case v.IsString():
		return d.strings(ds, t, v)
	}
	return d.numbers(ds, t, v)
}

func (d *decoder) items(ds *dicom.Dataset, t tag.Tag, depth int) error {
	ds.Set(dicom.NewSequence(t))
	for i := 0; ; i++ {
		tok, err := d.token()
		if err != nil {
			return err
		}
		if tok == json.Delim(']') {
			return nil
		}
		if tok != json.Delim('{') {
			return atValue(i, invalidf("item object expected, found %s", describe(tok)))
		}
		if depth+1 > d.opts.MaxDepth {
			return atValue(i, limitError(fmt.Sprintf("sequences nested deeper than %d", d.opts.MaxDepth)))
		}
		item := dicom.NewItem()
		ds.AddItem(t, item)
		d.path = append(d.path, PathStep{Tag: t, Item: i})
		err = d.object(item, depth+1)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return atValue(i, err)
		}
	}
}

func (d *decoder) strings(ds *dicom.Dataset, t tag.Tag, v vr.VR) error {
	d.buf = d.buf[:0]
	for i := 0; ; i++ {
		tok, err := d.token()
		if err != nil {
			return err
		}
		if tok == json.Delim(']') {
			break
		}
		if i > 0 {
			if !v.MultiValued() {
				return atValue(i, invalidf("VR %s holds a single value", v))
			}
			d.buf = append(d.buf, '\\')
		}
		if err := d.stringValue(tok, v); err != nil {
			return atValue(i, err)
		}
	}
	b := make([]byte, len(d.buf), len(d.buf)+1)
	copy(b, d.buf)
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		d.nonASCII = true
		if v.IsText() {
			d.text = append(d.text, pendingText{ds: ds, tag: t, vr: v, s: string(b), at: d.where(t)})
		}
	}
	if len(b)%2 == 1 {
		b = append(b, v.Padding())
	}
	ds.Set(dicom.NewElement(t, v, b))
	return nil
}

// where names an element of the data set being read, for errors found after the fact.
func (d *decoder) where(t tag.Tag) string {
	b := []byte(d.path.String())
	if len(b) > 0 {
		b = append(b, '.')
	}
	return string(appendHexTag(b, t))
}

// stringValue appends one value of a string VR to d.buf.
func (d *decoder) stringValue(tok json.Token, v vr.VR) error {
	if v == vr.PN && tok != nil && tok != json.Delim('{') {
		return invalidf("PN object expected, found %s", describe(tok))
	}
	switch x := tok.(type) {
	case nil:
		return nil
	case string:
		d.buf = append(d.buf, x...)
		return nil
	case json.Number:
		switch v {
		case vr.DS:
			s := string(x)
			if len(s) > 16 {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return invalidf("DS value %s: %v", s, err)
				}
				s = dicom.FormatDS(f)
			}
			d.buf = append(d.buf, s...)
			return nil
		case vr.IS:
			n, err := parseInt(x, math.MinInt64, math.MaxInt64)
			if err != nil {
				return err
			}
			d.buf = strconv.AppendInt(d.buf, n, 10)
			return nil
		}
		return invalidf("string expected, found number")
	case json.Delim:
		if x == '{' && v == vr.PN {
			return d.personName()
		}
	}
	return invalidf("string expected, found %s", describe(tok))
}

// personName reads the members of a PN object whose '{' has been read.
func (d *decoder) personName() error {
	var groups [3]string
	for {
		tok, err := d.token()
		if err != nil {
			return err
		}
		if tok == json.Delim('}') {
			break
		}
		name, _ := tok.(string)
		g := -1
		switch name {
		case "Alphabetic":
			g = 0
		case "Ideographic":
			g = 1
		case "Phonetic":
			g = 2
		}
		if g < 0 {
			if err := d.skip(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		tok, err = d.token()
		if err != nil {
			return err
		}
		switch x := tok.(type) {
		case string:
			groups[g] = x
		case nil:
		default:
			return invalidf("%s: string expected, found %s", name, describe(tok))
		}
	}
	n := 3
	for n > 0 && groups[n-1] == "" {
		n--
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			d.buf = append(d.buf, '=')
		}
		d.buf = append(d.buf, groups[i]...)
	}
	return nil
}

// parseInt reads a JSON number holding an integer in [lo, hi]; "1.0" and "1e3" are accepted.
func parseInt(x json.Number, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(string(x), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(x), 64)
		if ferr != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
			return 0, invalidf("integer expected, found %s", x)
		}
		n = int64(f)
	}
	if n < lo || n > hi {
		return 0, invalidf("%s out of range [%d, %d]", x, lo, hi)
	}
	return n, nil
}

func parseUint(s string, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || f < 0 || f >= 1<<64 {
			return 0, invalidf("unsigned integer expected, found %s", s)
		}
		n = uint64(f)
	}
	if n > hi {
		return 0, invalidf("%s out of range [0, %d]", s, hi)
	}
	return n, nil
}

// numbers reads the values of a binary VR: US, SS, UL, SL, SV, UV, FL, FD, AT.
func (d *decoder) numbers(ds *dicom.Dataset, t tag.Tag, v vr.VR) error {
	d.buf = d.buf[:0]
	for i := 0; ; i++ {
		tok, err := d.token()
		if err != nil {
			return err
		}
		if tok == json.Delim(']') {
			break
		}
		if err := d.number(tok, v); err != nil {
			return atValue(i, err)
		}
	}
	ds.Set(dicom.NewElement(t, v, append([]byte(nil), d.buf...)))
	return nil
}

func (d *decoder) number(tok json.Token, v vr.VR) error {
	num, isNum := tok.(json.Number)
	str, isStr := tok.(string)
	if v == vr.AT {
		t, ok := parseTag(str)
		if !isStr || !ok {
			return invalidf("AT value expected (eight hexadecimal digits), found %s", describe(tok))
		}
		d.buf = binary.LittleEndian.AppendUint16(d.buf, t.Group())
		d.buf = binary.LittleEndian.AppendUint16(d.buf, t.Element())
		return nil
	}
	if isStr && (v == vr.SV || v == vr.UV) {
		// Table F.2.3-1 allows strings for the 64-bit VRs.
		num, isNum = json.Number(str), true
	}
	if isStr && (v == vr.FL || v == vr.FD) {
		var f float64
		switch str {
		case "NaN":
			f = math.NaN()
		case "Infinity":
			f = math.Inf(1)
		case "-Infinity":
			f = math.Inf(-1)
		default:
			return invalidf("number expected, found string %q", str)
		}
		d.appendFloat(f, v)
		return nil
	}
	if !isNum {
		return invalidf("number expected, found %s", describe(tok))
	}
	switch v {
	case vr.US:
		n, err := parseUint(string(num), math.MaxUint16)
		if err != nil {
			return err
		}
		d.buf = binary.LittleEndian.AppendUint16(d.buf, uint16(n))
	case vr.SS:
		n, err := parseInt(num, math.MinInt16, math.MaxInt16)
		if err != nil {
			return err
		}
		d.buf = binary.LittleEndian.AppendUint16(d.buf, uint16(n))
	case vr.UL:
		n, err := parseUint(string(num), math.MaxUint32)
		if err != nil {
			return err
		}
		d.buf = binary.LittleEndian.AppendUint32(d.buf, uint32(n))
	case vr.SL:
		n, err := parseInt(num, math.MinInt32, math.MaxInt32)
		if err != nil {
			return err
		}
		d.buf = binary.LittleEndian.AppendUint32(d.buf, uint32(n))
	case vr.UV:
		n, err := parseUint(string(num), math.MaxUint64)
		if err != nil {
			return err
		}
		d.buf = binary.LittleEndian.AppendUint64(d.buf, n)
	case vr.SV:
		n, err := parseInt(num, math.MinInt64, math.MaxInt64)
		if err != nil {
			return err
		}
		d.buf = binary.LittleEndian.AppendUint64(d.buf, uint64(n))
	case vr.FL, vr.FD:
		bits := 64
		if v == vr.FL {
			bits = 32
		}
		f, err := strconv.ParseFloat(string(num), bits)
		if err != nil {
			return invalidf("%s: not a %d-bit float", num, bits)
		}
		d.appendFloat(f, v)
	default:
		return invalidf("Value: not allowed for VR %s", v)
	}
	return nil
}

func (d *decoder) appendFloat(f float64, v vr.VR) {
	if v == vr.FL {
		d.buf = binary.LittleEndian.AppendUint32(d.buf, math.Float32bits(float32(f)))
	} else {
		d.buf = binary.LittleEndian.AppendUint64(d.buf, math.Float64bits(f))
	}
}
