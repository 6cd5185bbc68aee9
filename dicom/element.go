package dicom

import (
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// UndefinedLength is the value length 0xFFFFFFFF that marks a sequence, item or encapsulated
// Pixel Data delimited by markers instead of a byte count (PS3.5 7.1.1).
const UndefinedLength = 0xFFFFFFFF

// Element is one data element (PS3.5 7.1).
//
// Value holds the raw value bytes, little endian whatever the source's byte order, in the data
// set's character set, with padding as received; the typed accessors of Dataset decode it. Values
// larger than the reader's bulk threshold are not loaded: then Bulk is true and Offset and Length
// locate the value in the source, so that it can be read later with a ranged read.
type Element struct {
	Tag tag.Tag
	VR  vr.VR
	// Value is the value, nil for sequences, encapsulated data and bulk data left in the source.
	Value []byte
	// Items of a sequence (VR SQ, or VR UN of undefined length, which PS3.5 6.2.2 says holds a
	// sequence encoded in Implicit VR Little Endian).
	Items []*Dataset
	// Fragments of encapsulated Pixel Data (PS3.5 A.4). Fragments[0] is the Basic Offset Table item,
	// possibly empty.
	Fragments []Fragment
	// Offset is the position of the value in the source, counted from the first byte of the source
	// (the preamble, when there is one); -1 for elements not read from a source.
	Offset int64
	// Length is the value length in bytes as encoded (UndefinedLength for sequences and encapsulated
	// data of undefined length).
	Length uint32
	// Bulk reports that the value was left in the source (see Offset and Length).
	Bulk bool
	// BigEndian reports that a Bulk value in the source is big endian and must be swapped.
	BigEndian bool
}

// Fragment is one item of encapsulated Pixel Data.
type Fragment struct {
	// Offset of the fragment's bytes in the source, -1 if not from a source.
	Offset int64
	Length uint32
	// Data holds the fragment, nil when left in the source (Bulk).
	Data []byte
	Bulk bool
}

// IsSequence reports whether e holds items rather than a value.
func (e *Element) IsSequence() bool {
	return e.VR == vr.SQ || e.Items != nil
}

// IsEncapsulated reports whether e is encapsulated Pixel Data made of fragments.
func (e *Element) IsEncapsulated() bool {
	return e.Fragments != nil
}

// UndefinedLen reports whether e is encoded with undefined length.
func (e *Element) UndefinedLen() bool { return e.Length == UndefinedLength }

// ValueVR returns the VR by which e's value is interpreted: its own VR, or for VR UN the
// dictionary's VR when the dictionary knows the tag (PS3.5 6.2.2 note: a UN value holds the bytes
// of the value in little endian, so a reader that knows the element may decode it).
func (e *Element) ValueVR() vr.VR {
	if e.VR != vr.UN {
		return e.VR
	}
	if info, ok := tag.Lookup(e.Tag); ok && info.VR != 0 {
		return info.VR
	}
	return vr.UN
}

// NewElement returns an element with the given value bytes (little endian, already encoded).
func NewElement(t tag.Tag, v vr.VR, value []byte) Element {
	return Element{Tag: t, VR: v, Value: value, Length: uint32(len(value)), Offset: -1}
}

// NewSequence returns a sequence element of defined length holding items.
func NewSequence(t tag.Tag, items ...*Dataset) Element {
	if items == nil {
		items = []*Dataset{}
	}
	return Element{Tag: t, VR: vr.SQ, Items: items, Offset: -1}
}
