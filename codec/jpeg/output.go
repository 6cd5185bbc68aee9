package jpeg

import (
	"slices"
	"strings"
	"sync"

	"github.com/lightbox-pacs/lightbox/codec"
)

// plane is one component's samples at some resolution.
type plane struct {
	pix    []uint16
	stride int
}

// output turns the decoded components into the native frame: inverse DCT, upsampling, colour
// conversion and packing into little-endian samples of Bits Allocated bits, colour by pixel.
func (d *decoder) output(dst []byte) ([]byte, codec.Image, error) {
	if !d.frame {
		return nil, d.in, corrupt("no frame header")
	}
	for i := range d.comps {
		if !d.comps[i].coded {
			return nil, d.in, corrupt("component %d is in no scan", d.comps[i].id)
		}
	}
	out := d.in
	nc := len(d.comps)
	convert := false
	if nc > 1 {
		out.PlanarConfiguration = 0
		if strings.HasPrefix(out.Photometric, "YBR_") {
			if d.lossless {
				// Lossless colour is kept as coded; only the layout changes.
				if out.Photometric == "YBR_FULL_422" {
					out.Photometric = "YBR_FULL"
				}
			} else {
				// As dcmdjpeg does (and the IJG library underneath): YCbCr becomes RGB unless the
				// codestream says its components are RGB already.
				convert = nc == 3 && d.ycc()
				out.Photometric = "RGB"
			}
		}
	}
	maxv := 1<<d.prec - 1
	planes := make([]plane, nc)
	for i := range d.comps {
		c := &d.comps[i]
		var p plane
		if d.lossless {
			p = plane{pix: c.smp, stride: c.bw}
			if d.pt > 0 {
				for j := range p.pix {
					p.pix[j] <<= d.pt
				}
			}
		} else {
			bx, by := ceilDiv(c.cw, 8), ceilDiv(c.ch, 8)
			p = plane{pix: make([]uint16, bx*8*by*8), stride: bx * 8}
			for y := 0; y < by; y++ {
				for x := 0; x < bx; x++ {
					idct(c.coef[(y*c.bw+x)*64:], &c.q, p.pix[y*8*p.stride+x*8:], p.stride, d.prec)
				}
			}
			c.coef = nil
		}
		hf, vf := d.hmax/c.h, d.vmax/c.v
		if hf*c.h != d.hmax || vf*c.v != d.vmax {
			return nil, d.in, unsupported("fractional sampling factors %d×%d of %d×%d", c.h, c.v, d.hmax, d.vmax)
		}
		planes[i] = upsample(p, c.cw, c.ch, hf, vf, d.width, d.height)
	}
	size := int(out.FrameSize())
	dst = slices.Grow(dst[:0], size)[:size]
	w, h := d.width, d.height
	wide := out.BitsAllocated == 16
	if convert {
		t := yccTables(d.prec)
		py, pb, pr := planes[0], planes[1], planes[2]
		k := 0
		for y := 0; y < h; y++ {
			ry := py.pix[y*py.stride : y*py.stride+w]
			rb := pb.pix[y*pb.stride : y*pb.stride+w]
			rr := pr.pix[y*pr.stride : y*pr.stride+w]
			for x := range w {
				yy, cb, cr := int32(ry[x]), rb[x], rr[x]
				r := clampTo(yy+t.crR[cr], maxv)
				g := clampTo(yy+(t.cbG[cb]+t.crG[cr])>>16, maxv)
				b := clampTo(yy+t.cbB[cb], maxv)
				if wide {
					dst[k], dst[k+1] = byte(r), byte(r>>8)
					dst[k+2], dst[k+3] = byte(g), byte(g>>8)
					dst[k+4], dst[k+5] = byte(b), byte(b>>8)
					k += 6
				} else {
					dst[k], dst[k+1], dst[k+2] = byte(r), byte(g), byte(b)
					k += 3
				}
			}
		}
		clear(dst[k:])
		return dst, out, nil
	}
	if nc == 1 {
		p := planes[0]
		k := 0
		for y := 0; y < h; y++ {
			row := p.pix[y*p.stride : y*p.stride+w]
			if wide {
				for _, v := range row {
					dst[k], dst[k+1] = byte(v), byte(v>>8)
					k += 2
				}
			} else {
				for _, v := range row {
					dst[k] = byte(v)
					k++
				}
			}
		}
		clear(dst[k:])
		return dst, out, nil
	}
	k := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for _, p := range planes {
				v := p.pix[y*p.stride+x]
				if wide {
					dst[k], dst[k+1] = byte(v), byte(v>>8)
					k += 2
				} else {
					dst[k] = byte(v)
					k++
				}
			}
		}
	}
	clear(dst[k:])
	return dst, out, nil
}

// ycc reports whether a three-component frame is YCbCr, as the IJG library decides it: a JFIF
// marker says so; an Adobe marker says so unless its transform flag is 0; otherwise component
// identifiers 'R', 'G', 'B' mean RGB and anything else YCbCr.
func (d *decoder) ycc() bool {
	switch {
	case d.jfif:
		return true
	case d.adobe:
		return d.adobeTransform != 0
	}
	c := d.comps
	return !(c[0].id == 'R' && c[1].id == 'G' && c[2].id == 'B')
}

func clampTo(v int32, maxv int) uint16 {
	if v < 0 {
		return 0
	}
	if v > int32(maxv) {
		return uint16(maxv)
	}
	return uint16(v)
}

// upsample returns the plane of a component sampled hf×vf times below the frame at full
// resolution, with the IJG library's methods: "fancy" triangular interpolation for 2×1 and 2×2
// (when the component is more than 2 samples wide), replication otherwise. Rows and columns
// beyond the component's own cw×ch samples are never read: its edges are replicated.
func upsample(p plane, cw, ch, hf, vf, w, h int) plane {
	if hf == 1 && vf == 1 {
		return p
	}
	out := plane{pix: make([]uint16, w*h), stride: w}
	ow := 2 * cw // width produced by the 2× methods before cropping
	row := make([]uint16, max(ow, w)+4)
	switch {
	case hf == 2 && vf == 1 && cw > 2:
		for y := 0; y < h; y++ {
			in := p.pix[y*p.stride : y*p.stride+cw]
			row[0] = in[0]
			row[1] = uint16((3*int(in[0]) + int(in[1]) + 2) >> 2)
			for i := 1; i < cw-1; i++ {
				v := 3 * int(in[i])
				row[2*i] = uint16((v + int(in[i-1]) + 1) >> 2)
				row[2*i+1] = uint16((v + int(in[i+1]) + 2) >> 2)
			}
			l := cw - 1
			row[2*l] = uint16((3*int(in[l]) + int(in[l-1]) + 1) >> 2)
			row[2*l+1] = in[l]
			copy(out.pix[y*w:y*w+w], row)
		}
	case hf == 2 && vf == 2 && cw > 2:
		sums := make([]int, cw)
		for y := 0; y < h; y++ {
			near := y >> 1
			far := near - 1
			if y&1 == 1 {
				far = near + 1
			}
			far = min(max(far, 0), ch-1)
			a := p.pix[near*p.stride : near*p.stride+cw]
			b := p.pix[far*p.stride : far*p.stride+cw]
			for i := range sums {
				sums[i] = 3*int(a[i]) + int(b[i])
			}
			row[0] = uint16((sums[0]*4 + 8) >> 4)
			row[1] = uint16((sums[0]*3 + sums[1] + 7) >> 4)
			for i := 1; i < cw-1; i++ {
				v := 3 * sums[i]
				row[2*i] = uint16((v + sums[i-1] + 8) >> 4)
				row[2*i+1] = uint16((v + sums[i+1] + 7) >> 4)
			}
			l := cw - 1
			row[2*l] = uint16((3*sums[l] + sums[l-1] + 8) >> 4)
			row[2*l+1] = uint16((sums[l]*4 + 7) >> 4)
			copy(out.pix[y*w:y*w+w], row)
		}
	default:
		for y := 0; y < h; y++ {
			sy := min(y/vf, ch-1)
			in := p.pix[sy*p.stride:]
			o := out.pix[y*w : y*w+w]
			for x := range o {
				o[x] = in[min(x/hf, cw-1)]
			}
		}
	}
	return out
}

// yccTab holds the IJG library's fixed-point YCbCr → RGB tables (16 fractional bits).
type yccTab struct {
	crR, cbB, crG, cbG []int32
}

var (
	ycc8  = sync.OnceValue(func() *yccTab { return newYCC(255) })
	ycc12 = sync.OnceValue(func() *yccTab { return newYCC(4095) })
)

func yccTables(prec int) *yccTab {
	if prec > 8 {
		return ycc12()
	}
	return ycc8()
}

// newYCC builds the tables for samples 0..maxv: R = Y + 1.402 Cr, G = Y - 0.34414 Cb - 0.71414 Cr,
// B = Y + 1.772 Cb with Cb, Cr centred (JFIF / T.871 section 7).
func newYCC(maxv int) *yccTab {
	const scale = 16
	const half = 1 << (scale - 1)
	fix := func(x float64) int64 { return int64(x*(1<<scale) + 0.5) }
	n := maxv + 1
	t := &yccTab{crR: make([]int32, n), cbB: make([]int32, n), crG: make([]int32, n), cbG: make([]int32, n)}
	for i := 0; i < n; i++ {
		x := int64(i - n/2)
		t.crR[i] = int32((fix(1.40200)*x + half) >> scale)
		t.cbB[i] = int32((fix(1.77200)*x + half) >> scale)
		t.crG[i] = int32(-fix(0.71414) * x)
		t.cbG[i] = int32(-fix(0.34414)*x + half)
	}
	return t
}
