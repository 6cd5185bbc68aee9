package render

import (
	"encoding/binary"
	"hash"
	"hash/adler32"
	"math/bits"
	"slices"
)

// A zlib (RFC 1950) stream writer for the PNG encoder: deflate (RFC 1951) with one dynamic
// Huffman block per chunk of input, whose only string matches are runs of the previous byte
// (distance 1, what zlib calls Z_RLE). After PNG's Sub filter the background of a medical image
// is long runs of zeros, which this codes in a few bits per 258 bytes, and it needs neither a
// hash table nor a window: it is faster than compress/flate's Huffman-only mode and its output
// smaller.

// deflateChunk is the most input bytes coded as one block.
const deflateChunk = 1 << 18

// Length codes of RFC 1951 3.2.5: for a match length 3 … 258, its symbol (257 … 285) and the
// number and value of the extra bits.
type lengthCode struct {
	sym   uint16
	extra uint8
	base  uint16
}

// deflateLengths maps a match length to its code.
var deflateLengths = func() (t [259]lengthCode) {
	bases := [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
		67, 83, 99, 115, 131, 163, 195, 227, 258}
	extras := [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5,
		5, 5, 5, 0}
	for i := range bases {
		hi := 258
		if i+1 < len(bases) {
			hi = int(bases[i+1]) - 1
		}
		for l := int(bases[i]); l <= hi; l++ {
			t[l] = lengthCode{uint16(257 + i), extras[i], bases[i]}
		}
	}
	return t
}()

// codeLengthOrder is the order of the code length code lengths (RFC 1951 3.2.7).
var codeLengthOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// huffLengths returns code lengths of at most limit bits for the frequencies: a Huffman code,
// its frequencies flattened until it fits. Symbols of frequency 0 get no code; a lone symbol
// gets 1 bit.
func huffLengths(freq []int, limit int) []uint8 {
	lens := make([]uint8, len(freq))
	f := slices.Clone(freq)
	for {
		type node struct {
			w           int
			left, right int // children (−1 for a leaf)
			sym         int
		}
		var nodes []node
		for s, w := range f {
			if w > 0 {
				nodes = append(nodes, node{w, -1, -1, s})
			}
		}
		switch len(nodes) {
		case 0:
			return lens
		case 1:
			lens[nodes[0].sym] = 1
			return lens
		}
		slices.SortStableFunc(nodes, func(a, b node) int { return a.w - b.w })
		// Two queues: the sorted leaves, and the internal nodes in the order made (their
		// weights increase).
		leaves := len(nodes)
		li, qi := 0, leaves
		pick := func() int {
			if li < leaves && (qi >= len(nodes) || nodes[li].w <= nodes[qi].w) {
				li++
				return li - 1
			}
			qi++
			return qi - 1
		}
		for k := 0; k < leaves-1; k++ {
			a := pick()
			b := pick()
			nodes = append(nodes, node{nodes[a].w + nodes[b].w, a, b, -1})
		}
		// Depths from the root down.
		depth := make([]int, len(nodes))
		maxDepth := 0
		for i := len(nodes) - 1; i >= 0; i-- {
			n := nodes[i]
			if n.left >= 0 {
				depth[n.left], depth[n.right] = depth[i]+1, depth[i]+1
				continue
			}
			maxDepth = max(maxDepth, depth[i])
		}
		if maxDepth <= limit {
			for i := 0; i < leaves; i++ {
				lens[nodes[i].sym] = uint8(depth[i])
			}
			return lens
		}
		for s := range f {
			if f[s] > 0 {
				f[s] = f[s]>>1 | 1
			}
		}
	}
}

// huffCodesOf assigns canonical codes to code lengths (RFC 1951 3.2.2), bit-reversed for
// deflate's least-significant-bit-first packing.
func huffCodesOf(lens []uint8) []uint16 {
	var count [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint16, len(lens))
	for s, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		var r uint16
		for i := uint8(0); i < l; i++ {
			r = r<<1 | uint16(c>>i&1)
		}
		codes[s] = r
	}
	return codes
}

// deflateBits appends bits least significant first.
type deflateBits struct {
	out []byte
	acc uint64
	n   uint
}

// put appends the n low bits of v (no bits above them); n is at most 32.
func (w *deflateBits) put(v uint64, n uint) {
	w.acc |= v << (w.n & 63)
	w.n += n
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// align pads to a byte boundary and appends the bits held.
func (w *deflateBits) align() {
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
}

// rleDeflater writes a zlib stream in blocks.
type rleDeflater struct {
	bits  deflateBits
	adler hash.Hash32
}

func newRLEDeflater() *rleDeflater {
	d := &rleDeflater{adler: adler32.New()}
	d.bits.out = append(d.bits.out, 0x78, 0x01) // deflate, 32 KiB window, fastest (RFC 1950 2.2)
	return d
}

// block codes data as one dynamic Huffman block (RFC 1951 3.2.7), the last if final.
func (d *rleDeflater) block(data []byte, final bool) {
	d.adler.Write(data)
	// Two passes over the data find the same runs: the first counts the symbols, the second
	// codes them (cheaper than keeping a token per byte in between).
	var litFreq [286]int
	var distFreq [30]int
	prev := -1
	for i := 0; i < len(data); {
		b := data[i]
		if int(b) == prev {
			if n := runAt(data, i, b); n >= 3 {
				litFreq[deflateLengths[n].sym]++
				distFreq[0]++
				i += n
				continue
			}
		}
		litFreq[b]++
		prev = int(b)
		i++
	}
	litFreq[256] = 1
	if distFreq[0] == 0 {
		distFreq[0] = 1 // a distance code is declared even when unused
	}
	litLens := huffLengths(litFreq[:], 15)
	distLens := huffLengths(distFreq[:], 15)
	nlit, ndist := 286, 30
	for nlit > 257 && litLens[nlit-1] == 0 {
		nlit--
	}
	for ndist > 1 && distLens[ndist-1] == 0 {
		ndist--
	}
	// The code lengths, run-length coded with symbols 16, 17 and 18 (RFC 1951 3.2.7).
	all := append(slices.Clone(litLens[:nlit]), distLens[:ndist]...)
	type clSym struct{ sym, extra, nbits uint8 }
	var cl []clSym
	var clFreq [19]int
	for i := 0; i < len(all); {
		l := all[i]
		n := 1
		for i+n < len(all) && all[i+n] == l {
			n++
		}
		i += n
		switch {
		case l == 0:
			for n >= 11 {
				k := min(n, 138)
				cl = append(cl, clSym{18, uint8(k - 11), 7})
				n -= k
			}
			if n >= 3 {
				cl = append(cl, clSym{17, uint8(n - 3), 3})
				n = 0
			}
		default:
			cl = append(cl, clSym{l, 0, 0})
			n--
			for n >= 3 {
				k := min(n, 6)
				cl = append(cl, clSym{16, uint8(k - 3), 2})
				n -= k
			}
		}
		for ; n > 0; n-- {
			cl = append(cl, clSym{l, 0, 0})
		}
	}
	for _, c := range cl {
		clFreq[c.sym]++
	}
	clLens := huffLengths(clFreq[:], 7)
	clCodes := huffCodesOf(clLens)
	nclen := 19
	for nclen > 4 && clLens[codeLengthOrder[nclen-1]] == 0 {
		nclen--
	}
	w := &d.bits
	last := uint64(0)
	if final {
		last = 1
	}
	w.put(last|2<<1, 3) // BFINAL, BTYPE 10
	w.put(uint64(nlit-257), 5)
	w.put(uint64(ndist-1), 5)
	w.put(uint64(nclen-4), 4)
	for _, s := range codeLengthOrder[:nclen] {
		w.put(uint64(clLens[s]), 3)
	}
	for _, c := range cl {
		w.put(uint64(clCodes[c.sym]), uint(clLens[c.sym]))
		if c.nbits > 0 {
			w.put(uint64(c.extra), uint(c.nbits))
		}
	}
	litCodes := huffCodesOf(litLens)
	distCode, distLen := uint64(huffCodesOf(distLens)[0]), uint(distLens[0])
	// Literal codes and lengths as one table: code in the low bits, length above 32.
	var lit [256]uint64
	for s := range lit {
		lit[s] = uint64(litLens[s])<<32 | uint64(litCodes[s])
	}
	prev = -1
	for i := 0; i < len(data); {
		b := data[i]
		if int(b) == prev {
			if n := runAt(data, i, b); n >= 3 {
				lc := deflateLengths[n]
				// Length code, extra bits, then the distance code (distance 1: no extra bits;
				// the only distance code, so 1 bit, and the whole at most 15 + 5 + 1 bits).
				v := uint64(litCodes[lc.sym]) | uint64(n-int(lc.base))<<litLens[lc.sym]
				nb := uint(litLens[lc.sym]) + uint(lc.extra)
				w.put(v|distCode<<nb, nb+distLen)
				i += n
				continue
			}
		}
		e := lit[b]
		w.put(e&0xFFFFFFFF, uint(e>>32))
		prev = int(b)
		i++
	}
	w.put(uint64(litCodes[256]), uint(litLens[256]))
}

// runAt returns how many bytes from data[i] on equal b (= data[i−1]), at most 258.
func runAt(data []byte, i int, b byte) int {
	rep := uint64(b) * 0x0101010101010101
	n := 0
	for n+8 <= 258 && i+n+8 <= len(data) {
		if x := binary.LittleEndian.Uint64(data[i+n:]) ^ rep; x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < 258 && i+n < len(data) && data[i+n] == b {
		n++
	}
	return n
}

// finish aligns the stream and appends the Adler-32 of the input (RFC 1950 2.2).
func (d *rleDeflater) finish() {
	d.bits.align()
	d.bits.out = binary.BigEndian.AppendUint32(d.bits.out, d.adler.Sum32())
}
