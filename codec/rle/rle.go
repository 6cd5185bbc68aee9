// Package rle implements the RLE Lossless transfer syntax (1.2.840.10008.1.2.5, PS3.5 8.2.2 and
// annex G) in Go: decoding and encoding of one frame at a time.
//
// An RLE frame is a 64-byte header (the number of segments and the offset of each, PS3.5 G.5)
// followed by up to 15 segments, each a PackBits byte stream (PS3.5 G.3). Samples are split into
// byte planes, most significant byte first, one segment per byte plane of each sample
// (PS3.5 G.2): 8, 16, 32 and 64 bits allocated with 1 or 3 samples per pixel (any combination
// that needs at most 15 segments). Bits Allocated 1 is also accepted: one segment holding the
// frame's packed bits, as other toolkits write it.
//
// The decoder keeps the Planar Configuration the data set declares, as DCMTK's dcmdrle does:
// colour by pixel for 0, colour by plane for 1. The encoder accepts either layout and, following
// the note in PS3.5 G.2, says in the Image it returns that colour frames decode by plane
// (Planar Configuration 1).
//
// The algorithm is small and fully specified by the standard, so Lightbox carries its own
// implementation instead of depending on a C library; it is used whatever the build.
package rle

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/lightbox-pacs/lightbox/codec"
)

// TransferSyntax is the UID of RLE Lossless.
const TransferSyntax = "1.2.840.10008.1.2.5"

// headerSize is the size of the RLE header: 16 unsigned 32-bit little endian integers
// (PS3.5 G.5).
const headerSize = 64

// maxSegments is the largest number of segments an RLE header can describe (PS3.5 G.5).
const maxSegments = 15

// Codec returns the RLE Lossless codec.
func Codec() codec.Codec {
	return codec.Codec{
		TransferSyntax: TransferSyntax,
		Name:           "RLE Lossless (Go)",
		Decoder:        codec.DecoderFunc(Decode),
		Encoder:        codec.EncoderFunc(Encode),
	}
}

// layout says where the byte planes of a frame go.
type layout struct {
	samples  int // samples per pixel
	bps      int // bytes per sample
	pixels   int // pixels in the frame (for Bits Allocated 1: bytes of packed bits)
	size     int // native frame size in bytes
	planar   bool
	segments int
}

// layoutOf checks in and returns the layout of its frames.
func layoutOf(in codec.Image) (layout, error) {
	if err := in.Check(); err != nil {
		return layout{}, fmt.Errorf("rle: %w", err)
	}
	if in.Photometric == "YBR_FULL_422" || in.Photometric == "YBR_PARTIAL_422" || in.Photometric == "YBR_PARTIAL_420" {
		return layout{}, fmt.Errorf("rle: %w: photometric interpretation %s (RLE frames hold full samples)", codec.ErrUnsupported, in.Photometric)
	}
	l := layout{
		samples: in.SamplesPerPixel,
		size:    int(in.FrameSize()),
		planar:  in.PlanarConfiguration == 1 && in.SamplesPerPixel > 1,
	}
	if in.BitsAllocated == 1 {
		if in.SamplesPerPixel != 1 {
			return layout{}, fmt.Errorf("rle: %w: %d samples per pixel with 1 bit allocated", codec.ErrUnsupported, in.SamplesPerPixel)
		}
		l.bps, l.pixels, l.segments = 1, l.size, 1
		return l, nil
	}
	l.bps = in.BitsAllocated / 8
	l.pixels = in.Rows * in.Columns
	l.segments = l.samples * l.bps
	if l.segments > maxSegments {
		return layout{}, fmt.Errorf("rle: %w: %d samples of %d bits need %d segments (at most %d)", codec.ErrUnsupported, l.samples, in.BitsAllocated, l.segments, maxSegments)
	}
	return l, nil
}

// place returns where segment i (sample i / bps, byte i % bps counted from the most significant,
// PS3.5 G.2) starts in the native frame and the distance between its bytes.
func (l layout) place(i int) (start, stride int) {
	s, b := i/l.bps, i%l.bps
	lsb := l.bps - 1 - b // little endian: the most significant byte comes last
	if l.planar {
		return s*l.pixels*l.bps + lsb, l.bps
	}
	return s*l.bps + lsb, l.samples * l.bps
}

// Decode decodes one RLE frame (PS3.5 G.5) described by in into a native frame appended to
// dst[:0]. The Image returned is in: the decoded frame keeps in's Planar Configuration.
func Decode(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	l, err := layoutOf(in)
	if err != nil {
		return nil, in, err
	}
	if len(src) < headerSize {
		return nil, in, fmt.Errorf("rle: %w: frame of %d bytes is shorter than the RLE header", codec.ErrCorrupt, len(src))
	}
	n := int(binary.LittleEndian.Uint32(src))
	if n != l.segments {
		return nil, in, fmt.Errorf("rle: %w: header declares %d segments, %d expected for %d samples of %d bits", codec.ErrCorrupt, n, l.segments, in.SamplesPerPixel, in.BitsAllocated)
	}
	var offs [maxSegments + 1]int
	for i := range n {
		offs[i] = int(binary.LittleEndian.Uint32(src[4+4*i:]))
		if offs[i] < headerSize || offs[i] > len(src) || (i > 0 && offs[i] < offs[i-1]) {
			return nil, in, fmt.Errorf("rle: %w: segment %d at offset %d (frame of %d bytes)", codec.ErrCorrupt, i+1, offs[i], len(src))
		}
	}
	offs[n] = len(src)
	// A PackBits stream of k bytes decodes to at most 64×(k+1) bytes (a two-byte replicate run
	// gives 128): refuse before allocating when the segments cannot fill the frame.
	for i := range n {
		if int64(l.pixels) > 64*int64(offs[i+1]-offs[i]+1) {
			return nil, in, fmt.Errorf("rle: %w: segment %d of %d bytes cannot hold %d bytes", codec.ErrCorrupt, i+1, offs[i+1]-offs[i], l.pixels)
		}
	}
	out := slices.Grow(dst[:0], l.size)[:l.size]
	for i := range n {
		start, stride := l.place(i)
		if got := unpack(out, start, stride, l.pixels, src[offs[i]:offs[i+1]]); got < l.pixels {
			return nil, in, fmt.Errorf("rle: %w: segment %d decodes to %d bytes, %d expected", codec.ErrCorrupt, i+1, got, l.pixels)
		}
	}
	return out, in, nil
}

// unpack decodes the PackBits segment seg (PS3.5 G.3.2) into out[start], out[start+stride], ...
// up to n bytes, and returns how many it wrote. Bytes past the n-th (the padding of PS3.5 G.5,
// or a run overshooting the frame) are ignored.
func unpack(out []byte, start, stride, n int, seg []byte) int {
	k, i := 0, 0
	for i < len(seg) && k < n {
		h := int(seg[i])
		i++
		switch {
		case h < 128: // literal run of h+1 bytes
			c := min(h+1, len(seg)-i, n-k)
			lit := seg[i : i+c]
			if stride == 1 {
				copy(out[start+k:], lit)
			} else {
				p := start + k*stride
				for _, b := range lit {
					out[p] = b
					p += stride
				}
			}
			i += h + 1
			k += c
		case h > 128: // replicate run: the next byte 257-h times
			if i >= len(seg) {
				return k
			}
			c := min(257-h, n-k)
			b := seg[i]
			i++
			if stride == 1 {
				run := out[start+k : start+k+c]
				for j := range run {
					run[j] = b
				}
			} else {
				p := start + k*stride
				for range c {
					out[p] = b
					p += stride
				}
			}
			k += c
		}
		// h == 128: no operation.
	}
	return k
}

// Encode encodes a native frame described by in as one RLE frame (PS3.5 G.3.1, G.5), appended to
// dst[:0]. Colour frames may be by pixel or by plane (in.PlanarConfiguration); the Image returned
// has Planar Configuration 1 for them, as PS3.5 G.2 recommends, so a decoder that keeps the
// declared Planar Configuration produces the frame by plane.
func Encode(dst, frame []byte, in codec.Image, _ codec.EncodeOptions) ([]byte, codec.Image, error) {
	l, err := layoutOf(in)
	if err != nil {
		return nil, in, err
	}
	if len(frame) < l.size {
		return nil, in, fmt.Errorf("rle: %w: frame of %d bytes, %d expected", codec.ErrCorrupt, len(frame), l.size)
	}
	out := in
	if in.SamplesPerPixel > 1 {
		out.PlanarConfiguration = 1
	} else {
		out.PlanarConfiguration = 0
	}
	// Each row is packed on its own (PS3.5 G.3.1); packed bits have no byte-aligned rows.
	row := in.Columns
	if in.BitsAllocated == 1 {
		row = l.pixels
	}
	b := slices.Grow(dst[:0], headerSize+l.size+l.size/64+64)
	b = append(b, make([]byte, headerSize)...)
	binary.LittleEndian.PutUint32(b, uint32(l.segments))
	plane := make([]byte, l.pixels)
	for i := range l.segments {
		binary.LittleEndian.PutUint32(b[4+4*i:], uint32(len(b)))
		start, stride := l.place(i)
		if stride == 1 {
			copy(plane, frame[start:start+l.pixels])
		} else {
			for j, p := 0, start; j < len(plane); j, p = j+1, p+stride {
				plane[j] = frame[p]
			}
		}
		for r := 0; r < len(plane); r += row {
			b = pack(b, plane[r:min(r+row, len(plane))])
		}
		if len(b)%2 == 1 { // segments have even length (PS3.5 G.5)
			b = append(b, 0)
		}
	}
	return b, out, nil
}

// pack appends the PackBits encoding of src (PS3.5 G.3.1) to b: runs of three or more equal
// bytes (two at the start of a sequence) become replicate runs, the rest literal runs, each of
// at most 128 bytes.
func pack(b, src []byte) []byte {
	i := 0
	for i < len(src) {
		r := 1
		for i+r < len(src) && r < 128 && src[i+r] == src[i] {
			r++
		}
		if r >= 2 {
			b = append(b, byte(257-r), src[i])
			i += r
			continue
		}
		j := i + 1
		for j < len(src) && j-i < 128 {
			if j+2 < len(src) && src[j] == src[j+1] && src[j] == src[j+2] {
				break
			}
			j++
		}
		b = append(b, byte(j-i-1))
		b = append(b, src[i:j]...)
		i = j
	}
	return b
}
