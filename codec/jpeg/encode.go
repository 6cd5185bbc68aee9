package jpeg

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/lightbox-pacs/lightbox/codec"
)

// bitWriter appends entropy-coded data with byte stuffing (T.81 F.1.2.3, B.1.1.5).
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) put(code uint32, n uint) {
	w.acc = w.acc<<n | uint64(code)&(1<<n-1)
	w.n += n
	for w.n >= 8 {
		w.n -= 8
		b := byte(w.acc >> w.n)
		w.out = append(w.out, b)
		if b == 0xFF {
			w.out = append(w.out, 0)
		}
	}
}

// flush pads the last byte with 1 bits.
func (w *bitWriter) flush() {
	if w.n > 0 {
		w.put(1<<(8-w.n)-1, 8-w.n)
	}
}

// huffCode is an encoding table: code and length per symbol.
type huffCode struct {
	code [257]uint32
	size [257]uint8
	// counts and vals are the DHT form of the table.
	counts [16]byte
	vals   []byte
}

// optimalHuff builds a Huffman table of code lengths at most 16 for the symbol frequencies, with
// no code of all 1 bits (T.81 K.2, Figures K.1 to K.4).
func optimalHuff(freq0 *[256]int) *huffCode {
	var freq [257]int
	copy(freq[:], freq0[:])
	if freq == [257]int{} {
		freq[0] = 1 // an unused table still needs one code
	}
	freq[256] = 1 // reserved symbol: keeps the all-ones code unused
	var codesize [257]int
	var others [257]int
	for i := range others {
		others[i] = -1
	}
	for {
		c1, c2 := -1, -1
		v := int(^uint(0) >> 1)
		for i := range freq {
			if freq[i] > 0 && freq[i] <= v {
				v, c1 = freq[i], i
			}
		}
		v = int(^uint(0) >> 1)
		for i := range freq {
			if freq[i] > 0 && freq[i] <= v && i != c1 {
				v, c2 = freq[i], i
			}
		}
		if c2 < 0 {
			break
		}
		freq[c1] += freq[c2]
		freq[c2] = 0
		codesize[c1]++
		for others[c1] >= 0 {
			c1 = others[c1]
			codesize[c1]++
		}
		others[c1] = c2
		codesize[c2]++
		for others[c2] >= 0 {
			c2 = others[c2]
			codesize[c2]++
		}
	}
	var nb [33]int
	for i := range codesize {
		if codesize[i] > 0 {
			nb[min(codesize[i], 32)]++
		}
	}
	// Limit code lengths to 16 (Figure K.3).
	for i := 32; i > 16; i-- {
		for nb[i] > 0 {
			j := i - 2
			for nb[j] == 0 {
				j--
			}
			nb[i] -= 2
			nb[i-1]++
			nb[j+1] += 2
			nb[j]--
		}
	}
	i := 16
	for nb[i] == 0 {
		i--
	}
	nb[i]-- // drop the reserved symbol's code
	h := &huffCode{}
	for l := 1; l <= 16; l++ {
		h.counts[l-1] = byte(nb[l])
	}
	// Symbols by increasing code length (Figure K.4).
	for l := 1; l <= 32; l++ {
		for s := 0; s < 256; s++ {
			if codesize[s] == l {
				h.vals = append(h.vals, byte(s))
			}
		}
	}
	// Canonical codes (T.81 C.2), assigned in the order of vals after length limiting.
	code := uint32(0)
	k := 0
	for l := 1; l <= 16; l++ {
		for range int(h.counts[l-1]) {
			s := h.vals[k]
			h.code[s], h.size[s] = code, uint8(l)
			code++
			k++
		}
		code <<= 1
	}
	return h
}

// appendDHT appends a DHT segment with one table.
func appendDHT(dst []byte, class, id byte, h *huffCode) []byte {
	dst = append(dst, 0xFF, mDHT)
	dst = binary.BigEndian.AppendUint16(dst, uint16(2+17+len(h.vals)))
	dst = append(dst, class<<4|id)
	dst = append(dst, h.counts[:]...)
	return append(dst, h.vals...)
}

// category is the number of bits of a difference's magnitude (T.81 F.1.2.1.1, H.1.2.2).
func category(v int) uint {
	if v < 0 {
		v = -v
	}
	return uint(bits.Len(uint(v)))
}

// putValue writes the s extra bits of difference v (T.81 F.1.2.1.1).
func (w *bitWriter) putValue(v int, s uint) {
	if s == 0 {
		return
	}
	if v < 0 {
		v--
	}
	w.put(uint32(v), s)
}

// sampleReader returns sample (x, y, c) of a native frame.
func sampleReader(frame []byte, in codec.Image) func(x, y, c int) int {
	spp := in.SamplesPerPixel
	wide := in.BitsAllocated == 16
	planar := in.PlanarConfiguration == 1 && spp > 1
	n := in.Rows * in.Columns
	return func(x, y, c int) int {
		i := (y*in.Columns+x)*spp + c
		if planar {
			i = c*n + y*in.Columns + x
		}
		if wide {
			return int(binary.LittleEndian.Uint16(frame[2*i:]))
		}
		return int(frame[i])
	}
}

// checkEncode validates a frame for the encoders.
func checkEncode(frame []byte, in codec.Image) error {
	if err := in.Check(); err != nil {
		return err
	}
	if int64(len(frame)) < in.FrameSize() {
		return fmt.Errorf("jpeg: frame of %d bytes, %d expected: %w", len(frame), in.FrameSize(), codec.ErrCorrupt)
	}
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return unsupported("encoding bits allocated %d", in.BitsAllocated)
	}
	if in.SamplesPerPixel != 1 && in.SamplesPerPixel != 3 {
		return unsupported("encoding %d samples per pixel", in.SamplesPerPixel)
	}
	if in.Photometric == "YBR_FULL_422" || in.Photometric == "YBR_PARTIAL_422" || in.Photometric == "YBR_PARTIAL_420" {
		return unsupported("encoding native %s", in.Photometric)
	}
	return nil
}

// appendSOF appends a frame header with components 1..n.
func appendSOF(dst []byte, marker byte, prec, rows, cols int, sampling []byte, tq []byte) []byte {
	n := len(sampling)
	dst = append(dst, 0xFF, marker)
	dst = binary.BigEndian.AppendUint16(dst, uint16(8+3*n))
	dst = append(dst, byte(prec))
	dst = binary.BigEndian.AppendUint16(dst, uint16(rows))
	dst = binary.BigEndian.AppendUint16(dst, uint16(cols))
	dst = append(dst, byte(n))
	for i := range n {
		dst = append(dst, byte(i+1), sampling[i], tq[i])
	}
	return dst
}

// appendSOS appends a scan header for components 1..n with the given table selectors.
func appendSOS(dst []byte, tables []byte, ss, se, ahal byte) []byte {
	n := len(tables)
	dst = append(dst, 0xFF, mSOS)
	dst = binary.BigEndian.AppendUint16(dst, uint16(6+2*n))
	dst = append(dst, byte(n))
	for i := range n {
		dst = append(dst, byte(i+1), tables[i])
	}
	return append(dst, ss, se, ahal)
}

// EncodeLossless encodes a frame as JPEG lossless, process 14 with selection value 1 (PS3.5
// A.4.1; T.81 Annex H), the codestream of both 1.2.840.10008.1.2.4.70 and .57. The precision is
// Bits Stored (at least 2), or Bits Allocated when some sample has bits set above Bits Stored
// (e.g. sign extension), so that decoding gives back the frame's bytes exactly. Colour is coded
// as given, interleaved; the returned Image has Planar Configuration 0.
func EncodeLossless(dst, frame []byte, in codec.Image, _ codec.EncodeOptions) ([]byte, codec.Image, error) {
	return encodeLossless(dst, frame, in, losslessParams{psv: 1})
}

// losslessParams are the coding choices of the lossless encoder.
type losslessParams struct {
	psv         int // selection value 1..7 (T.81 Table H.1)
	pt          int // point transform
	restartRows int // restart interval in lines (0: none)
}

func encodeLossless(dst, frame []byte, in codec.Image, lp losslessParams) ([]byte, codec.Image, error) {
	if err := checkEncode(frame, in); err != nil {
		return nil, in, err
	}
	get := sampleReader(frame, in)
	w, h, nc := in.Columns, in.Rows, in.SamplesPerPixel
	if int64(w)*int64(lp.restartRows) > 0xFFFF {
		return nil, in, unsupported("restart interval of %d lines of %d samples", lp.restartRows, w)
	}
	prec := max(in.BitsStored, 2)
	// Samples, component by component, after the point transform.
	smp := make([][]int, nc)
	hi := 0
	for c := range smp {
		smp[c] = make([]int, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := get(x, y, c)
				hi |= v
				smp[c][y*w+x] = v >> lp.pt
			}
		}
	}
	if hi>>prec != 0 {
		prec = in.BitsAllocated
	}
	if lp.pt >= prec {
		return nil, in, unsupported("point transform %d with precision %d", lp.pt, prec)
	}
	// Differences in coding order (T.81 H.1.2.1), components interleaved.
	diffs := make([]int32, w*h*nc)
	var freq [256]int
	k := 0
	seg := 0
	for y := 0; y < h; y++ {
		if lp.restartRows > 0 && y%lp.restartRows == 0 {
			seg = y
		}
		for x := 0; x < w; x++ {
			for c := 0; c < nc; c++ {
				s := smp[c]
				i := y*w + x
				var p int
				switch {
				case y == seg && x == 0:
					p = 1 << (prec - lp.pt - 1)
				case y == seg:
					p = s[i-1]
				case x == 0:
					p = s[i-w]
				default:
					p = predict(lp.psv, s[i-1], s[i-w], s[i-w-1])
				}
				d := int32(int16(uint16(s[i] - p)))
				diffs[k] = d
				k++
				if d == -32768 {
					freq[16]++
				} else {
					freq[category(int(d))]++
				}
			}
		}
	}
	tab := optimalHuff(&freq)
	out := append(dst[:0], 0xFF, mSOI)
	samp := []byte{0x11, 0x11, 0x11}[:nc]
	out = appendSOF(out, mSOF3, prec, h, w, samp, make([]byte, nc))
	out = appendDHT(out, 0, 0, tab)
	if lp.restartRows > 0 {
		out = append(out, 0xFF, mDRI, 0, 4)
		out = binary.BigEndian.AppendUint16(out, uint16(lp.restartRows*w))
	}
	out = appendSOS(out, make([]byte, nc), byte(lp.psv), 0, byte(lp.pt))
	bw := &bitWriter{out: out}
	per := w * nc
	for k, d := range diffs {
		if lp.restartRows > 0 && k > 0 && k%(per*lp.restartRows) == 0 {
			bw.restart(k/(per*lp.restartRows) - 1)
		}
		if d == -32768 {
			bw.put(tab.code[16], uint(tab.size[16]))
			continue
		}
		s := category(int(d))
		bw.put(tab.code[s], uint(tab.size[s]))
		bw.putValue(int(d), s)
	}
	bw.flush()
	out = append(bw.out, 0xFF, mEOI)
	res := in
	res.PlanarConfiguration = 0
	return out, res, nil
}

// restart ends a restart interval with marker RSTm (T.81 B.2.1, F.1.2.3).
func (w *bitWriter) restart(m int) {
	w.flush()
	w.acc, w.n = 0, 0
	w.out = append(w.out, 0xFF, byte(mRST0+m&7))
}
