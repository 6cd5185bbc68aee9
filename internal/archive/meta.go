package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// The metadata kept at ingest lets readers answer without opening the instance's blob: the data
// set's elements without bulk data, encoded in Explicit VR Little Endian, and for each bulk value
// left out, where it lies in the blob. Layout (all integers unsigned varints):
//
//	"LBM1" | len | data set bytes | count | count × (tag, vr, offset, length)
//
// Only top-level bulk values are listed; bulk values inside sequences are kept inline.
const metaMagic = "LBM1"

// BulkRef locates a bulk value of an instance in its blob.
type BulkRef struct {
	Tag    tag.Tag
	VR     vr.VR
	Offset int64 // -1 when the value cannot be located (deflated data sets)
	Length int64
	// Encapsulated reports encapsulated Pixel Data: the range covers its fragments' items.
	Encapsulated bool
}

// Meta is the decoded metadata of an instance.
type Meta struct {
	Dataset *dicom.Dataset
	Bulk    []BulkRef
}

// encodeMeta builds the metadata of a header read with bulk values left in the source. base is
// the offset of the data set in the blob.
func encodeMeta(header *dicom.Dataset, base int64) ([]byte, error) {
	ds := dicom.NewDataset()
	var bulk []BulkRef
	for _, e := range header.Elements {
		switch {
		case e.Fragments != nil:
			ref := BulkRef{Tag: e.Tag, VR: e.VR, Offset: -1, Encapsulated: true}
			if len(e.Fragments) > 0 && e.Fragments[0].Offset >= 0 {
				first := e.Fragments[0]
				last := e.Fragments[len(e.Fragments)-1]
				ref.Offset = base + first.Offset - 8
				ref.Length = last.Offset + int64(last.Length) - (first.Offset - 8)
			}
			bulk = append(bulk, ref)
		case e.Bulk || (isBulkTag(e.Tag) && e.Value != nil):
			off := int64(-1)
			if e.Offset >= 0 {
				off = base + e.Offset
			}
			bulk = append(bulk, BulkRef{Tag: e.Tag, VR: e.VR, Offset: off, Length: int64(e.Length)})
		default:
			if hasBulk(e.Items) {
				continue // a sequence whose items left values in the source: not kept
			}
			ds.Set(e)
		}
	}
	var body bytes.Buffer
	if err := dicom.WriteDataset(&body, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	out := make([]byte, 0, body.Len()+16+len(bulk)*24)
	out = append(out, metaMagic...)
	out = binary.AppendUvarint(out, uint64(body.Len()))
	out = append(out, body.Bytes()...)
	out = binary.AppendUvarint(out, uint64(len(bulk)))
	for _, b := range bulk {
		out = binary.AppendUvarint(out, uint64(b.Tag))
		enc := uint64(b.VR)
		if b.Encapsulated {
			enc |= 1 << 16
		}
		out = binary.AppendUvarint(out, enc)
		out = binary.AppendUvarint(out, uint64(b.Offset+1))
		out = binary.AppendUvarint(out, uint64(b.Length))
	}
	return out, nil
}

// isBulkTag reports whether t is always bulk data, whatever its size: pixel data, overlay data,
// waveform data (PS3.18 8.4.1 lists them among bulk data).
func isBulkTag(t tag.Tag) bool {
	switch {
	case t == tag.PixelData, t == tag.FloatPixelData, t == tag.DoubleFloatPixelData:
		return true
	case t.Group()&0xFF00 == 0x6000 && t.Element() == 0x3000: // Overlay Data
		return true
	case t == tag.WaveformData:
		return true
	}
	return false
}

func hasBulk(items []*dicom.Dataset) bool {
	for _, it := range items {
		for i := range it.Elements {
			e := &it.Elements[i]
			if e.Bulk || (len(e.Fragments) > 0 && e.Fragments[0].Bulk) || hasBulk(e.Items) {
				return true
			}
		}
	}
	return false
}

var errMeta = errors.New("archive: corrupt metadata")

// DecodeMeta decodes metadata kept at ingest.
func DecodeMeta(b []byte) (*Meta, error) {
	if len(b) < 4 || string(b[:4]) != metaMagic {
		return nil, errMeta
	}
	b = b[4:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, errMeta
	}
	b = b[k:]
	ds, err := dicom.ParseDataset(b[:n], dicom.ExplicitVRLittleEndian, dicom.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMeta, err)
	}
	b = b[n:]
	m := &Meta{Dataset: ds}
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return nil, errMeta
	}
	b = b[k:]
	for i := uint64(0); i < count; i++ {
		var v [4]uint64
		for j := range v {
			x, k := binary.Uvarint(b)
			if k <= 0 {
				return nil, errMeta
			}
			v[j], b = x, b[k:]
		}
		m.Bulk = append(m.Bulk, BulkRef{Tag: tag.Tag(v[0]), VR: vr.VR(v[1] & 0xFFFF), Encapsulated: v[1]>>16 == 1,
			Offset: int64(v[2]) - 1, Length: int64(v[3])})
	}
	return m, nil
}

// Frame is where one frame's bytes lie in the blob: one range for native pixel data, one per
// fragment for encapsulated data.
type Frame struct {
	Ranges []Range
}

// Range is a byte range of a blob.
type Range struct{ Offset, Length int64 }

// frameIndex computes the frame ranges of an instance from its header (read with bulk values
// left in the source), base being the data set's offset in the blob. Native data: frame i is at
// i × frame size. Encapsulated data: the Extended Offset Table, else the Basic Offset Table,
// else one fragment per frame when the counts agree, else all fragments form one frame
// (PS3.5 A.4).
func frameIndex(ds *dicom.Dataset, base int64, prefixes map[int64][]byte) []Frame {
	px := ds.Element(tag.PixelData)
	if px == nil {
		return nil
	}
	frames := 1
	if n, ok := ds.Int(tag.NumberOfFrames); ok && n > 0 {
		frames = int(n)
	}
	if px.Fragments == nil {
		if px.Offset < 0 {
			return nil
		}
		rows, _ := ds.Int(tag.Rows)
		cols, _ := ds.Int(tag.Columns)
		bits, _ := ds.Int(tag.BitsAllocated)
		spp, ok := ds.Int(tag.SamplesPerPixel)
		if !ok {
			spp = 1
		}
		size := rows * cols * spp * bits / 8
		if bits == 1 {
			size = (rows*cols*spp + 7) / 8
		}
		if size <= 0 || size*int64(frames) > int64(px.Length) {
			return []Frame{{Ranges: []Range{{base + px.Offset, int64(px.Length)}}}}
		}
		out := make([]Frame, frames)
		for i := range out {
			out[i] = Frame{Ranges: []Range{{base + px.Offset + int64(i)*size, size}}}
		}
		return out
	}
	frags := px.Fragments
	if len(frags) < 2 || frags[1].Offset < 0 {
		return nil
	}
	data := frags[1:]
	rangeOf := func(f dicom.Fragment) Range { return Range{base + f.Offset, int64(f.Length)} }
	// Offsets of each frame's first fragment, relative to the first fragment's item tag.
	var starts []int64
	if eot := ds.Element(tag.ExtendedOffsetTable); eot != nil && len(eot.Value) >= 8*frames {
		for i := 0; i < frames; i++ {
			starts = append(starts, int64(binary.LittleEndian.Uint64(eot.Value[8*i:])))
		}
	} else if bot := frags[0]; bot.Length >= uint32(4*frames) && len(bot.Data) >= 4*frames {
		for i := 0; i < frames; i++ {
			starts = append(starts, int64(binary.LittleEndian.Uint32(bot.Data[4*i:])))
		}
	}
	if starts != nil {
		first := data[0].Offset - 8
		out := make([]Frame, frames)
		for i := range out {
			lo := first + starts[i]
			hi := int64(1 << 62)
			if i+1 < frames {
				hi = first + starts[i+1]
			}
			for _, f := range data {
				if f.Offset-8 >= lo && f.Offset-8 < hi {
					out[i].Ranges = append(out[i].Ranges, rangeOf(f))
				}
			}
		}
		return out
	}
	if len(data) == frames {
		out := make([]Frame, frames)
		for i, f := range data {
			out[i] = Frame{Ranges: []Range{rangeOf(f)}}
		}
		return out
	}
	if frames > 1 {
		// No offset table: a fragment that begins a codestream begins a frame.
		var out []Frame
		for _, f := range data {
			p := f.Data
			if p == nil {
				p = prefixes[f.Offset]
			}
			if startsCodestream(p) || len(out) == 0 {
				out = append(out, Frame{})
			}
			out[len(out)-1].Ranges = append(out[len(out)-1].Ranges, rangeOf(f))
		}
		if len(out) == frames {
			return out
		}
		return nil
	}
	if frames == 1 {
		var f Frame
		for _, d := range data {
			f.Ranges = append(f.Ranges, rangeOf(d))
		}
		return []Frame{f}
	}
	return nil
}

// startsCodestream reports whether b begins a JPEG (SOI), JPEG 2000 (SOC, or a JP2 signature
// box) or JPEG XL codestream.
func startsCodestream(b []byte) bool {
	switch {
	case len(b) >= 2 && b[0] == 0xFF && (b[1] == 0xD8 || b[1] == 0x4F || b[1] == 0x0A):
		return true
	case len(b) >= 8 && string(b[4:8]) == "jP  ":
		return true
	}
	return false
}

// encodeFrames serialises a frame index.
func encodeFrames(frames []Frame) []byte {
	if len(frames) == 0 {
		return nil
	}
	out := binary.AppendUvarint(nil, uint64(len(frames)))
	for _, f := range frames {
		out = binary.AppendUvarint(out, uint64(len(f.Ranges)))
		for _, r := range f.Ranges {
			out = binary.AppendUvarint(out, uint64(r.Offset))
			out = binary.AppendUvarint(out, uint64(r.Length))
		}
	}
	return out
}

// DecodeFrames decodes a frame index kept at ingest.
func DecodeFrames(b []byte) ([]Frame, error) {
	if len(b) == 0 {
		return nil, nil
	}
	next := func() (uint64, error) {
		x, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, errMeta
		}
		b = b[k:]
		return x, nil
	}
	n, err := next()
	if err != nil || n > uint64(len(b)) {
		return nil, errMeta
	}
	out := make([]Frame, n)
	for i := range out {
		m, err := next()
		if err != nil || m > uint64(len(b)) {
			return nil, errMeta
		}
		for j := uint64(0); j < m; j++ {
			off, err1 := next()
			l, err2 := next()
			if err1 != nil || err2 != nil {
				return nil, errMeta
			}
			out[i].Ranges = append(out[i].Ranges, Range{int64(off), int64(l)})
		}
	}
	return out, nil
}

// maxInlineLUT bounds a lookup table kept in the metadata whatever the bulk threshold.
const maxInlineLUT = 1 << 20

// keepInline keeps lookup tables in the metadata even when they are longer than the bulk
// threshold: rendering needs palettes (PS3.3 C.7.9), Modality and VOI LUT Sequences (C.11.1,
// C.11.2) without opening the blob, and a sequence holding a bulk value is not kept at all.
func keepInline(t tag.Tag, n int64) bool {
	if n > maxInlineLUT {
		return false
	}
	switch t {
	case tag.LUTData,
		tag.RedPaletteColorLookupTableData, tag.GreenPaletteColorLookupTableData,
		tag.BluePaletteColorLookupTableData, tag.AlphaPaletteColorLookupTableData,
		tag.LargeRedPaletteColorLookupTableData, tag.LargeGreenPaletteColorLookupTableData,
		tag.LargeBluePaletteColorLookupTableData,
		tag.SegmentedRedPaletteColorLookupTableData, tag.SegmentedGreenPaletteColorLookupTableData,
		tag.SegmentedBluePaletteColorLookupTableData, tag.SegmentedAlphaPaletteColorLookupTableData:
		return true
	}
	return false
}
