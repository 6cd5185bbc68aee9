//go:build cgo && !nocgocodecs

package openjpeg

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/lightbox-pacs/lightbox/codec"
)

// Marker codes of ISO/IEC 15444-1 Annex A that the header walk needs.
const (
	markerSOT = 0x90
	markerSOD = 0x93
	markerCOD = 0x52
	markerCOC = 0x53
	markerCAP = 0x50
)

// HTCodeBlocks reports whether the codestream in src (or the one a JP2 file holds) asks for
// High-Throughput code-blocks: a CAP marker segment (ISO/IEC 15444-15 A.3), or a code-block
// style with bit 6 or 7 set in a COD or COC marker segment of the main header or of any
// tile-part header (ISO/IEC 15444-1 A.6.1, Table A.19; 15444-15 A.4). It walks the marker
// segments only, decoding nothing. A header it cannot walk is an error (codec.ErrCorrupt).
//
// The HT block decoder of OpenJPEG 2.5.0 (and OpenJPH 0.9.0) stops the process on an assertion
// for some hostile code-block data, so such codestreams are decoded in a separate process
// (package openjph) and never here in the server.
func HTCodeBlocks(src []byte) (bool, error) {
	cs := src
	if bytes.HasPrefix(src, jp2Signature) {
		var err error
		if cs, err = jp2Codestream(src); err != nil {
			return false, err
		}
	}
	if len(cs) < 4 || cs[0] != 0xFF || cs[1] != 0x4F {
		return false, fmt.Errorf("%w: jpeg 2000: no SOC marker", codec.ErrCorrupt)
	}
	s, err := ParseSIZ(cs)
	if err != nil {
		return false, err
	}
	// Ccoc and Ccod-like component indexes take two bytes when Csiz > 256 (A.6.2).
	compBytes := 1
	if len(s.Components) > 256 {
		compBytes = 2
	}
	p := 2
	// segments walks marker segments from p until SOT (main header) or SOD (tile-part
	// header) and returns the offset of that marker.
	segments := func(p int, end byte) (int, bool, error) {
		ht := false
		for {
			if p+2 > len(cs) || cs[p] != 0xFF {
				return 0, false, fmt.Errorf("%w: jpeg 2000: header ends at %d without a marker", codec.ErrCorrupt, p)
			}
			m := cs[p+1]
			if m == end {
				return p, ht, nil
			}
			if p+4 > len(cs) {
				return 0, false, fmt.Errorf("%w: jpeg 2000: marker segment truncated at %d", codec.ErrCorrupt, p)
			}
			l := int(binary.BigEndian.Uint16(cs[p+2:]))
			if l < 2 || p+2+l > len(cs) {
				return 0, false, fmt.Errorf("%w: jpeg 2000: marker segment 0xFF%02X of length %d at %d", codec.ErrCorrupt, m, l, p)
			}
			seg := cs[p+4 : p+2+l]
			switch m {
			case markerCAP:
				ht = true
			case markerCOD:
				// Scod, SGcod (4 bytes), then SPcod: levels, xcb, ycb, style.
				if len(seg) < 9 {
					return 0, false, fmt.Errorf("%w: jpeg 2000: COD of %d bytes", codec.ErrCorrupt, len(seg))
				}
				ht = ht || seg[8]&0xC0 != 0
			case markerCOC:
				// Ccoc, Scoc, then SPcoc: levels, xcb, ycb, style.
				o := compBytes + 1 + 3
				if len(seg) <= o {
					return 0, false, fmt.Errorf("%w: jpeg 2000: COC of %d bytes", codec.ErrCorrupt, len(seg))
				}
				ht = ht || seg[o]&0xC0 != 0
			}
			p += 2 + l
		}
	}
	p, ht, err := segments(p, markerSOT)
	if err != nil || ht {
		return ht, err
	}
	// Tile-parts: SOT (Lsot 10, Isot, Psot, TPsot, TNsot), a header up to SOD, then data.
	for p+12 <= len(cs) && cs[p] == 0xFF && cs[p+1] == markerSOT {
		psot := int(binary.BigEndian.Uint32(cs[p+6:]))
		sod, tht, err := segments(p+12, markerSOD)
		if err != nil || tht {
			return tht, err
		}
		if psot == 0 {
			// The last tile-part runs to the end of the codestream.
			break
		}
		if psot < sod+2-p {
			return false, fmt.Errorf("%w: jpeg 2000: tile-part length %d shorter than its header", codec.ErrCorrupt, psot)
		}
		p += psot
	}
	return false, nil
}
