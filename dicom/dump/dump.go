// Package dump prints a DICOM file as a human-readable listing in the style of DCMTK's dcmdump:
// one line per element with tag, VR, value, length, multiplicity and keyword, sequences and
// items indented.
package dump

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Options tune the listing. The zero value prints values up to 64 characters.
type Options struct {
	// MaxValue is the number of characters of a value shown before it is cut with "...";
	// 0 means 64, negative means no limit.
	MaxValue int
}

// File writes the listing of f to w.
func File(w io.Writer, f *dicom.File, opts Options) error {
	bw := bufio.NewWriter(w)
	p := printer{w: bw, opts: opts}
	p.line("# Dicom-File-Format")
	if f.Meta != nil {
		p.line("")
		p.line("# Dicom-Meta-Information-Header")
		p.line("# Used TransferSyntax: " + syntaxName(dicom.ExplicitVRLittleEndian))
		p.dataset(f.Meta, 0)
	}
	p.line("")
	p.line("# Dicom-Data-Set")
	p.line("# Used TransferSyntax: " + syntaxName(f.Syntax.UID))
	p.dataset(f.Dataset, 0)
	return bw.Flush()
}

// Dataset writes the listing of a bare data set.
func Dataset(w io.Writer, ds *dicom.Dataset, opts Options) error {
	bw := bufio.NewWriter(w)
	p := printer{w: bw, opts: opts}
	p.dataset(ds, 0)
	return bw.Flush()
}

func syntaxName(u string) string {
	if info, ok := uid.Lookup(u); ok {
		return info.Name
	}
	if u == "" {
		return "unknown"
	}
	return u
}

type printer struct {
	w    *bufio.Writer
	opts Options
}

func (p *printer) line(s string) {
	p.w.WriteString(s)
	p.w.WriteByte('\n')
}

func (p *printer) maxValue() int {
	switch {
	case p.opts.MaxValue == 0:
		return 64
	case p.opts.MaxValue < 0:
		return 1 << 30
	}
	return p.opts.MaxValue
}

func (p *printer) entry(depth int, t tag.Tag, v string, value string, length string, vm int, name string) {
	indent := strings.Repeat("  ", depth)
	left := fmt.Sprintf("%s(%04x,%04x) %s %s", indent, t.Group(), t.Element(), v, value)
	if pad := 52 + 2*depth - len(left); pad > 0 {
		left += strings.Repeat(" ", pad)
	}
	fmt.Fprintf(p.w, "%s # %3s,%2d %s\n", left, length, vm, name)
}

func keyword(ds *dicom.Dataset, t tag.Tag) string {
	if k := tag.Keyword(t); k != "" {
		return k
	}
	if t.IsPrivate() {
		if c := ds.PrivateCreator(t); c != "" {
			return "PrivateTag(" + c + ")"
		}
		return "PrivateTag"
	}
	return "Unknown Tag & Data"
}

func (p *printer) dataset(ds *dicom.Dataset, depth int) {
	for i := range ds.Elements {
		e := &ds.Elements[i]
		name := keyword(ds, e.Tag)
		switch {
		case e.Items != nil:
			kind := "explicit"
			length := fmt.Sprint(e.Length)
			if e.Length == dicom.UndefinedLength {
				kind, length = "undefined", "u/l"
			}
			p.entry(depth, e.Tag, e.VR.String(), fmt.Sprintf("(Sequence with %s length #=%d)", kind, len(e.Items)), length, 1, name)
			for _, it := range e.Items {
				ikind, ilen := "explicit", fmt.Sprint(it.Length)
				if it.Length == dicom.UndefinedLength {
					ikind, ilen = "undefined", "u/l"
				}
				p.entry(depth+1, tag.Item, "na", fmt.Sprintf("(Item with %s length #=%d)", ikind, len(it.Elements)), ilen, 1, "Item")
				p.dataset(it, depth+2)
				if it.Length == dicom.UndefinedLength {
					p.entry(depth+1, tag.ItemDelimitationItem, "na", "(ItemDelimitationItem)", "0", 0, "ItemDelimitationItem")
				}
			}
			if e.Length == dicom.UndefinedLength {
				p.entry(depth, tag.SequenceDelimitationItem, "na", "(SequenceDelimitationItem)", "0", 0, "SequenceDelimitationItem")
			}
		case e.Fragments != nil:
			p.entry(depth, e.Tag, e.VR.String(), "(PixelSequence #="+fmt.Sprint(len(e.Fragments))+")", "u/l", 1, name)
			for j, f := range e.Fragments {
				what := "pixel item"
				if j == 0 {
					what = "offset table"
				}
				val := fmt.Sprintf("(%s, %d bytes)", what, f.Length)
				if !f.Bulk && len(f.Data) > 0 {
					val = p.hexValue(f.Data, vr.OB)
				}
				p.entry(depth+1, tag.Item, "pi", val, fmt.Sprint(f.Length), 1, "Item")
			}
			p.entry(depth, tag.SequenceDelimitationItem, "na", "(SequenceDelimitationItem)", "0", 0, "SequenceDelimitationItem")
		default:
			val, vm := p.value(ds, e)
			p.entry(depth, e.Tag, e.VR.String(), val, fmt.Sprint(e.Length), vm, name)
		}
	}
}

func (p *printer) cut(s string) string {
	if max := p.maxValue(); len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func (p *printer) value(ds *dicom.Dataset, e *dicom.Element) (string, int) {
	if e.Bulk {
		return fmt.Sprintf("(not loaded, %d bytes at offset %d)", e.Length, e.Offset), 1
	}
	if len(e.Value) == 0 {
		return "(no value available)", 0
	}
	v := e.ValueVR()
	switch {
	case v == vr.UI:
		s := ds.ElementString(e)
		if info, ok := uid.Lookup(s); ok && info.Keyword != "" {
			return "=" + info.Keyword, 1
		}
		return "[" + p.cut(s) + "]", len(ds.ElementStrings(e))
	case v.IsString():
		vals := ds.ElementStrings(e)
		return "[" + p.cut(sanitize(strings.Join(vals, `\`))) + "]", len(vals)
	case v == vr.OB || v == vr.UN || v == vr.OW || v == vr.OL || v == vr.OD || v == vr.OF || v == vr.OV:
		return p.hexValue(e.Value, v), 1
	default:
		vals := ds.ElementStrings(e)
		return p.cut(strings.Join(vals, `\`)), len(vals)
	}
}

func (p *printer) hexValue(b []byte, v vr.VR) string {
	w := v.SwapWidth()
	if v == vr.OB || v == vr.UN {
		w = 1
	}
	var sb strings.Builder
	max := p.maxValue()
	for i := 0; i+w <= len(b); i += w {
		if i > 0 {
			sb.WriteByte('\\')
		}
		if sb.Len() > max {
			sb.WriteString("...")
			break
		}
		word := make([]byte, w)
		for j := 0; j < w; j++ {
			word[j] = b[i+w-1-j]
		}
		sb.WriteString(hex.EncodeToString(word))
	}
	return sb.String()
}

// sanitize replaces control characters so that one element stays on one line.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F {
			return '.'
		}
		return r
	}, s)
}
