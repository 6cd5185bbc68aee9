package jpeg

import (
	"encoding/binary"
	"fmt"

	"github.com/lightbox-pacs/lightbox/codec"
)

// Markers (T.81 Table B.1).
const (
	mSOF0 = 0xC0 // baseline DCT
	mSOF1 = 0xC1 // extended sequential DCT, Huffman
	mSOF2 = 0xC2 // progressive DCT, Huffman
	mSOF3 = 0xC3 // lossless, Huffman
	mDHT  = 0xC4
	mDAC  = 0xCC
	mRST0 = 0xD0
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDNL  = 0xDC
	mDRI  = 0xDD
	mAPP0 = 0xE0
	mAPPE = 0xEE
)

// unzig maps zigzag order to natural order (T.81 Figure A.6).
var unzig = [64]byte{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// component is one image component of the frame (T.81 B.2.2).
type component struct {
	id   byte
	h, v int // sampling factors
	tq   int // quantization table selector
	// cw, ch: the component's own dimensions in samples, ceil(X·h/Hmax) × ceil(Y·v/Vmax) (A.1.1).
	cw, ch int
	// bw, bh: allocated blocks (DCT) or samples (lossless) per line and column, padded to whole MCUs.
	bw, bh int
	coef   []int16    // DCT: bw·bh blocks of 64 coefficients in natural order
	q      [64]int32  // DCT: quantization table latched when the component is first scanned
	qok    bool       // q is latched
	smp    []uint16   // lossless: bw·bh samples
	pred   int32      // DC or lossless predictor state
	coded  bool       // some scan carried the component
	td, ta *huffTable // tables selected by the current scan
}

// decoder holds the state of decoding one codestream.
type decoder struct {
	src []byte
	pos int
	in  codec.Image

	frame       bool // SOF seen
	sof         byte
	progressive bool
	lossless    bool
	prec        int
	width       int
	height      int
	dnl         bool // the SOF declared 0 lines: the height comes from the data set and a DNL marker
	comps       []component
	hmax, vmax  int
	mcusx       int // MCUs per line in an interleaved scan
	mcusy       int

	qt    [4][64]uint16
	qtSet [4]bool
	dcTab [4]*huffTable
	acTab [4]*huffTable

	restart int // restart interval in MCUs (0: none)
	eobrun  int32

	adobe          bool
	adobeTransform int
	jfif           bool
	scans          int
	pt             int // lossless point transform of the last scan
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("jpeg: "+format+": %w", append(args, codec.ErrCorrupt)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("jpeg: "+format+": %w", append(args, codec.ErrUnsupported)...)
}

// Decode decodes one JPEG codestream (any of the processes listed in the package doc) into a
// native frame described by in.
func Decode(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	if err := in.Check(); err != nil {
		return nil, in, err
	}
	switch in.BitsAllocated {
	case 8, 16:
	default:
		return nil, in, unsupported("bits allocated %d", in.BitsAllocated)
	}
	d := &decoder{src: src, in: in}
	if err := d.parse(); err != nil {
		return nil, in, err
	}
	return d.output(dst)
}

// parse reads markers and decodes scans up to EOI (T.81 B.2, E.2).
func (d *decoder) parse() error {
	if len(d.src) < 4 || d.src[0] != 0xFF || d.src[1] != mSOI {
		return corrupt("codestream does not begin with SOI")
	}
	d.pos = 2
	for {
		m, ok := d.nextMarker()
		if !ok {
			if d.scans > 0 {
				return nil // tolerate a missing EOI after complete scans
			}
			return corrupt("codestream ends before any scan")
		}
		switch {
		case m == mEOI:
			if d.scans == 0 {
				return corrupt("EOI before any scan")
			}
			return nil
		case m >= mRST0 && m <= mRST0+7, m == 0x01:
			// Stray restart marker or TEM: no segment.
			continue
		}
		seg, err := d.segment(m)
		if err != nil {
			return err
		}
		switch {
		case m == mSOF0 || m == mSOF1 || m == mSOF2 || m == mSOF3:
			err = d.parseSOF(m, seg)
		case m == mDHT:
			err = d.parseDHT(seg)
		case m == mDQT:
			err = d.parseDQT(seg)
		case m == mDRI:
			if len(seg) != 2 {
				return corrupt("DRI segment of %d bytes", len(seg))
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case m == mSOS:
			err = d.parseSOS(seg)
		case m == mDNL:
			err = d.parseDNL(seg)
		case m == mDAC:
			return unsupported("arithmetic coding")
		case m >= 0xC5 && m <= 0xCF || m == 0xDE || m == 0xDF:
			return unsupported("JPEG process of marker FF%02X (hierarchical or arithmetic)", m)
		case m == mAPP0:
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				d.jfif = true
			}
		case m == mAPPE:
			// Adobe APP14 (T.872 6.5.3): the transform flag says whether colour is YCbCr.
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe = true
				d.adobeTransform = int(seg[11])
			}
		}
		if err != nil {
			return err
		}
	}
}

// nextMarker finds the next marker at or after d.pos, skipping fill bytes and anything that is not
// a marker, and returns its code.
func (d *decoder) nextMarker() (byte, bool) {
	for d.pos+1 < len(d.src) {
		if d.src[d.pos] != 0xFF {
			d.pos++
			continue
		}
		m := d.src[d.pos+1]
		if m == 0xFF {
			d.pos++
			continue
		}
		d.pos += 2
		if m == 0x00 {
			continue
		}
		return m, true
	}
	d.pos = len(d.src)
	return 0, false
}

// segment returns the parameters of the marker segment at d.pos and moves past it.
func (d *decoder) segment(m byte) ([]byte, error) {
	if d.pos+2 > len(d.src) {
		return nil, corrupt("truncated segment FF%02X", m)
	}
	n := int(binary.BigEndian.Uint16(d.src[d.pos:]))
	if n < 2 || d.pos+n > len(d.src) {
		return nil, corrupt("segment FF%02X of length %d runs past the end of %d bytes", m, n, len(d.src))
	}
	seg := d.src[d.pos+2 : d.pos+n]
	d.pos += n
	return seg, nil
}

// parseSOF reads a frame header (T.81 B.2.2) and checks it against the Image before allocating.
func (d *decoder) parseSOF(m byte, seg []byte) error {
	if d.frame {
		return corrupt("second frame header")
	}
	if len(seg) < 6 {
		return corrupt("frame header of %d bytes", len(seg))
	}
	d.frame = true
	d.sof = m
	d.progressive = m == mSOF2
	d.lossless = m == mSOF3
	d.prec = int(seg[0])
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if nc < 1 || nc > 4 {
		return unsupported("%d components", nc)
	}
	if len(seg) != 6+3*nc {
		return corrupt("frame header of %d bytes for %d components", len(seg), nc)
	}
	switch {
	case d.lossless:
		if d.prec < 2 || d.prec > 16 {
			return corrupt("lossless precision %d", d.prec)
		}
	case m == mSOF0:
		if d.prec != 8 {
			return corrupt("baseline precision %d", d.prec)
		}
	default:
		if d.prec != 8 && d.prec != 12 {
			return corrupt("DCT precision %d", d.prec)
		}
	}
	in := d.in
	if d.height == 0 {
		// The number of lines comes in a DNL marker after the first scan (T.81 B.2.5).
		d.dnl = true
		d.height = in.Rows
	}
	if d.width == 0 {
		return corrupt("frame of width 0")
	}
	if d.width != in.Columns || d.height != in.Rows {
		// A frame smaller than the data set declares is decoded the way dcmdjpeg does it: its
		// lines packed at the start of the native frame, the rest zero. A larger one is refused.
		if int64(d.width)*int64(d.height) > int64(in.Columns)*int64(in.Rows) {
			return corrupt("frame is %d×%d but the data set says %d×%d", d.width, d.height, in.Columns, in.Rows)
		}
	}
	if nc != in.SamplesPerPixel {
		return corrupt("frame has %d components but the data set says %d samples per pixel", nc, in.SamplesPerPixel)
	}
	if d.prec > in.BitsAllocated {
		return corrupt("precision %d exceeds bits allocated %d", d.prec, in.BitsAllocated)
	}
	d.comps = make([]component, nc)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		p := seg[6+3*i:]
		c.id = p[0]
		c.h, c.v = int(p[1]>>4), int(p[1]&15)
		c.tq = int(p[2])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return corrupt("component %d: sampling %d×%d, table %d", c.id, c.h, c.v, c.tq)
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return corrupt("component identifier %d given twice", c.id)
			}
		}
		d.hmax = max(d.hmax, c.h)
		d.vmax = max(d.vmax, c.v)
	}
	unit := 8 // samples per data unit side (A.1.3)
	if d.lossless {
		unit = 1
	}
	d.mcusx = ceilDiv(d.width, unit*d.hmax)
	d.mcusy = ceilDiv(d.height, unit*d.vmax)
	// Every data unit costs at least one bit of entropy-coded data (a Huffman code is at least one
	// bit long, and each unit needs one in its first scan): refuse, before allocating, a header
	// whose frame cannot fit in the codestream.
	var units, alloc int64
	for i := range d.comps {
		c := &d.comps[i]
		c.cw = ceilDiv(d.width*c.h, d.hmax)
		c.ch = ceilDiv(d.height*c.v, d.vmax)
		c.bw = d.mcusx * c.h
		c.bh = d.mcusy * c.v
		units += int64(ceilDiv(c.cw, unit)) * int64(ceilDiv(c.ch, unit))
		alloc += int64(c.bw) * int64(c.bh) * int64(unit*unit) * 2
	}
	if units > 8*int64(len(d.src)) {
		return corrupt("a %d×%d frame needs more than the %d bytes of the codestream", d.width, d.height, len(d.src))
	}
	if alloc > 4*codec.MaxFrameBytes {
		return fmt.Errorf("jpeg: frame of %d×%d needs %d bytes: %w", d.width, d.height, alloc, codec.ErrTooLarge)
	}
	for i := range d.comps {
		c := &d.comps[i]
		if d.lossless {
			c.smp = make([]uint16, c.bw*c.bh)
		} else {
			c.coef = make([]int16, c.bw*c.bh*64)
		}
	}
	return nil
}

// parseDHT reads Huffman tables (T.81 B.2.4.2).
func (d *decoder) parseDHT(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return corrupt("truncated Huffman table")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return corrupt("Huffman table class %d, identifier %d", tc, th)
		}
		var counts [16]byte
		copy(counts[:], seg[1:17])
		n := 0
		for _, c := range counts {
			n += int(c)
		}
		if len(seg) < 17+n {
			return corrupt("truncated Huffman table")
		}
		t, err := buildHuff(counts, seg[17:17+n])
		if err != nil {
			return err
		}
		if tc == 0 {
			d.dcTab[th] = t
		} else {
			d.acTab[th] = t
		}
		seg = seg[17+n:]
	}
	return nil
}

// parseDQT reads quantization tables (T.81 B.2.4.1), storing them in natural order.
func (d *decoder) parseDQT(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if pq > 1 || tq > 3 {
			return corrupt("quantization table precision %d, identifier %d", pq, tq)
		}
		size := 64 * int(pq+1)
		if len(seg) < 1+size {
			return corrupt("truncated quantization table")
		}
		for k := 0; k < 64; k++ {
			var v uint16
			if pq == 0 {
				v = uint16(seg[1+k])
			} else {
				v = binary.BigEndian.Uint16(seg[1+2*k:])
			}
			d.qt[tq][unzig[k]] = v
		}
		d.qtSet[tq] = true
		seg = seg[1+size:]
	}
	return nil
}

// parseDNL checks a Define Number of Lines segment (T.81 B.2.5) against the height in use.
func (d *decoder) parseDNL(seg []byte) error {
	if len(seg) != 2 {
		return corrupt("DNL segment of %d bytes", len(seg))
	}
	if n := int(binary.BigEndian.Uint16(seg)); d.dnl && n != d.height {
		return corrupt("DNL says %d lines but the data set says %d", n, d.height)
	}
	return nil
}

// scan is a parsed scan header (T.81 B.2.3).
type scan struct {
	comps          []*component
	ss, se, ah, al int
}

// parseSOS reads a scan header and decodes the scan that follows it.
func (d *decoder) parseSOS(seg []byte) error {
	if !d.frame {
		return corrupt("scan before frame header")
	}
	if len(seg) < 1 {
		return corrupt("empty scan header")
	}
	ns := int(seg[0])
	if ns < 1 || ns > 4 || len(seg) != 4+2*ns {
		return corrupt("scan header of %d bytes for %d components", len(seg), ns)
	}
	sc := scan{comps: make([]*component, ns)}
	blocks := 0
	for i := range ns {
		id, t := seg[1+2*i], seg[2+2*i]
		var c *component
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return corrupt("scan names component %d, absent from the frame", id)
		}
		for j := 0; j < i; j++ {
			if sc.comps[j] == c {
				return corrupt("scan names component %d twice", id)
			}
		}
		td, ta := t>>4, t&15
		if td > 3 || ta > 3 {
			return corrupt("scan table selectors %d/%d", td, ta)
		}
		c.td, c.ta = d.dcTab[td], d.acTab[ta]
		sc.comps[i] = c
		blocks += c.h * c.v
	}
	if ns > 1 && blocks > 10 {
		return corrupt("scan MCU of %d data units (at most 10)", blocks)
	}
	p := seg[1+2*ns:]
	sc.ss, sc.se, sc.ah, sc.al = int(p[0]), int(p[1]), int(p[2]>>4), int(p[2]&15)
	d.scans++
	if d.lossless {
		return d.losslessScan(&sc)
	}
	return d.dctScan(&sc)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
