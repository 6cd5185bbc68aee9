package dicom

import (
	"sort"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Dataset is an ordered collection of data elements (PS3.5 section 7): a whole data set, the File
// Meta Information, or one item of a sequence. Elements are kept in ascending tag order, the order
// PS3.5 7.1 requires, and iteration follows it.
//
// A Dataset is not safe for concurrent modification; concurrent reads are safe.
type Dataset struct {
	// Elements in ascending tag order. Modify through Set and Remove to keep the order.
	Elements []Element
	// Length is the item length as encoded (UndefinedLength for an item ended by an Item
	// Delimitation Item); writers keep an item's undefined length and recompute defined ones.
	Length uint32
	// Offset is the position of the item's first element in the source, -1 if none.
	Offset int64
	// parent is the data set holding the sequence this item belongs to: an item without its own
	// Specific Character Set uses its parent's (PS3.5 7.5.3).
	parent *Dataset
}

// NewDataset returns an empty data set holding elems, sorted by tag.
func NewDataset(elems ...Element) *Dataset {
	ds := &Dataset{Offset: -1}
	for _, e := range elems {
		ds.Set(e)
	}
	return ds
}

// NewItem returns an empty sequence item of defined length.
func NewItem(elems ...Element) *Dataset { return NewDataset(elems...) }

// Len returns the number of elements.
func (ds *Dataset) Len() int { return len(ds.Elements) }

func (ds *Dataset) index(t tag.Tag) (int, bool) {
	els := ds.Elements
	// Data sets are short; a binary search beats a map and allocates nothing.
	i := sort.Search(len(els), func(i int) bool { return els[i].Tag >= t })
	return i, i < len(els) && els[i].Tag == t
}

// Element returns the element with tag t, or nil.
func (ds *Dataset) Element(t tag.Tag) *Element {
	if ds == nil {
		return nil
	}
	if i, ok := ds.index(t); ok {
		return &ds.Elements[i]
	}
	return nil
}

// elements returns ds's elements, nil for a nil ds.
func (ds *Dataset) elements() []Element {
	if ds == nil {
		return nil
	}
	return ds.Elements
}

// Has reports whether ds holds t.
func (ds *Dataset) Has(t tag.Tag) bool { return ds.Element(t) != nil }

// Set inserts e, replacing an element with the same tag.
func (ds *Dataset) Set(e Element) {
	i, ok := ds.index(e.Tag)
	if ok {
		ds.Elements[i] = e
	} else {
		ds.Elements = append(ds.Elements, Element{})
		copy(ds.Elements[i+1:], ds.Elements[i:])
		ds.Elements[i] = e
	}
	for _, it := range e.Items {
		if it != nil {
			it.parent = ds
		}
	}
}

// Remove deletes the element with tag t and reports whether it was there.
func (ds *Dataset) Remove(t tag.Tag) bool {
	i, ok := ds.index(t)
	if !ok {
		return false
	}
	ds.Elements = append(ds.Elements[:i], ds.Elements[i+1:]...)
	return true
}

// Parent returns the data set that holds the sequence containing item ds, or nil.
func (ds *Dataset) Parent() *Dataset { return ds.parent }

// AddItem appends item to the sequence t, creating the sequence when absent.
func (ds *Dataset) AddItem(t tag.Tag, item *Dataset) {
	e := ds.Element(t)
	if e == nil {
		ds.Set(NewSequence(t, item))
		return
	}
	e.Items = append(e.Items, item)
	item.parent = ds
}

// PrivateCreator returns the private creator that reserves the block of private element t, or "".
func (ds *Dataset) PrivateCreator(t tag.Tag) string {
	ct, ok := t.PrivateCreator()
	if !ok {
		return ""
	}
	return ds.String(ct)
}

// PrivateTag returns the tag of the private element offset (0x00-0xFF) in the block that creator
// reserves in group, and false when ds holds no such private creator (PS3.5 7.8.1).
func (ds *Dataset) PrivateTag(group uint16, creator string, offset uint8) (tag.Tag, bool) {
	for x := uint16(0x10); x <= 0xFF; x++ {
		e := ds.Element(tag.New(group, x))
		if e == nil {
			continue
		}
		if ds.String(e.Tag) == creator {
			return tag.New(group, x<<8|uint16(offset)), true
		}
	}
	return 0, false
}

// Walk calls fn for every element of ds in order, descending into sequence items depth first.
// Returning false from fn skips the element's items.
func (ds *Dataset) Walk(fn func(path []tag.Tag, e *Element) bool) {
	var path []tag.Tag
	var walk func(d *Dataset)
	walk = func(d *Dataset) {
		for i := range d.Elements {
			e := &d.Elements[i]
			if !fn(path, e) {
				continue
			}
			if len(e.Items) > 0 {
				path = append(path, e.Tag)
				for _, it := range e.Items {
					walk(it)
				}
				path = path[:len(path)-1]
			}
		}
	}
	walk(ds)
}

// Clone returns a deep copy of ds's structure; value byte slices are shared, not copied.
func (ds *Dataset) Clone() *Dataset {
	if ds == nil {
		return nil
	}
	c := &Dataset{Length: ds.Length, Offset: ds.Offset, parent: ds.parent}
	c.Elements = make([]Element, len(ds.Elements))
	copy(c.Elements, ds.Elements)
	for i := range c.Elements {
		e := &c.Elements[i]
		if e.Items != nil {
			items := make([]*Dataset, len(e.Items))
			for j, it := range e.Items {
				items[j] = it.Clone()
				items[j].parent = c
			}
			e.Items = items
		}
		if e.Fragments != nil {
			e.Fragments = append([]Fragment(nil), e.Fragments...)
		}
	}
	return c
}

// isSorted reports whether the elements are in strictly ascending tag order.
func isSorted(els []Element) bool {
	for i := 1; i < len(els); i++ {
		if els[i].Tag <= els[i-1].Tag {
			return false
		}
	}
	return true
}

var _ = vr.SQ
