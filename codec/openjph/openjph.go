//go:build cgo && !nocgocodecs

package openjph

/*
#cgo pkg-config: openjph
#cgo CXXFLAGS: -std=c++17 -O2
#cgo LDFLAGS: -lopenjph -lstdc++
#include <stdlib.h>
#include <openjph/ojph_version.h>
#include "shim.h"
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/isolate"
	"github.com/lightbox-pacs/lightbox/codec/openjpeg"
)

// HTJ2KLosslessRPCL is the transfer syntax of the encoder: HTJ2K Lossless RPCL.
const HTJ2KLosslessRPCL = "1.2.840.10008.1.2.4.202"

// Version is the OpenJPH version the package was built against (the library reports none at
// run time).
const Version = "0.9.0"

// The header and the constant must agree.
var _ = [1]struct{}{}[C.OPENJPH_VERSION_MAJOR*10000+C.OPENJPH_VERSION_MINOR*100+C.OPENJPH_VERSION_PATCH-900]

// HTJ2K transfer syntaxes the decoder serves.
var decodeSyntaxes = []string{
	"1.2.840.10008.1.2.4.201", // HTJ2K Lossless
	HTJ2KLosslessRPCL,
	"1.2.840.10008.1.2.4.203", // HTJ2K
}

// Codecs returns the HTJ2K decoders (OpenJPH, about twice as fast as OpenJPEG; see the package
// documentation) and the HTJ2K Lossless RPCL encoder.
//
// The decoders run in worker processes (package isolate): the HTJ2K block decoders of both
// libraries abort their process on some hostile code-block data.
func Codecs() []codec.Codec {
	name := "OpenJPH " + Version
	pool := isolate.NewPool(workerName)
	var out []codec.Codec
	for _, ts := range decodeSyntaxes {
		c := codec.Codec{TransferSyntax: ts, Name: name, Lossy: ts == "1.2.840.10008.1.2.4.203", Decoder: codec.DecoderFunc(pool.Decode)}
		if ts == HTJ2KLosslessRPCL {
			c.Encoder = codec.EncoderFunc(Encode)
		}
		out = append(out, c)
	}
	return out
}

// workerName names the HTJ2K decoder to package isolate.
const workerName = "htj2k"

// In a worker process started by package isolate, init serves DecodeHT and never returns.
func init() { isolate.Serve(workerName, DecodeHT) }

// errLibrary marks the errors OpenJPH reports, after which OpenJPEG gets a try.
var errLibrary = errors.New("openjph: the library failed")

// DecodeHT decodes an HTJ2K frame in this process with OpenJPH, and with OpenJPEG when OpenJPH
// cannot: a JP2 wrapper, Bits Allocated other than 8 and 16, or a codestream feature OpenJPH
// lacks (for example code-blocks of the original JPEG 2000 coder mixed in). Header errors found
// before either library runs are returned as they are. Hostile code-block data can stop the
// process, so the codecs of Codecs run it in worker processes.
func DecodeHT(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	out, im, err := Decode(dst, src, in)
	if err != nil && (errors.Is(err, errLibrary) || errors.Is(err, codec.ErrUnsupported)) {
		return openjpeg.DecodeUnchecked(dst, src, in)
	}
	return out, im, err
}

// Encode encodes a frame as an HTJ2K Lossless RPCL codestream (PS3.5 10.18): reversible
// wavelet, RPCL progression, enough decompositions for a base resolution of at most 64
// pixels, and a TLM marker segment. RGB is encoded with the reversible colour transform and
// comes back as YBR_RCT.
func Encode(dst, frame []byte, in codec.Image, _ codec.EncodeOptions) ([]byte, codec.Image, error) {
	prec, err := openjpeg.EncodePrecision(frame, in)
	if err != nil {
		return nil, in, fmt.Errorf("openjph: %w", err)
	}
	if in.BitsAllocated == 1 {
		return nil, in, fmt.Errorf("openjph: %w: bits allocated 1", codec.ErrUnsupported)
	}
	out := in
	out.PlanarConfiguration = 0
	out.BitsStored = prec
	mct := 0
	switch {
	case in.SamplesPerPixel == 1:
	case in.SamplesPerPixel == 3 && in.Photometric == "RGB":
		mct = 1
		out.Photometric = "YBR_RCT"
	case in.SamplesPerPixel == 3 && in.Photometric == "YBR_FULL":
	default:
		return nil, in, fmt.Errorf("openjph: %w: %d samples of %s", codec.ErrUnsupported, in.SamplesPerPixel, in.Photometric)
	}
	var cerr [256]C.char
	var cout *C.uchar
	var n C.size_t
	rc := C.lbojph_encode((*C.uchar)(unsafe.Pointer(unsafe.SliceData(frame))), C.uint(in.Columns), C.uint(in.Rows),
		C.uint(in.SamplesPerPixel), C.uint(in.BitsAllocated/8), C.int(in.PlanarConfiguration), C.uint(prec),
		C.int(in.PixelRepresentation), C.int(mct), C.uint(Decompositions(in.Columns, in.Rows)), &cout, &n, &cerr[0], C.size_t(len(cerr)))
	if rc != 0 {
		return nil, in, fmt.Errorf("openjph: encode: %s", C.GoString(&cerr[0]))
	}
	defer C.free(unsafe.Pointer(cout))
	dst, err = withTLM(dst[:0], unsafe.Slice((*byte)(unsafe.Pointer(cout)), int(n)))
	if err != nil {
		return nil, in, fmt.Errorf("openjph: encode: %w", err)
	}
	return dst, out, nil
}

// Decompositions is the number of wavelet decompositions for a w×h image: five, or more until
// the lowest resolution is at most 64 pixels wide and high (PS3.5 10.18), fewer when the
// image is smaller than 32 pixels.
func Decompositions(w, h int) int {
	d := 0
	for (w+(1<<d)-1)>>d > 64 || (h+(1<<d)-1)>>d > 64 {
		d++
	}
	small := 0
	for m := min(w, h); m > 1 && small < 5; m >>= 1 {
		small++
	}
	return max(d, small)
}

// withTLM appends to dst the codestream cs with a TLM marker segment (ISO/IEC 15444-1 A.7.1)
// listing every tile-part, inserted before the first tile-part.
func withTLM(dst, cs []byte) ([]byte, error) {
	if len(cs) < 4 || cs[0] != 0xFF || cs[1] != 0x4F {
		return nil, fmt.Errorf("no SOC marker")
	}
	// Walk the main header to the first SOT.
	p := 2
	for {
		if p+4 > len(cs) || cs[p] != 0xFF {
			return nil, fmt.Errorf("main header ends early")
		}
		if cs[p+1] == 0x90 {
			break
		}
		p += 2 + int(binary.BigEndian.Uint16(cs[p+2:]))
	}
	sot := p
	type part struct {
		tile   uint16
		length uint32
	}
	var parts []part
	for p+12 <= len(cs) && cs[p] == 0xFF && cs[p+1] == 0x90 {
		tile := binary.BigEndian.Uint16(cs[p+4:])
		psot := binary.BigEndian.Uint32(cs[p+6:])
		if psot == 0 {
			// The last tile-part runs to the EOC marker.
			psot = uint32(len(cs) - 2 - p)
		}
		if psot < 14 || p+int(psot) > len(cs) {
			return nil, fmt.Errorf("tile-part of %d bytes at %d", psot, p)
		}
		parts = append(parts, part{tile, psot})
		p += int(psot)
	}
	if len(parts) == 0 || 4+6*len(parts) > 0xFFFF {
		return nil, fmt.Errorf("%d tile-parts", len(parts))
	}
	dst = append(dst, cs[:sot]...)
	dst = append(dst, 0xFF, 0x55)
	dst = binary.BigEndian.AppendUint16(dst, uint16(4+6*len(parts)))
	// Ztlm 0; Stlm: ST = 2 (16-bit tile index), SP = 1 (32-bit lengths).
	dst = append(dst, 0, 0x60)
	for _, t := range parts {
		dst = binary.BigEndian.AppendUint16(dst, t.tile)
		dst = binary.BigEndian.AppendUint32(dst, t.length)
	}
	return append(dst, cs[sot:]...), nil
}

// Decode decodes an HTJ2K codestream with OpenJPH alone: colour by pixel, little endian,
// Bits Allocated 8 or 16; a reversible or irreversible colour transform is undone, so YBR_RCT
// and YBR_ICT come out as RGB.
func Decode(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	s, err := openjpeg.ParseSIZ(src)
	if err != nil {
		return nil, in, fmt.Errorf("openjph: %w", err)
	}
	out, err := openjpeg.CheckSIZ(s, in)
	if err != nil {
		return nil, in, fmt.Errorf("openjph: %w", err)
	}
	if s.JP2 || (out.BitsAllocated != 8 && out.BitsAllocated != 16) || (out.SamplesPerPixel != 1 && out.SamplesPerPixel != 3) {
		return nil, in, fmt.Errorf("openjph: %w: JP2 file, %d bits allocated or %d samples", codec.ErrUnsupported, out.BitsAllocated, out.SamplesPerPixel)
	}
	size := int(out.FrameSize())
	if cap(dst) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	var cerr [256]C.char
	rc := C.lbojph_decode((*C.uchar)(unsafe.Pointer(unsafe.SliceData(src))), C.size_t(len(src)),
		(*C.uchar)(unsafe.Pointer(unsafe.SliceData(dst))), C.size_t(len(dst)),
		C.uint(out.Columns), C.uint(out.Rows), C.uint(out.SamplesPerPixel), C.uint(out.BitsAllocated/8), &cerr[0], C.size_t(len(cerr)))
	if rc != 0 {
		return nil, in, fmt.Errorf("%w: decode: %w: %s", errLibrary, codec.ErrCorrupt, C.GoString(&cerr[0]))
	}
	return dst, out, nil
}
