//go:build cgo && !nocgocodecs

package charls

/*
#cgo pkg-config: charls
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <charls/charls.h>

typedef struct {
	int32_t width, height, bits, comps, ilv, near;
} lb_jls_info;

static void lb_jls_text(charls_jpegls_errc e, char *err, size_t errlen) {
	const char *m = charls_get_error_message(e);
	strncpy(err, m ? m : "unknown error", errlen - 1);
	err[errlen - 1] = 0;
}

// lb_jls_header reads the frame header of src into info.
static int lb_jls_header(const void *src, size_t n, lb_jls_info *info, char *err, size_t errlen) {
	charls_jpegls_decoder *d = charls_jpegls_decoder_create();
	if (!d) { lb_jls_text(CHARLS_JPEGLS_ERRC_NOT_ENOUGH_MEMORY, err, errlen); return -1; }
	charls_frame_info fi;
	charls_interleave_mode ilv = CHARLS_INTERLEAVE_MODE_NONE;
	int32_t near = 0;
	charls_jpegls_errc e = charls_jpegls_decoder_set_source_buffer(d, src, n);
	if (!e) e = charls_jpegls_decoder_read_header(d);
	if (!e) e = charls_jpegls_decoder_get_frame_info(d, &fi);
	if (!e) e = charls_jpegls_decoder_get_interleave_mode(d, &ilv);
	if (!e) e = charls_jpegls_decoder_get_near_lossless(d, 0, &near);
	charls_jpegls_decoder_destroy(d);
	if (e) { lb_jls_text(e, err, errlen); return (int)e; }
	info->width = (int32_t)fi.width; info->height = (int32_t)fi.height;
	info->bits = fi.bits_per_sample; info->comps = fi.component_count;
	info->ilv = (int32_t)ilv; info->near = near;
	return 0;
}

// lb_jls_decode decodes src into dst, which must have exactly the size CharLS asks for
// (components by plane when the scan is not interleaved, else by pixel).
static int lb_jls_decode(const void *src, size_t n, void *dst, size_t dstlen, char *err, size_t errlen) {
	charls_jpegls_decoder *d = charls_jpegls_decoder_create();
	if (!d) { lb_jls_text(CHARLS_JPEGLS_ERRC_NOT_ENOUGH_MEMORY, err, errlen); return -1; }
	size_t need = 0;
	charls_jpegls_errc e = charls_jpegls_decoder_set_source_buffer(d, src, n);
	if (!e) e = charls_jpegls_decoder_read_header(d);
	if (!e) e = charls_jpegls_decoder_get_destination_size(d, 0, &need);
	if (!e && need != dstlen) e = CHARLS_JPEGLS_ERRC_DESTINATION_BUFFER_TOO_SMALL;
	if (!e) e = charls_jpegls_decoder_decode_to_buffer(d, dst, dstlen, 0);
	charls_jpegls_decoder_destroy(d);
	if (e) { lb_jls_text(e, err, errlen); return (int)e; }
	return 0;
}

// lb_jls_encode encodes src (1 byte a sample for up to 8 bits, else 2; by plane when ilv is
// none, else by pixel) into *out, which the caller frees.
static int lb_jls_encode(const void *src, size_t n, int32_t w, int32_t h, int32_t bits, int32_t comps,
		int32_t ilv, int32_t near, void **out, size_t *outlen, char *err, size_t errlen) {
	*out = NULL;
	*outlen = 0;
	charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
	if (!enc) { lb_jls_text(CHARLS_JPEGLS_ERRC_NOT_ENOUGH_MEMORY, err, errlen); return -1; }
	charls_frame_info fi = { (uint32_t)w, (uint32_t)h, bits, comps };
	size_t cap = 0, written = 0;
	void *buf = NULL;
	charls_jpegls_errc e = charls_jpegls_encoder_set_frame_info(enc, &fi);
	if (!e) e = charls_jpegls_encoder_set_near_lossless(enc, near);
	if (!e && comps > 1) e = charls_jpegls_encoder_set_interleave_mode(enc, (charls_interleave_mode)ilv);
	if (!e) e = charls_jpegls_encoder_get_estimated_destination_size(enc, &cap);
	if (!e) {
		buf = malloc(cap);
		if (!buf) e = CHARLS_JPEGLS_ERRC_NOT_ENOUGH_MEMORY;
	}
	if (!e) e = charls_jpegls_encoder_set_destination_buffer(enc, buf, cap);
	if (!e) e = charls_jpegls_encoder_encode_from_buffer(enc, src, n, 0);
	if (!e) e = charls_jpegls_encoder_get_bytes_written(enc, &written);
	charls_jpegls_encoder_destroy(enc);
	if (e) { free(buf); lb_jls_text(e, err, errlen); return (int)e; }
	*out = buf;
	*outlen = written;
	return 0;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
)

// Transfer syntaxes this package serves.
const (
	JPEGLSLossless     = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless = "1.2.840.10008.1.2.4.81"
)

// Version is the version of the CharLS library linked in.
func Version() string { return C.GoString(C.charls_get_version_string()) }

// Codecs returns the JPEG-LS codecs of CharLS.
func Codecs() []codec.Codec {
	name := "CharLS " + Version()
	return []codec.Codec{
		{TransferSyntax: JPEGLSLossless, Name: name, Decoder: codec.DecoderFunc(Decode), Encoder: codec.EncoderFunc(EncodeLossless)},
		{TransferSyntax: JPEGLSNearLossless, Name: name, Lossy: true, Decoder: codec.DecoderFunc(Decode), Encoder: codec.EncoderFunc(EncodeNearLossless)},
	}
}

// Frame is what the SOF55 marker segment of a JPEG-LS stream (ISO/IEC 14495-1 C.2.2) declares.
type Frame struct {
	Width, Height, Bits, Components int
}

// ParseFrame reads the frame header of a JPEG-LS stream without decoding it.
func ParseFrame(src []byte) (Frame, error) {
	if len(src) < 4 || src[0] != 0xFF || src[1] != 0xD8 {
		return Frame{}, fmt.Errorf("%w: jpeg-ls: no SOI marker", codec.ErrCorrupt)
	}
	p := 2
	for {
		for p < len(src) && src[p] == 0xFF && p+1 < len(src) && src[p+1] == 0xFF {
			p++ // fill bytes
		}
		if p+4 > len(src) || src[p] != 0xFF {
			return Frame{}, fmt.Errorf("%w: jpeg-ls: no frame header", codec.ErrCorrupt)
		}
		m, l := src[p+1], int(binary.BigEndian.Uint16(src[p+2:]))
		if l < 2 || p+2+l > len(src) {
			return Frame{}, fmt.Errorf("%w: jpeg-ls: marker segment FF%02X of length %d runs past the end", codec.ErrCorrupt, m, l)
		}
		switch m {
		case 0xF7:
			if l < 8 {
				return Frame{}, fmt.Errorf("%w: jpeg-ls: frame header of %d bytes", codec.ErrCorrupt, l)
			}
			s := src[p+4:]
			return Frame{Bits: int(s[0]), Height: int(binary.BigEndian.Uint16(s[1:])), Width: int(binary.BigEndian.Uint16(s[3:])), Components: int(s[5])}, nil
		case 0xC0, 0xC1, 0xC2, 0xC3, 0xDA:
			return Frame{}, fmt.Errorf("%w: jpeg-ls: marker FF%02X before the frame header", codec.ErrCorrupt, m)
		}
		p += 2 + l
	}
}

// Decode decodes one JPEG-LS frame into the native layout: colour by pixel, samples of Bits
// Allocated bits, as the stream holds them.
func Decode(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	out := in
	out.PlanarConfiguration = 0
	if err := out.Check(); err != nil {
		return nil, in, fmt.Errorf("charls: %w", err)
	}
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return nil, in, fmt.Errorf("charls: %w: bits allocated %d", codec.ErrUnsupported, in.BitsAllocated)
	}
	if in.Photometric == "YBR_FULL_422" {
		return nil, in, fmt.Errorf("charls: %w: YBR_FULL_422", codec.ErrUnsupported)
	}
	f, err := ParseFrame(src)
	if err != nil {
		return nil, in, fmt.Errorf("charls: %w", err)
	}
	check := func(g Frame) error {
		if g.Width != in.Columns || g.Height != in.Rows || g.Components != in.SamplesPerPixel {
			return fmt.Errorf("charls: %w: jpeg-ls: frame of %d×%d, %d components; the data set says %d×%d, %d samples",
				codec.ErrCorrupt, g.Width, g.Height, g.Components, in.Columns, in.Rows, in.SamplesPerPixel)
		}
		if g.Bits < 2 || g.Bits > 16 || g.Bits > in.BitsAllocated {
			return fmt.Errorf("charls: %w: jpeg-ls: %d-bit samples in %d bits allocated", codec.ErrCorrupt, g.Bits, in.BitsAllocated)
		}
		return nil
	}
	// The frame header must agree before CharLS reads further; CharLS's reading of the header
	// (which may take larger dimensions from an LSE segment) must agree too.
	if err := check(f); err != nil {
		return nil, in, err
	}
	var info C.lb_jls_info
	var cerr [256]C.char
	src = endWithEOI(src)
	src0 := unsafe.Pointer(unsafe.SliceData(src))
	if rc := C.lb_jls_header(src0, C.size_t(len(src)), &info, &cerr[0], C.size_t(len(cerr))); rc != 0 {
		return nil, in, fmt.Errorf("charls: decode: %w: %s", codec.ErrCorrupt, C.GoString(&cerr[0]))
	}
	if err := check(Frame{Width: int(info.width), Height: int(info.height), Bits: int(info.bits), Components: int(info.comps)}); err != nil {
		return nil, in, err
	}
	size := int(out.FrameSize())
	lsBytes := 1
	if info.bits > 8 {
		lsBytes = 2
	}
	comps := in.SamplesPerPixel
	planar := comps > 1 && info.ilv == C.CHARLS_INTERLEAVE_MODE_NONE
	direct := lsBytes == in.BitsAllocated/8 && !planar
	var buf []byte
	if direct {
		if cap(dst) < size {
			dst = make([]byte, size)
		}
		buf = dst[:size]
	} else {
		buf = make([]byte, in.Rows*in.Columns*comps*lsBytes)
	}
	if rc := C.lb_jls_decode(src0, C.size_t(len(src)), unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)), &cerr[0], C.size_t(len(cerr))); rc != 0 {
		return nil, in, fmt.Errorf("charls: decode: %w: %s", codec.ErrCorrupt, C.GoString(&cerr[0]))
	}
	if direct {
		return buf, out, nil
	}
	// Widen 8-bit samples and interleave planes.
	if cap(dst) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	px := in.Rows * in.Columns
	obps := in.BitsAllocated / 8
	for c := range comps {
		for i := range px {
			j := i*comps + c
			if planar {
				j = c*px + i
			}
			var v uint16
			if lsBytes == 1 {
				v = uint16(buf[j])
			} else {
				v = binary.LittleEndian.Uint16(buf[2*j:])
			}
			o := (i*comps + c) * obps
			dst[o] = byte(v)
			if obps == 2 {
				dst[o+1] = byte(v >> 8)
			}
		}
	}
	return dst, out, nil
}

// endWithEOI returns src when it ends with an EOI marker (FF D9, optionally followed by a pad
// byte), else a copy of src with one appended.
//
// CharLS 2.4's bit reader, at the end of its buffer, returns without an error whenever the count
// of bits it holds is not zero; a corrupt scan can drive that count negative, and the decoder
// then counts it down through the whole int32 range, seconds for a frame of a few bytes (fixed
// in CharLS 3, "endless loop when decoding invalid JPEG-LS input data"). Where a scan ends at a
// marker instead, CharLS checks for a count of zero or less and fails the stream at once; with an
// EOI at the end every scan ends at a marker, and a valid stream decodes as before.
func endWithEOI(src []byte) []byte {
	n := len(src)
	if n >= 3 && src[n-1] == 0 {
		n--
	}
	if n >= 2 && src[n-2] == 0xFF && src[n-1] == 0xD9 {
		return src
	}
	out := make([]byte, len(src), len(src)+2)
	copy(out, src)
	return append(out, 0xFF, 0xD9)
}

// EncodeLossless encodes a frame as lossless JPEG-LS (transfer syntax .80).
func EncodeLossless(dst, frame []byte, in codec.Image, _ codec.EncodeOptions) ([]byte, codec.Image, error) {
	return encode(dst, frame, in, 0)
}

// EncodeNearLossless encodes a frame as near-lossless JPEG-LS (transfer syntax .81) with the
// NEAR parameter opts.NearLossless (0 codes losslessly).
func EncodeNearLossless(dst, frame []byte, in codec.Image, opts codec.EncodeOptions) ([]byte, codec.Image, error) {
	return encode(dst, frame, in, opts.NearLossless)
}

// encode encodes the stored bits of each sample as an unsigned JPEG-LS sample of Bits Stored
// bits, or of Bits Allocated bits when samples use bits above Bits Stored (negative values of
// signed images, unmasked high bits), so that no bit is lost; the Image it returns says so.
func encode(dst, frame []byte, in codec.Image, near int) ([]byte, codec.Image, error) {
	if err := in.Check(); err != nil {
		return nil, in, fmt.Errorf("charls: %w", err)
	}
	if int64(len(frame)) < in.FrameSize() {
		return nil, in, fmt.Errorf("charls: %w: frame of %d bytes, %d expected", codec.ErrCorrupt, len(frame), in.FrameSize())
	}
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 {
		return nil, in, fmt.Errorf("charls: %w: bits allocated %d", codec.ErrUnsupported, in.BitsAllocated)
	}
	if (in.SamplesPerPixel != 1 && in.SamplesPerPixel != 3) || in.Photometric == "YBR_FULL_422" {
		return nil, in, fmt.Errorf("charls: %w: %d samples of %s", codec.ErrUnsupported, in.SamplesPerPixel, in.Photometric)
	}
	if near < 0 || near > 255 {
		return nil, in, fmt.Errorf("charls: %w: NEAR %d", codec.ErrUnsupported, near)
	}
	frame = frame[:in.FrameSize()]
	var or uint32
	if in.BitsAllocated == 8 {
		for _, b := range frame {
			or |= uint32(b)
		}
	} else {
		for i := 0; i < len(frame); i += 2 {
			or |= uint32(frame[i]) | uint32(frame[i+1])<<8
		}
	}
	prec := in.BitsStored
	if bits.Len32(or) > prec {
		prec = in.BitsAllocated
	}
	prec = max(prec, 2)
	src := frame
	if prec <= 8 && in.BitsAllocated == 16 {
		// CharLS takes one byte a sample up to 8 bits.
		src = make([]byte, len(frame)/2)
		for i := range src {
			src[i] = frame[2*i]
		}
	}
	ilv := C.CHARLS_INTERLEAVE_MODE_SAMPLE
	if in.PlanarConfiguration == 1 {
		ilv = C.CHARLS_INTERLEAVE_MODE_NONE
	}
	out := in
	out.PlanarConfiguration = 0
	out.BitsStored = max(in.BitsStored, prec)
	var cerr [256]C.char
	var cout unsafe.Pointer
	var n C.size_t
	rc := C.lb_jls_encode(unsafe.Pointer(unsafe.SliceData(src)), C.size_t(len(src)), C.int32_t(in.Columns), C.int32_t(in.Rows),
		C.int32_t(prec), C.int32_t(in.SamplesPerPixel), C.int32_t(ilv), C.int32_t(near), &cout, &n, &cerr[0], C.size_t(len(cerr)))
	if rc != 0 {
		return nil, in, fmt.Errorf("charls: encode: %s", C.GoString(&cerr[0]))
	}
	defer C.free(cout)
	return append(dst[:0], unsafe.Slice((*byte)(cout), int(n))...), out, nil
}
