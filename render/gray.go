package render

import (
	"encoding/binary"
	"fmt"
	"image"
	"math"
)

// voi is the VOI transformation (PS3.3 C.11.2) chosen for a frame: a window, a VOI LUT, or
// neither, for the range of the frame's modality values.
type voi struct {
	win *window
	lut *LUT
}

// window is a Window ready to apply.
type window struct {
	fn   string
	c, w float64
}

func (w Window) compile() *window { return &window{fn: w.function(), c: w.Center, w: w.Width} }

// apply maps a modality value to [0, 1] (PS3.3 C.11.2.1.2.1, C.11.2.1.3.1 and C.11.2.1.3.2,
// with ymin 0 and ymax 1).
func (w *window) apply(x float64) float64 {
	c, wd := w.c, w.w
	switch w.fn {
	case LinearExact:
		switch {
		case x <= c-wd/2:
			return 0
		case x > c+wd/2:
			return 1
		}
		return (x-c)/wd + 0.5
	case Sigmoid:
		return 1 / (1 + math.Exp(-4*(x-c)/wd))
	}
	switch {
	case x <= c-0.5-(wd-1)/2:
		return 0
	case x > c-0.5+(wd-1)/2:
		return 1
	}
	return (x-(c-0.5))/(wd-1) + 0.5
}

// apply maps a modality value to [0, 1]; NaN maps to 0.
func (v voi) apply(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	if v.lut != nil {
		// PS3.3 C.11.2.1.1: the modality value indexes the LUT, clamped to its first and last
		// entries; the output spans 0 … 2^Bits − 1.
		x = math.Round(max(-1<<31, min(1<<31, x)))
		return min(1, float64(v.lut.at(int(x)))/v.lut.maxOut())
	}
	return v.win.apply(x)
}

// chooseVOI picks the VOI transformation: the caller's window; else the window or VOI LUT
// opts selects; else the data set's first window, else its first VOI LUT; else none.
func (l *Layout) chooseVOI(opts Options) (voi, error) {
	switch {
	case opts.Window != nil:
		if err := opts.Window.Validate(); err != nil {
			return voi{}, err
		}
		return voi{win: opts.Window.compile()}, nil
	case opts.MinMax:
		return voi{}, nil
	case opts.VOILUT:
		if opts.VOIIndex < 0 || opts.VOIIndex >= len(l.VOILUTs) {
			return voi{}, fmt.Errorf("%w: VOI LUT %d: the image has %d", ErrInvalid, opts.VOIIndex+1, len(l.VOILUTs))
		}
		return voi{lut: l.VOILUTs[opts.VOIIndex]}, nil
	case opts.VOIIndex != 0:
		if opts.VOIIndex < 0 || opts.VOIIndex >= len(l.Windows) {
			return voi{}, fmt.Errorf("%w: window %d: the image has %d", ErrInvalid, opts.VOIIndex+1, len(l.Windows))
		}
		w := l.Windows[opts.VOIIndex]
		if err := w.Validate(); err != nil {
			return voi{}, err
		}
		return voi{win: w.compile()}, nil
	case l.Window != nil:
		return voi{win: l.Window.compile()}, nil
	case len(l.VOILUTs) > 0:
		return voi{lut: l.VOILUTs[0]}, nil
	}
	return voi{}, nil
}

// rangeWindow is the window of the range lo … hi of a frame's modality values: the default
// when the image gives no VOI transformation. It is the LINEAR window of center (lo + hi + 1) / 2
// and width hi − lo + 1 (DCMTK's "min-max" window), which maps lo to 0 and hi to 1 exactly; a
// frame of one value maps to 0.
func rangeWindow(lo, hi float64) *window {
	return &window{fn: Linear, c: (lo + hi + 1) / 2, w: hi - lo + 1}
}

// inverted reports whether the output is inverted: MONOCHROME1 (PS3.3 C.7.6.3.1.2), or a
// Presentation LUT Shape of INVERSE (C.11.6.1.2). INVERSE on a MONOCHROME1 image states the
// inversion MONOCHROME1 implies (as PS3.3 C.8.11.1.1.1 requires of DX images) and does not
// invert twice.
func (l *Layout) inverted() bool { return l.Photometric == Monochrome1 || l.Inverse }

// toByte turns y in [0, 1] into an output value.
func toByte(y float64, inv bool) uint8 {
	if math.IsNaN(y) {
		y = 0
	}
	v := uint8(math.Round(255 * max(0, min(1, y))))
	if inv {
		v = 255 - v
	}
	return v
}

// gray renders a grayscale frame. Integer samples of up to 16 bits go through a table from
// stored value to output value built once for the frame's range of stored values; 32-bit
// integers and floats are mapped one by one.
func (l *Layout) gray(frame []byte, bitOff int, opts Options) (*image.Gray, error) {
	v, err := l.chooseVOI(opts)
	if err != nil {
		return nil, err
	}
	if l.Float || l.BitsAllocated == 32 {
		return l.grayFloat(frame, v), nil
	}
	n := l.Rows * l.Columns
	lo, hi := l.storedRange(frame, bitOff, n)
	modality := func(s int32) float64 {
		if l.ModalityLUT != nil {
			return float64(l.ModalityLUT.at(int(s)))
		}
		return float64(s)*l.Slope + l.Intercept
	}
	table := make([]uint8, int(hi-lo)+1)
	if l.BitsAllocated == 16 {
		// mapStored16 indexes a table of 2^16 entries without bounds checks.
		table = make([]uint8, 1<<16)[:len(table)]
	}
	if v.win == nil && v.lut == nil {
		mlo, mhi := modality(lo), modality(hi)
		if l.ModalityLUT != nil {
			// The range of the LUT's outputs for the stored values present.
			l.mapStored(frame, bitOff, n, lo, table, table) // marks the values present
			mlo, mhi = math.Inf(1), math.Inf(-1)
			for k, seen := range table {
				if seen != 0 {
					m := modality(lo + int32(k))
					mlo, mhi = min(mlo, m), max(mhi, m)
				}
			}
		}
		v.win = rangeWindow(min(mlo, mhi), max(mlo, mhi))
	}
	inv := l.inverted()
	for k := range table {
		table[k] = toByte(v.apply(modality(lo+int32(k))), inv)
	}
	img := image.NewGray(image.Rect(0, 0, l.Columns, l.Rows))
	l.mapStored(frame, bitOff, n, lo, table, img.Pix[:n])
	return img, nil
}

// Stored values of 1, 8 or 16 bits allocated are the Bits Stored bits ending at High Bit,
// sign-extended when signed (PS3.5 8.1.1, 8.1.2): shifted left so that the high bit is bit 31,
// then right (arithmetically when signed) by 32 − Bits Stored.

// storedRange returns the smallest and largest stored value of the n pixels of a frame.
func (l *Layout) storedRange(frame []byte, bitOff, n int) (lo, hi int32) {
	up, down := uint(31-l.HighBit), uint(32-l.BitsStored)
	lo, hi = math.MaxInt32, math.MinInt32
	switch l.BitsAllocated {
	case 1:
		lo, hi = 1, 0
		for i := 0; i < n; i++ {
			b := bitOff + i
			bit := int32(frame[b>>3] >> (b & 7) & 1)
			lo, hi = min(lo, bit), max(hi, bit)
		}
		if l.Signed {
			lo, hi = -hi, -lo
		}
	case 8:
		for _, b := range frame[:n] {
			var s int32
			if l.Signed {
				s = int32(uint32(b)<<(up&31)) >> (down & 31)
			} else {
				s = int32(uint32(b) << (up & 31) >> (down & 31))
			}
			lo, hi = min(lo, s), max(hi, s)
		}
	case 16:
		return storedRange16(frame[:2*n], l.HighBit, l.BitsStored, l.Signed)
	}
	return lo, hi
}

// mapStored writes table[s − lo] for the stored value s of each of the n pixels of a frame to
// dst; every s lies in lo … lo + len(table) − 1. When dst is table itself, it marks the values
// present instead (table[s − lo] = 1).
func (l *Layout) mapStored(frame []byte, bitOff, n int, lo int32, table, dst []uint8) {
	up, down := uint(31-l.HighBit), uint(32-l.BitsStored)
	mark := len(dst) > 0 && len(table) > 0 && &dst[0] == &table[0]
	dst = dst[:len(dst):len(dst)]
	switch l.BitsAllocated {
	case 1:
		// Packed eight pixels a byte, the first in the least significant bit (PS3.5 8.1.1).
		for i := 0; i < n; i++ {
			b := bitOff + i
			s := int32(frame[b>>3] >> (b & 7) & 1)
			if l.Signed {
				s = -s
			}
			if mark {
				table[s-lo] = 1
			} else {
				dst[i] = table[s-lo]
			}
		}
	case 8:
		for i, b := range frame[:n] {
			var s int32
			if l.Signed {
				s = int32(uint32(b)<<(up&31)) >> (down & 31)
			} else {
				s = int32(uint32(b) << (up & 31) >> (down & 31))
			}
			if mark {
				table[s-lo] = 1
			} else {
				dst[i] = table[s-lo]
			}
		}
	case 16:
		src := frame[:2*n]
		switch {
		case mark:
			for i := 0; i+1 < len(src); i += 2 {
				r := uint32(src[i]) | uint32(src[i+1])<<8
				s := int32(r << (up & 31) >> (down & 31))
				if l.Signed {
					s = int32(r<<(up&31)) >> (down & 31)
				}
				table[s-lo] = 1
			}
		default:
			mapStored16(src, l.HighBit, l.BitsStored, lo, table, dst[:n])
		}
	}
}

// A 16-bit sample's stored value is held in its bits HighBit − BitsStored + 1 … HighBit: the
// loops below take them with a shift and a mask, and treat a signed value v as the unsigned
// v + 2^(BitsStored−1) (its sign bit flipped), which orders them as the signed values are.
// Both read four samples at a time as a 64-bit word.

// storedRange16 returns the smallest and largest stored value of the 16-bit samples of src.
// The four samples of a word are checked against the range found so far at once, as lanes of
// 16 bits spread over two words of 32-bit lanes (the even and the odd samples) with a guard bit
// above each: (v | guard) − lo keeps the guard bit if v ≥ lo, (hi | guard) − v if v ≤ hi.
// Only the words that hold a sample outside are looked at sample by sample: once the range is
// found, a word costs a dozen operations and no branch taken.
func storedRange16(src []byte, highBit, bitsStored int, signed bool) (lo, hi int32) {
	if len(src) < 2 {
		return math.MaxInt32, math.MinInt32
	}
	const (
		lanes  = 0x0001000100010001 // 1 in each 16-bit lane
		pair   = 0x0000000100000001 // 1 in each 32-bit lane
		even   = 0x0000FFFF0000FFFF // the even 16-bit lanes
		guards = 0x0001000000010000 // the guard bits of the 32-bit lanes
	)
	shift := uint(highBit+1-bitsStored) & 15
	mask := uint64(1)<<uint(bitsStored) - 1
	flip := uint64(0)
	if signed {
		flip = 1 << uint(bitsStored-1)
	}
	mask4, flip4 := mask*lanes, flip*lanes
	first := uint32(uint64(binary.LittleEndian.Uint16(src))>>shift&mask ^ flip)
	xlo, xhi := first, first
	lo2, hi2 := uint64(xlo)*pair, uint64(xhi)*pair|guards
	i := 0
	for ; i+8 <= len(src); i += 8 {
		x := binary.LittleEndian.Uint64(src[i:])>>shift&mask4 ^ flip4
		e, o := x&even, x>>16&even
		if ((e|guards)-lo2)&(hi2-e)&((o|guards)-lo2)&(hi2-o)&guards == guards {
			continue
		}
		for k := uint(0); k < 64; k += 16 {
			v := uint32(x >> k & 0xFFFF)
			xlo, xhi = min(xlo, v), max(xhi, v)
		}
		lo2, hi2 = uint64(xlo)*pair, uint64(xhi)*pair|guards
	}
	for ; i+1 < len(src); i += 2 {
		v := uint32(uint64(binary.LittleEndian.Uint16(src[i:]))>>shift&mask ^ flip)
		xlo, xhi = min(xlo, v), max(xhi, v)
	}
	return int32(xlo) - int32(flip), int32(xhi) - int32(flip)
}

// mapStored16 writes table[s − lo] for the stored value s of each 16-bit sample of src to dst
// (of one byte per sample); table has room for 2^16 entries, so that a 16-bit index needs no
// bounds check. As s − lo lies in 0 … 2^BitsStored − 1, it is the stored bits minus lo modulo
// 2^BitsStored, whether the values are signed or not. Four samples are read as a word, shifted
// at once (the bits a sample gets from the next one are above its stored bits, and masked off).
func mapStored16(src []byte, highBit, bitsStored int, lo int32, table, dst []uint8) {
	t := (*[1 << 16]uint8)(table[:1<<16])
	shift := uint(highBit+1-bitsStored) & 15
	mask := uint32(1)<<uint(bitsStored) - 1
	base := uint32(lo)
	src = src[:2*len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		w := binary.LittleEndian.Uint64(src[2*i:]) >> shift
		b0 := t[uint16((uint32(w)-base)&mask)]
		b1 := t[uint16((uint32(w>>16)-base)&mask)]
		b2 := t[uint16((uint32(w>>32)-base)&mask)]
		b3 := t[uint16((uint32(w>>48)-base)&mask)]
		binary.LittleEndian.PutUint32(dst[i:], uint32(b0)|uint32(b1)<<8|uint32(b2)<<16|uint32(b3)<<24)
	}
	for ; i < len(dst); i++ {
		dst[i] = t[uint16((uint32(binary.LittleEndian.Uint16(src[2*i:]))>>shift-base)&mask)]
	}
}

// grayFloat renders a frame of 32-bit integers or of floats, one value at a time.
func (l *Layout) grayFloat(frame []byte, v voi) *image.Gray {
	n := l.Rows * l.Columns
	vals := make([]float64, n)
	up, down := uint(31-l.HighBit), uint(32-l.BitsStored)
	for i := range vals {
		var m float64
		switch {
		case l.Float && l.BitsAllocated == 64:
			m = math.Float64frombits(binary.LittleEndian.Uint64(frame[8*i:]))
		case l.Float:
			m = float64(math.Float32frombits(binary.LittleEndian.Uint32(frame[4*i:])))
		case l.Signed:
			m = float64(int32(binary.LittleEndian.Uint32(frame[4*i:])<<(up&31)) >> (down & 31))
		default:
			m = float64(binary.LittleEndian.Uint32(frame[4*i:]) << (up & 31) >> (down & 31))
		}
		if l.ModalityLUT != nil {
			m = float64(l.ModalityLUT.at(int(max(-1<<31, min(1<<31, m)))))
		} else {
			m = m*l.Slope + l.Intercept
		}
		vals[i] = m
	}
	if v.win == nil && v.lut == nil {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, m := range vals {
			if !math.IsInf(m, 0) && !math.IsNaN(m) {
				lo, hi = min(lo, m), max(hi, m)
			}
		}
		if lo > hi {
			lo, hi = 0, 0
		}
		v.win = rangeWindow(lo, hi)
	}
	inv := l.inverted()
	img := image.NewGray(image.Rect(0, 0, l.Columns, l.Rows))
	for i, m := range vals {
		img.Pix[i] = toByte(v.apply(m), inv)
	}
	return img
}
