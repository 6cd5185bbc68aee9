//go:build cgo && !nocgocodecs

package openjpeg

/*
#cgo pkg-config: libopenjp2
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openjpeg.h>

// lb_msg keeps the first error the library reports.
typedef struct { char text[256]; int set; } lb_msg;

static void lb_on_error(const char *msg, void *ud) {
	lb_msg *m = (lb_msg *)ud;
	if (m->set) return;
	m->set = 1;
	strncpy(m->text, msg, sizeof m->text - 1);
	m->text[sizeof m->text - 1] = 0;
	size_t n = strlen(m->text);
	while (n > 0 && (m->text[n-1] == '\n' || m->text[n-1] == '\r')) m->text[--n] = 0;
}

static void lb_quiet(const char *msg, void *ud) { (void)msg; (void)ud; }

// lb_src is an input stream over a byte slice.
typedef struct { const uint8_t *data; OPJ_SIZE_T len, pos; } lb_src;

static OPJ_SIZE_T lb_read(void *buf, OPJ_SIZE_T n, void *ud) {
	lb_src *s = (lb_src *)ud;
	if (s->pos >= s->len) return (OPJ_SIZE_T)-1;
	if (n > s->len - s->pos) n = s->len - s->pos;
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return n;
}

static OPJ_OFF_T lb_skip(OPJ_OFF_T n, void *ud) {
	lb_src *s = (lb_src *)ud;
	if (n < 0) {
		if ((OPJ_SIZE_T)(-n) > s->pos) return -1;
		s->pos -= (OPJ_SIZE_T)(-n);
		return n;
	}
	if ((OPJ_SIZE_T)n > s->len - s->pos) n = (OPJ_OFF_T)(s->len - s->pos);
	s->pos += (OPJ_SIZE_T)n;
	return n;
}

static OPJ_BOOL lb_seek(OPJ_OFF_T n, void *ud) {
	lb_src *s = (lb_src *)ud;
	if (n < 0 || (OPJ_SIZE_T)n > s->len) return OPJ_FALSE;
	s->pos = (OPJ_SIZE_T)n;
	return OPJ_TRUE;
}

// lb_dst is an output stream into a growing malloc'd buffer.
typedef struct { uint8_t *data; OPJ_SIZE_T len, cap, pos; int failed; } lb_dst;

static OPJ_SIZE_T lb_write(void *buf, OPJ_SIZE_T n, void *ud) {
	lb_dst *d = (lb_dst *)ud;
	if (d->pos + n > d->cap) {
		OPJ_SIZE_T c = d->cap ? d->cap : 65536;
		while (c < d->pos + n) c *= 2;
		uint8_t *p = realloc(d->data, c);
		if (!p) { d->failed = 1; return (OPJ_SIZE_T)-1; }
		d->data = p;
		d->cap = c;
	}
	memcpy(d->data + d->pos, buf, n);
	d->pos += n;
	if (d->pos > d->len) d->len = d->pos;
	return n;
}

static OPJ_OFF_T lb_wskip(OPJ_OFF_T n, void *ud) {
	lb_dst *d = (lb_dst *)ud;
	if (n < 0 && (OPJ_SIZE_T)(-n) > d->pos) return -1;
	d->pos += n;
	return n;
}

static OPJ_BOOL lb_wseek(OPJ_OFF_T n, void *ud) {
	lb_dst *d = (lb_dst *)ud;
	if (n < 0 || (OPJ_SIZE_T)n > d->len) return OPJ_FALSE;
	d->pos = (OPJ_SIZE_T)n;
	return OPJ_TRUE;
}

enum { LB_OK = 0, LB_CORRUPT = 1, LB_MISMATCH = 2, LB_NOMEM = 3 };

// lb_decode decodes src (a codestream, or a JP2 file when jp2 is set) and writes its samples
// to dst, colour by pixel, little endian, bits_allocated bits each (1: packed, LSB first).
// The decoded image must have w×h pixels and ncomps full-size components.
static int lb_decode(const uint8_t *src, size_t n, int jp2, uint8_t *dst, size_t dstlen,
		int w, int h, int ncomps, int bits_allocated, lb_msg *msg) {
	opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	if (!codec) return LB_NOMEM;
	opj_set_error_handler(codec, lb_on_error, msg);
	opj_set_warning_handler(codec, lb_quiet, NULL);
	opj_set_info_handler(codec, lb_quiet, NULL);
	opj_dparameters_t params;
	opj_set_default_decoder_parameters(&params);
	int rc = LB_CORRUPT;
	opj_image_t *img = NULL;
	lb_src s = { src, n, 0 };
	opj_stream_t *st = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
	if (!st) { opj_destroy_codec(codec); return LB_NOMEM; }
	opj_stream_set_user_data(st, &s, NULL);
	opj_stream_set_user_data_length(st, n);
	opj_stream_set_read_function(st, lb_read);
	opj_stream_set_skip_function(st, lb_skip);
	opj_stream_set_seek_function(st, lb_seek);
	if (!opj_setup_decoder(codec, &params)) goto done;
	if (!opj_read_header(st, codec, &img)) goto done;
	if (img->numcomps != (OPJ_UINT32)ncomps || img->x1 - img->x0 != (OPJ_UINT32)w || img->y1 - img->y0 != (OPJ_UINT32)h) {
		rc = LB_MISMATCH;
		goto done;
	}
	if (!opj_decode(codec, st, img) || !opj_end_decompress(codec, st)) goto done;
	for (int c = 0; c < ncomps; c++) {
		opj_image_comp_t *k = &img->comps[c];
		if (!k->data || k->w != (OPJ_UINT32)w || k->h != (OPJ_UINT32)h || k->prec > 31) {
			rc = LB_MISMATCH;
			goto done;
		}
	}
	size_t px = (size_t)w * (size_t)h;
	if (bits_allocated == 1) {
		if ((px + 7) / 8 > dstlen) { rc = LB_MISMATCH; goto done; }
		memset(dst, 0, (px + 7) / 8);
		const OPJ_INT32 *d = img->comps[0].data;
		for (size_t i = 0; i < px; i++) {
			if (d[i] != 0) dst[i >> 3] |= (uint8_t)(1u << (i & 7));
		}
		rc = LB_OK;
		goto done;
	}
	size_t bps = (size_t)bits_allocated / 8;
	if (px * ncomps * bps > dstlen) { rc = LB_MISMATCH; goto done; }
	for (int c = 0; c < ncomps; c++) {
		const OPJ_INT32 *d = img->comps[c].data;
		uint8_t *o = dst + c * bps;
		size_t step = (size_t)ncomps * bps;
		switch (bps) {
		case 1:
			for (size_t i = 0; i < px; i++, o += step) o[0] = (uint8_t)d[i];
			break;
		case 2:
			for (size_t i = 0; i < px; i++, o += step) {
				uint32_t v = (uint32_t)d[i];
				o[0] = (uint8_t)v; o[1] = (uint8_t)(v >> 8);
			}
			break;
		default:
			for (size_t i = 0; i < px; i++, o += step) {
				uint32_t v = (uint32_t)d[i];
				o[0] = (uint8_t)v; o[1] = (uint8_t)(v >> 8); o[2] = (uint8_t)(v >> 16); o[3] = (uint8_t)(v >> 24);
			}
		}
	}
	rc = LB_OK;
done:
	if (img) opj_image_destroy(img);
	opj_stream_destroy(st);
	opj_destroy_codec(codec);
	return rc;
}

// lb_encode encodes a native frame as a JPEG 2000 codestream into *out (malloc'd; the caller
// frees it). bits_allocated is 1, 8 or 16; planar says colour by plane. numres is the number
// of resolutions; ratio 0 asks for reversible (lossless) coding, otherwise the irreversible
// transform with that compression ratio.
static int lb_encode(const uint8_t *src, int w, int h, int ncomps, int bits_allocated, int planar,
		int prec, int sgnd, int mct, int numres, float ratio, uint8_t **out, size_t *outlen, lb_msg *msg) {
	*out = NULL;
	*outlen = 0;
	opj_image_cmptparm_t cp[4];
	if (ncomps < 1 || ncomps > 4) return LB_MISMATCH;
	memset(cp, 0, sizeof cp);
	for (int c = 0; c < ncomps; c++) {
		cp[c].dx = 1; cp[c].dy = 1;
		cp[c].w = (OPJ_UINT32)w; cp[c].h = (OPJ_UINT32)h;
		cp[c].prec = (OPJ_UINT32)prec;
		cp[c].sgnd = (OPJ_UINT32)sgnd;
	}
	opj_image_t *img = opj_image_create((OPJ_UINT32)ncomps, cp, ncomps >= 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
	if (!img) return LB_NOMEM;
	img->x0 = 0; img->y0 = 0; img->x1 = (OPJ_UINT32)w; img->y1 = (OPJ_UINT32)h;
	size_t px = (size_t)w * (size_t)h;
	for (int c = 0; c < ncomps; c++) {
		OPJ_INT32 *d = img->comps[c].data;
		if (bits_allocated == 1) {
			for (size_t i = 0; i < px; i++) d[i] = (src[i >> 3] >> (i & 7)) & 1;
			continue;
		}
		size_t bps = (size_t)bits_allocated / 8;
		const uint8_t *p = planar ? src + (size_t)c * px * bps : src + (size_t)c * bps;
		size_t step = planar ? bps : (size_t)ncomps * bps;
		for (size_t i = 0; i < px; i++, p += step) {
			if (bps == 1) d[i] = sgnd ? (OPJ_INT32)(int8_t)p[0] : (OPJ_INT32)p[0];
			else {
				uint16_t v = (uint16_t)(p[0] | (p[1] << 8));
				d[i] = sgnd ? (OPJ_INT32)(int16_t)v : (OPJ_INT32)v;
			}
		}
	}
	opj_cparameters_t params;
	opj_set_default_encoder_parameters(&params);
	params.tcp_numlayers = 1;
	params.tcp_rates[0] = ratio > 0 ? ratio : 0;
	params.cp_disto_alloc = 1;
	params.irreversible = ratio > 0;
	params.tcp_mct = (char)(mct ? 1 : 0);
	params.numresolution = numres;
	int rc = LB_CORRUPT;
	lb_dst d = { NULL, 0, 0, 0, 0 };
	opj_stream_t *st = NULL;
	opj_codec_t *codec = opj_create_compress(OPJ_CODEC_J2K);
	if (!codec) { opj_image_destroy(img); return LB_NOMEM; }
	opj_set_error_handler(codec, lb_on_error, msg);
	opj_set_warning_handler(codec, lb_quiet, NULL);
	opj_set_info_handler(codec, lb_quiet, NULL);
	if (!opj_setup_encoder(codec, &params, img)) goto done;
	st = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE);
	if (!st) { rc = LB_NOMEM; goto done; }
	opj_stream_set_user_data(st, &d, NULL);
	opj_stream_set_write_function(st, lb_write);
	opj_stream_set_skip_function(st, lb_wskip);
	opj_stream_set_seek_function(st, lb_wseek);
	if (!opj_start_compress(codec, img, st) || !opj_encode(codec, st) || !opj_end_compress(codec, st)) goto done;
	if (d.failed) { rc = LB_NOMEM; goto done; }
	*out = d.data;
	*outlen = d.len;
	d.data = NULL;
	rc = LB_OK;
done:
	free(d.data);
	if (st) opj_stream_destroy(st);
	opj_destroy_codec(codec);
	opj_image_destroy(img);
	return rc;
}
*/
import "C"

import (
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
)

// Transfer syntaxes this package serves.
const (
	JPEG2000Lossless = "1.2.840.10008.1.2.4.90"
	JPEG2000         = "1.2.840.10008.1.2.4.91"
	HTJ2KLossless    = "1.2.840.10008.1.2.4.201"
	HTJ2KLosslessRPC = "1.2.840.10008.1.2.4.202"
	HTJ2K            = "1.2.840.10008.1.2.4.203"
)

// Version is the version of the OpenJPEG library linked in, as it reports it.
func Version() string { return C.GoString(C.opj_version()) }

// Codecs returns the JPEG 2000 codecs (decode and encode) and the HTJ2K decoders of OpenJPEG.
func Codecs() []codec.Codec {
	name := "OpenJPEG " + Version()
	dec := codec.DecoderFunc(Decode)
	return []codec.Codec{
		{TransferSyntax: JPEG2000Lossless, Name: name, Decoder: dec, Encoder: codec.EncoderFunc(EncodeLossless)},
		{TransferSyntax: JPEG2000, Name: name, Lossy: true, Decoder: dec, Encoder: codec.EncoderFunc(EncodeLossy)},
	}
}

// Decode decodes one frame of JPEG 2000 (transfer syntaxes .90 and .91): a bare codestream or
// a JP2 file. It checks the SIZ marker segment against in before the library sees the data,
// and refuses a codestream with High-Throughput code-blocks (HTCodeBlocks), which belongs to
// an HTJ2K transfer syntax and is decoded out of process (package openjph).
func Decode(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	if err := in.Check(); err != nil {
		return nil, in, fmt.Errorf("openjpeg: %w", err)
	}
	ht, err := HTCodeBlocks(src)
	if err != nil {
		return nil, in, fmt.Errorf("openjpeg: %w", err)
	}
	if ht {
		return nil, in, fmt.Errorf("openjpeg: %w: HTJ2K code-blocks in a JPEG 2000 transfer syntax", codec.ErrCorrupt)
	}
	return DecodeUnchecked(dst, src, in)
}

// DecodeUnchecked decodes one frame of JPEG 2000 or HTJ2K like Decode, High-Throughput
// code-blocks included. OpenJPEG 2.5.0 can stop the process on hostile HT code-block data
// (see HTCodeBlocks): call it only in a process that may die, as package openjph does.
func DecodeUnchecked(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	if err := in.Check(); err != nil {
		return nil, in, fmt.Errorf("openjpeg: %w", err)
	}
	s, err := ParseSIZ(src)
	if err != nil {
		return nil, in, fmt.Errorf("openjpeg: %w", err)
	}
	out, err := CheckSIZ(s, in)
	if err != nil {
		return nil, in, fmt.Errorf("openjpeg: %w", err)
	}
	size := int(out.FrameSize())
	if cap(dst) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	var msg C.lb_msg
	jp2 := C.int(0)
	if s.JP2 {
		jp2 = 1
	}
	rc := C.lb_decode((*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(src))), C.size_t(len(src)), jp2,
		(*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(dst))), C.size_t(len(dst)),
		C.int(out.Columns), C.int(out.Rows), C.int(out.SamplesPerPixel), C.int(out.BitsAllocated), &msg)
	if err := result(rc, &msg, "decode"); err != nil {
		return nil, in, err
	}
	return dst, out, nil
}

// EncodeLossless encodes a frame as reversible JPEG 2000 (transfer syntax .90); RGB is
// encoded with the reversible colour transform and comes back as YBR_RCT.
func EncodeLossless(dst, frame []byte, in codec.Image, _ codec.EncodeOptions) ([]byte, codec.Image, error) {
	return encode(dst, frame, in, 0)
}

// EncodeLossy encodes a frame as irreversible JPEG 2000 (transfer syntax .91). Quality 1 to
// 100 maps to compression ratios 50:1 to 2:1 (0: 10:1); RGB comes back as YBR_ICT.
func EncodeLossy(dst, frame []byte, in codec.Image, opts codec.EncodeOptions) ([]byte, codec.Image, error) {
	ratio := float32(10)
	if q := opts.Quality; q > 0 {
		ratio = 2 + float32(100-min(q, 100))*48/99
	}
	return encode(dst, frame, in, ratio)
}

func encode(dst, frame []byte, in codec.Image, ratio float32) ([]byte, codec.Image, error) {
	prec, err := EncodePrecision(frame, in)
	if err != nil {
		return nil, in, fmt.Errorf("openjpeg: %w", err)
	}
	if in.SamplesPerPixel != 1 && in.SamplesPerPixel != 3 {
		return nil, in, fmt.Errorf("openjpeg: %w: %d samples per pixel", codec.ErrUnsupported, in.SamplesPerPixel)
	}
	out := in
	out.PlanarConfiguration = 0
	out.BitsStored = max(prec, in.BitsStored)
	if in.BitsAllocated == 1 {
		out.BitsStored = 1
	}
	mct := 0
	if in.SamplesPerPixel == 3 {
		switch in.Photometric {
		case "RGB":
			mct = 1
			out.Photometric = "YBR_RCT"
			if ratio > 0 {
				out.Photometric = "YBR_ICT"
			}
		case "YBR_FULL":
		default:
			return nil, in, fmt.Errorf("openjpeg: %w: photometric %s", codec.ErrUnsupported, in.Photometric)
		}
	}
	// Five decomposition levels, fewer for images too small for them.
	numres := min(6, bits.Len(uint(min(in.Rows, in.Columns))))
	var msg C.lb_msg
	var cout *C.uint8_t
	var n C.size_t
	rc := C.lb_encode((*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(frame))), C.int(in.Columns), C.int(in.Rows),
		C.int(in.SamplesPerPixel), C.int(in.BitsAllocated), C.int(in.PlanarConfiguration), C.int(out.BitsStored),
		C.int(in.PixelRepresentation), C.int(mct), C.int(numres), C.float(ratio), &cout, &n, &msg)
	if err := result(rc, &msg, "encode"); err != nil {
		return nil, in, err
	}
	defer C.free(unsafe.Pointer(cout))
	dst = append(dst[:0], unsafe.Slice((*byte)(unsafe.Pointer(cout)), int(n))...)
	return dst, out, nil
}

// EncodePrecision checks that frame, described by in, is something the JPEG 2000 encoders take
// (Bits Allocated 1, 8 or 16) and returns the precision that holds every sample exactly: Bits
// Stored, or more when samples use bits above it (unmasked high bits, or signed values not
// sign-extended), so that encoding never loses them.
func EncodePrecision(frame []byte, in codec.Image) (int, error) {
	if err := in.Check(); err != nil {
		return 0, err
	}
	if int64(len(frame)) < in.FrameSize() {
		return 0, fmt.Errorf("%w: frame of %d bytes, %d expected", codec.ErrCorrupt, len(frame), in.FrameSize())
	}
	switch in.BitsAllocated {
	case 1:
		if in.SamplesPerPixel != 1 {
			return 0, fmt.Errorf("%w: 1-bit image of %d samples", codec.ErrUnsupported, in.SamplesPerPixel)
		}
		return 1, nil
	case 8, 16:
	default:
		return 0, fmt.Errorf("%w: bits allocated %d", codec.ErrUnsupported, in.BitsAllocated)
	}
	if in.Photometric == "YBR_FULL_422" {
		return 0, fmt.Errorf("%w: YBR_FULL_422 frames", codec.ErrUnsupported)
	}
	n := int(in.FrameSize()) / (in.BitsAllocated / 8)
	need := 1
	if in.PixelRepresentation == 0 {
		var or uint32
		for i := range n {
			if in.BitsAllocated == 8 {
				or |= uint32(frame[i])
			} else {
				or |= uint32(frame[2*i]) | uint32(frame[2*i+1])<<8
			}
		}
		need = max(1, bits.Len32(or))
	} else {
		lo, hi := int32(0), int32(0)
		for i := range n {
			var v int32
			if in.BitsAllocated == 8 {
				v = int32(int8(frame[i]))
			} else {
				v = int32(int16(uint16(frame[2*i]) | uint16(frame[2*i+1])<<8))
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		// Bits of a two's complement number holding lo and hi.
		need = max(bits.Len32(uint32(hi)), bits.Len32(uint32(^lo))) + 1
	}
	if need <= in.BitsStored {
		return in.BitsStored, nil
	}
	return in.BitsAllocated, nil
}

func result(rc C.int, msg *C.lb_msg, op string) error {
	text := "the library reports an error"
	if msg.set != 0 {
		text = C.GoString(&msg.text[0])
	}
	switch rc {
	case C.LB_OK:
		return nil
	case C.LB_MISMATCH:
		return fmt.Errorf("openjpeg: %s: %w: decoded image does not match the declared one", op, codec.ErrCorrupt)
	case C.LB_NOMEM:
		return fmt.Errorf("openjpeg: %s: out of memory", op)
	}
	if op == "encode" {
		return fmt.Errorf("openjpeg: encode: %s", text)
	}
	return fmt.Errorf("openjpeg: %s: %w: %s", op, codec.ErrCorrupt, text)
}
