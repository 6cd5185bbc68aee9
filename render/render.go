// Package render turns the native pixel data of an image frame into an 8-bit image for display,
// as the rendered and thumbnail resources of DICOMweb (PS3.18 8.3.5, 10.4) and WADO-URI (PS3.18
// chapter 9) need:
//
//   - grayscale (MONOCHROME1 and MONOCHROME2, PS3.3 C.7.6.3.1.2) of 8 or 16 bits allocated,
//     unsigned or two's complement (Pixel Representation), with the stored bits taken from
//     Bits Stored and High Bit (PS3.5 8.1.1), through the grayscale pipeline of PS3.3 C.11:
//     the Modality LUT given by Rescale Slope and Intercept (C.11.1.1.2), then a VOI window
//     (C.11.2.1.2: LINEAR, and the LINEAR_EXACT and SIGMOID functions of C.11.2.1.3) taken from
//     the caller, else from the first Window Center and Window Width of the data set, else from
//     the range of the frame's modality values; MONOCHROME1 is inverted so that its lowest value
//     shows white;
//   - RGB of 8 bits, colour-by-pixel or colour-by-plane (Planar Configuration, C.7.6.3.1.3).
//
// Frames are given as native little endian bytes, one frame (PS3.5 8.1.1, 8.2). Anything else
// (compressed transfer syntaxes, palette colour, YBR, other bit depths, LUT sequences) is
// refused with an error wrapping ErrUnsupported: it needs the codec support that comes next,
// which will decode into the same native layout and then render here. Modality and VOI LUT
// Sequences are not applied; a window or the value range is used instead.
//
// Images can be fitted into a size (nearest neighbour or box filter) and encoded as PNG or JPEG.
package render

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
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

// apply maps a modality value to [0, 1] (PS3.3 C.11.2.1.2.1, C.11.2.1.3.1 and C.11.2.1.3.2,
// with ymin 0 and ymax 1).
func (w Window) apply(x float64) float64 {
	c, wd := w.Center, w.Width
	switch w.function() {
	case LinearExact:
		switch {
		case x <= c-wd/2:
			return 0
		case x > c+wd/2:
			return 1
		}
		return (x-c)/wd + 0.5
	case Sigmoid:
		return 1 / (1 + math.Exp(-4*(x-c)/wd))
	}
	switch {
	case x <= c-0.5-(wd-1)/2:
		return 0
	case x > c-0.5+(wd-1)/2:
		return 1
	}
	return (x-(c-0.5))/(wd-1) + 0.5
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
}

// Layout describes the pixel data of an image from its Image Pixel Module (PS3.3 C.7.6.3) and
// Modality LUT attributes.
type Layout struct {
	Rows, Columns   int
	SamplesPerPixel int
	Photometric     string
	BitsAllocated   int
	BitsStored      int
	HighBit         int
	Signed          bool
	Planar          bool // colour-by-plane
	Slope           float64
	Intercept       float64
	// Window is the first window of the data set, nil when it has none (or an unusable one).
	Window *Window
}

// FrameSize is the number of bytes of one native frame.
func (l *Layout) FrameSize() int {
	return l.Rows * l.Columns * l.SamplesPerPixel * (l.BitsAllocated / 8)
}

// Describe reads the layout of the pixel data described by meta, and refuses (with an error
// wrapping ErrUnsupported) what this package cannot render.
func Describe(meta *dicom.Dataset) (*Layout, error) {
	geti := func(t tag.Tag, def int64) int64 {
		if v, ok := meta.Int(t); ok {
			return v
		}
		return def
	}
	l := &Layout{
		Rows:            int(geti(tag.Rows, 0)),
		Columns:         int(geti(tag.Columns, 0)),
		SamplesPerPixel: int(geti(tag.SamplesPerPixel, 1)),
		Photometric:     strings.ToUpper(strings.TrimSpace(meta.String(tag.PhotometricInterpretation))),
		BitsAllocated:   int(geti(tag.BitsAllocated, 0)),
		Signed:          geti(tag.PixelRepresentation, 0) == 1,
		Planar:          geti(tag.PlanarConfiguration, 0) == 1,
		Slope:           1,
	}
	if !meta.Has(tag.PixelData) && !meta.Has(tag.Rows) {
		return nil, fmt.Errorf("%w: the instance has no pixel data", ErrUnsupported)
	}
	if l.Rows <= 0 || l.Columns <= 0 || l.Rows > 65535 || l.Columns > 65535 {
		return nil, fmt.Errorf("%w: image of %d rows and %d columns", ErrInvalid, l.Rows, l.Columns)
	}
	l.BitsStored = int(geti(tag.BitsStored, int64(l.BitsAllocated)))
	l.HighBit = int(geti(tag.HighBit, int64(l.BitsStored-1)))
	switch l.Photometric {
	case "MONOCHROME1", "MONOCHROME2":
		if l.SamplesPerPixel != 1 {
			return nil, fmt.Errorf("%w: %s with %d samples per pixel", ErrInvalid, l.Photometric, l.SamplesPerPixel)
		}
		if l.BitsAllocated != 8 && l.BitsAllocated != 16 {
			return nil, fmt.Errorf("%w: %s of %d bits allocated: 8 and 16 are rendered; other depths need the codec support that comes next",
				ErrUnsupported, l.Photometric, l.BitsAllocated)
		}
	case "RGB":
		if l.SamplesPerPixel != 3 {
			return nil, fmt.Errorf("%w: RGB with %d samples per pixel", ErrInvalid, l.SamplesPerPixel)
		}
		if l.BitsAllocated != 8 {
			return nil, fmt.Errorf("%w: RGB of %d bits allocated: 8 is rendered; other depths need the codec support that comes next",
				ErrUnsupported, l.BitsAllocated)
		}
	case "":
		return nil, fmt.Errorf("%w: no Photometric Interpretation", ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: photometric interpretation %s needs the codec support that comes next (MONOCHROME1, MONOCHROME2 and RGB are rendered)",
			ErrUnsupported, l.Photometric)
	}
	if l.BitsStored < 1 || l.BitsStored > l.BitsAllocated || l.HighBit < l.BitsStored-1 || l.HighBit >= l.BitsAllocated {
		return nil, fmt.Errorf("%w: Bits Stored %d and High Bit %d do not fit in %d bits allocated",
			ErrInvalid, l.BitsStored, l.HighBit, l.BitsAllocated)
	}
	if v, ok := meta.Float(tag.RescaleSlope); ok && v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
		l.Slope = v
	}
	if v, ok := meta.Float(tag.RescaleIntercept); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
		l.Intercept = v
	}
	cs, ws := meta.Floats(tag.WindowCenter), meta.Floats(tag.WindowWidth)
	if len(cs) > 0 && len(ws) > 0 {
		w := &Window{Center: cs[0], Width: ws[0], Function: meta.String(tag.VOILUTFunction)}
		if w.Validate() == nil {
			l.Window = w
		}
	}
	return l, nil
}

// CheckTransferSyntax refuses, with an error wrapping ErrUnsupported, a transfer syntax whose
// frames are not native: those need a codec first.
func CheckTransferSyntax(ts string) error {
	if dicom.IsNative(ts) {
		return nil
	}
	return fmt.Errorf("%w: transfer syntax %s (%s) is compressed: rendering it needs the codec support that comes next",
		ErrUnsupported, ts, uid.Name(ts))
}

// Frame renders one native little endian frame of the image described by meta.
func Frame(meta *dicom.Dataset, frame []byte, opts Options) (image.Image, error) {
	l, err := Describe(meta)
	if err != nil {
		return nil, err
	}
	return l.Frame(frame, opts)
}

// Frame renders one native little endian frame of the image l describes.
func (l *Layout) Frame(frame []byte, opts Options) (image.Image, error) {
	maxPixels := opts.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if int64(l.Rows)*int64(l.Columns) > maxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels (the limit is %d)", ErrTooLarge, l.Columns, l.Rows, maxPixels)
	}
	if len(frame) < l.FrameSize() {
		return nil, fmt.Errorf("%w: frame of %d bytes, %d expected for %d×%d×%d samples of %d bits",
			ErrInvalid, len(frame), l.FrameSize(), l.Columns, l.Rows, l.SamplesPerPixel, l.BitsAllocated)
	}
	var img image.Image
	if l.Photometric == "RGB" {
		img = l.rgb(frame)
	} else {
		win := l.Window
		if opts.Window != nil {
			if err := opts.Window.Validate(); err != nil {
				return nil, err
			}
			win = opts.Window
		}
		img = l.gray(frame, win)
	}
	if opts.Size != (image.Point{}) {
		img = Fit(img, opts.Size, opts.Filter)
	}
	return img, nil
}

// gray renders a grayscale frame through a table from stored value to output value.
func (l *Layout) gray(frame []byte, win *Window) *image.Gray {
	n := l.Rows * l.Columns
	shift := uint(l.HighBit + 1 - l.BitsStored)
	mask := uint32(1)<<uint(l.BitsStored) - 1
	raw := func(i int) uint32 {
		if l.BitsAllocated == 8 {
			return (uint32(frame[i]) >> shift) & mask
		}
		return (uint32(binary.LittleEndian.Uint16(frame[2*i:])) >> shift) & mask
	}
	stored := func(u uint32) float64 {
		if l.Signed && u&(1<<uint(l.BitsStored-1)) != 0 {
			return float64(int64(u) - int64(1)<<uint(l.BitsStored))
		}
		return float64(u)
	}
	modality := func(u uint32) float64 { return stored(u)*l.Slope + l.Intercept }
	if win == nil {
		// No window: the range of the frame's modality values, mapped exactly onto 0…255.
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i < n; i++ {
			v := modality(raw(i))
			lo, hi = min(lo, v), max(hi, v)
		}
		win = &Window{Center: (lo + hi) / 2, Width: hi - lo, Function: LinearExact}
		if !(hi > lo) {
			win.Width = 1
		}
	}
	lut := make([]uint8, mask+1)
	for u := range lut {
		y := win.apply(modality(uint32(u)))
		v := uint8(math.Round(255 * y))
		if l.Photometric == "MONOCHROME1" {
			v = 255 - v
		}
		lut[u] = v
	}
	img := image.NewGray(image.Rect(0, 0, l.Columns, l.Rows))
	for i := 0; i < n; i++ {
		img.Pix[i] = lut[raw(i)]
	}
	return img
}

// rgb renders an 8-bit RGB frame.
func (l *Layout) rgb(frame []byte) *image.RGBA {
	n := l.Rows * l.Columns
	img := image.NewRGBA(image.Rect(0, 0, l.Columns, l.Rows))
	for i := 0; i < n; i++ {
		p := img.Pix[4*i : 4*i+4 : 4*i+4]
		if l.Planar {
			p[0], p[1], p[2] = frame[i], frame[n+i], frame[2*n+i]
		} else {
			p[0], p[1], p[2] = frame[3*i], frame[3*i+1], frame[3*i+2]
		}
		p[3] = 255
	}
	return img
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
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(w, img); err != nil {
			return fmt.Errorf("render: encode PNG: %w", err)
		}
		return nil
	case JPEG:
		if quality <= 0 {
			quality = DefaultQuality
		}
		if err := jpeg.Encode(w, img, &jpeg.Options{Quality: min(quality, 100)}); err != nil {
			return fmt.Errorf("render: encode JPEG: %w", err)
		}
		return nil
	}
	return fmt.Errorf("%w: media type %q: image/jpeg and image/png are written", ErrUnsupported, mediaType)
}
