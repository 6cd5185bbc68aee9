// Package render turns the native pixel data of an image frame into an 8-bit image for display,
// as the rendered and thumbnail resources of DICOMweb (PS3.18 8.3.5, 10.4) and WADO-URI (PS3.18
// chapter 9) need. Frames are native little endian bytes (PS3.5 8.1.1, 8.2): those of the data
// set as stored (Describe), or those a decoder produced from a compressed frame, described by a
// codec.Image whose photometric interpretation and planar configuration may differ from the
// data set's (DescribeDecoded).
//
// Grayscale, MONOCHROME1 and MONOCHROME2 (PS3.3 C.7.6.3.1.2):
//   - Bits Allocated 1 (packed, first pixel in the least significant bit; frames need not begin
//     on a byte boundary, see Layout.FrameAt), 8, 16 and 32, unsigned or two's complement
//     (Pixel Representation), the Bits Stored bits ending at High Bit taken and sign-extended
//     (PS3.5 8.1.1, 8.1.2); Float Pixel Data and Double Float Pixel Data of 32 and 64 bits;
//   - the Modality LUT (C.11.1): Rescale Slope and Intercept, or the Modality LUT Sequence
//     (LUT Descriptor with 0 meaning 65536 entries, first value mapped signed as the pixels are,
//     8- or 16-bit LUT Data);
//   - the VOI LUT (C.11.2): the caller's window, else the window or VOI LUT Options.VOIIndex
//     and Options.VOILUT select, else the data set's first window (Window Center and Width
//     with the VOI LUT Function LINEAR, LINEAR_EXACT or SIGMOID, C.11.2.1.2 and C.11.2.1.3),
//     else its first VOI LUT Sequence item (C.11.2.1.1), else the range of the frame's
//     modality values (the LINEAR window of center (min + max + 1) / 2 and width
//     max − min + 1, which maps min to black and max to white, as DCMTK's min-max window;
//     Options.MinMax asks for it whatever the data set says). Rescale and windows are also read
//     from the Pixel Value Transformation and Frame VOI LUT functional groups of enhanced
//     images (C.7.6.16.2.9, C.7.6.16.2.10; see DescribeFrame);
//   - the Presentation LUT Shape INVERSE (C.11.6.1.2) and MONOCHROME1 invert the output; on a
//     MONOCHROME1 image INVERSE restates that inversion and does not undo it.
//
// Integer frames of up to 16 bits go through a table from stored value to output value built
// once per frame over the frame's range of stored values; 32-bit integers and floats are mapped
// one by one.
//
// Colour, rendered as opaque RGBA:
//   - RGB of 8, 16 or 32 bits allocated (the top 8 of the stored bits shown), colour-by-pixel or
//     colour-by-plane (C.7.6.3.1.3);
//   - YBR_FULL, YBR_ICT, and YBR_FULL_422 held native (Y1 Y2 Cb Cr for each pair of pixels),
//     by the equations of C.7.6.3.1.2 rounded to nearest (libjpeg's conversion to within 1);
//     YBR_PARTIAL_422 (and YBR_PARTIAL_420 given at full resolution) by the partial-range
//     inverse; YBR_RCT by the reversible transform of ISO/IEC 15444-1 G.2 with chrominance
//     offset by half the range; YBR of 16 bits is reduced to 8 before conversion;
//   - PALETTE COLOR (C.7.6.3.1.5, C.7.9) with 8- or 16-bit indices, signed or not, LUTs of 8-bit
//     (packed) or 16-bit entries, descriptors with 0 meaning 65536 entries and any first value
//     mapped, and Segmented Palette Color Lookup Table Data (C.7.9.2: discrete, linear and
//     indirect segments).
//
// Anything else (other photometric interpretations, other bit depths) is refused with an error
// wrapping ErrUnsupported; inconsistent attributes with ErrInvalid. Overlays, shutters, Pixel
// Padding Value, ICC profiles and presentation states are not applied.
//
// Images can be fitted into a size (nearest neighbour or box filter) and encoded as PNG (Sub
// filter, deflate with Huffman codes and runs only: fast, slightly larger files) or JPEG
// (baseline with the example tables of T.81 Annex K, grey or YCbCr 4:2:0, by a fast writer of
// the package; image/jpeg for images other than *image.Gray and *image.RGBA).
package render

import (
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strings"
)

// Errors of the package; test with errors.Is.
var (
	// ErrUnsupported: the pixel data are of a kind this package does not render (yet).
	ErrUnsupported = errors.New("render: unsupported pixel data")
	// ErrInvalid: the pixel data or the options are inconsistent (a frame shorter than its
	// attributes say, a window of no width).
	ErrInvalid = errors.New("render: invalid pixel data or options")
	// ErrTooLarge: the image has more pixels than Options.MaxPixels.
	ErrTooLarge = errors.New("render: image too large")
)

// Media types Encode writes.
const (
	PNG  = "image/png"
	JPEG = "image/jpeg"
)

// DefaultMaxPixels bounds the pixels of a frame rendered (Rows × Columns), unless
// Options.MaxPixels says otherwise.
const DefaultMaxPixels = 1 << 26

// DefaultQuality is the JPEG quality used when none is given.
const DefaultQuality = 90

// VOI LUT Functions (PS3.3 C.11.2.1.3).
const (
	Linear      = "LINEAR"
	LinearExact = "LINEAR_EXACT"
	Sigmoid     = "SIGMOID"
)

// Window is a VOI window (PS3.3 C.11.2.1.2) in modality values.
type Window struct {
	Center, Width float64
	// Function is the VOI LUT Function: LINEAR (the default when empty), LINEAR_EXACT or
	// SIGMOID.
	Function string
}

// Validate checks the width and function: LINEAR needs a width of at least 1, the others a
// positive width.
func (w Window) Validate() error {
	switch w.function() {
	case Linear:
		if !(w.Width >= 1) {
			return fmt.Errorf("%w: window width %g: a LINEAR window is at least 1 wide (PS3.3 C.11.2.1.2)", ErrInvalid, w.Width)
		}
	case LinearExact, Sigmoid:
		if !(w.Width > 0) {
			return fmt.Errorf("%w: window width %g: must be positive", ErrInvalid, w.Width)
		}
	default:
		return fmt.Errorf("%w: VOI LUT function %q: want LINEAR, LINEAR_EXACT or SIGMOID", ErrInvalid, w.Function)
	}
	if math.IsInf(w.Center, 0) || math.IsNaN(w.Center) || math.IsInf(w.Width, 0) {
		return fmt.Errorf("%w: window %g/%g is not finite", ErrInvalid, w.Center, w.Width)
	}
	return nil
}

func (w Window) function() string {
	f := strings.ToUpper(strings.TrimSpace(strings.ReplaceAll(w.Function, "-", "_")))
	if f == "" {
		return Linear
	}
	return f
}

// Filter is how an image is resampled to fit a size.
type Filter int

// Filters.
const (
	// Box averages the source pixels each output pixel covers (the default: smooth thumbnails).
	Box Filter = iota
	// Nearest takes the source pixel nearest each output pixel's centre.
	Nearest
)

// Options control rendering. The zero value renders at the image's size with the data set's
// window.
type Options struct {
	// Window, when set, overrides the data set's window.
	Window *Window
	// Size, when not zero, is the box the image is scaled to fit, keeping its aspect ratio; a
	// zero width or height leaves that side free.
	Size image.Point
	// Filter resamples when scaling.
	Filter Filter
	// Quality is the JPEG quality, 1 to 100 (DefaultQuality when 0); Frame ignores it, callers
	// pass it to Encode.
	Quality int
	// MaxPixels bounds Rows × Columns (DefaultMaxPixels when 0).
	MaxPixels int64
	// VOIIndex selects, when Window is nil, which of the image's VOI transformations applies
	// (PS3.3 C.11.2): the window made of the VOIIndex-th values of Window Center and Window
	// Width, or with VOILUT the VOIIndex-th item of the VOI LUT Sequence; 0 is the first. An
	// index the image does not have is refused with ErrInvalid.
	VOIIndex int
	// VOILUT prefers the VOI LUT Sequence to the windows.
	VOILUT bool
	// MinMax, when Window is nil, ignores the image's VOI attributes and windows the range of
	// the frame's modality values, as is done when the image has none.
	MinMax bool
}

// FitSize is the size of an image of size src scaled to fit into box keeping its aspect ratio; a
// zero side of box leaves that side free. The result is at least 1×1.
func FitSize(src, box image.Point) image.Point {
	if src.X <= 0 || src.Y <= 0 || (box.X <= 0 && box.Y <= 0) {
		return src
	}
	scale := math.Inf(1)
	if box.X > 0 {
		scale = float64(box.X) / float64(src.X)
	}
	if box.Y > 0 {
		scale = min(scale, float64(box.Y)/float64(src.Y))
	}
	w := max(1, int(math.Round(float64(src.X)*scale)))
	h := max(1, int(math.Round(float64(src.Y)*scale)))
	if box.X > 0 {
		w = min(w, box.X)
	}
	if box.Y > 0 {
		h = min(h, box.Y)
	}
	return image.Pt(w, h)
}

// Fit scales a *image.Gray or *image.RGBA to fit into box (see FitSize); other images are
// returned as they are.
func Fit(img image.Image, box image.Point, f Filter) image.Image {
	b := img.Bounds()
	dst := FitSize(b.Size(), box)
	if dst == b.Size() {
		return img
	}
	switch m := img.(type) {
	case *image.Gray:
		out := image.NewGray(image.Rect(0, 0, dst.X, dst.Y))
		resample(out.Pix, out.Stride, dst, m.Pix, m.Stride, b.Size(), 1, f)
		return out
	case *image.RGBA:
		out := image.NewRGBA(image.Rect(0, 0, dst.X, dst.Y))
		resample(out.Pix, out.Stride, dst, m.Pix, m.Stride, b.Size(), 4, f)
		return out
	}
	return img
}

// resample scales an image of c bytes per pixel.
func resample(dst []byte, dstStride int, ds image.Point, src []byte, srcStride int, ss image.Point, c int, f Filter) {
	// span returns the source pixels [lo, hi) output pixel i of n covers, of m.
	span := func(i, n, m int) (int, int) {
		lo := i * m / n
		hi := ((i+1)*m + n - 1) / n
		return lo, max(hi, lo+1)
	}
	for y := 0; y < ds.Y; y++ {
		y0, y1 := span(y, ds.Y, ss.Y)
		row := dst[y*dstStride:]
		for x := 0; x < ds.X; x++ {
			if f == Nearest {
				sx := min(ss.X-1, (2*x+1)*ss.X/(2*ds.X))
				sy := min(ss.Y-1, (2*y+1)*ss.Y/(2*ds.Y))
				copy(row[c*x:c*x+c], src[sy*srcStride+c*sx:])
				continue
			}
			x0, x1 := span(x, ds.X, ss.X)
			var sum [4]int
			for sy := y0; sy < y1; sy++ {
				p := src[sy*srcStride+c*x0 : sy*srcStride+c*x1]
				for k := 0; k < len(p); k += c {
					for j := 0; j < c; j++ {
						sum[j] += int(p[k+j])
					}
				}
			}
			cnt := (y1 - y0) * (x1 - x0)
			for j := 0; j < c; j++ {
				row[c*x+j] = uint8((sum[j] + cnt/2) / cnt)
			}
		}
	}
}

// Encode writes img as image/png or image/jpeg; quality is the JPEG quality (1 to 100,
// DefaultQuality when 0).
func Encode(w io.Writer, img image.Image, mediaType string, quality int) error {
	switch mediaType {
	case PNG:
		if ok, err := encodePNG(w, img); ok {
			if err != nil {
				return fmt.Errorf("render: encode PNG: %w", err)
			}
			return nil
		}
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(w, img); err != nil {
			return fmt.Errorf("render: encode PNG: %w", err)
		}
		return nil
	case JPEG:
		if quality <= 0 {
			quality = DefaultQuality
		}
		if ok, err := encodeJPEG(w, img, quality); ok {
			if err != nil {
				return fmt.Errorf("render: encode JPEG: %w", err)
			}
			return nil
		}
		if err := jpeg.Encode(w, img, &jpeg.Options{Quality: min(quality, 100)}); err != nil {
			return fmt.Errorf("render: encode JPEG: %w", err)
		}
		return nil
	}
	return fmt.Errorf("%w: media type %q: image/jpeg and image/png are written", ErrUnsupported, mediaType)
}
