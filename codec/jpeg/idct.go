package jpeg

// The inverse DCT is the accurate integer ("islow") algorithm of the IJG library (after Loeffler,
// Ligtenberg and Moschytz), so that lossy frames decode to the same values as DCMTK's dcmdjpeg:
// two separable 1-D passes with 13-bit fixed-point constants, PASS1_BITS extra bits of
// precision between the passes (2 for 8-bit samples, 1 for 12-bit), then level shift and range
// limiting through a table that wraps outlying values the way IJG's does (T.81 A.3.3 defines the
// transform; the arithmetic is an implementation choice).

const (
	constBits = 13

	fix0298631336 = 2446
	fix0390180644 = 3196
	fix0541196100 = 4433
	fix0765366865 = 6270
	fix0899976223 = 7373
	fix1175875602 = 9633
	fix1501321110 = 12299
	fix1847759065 = 15137
	fix1961570560 = 16069
	fix2053119869 = 16819
	fix2562915447 = 20995
	fix3072711026 = 25172
)

// idct transforms one dequantized block into 8×8 samples at out (row stride).
func idct(blk []int16, q *[64]int32, out []uint16, stride int, prec int) {
	pass1 := 2
	if prec > 8 {
		pass1 = 1
	}
	maxv := 1<<prec - 1
	center := 1 << (prec - 1)
	var ws [64]int
	blk = blk[:64]

	// Pass 1: columns from the input into the work array.
	for c := 0; c < 8; c++ {
		if blk[8+c] == 0 && blk[16+c] == 0 && blk[24+c] == 0 && blk[32+c] == 0 &&
			blk[40+c] == 0 && blk[48+c] == 0 && blk[56+c] == 0 {
			dc := int(blk[c]) * int(q[c]) << pass1
			for r := 0; r < 8; r++ {
				ws[8*r+c] = dc
			}
			continue
		}
		// Even part.
		z2 := int(blk[16+c]) * int(q[16+c])
		z3 := int(blk[48+c]) * int(q[48+c])
		z1 := (z2 + z3) * fix0541196100
		tmp2 := z1 - z3*fix1847759065
		tmp3 := z1 + z2*fix0765366865
		z2 = int(blk[c]) * int(q[c])
		z3 = int(blk[32+c]) * int(q[32+c])
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2
		// Odd part.
		tmp0 = int(blk[56+c]) * int(q[56+c])
		tmp1 = int(blk[40+c]) * int(q[40+c])
		tmp2 = int(blk[24+c]) * int(q[24+c])
		tmp3 = int(blk[8+c]) * int(q[8+c])
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1175875602
		tmp0 *= fix0298631336
		tmp1 *= fix2053119869
		tmp2 *= fix3072711026
		tmp3 *= fix1501321110
		z1 *= -fix0899976223
		z2 *= -fix2562915447
		z3 = z3*-fix1961570560 + z5
		z4 = z4*-fix0390180644 + z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4
		sh := constBits - pass1
		rnd := 1 << (sh - 1)
		ws[c] = (tmp10 + tmp3 + rnd) >> sh
		ws[56+c] = (tmp10 - tmp3 + rnd) >> sh
		ws[8+c] = (tmp11 + tmp2 + rnd) >> sh
		ws[48+c] = (tmp11 - tmp2 + rnd) >> sh
		ws[16+c] = (tmp12 + tmp1 + rnd) >> sh
		ws[40+c] = (tmp12 - tmp1 + rnd) >> sh
		ws[24+c] = (tmp13 + tmp0 + rnd) >> sh
		ws[32+c] = (tmp13 - tmp0 + rnd) >> sh
	}

	// Pass 2: rows from the work array to the output, with level shift and range limit.
	sh := constBits + pass1 + 3
	rnd := 1 << (sh - 1)
	lim := limiter{mask: 4*(maxv+1) - 1, half: 2 * (maxv + 1), center: center, maxv: maxv}
	for r := 0; r < 8; r++ {
		w := ws[8*r : 8*r+8]
		o := out[r*stride : r*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := lim.clamp((w[0] + 1<<(pass1+2)) >> (pass1 + 3))
			for i := range o {
				o[i] = v
			}
			continue
		}
		z2 := w[2]
		z3 := w[6]
		z1 := (z2 + z3) * fix0541196100
		tmp2 := z1 - z3*fix1847759065
		tmp3 := z1 + z2*fix0765366865
		tmp0 := (w[0] + w[4]) << constBits
		tmp1 := (w[0] - w[4]) << constBits
		tmp10 := tmp0 + tmp3
		tmp13 := tmp0 - tmp3
		tmp11 := tmp1 + tmp2
		tmp12 := tmp1 - tmp2
		tmp0 = w[7]
		tmp1 = w[5]
		tmp2 = w[3]
		tmp3 = w[1]
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1175875602
		tmp0 *= fix0298631336
		tmp1 *= fix2053119869
		tmp2 *= fix3072711026
		tmp3 *= fix1501321110
		z1 *= -fix0899976223
		z2 *= -fix2562915447
		z3 = z3*-fix1961570560 + z5
		z4 = z4*-fix0390180644 + z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4
		o[0] = lim.clamp((tmp10 + tmp3 + rnd) >> sh)
		o[7] = lim.clamp((tmp10 - tmp3 + rnd) >> sh)
		o[1] = lim.clamp((tmp11 + tmp2 + rnd) >> sh)
		o[6] = lim.clamp((tmp11 - tmp2 + rnd) >> sh)
		o[2] = lim.clamp((tmp12 + tmp1 + rnd) >> sh)
		o[5] = lim.clamp((tmp12 - tmp1 + rnd) >> sh)
		o[3] = lim.clamp((tmp13 + tmp0 + rnd) >> sh)
		o[4] = lim.clamp((tmp13 - tmp0 + rnd) >> sh)
	}
}

// limiter reproduces IJG's range-limit table: the value is reduced modulo 4·(maxv+1) as a signed
// number, level-shifted by center and clamped to [0, maxv].
type limiter struct{ mask, half, center, maxv int }

func (l limiter) clamp(v int) uint16 {
	v &= l.mask
	if v >= l.half {
		v -= 2 * l.half
	}
	v += l.center
	if uint(v) > uint(l.maxv) {
		if v < 0 {
			return 0
		}
		return uint16(l.maxv)
	}
	return uint16(v)
}
