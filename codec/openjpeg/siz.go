//go:build cgo && !nocgocodecs

package openjpeg

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/lightbox-pacs/lightbox/codec"
)

// jp2Signature is the JPEG 2000 signature box (ISO/IEC 15444-1 I.5.1).
var jp2Signature = []byte{0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A}

// Component is one image component as the SIZ marker segment declares it.
type Component struct {
	Precision int  // bits, 1 to 38
	Signed    bool // two's complement samples
	DX, DY    int  // subsampling
}

// SIZ is what the SIZ marker segment (ISO/IEC 15444-1 A.5.1) of a codestream declares.
type SIZ struct {
	Width, Height int // Xsiz − XOsiz, Ysiz − YOsiz
	Tiles         int // number of tiles
	Components    []Component
	// HT reports a High-Throughput (Part 15) codestream: bit 14 of Rsiz.
	HT bool
	// JP2 reports that the codestream was wrapped in a JP2 file.
	JP2 bool
}

// maxTiles is the number of tiles a codestream can address (Isot runs from 0 to 65534).
const maxTiles = 65535

// ParseSIZ reads the SIZ marker segment of src, a JPEG 2000 codestream or a JP2 file, without
// decoding anything. It fails with codec.ErrCorrupt when the header is missing, truncated or
// inconsistent.
func ParseSIZ(src []byte) (SIZ, error) {
	var s SIZ
	cs := src
	if bytes.HasPrefix(src, jp2Signature) {
		s.JP2 = true
		var err error
		if cs, err = jp2Codestream(src); err != nil {
			return s, err
		}
	}
	if len(cs) < 4 || cs[0] != 0xFF || cs[1] != 0x4F || cs[2] != 0xFF || cs[3] != 0x51 {
		return s, fmt.Errorf("%w: jpeg 2000: no SOC and SIZ marker at the start", codec.ErrCorrupt)
	}
	b := cs[4:]
	if len(b) < 38 {
		return s, fmt.Errorf("%w: jpeg 2000: SIZ truncated", codec.ErrCorrupt)
	}
	be32 := func(o int) uint64 { return uint64(binary.BigEndian.Uint32(b[o:])) }
	lsiz := int(binary.BigEndian.Uint16(b))
	rsiz := binary.BigEndian.Uint16(b[2:])
	xsiz, ysiz, xo, yo := be32(4), be32(8), be32(12), be32(16)
	xt, yt, xto, yto := be32(20), be32(24), be32(28), be32(32)
	csiz := int(binary.BigEndian.Uint16(b[36:]))
	switch {
	case csiz < 1 || csiz > 16384:
		return s, fmt.Errorf("%w: jpeg 2000: SIZ declares %d components", codec.ErrCorrupt, csiz)
	case lsiz != 38+3*csiz || len(b) < lsiz:
		return s, fmt.Errorf("%w: jpeg 2000: SIZ length %d for %d components (%d bytes present)", codec.ErrCorrupt, lsiz, csiz, len(b))
	case xsiz <= xo || ysiz <= yo:
		return s, fmt.Errorf("%w: jpeg 2000: SIZ image area %d×%d at offset %d,%d is empty", codec.ErrCorrupt, xsiz, ysiz, xo, yo)
	case xt == 0 || yt == 0 || xto > xo || yto > yo || xto+xt <= xo || yto+yt <= yo:
		return s, fmt.Errorf("%w: jpeg 2000: SIZ tile grid %d×%d at %d,%d does not cover the image", codec.ErrCorrupt, xt, yt, xto, yto)
	}
	s.Width, s.Height = int(xsiz-xo), int(ysiz-yo)
	tw := (xsiz - xto + xt - 1) / xt
	th := (ysiz - yto + yt - 1) / yt
	if tw*th > maxTiles {
		return s, fmt.Errorf("%w: jpeg 2000: SIZ declares %d×%d tiles", codec.ErrCorrupt, tw, th)
	}
	s.Tiles = int(tw * th)
	s.HT = rsiz&0x4000 != 0
	s.Components = make([]Component, csiz)
	for i := range s.Components {
		c := b[38+3*i:]
		ssiz := c[0]
		s.Components[i] = Component{Precision: int(ssiz&0x7F) + 1, Signed: ssiz&0x80 != 0, DX: int(c[1]), DY: int(c[2])}
		if s.Components[i].Precision > 38 || c[1] == 0 || c[2] == 0 {
			return s, fmt.Errorf("%w: jpeg 2000: SIZ component %d: precision %d, subsampling %d×%d", codec.ErrCorrupt, i, s.Components[i].Precision, c[1], c[2])
		}
	}
	return s, nil
}

// jp2Codestream returns the contents of the first Contiguous Codestream box of a JP2 file
// (ISO/IEC 15444-1 I.5.4).
func jp2Codestream(b []byte) ([]byte, error) {
	for len(b) >= 8 {
		n := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch n {
		case 0:
			n = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return nil, fmt.Errorf("%w: jp2: box header truncated", codec.ErrCorrupt)
			}
			n, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if n < hdr {
			return nil, fmt.Errorf("%w: jp2: box %q of length %d", codec.ErrCorrupt, typ, n)
		}
		if typ == "jp2c" {
			// A truncated last box still yields what it holds.
			return b[hdr:min(n, uint64(len(b)))], nil
		}
		if n > uint64(len(b)) {
			break
		}
		b = b[n:]
	}
	return nil, fmt.Errorf("%w: jp2: no codestream box", codec.ErrCorrupt)
}

// CheckSIZ checks what a SIZ declares against the Image a data set declares, and returns the
// Image the decoded frame will have: colour by pixel, YBR_RCT and YBR_ICT as RGB.
func CheckSIZ(s SIZ, in codec.Image) (codec.Image, error) {
	out := in
	out.PlanarConfiguration = 0
	switch in.Photometric {
	case "YBR_RCT", "YBR_ICT":
		out.Photometric = "RGB"
	case "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420":
		// A JPEG 2000 codestream holds full components; they come out as by pixel.
		out.Photometric = "YBR_FULL"
	}
	if err := out.Check(); err != nil {
		return in, err
	}
	if s.Width != in.Columns || s.Height != in.Rows {
		return in, fmt.Errorf("%w: jpeg 2000: codestream of %d×%d, the data set says %d×%d", codec.ErrCorrupt, s.Width, s.Height, in.Columns, in.Rows)
	}
	if len(s.Components) != in.SamplesPerPixel {
		return in, fmt.Errorf("%w: jpeg 2000: codestream of %d components, the data set says %d samples per pixel", codec.ErrCorrupt, len(s.Components), in.SamplesPerPixel)
	}
	maxPrec := in.BitsAllocated
	if maxPrec == 1 {
		maxPrec = 8
	}
	for i, c := range s.Components {
		if c.DX != 1 || c.DY != 1 {
			return in, fmt.Errorf("%w: jpeg 2000: component %d subsampled %d×%d", codec.ErrUnsupported, i, c.DX, c.DY)
		}
		if c.Precision > maxPrec || c.Precision > 31 {
			return in, fmt.Errorf("%w: jpeg 2000: component %d of %d bits in %d bits allocated", codec.ErrCorrupt, i, c.Precision, in.BitsAllocated)
		}
	}
	if in.BitsAllocated == 1 && in.SamplesPerPixel != 1 {
		return in, fmt.Errorf("%w: jpeg 2000: 1-bit image of %d samples", codec.ErrUnsupported, in.SamplesPerPixel)
	}
	return out, nil
}
