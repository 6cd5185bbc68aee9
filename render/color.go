package render

import (
	"encoding/binary"
	"fmt"
	"image"
	"math"
)

// samples8 returns the first count samples of a frame reduced to 8 bits: the Bits Stored bits
// ending at High Bit, their top 8 bits when more are stored, stretched to 0 … 255 when fewer
// are. Frames of 8 bits stored in 8 are returned as they are.
func (l *Layout) samples8(frame []byte, count int) []uint8 {
	if l.BitsAllocated == 8 && l.BitsStored == 8 {
		return frame[:count]
	}
	shift := uint(l.HighBit + 1 - l.BitsStored)
	mask := uint32(1)<<uint(l.BitsStored) - 1
	if l.BitsStored == 32 {
		mask = math.MaxUint32
	}
	conv := func(raw uint32) uint8 {
		v := raw >> shift & mask
		switch {
		case l.BitsStored > 8:
			return uint8(v >> uint(l.BitsStored-8))
		case l.BitsStored < 8:
			return uint8((v*255 + mask/2) / mask)
		}
		return uint8(v)
	}
	out := make([]uint8, count)
	switch l.BitsAllocated {
	case 8:
		var table [256]uint8
		for i := range table {
			table[i] = conv(uint32(i))
		}
		for i := range out {
			out[i] = table[frame[i]]
		}
	case 16:
		for i := range out {
			out[i] = conv(uint32(binary.LittleEndian.Uint16(frame[2*i:])))
		}
	case 32:
		for i := range out {
			out[i] = conv(binary.LittleEndian.Uint32(frame[4*i:]))
		}
	}
	return out
}

// color renders an RGB or YBR frame (PS3.3 C.7.6.3.1.2).
func (l *Layout) color(frame []byte) (*image.RGBA, error) {
	n := l.Rows * l.Columns
	img := image.NewRGBA(image.Rect(0, 0, l.Columns, l.Rows))
	pix := img.Pix
	if l.subsampled() {
		// Y1 Y2 Cb Cr for each two pixels: the chrominance is shared by the pair.
		s := l.samples8(frame, 2*n)
		conv := newYBR(l.Photometric)
		for i := 0; i < n; i++ {
			p := i &^ 1 * 2
			conv.rgb(pix[4*i:4*i+4:4*i+4], s[p+i&1], s[p+2], s[p+3])
		}
		return img, nil
	}
	s := l.samples8(frame, 3*n)
	// c0, c1, c2 return the three samples of pixel i.
	c0, c1, c2, step := 0, 1, 2, 3
	if l.Planar {
		c0, c1, c2, step = 0, n, 2*n, 1
	}
	if l.Photometric == RGB {
		for i := 0; i < n; i++ {
			k := step * i
			p := pix[4*i : 4*i+4 : 4*i+4]
			p[0], p[1], p[2], p[3] = s[k+c0], s[k+c1], s[k+c2], 255
		}
		return img, nil
	}
	conv := newYBR(l.Photometric)
	for i := 0; i < n; i++ {
		k := step * i
		conv.rgb(pix[4*i:4*i+4:4*i+4], s[k+c0], s[k+c1], s[k+c2])
	}
	return img, nil
}

// ybr converts Y, Cb, Cr samples of 8 bits to RGB through tables of 16.16 fixed-point terms.
type ybr struct {
	rct                   bool
	y, rCr, gCb, gCr, bCb [256]int32
}

// newYBR builds the conversion of a YBR photometric interpretation (PS3.3 C.7.6.3.1.2):
// YBR_FULL, YBR_FULL_422 and YBR_ICT by the full-range equations
//
//	R = Y + 1.402 (Cr − 128)
//	G = Y − 0.344136 (Cb − 128) − 0.714136 (Cr − 128)
//	B = Y + 1.772 (Cb − 128)
//
// YBR_PARTIAL_422 and YBR_PARTIAL_420 by their partial-range (Y 16 … 235, Cb and Cr 16 … 240)
// inverse, and YBR_RCT by the reversible transform of ISO/IEC 15444-1 G.2 with Cb and Cr held
// offset by 128.
func newYBR(photometric string) *ybr {
	t := &ybr{rct: photometric == YBRRCT}
	const one = 1 << 16
	fix := func(f float64) int32 { return int32(math.Round(f * one)) }
	ky, kr, kgb, kgr, kb := 1.0, 1.402, 0.344136, 0.714136, 1.772
	y0 := 0.0
	if photometric == YBRPartial422 || photometric == YBRPartial420 {
		ky, kr, kgb, kgr, kb = 255.0/219, 255.0/224*1.402, 255.0/224*0.344136, 255.0/224*0.714136, 255.0/224*1.772
		y0 = 16
	}
	for i := range 256 {
		c := float64(i) - 128
		t.y[i] = fix(ky*(float64(i)-y0)) + one/2 // rounding folded into Y
		t.rCr[i] = fix(kr * c)
		t.gCb[i] = fix(-kgb * c)
		t.gCr[i] = fix(-kgr * c)
		t.bCb[i] = fix(kb * c)
	}
	return t
}

// clamp8 takes the integer part of a 16.16 value clamped to 0 … 255.
func clamp8(v int32) uint8 {
	v >>= 16
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// rgb writes the RGBA pixel of Y, Cb, Cr into p.
func (t *ybr) rgb(p []uint8, y, cb, cr uint8) {
	if t.rct {
		// ISO/IEC 15444-1 G.2.2: G = Y − ⌊(Cb + Cr) / 4⌋, R = Cr + G, B = Cb + G.
		u, v := int32(cb)-128, int32(cr)-128
		g := int32(y) - (u+v)>>2
		p[0], p[1], p[2], p[3] = clampInt(v+g), clampInt(g), clampInt(u+g), 255
		return
	}
	yy := t.y[y]
	p[0] = clamp8(yy + t.rCr[cr])
	p[1] = clamp8(yy + t.gCb[cb] + t.gCr[cr])
	p[2] = clamp8(yy + t.bCb[cb])
	p[3] = 255
}

func clampInt(v int32) uint8 { return uint8(max(0, min(255, v))) }

// palette renders a PALETTE COLOR frame (PS3.3 C.7.6.3.1.5): each stored value indexes the
// red, green and blue LUTs, through a table built once for all stored values.
func (l *Layout) palette(frame []byte) (*image.RGBA, error) {
	if l.Palette == nil || l.Palette[0] == nil || l.Palette[1] == nil || l.Palette[2] == nil {
		return nil, fmt.Errorf("%w: PALETTE COLOR without a palette", ErrInvalid)
	}
	n := l.Rows * l.Columns
	shift := uint(l.HighBit + 1 - l.BitsStored)
	mask := uint32(1)<<uint(l.BitsStored) - 1
	table := make([]uint8, 4*(mask+1))
	for u := uint32(0); u <= mask; u++ {
		s := int(u)
		if l.Signed && u&(1<<uint(l.BitsStored-1)) != 0 {
			s -= 1 << uint(l.BitsStored)
		}
		for c, t := range l.Palette {
			v := uint32(t.at(s))
			switch {
			case t.Bits > 8:
				v >>= uint(t.Bits - 8)
			case t.Bits < 8:
				m := uint32(1)<<uint(t.Bits) - 1
				v = (min(v, m)*255 + m/2) / m
			}
			table[4*u+uint32(c)] = uint8(v)
		}
		table[4*u+3] = 255
	}
	img := image.NewRGBA(image.Rect(0, 0, l.Columns, l.Rows))
	pix := img.Pix
	if l.BitsAllocated == 8 {
		for i, b := range frame[:n] {
			k := 4 * ((uint32(b) >> shift) & mask)
			copy(pix[4*i:4*i+4], table[k:k+4])
		}
		return img, nil
	}
	for i := 0; i < n; i++ {
		k := 4 * ((uint32(binary.LittleEndian.Uint16(frame[2*i:])) >> shift) & mask)
		copy(pix[4*i:4*i+4], table[k:k+4])
	}
	return img, nil
}
