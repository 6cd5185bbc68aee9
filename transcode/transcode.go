// Package transcode changes the transfer syntax of a DICOM data set held in memory: it decodes
// every frame of the Pixel Data with the codecs of a codec.Registry, encodes them again in the
// target syntax, and updates the attributes that describe the pixels (Photometric
// Interpretation, Planar Configuration, the Lossy Image Compression attributes of PS3.3
// C.7.6.1.1.5).
//
// Between the uncompressed syntaxes (Implicit and Explicit VR Little Endian, Explicit VR Big
// Endian, Deflated Explicit VR Little Endian) nothing is decoded: the dicom package keeps values
// little endian in memory and writes them in whatever syntax is asked for.
//
// Transcoding to a lossy syntax, or from lossy pixels to another lossy syntax, is refused unless
// Options.AllowLossy is set, so that an archive never loses information behind its user's back.
package transcode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Errors of the package; test with errors.Is (codec.ErrUnsupported, codec.ErrCorrupt and
// codec.ErrTooLarge come through from the codecs).
var (
	// ErrLossy: the transcoding would lose information and Options.AllowLossy is not set.
	ErrLossy = errors.New("transcode: lossy transcoding not allowed")
	// ErrNoPixels: the data set has no Pixel Data to transcode into a compressed syntax.
	ErrNoPixels = errors.New("transcode: no pixel data")
)

// Options tunes a transcoding.
type Options struct {
	// Registry holds the codecs; required.
	Registry *codec.Registry
	// Encode is passed to the encoder (JPEG quality, JPEG-LS NEAR).
	Encode codec.EncodeOptions
	// AllowLossy permits a lossy target syntax.
	AllowLossy bool
}

// IsLossy reports whether ts is a lossy transfer syntax (PS3.5 8.2: JPEG processes other than
// the lossless ones, JPEG 2000 and HTJ2K irreversible, JPEG-LS near-lossless, and the video
// syntaxes), by the codec registered for it or by its UID.
func IsLossy(reg *codec.Registry, ts string) bool {
	if c, ok := reg.Lookup(ts); ok {
		return c.Lossy
	}
	switch ts {
	case "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.53",
		"1.2.840.10008.1.2.4.55", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91",
		"1.2.840.10008.1.2.4.203", "1.2.840.10008.1.2.4.93":
		return true
	}
	return strings.HasPrefix(ts, "1.2.840.10008.1.2.4.10") // MPEG-2, MPEG-4, HEVC
}

// Possible reports whether a data set stored in from can be transcoded to to with reg: the
// same syntax, two uncompressed syntaxes, or a decoder for from (unless from is uncompressed)
// and an encoder for to (unless to is uncompressed).
func Possible(reg *codec.Registry, from, to string) bool {
	switch {
	case from == to:
		return true
	case !reg.CanDecode(from) && !dicom.IsNative(from):
		return false
	case !reg.CanEncode(to) && !dicom.IsNative(to):
		return false
	}
	return true
}

// Dataset returns ds, read in transfer syntax from, transcoded to to. The result shares the
// elements of ds that do not change; ds itself is not modified. Pixel Data must be held in
// memory (read without a bulk threshold).
func Dataset(ds *dicom.Dataset, from, to string, opts Options) (*dicom.Dataset, error) {
	from, to = strings.TrimRight(from, "\x00 "), strings.TrimRight(to, "\x00 ")
	fromNative, toNative := dicom.IsNative(from), dicom.IsNative(to)
	px := codec.PixelData(ds)
	switch {
	case from == to:
		return ds, nil
	case fromNative && toNative:
		return ds, nil
	case px == nil && toNative:
		return ds, nil
	case px == nil:
		return nil, fmt.Errorf("%w: cannot store a data set without Pixel Data in %s", ErrNoPixels, to)
	case px.Tag != tag.PixelData && !toNative:
		return nil, fmt.Errorf("%w: float pixel data have no compressed transfer syntax", codec.ErrUnsupported)
	}
	srcLossy := !fromNative && IsLossy(opts.Registry, from) || strings.TrimSpace(ds.String(tag.LossyImageCompression)) == "01"
	dstLossy := !toNative && IsLossy(opts.Registry, to)
	if dstLossy && !opts.AllowLossy {
		return nil, fmt.Errorf("%w: %s is a lossy transfer syntax", ErrLossy, to)
	}
	if !toNative && !opts.Registry.CanEncode(to) {
		return nil, fmt.Errorf("%w: no encoder for transfer syntax %s", codec.ErrUnsupported, to)
	}
	im, n, err := codec.ImageOf(ds)
	if err != nil {
		return nil, err
	}
	frames, err := codec.Frames(ds)
	if err != nil {
		return nil, err
	}
	if !fromNative {
		if len(frames) != n {
			return nil, fmt.Errorf("%w: %d frames found, Number of Frames is %d", codec.ErrCorrupt, len(frames), n)
		}
		decoded := make([][]byte, n)
		var out codec.Image
		for i, f := range frames {
			b, o, err := opts.Registry.Decode(from, nil, f, im)
			if err != nil {
				return nil, fmt.Errorf("decode frame %d of %d: %w", i+1, n, err)
			}
			if want := o.FrameSize(); want > 0 && int64(len(b)) > want {
				b = b[:want]
			}
			decoded[i], out = b, o
		}
		frames, im = decoded, out
	} else if im.BitsAllocated == 1 && n > 1 && !toNative {
		return nil, fmt.Errorf("%w: multi-frame data of 1 bit allocated cannot be split into frames to compress", codec.ErrUnsupported)
	}

	res := ds.Clone()
	if toNative {
		var size int64
		for _, f := range frames {
			size += int64(len(f))
		}
		value := make([]byte, 0, size+size%2)
		for _, f := range frames {
			value = append(value, f...)
		}
		if len(value)%2 == 1 {
			value = append(value, 0)
		}
		v := vr.OB
		if im.BitsAllocated > 8 {
			v = vr.OW
		}
		res.Set(dicom.NewElement(tag.PixelData, v, value))
		res.Remove(tag.ExtendedOffsetTable)
		res.Remove(tag.ExtendedOffsetTableLengths)
		if err := setImage(res, im); err != nil {
			return nil, err
		}
		return res, nil
	}

	encoded := make([][]byte, len(frames))
	var out codec.Image
	var rawSize, encSize int64
	for i, f := range frames {
		b, o, err := opts.Registry.Encode(to, nil, f, im, opts.Encode)
		if err != nil {
			return nil, fmt.Errorf("encode frame %d of %d in %s: %w", i+1, len(frames), to, err)
		}
		encoded[i], out = b, o
		rawSize += int64(len(f))
		encSize += int64(len(b))
	}
	res.Set(codec.Encapsulate(encoded))
	res.Remove(tag.ExtendedOffsetTable)
	res.Remove(tag.ExtendedOffsetTableLengths)
	if err := setImage(res, out); err != nil {
		return nil, err
	}
	if dstLossy {
		if err := markLossy(res, to, rawSize, encSize); err != nil {
			return nil, err
		}
	} else if srcLossy {
		// Pixels once lossy stay marked so (PS3.3 C.7.6.1.1.5).
		if err := res.SetString(tag.LossyImageCompression, vr.CS, "01"); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// File transcodes a whole file: its data set and the Transfer Syntax UID of its File Meta.
func File(f *dicom.File, to string, opts Options) (*dicom.File, error) {
	ds, err := Dataset(f.Dataset, f.Syntax.UID, to, opts)
	if err != nil {
		return nil, err
	}
	// File Meta elements (group 0002) some senders leave in the data set are dropped from the
	// result, whose File Meta is where they belong: a Part 10 file with them in its data set
	// would not read back as written (dicom.ErrMetaInDataset).
	var misplaced []tag.Tag
	for _, e := range ds.Elements {
		if g := e.Tag.Group(); g == 0x0002 {
			misplaced = append(misplaced, e.Tag)
		} else if g > 0x0002 {
			break // sorted
		}
	}
	if len(misplaced) > 0 {
		if ds == f.Dataset {
			ds = ds.Clone() // the caller's data set stays as it is
		}
		for _, t := range misplaced {
			ds.Remove(t)
		}
	}
	out := *f
	out.Dataset = ds
	out.Syntax = dicom.SyntaxOf(to)
	if f.Meta != nil {
		out.Meta = f.Meta.Clone()
		if err := out.Meta.SetString(tag.TransferSyntaxUID, vr.UI, to); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

// setImage writes the attributes of im that a codec may have changed.
func setImage(ds *dicom.Dataset, im codec.Image) error {
	if im.Photometric != "" {
		if err := ds.SetString(tag.PhotometricInterpretation, vr.CS, im.Photometric); err != nil {
			return err
		}
	}
	if im.SamplesPerPixel > 1 {
		if err := ds.SetInts(tag.PlanarConfiguration, vr.US, int64(im.PlanarConfiguration)); err != nil {
			return err
		}
	}
	if im.BitsAllocated > 0 {
		if err := ds.SetInts(tag.BitsAllocated, vr.US, int64(im.BitsAllocated)); err != nil {
			return err
		}
	}
	return nil
}

// markLossy sets Lossy Image Compression, its ratio and method (PS3.3 C.7.6.1.1.5), appending
// to the values of earlier lossy compressions.
func markLossy(ds *dicom.Dataset, ts string, raw, enc int64) error {
	if err := ds.SetString(tag.LossyImageCompression, vr.CS, "01"); err != nil {
		return err
	}
	ratio := "1"
	if enc > 0 {
		r := float64(raw) / float64(enc)
		ratio = strconv.FormatFloat(r, 'f', 2, 64)
		if len(ratio) > 16 {
			ratio = strconv.FormatFloat(r, 'g', 6, 64)
		}
	}
	ratios := append(ds.Strings(tag.LossyImageCompressionRatio), ratio)
	methods := append(ds.Strings(tag.LossyImageCompressionMethod), lossyMethod(ts))
	if err := ds.SetString(tag.LossyImageCompressionRatio, vr.DS, ratios...); err != nil {
		return err
	}
	return ds.SetString(tag.LossyImageCompressionMethod, vr.CS, methods...)
}

// lossyMethod is the Defined Term of Lossy Image Compression Method for ts (PS3.3 C.7.6.1.1.5.1).
func lossyMethod(ts string) string {
	switch ts {
	case "1.2.840.10008.1.2.4.81":
		return "ISO_14495_1"
	case "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.93":
		return "ISO_15444_1"
	case "1.2.840.10008.1.2.4.203":
		return "ISO_15444_15"
	}
	return "ISO_10918_1"
}
