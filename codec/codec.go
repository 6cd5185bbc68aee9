// Package codec decodes and encodes the pixel data of DICOM images, one frame at a time, keyed
// by transfer syntax (PS3.5 8.2, 10 and annex A.4).
//
// A Codec pairs a transfer syntax UID with a Decoder and an Encoder (either may be nil). A
// Registry holds the codecs a program can use; it is built once (see package codec/codecs for
// the set Lightbox ships) and never changed afterwards, so it is safe for concurrent use.
//
// Frames travel in the native layout of PS3.5 8.1.1 and 8.2: samples of Bits Allocated bits
// (1, 8, 16 or 32), little endian, colour by pixel unless the Image says colour by plane. A
// decoder returns the Image that describes what it produced: a JPEG decoder turns YBR_FULL_422
// into RGB, a JPEG 2000 decoder turns YBR_RCT and YBR_ICT into RGB, as DCMTK and GDCM do.
//
// Decoders check the dimensions a codestream declares against the Image and against
// MaxFrameBytes before allocating, so that a lying header costs an error, not memory.
package codec

import (
	"errors"
	"fmt"
	"slices"
)

// Errors of the package and of the codecs; test with errors.Is.
var (
	// ErrUnsupported: no codec for the transfer syntax, or a codestream feature or pixel layout
	// the codec does not handle.
	ErrUnsupported = errors.New("codec: unsupported")
	// ErrCorrupt: the codestream is truncated or inconsistent, or disagrees with the Image.
	ErrCorrupt = errors.New("codec: corrupt data")
	// ErrTooLarge: the frame is larger than MaxFrameBytes.
	ErrTooLarge = errors.New("codec: frame too large")
)

// MaxFrameBytes bounds the native size of one frame a decoder produces or an encoder accepts
// (1 GiB).
const MaxFrameBytes = 1 << 30

// Image describes the pixels of a frame: the Image Pixel Module attributes (PS3.3 C.7.6.3).
type Image struct {
	Rows, Columns       int
	SamplesPerPixel     int
	BitsAllocated       int
	BitsStored          int
	PixelRepresentation int // 0 unsigned, 1 two's complement
	// Photometric is the Photometric Interpretation (MONOCHROME2, RGB, YBR_FULL, ...).
	Photometric string
	// PlanarConfiguration: 0 colour by pixel, 1 colour by plane (PS3.3 C.7.6.3.1.3).
	PlanarConfiguration int
}

// FrameSize is the size in bytes of one native frame: Rows × Columns × Samples × Bits
// Allocated / 8, rounded up to whole bytes for Bits Allocated 1; YBR_FULL_422 kept native holds
// two samples per pixel (PS3.3 C.7.6.3.1.2). It is -1 when the attributes are out of range.
func (im Image) FrameSize() int64 {
	if im.Rows <= 0 || im.Columns <= 0 || im.SamplesPerPixel <= 0 || im.Rows > 65535 || im.Columns > 65535 || im.SamplesPerPixel > 65535 {
		return -1
	}
	px := int64(im.Rows) * int64(im.Columns)
	switch im.BitsAllocated {
	case 1:
		return (px*int64(im.SamplesPerPixel) + 7) / 8
	case 8, 16, 32, 64:
	default:
		return -1
	}
	samples := int64(im.SamplesPerPixel)
	if im.Photometric == "YBR_FULL_422" && im.SamplesPerPixel == 3 {
		samples = 2
	}
	return px * samples * int64(im.BitsAllocated/8)
}

// Check reports whether the Image is usable: positive dimensions, a known Bits Allocated, Bits
// Stored within it, and a frame no larger than MaxFrameBytes.
func (im Image) Check() error {
	n := im.FrameSize()
	if n < 0 {
		return fmt.Errorf("%w: image %d×%d, %d samples, %d bits allocated", ErrUnsupported, im.Columns, im.Rows, im.SamplesPerPixel, im.BitsAllocated)
	}
	if im.BitsStored < 1 || im.BitsStored > im.BitsAllocated {
		return fmt.Errorf("%w: bits stored %d with bits allocated %d", ErrCorrupt, im.BitsStored, im.BitsAllocated)
	}
	if n > MaxFrameBytes {
		return fmt.Errorf("%w: %d bytes (the limit is %d)", ErrTooLarge, n, MaxFrameBytes)
	}
	return nil
}

// Decoder turns one frame's codestream into a native frame.
type Decoder interface {
	// Decode decodes src, the bytes of one frame (its fragments concatenated), described by in
	// as the data set declares it. The frame is appended to dst[:0] (dst may be nil) and
	// returned with the Image that describes it.
	Decode(dst, src []byte, in Image) ([]byte, Image, error)
}

// EncodeOptions tunes an encoder. The zero value asks for each codec's defaults.
type EncodeOptions struct {
	// Quality of lossy encoders, 1 to 100 (0: the codec's default).
	Quality int
	// NearLossless is the JPEG-LS NEAR parameter (0: lossless).
	NearLossless int
}

// Encoder turns a native frame into a codestream.
type Encoder interface {
	// Encode encodes frame, a native frame described by in, appending the codestream to dst[:0].
	// It returns the codestream and the Image that describes the encoded pixels (for example
	// YBR_FULL_422 for a baseline JPEG of RGB input, YBR_RCT for a reversible JPEG 2000 of RGB,
	// PlanarConfiguration 0 where the syntax requires it).
	Encode(dst, frame []byte, in Image, opts EncodeOptions) ([]byte, Image, error)
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc func(dst, src []byte, in Image) ([]byte, Image, error)

// Decode calls f.
func (f DecoderFunc) Decode(dst, src []byte, in Image) ([]byte, Image, error) { return f(dst, src, in) }

// EncoderFunc adapts a function to Encoder.
type EncoderFunc func(dst, frame []byte, in Image, opts EncodeOptions) ([]byte, Image, error)

// Encode calls f.
func (f EncoderFunc) Encode(dst, frame []byte, in Image, opts EncodeOptions) ([]byte, Image, error) {
	return f(dst, frame, in, opts)
}

// Codec is what Lightbox can do with one transfer syntax.
type Codec struct {
	// TransferSyntax is the transfer syntax UID.
	TransferSyntax string
	// Name says which implementation this is, for logs and `lightbox version`
	// (for example "RLE (Go)" or "OpenJPEG 2.5.0").
	Name string
	// Lossy reports that encoding loses information (PS3.5 8.2, Lossy Image Compression).
	Lossy   bool
	Decoder Decoder // nil: cannot decode
	Encoder Encoder // nil: cannot encode
}

// Registry maps transfer syntaxes to codecs. It is immutable once built.
type Registry struct {
	codecs map[string]Codec
}

// NewRegistry builds a registry. For a transfer syntax given twice, the decoder and encoder
// of the later codec win where they are not nil, so that a faster implementation can be
// listed after a portable one.
func NewRegistry(codecs ...Codec) *Registry {
	r := &Registry{codecs: make(map[string]Codec, len(codecs))}
	for _, c := range codecs {
		old, ok := r.codecs[c.TransferSyntax]
		if ok {
			if c.Decoder == nil {
				c.Decoder = old.Decoder
			}
			if c.Encoder == nil {
				c.Encoder = old.Encoder
			}
			if c.Name != old.Name {
				c.Name = old.Name + ", " + c.Name
			}
		}
		r.codecs[c.TransferSyntax] = c
	}
	return r
}

// Lookup returns the codec of a transfer syntax.
func (r *Registry) Lookup(ts string) (Codec, bool) {
	if r == nil {
		return Codec{}, false
	}
	c, ok := r.codecs[ts]
	return c, ok
}

// CanDecode reports whether frames of ts can be decoded.
func (r *Registry) CanDecode(ts string) bool {
	c, ok := r.Lookup(ts)
	return ok && c.Decoder != nil
}

// CanEncode reports whether frames can be encoded in ts.
func (r *Registry) CanEncode(ts string) bool {
	c, ok := r.Lookup(ts)
	return ok && c.Encoder != nil
}

// Codecs lists the registered codecs sorted by transfer syntax UID.
func (r *Registry) Codecs() []Codec {
	if r == nil {
		return nil
	}
	out := make([]Codec, 0, len(r.codecs))
	for _, c := range r.codecs {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Codec) int {
		switch {
		case a.TransferSyntax < b.TransferSyntax:
			return -1
		case a.TransferSyntax > b.TransferSyntax:
			return 1
		}
		return 0
	})
	return out
}

// Decode decodes one frame of transfer syntax ts. It checks in first and fails with
// ErrUnsupported when no decoder is registered for ts.
func (r *Registry) Decode(ts string, dst, src []byte, in Image) ([]byte, Image, error) {
	c, ok := r.Lookup(ts)
	if !ok || c.Decoder == nil {
		return nil, in, fmt.Errorf("%w: no decoder for transfer syntax %s", ErrUnsupported, ts)
	}
	if err := in.Check(); err != nil {
		return nil, in, err
	}
	return c.Decoder.Decode(dst, src, in)
}

// Encode encodes one native frame in transfer syntax ts.
func (r *Registry) Encode(ts string, dst, frame []byte, in Image, opts EncodeOptions) ([]byte, Image, error) {
	c, ok := r.Lookup(ts)
	if !ok || c.Encoder == nil {
		return nil, in, fmt.Errorf("%w: no encoder for transfer syntax %s", ErrUnsupported, ts)
	}
	if err := in.Check(); err != nil {
		return nil, in, err
	}
	if int64(len(frame)) < in.FrameSize() {
		return nil, in, fmt.Errorf("%w: frame of %d bytes, %d expected", ErrCorrupt, len(frame), in.FrameSize())
	}
	return c.Encoder.Encode(dst, frame, in, opts)
}
