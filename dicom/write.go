package dicom

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Implementation identity written into the File Meta of files this package creates (PS3.7 D.3.3.2).
const (
	ImplementationClassUID    = "1.2.826.0.1.3680043.10.1471.1"
	ImplementationVersionName = "LIGHTBOX_01"
)

// WriteOptions control a write. The zero value is valid.
type WriteOptions struct {
	// BulkSource supplies the values of elements and fragments left in the source (Bulk), read
	// at their Offset. Writing such an element without a BulkSource is an error.
	BulkSource io.ReaderAt
	// DeflateLevel for the Deflated Explicit VR Little Endian syntax (default flate.DefaultCompression).
	DeflateLevel int
}

// ErrUnsupportedSyntax is returned when asked to encode a data set in a transfer syntax that needs
// a pixel codec (see the codec packages for transcoding).
var ErrUnsupportedSyntax = errors.New("transfer syntax needs a pixel data codec")

// ErrMetaInDataset is returned by Write when the data set holds File Meta elements (group 0002)
// or the File Meta holds elements of another group. A Part 10 reader takes every group 0002
// element that follows the preamble as File Meta, encoded in Explicit VR Little Endian
// (PS3.10 7.1), so such a file would not read back as written. Move the elements to File.Meta or
// remove them; pydicom refuses such data sets the same way.
var ErrMetaInDataset = errors.New("group 0002 elements belong in the File Meta, and only they do")

// Write writes f as a Part 10 file: preamble (f.Preamble or 128 zero bytes), "DICM", File Meta
// Information with a recomputed group length, and the data set in f.Syntax. When f.Meta is nil a
// File Meta is made from the data set (see NewMeta).
func Write(w io.Writer, f *File, opts WriteOptions) error {
	syn := f.Syntax
	if syn.UID == "" {
		syn = SyntaxOf(ExplicitVRLittleEndian)
	}
	meta := f.Meta
	if meta == nil {
		meta = NewMeta(f.Dataset, syn.UID)
	} else if trimUID(meta.String(tag.TransferSyntaxUID)) != syn.UID {
		meta = meta.Clone()
		if err := meta.SetString(tag.TransferSyntaxUID, vr.UI, syn.UID); err != nil {
			return err
		}
	}
	if err := checkPixelSyntax(f.Dataset, syn); err != nil {
		return err
	}
	if err := checkMetaGroups(meta, f.Dataset); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	pre := f.Preamble
	if len(pre) != 128 {
		pre = make([]byte, 128)
	}
	if _, err := bw.Write(pre); err != nil {
		return err
	}
	if _, err := bw.WriteString("DICM"); err != nil {
		return err
	}
	if err := writeMeta(bw, meta, opts); err != nil {
		return err
	}
	if err := encodeDataset(bw, f.Dataset, syn, opts); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteHeader writes the start of a Part 10 file: the preamble (128 zero bytes when nil),
// "DICM" and the File Meta Information with a recomputed group length, and no data set. A
// writer that streams the data set itself, in whatever syntax meta names, follows it with the
// data set's bytes.
func WriteHeader(w io.Writer, preamble []byte, meta *Dataset) error {
	bw := bufio.NewWriterSize(w, 4<<10)
	if len(preamble) != 128 {
		preamble = make([]byte, 128)
	}
	if err := checkMetaGroups(meta, nil); err != nil {
		return err
	}
	bw.Write(preamble)
	bw.WriteString("DICM")
	if err := writeMeta(bw, meta, WriteOptions{}); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteFile writes f to path atomically: a temporary file in the same directory, synced, then
// renamed over path.
func WriteFile(path string, f *File, opts WriteOptions) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lightbox-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, f, opts); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteDataset writes ds as a bare data set in the transfer syntax uid (no preamble, no File Meta):
// the form DIMSE carries.
func WriteDataset(w io.Writer, ds *Dataset, uid string, opts WriteOptions) error {
	if err := checkPixelSyntax(ds, SyntaxOf(uid)); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	if err := encodeDataset(bw, ds, SyntaxOf(uid), opts); err != nil {
		return err
	}
	return bw.Flush()
}

// checkPixelSyntax refuses to write encapsulated Pixel Data in a native syntax and native Pixel
// Data in an encapsulated one: that takes a codec, not a re-encoding of the data set.
func checkPixelSyntax(ds *Dataset, syn Syntax) error {
	e := ds.Element(tag.PixelData)
	if e == nil {
		return nil
	}
	switch {
	case e.Fragments != nil && !syn.Encapsulated:
		return fmt.Errorf("%w: encapsulated Pixel Data cannot be written as %s without decoding it", ErrUnsupportedSyntax, syn.UID)
	case e.Fragments == nil && syn.Encapsulated && (e.Value != nil || e.Bulk):
		return fmt.Errorf("%w: native Pixel Data cannot be written as %s without encoding it", ErrUnsupportedSyntax, syn.UID)
	}
	return nil
}

// checkMetaGroups refuses File Meta elements in the data set and other elements in the File
// Meta: see ErrMetaInDataset. ds may be nil. Elements are sorted, so the data set's first ones
// are enough.
func checkMetaGroups(meta, ds *Dataset) error {
	for _, e := range ds.elements() {
		if e.Tag.Group() > 0x0002 {
			break
		}
		if e.Tag.Group() == 0x0002 {
			return fmt.Errorf("%w: data set holds %s", ErrMetaInDataset, e.Tag)
		}
	}
	for _, e := range meta.elements() {
		if e.Tag.Group() != 0x0002 {
			return fmt.Errorf("%w: File Meta holds %s", ErrMetaInDataset, e.Tag)
		}
	}
	return nil
}

// SetSyntax changes the transfer syntax f will be written in, and its File Meta. Between the
// native syntaxes (implicit, explicit little and big endian, deflated) this is a lossless
// re-encoding; to or from an encapsulated syntax it needs a codec and fails with
// ErrUnsupportedSyntax.
func (f *File) SetSyntax(uid string) error {
	syn := SyntaxOf(uid)
	if syn.Encapsulated != f.Syntax.Encapsulated || (syn.Encapsulated && syn.UID != f.Syntax.UID) {
		if err := checkPixelSyntax(f.Dataset, syn); err != nil {
			return err
		}
	}
	f.Syntax = syn
	if f.Meta != nil {
		return f.Meta.SetString(tag.TransferSyntaxUID, vr.UI, syn.UID)
	}
	return nil
}

// NewMeta returns File Meta Information for ds in transfer syntax uid (PS3.10 7.1), naming this
// implementation.
func NewMeta(ds *Dataset, uid string) *Dataset {
	m := NewDataset()
	m.Set(NewElement(tag.FileMetaInformationVersion, vr.OB, []byte{0, 1}))
	_ = m.SetString(tag.MediaStorageSOPClassUID, vr.UI, ds.String(tag.SOPClassUID))
	_ = m.SetString(tag.MediaStorageSOPInstanceUID, vr.UI, ds.String(tag.SOPInstanceUID))
	_ = m.SetString(tag.TransferSyntaxUID, vr.UI, uid)
	_ = m.SetString(tag.ImplementationClassUID, vr.UI, ImplementationClassUID)
	_ = m.SetString(tag.ImplementationVersionName, vr.SH, ImplementationVersionName)
	return m
}

func writeMeta(w *bufio.Writer, meta *Dataset, opts WriteOptions) error {
	e := encoder{w: w, opts: opts}
	le := SyntaxOf(ExplicitVRLittleEndian)
	els := meta.elements()
	var n int64
	for i := range els {
		el := &els[i]
		if el.Tag == 0x00020000 {
			continue
		}
		n += e.elementLen(el, le)
	}
	var gl [4]byte
	binary.LittleEndian.PutUint32(gl[:], uint32(n))
	if err := e.element(&Element{Tag: 0x00020000, VR: vr.UL, Value: gl[:]}, le); err != nil {
		return err
	}
	for i := range els {
		el := &els[i]
		if el.Tag == 0x00020000 {
			continue
		}
		if err := e.element(el, le); err != nil {
			return err
		}
	}
	return e.err
}

func encodeDataset(w *bufio.Writer, ds *Dataset, syn Syntax, opts WriteOptions) error {
	if syn.Deflated {
		level := opts.DeflateLevel
		if level == 0 {
			level = flate.DefaultCompression
		}
		fw, err := flate.NewWriter(w, level)
		if err != nil {
			return err
		}
		inner := bufio.NewWriterSize(fw, 32<<10)
		e := encoder{w: inner, opts: opts}
		if err := e.dataset(ds, SyntaxOf(ExplicitVRLittleEndian)); err != nil {
			return err
		}
		if err := inner.Flush(); err != nil {
			return err
		}
		return fw.Close()
	}
	e := encoder{w: w, opts: opts}
	return e.dataset(ds, syn)
}

type encoder struct {
	w    *bufio.Writer
	opts WriteOptions
	buf  [12]byte
	err  error
}

func (e *encoder) u16(b []byte, v uint16, be bool) {
	if be {
		binary.BigEndian.PutUint16(b, v)
	} else {
		binary.LittleEndian.PutUint16(b, v)
	}
}

func (e *encoder) u32(b []byte, v uint32, be bool) {
	if be {
		binary.BigEndian.PutUint32(b, v)
	} else {
		binary.LittleEndian.PutUint32(b, v)
	}
}

// recomputedGroupLength reports whether the writer replaces el by a recomputed group length: a
// group length (gggg,0000) outside the File Meta holding a 4-byte value. It is always written as
// UL, the VR PS3.5 7.2 gives group lengths, whatever VR it was read with.
func recomputedGroupLength(el *Element) bool {
	return el.Tag.IsGroupLength() && el.Tag.Group() != 0x0002 && len(el.Value) == 4 && el.Items == nil && el.Fragments == nil
}

// dataset writes the elements of ds, recomputing group lengths (gggg,0000) that ds holds.
func (e *encoder) dataset(ds *Dataset, syn Syntax) error {
	for i := range ds.Elements {
		el := &ds.Elements[i]
		if recomputedGroupLength(el) {
			n := e.groupLen(ds, i, syn)
			var gl [4]byte
			binary.LittleEndian.PutUint32(gl[:], uint32(n))
			if err := e.element(&Element{Tag: el.Tag, VR: vr.UL, Value: gl[:]}, syn); err != nil {
				return err
			}
			continue
		}
		if err := e.element(el, syn); err != nil {
			return err
		}
	}
	return e.err
}

func (e *encoder) groupLen(ds *Dataset, i int, syn Syntax) int64 {
	g := ds.Elements[i].Tag.Group()
	var n int64
	for j := i + 1; j < len(ds.Elements) && ds.Elements[j].Tag.Group() == g; j++ {
		n += e.elementLen(&ds.Elements[j], syn)
	}
	return n
}

// writeVR returns the VR to write for el in an explicit syntax.
func writeVR(el *Element) vr.VR {
	v := el.VR
	if v == 0 {
		return vr.UN
	}
	if el.Items != nil && v != vr.SQ && v != vr.UN {
		return vr.SQ
	}
	return v
}

// valueLen returns the encoded (padded) length of el's value, or UndefinedLength.
func (e *encoder) valueLen(el *Element, syn Syntax) int64 {
	switch {
	case el.Items != nil:
		if el.Length == UndefinedLength || (el.VR == vr.UN) {
			return UndefinedLength
		}
		var n int64
		inner := syn
		for _, it := range el.Items {
			n += 8 + e.itemLen(it, inner)
			if it.Length == UndefinedLength {
				n += 8
			}
		}
		return n
	case el.Fragments != nil:
		return UndefinedLength
	case el.Bulk:
		return int64(el.Length) + int64(el.Length&1)
	}
	return int64(len(el.Value) + len(el.Value)&1)
}

func (e *encoder) itemLen(it *Dataset, syn Syntax) int64 {
	var n int64
	for i := range it.Elements {
		n += e.elementLen(&it.Elements[i], syn)
	}
	return n
}

// elementLen returns the total encoded size of el (header, value, delimiters).
func (e *encoder) elementLen(el *Element, syn Syntax) int64 {
	if recomputedGroupLength(el) {
		return 8 + 4 // written as UL whatever its VR, see dataset
	}
	hdr := int64(8)
	v := writeVR(el)
	if !syn.Implicit && v.LongLength() {
		hdr = 12
	}
	switch {
	case el.Items != nil:
		items := syn
		if el.VR == vr.UN {
			items = SyntaxOf(ImplicitVRLittleEndian)
		}
		var n int64
		for _, it := range el.Items {
			n += 8 + e.itemLen(it, items)
			if it.Length == UndefinedLength {
				n += 8
			}
		}
		if el.Length == UndefinedLength || el.VR == vr.UN {
			n += 8
		}
		if !syn.Implicit && !v.LongLength() {
			hdr = 12
		}
		return hdr + n
	case el.Fragments != nil:
		n := int64(8) // sequence delimiter
		for _, f := range el.Fragments {
			l := int64(f.Length)
			if !f.Bulk {
				l = int64(len(f.Data))
			}
			n += 8 + l + l&1
		}
		return hdr + n
	}
	n := e.valueLen(el, syn)
	if !syn.Implicit && !v.LongLength() && n > 0xFFFE {
		hdr = 12 // written as UN, see element
	}
	return hdr + n
}

func (e *encoder) header(t tag.Tag, v vr.VR, length uint32, syn Syntax) error {
	be := syn.BigEndian
	b := e.buf[:]
	e.u16(b[0:], t.Group(), be)
	e.u16(b[2:], t.Element(), be)
	if syn.Implicit || isDelimiter(t) {
		e.u32(b[4:], length, be)
		_, err := e.w.Write(b[:8])
		return err
	}
	b[4], b[5] = byte(v>>8), byte(v)
	if v.LongLength() {
		b[6], b[7] = 0, 0
		e.u32(b[8:], length, be)
		_, err := e.w.Write(b[:12])
		return err
	}
	e.u16(b[6:], uint16(length), be)
	_, err := e.w.Write(b[:8])
	return err
}

// isDelimiter reports whether t is an item or delimitation tag, which PS3.5 7.5 encodes without
// a VR in every syntax. Other elements of group FFFE, however odd, have ordinary headers.
func isDelimiter(t tag.Tag) bool {
	return t == tag.Item || t == tag.ItemDelimitationItem || t == tag.SequenceDelimitationItem
}

func (e *encoder) element(el *Element, syn Syntax) error {
	v := writeVR(el)
	switch {
	case el.Items != nil:
		return e.sequence(el, v, syn)
	case el.Fragments != nil:
		return e.fragments(el, v, syn)
	}
	n := e.valueLen(el, syn)
	bigEndian := syn.BigEndian
	if !syn.Implicit && !v.LongLength() && n > 0xFFFE {
		// A value too long for a 16-bit length can only be written as UN (PS3.5 6.2.2). Its
		// bytes stay little endian even in Explicit VR Big Endian: readers do not swap UN.
		v = vr.UN
		bigEndian = false
	}
	if err := e.header(el.Tag, v, uint32(n), syn); err != nil {
		return err
	}
	if el.Bulk {
		return e.bulk(el, bigEndian)
	}
	if len(el.Value)&1 == 1 && bigEndian && el.VR.SwapWidth() > 1 {
		// An odd value of a multi-byte VR (malformed, but read all the same): pad, then swap, so
		// that a reader swapping whole numbers gets the padded value back. Swapping first would
		// leave the pad byte inside the last number.
		padded := append(append(make([]byte, 0, len(el.Value)+1), el.Value...), el.VR.Padding())
		return e.value(padded, el.VR, true)
	}
	if err := e.value(el.Value, el.VR, bigEndian); err != nil {
		return err
	}
	if len(el.Value)&1 == 1 {
		return e.w.WriteByte(el.VR.Padding())
	}
	return nil
}

func (e *encoder) value(b []byte, v vr.VR, bigEndian bool) error {
	w := v.SwapWidth()
	if !bigEndian || w == 1 {
		_, err := e.w.Write(b)
		return err
	}
	var chunk [4096]byte
	for len(b) > 0 {
		n := copy(chunk[:len(chunk)/8*8], b)
		swapInPlace(chunk[:n], w)
		if _, err := e.w.Write(chunk[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// bulk copies el's value from the source into a value of byte order bigEndian, swapping it as a
// value of el's VR when the source's order differs. An odd value is padded before it is swapped,
// as in element.
func (e *encoder) bulk(el *Element, bigEndian bool) error {
	if e.opts.BulkSource == nil || el.Offset < 0 {
		return fmt.Errorf("element %s: value left in the source and no source to copy it from", el.Tag)
	}
	r := io.NewSectionReader(e.opts.BulkSource, el.Offset, int64(el.Length))
	w := el.VR.SwapWidth()
	odd := el.Length&1 == 1
	var copied int64
	if w == 1 || (el.BigEndian == bigEndian && !(bigEndian && odd)) {
		n, err := io.Copy(e.w, r)
		if err != nil {
			return fmt.Errorf("element %s: copy bulk data: %w", el.Tag, err)
		}
		copied = n
	} else {
		var chunk [4096]byte
		for {
			n, err := io.ReadFull(r, chunk[:])
			copied += int64(n)
			last := err == io.EOF || err == io.ErrUnexpectedEOF
			// Chunks hold whole numbers but for the last: to little endian as the reader has
			// it, padded, then to the byte order written.
			if el.BigEndian {
				swapInPlace(chunk[:n], w)
			}
			if last && odd {
				// n is odd, so below len(chunk): room for the pad byte.
				chunk[n] = el.VR.Padding()
				n++
				odd = false
			}
			if bigEndian {
				swapInPlace(chunk[:n], w)
			}
			if _, werr := e.w.Write(chunk[:n]); werr != nil {
				return werr
			}
			if last {
				break
			}
			if err != nil {
				return fmt.Errorf("element %s: copy bulk data: %w", el.Tag, err)
			}
		}
	}
	if copied != int64(el.Length) {
		return fmt.Errorf("element %s: copy bulk data: %w (%d of %d bytes)", el.Tag, io.ErrUnexpectedEOF, copied, el.Length)
	}
	if odd {
		return e.w.WriteByte(el.VR.Padding())
	}
	return nil
}

func (e *encoder) sequence(el *Element, v vr.VR, syn Syntax) error {
	items := syn
	if el.VR == vr.UN {
		// An undefined-length UN holds Implicit VR Little Endian items (PS3.5 6.2.2).
		items = SyntaxOf(ImplicitVRLittleEndian)
	}
	n := e.valueLen(el, syn)
	if err := e.header(el.Tag, v, uint32(n), syn); err != nil {
		return err
	}
	for _, it := range el.Items {
		l := uint32(UndefinedLength)
		if it.Length != UndefinedLength {
			l = uint32(e.itemLen(it, items))
		}
		if err := e.header(tag.Item, 0, l, items); err != nil {
			return err
		}
		if err := e.dataset(it, items); err != nil {
			return err
		}
		if l == UndefinedLength {
			if err := e.header(tag.ItemDelimitationItem, 0, 0, items); err != nil {
				return err
			}
		}
	}
	if n == UndefinedLength {
		return e.header(tag.SequenceDelimitationItem, 0, 0, items)
	}
	return nil
}

func (e *encoder) fragments(el *Element, v vr.VR, syn Syntax) error {
	if v != vr.OB && v != vr.OW && v != vr.UN {
		v = vr.OB
	}
	if err := e.header(el.Tag, v, UndefinedLength, syn); err != nil {
		return err
	}
	for _, f := range el.Fragments {
		l := f.Length
		if !f.Bulk {
			l = uint32(len(f.Data))
		}
		if err := e.header(tag.Item, 0, l+l&1, syn); err != nil {
			return err
		}
		if f.Bulk {
			if e.opts.BulkSource == nil || f.Offset < 0 {
				return fmt.Errorf("element %s: fragment left in the source and no source to copy it from", el.Tag)
			}
			if _, err := io.Copy(e.w, io.NewSectionReader(e.opts.BulkSource, f.Offset, int64(f.Length))); err != nil {
				return fmt.Errorf("element %s: copy fragment: %w", el.Tag, err)
			}
		} else if _, err := e.w.Write(f.Data); err != nil {
			return err
		}
		if l&1 == 1 {
			if err := e.w.WriteByte(0); err != nil {
				return err
			}
		}
	}
	return e.header(tag.SequenceDelimitationItem, 0, 0, syn)
}
