package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Errors the reader wraps in a *ParseError; test with errors.Is.
var (
	// ErrTruncated: the input ends inside an element, item or sequence.
	ErrTruncated = errors.New("input ends early")
	// ErrMalformed: the bytes do not follow the encoding rules of PS3.5.
	ErrMalformed = errors.New("malformed data set")
	// ErrLimit: the input exceeds one of the reader's limits.
	ErrLimit = errors.New("limit exceeded")
	// ErrNotDICOM: the input has neither a Part 10 header nor a recognisable data set.
	ErrNotDICOM = errors.New("not a DICOM file")
)

// ParseError says what is wrong in an input and where.
type ParseError struct {
	// Offset of the element (or the byte) where the problem was found.
	Offset int64
	// Tag of the element being read, when known.
	Tag    tag.Tag
	HasTag bool
	Err    error
}

func (e *ParseError) Error() string {
	if e.HasTag {
		return fmt.Sprintf("offset %d, tag %s: %v", e.Offset, e.Tag, e.Err)
	}
	return fmt.Sprintf("offset %d: %v", e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Limits bound what a reader accepts, so that hostile input costs bounded memory and time. The
// zero value of each field selects its default.
type Limits struct {
	// MaxDepth is the deepest sequence nesting accepted (default 64).
	MaxDepth int
	// MaxValueLength rejects any value longer than this many bytes (default: no limit other than
	// the input itself; memory only grows with bytes actually read).
	MaxValueLength int64
	// MaxInflated bounds a deflated data set after decompression (default 256 MiB: deflate is
	// used for structured reports and the like, not for images).
	MaxInflated int64
	// MaxElements bounds the number of elements in the whole input, items included
	// (default 4,000,000).
	MaxElements int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	if l.MaxInflated <= 0 {
		l.MaxInflated = 256 << 20
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 4_000_000
	}
	return l
}

// ReadOptions control a read. The zero value reads everything into memory with default limits.
type ReadOptions struct {
	// StopAt ends the top-level data set before the first element whose tag is ≥ StopAt, e.g.
	// tag.PixelData to read a header. 0 reads to the end.
	StopAt tag.Tag
	// BulkThreshold leaves values (and encapsulated fragments) longer than this many bytes in the
	// source: the element is marked Bulk with its Offset and Length. 0 loads every value.
	BulkThreshold int64
	// BulkHandler, when set, is called for each value that BulkThreshold leaves in the source, with
	// a reader over the value's bytes as encoded (big endian values are not swapped). Bytes the
	// handler does not read are skipped. A handler error ends the read.
	BulkHandler func(e *Element, r io.Reader) error
	// KeepInline, when set, is asked about each value BulkThreshold would leave in the source,
	// with its tag and length: true loads it all the same (lookup tables that renderers need,
	// say, while pixel data stay bulk).
	KeepInline func(t tag.Tag, length int64) bool
	// TransferSyntax is the encoding of a bare data set (no File Meta). Empty: detect it.
	TransferSyntax string
	Limits         Limits
}

// File is a Part 10 file (PS3.10 section 7): preamble, File Meta Information and data set.
type File struct {
	// Preamble holds the 128-byte preamble, nil when the input had none.
	Preamble []byte
	// Meta is the File Meta Information (group 0002), nil when the input had none.
	Meta *Dataset
	// Dataset is the data set.
	Dataset *Dataset
	// Syntax is the transfer syntax the data set was read in: the one the File Meta names, or the
	// one detected when the File Meta is absent or names a syntax the bytes contradict.
	Syntax Syntax
	// DatasetOffset is the offset of the data set's first byte in the input.
	DatasetOffset int64
	// Warnings lists what the reader tolerated (at most 100 entries).
	Warnings []string
}

// TransferSyntax returns the UID of the data set's transfer syntax.
func (f *File) TransferSyntax() string { return f.Syntax.UID }

// Parse reads a Part 10 file, or a bare data set, held in b. Values alias b: nothing is copied
// except big endian values, which are swapped into new memory.
func Parse(b []byte, opts ReadOptions) (*File, error) {
	return readFile(&bytesSource{b: b}, opts, nil)
}

// Read reads a Part 10 file, or a bare data set, from r. When r is an io.Seeker whose size is
// known (an *os.File), values left in the source are skipped by seeking.
func Read(r io.Reader, opts ReadOptions) (*File, error) {
	size := int64(-1)
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if cur, err := f.Seek(0, io.SeekCurrent); err == nil {
				size = st.Size() - cur
			}
		}
	}
	return readFile(newStreamSource(r, 0, size), opts, r)
}

// ReadFile reads the Part 10 file at path. With the default options the file is read whole and
// parsed in place; with a BulkThreshold it is streamed and bulk values are skipped by seeking.
func ReadFile(path string, opts ReadOptions) (*File, error) {
	if opts.BulkThreshold == 0 && opts.StopAt == 0 {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return Parse(b, opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, opts)
}

// ParseDataset reads a bare data set encoded in the transfer syntax syntaxUID from b.
func ParseDataset(b []byte, syntaxUID string, opts ReadOptions) (*Dataset, error) {
	opts.TransferSyntax = syntaxUID
	d := newDecoder(&bytesSource{b: b}, opts)
	return d.bareDataset(SyntaxOf(syntaxUID))
}

// ReadDataset reads a bare data set encoded in the transfer syntax syntaxUID from r, to its end.
func ReadDataset(r io.Reader, syntaxUID string, opts ReadOptions) (*Dataset, error) {
	opts.TransferSyntax = syntaxUID
	d := newDecoder(newStreamSource(r, 0, -1), opts)
	return d.bareDataset(SyntaxOf(syntaxUID))
}

type decoder struct {
	src       source
	opts      ReadOptions
	lim       Limits
	implicit  bool
	bigEndian bool
	// canRange reports whether offsets locate values in the original input (false once inflated).
	canRange bool
	depth    int
	elements int
	pixelRep int
	warnings []string
}

func newDecoder(src source, opts ReadOptions) *decoder {
	return &decoder{src: src, opts: opts, lim: opts.Limits.withDefaults(), canRange: true, pixelRep: -1}
}

func (d *decoder) warn(format string, args ...any) {
	if len(d.warnings) < 100 {
		d.warnings = append(d.warnings, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) errAt(off int64, t tag.Tag, hasTag bool, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	return &ParseError{Offset: off, Tag: t, HasTag: hasTag, Err: err}
}

func (d *decoder) bareDataset(syn Syntax) (*Dataset, error) {
	if syn.Deflated {
		d.inflate()
	}
	d.implicit, d.bigEndian = syn.Implicit, syn.BigEndian
	ds := &Dataset{Offset: d.src.pos()}
	_, err := d.readDataset(ds, -1, true)
	return ds, err
}

func (d *decoder) inflate() {
	start := d.src.pos()
	rest := d.src.stream(1 << 62)
	lr := &limitedReader{r: flate.NewReader(rest), max: d.lim.MaxInflated}
	ss := newStreamSource(lr, start, -1)
	ss.bound = start + d.lim.MaxInflated
	d.src = ss
	d.canRange = false
}

func readFile(src source, opts ReadOptions, under io.Reader) (*File, error) {
	d := newDecoder(src, opts)
	f := &File{}
	head := src.peek(132)
	switch {
	case len(head) >= 136-4 && string(head[128:132]) == "DICM" && looksLikeMeta(src, 132):
		f.Preamble = append([]byte(nil), head[:128]...)
		if _, err := src.take(132); err != nil {
			return nil, d.errAt(0, 0, false, err)
		}
	case len(head) >= 4 && string(head[:4]) == "DICM":
		if _, err := src.take(4); err != nil {
			return nil, d.errAt(0, 0, false, err)
		}
		d.warn("file starts with DICM but has no preamble")
	}
	// File Meta Information: group 0002, always Explicit VR Little Endian (PS3.10 7.1).
	if h := src.peek(4); len(h) == 4 && binary.LittleEndian.Uint16(h) == 0x0002 {
		f.Meta = &Dataset{Offset: src.pos()}
		if err := d.readMeta(f.Meta); err != nil {
			f.Warnings = d.warnings
			return f, err
		}
	}
	uid := ""
	if f.Meta != nil {
		uid = trimUID(f.Meta.String(tag.TransferSyntaxUID))
	}
	if uid == "" {
		uid = opts.TransferSyntax
	}
	var syn Syntax
	if uid == "" {
		var ok bool
		syn, ok = detectSyntax(src.peek(8))
		if !ok {
			if f.Meta == nil && f.Preamble == nil {
				return nil, d.errAt(src.pos(), 0, false, fmt.Errorf("%w: no preamble, no File Meta and no recognisable first element", ErrNotDICOM))
			}
			syn = SyntaxOf(ExplicitVRLittleEndian)
		}
		if f.Meta != nil {
			d.warn("File Meta has no Transfer Syntax UID; data set detected as %s", syn.UID)
		}
	} else {
		syn = SyntaxOf(uid)
		if !syn.Deflated {
			if fixed, changed := checkSyntax(syn, src.peek(8)); changed {
				d.warn("data set is not encoded in the declared transfer syntax %s; read as %s", syn.UID, fixed.UID)
				syn = fixed
			}
		}
	}
	f.Syntax = syn
	f.DatasetOffset = src.pos()
	if syn.Deflated {
		d.inflate()
	}
	d.implicit, d.bigEndian = syn.Implicit, syn.BigEndian
	f.Dataset = &Dataset{Offset: d.src.pos()}
	_, err := d.readDataset(f.Dataset, -1, true)
	f.Warnings = d.warnings
	return f, err
}

// looksLikeMeta reports whether the bytes at off start a group 0002 element.
func looksLikeMeta(src source, off int) bool {
	h := src.peek(off + 6)
	if len(h) < off+6 {
		return false
	}
	return binary.LittleEndian.Uint16(h[off:]) == 0x0002
}

// detectSyntax guesses the encoding of a data set from its first element header.
func detectSyntax(h []byte) (Syntax, bool) {
	if len(h) < 8 {
		return Syntax{}, false
	}
	le := binary.LittleEndian.Uint16(h)
	be := binary.BigEndian.Uint16(h)
	_, explicit := vr.Parse(h[4], h[5])
	switch {
	case le >= 0x0002 && le <= 0x00FF && le != 0:
		if explicit {
			return SyntaxOf(ExplicitVRLittleEndian), true
		}
		return SyntaxOf(ImplicitVRLittleEndian), true
	case be >= 0x0002 && be <= 0x00FF:
		if explicit {
			return SyntaxOf(ExplicitVRBigEndian), true
		}
		// Implicit VR Big Endian does not exist; take the data as little endian.
		return Syntax{}, false
	}
	return Syntax{}, false
}

// checkSyntax compares the declared syntax with the first element header and corrects the two
// mistakes writers make: implicit data declared explicit, and the reverse.
func checkSyntax(syn Syntax, h []byte) (Syntax, bool) {
	if len(h) < 8 || syn.BigEndian {
		return syn, false
	}
	t := tag.New(binary.LittleEndian.Uint16(h), binary.LittleEndian.Uint16(h[2:]))
	v, explicit := vr.Parse(h[4], h[5])
	if !syn.Implicit && !explicit {
		if _, known := tag.Lookup(t); known {
			s := SyntaxOf(ImplicitVRLittleEndian)
			return s, true
		}
	}
	if syn.Implicit && explicit {
		if info, known := tag.Lookup(t); known && (info.VR == v || info.AltVR == v) {
			// An implicit length whose low bytes spell the right VR is too unlikely to matter.
			s := SyntaxOf(ExplicitVRLittleEndian)
			return s, true
		}
	}
	return syn, false
}

func (d *decoder) readMeta(meta *Dataset) error {
	saveImplicit, saveBE := d.implicit, d.bigEndian
	d.implicit, d.bigEndian = false, false
	// The File Meta is always loaded whole, whatever BulkThreshold says: the reader needs its
	// Transfer Syntax UID and group length, and a caller its UIDs.
	saveBulk := d.opts.BulkThreshold
	d.opts.BulkThreshold = 0
	defer func() { d.implicit, d.bigEndian, d.opts.BulkThreshold = saveImplicit, saveBE, saveBulk }()
	var groupLen int64 = -1
	start := d.src.pos()
	hasSyntax := false
	for {
		if groupLen >= 0 && d.src.pos()-start == groupLen && hasSyntax {
			// The end the group length gives, with the Transfer Syntax UID read: what follows
			// is the data set, even a group 0002 element some senders put there (a group
			// length that ends before the Transfer Syntax UID is wrong, and is not followed).
			break
		}
		h := d.src.peek(4)
		if len(h) < 4 || binary.LittleEndian.Uint16(h) != 0x0002 {
			break
		}
		var e Element
		if err := d.readElement(meta, &e); err != nil {
			return err
		}
		if e.Tag == tag.TransferSyntaxUID {
			hasSyntax = true
		}
		if e.Tag == 0x00020000 && len(e.Value) == 4 {
			groupLen = int64(binary.LittleEndian.Uint32(e.Value))
			start = d.src.pos()
		}
		meta.Elements = append(meta.Elements, e)
	}
	if groupLen >= 0 && d.src.pos()-start != groupLen {
		d.warn("File Meta group length is %d but its elements take %d bytes", groupLen, d.src.pos()-start)
	}
	if !isSorted(meta.Elements) {
		sortElements(meta)
	}
	return nil
}

// readDataset reads elements into ds until end (a byte offset), an Item Delimitation Item (when
// end is -1 in an item), or the end of input (top level). It reports whether it stopped at a
// Sequence Delimitation Item, which ends a sequence whose last item lacked its delimiter.
func (d *decoder) readDataset(ds *Dataset, end int64, top bool) (sawSeqDelim bool, err error) {
	if ds.Elements == nil {
		n := 8
		if top {
			n = 64
		}
		ds.Elements = make([]Element, 0, n)
	}
	for {
		pos := d.src.pos()
		if end >= 0 && pos >= end {
			if pos > end {
				return false, d.errAt(pos, 0, false, fmt.Errorf("%w: item overruns its length by %d bytes", ErrMalformed, pos-end))
			}
			break
		}
		h := d.src.peek(8)
		if len(h) < 8 {
			if len(h) == 0 && (top || end < 0) {
				if !top {
					return false, d.errAt(pos, 0, false, fmt.Errorf("%w: item without Item Delimitation Item", ErrTruncated))
				}
				break
			}
			if top && end < 0 && allZero(h) {
				d.warn("ignored %d trailing bytes", len(h))
				_ = d.src.skip(int64(len(h)))
				break
			}
			return false, d.errAt(pos, 0, false, fmt.Errorf("%w: %d bytes left, too few for an element header", ErrTruncated, len(h)))
		}
		t := d.tagOf(h)
		if top && d.opts.StopAt != 0 && t >= d.opts.StopAt && t.Group() != 0xFFFE {
			break
		}
		switch t {
		case tag.ItemDelimitationItem:
			if _, err := d.src.take(8); err != nil {
				return false, d.errAt(pos, t, true, err)
			}
			if end < 0 && !top {
				return false, nil
			}
			d.warn("offset %d: stray Item Delimitation Item ignored", pos)
			continue
		case tag.SequenceDelimitationItem:
			if _, err := d.src.take(8); err != nil {
				return false, d.errAt(pos, t, true, err)
			}
			if end < 0 && !top {
				d.warn("offset %d: item ended by a Sequence Delimitation Item", pos)
				return true, nil
			}
			d.warn("offset %d: stray Sequence Delimitation Item ignored", pos)
			continue
		case tag.Item:
			return false, d.errAt(pos, t, true, fmt.Errorf("%w: item tag outside a sequence", ErrMalformed))
		}
		if top && t.Group() == 0x0002 {
			// Group 0002 is the File Meta's (PS3.10 7.1). Kept where it is, but Write refuses a
			// data set holding it (ErrMetaInDataset).
			d.warn("offset %d: File Meta element %s in the data set", pos, t)
		}
		var e Element
		if err := d.readElement(ds, &e); err != nil {
			return false, err
		}
		d.append(ds, &e)
	}
	return false, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (d *decoder) append(ds *Dataset, e *Element) {
	n := len(ds.Elements)
	if n == 0 || ds.Elements[n-1].Tag < e.Tag {
		ds.Elements = append(ds.Elements, *e)
		return
	}
	if i, ok := ds.index(e.Tag); ok {
		d.warn("offset %d: duplicate element %s ignored (the first one is kept)", e.Offset, e.Tag)
		_ = i
		return
	}
	d.warn("offset %d: element %s out of order", e.Offset, e.Tag)
	ds.Set(*e)
}

func sortElements(ds *Dataset) {
	els := ds.Elements
	ds.Elements = make([]Element, 0, len(els))
	for _, e := range els {
		if _, ok := ds.index(e.Tag); !ok {
			ds.Set(e)
		}
	}
}

func (d *decoder) u16(b []byte) uint16 {
	if d.bigEndian {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (d *decoder) u32(b []byte) uint32 {
	if d.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (d *decoder) tagOf(h []byte) tag.Tag {
	return tag.New(d.u16(h), d.u16(h[2:]))
}

// readElement reads one element header and its value. ds is the data set it belongs to (for
// VR resolution and character sets).
func (d *decoder) readElement(ds *Dataset, e *Element) error {
	pos := d.src.pos()
	d.elements++
	if d.elements > d.lim.MaxElements {
		return d.errAt(pos, 0, false, fmt.Errorf("%w: more than %d elements", ErrLimit, d.lim.MaxElements))
	}
	h, err := d.src.take(8)
	if err != nil {
		return d.errAt(pos, 0, false, fmt.Errorf("%w: element header", ErrTruncated))
	}
	t := d.tagOf(h)
	var v vr.VR
	var length uint32
	explicit := !d.implicit
	if explicit {
		var ok bool
		v, ok = vr.Parse(h[4], h[5])
		switch {
		case ok && v.LongLength():
			ext, err := d.src.take(4)
			if err != nil {
				return d.errAt(pos, t, true, fmt.Errorf("%w: element header", ErrTruncated))
			}
			length = d.u32(ext)
		case ok:
			length = uint32(d.u16(h[6:]))
		default:
			// Not a VR: read the header as implicit VR, as DCMTK does.
			d.warn("offset %d: element %s has invalid VR bytes %q; read as implicit VR", pos, t, h[4:6])
			length = d.u32(h[4:])
			v = d.dictVR(t, length)
			explicit = false
		}
	} else {
		length = d.u32(h[4:])
		v = d.dictVR(t, length)
	}
	*e = Element{Tag: t, VR: v, Length: length, Offset: d.src.pos()}
	return d.readValue(ds, e, explicit)
}

// dictVR returns the VR of t for implicit VR reading (PS3.5 Annex A.1).
func (d *decoder) dictVR(t tag.Tag, length uint32) vr.VR {
	info, ok := tag.Lookup(t)
	if !ok || info.VR == 0 {
		return vr.UN
	}
	if info.AltVR == 0 {
		return info.VR
	}
	switch {
	case (info.VR == vr.OB || info.VR == vr.OW) && (info.AltVR == vr.OB || info.AltVR == vr.OW):
		return vr.OW
	case info.VR == vr.US && info.AltVR == vr.SS, info.VR == vr.SS && info.AltVR == vr.US:
		if d.pixelRep == 1 {
			return vr.SS
		}
		return vr.US
	case info.AltVR == vr.OW:
		// "US or SS or OW" (LUT Data): OW when the value would not fit a 16-bit length.
		if length > 0xFFFE && length != UndefinedLength {
			return vr.OW
		}
		if d.pixelRep == 1 && info.VR == vr.US {
			return vr.SS
		}
		return info.VR
	}
	return info.VR
}

func (d *decoder) readValue(ds *Dataset, e *Element, explicit bool) error {
	t := e.Tag
	if e.Length == UndefinedLength {
		switch {
		case e.VR == vr.SQ:
			return d.readSequence(ds, e, false)
		case t == tag.PixelData || ((e.VR == vr.OB || e.VR == vr.OW) && explicit):
			return d.readFragments(e)
		case e.VR == vr.UN && explicit:
			// PS3.5 6.2.2: an undefined-length UN holds a sequence in Implicit VR Little Endian.
			return d.readSequence(ds, e, true)
		default:
			// Implicit VR (or an unknown tag): a delimited value can only be a sequence.
			if !d.implicit {
				// In an explicit syntax, a VR that cannot be delimited (SV, UT, ...) or invalid
				// VR bytes: the items are in the data set's syntax, which makes this an SQ, as
				// the writer writes it. Kept as a UN it would even be written with Implicit VR
				// Little Endian items (PS3.5 6.2.2), and read back differently.
				d.warn("offset %d: element %s of VR %s and undefined length read as a sequence", e.Offset, t, e.VR)
				e.VR = vr.SQ
			}
			return d.readSequence(ds, e, false)
		}
	}
	if e.VR == vr.SQ {
		return d.readSequence(ds, e, false)
	}
	n := int64(e.Length)
	if rem := d.src.remaining(); rem >= 0 && n > rem {
		return d.errAt(e.Offset-headerLen(explicit, e.VR), t, true,
			fmt.Errorf("%w: value length %d exceeds the %d bytes left", ErrTruncated, n, rem))
	}
	if !d.canRange && n > d.lim.MaxInflated {
		return d.errAt(e.Offset, t, true, fmt.Errorf("%w: value length %d over the inflated size limit of %d", ErrLimit, n, d.lim.MaxInflated))
	}
	if d.lim.MaxValueLength > 0 && n > d.lim.MaxValueLength {
		return d.errAt(e.Offset, t, true, fmt.Errorf("%w: value length %d over the limit of %d", ErrLimit, n, d.lim.MaxValueLength))
	}
	if d.opts.BulkThreshold > 0 && n > d.opts.BulkThreshold && (d.opts.KeepInline == nil || !d.opts.KeepInline(t, n)) {
		e.Bulk = true
		e.BigEndian = d.bigEndian
		if !d.canRange {
			e.Offset = -1
		}
		if err := d.bulk(e, n); err != nil {
			return err
		}
		return nil
	}
	b, err := d.src.value(n)
	if err != nil {
		return d.errAt(e.Offset, t, true, d.wrapRead(err, fmt.Sprintf("value of %d bytes", n)))
	}
	if d.bigEndian {
		b = swapValue(b, e.VR, d.src)
	}
	e.Value = b
	if !d.canRange {
		e.Offset = -1
	}
	if e.VR == vr.UN && !explicit && len(b) >= 8 && !d.bigEndian &&
		binary.LittleEndian.Uint32(b) == uint32(tag.Item>>16|(tag.Item&0xFFFF)<<16) {
		d.trySequence(ds, e)
	}
	switch t {
	case tag.PixelRepresentation:
		if len(b) >= 2 {
			d.pixelRep = int(binary.LittleEndian.Uint16(b))
		}
	}
	return nil
}

func (d *decoder) wrapRead(err error, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w inside a %s", ErrTruncated, what)
	}
	return err
}

func headerLen(explicit bool, v vr.VR) int64 {
	if explicit && v.LongLength() {
		return 12
	}
	return 8
}

func (d *decoder) bulk(e *Element, n int64) error {
	if d.opts.BulkHandler != nil {
		r := d.src.stream(n)
		// The handler gets a copy: the element being read lives on the decoder's stack.
		ec := *e
		if err := d.opts.BulkHandler(&ec, r); err != nil {
			return d.errAt(e.Offset, e.Tag, true, err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return d.errAt(e.Offset, e.Tag, true, err)
		}
		if d.src.pos() != e.Offset+n && d.canRange {
			return d.errAt(e.Offset, e.Tag, true, fmt.Errorf("%w inside a bulk value", ErrTruncated))
		}
		return nil
	}
	if err := d.src.skip(n); err != nil {
		return d.errAt(e.Offset, e.Tag, true, d.wrapRead(err, fmt.Sprintf("value of %d bytes", n)))
	}
	return nil
}

// swapValue converts a big endian value to little endian. Values from a byte slice are copied
// first, never swapped in the caller's memory.
func swapValue(b []byte, v vr.VR, src source) []byte {
	w := v.SwapWidth()
	if w == 1 || len(b) < w {
		return b
	}
	if _, aliased := src.(*bytesSource); aliased {
		b = append([]byte(nil), b...)
	}
	swapInPlace(b, w)
	return b
}

func swapInPlace(b []byte, w int) {
	switch w {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			for j := 0; j < 4; j++ {
				b[i+j], b[i+7-j] = b[i+7-j], b[i+j]
			}
		}
	}
}

// trySequence re-reads the value of an unknown element met in Implicit VR that starts with an
// item tag: in Implicit VR a private sequence of defined length cannot be told from bytes by its
// header alone. When the value parses as items, e becomes a sequence (VR SQ); otherwise it stays
// bytes.
func (d *decoder) trySequence(ds *Dataset, e *Element) {
	sub := newDecoder(&bytesSource{b: e.Value, base: e.Offset}, ReadOptions{Limits: d.lim})
	sub.implicit = true
	sub.depth = d.depth
	sub.canRange = d.canRange
	probe := Element{Tag: e.Tag, VR: vr.SQ, Length: e.Length, Offset: e.Offset}
	if err := sub.readSequence(ds, &probe, false); err != nil || sub.src.remaining() != 0 {
		return
	}
	e.VR = vr.SQ
	e.Items = probe.Items
	e.Value = nil
	d.elements += sub.elements
}

// readSequence reads the items of e. implicitLE switches the items to Implicit VR Little Endian
// (an undefined-length UN).
func (d *decoder) readSequence(ds *Dataset, e *Element, implicitLE bool) error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > d.lim.MaxDepth {
		return d.errAt(e.Offset, e.Tag, true, fmt.Errorf("%w: sequences nested deeper than %d", ErrLimit, d.lim.MaxDepth))
	}
	if implicitLE {
		saveI, saveB := d.implicit, d.bigEndian
		d.implicit, d.bigEndian = true, false
		defer func() { d.implicit, d.bigEndian = saveI, saveB }()
	}
	end := int64(-1)
	if e.Length != UndefinedLength {
		end = e.Offset + int64(e.Length)
		if rem := d.src.remaining(); rem >= 0 && int64(e.Length) > rem {
			return d.errAt(e.Offset, e.Tag, true, fmt.Errorf("%w: sequence length %d exceeds the %d bytes left", ErrTruncated, e.Length, rem))
		}
	}
	e.Items = []*Dataset{}
	if !d.canRange {
		e.Offset = -1
	}
	for {
		pos := d.src.pos()
		if end >= 0 && pos >= end {
			if pos > end {
				return d.errAt(pos, e.Tag, true, fmt.Errorf("%w: sequence overruns its length by %d bytes", ErrMalformed, pos-end))
			}
			return nil
		}
		h, err := d.src.take(8)
		if err != nil {
			return d.errAt(pos, e.Tag, true, fmt.Errorf("%w: sequence %s not closed", ErrTruncated, e.Tag))
		}
		it := d.tagOf(h)
		l := d.u32(h[4:])
		switch it {
		case tag.SequenceDelimitationItem:
			if end >= 0 {
				d.warn("offset %d: Sequence Delimitation Item in a sequence of defined length", pos)
			}
			return nil
		case tag.Item:
		default:
			return d.errAt(pos, e.Tag, true, fmt.Errorf("%w: expected an item in sequence %s, found tag %s", ErrMalformed, e.Tag, it))
		}
		item := &Dataset{Length: l, Offset: d.src.pos(), parent: ds}
		if !d.canRange {
			item.Offset = -1
		}
		itemEnd := int64(-1)
		if l != UndefinedLength {
			itemEnd = d.src.pos() + int64(l)
			if rem := d.src.remaining(); rem >= 0 && int64(l) > rem {
				return d.errAt(pos, e.Tag, true, fmt.Errorf("%w: item length %d exceeds the %d bytes left", ErrTruncated, l, rem))
			}
		}
		sawSeqDelim, err := d.readDataset(item, itemEnd, false)
		e.Items = append(e.Items, item)
		if err != nil {
			return err
		}
		if sawSeqDelim {
			return nil
		}
	}
}

// readFragments reads encapsulated Pixel Data: items holding the Basic Offset Table and the
// fragments, ended by a Sequence Delimitation Item (PS3.5 A.4).
func (d *decoder) readFragments(e *Element) error {
	if !d.canRange {
		e.Offset = -1
	}
	if e.VR != vr.OB && e.VR != vr.OW && e.VR != vr.UN {
		// Encapsulated data is OB (PS3.5 A.4), which is how the writer writes it.
		d.warn("offset %d: encapsulated %s with VR %s read as OB", e.Offset, e.Tag, e.VR)
		e.VR = vr.OB
	}
	e.Fragments = make([]Fragment, 0, 4)
	for {
		pos := d.src.pos()
		if len(d.src.peek(1)) == 0 && len(e.Fragments) > 0 {
			// The input ends right after a complete fragment: keep the fragments, as pydicom and
			// fo-dicom do, and say so.
			d.warn("offset %d: encapsulated Pixel Data ends without Sequence Delimitation Item", pos)
			return nil
		}
		h, err := d.src.take(8)
		if err != nil {
			return d.errAt(pos, e.Tag, true, fmt.Errorf("%w: encapsulated pixel data without Sequence Delimitation Item", ErrTruncated))
		}
		it := d.tagOf(h)
		l := d.u32(h[4:])
		switch it {
		case tag.SequenceDelimitationItem:
			return nil
		case tag.Item:
		default:
			return d.errAt(pos, e.Tag, true, fmt.Errorf("%w: expected a fragment item, found tag %s", ErrMalformed, it))
		}
		if l == UndefinedLength {
			return d.errAt(pos, e.Tag, true, fmt.Errorf("%w: fragment of undefined length", ErrMalformed))
		}
		n := int64(l)
		if rem := d.src.remaining(); rem >= 0 && n > rem {
			return d.errAt(pos, e.Tag, true, fmt.Errorf("%w: fragment length %d exceeds the %d bytes left", ErrTruncated, n, rem))
		}
		fr := Fragment{Offset: d.src.pos(), Length: l}
		if !d.canRange {
			fr.Offset = -1
		}
		if d.opts.BulkThreshold > 0 && n > d.opts.BulkThreshold {
			fr.Bulk = true
			if d.opts.BulkHandler != nil {
				fe := &Element{Tag: e.Tag, VR: e.VR, Offset: fr.Offset, Length: l, Bulk: true}
				if err := d.bulk(fe, n); err != nil {
					return err
				}
			} else if err := d.src.skip(n); err != nil {
				return d.errAt(pos, e.Tag, true, d.wrapRead(err, "fragment"))
			}
		} else {
			b, err := d.src.value(n)
			if err != nil {
				return d.errAt(pos, e.Tag, true, d.wrapRead(err, "fragment"))
			}
			fr.Data = b
		}
		e.Fragments = append(e.Fragments, fr)
	}
}

var _ = bytes.MinRead
