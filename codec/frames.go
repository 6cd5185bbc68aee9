package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// ImageOf reads the Image Pixel Module of ds (PS3.3 C.7.6.3) and its Number of Frames (1 when
// absent or invalid).
func ImageOf(ds *dicom.Dataset) (Image, int, error) {
	get := func(t tag.Tag) int {
		v, _ := ds.Int(t)
		return int(v)
	}
	im := Image{
		Rows:                get(tag.Rows),
		Columns:             get(tag.Columns),
		SamplesPerPixel:     get(tag.SamplesPerPixel),
		BitsAllocated:       get(tag.BitsAllocated),
		BitsStored:          get(tag.BitsStored),
		PixelRepresentation: get(tag.PixelRepresentation),
		Photometric:         strings.TrimSpace(ds.String(tag.PhotometricInterpretation)),
		PlanarConfiguration: get(tag.PlanarConfiguration),
	}
	if im.SamplesPerPixel == 0 {
		im.SamplesPerPixel = 1
	}
	if im.BitsStored == 0 {
		im.BitsStored = im.BitsAllocated
	}
	frames := 1
	if n, ok := ds.Int(tag.NumberOfFrames); ok && n > 0 {
		frames = int(n)
	}
	if err := im.Check(); err != nil {
		return im, frames, err
	}
	return im, frames, nil
}

// PixelData returns the top-level Pixel Data element of ds (also Float and Double Float Pixel
// Data), or nil.
func PixelData(ds *dicom.Dataset) *dicom.Element {
	for _, t := range []tag.Tag{tag.PixelData, tag.FloatPixelData, tag.DoubleFloatPixelData} {
		if e := ds.Element(t); e != nil {
			return e
		}
	}
	return nil
}

// Frames returns the frames of the Pixel Data of ds, which must be held in memory (read without
// a bulk threshold): for native data, slices of the value, frameSize bytes each (Bits Allocated 1
// frames are not byte aligned and are returned as one slice holding all of them); for
// encapsulated data, the codestream of each frame, its fragments concatenated. Frames of
// encapsulated data are found through the Extended Offset Table, else the Basic Offset Table,
// else one fragment per frame when the counts agree, else by scanning for fragments that start
// a codestream (PS3.5 A.4).
func Frames(ds *dicom.Dataset) ([][]byte, error) {
	px := PixelData(ds)
	if px == nil {
		return nil, fmt.Errorf("%w: no Pixel Data", ErrUnsupported)
	}
	im, n, err := ImageOf(ds)
	if err != nil {
		return nil, err
	}
	if !px.IsEncapsulated() {
		if px.Bulk {
			return nil, fmt.Errorf("%w: Pixel Data left in the source", ErrUnsupported)
		}
		if im.BitsAllocated == 1 {
			// Frames of packed bits follow each other without byte alignment (PS3.5 8.1.1).
			bits := int64(im.Rows) * int64(im.Columns) * int64(im.SamplesPerPixel)
			if int64(n) > int64(len(px.Value))*8/bits {
				return nil, fmt.Errorf("%w: Pixel Data of %d bytes holds fewer than %d frames of %d bits", ErrCorrupt, len(px.Value), n, bits)
			}
			return [][]byte{px.Value}, nil
		}
		size := im.FrameSize()
		if px.Tag == tag.FloatPixelData || px.Tag == tag.DoubleFloatPixelData {
			size = int64(im.Rows) * int64(im.Columns) * int64(im.SamplesPerPixel) * int64(im.BitsAllocated/8)
		}
		if size <= 0 || int64(n) > int64(len(px.Value))/size {
			return nil, fmt.Errorf("%w: Pixel Data of %d bytes holds fewer than %d frames of %d bytes", ErrCorrupt, len(px.Value), n, size)
		}
		out := make([][]byte, n)
		for i := range out {
			out[i] = px.Value[int64(i)*size : int64(i+1)*size : int64(i+1)*size]
		}
		return out, nil
	}
	frags := px.Fragments
	if len(frags) == 0 {
		return nil, fmt.Errorf("%w: encapsulated Pixel Data without items", ErrCorrupt)
	}
	for _, f := range frags {
		if f.Bulk || (f.Data == nil && f.Length > 0) {
			return nil, fmt.Errorf("%w: fragments left in the source", ErrUnsupported)
		}
	}
	data := frags[1:]
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: encapsulated Pixel Data without fragments", ErrCorrupt)
	}
	// Each fragment holds data of one frame only (PS3.5 A.4), so there are at least as many
	// fragments as frames; this also bounds what the tables below may allocate.
	if n > len(data) {
		return nil, fmt.Errorf("%w: %d frames in %d fragments", ErrCorrupt, n, len(data))
	}
	// Offsets of fragment items relative to the first fragment's item tag.
	pos := make([]int64, len(data)+1)
	for i, f := range data {
		pos[i+1] = pos[i] + 8 + int64(len(f.Data))
	}
	group := func(starts []int64) ([][]byte, bool) {
		out := make([][]byte, len(starts))
		k := 0
		for i, s := range starts {
			if k >= len(data) || pos[k] != s || (i > 0 && s <= starts[i-1]) {
				return nil, false
			}
			end := pos[len(data)]
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			var b []byte
			for k < len(data) && pos[k] < end {
				b = append(b, data[k].Data...)
				k++
			}
			out[i] = b
		}
		return out, k == len(data)
	}
	if eot := ds.Element(tag.ExtendedOffsetTable); eot != nil && len(eot.Value) >= 8*n {
		starts := make([]int64, n)
		for i := range starts {
			starts[i] = int64(binary.LittleEndian.Uint64(eot.Value[8*i:]))
		}
		if out, ok := group(starts); ok {
			return out, nil
		}
	}
	if bot := frags[0].Data; len(bot) >= 4*n && n > 0 {
		starts := make([]int64, n)
		for i := range starts {
			starts[i] = int64(binary.LittleEndian.Uint32(bot[4*i:]))
		}
		if out, ok := group(starts); ok {
			return out, nil
		}
	}
	if n == 1 {
		var b []byte
		for _, f := range data {
			b = append(b, f.Data...)
		}
		return [][]byte{b}, nil
	}
	if len(data) == n {
		out := make([][]byte, n)
		for i, f := range data {
			out[i] = f.Data
		}
		return out, nil
	}
	// No usable table: a fragment that begins a codestream begins a frame.
	var starts []int64
	for i, f := range data {
		if startsCodestream(f.Data) {
			starts = append(starts, pos[i])
		}
	}
	if len(starts) == n && starts[0] == 0 {
		if out, ok := group(starts); ok {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%w: cannot tell the %d frames apart among %d fragments", ErrCorrupt, n, len(data))
}

// startsCodestream reports whether b begins a JPEG family codestream (SOI, a JPEG 2000 SOC or a
// JPEG XL signature), a JP2 or JPEG XL container, or an RLE header (PS3.5 G.5: a segment count
// of 1 to 15 followed by the first segment's offset 64).
func startsCodestream(b []byte) bool {
	switch {
	case len(b) >= 2 && b[0] == 0xFF && (b[1] == 0xD8 || b[1] == 0x4F || b[1] == 0x0A):
		return true
	case len(b) >= 12 && (bytes.Equal(b[4:8], []byte("jP  ")) || bytes.Equal(b[4:8], []byte("JXL "))):
		return true
	case len(b) >= 8:
		n := binary.LittleEndian.Uint32(b)
		return n >= 1 && n <= 15 && binary.LittleEndian.Uint32(b[4:]) == 64
	}
	return false
}

// Encapsulate builds encapsulated Pixel Data (PS3.5 A.4) with one fragment per frame, each padded
// to even length, and a Basic Offset Table when there is more than one frame and the offsets
// fit in 32 bits.
func Encapsulate(frames [][]byte) dicom.Element {
	frags := make([]dicom.Fragment, 0, len(frames)+1)
	var bot []byte
	var off int64
	if len(frames) > 1 {
		bot = make([]byte, 0, 4*len(frames))
		for _, f := range frames {
			if off > 0xFFFFFFFF {
				bot = nil
				break
			}
			bot = binary.LittleEndian.AppendUint32(bot, uint32(off))
			off += 8 + int64(len(f)+len(f)%2)
		}
	}
	frags = append(frags, dicom.Fragment{Offset: -1, Length: uint32(len(bot)), Data: nonNil(bot)})
	for _, f := range frames {
		if len(f)%2 == 1 {
			f = append(f[:len(f):len(f)], 0)
		}
		frags = append(frags, dicom.Fragment{Offset: -1, Length: uint32(len(f)), Data: f})
	}
	return dicom.Element{Tag: tag.PixelData, VR: vr.OB, Fragments: frags, Offset: -1, Length: dicom.UndefinedLength}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
