package jpeg

import (
	"fmt"

	"github.com/lightbox-pacs/lightbox/codec"
)

// lutBits is the number of bits the Huffman lookahead table resolves at once.
const lutBits = 9

// huffTable is a decoding table built from a DHT segment (T.81 B.2.4.2, C and F.2.2.3).
type huffTable struct {
	// lut maps the next lutBits bits to length<<8 | value, 0 when the code is longer.
	lut [1 << lutBits]uint16
	// maxcode[l] is the largest code of length l, -1 when there is none (F.2.2.3, Figure F.16).
	maxcode [18]int32
	// valptr[l] - mincode[l] indexes vals for codes of length l.
	valoff [17]int32
	vals   [256]byte
}

// buildHuff builds a decoding table from the 16 code-length counts and the symbol values.
func buildHuff(counts [16]byte, vals []byte) (*huffTable, error) {
	t := &huffTable{}
	total := 0
	for _, c := range counts {
		total += int(c)
	}
	if total == 0 || total > 256 || total != len(vals) {
		return nil, fmt.Errorf("jpeg: Huffman table with %d codes: %w", total, codec.ErrCorrupt)
	}
	copy(t.vals[:], vals)
	// Generate canonical codes (T.81 C.2, Figures C.1 to C.3).
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		n := int(counts[l-1])
		t.valoff[l] = int32(k) - code
		if code+int32(n) > 1<<l {
			return nil, fmt.Errorf("jpeg: Huffman table has too many codes of length %d: %w", l, codec.ErrCorrupt)
		}
		if n == 0 {
			t.maxcode[l] = -1
		} else {
			for i := 0; i < n; i++ {
				if l <= lutBits {
					// Fill every lookahead entry that begins with this code.
					shift := lutBits - l
					base := int(code) << shift
					for j := 0; j < 1<<shift; j++ {
						t.lut[base+j] = uint16(l)<<8 | uint16(vals[k])
					}
				}
				code++
				k++
			}
			t.maxcode[l] = code - 1
		}
		code <<= 1
	}
	t.maxcode[17] = 1<<30 - 1 // sentinel: stops the slow search
	return t, nil
}

// bitReader reads the entropy-coded segment of a scan (T.81 F.2.2.5), removing stuffed zero bytes
// and stopping at the first marker. Past a marker or the end of the data it supplies zero bits and
// counts them, so that a truncated stream is detected without reading out of bounds.
type bitReader struct {
	src    []byte
	pos    int
	acc    uint64 // bits left aligned
	n      uint   // number of valid bits in acc
	marker bool   // pos is at a marker (or the end of src): no more data in this interval
	pad    int    // zero bytes supplied after the data ended
}

// fill tops acc up to at least 57 bits.
func (br *bitReader) fill() {
	for br.n <= 56 {
		var b byte
		if !br.marker {
			if br.pos >= len(br.src) {
				br.marker = true
			} else {
				b = br.src[br.pos]
				if b == 0xFF {
					if br.pos+1 < len(br.src) && br.src[br.pos+1] == 0x00 {
						br.pos += 2
					} else {
						br.marker = true
						b = 0
					}
				} else {
					br.pos++
				}
			}
		}
		if br.marker {
			br.pad++
		}
		br.acc |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

// overrun is the number of bits consumed beyond the end of the data.
func (br *bitReader) overrun() int {
	o := br.pad*8 - int(br.n)
	if o < 0 {
		return 0
	}
	return o
}

// bits reads n ≤ 16 bits.
func (br *bitReader) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if br.n < n {
		br.fill()
	}
	v := int32(br.acc >> (64 - n))
	br.acc <<= n
	br.n -= n
	return v
}

// bit reads one bit.
func (br *bitReader) bit() bool {
	if br.n == 0 {
		br.fill()
	}
	v := br.acc>>63 != 0
	br.acc <<= 1
	br.n--
	return v
}

// receiveExtend reads s ≤ 16 bits and extends them to a signed value (T.81 F.2.2.1, Figure F.12).
func (br *bitReader) receiveExtend(s uint) int32 {
	if s == 0 {
		return 0
	}
	if br.n < s {
		br.fill()
	}
	v := int32(br.acc >> (64 - s))
	br.acc <<= s
	br.n -= s
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// decode reads one Huffman-coded symbol (T.81 F.2.2.3): codes of up to lutBits bits by table
// lookup, longer ones by decodeSlow.
func (br *bitReader) decode(t *huffTable) (byte, error) {
	if br.n < 16 {
		br.fill()
	}
	e := t.lut[br.acc>>(64-lutBits)]
	if e == 0 {
		return br.decodeSlow(t)
	}
	br.acc <<= e >> 8
	br.n -= uint(e >> 8)
	return byte(e), nil
}

func (br *bitReader) decodeSlow(t *huffTable) (byte, error) {
	for l := uint(lutBits + 1); l <= 16; l++ {
		code := int32(br.acc >> (64 - l))
		if code <= t.maxcode[l] {
			br.acc <<= l
			br.n -= l
			return t.vals[t.valoff[l]+code], nil
		}
	}
	return 0, fmt.Errorf("jpeg: invalid Huffman code: %w", codec.ErrCorrupt)
}

// reset discards buffered bits, at the end of a scan or restart interval.
func (br *bitReader) reset() {
	br.acc, br.n, br.pad = 0, 0, 0
}

// restart consumes the restart marker RSTm expected after an interval (T.81 F.2.2.5, F.1.2.3),
// skipping padding bits.
func (br *bitReader) restart(m int) error {
	if br.overrun() > 0 {
		return fmt.Errorf("jpeg: restart interval %d ends early: %w", m, codec.ErrCorrupt)
	}
	br.reset()
	br.marker = false
	// Skip anything left before the marker (should be nothing but fill bytes).
	p := br.pos
	for p+1 < len(br.src) && (br.src[p] != 0xFF || br.src[p+1] == 0x00 || br.src[p+1] == 0xFF) {
		p++
	}
	if p+1 >= len(br.src) {
		return fmt.Errorf("jpeg: missing restart marker %d: %w", m&7, codec.ErrCorrupt)
	}
	if mk := br.src[p+1]; mk < 0xD0 || mk > 0xD7 {
		return fmt.Errorf("jpeg: marker FF%02X where restart marker %d was expected: %w", mk, m&7, codec.ErrCorrupt)
	}
	br.pos = p + 2
	return nil
}
