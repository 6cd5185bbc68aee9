package jpeg

import (
	"math"
	"sync"

	"github.com/lightbox-pacs/lightbox/codec"
)

// Example quantization tables of T.81 Annex K.1 (Tables K.1 and K.2), natural order.
var (
	stdLuma = [64]int{
		16, 11, 10, 16, 24, 40, 51, 61,
		12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56,
		14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77,
		24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101,
		72, 92, 95, 98, 112, 100, 103, 99,
	}
	stdChroma = [64]int{
		17, 18, 24, 47, 99, 99, 99, 99,
		18, 21, 26, 66, 99, 99, 99, 99,
		24, 26, 56, 99, 99, 99, 99, 99,
		47, 66, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
	}
)

// DefaultQuality is the quality of the lossy encoders when EncodeOptions.Quality is 0.
const DefaultQuality = 90

// dctMatrix holds c(u)/2 · cos((2x+1)uπ/16), the 1-D DCT basis (T.81 A.3.3).
var dctMatrix = sync.OnceValue(func() *[8][8]float64 {
	var m [8][8]float64
	for u := 0; u < 8; u++ {
		cu := 1.0
		if u == 0 {
			cu = 1 / math.Sqrt2
		}
		for x := 0; x < 8; x++ {
			m[u][x] = cu / 2 * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return &m
})

// scaleQuant scales an example table for quality q (1..100) the way the IJG library does.
// QuantTables returns the example quantization tables of T.81 Annex K.1 (luminance, then
// chrominance), in natural order, scaled to quality 1–100 as the IJG library does and clamped
// to the 8-bit range of baseline JPEG.
func QuantTables(quality int) [2][64]uint16 {
	q := min(max(quality, 1), 100)
	return [2][64]uint16{scaleQuant(&stdLuma, q), scaleQuant(&stdChroma, q)}
}

// Unzig maps a coefficient's index in zigzag order to its index in natural order (T.81
// figure A.6).
func Unzig() [64]byte { return unzig }

func scaleQuant(base *[64]int, q int) [64]uint16 {
	var scale int
	if q < 50 {
		scale = 5000 / q
	} else {
		scale = 200 - 2*q
	}
	var t [64]uint16
	for i, b := range base {
		v := (b*scale + 50) / 100
		t[i] = uint16(min(max(v, 1), 255))
	}
	return t
}

// EncodeBaseline encodes an 8-bit frame as JPEG baseline, process 1 (1.2.840.10008.1.2.4.50).
// Grey frames stay MONOCHROME1/2; RGB is converted to YCbCr without subsampling and the
// returned Image says YBR_FULL; YBR_FULL frames are coded as they are.
func EncodeBaseline(dst, frame []byte, in codec.Image, opts codec.EncodeOptions) ([]byte, codec.Image, error) {
	if in.BitsAllocated != 8 {
		return nil, in, unsupported("baseline JPEG of bits allocated %d", in.BitsAllocated)
	}
	return encodeDCT(dst, frame, in, opts, 8, mSOF0, 0)
}

// EncodeExtended encodes a frame as JPEG extended sequential, process 2/4 with Huffman coding
// (1.2.840.10008.1.2.4.51): 12-bit precision for Bits Allocated 16 (Bits Stored at most 12),
// 8-bit otherwise.
func EncodeExtended(dst, frame []byte, in codec.Image, opts codec.EncodeOptions) ([]byte, codec.Image, error) {
	prec := 8
	if in.BitsAllocated == 16 {
		prec = 12
	}
	return encodeDCT(dst, frame, in, opts, prec, mSOF1, 0)
}

// encodeDCT encodes a sequential DCT frame; restart is the restart interval in MCUs (0: none).
func encodeDCT(dst, frame []byte, in codec.Image, opts codec.EncodeOptions, prec int, sof byte, restart int) ([]byte, codec.Image, error) {
	if err := checkEncode(frame, in); err != nil {
		return nil, in, err
	}
	if in.BitsStored > prec {
		return nil, in, unsupported("lossy JPEG of %d-bit samples (at most %d)", in.BitsStored, prec)
	}
	if in.PixelRepresentation != 0 {
		return nil, in, unsupported("lossy JPEG of signed samples")
	}
	q := opts.Quality
	if q == 0 {
		q = DefaultQuality
	}
	q = min(max(q, 1), 100)
	w, h, nc := in.Columns, in.Rows, in.SamplesPerPixel
	get := sampleReader(frame, in)
	maxv := 1<<prec - 1
	center := 1 << (prec - 1)
	res := in
	res.PlanarConfiguration = 0
	toYCC := nc == 3 && in.Photometric == "RGB"
	if nc == 3 {
		res.Photometric = "YBR_FULL"
	}
	// Component planes at full resolution, padded to whole blocks by edge replication.
	bw, bh := ceilDiv(w, 8), ceilDiv(h, 8)
	pw, ph := bw*8, bh*8
	planes := make([][]int32, nc)
	for c := range planes {
		planes[c] = make([]int32, pw*ph)
	}
	for y := 0; y < ph; y++ {
		sy := min(y, h-1)
		for x := 0; x < pw; x++ {
			sx := min(x, w-1)
			i := y*pw + x
			if toYCC {
				r, g, b := int64(get(sx, sy, 0)), int64(get(sx, sy, 1)), int64(get(sx, sy, 2))
				planes[0][i] = int32((19595*r + 38470*g + 7471*b + 32768) >> 16)
				planes[1][i] = int32((-11059*r - 21709*g + 32768*b + int64(center)<<16 + 32767) >> 16)
				planes[2][i] = int32((32768*r - 27439*g - 5329*b + int64(center)<<16 + 32767) >> 16)
				continue
			}
			for c := 0; c < nc; c++ {
				v := get(sx, sy, c)
				if v > maxv {
					return nil, in, unsupported("sample value %d above %d-bit precision", v, prec)
				}
				planes[c][i] = int32(v)
			}
		}
	}
	qt := [2][64]uint16{scaleQuant(&stdLuma, q), scaleQuant(&stdChroma, q)}
	tsel := func(c int) int { return min(c, 1) }
	// Forward DCT and quantization of every block, in interleaved MCU order (zigzag order).
	blocks := make([][64]int32, bw*bh*nc)
	m := dctMatrix()
	var tmp [64]float64
	k := 0
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			for c := 0; c < nc; c++ {
				p := planes[c]
				// Rows: tmp[y][u] = Σx m[u][x]·(f(x,y) - center).
				for y := 0; y < 8; y++ {
					row := p[(by*8+y)*pw+bx*8:][:8]
					for u := 0; u < 8; u++ {
						s := 0.0
						for x := 0; x < 8; x++ {
							s += m[u][x] * float64(row[x]-int32(center))
						}
						tmp[y*8+u] = s
					}
				}
				qc := &qt[tsel(c)]
				b := &blocks[k]
				k++
				for zz := 0; zz < 64; zz++ {
					n := int(unzig[zz])
					v, u := n>>3, n&7
					s := 0.0
					for y := 0; y < 8; y++ {
						s += m[v][y] * tmp[y*8+u]
					}
					// Clamp to the magnitude categories the precision allows (T.81 F.1.2.1, F.1.2.2).
					lim := float64(int(1)<<(prec+2) - 1)
					if zz == 0 {
						lim = float64(int(1)<<(prec+3) - 1)
					}
					b[zz] = int32(math.Max(-lim, math.Min(lim, math.Round(s/float64(qc[n])))))
				}
			}
		}
	}
	// Symbol statistics for optimal Huffman tables (T.81 K.2), luminance and chrominance.
	var dcf, acf [2][256]int
	pred := make([]int32, nc)
	k = 0
	for range bw * bh {
		for c := 0; c < nc; c++ {
			b := &blocks[k]
			k++
			t := tsel(c)
			dcf[t][category(int(b[0]-pred[c]))]++
			pred[c] = b[0]
			run := 0
			for zz := 1; zz < 64; zz++ {
				if b[zz] == 0 {
					run++
					continue
				}
				for run > 15 {
					acf[t][0xF0]++
					run -= 16
				}
				acf[t][run<<4|int(category(int(b[zz])))]++
				run = 0
			}
			if run > 0 {
				acf[t][0]++
			}
		}
	}
	ntab := min(nc, 2)
	var dct, act [2]*huffCode
	for t := 0; t < ntab; t++ {
		dct[t] = optimalHuff(&dcf[t])
		act[t] = optimalHuff(&acf[t])
	}
	out := append(dst[:0], 0xFF, mSOI)
	// DQT (T.81 B.2.4.1), 8-bit entries in zigzag order.
	for t := 0; t < ntab; t++ {
		out = append(out, 0xFF, mDQT, 0, 67, byte(t))
		for zz := 0; zz < 64; zz++ {
			out = append(out, byte(qt[t][unzig[zz]]))
		}
	}
	samp := []byte{0x11, 0x11, 0x11}[:nc]
	tq := []byte{0, 1, 1}[:nc]
	out = appendSOF(out, sof, prec, h, w, samp, tq)
	for t := 0; t < ntab; t++ {
		out = appendDHT(out, 0, byte(t), dct[t])
		out = appendDHT(out, 1, byte(t), act[t])
	}
	if restart > 0 {
		out = append(out, 0xFF, mDRI, 0, 4, byte(restart>>8), byte(restart))
	}
	out = appendSOS(out, []byte{0x00, 0x11, 0x11}[:nc], 0, 63, 0)
	bwr := &bitWriter{out: out}
	clear(pred)
	k = 0
	for mcu := range bw * bh {
		if restart > 0 && mcu > 0 && mcu%restart == 0 {
			bwr.restart(mcu/restart - 1)
			clear(pred)
		}
		for c := 0; c < nc; c++ {
			b := &blocks[k]
			k++
			t := tsel(c)
			d := int(b[0] - pred[c])
			pred[c] = b[0]
			s := category(d)
			bwr.put(dct[t].code[s], uint(dct[t].size[s]))
			bwr.putValue(d, s)
			run := 0
			for zz := 1; zz < 64; zz++ {
				v := int(b[zz])
				if v == 0 {
					run++
					continue
				}
				for run > 15 {
					bwr.put(act[t].code[0xF0], uint(act[t].size[0xF0]))
					run -= 16
				}
				s := category(v)
				sym := run<<4 | int(s)
				bwr.put(act[t].code[sym], uint(act[t].size[sym]))
				bwr.putValue(v, s)
				run = 0
			}
			if run > 0 {
				bwr.put(act[t].code[0], uint(act[t].size[0]))
			}
		}
	}
	bwr.flush()
	out = append(bwr.out, 0xFF, mEOI)
	return out, res, nil
}
