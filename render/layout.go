package render

import (
	"encoding/binary"
	"fmt"
	"image"
	"math"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Photometric interpretations (PS3.3 C.7.6.3.1.2).
const (
	Monochrome1    = "MONOCHROME1"
	Monochrome2    = "MONOCHROME2"
	PaletteColor   = "PALETTE COLOR"
	RGB            = "RGB"
	YBRFull        = "YBR_FULL"
	YBRFull422     = "YBR_FULL_422"
	YBRPartial422  = "YBR_PARTIAL_422"
	YBRPartial420  = "YBR_PARTIAL_420"
	YBRICT         = "YBR_ICT"
	YBRRCT         = "YBR_RCT"
	presentInverse = "INVERSE"
)

// Layout describes the pixel data of an image from its Image Pixel Module (PS3.3 C.7.6.3) and
// the attributes of its grayscale pipeline (C.11) or palette (C.7.9).
type Layout struct {
	Rows, Columns   int
	SamplesPerPixel int
	Photometric     string
	BitsAllocated   int
	BitsStored      int
	HighBit         int
	Signed          bool
	Planar          bool // colour-by-plane
	// Float reports IEEE 754 samples of BitsAllocated bits (32 or 64): Float Pixel Data or
	// Double Float Pixel Data (PS3.3 C.7.6.3.1.4 notes; Bits Stored, High Bit and Pixel
	// Representation do not apply).
	Float bool
	// Slope and Intercept are the Rescale Slope and Intercept (PS3.3 C.11.1.1.2).
	Slope     float64
	Intercept float64
	// ModalityLUT is the LUT of the Modality LUT Sequence (PS3.3 C.11.1.1.1); when set it
	// replaces Slope and Intercept.
	ModalityLUT *LUT
	// Window is the first usable window of the data set, nil when it has none.
	Window *Window
	// Windows are all the windows of the data set: the values of Window Center and Window
	// Width taken in pairs, with the VOI LUT Function (PS3.3 C.11.2.1.2).
	Windows []Window
	// VOILUTs are the LUTs of the VOI LUT Sequence (PS3.3 C.11.2.1.1).
	VOILUTs []*LUT
	// Inverse reports a Presentation LUT Shape of INVERSE (PS3.3 C.11.6.1.2).
	Inverse bool
	// Palette is the palette of a PALETTE COLOR image.
	Palette *Palette
}

// FrameSize is the number of bytes of one native frame: for Bits Allocated 1, the bytes that
// hold its bits when it begins on a byte boundary; for YBR_FULL_422 and YBR_PARTIAL_422, two
// samples per pixel (PS3.3 C.7.6.3.1.2).
func (l *Layout) FrameSize() int {
	px := l.Rows * l.Columns
	switch {
	case l.BitsAllocated == 1:
		return (px*l.SamplesPerPixel + 7) / 8
	case l.subsampled():
		return px * 2 * (l.BitsAllocated / 8)
	}
	return px * l.SamplesPerPixel * (l.BitsAllocated / 8)
}

// subsampled reports YBR with horizontally subsampled chrominance held native: Y1 Y2 Cb Cr for
// each two pixels.
func (l *Layout) subsampled() bool {
	return l.Photometric == YBRFull422 || l.Photometric == YBRPartial422
}

// Describe reads the layout of the native pixel data described by meta, and refuses (with an
// error wrapping ErrUnsupported) what this package cannot render.
func Describe(meta *dicom.Dataset) (*Layout, error) { return DescribeFrame(meta, nil, 0) }

// DescribeDecoded reads the layout of a frame a decoder produced: its geometry, sample format,
// photometric interpretation and planar configuration come from im (for example RGB for a JPEG
// of YBR_FULL_422), the rest (rescale, LUTs, windows, palette) from meta. A decoded frame's
// stored bits are taken to be the low ones (High Bit = Bits Stored − 1).
func DescribeDecoded(meta *dicom.Dataset, im codec.Image) (*Layout, error) {
	return DescribeFrame(meta, &im, 0)
}

// DescribeFrame is Describe (im nil) or DescribeDecoded (im set) for frame number frame (from
// 0) of a multi-frame image: the Pixel Value Transformation and Frame VOI LUT functional groups
// (PS3.3 C.7.6.16.2.9, C.7.6.16.2.10) of the frame's Per-Frame Functional Groups Sequence item
// take precedence over the Shared Functional Groups, which take precedence over the top-level
// attributes.
func DescribeFrame(meta *dicom.Dataset, im *codec.Image, frame int) (*Layout, error) {
	geti := func(t tag.Tag, def int64) int64 {
		if v, ok := meta.Int(t); ok {
			return v
		}
		return def
	}
	l := &Layout{Slope: 1}
	if im != nil {
		l.Rows, l.Columns, l.SamplesPerPixel = im.Rows, im.Columns, im.SamplesPerPixel
		l.Photometric = strings.ToUpper(strings.TrimSpace(im.Photometric))
		l.BitsAllocated, l.BitsStored, l.HighBit = im.BitsAllocated, im.BitsStored, im.BitsStored-1
		l.Signed, l.Planar = im.PixelRepresentation == 1, im.PlanarConfiguration == 1
		if l.SamplesPerPixel == 0 {
			l.SamplesPerPixel = 1
		}
	} else {
		if !meta.Has(tag.PixelData) && !meta.Has(tag.Rows) {
			return nil, fmt.Errorf("%w: the instance has no pixel data", ErrUnsupported)
		}
		l.Rows, l.Columns = int(geti(tag.Rows, 0)), int(geti(tag.Columns, 0))
		l.SamplesPerPixel = int(geti(tag.SamplesPerPixel, 1))
		l.Photometric = strings.ToUpper(strings.TrimSpace(meta.String(tag.PhotometricInterpretation)))
		l.BitsAllocated = int(geti(tag.BitsAllocated, 0))
		l.Signed = geti(tag.PixelRepresentation, 0) == 1
		l.Planar = geti(tag.PlanarConfiguration, 0) == 1
		l.BitsStored = int(geti(tag.BitsStored, int64(l.BitsAllocated)))
		l.HighBit = int(geti(tag.HighBit, int64(l.BitsStored-1)))
		// Float Pixel Data and Double Float Pixel Data (PS3.3 C.7.6.3.1.4) have no Bits Stored;
		// the metadata kept at ingest leaves the pixel data element out, so an image of 32 or 64
		// bits allocated without Bits Stored nor Pixel Data is taken to be one too.
		switch {
		case meta.Has(tag.FloatPixelData), meta.Has(tag.DoubleFloatPixelData):
			l.Float = true
		case !meta.Has(tag.PixelData) && !meta.Has(tag.BitsStored) && (l.BitsAllocated == 32 || l.BitsAllocated == 64):
			l.Float = true
		}
	}
	if l.Rows <= 0 || l.Columns <= 0 || l.Rows > 65535 || l.Columns > 65535 {
		return nil, fmt.Errorf("%w: image of %d rows and %d columns", ErrInvalid, l.Rows, l.Columns)
	}
	if err := l.checkFormat(); err != nil {
		return nil, err
	}
	if l.Photometric == PaletteColor {
		p, err := readPalette(meta, l.Signed)
		if err != nil {
			return nil, err
		}
		l.Palette = p
	}
	if l.Photometric != Monochrome1 && l.Photometric != Monochrome2 {
		return l, nil
	}
	src := attributeSources(meta, frame)
	find := func(t tag.Tag) *dicom.Dataset {
		for _, ds := range src {
			if ds.Has(t) {
				return ds
			}
		}
		return nil
	}
	if items := meta.Sequence(tag.ModalityLUTSequence); len(items) > 0 {
		signed := l.Signed || vrOf(items[0].Element(tag.LUTDescriptor)) == vr.SS
		t, err := lutItem(items[0], signed, "Modality LUT")
		if err != nil {
			return nil, err
		}
		l.ModalityLUT = t
	} else {
		if ds := find(tag.RescaleSlope); ds != nil {
			if v, ok := ds.Float(tag.RescaleSlope); ok && v != 0 && !math.IsNaN(v) && !math.IsInf(v, 0) {
				l.Slope = v
			}
		}
		if ds := find(tag.RescaleIntercept); ds != nil {
			if v, ok := ds.Float(tag.RescaleIntercept); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				l.Intercept = v
			}
		}
	}
	if ds := find(tag.WindowCenter); ds != nil {
		cs, ws := ds.Floats(tag.WindowCenter), ds.Floats(tag.WindowWidth)
		fn := ds.String(tag.VOILUTFunction)
		for i := range min(len(cs), len(ws)) {
			l.Windows = append(l.Windows, Window{Center: cs[i], Width: ws[i], Function: fn})
		}
		for i := range l.Windows {
			if l.Windows[i].Validate() == nil {
				w := l.Windows[i]
				l.Window = &w
				break
			}
		}
	}
	if ds := find(tag.VOILUTSequence); ds != nil {
		for i, it := range ds.Sequence(tag.VOILUTSequence) {
			if it == nil {
				continue
			}
			desc := it.Element(tag.LUTDescriptor)
			signed := vrOf(desc) == vr.SS
			if !signed && desc != nil && len(desc.Value) >= 4 && binary.LittleEndian.Uint16(desc.Value[2:]) >= 0x8000 {
				// A first value mapped past 32767 in an implicit VR data set is negative when the
				// modality values can be (PS3.3 C.11.2.1.1: US or SS as the input is).
				signed = l.ModalityLUT == nil && (l.Signed || l.Intercept < 0 || l.Slope < 0)
			}
			t, err := lutItem(it, signed, fmt.Sprintf("VOI LUT %d", i+1))
			if err != nil {
				continue // unusable: a window or the value range serves instead
			}
			l.VOILUTs = append(l.VOILUTs, t)
		}
	}
	l.Inverse = strings.ToUpper(strings.TrimSpace(meta.String(tag.PresentationLUTShape))) == presentInverse
	return l, nil
}

// checkFormat refuses sample formats this package does not render.
func (l *Layout) checkFormat() error {
	bad := func(what string) error {
		return fmt.Errorf("%w: %s with %d samples per pixel of %d bits allocated (%d stored, high bit %d)",
			ErrUnsupported, what, l.SamplesPerPixel, l.BitsAllocated, l.BitsStored, l.HighBit)
	}
	spp := 3
	var depths []int
	switch l.Photometric {
	case Monochrome1, Monochrome2:
		spp, depths = 1, []int{1, 8, 16, 32}
		if l.Float {
			depths = []int{32, 64}
		}
	case PaletteColor:
		spp, depths = 1, []int{8, 16}
	case RGB:
		depths = []int{8, 16, 32}
	case YBRFull, YBRFull422, YBRPartial422, YBRPartial420, YBRICT, YBRRCT:
		depths = []int{8, 16}
	case "":
		return fmt.Errorf("%w: no Photometric Interpretation", ErrInvalid)
	default:
		return fmt.Errorf("%w: photometric interpretation %q", ErrUnsupported, l.Photometric)
	}
	if l.SamplesPerPixel != spp {
		return fmt.Errorf("%w: %s with %d samples per pixel", ErrInvalid, l.Photometric, l.SamplesPerPixel)
	}
	ok := false
	for _, d := range depths {
		ok = ok || d == l.BitsAllocated
	}
	if !ok || (l.Float && l.Photometric != Monochrome1 && l.Photometric != Monochrome2) {
		return bad(l.Photometric)
	}
	if l.Float {
		l.BitsStored, l.HighBit, l.Signed = l.BitsAllocated, l.BitsAllocated-1, true
		return nil
	}
	if l.BitsStored < 1 || l.BitsStored > l.BitsAllocated || l.HighBit < l.BitsStored-1 || l.HighBit >= l.BitsAllocated {
		return fmt.Errorf("%w: Bits Stored %d and High Bit %d do not fit in %d bits allocated",
			ErrInvalid, l.BitsStored, l.HighBit, l.BitsAllocated)
	}
	if l.subsampled() && (l.Planar || l.Columns%2 != 0) {
		return fmt.Errorf("%w: %s of %d columns, planar configuration %t: its pairs of pixels need an even number of columns and colour-by-pixel (PS3.3 C.7.6.3.1.2, C.7.6.3.1.3)",
			ErrInvalid, l.Photometric, l.Columns, l.Planar)
	}
	return nil
}

// attributeSources lists where the attributes of frame n are looked up: its per-frame and the
// shared Pixel Value Transformation and Frame VOI LUT functional groups, then the data set.
func attributeSources(meta *dicom.Dataset, n int) []*dicom.Dataset {
	var out []*dicom.Dataset
	add := func(groups []*dicom.Dataset, i int) {
		if i < 0 || i >= len(groups) {
			return
		}
		for _, t := range []tag.Tag{tag.PixelValueTransformationSequence, tag.FrameVOILUTSequence} {
			if items := groups[i].Sequence(t); len(items) > 0 && items[0] != nil {
				out = append(out, items[0])
			}
		}
	}
	add(meta.Sequence(tag.PerFrameFunctionalGroupsSequence), n)
	add(meta.Sequence(tag.SharedFunctionalGroupsSequence), 0)
	return append(out, meta)
}

// vrOf is the VR of e as encoded, 0 when e is nil.
func vrOf(e *dicom.Element) vr.VR {
	if e == nil {
		return 0
	}
	return e.VR
}

// CheckTransferSyntax refuses, with an error wrapping ErrUnsupported, a transfer syntax whose
// frames are not native: those need decoding first (see DescribeDecoded).
func CheckTransferSyntax(ts string) error {
	if dicom.IsNative(ts) {
		return nil
	}
	return fmt.Errorf("%w: transfer syntax %s (%s) is compressed: its frames must be decoded first",
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

// Frame renders one native little endian frame of the image l describes: an *image.Gray for
// grayscale images, an *image.RGBA (opaque) for colour ones.
func (l *Layout) Frame(frame []byte, opts Options) (image.Image, error) {
	return l.render(frame, 0, opts)
}

// FrameAt renders frame index (from 0) of pixels, the native little endian value of Pixel Data
// holding every frame. Frames of Bits Allocated 1 need not begin on a byte boundary (PS3.5
// 8.1.1), which Frame cannot express.
func (l *Layout) FrameAt(pixels []byte, index int, opts Options) (image.Image, error) {
	if index < 0 {
		return nil, fmt.Errorf("%w: frame index %d", ErrInvalid, index)
	}
	if l.BitsAllocated == 1 {
		bitsPer := int64(l.Rows) * int64(l.Columns) * int64(l.SamplesPerPixel)
		off := int64(index) * bitsPer
		if off/8 > int64(len(pixels)) {
			return nil, fmt.Errorf("%w: frame %d past the end of %d bytes of pixel data", ErrInvalid, index, len(pixels))
		}
		return l.render(pixels[off/8:], int(off%8), opts)
	}
	size := int64(l.FrameSize())
	if (int64(index)+1)*size > int64(len(pixels)) {
		return nil, fmt.Errorf("%w: frame %d past the end of %d bytes of pixel data", ErrInvalid, index, len(pixels))
	}
	return l.render(pixels[int64(index)*size:], 0, opts)
}

// render renders the frame that begins bitOff bits into frame.
func (l *Layout) render(frame []byte, bitOff int, opts Options) (image.Image, error) {
	maxPixels := opts.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if int64(l.Rows)*int64(l.Columns) > maxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels (the limit is %d)", ErrTooLarge, l.Columns, l.Rows, maxPixels)
	}
	if err := l.checkFormat(); err != nil {
		return nil, err
	}
	need := l.FrameSize()
	if l.BitsAllocated == 1 {
		need = (l.Rows*l.Columns*l.SamplesPerPixel + bitOff + 7) / 8
	}
	if len(frame) < need {
		return nil, fmt.Errorf("%w: frame of %d bytes, %d expected for %d×%d×%d samples of %d bits",
			ErrInvalid, len(frame), need, l.Columns, l.Rows, l.SamplesPerPixel, l.BitsAllocated)
	}
	var (
		img image.Image
		err error
	)
	switch l.Photometric {
	case Monochrome1, Monochrome2:
		img, err = l.gray(frame, bitOff, opts)
	case PaletteColor:
		img, err = l.palette(frame)
	default:
		img, err = l.color(frame)
	}
	if err != nil {
		return nil, err
	}
	if opts.Size != (image.Point{}) {
		img = Fit(img, opts.Size, opts.Filter)
	}
	return img, nil
}
