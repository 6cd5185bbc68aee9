package render

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
)

// maxLUTEntries is the most entries a LUT Descriptor can declare (PS3.3 C.11.1.1: 0 means
// 2^16).
const maxLUTEntries = 1 << 16

// LUT is a lookup table of the grayscale pipeline (Modality LUT, PS3.3 C.11.1.1; VOI LUT,
// C.11.2.1.1) or one channel of a palette (C.7.6.3.1.5, C.7.6.3.1.6): Data[i] is the output for
// the input First+i; inputs below First map to Data[0], inputs past the last entry to the last
// entry.
type LUT struct {
	// First is the first input value mapped (the second value of the LUT Descriptor, signed
	// when the input is).
	First int
	// Bits is the number of bits of the output values: they range over 0 … 2^Bits − 1.
	Bits int
	// Data holds the entries, 1 to 65536 of them.
	Data []uint16
}

// index returns the entry for input x.
func (t *LUT) index(x int) int {
	i := x - t.First
	if i < 0 {
		return 0
	}
	if i >= len(t.Data) {
		return len(t.Data) - 1
	}
	return i
}

// at returns the output for input x.
func (t *LUT) at(x int) uint16 { return t.Data[t.index(x)] }

// maxOut is the largest output value, 2^Bits − 1.
func (t *LUT) maxOut() float64 { return float64(uint32(1)<<uint(t.Bits) - 1) }

// descriptor reads a LUT Descriptor (PS3.3 C.11.1.1.1, C.7.6.3.1.5): the number of entries (0
// meaning 65536; always unsigned), the first value mapped (signed when signed is set: "the
// first value mapped ... shall be ... SS when Pixel Representation is 1"), and the bits per
// entry. The value is read as three 16-bit words whatever its VR (US or SS).
func descriptor(e *dicom.Element, signed bool) (entries, first, nbits int, err error) {
	if e == nil || len(e.Value) < 6 {
		return 0, 0, 0, fmt.Errorf("%w: LUT Descriptor missing or shorter than three values", ErrInvalid)
	}
	entries = int(binary.LittleEndian.Uint16(e.Value))
	if entries == 0 {
		entries = maxLUTEntries
	}
	w := binary.LittleEndian.Uint16(e.Value[2:])
	first = int(w)
	if signed {
		first = int(int16(w))
	}
	nbits = int(binary.LittleEndian.Uint16(e.Value[4:]))
	return entries, first, nbits, nil
}

// newLUT builds a LUT from its descriptor and its LUT Data bytes (little endian). Entries are
// one per 16-bit word when the data hold that many words, else one per byte when the descriptor
// says 8 bits or fewer (PS3.3 C.7.6.3.1.6: 8-bit entries are stored as if 8 bits allocated).
// A descriptor whose bit count the data contradict (values above 2^Bits − 1, a count of 0 or
// more than 16) takes the bit depth of the largest value instead, as widely deployed viewers do.
func newLUT(entries, first, nbits int, data []byte, what string) (*LUT, error) {
	if entries < 1 || entries > maxLUTEntries {
		return nil, fmt.Errorf("%w: %s of %d entries", ErrInvalid, what, entries)
	}
	t := &LUT{First: first, Bits: nbits, Data: make([]uint16, entries)}
	switch {
	case len(data) >= 2*entries:
		for i := range t.Data {
			t.Data[i] = binary.LittleEndian.Uint16(data[2*i:])
		}
	case nbits <= 8 && len(data) >= entries:
		for i := range t.Data {
			t.Data[i] = uint16(data[i])
		}
	default:
		return nil, fmt.Errorf("%w: %s: %d bytes of LUT Data for %d entries of %d bits", ErrInvalid, what, len(data), entries, nbits)
	}
	t.fixBits()
	return t, nil
}

// fixBits makes Bits cover the largest entry when the declared depth is out of range or too
// small for the data.
func (t *LUT) fixBits() {
	var hi uint16
	for _, v := range t.Data {
		hi = max(hi, v)
	}
	need := max(1, bits.Len16(hi))
	if t.Bits < 1 || t.Bits > 16 || need > t.Bits {
		t.Bits = need
		if t.Bits <= 8 {
			t.Bits = 8
		} else {
			t.Bits = 16
		}
	}
}

// lutItem reads the LUT of a Modality LUT Sequence or VOI LUT Sequence item (PS3.3 C.11.1,
// C.11.2).
func lutItem(item *dicom.Dataset, signed bool, what string) (*LUT, error) {
	entries, first, nbits, err := descriptor(item.Element(tag.LUTDescriptor), signed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	e := item.Element(tag.LUTData)
	if e == nil || e.Value == nil {
		return nil, fmt.Errorf("%w: %s without LUT Data", ErrUnsupported, what)
	}
	return newLUT(entries, first, nbits, e.Value, what)
}

// Palette is the Palette Color Lookup Table of a PALETTE COLOR image (PS3.3 C.7.6.3.1.5,
// C.7.9): one LUT per channel, red, green and blue.
type Palette [3]*LUT

var paletteTags = [3]struct{ desc, data, segmented tag.Tag }{
	{tag.RedPaletteColorLookupTableDescriptor, tag.RedPaletteColorLookupTableData, tag.SegmentedRedPaletteColorLookupTableData},
	{tag.GreenPaletteColorLookupTableDescriptor, tag.GreenPaletteColorLookupTableData, tag.SegmentedGreenPaletteColorLookupTableData},
	{tag.BluePaletteColorLookupTableDescriptor, tag.BluePaletteColorLookupTableData, tag.SegmentedBluePaletteColorLookupTableData},
}

var channelNames = [3]string{"red", "green", "blue"}

// readPalette reads the palette of meta: the Palette Color Lookup Table Descriptors, and the
// Palette Color Lookup Table Data or the Segmented Palette Color Lookup Table Data (C.7.9.2).
func readPalette(meta *dicom.Dataset, signed bool) (*Palette, error) {
	var p Palette
	for c, tags := range paletteTags {
		what := channelNames[c] + " palette"
		entries, first, nbits, err := descriptor(meta.Element(tags.desc), signed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if e := meta.Element(tags.data); e != nil {
			if e.Value == nil {
				return nil, fmt.Errorf("%w: %s: the LUT Data are not held in the metadata (bulk data)", ErrUnsupported, what)
			}
			if p[c], err = newLUT(entries, first, nbits, e.Value, what); err != nil {
				return nil, err
			}
			continue
		}
		e := meta.Element(tags.segmented)
		if e == nil {
			// Absent, or left out of the metadata as bulk data (a 16-bit LUT of 65536 entries
			// is 128 KiB).
			return nil, fmt.Errorf("%w: %s: no Palette Color Lookup Table Data nor Segmented Palette Color Lookup Table Data", ErrUnsupported, what)
		}
		if e.Value == nil {
			return nil, fmt.Errorf("%w: %s: the segmented LUT Data are not held in the metadata (bulk data)", ErrUnsupported, what)
		}
		data, err := expandSegmented(e.Value, entries)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		t := &LUT{First: first, Bits: nbits, Data: data}
		t.fixBits()
		p[c] = t
	}
	return &p, nil
}

// maxSegments bounds the segments read while expanding a segmented LUT.
const maxSegments = 1 << 18

// expandSegmented expands Segmented Palette Color Lookup Table Data (PS3.3 C.7.9.2) of 16-bit
// words into at most entries values (missing entries repeat the last value). Segments are
// discrete (type 0: a count and that many values), linear (type 1: a count n and an end value;
// the n values step linearly from the previous segment's last value to the end value) or
// indirect (type 2: a count of segments and the byte offset of the first of them, low word
// first, whose segments are expanded again); indirection is followed to a bounded depth.
func expandSegmented(raw []byte, entries int) ([]uint16, error) {
	words := make([]uint16, len(raw)/2)
	for i := range words {
		words[i] = binary.LittleEndian.Uint16(raw[2*i:])
	}
	out := make([]uint16, 0, entries)
	steps := 0 // segments read, bounded against indirect segments that add nothing
	var expand func(pos, segments, depth int) error
	expand = func(pos, segments, depth int) error {
		for n := 0; pos < len(words) && (segments < 0 || n < segments) && len(out) < entries; n++ {
			if pos+1 >= len(words) {
				return fmt.Errorf("%w: segmented LUT truncated at word %d", ErrInvalid, pos)
			}
			op, count := words[pos], int(words[pos+1])
			if steps++; steps > maxSegments {
				return fmt.Errorf("%w: segmented LUT of more than %d segments", ErrInvalid, maxSegments)
			}
			switch op {
			case 0: // discrete segment (C.7.9.2.1)
				if pos+2+count > len(words) {
					return fmt.Errorf("%w: discrete segment of %d values at word %d overruns the data", ErrInvalid, count, pos)
				}
				vals := words[pos+2 : pos+2+count]
				out = append(out, vals[:min(len(vals), entries-len(out))]...)
				pos += 2 + count
			case 1: // linear segment (C.7.9.2.2)
				if pos+2 >= len(words) || len(out) == 0 {
					return fmt.Errorf("%w: linear segment at word %d without a value to start from", ErrInvalid, pos)
				}
				y0, y1 := float64(out[len(out)-1]), float64(words[pos+2])
				for j := 1; j <= count && len(out) < entries; j++ {
					out = append(out, uint16(math.Round(y0+(y1-y0)*float64(j)/float64(count))))
				}
				pos += 3
			case 2: // indirect segment (C.7.9.2.3)
				if pos+3 >= len(words) {
					return fmt.Errorf("%w: indirect segment truncated at word %d", ErrInvalid, pos)
				}
				if depth >= 4 {
					return fmt.Errorf("%w: indirect segments nested too deep", ErrInvalid)
				}
				off := int(uint32(words[pos+2]) | uint32(words[pos+3])<<16)
				if off%2 != 0 || off/2 >= pos {
					return fmt.Errorf("%w: indirect segment at word %d points to byte %d", ErrInvalid, pos, off)
				}
				if err := expand(off/2, count, depth+1); err != nil {
					return err
				}
				pos += 4
			default:
				return fmt.Errorf("%w: segment type %d at word %d", ErrInvalid, op, pos)
			}
		}
		return nil
	}
	if err := expand(0, -1, 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty segmented LUT", ErrInvalid)
	}
	for len(out) < entries {
		out = append(out, out[len(out)-1])
	}
	return out, nil
}
