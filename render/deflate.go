package render

import (
	"cmp"
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

// huffLengths returns code lengths of at most limit bits for the frequencies (of at most 286
// symbols): a Huffman code, its frequencies flattened until it fits. Symbols of frequency 0 get
// no code; a lone symbol gets 1 bit. Its work is in arrays of fixed size, without allocating.
func huffLengths(freq []int, limit int) []uint8 {
	const maxSyms = 286
	lens := make([]uint8, len(freq))
	var f [maxSyms]int
	copy(f[:], freq)
	type node struct {
		w           int
		left, right int16 // children (−1 for a leaf)
		sym         int16
	}
	var nodes [2 * maxSyms]node
	var depth [2 * maxSyms]uint16
	for {
		leaves := 0
		for s, w := range f[:len(freq)] {
			if w > 0 {
				nodes[leaves] = node{w, -1, -1, int16(s)}
				leaves++
			}
		}
		switch leaves {
		case 0:
			return lens
		case 1:
			lens[nodes[0].sym] = 1
			return lens
		}
		// By weight, ties by symbol.
		slices.SortFunc(nodes[:leaves], func(a, b node) int {
			if a.w != b.w {
				return cmp.Compare(a.w, b.w)
			}
			return int(a.sym) - int(b.sym)
		})
		// Two queues: the sorted leaves, and the internal nodes in the order made (their
		// weights increase).
		li, qi, m := 0, leaves, leaves
		pick := func() int {
			if li < leaves && (qi >= m || nodes[li].w <= nodes[qi].w) {
				li++
				return li - 1
			}
			qi++
			return qi - 1
		}
		for range leaves - 1 {
			a := pick()
			b := pick()
			nodes[m] = node{nodes[a].w + nodes[b].w, int16(a), int16(b), -1}
			m++
		}
		// Depths from the root down.
		depth[m-1] = 0
		maxDepth := 0
		for i := m - 1; i >= 0; i-- {
			n := nodes[i]
			if n.left >= 0 {
				depth[n.left], depth[n.right] = depth[i]+1, depth[i]+1
				continue
			}
			maxDepth = max(maxDepth, int(depth[i]))
		}
		if maxDepth <= limit {
			for i := range leaves {
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

// rleDeflater writes a zlib stream in blocks, appending it to out: the caller may put other
// bytes (PNG chunk headers and CRCs) in out between blocks, and take the bytes out holds away.
type rleDeflater struct {
	out []byte
	// acc holds the n bits (fewer than 8 between blocks) not yet in out.
	acc   uint64
	n     uint
	adler hash.Hash32
}

// newRLEDeflater returns a deflater appending to out, the zlib header written.
func newRLEDeflater(out []byte) *rleDeflater {
	out = append(out, 0x78, 0x01) // deflate, 32 KiB window, fastest (RFC 1950 2.2)
	return &rleDeflater{out: out, adler: adler32.New()}
}

// zeroBytes has the high bit of each byte of v that is 0 set, and no other bit.
func zeroBytes(v uint64) uint64 {
	const low7 = 0x7F7F7F7F7F7F7F7F
	return ^((v&low7 + low7) | v | low7)
}

// literalSpan returns how many of data[i … i+7] come before the first that begins a run (it
// and the next two equal the byte before it), 8 when none does. It needs 1 ≤ i and
// i + 10 ≤ len(data).
func literalSpan(data []byte, i int) int {
	d := data[i-1 : i+10]
	x0 := binary.LittleEndian.Uint64(d[0:])
	x1 := binary.LittleEndian.Uint64(d[1:])
	x2 := binary.LittleEndian.Uint64(d[2:])
	x3 := binary.LittleEndian.Uint64(d[3:])
	return bits.TrailingZeros64(zeroBytes(x1^x0)&zeroBytes(x2^x1)&zeroBytes(x3^x2)) >> 3
}

// block codes data as one dynamic Huffman block (RFC 1951 3.2.7), the last if final. Its
// tokens: a byte equal to the one before it and followed by two more such begins a run,
// coded as a match of distance 1 and the run's length (at most 258); every other byte is a
// literal. Two passes over the data find the same tokens: the first counts the symbols, the
// second codes them (cheaper than keeping a token per byte in between). Both look at eight
// bytes at a time for the start of a run.
func (d *rleDeflater) block(data []byte, final bool) {
	d.adler.Write(data)
	var litFreq [2][256]int // literals, counted in two tables to shorten dependency chains
	var freq [286]int       // the literal/length alphabet
	runs := 0
	i := 0
	if len(data) > 0 {
		litFreq[0][data[0]]++ // no run begins a block
		i = 1
	}
	for i+10 <= len(data) {
		k := literalSpan(data, i)
		if k == 8 {
			l := data[i : i+8]
			litFreq[0][l[0]]++
			litFreq[1][l[1]]++
			litFreq[0][l[2]]++
			litFreq[1][l[3]]++
			litFreq[0][l[4]]++
			litFreq[1][l[5]]++
			litFreq[0][l[6]]++
			litFreq[1][l[7]]++
			i += 8
			continue
		}
		for _, b := range data[i : i+k] {
			litFreq[0][b]++
		}
		i += k
		n := runAt(data, i, data[i-1])
		freq[deflateLengths[n].sym]++
		runs++
		i += n
	}
	for i < len(data) {
		b := data[i]
		if i > 0 && b == data[i-1] {
			if n := runAt(data, i, b); n >= 3 {
				freq[deflateLengths[n].sym]++
				runs++
				i += n
				continue
			}
		}
		litFreq[0][b]++
		i++
	}
	for s := range 256 {
		freq[s] = litFreq[0][s] + litFreq[1][s]
	}
	freq[256] = 1
	distFreq := [30]int{max(runs, 1)} // a distance code is declared even when unused
	litLens := huffLengths(freq[:], 15)
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
	litCodes := huffCodesOf(litLens)
	distCode, distLen := uint64(huffCodesOf(distLens)[0]), uint(distLens[0])

	// The block's size in bits, known from the counts: out is grown once to hold it, and the
	// coding below stores 8 bytes at a time without checking for room.
	size := 3 + 5 + 5 + 4 + 3*nclen
	for _, c := range cl {
		size += int(clLens[c.sym]) + int(c.nbits)
	}
	extras := [29]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	for s, f := range freq {
		size += f * int(litLens[s])
		if s > 256 {
			size += f * extras[s-257]
		}
	}
	size += runs * int(distLen)
	// Room for the bits held, the block, the alignment and Adler-32 of the end, and the 8
	// bytes of the last store.
	out := slices.Grow(d.out, (int(d.n)+size)/8+1+4+8)
	pos := len(out)
	out = out[:cap(out)]
	acc, nb := d.acc, d.n
	// put appends the n low bits of v; flush moves the whole bytes of acc to out. Between two
	// flushes at most 45 bits are put (acc holds at most 52).
	put := func(v uint64, n uint) {
		acc |= v << (nb & 63)
		nb += n
	}
	flush := func() {
		binary.LittleEndian.PutUint64(out[pos:], acc)
		pos += int(nb >> 3)
		acc >>= nb &^ 7 & 63
		nb &= 7
	}
	last := uint64(0)
	if final {
		last = 1
	}
	put(last|2<<1, 3) // BFINAL, BTYPE 10
	put(uint64(nlit-257), 5)
	put(uint64(ndist-1), 5)
	put(uint64(nclen-4), 4)
	flush()
	for _, s := range codeLengthOrder[:nclen] {
		put(uint64(clLens[s]), 3)
		flush()
	}
	for _, c := range cl {
		put(uint64(clCodes[c.sym])|uint64(c.extra)<<clLens[c.sym], uint(clLens[c.sym])+uint(c.nbits))
		flush()
	}
	// Literal codes and lengths as one table: code in the low 16 bits, length above.
	var lit [256]uint32
	for s := range lit {
		lit[s] = uint32(litLens[s])<<16 | uint32(litCodes[s])
	}
	// A run: its length code, extra bits, then the distance code (distance 1: no extra bits;
	// the only distance code, so 1 bit, and the whole at most 15 + 5 + 1 bits).
	run := func(n int) {
		lc := deflateLengths[n]
		v := uint64(litCodes[lc.sym]) | uint64(n-int(lc.base))<<litLens[lc.sym]
		k := uint(litLens[lc.sym]) + uint(lc.extra)
		put(v|distCode<<k, k+distLen)
		flush()
	}
	putLit := func(b byte) {
		e := lit[b]
		put(uint64(e&0xFFFF), uint(e>>16))
	}
	i = 0
	if len(data) > 0 {
		putLit(data[0])
		flush()
		i = 1
	}
	for i+10 <= len(data) {
		k := literalSpan(data, i)
		if k == 8 {
			// Eight literals of at most 15 bits each, flushed after every third.
			l := data[i : i+8]
			putLit(l[0])
			putLit(l[1])
			putLit(l[2])
			flush()
			putLit(l[3])
			putLit(l[4])
			putLit(l[5])
			flush()
			putLit(l[6])
			putLit(l[7])
			flush()
			i += 8
			continue
		}
		for _, b := range data[i : i+k] {
			putLit(b)
			flush()
		}
		i += k
		n := runAt(data, i, data[i-1])
		run(n)
		i += n
	}
	for i < len(data) {
		b := data[i]
		if i > 0 && b == data[i-1] {
			if n := runAt(data, i, b); n >= 3 {
				run(n)
				i += n
				continue
			}
		}
		putLit(b)
		flush()
		i++
	}
	put(uint64(litCodes[256]), uint(litLens[256]))
	flush()
	if final {
		// Align to a byte and append the Adler-32 of the input (RFC 1950 2.2).
		if nb > 0 {
			out[pos] = byte(acc)
			pos++
		}
		acc, nb = 0, 0
		binary.BigEndian.PutUint32(out[pos:], d.adler.Sum32())
		pos += 4
	}
	d.out, d.acc, d.n = out[:pos], acc, nb
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
