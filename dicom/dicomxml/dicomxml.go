// Package dicomxml writes data sets in the Native DICOM Model of PS3.19 Annex A (section A.1),
// the XML representation used by DICOMweb and by application hosting.
//
// The document is a <NativeDicomModel> holding one <DicomAttribute> per element, in tag order,
// with its tag (eight upper-case hexadecimal digits), VR, dictionary keyword and, for a private
// data element, the private creator that reserves its block (Table A.1.5-2); a private data
// element's tag then carries 00 in place of the block number (gggg00ee), as DCMTK writes it. Values are
// <Value number="n"> elements, Person Names <PersonName number="n"> split into component groups
// and components, sequence items <Item number="n">, and binary values <InlineBinary> (base64) or
// <BulkData uri="..."/>. Strings are written in UTF-8, decoded through the data set's Specific
// Character Set. Characters that XML 1.0 does not allow, even escaped (most C0 controls), are
// replaced by U+FFFD so that the document is always well formed. Group length elements are left
// out unless asked for.
package dicomxml

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Namespace is the XML namespace of the Native DICOM Model.
const Namespace = "http://dicom.nema.org/PS3.19/models/NativeDICOM"

// DefaultBulkThreshold is the BulkThreshold used when Options.BulkThreshold is 0.
const DefaultBulkThreshold = 1024

const maxDepth = 1000

// Options control encoding. The zero value writes every value in memory inline and leaves out
// values that are not in memory (bulk data left in the source, encapsulated Pixel Data).
type Options struct {
	// BulkDataURI, when set, returns the uri of a <BulkData> element for: a value of VR OB, OD,
	// OF, OL, OV, OW or UN longer than BulkThreshold; a value left in the source (Element.Bulk);
	// encapsulated Pixel Data. path lists the sequence items enclosing e; both are only valid
	// during the call. Returning "" writes an in-memory value inline and leaves out the value
	// otherwise.
	BulkDataURI func(path Path, e *dicom.Element) string
	// BulkThreshold is the length in bytes above which values of the bulk VRs are referenced
	// through BulkDataURI: 0 selects DefaultBulkThreshold, a negative value references every
	// non-empty value.
	BulkThreshold int
	// GroupLengths keeps group length elements (gggg,0000).
	GroupLengths bool
	// Namespace adds xmlns="http://dicom.nema.org/PS3.19/models/NativeDICOM" to the root.
	Namespace bool
}

// PathStep is one level of nesting: a sequence's tag and the index of the item, from 0.
type PathStep struct {
	Tag  tag.Tag
	Item int
}

// Path lists the sequence items that enclose an element, outermost first.
type Path []PathStep

// String formats p as "00081115[0].00081199[2]", or "" for the top level.
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprintf(&b, "%04X%04X[%d]", s.Tag.Group(), s.Tag.Element(), s.Item)
	}
	return b.String()
}

// Encode writes ds to w as a Native DICOM Model document.
func Encode(w io.Writer, ds *dicom.Dataset, opts Options) error {
	e := &encoder{w: bufio.NewWriterSize(w, 32<<10), opts: opts, threshold: opts.BulkThreshold}
	if e.threshold == 0 {
		e.threshold = DefaultBulkThreshold
	}
	e.w.WriteString(xml.Header)
	if opts.Namespace {
		e.w.WriteString(`<NativeDicomModel xmlns="` + Namespace + `" xml:space="preserve">` + "\n")
	} else {
		e.w.WriteString(`<NativeDicomModel xml:space="preserve">` + "\n")
	}
	if err := e.dataset(ds, 0); err != nil {
		return err
	}
	e.w.WriteString("</NativeDicomModel>\n")
	if err := e.w.Flush(); err != nil {
		return fmt.Errorf("dicomxml: write: %w", err)
	}
	return nil
}

type encoder struct {
	w         *bufio.Writer
	opts      Options
	threshold int
	path      Path
	scratch   []byte
}

// text writes s escaped for XML character data and attribute values.
func (e *encoder) text(s string) {
	// xml.EscapeText escapes <, >, &, quotes and line ends, and replaces characters outside the
	// XML 1.0 Char production with U+FFFD. Its only error is the writer's, which bufio keeps.
	_ = xml.EscapeText(e.w, []byte(s))
}

func (e *encoder) dataset(ds *dicom.Dataset, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("dicomxml: %s: sequences nested deeper than %d", e.path, maxDepth)
	}
	for i := range ds.Elements {
		el := &ds.Elements[i]
		if el.Tag.IsGroupLength() && !e.opts.GroupLengths {
			continue
		}
		if err := e.element(ds, el, depth); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) uri(el *dicom.Element) string {
	if e.opts.BulkDataURI == nil {
		return ""
	}
	return e.opts.BulkDataURI(e.path, el)
}

func (e *encoder) open(ds *dicom.Dataset, el *dicom.Element, v vr.VR) {
	creator := ""
	if el.Tag.IsPrivate() {
		creator = ds.PrivateCreator(el.Tag)
	}
	elem := el.Tag.Element()
	if creator != "" {
		// A private data element is named by its creator and its offset in the block the creator
		// reserves: the block byte of the element number is written as 00 (gggg00ee), as the
		// block an element lands in differs from one data set to another.
		elem &= 0x00FF
	}
	fmt.Fprintf(e.w, `<DicomAttribute tag="%04X%04X" vr="%s"`, el.Tag.Group(), elem, v)
	if creator != "" {
		e.w.WriteString(` privateCreator="`)
		e.text(creator)
		e.w.WriteByte('"')
	} else if !el.Tag.IsPrivate() {
		if kw := tag.Keyword(el.Tag); kw != "" {
			e.w.WriteString(` keyword="` + kw + `"`)
		}
	}
	e.w.WriteString(">\n")
}

func (e *encoder) element(ds *dicom.Dataset, el *dicom.Element, depth int) error {
	v := el.VR
	if !v.Valid() {
		v = vr.UN
	}
	switch {
	case el.Fragments != nil:
		if v != vr.OB && v != vr.OW {
			v = vr.OB
		}
		e.open(ds, el, v)
		if uri := e.uri(el); uri != "" {
			e.bulkData(uri)
		}
	case el.Items != nil || v == vr.SQ:
		e.open(ds, el, vr.SQ)
		e.path = append(e.path, PathStep{Tag: el.Tag})
		for i, it := range el.Items {
			e.path[len(e.path)-1].Item = i
			fmt.Fprintf(e.w, "<Item number=\"%d\">\n", i+1)
			if it != nil {
				if err := e.dataset(it, depth+1); err != nil {
					return err
				}
			}
			e.w.WriteString("</Item>\n")
		}
		e.path = e.path[:len(e.path)-1]
	case el.Bulk:
		e.open(ds, el, v)
		if uri := e.uri(el); uri != "" {
			e.bulkData(uri)
		}
	case v.IsBulk():
		e.open(ds, el, v)
		if len(el.Value) > 0 {
			uri := ""
			if len(el.Value) > e.threshold || e.threshold < 0 {
				uri = e.uri(el)
			}
			if uri != "" {
				e.bulkData(uri)
			} else {
				val := el.Value
				if len(val)%2 == 1 {
					val = append(val[:len(val):len(val)], 0)
				}
				e.w.WriteString("<InlineBinary>")
				e.scratch = base64.StdEncoding.AppendEncode(e.scratch[:0], val)
				e.w.Write(e.scratch)
				e.w.WriteString("</InlineBinary>\n")
			}
		}
	case v == vr.PN:
		e.open(ds, el, v)
		for i, s := range ds.ElementStrings(el) {
			e.personName(i+1, s)
		}
	case v.IsString():
		e.open(ds, el, v)
		vals := ds.ElementStrings(el)
		if allEmpty(vals) {
			break
		}
		for i, s := range vals {
			if s == "" {
				// An empty value among others keeps its place.
				fmt.Fprintf(e.w, "<Value number=\"%d\"/>\n", i+1)
				continue
			}
			fmt.Fprintf(e.w, `<Value number="%d">`, i+1)
			e.text(s)
			e.w.WriteString("</Value>\n")
		}
	default:
		e.open(ds, el, v)
		for i, s := range binaryValues(el.Value, v) {
			fmt.Fprintf(e.w, "<Value number=\"%d\">%s</Value>\n", i+1, s)
		}
	}
	e.w.WriteString("</DicomAttribute>\n")
	return nil
}

func allEmpty(vals []string) bool {
	for _, s := range vals {
		if s != "" {
			return false
		}
	}
	return true
}

func (e *encoder) bulkData(uri string) {
	e.w.WriteString(`<BulkData uri="`)
	e.text(uri)
	e.w.WriteString("\"/>\n")
}

var groupNames = [3]string{"Alphabetic", "Ideographic", "Phonetic"}
var componentNames = [5]string{"FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix"}

// personName writes one Person Name value: its non-empty groups and, in each, its non-empty
// components (Table A.1.5-2).
func (e *encoder) personName(n int, s string) {
	groups := strings.SplitN(s, "=", 3)
	empty := true
	for _, g := range groups {
		if strings.Trim(g, "^ ") != "" {
			empty = false
		}
	}
	if empty {
		return
	}
	fmt.Fprintf(e.w, "<PersonName number=\"%d\">\n", n)
	for i, g := range groups {
		if strings.Trim(g, "^ ") == "" {
			continue
		}
		e.w.WriteString("<" + groupNames[i] + ">\n")
		for j, c := range strings.SplitN(g, "^", 5) {
			c = strings.TrimRight(c, " ")
			if c == "" {
				continue
			}
			e.w.WriteString("<" + componentNames[j] + ">")
			e.text(c)
			e.w.WriteString("</" + componentNames[j] + ">\n")
		}
		e.w.WriteString("</" + groupNames[i] + ">\n")
	}
	e.w.WriteString("</PersonName>\n")
}

// binaryValues formats the values of a binary VR as XML Schema lexical forms.
func binaryValues(b []byte, v vr.VR) []string {
	var out []string
	switch v {
	case vr.FL:
		for ; len(b) >= 4; b = b[4:] {
			out = append(out, formatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32))
		}
	case vr.FD:
		for ; len(b) >= 8; b = b[8:] {
			out = append(out, formatFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)), 64))
		}
	case vr.AT:
		for ; len(b) >= 4; b = b[4:] {
			out = append(out, fmt.Sprintf("%04X%04X", binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])))
		}
	case vr.SV:
		for ; len(b) >= 8; b = b[8:] {
			out = append(out, strconv.FormatInt(int64(binary.LittleEndian.Uint64(b)), 10))
		}
	case vr.UV:
		for ; len(b) >= 8; b = b[8:] {
			out = append(out, strconv.FormatUint(binary.LittleEndian.Uint64(b), 10))
		}
	case vr.US:
		for ; len(b) >= 2; b = b[2:] {
			out = append(out, strconv.FormatUint(uint64(binary.LittleEndian.Uint16(b)), 10))
		}
	case vr.SS:
		for ; len(b) >= 2; b = b[2:] {
			out = append(out, strconv.FormatInt(int64(int16(binary.LittleEndian.Uint16(b))), 10))
		}
	case vr.UL:
		for ; len(b) >= 4; b = b[4:] {
			out = append(out, strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 10))
		}
	case vr.SL:
		for ; len(b) >= 4; b = b[4:] {
			out = append(out, strconv.FormatInt(int64(int32(binary.LittleEndian.Uint32(b))), 10))
		}
	}
	return out
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}
