package render_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/png"
	"math"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/render"
)

// words encodes 16-bit values little endian.
func words(vals ...int) []byte {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

// paletteMeta builds a PALETTE COLOR image of cols×1 pixels whose three channels share one
// descriptor; data sets each channel's LUT Data, or its segmented LUT Data when segmented.
func paletteMeta(t *testing.T, cols, bits int, signed bool, desc []int, data [3][]byte, segmented bool) *dicom.Dataset {
	t.Helper()
	ds := dicom.NewDataset()
	must(t, ds.SetInts(tag.SamplesPerPixel, vr.US, 1))
	must(t, ds.SetString(tag.PhotometricInterpretation, vr.CS, "PALETTE COLOR"))
	must(t, ds.SetInts(tag.Rows, vr.US, 1))
	must(t, ds.SetInts(tag.Columns, vr.US, int64(cols)))
	must(t, ds.SetInts(tag.BitsAllocated, vr.US, int64(bits)))
	must(t, ds.SetInts(tag.BitsStored, vr.US, int64(bits)))
	must(t, ds.SetInts(tag.HighBit, vr.US, int64(bits-1)))
	pr := int64(0)
	if signed {
		pr = 1
	}
	must(t, ds.SetInts(tag.PixelRepresentation, vr.US, pr))
	descTags := []tag.Tag{tag.RedPaletteColorLookupTableDescriptor, tag.GreenPaletteColorLookupTableDescriptor, tag.BluePaletteColorLookupTableDescriptor}
	dataTags := []tag.Tag{tag.RedPaletteColorLookupTableData, tag.GreenPaletteColorLookupTableData, tag.BluePaletteColorLookupTableData}
	segTags := []tag.Tag{tag.SegmentedRedPaletteColorLookupTableData, tag.SegmentedGreenPaletteColorLookupTableData, tag.SegmentedBluePaletteColorLookupTableData}
	for c := range 3 {
		ds.Set(dicom.NewElement(descTags[c], vr.US, words(desc...)))
		if segmented {
			ds.Set(dicom.NewElement(segTags[c], vr.OW, data[c]))
		} else {
			ds.Set(dicom.NewElement(dataTags[c], vr.OW, data[c]))
		}
	}
	return ds
}

func rgbaPix(t *testing.T, img image.Image) []uint8 {
	t.Helper()
	m, ok := img.(*image.RGBA)
	if !ok {
		t.Fatalf("image is %T, want *image.RGBA", img)
	}
	return m.Pix
}

func TestPalette(t *testing.T) {
	same := func(b []byte) [3][]byte { return [3][]byte{b, b, b} }
	tests := []struct {
		name      string
		meta      *dicom.Dataset
		frame     []byte
		want      []uint8 // red of each pixel (green and blue are the same here)
		wantGreen []uint8
	}{
		{
			name: "8-bit entries packed two a word, first mapped 2",
			// Entries 10, 20, 30, 40 for indices 2 … 5: 0 and 1 clamp to the first, 9 to the last.
			meta:  paletteMeta(t, 4, 8, false, []int{4, 2, 8}, same([]byte{10, 20, 30, 40}), false),
			frame: []byte{0, 2, 5, 9},
			want:  []uint8{10, 10, 40, 40},
		},
		{
			name:  "16-bit entries keep their high byte",
			meta:  paletteMeta(t, 3, 8, false, []int{256, 0, 16}, same(words(rampTo(256, 0xFFFF)...)), false),
			frame: []byte{0, 128, 255},
			want:  []uint8{0, 128, 255},
		},
		{
			name:  "0 entries means 65536, 16-bit indices",
			meta:  paletteMeta(t, 3, 16, false, []int{0, 0, 16}, same(words(rampTo(65536, 0xFFFF)...)), false),
			frame: words(0, 0x8000, 0xFFFF),
			want:  []uint8{0, 128, 255},
		},
		{
			name: "signed indices, negative first mapped",
			// Indices −2 … 1 map to 0x0000, 0x4000, 0x8000, 0xC000.
			meta:  paletteMeta(t, 4, 16, true, []int{4, 0xFFFE, 16}, same(words(0, 0x4000, 0x8000, 0xC000)), false),
			frame: words(0xFFFE, 0xFFFF, 0, 1),
			want:  []uint8{0, 0x40, 0x80, 0xC0},
		},
		{
			name: "segmented: discrete, linear, indirect",
			// Discrete 0, 0; linear over 4 entries to 0x8000; indirect: copy the first segment
			// (byte offset 0) again; then discrete 0xFF00.
			meta: paletteMeta(t, 8, 8, false, []int{10, 0, 16}, same(words(
				0, 2, 0, 0,
				1, 4, 0x8000,
				2, 1, 0, 0,
				0, 1, 0xFF00)), true),
			frame: []byte{0, 1, 2, 3, 4, 5, 6, 7},
			// 0, 0, then 0x2000, 0x4000, 0x6000, 0x8000, then 0, 0, then 0xFF00.
			want: []uint8{0, 0, 0x20, 0x40, 0x60, 0x80, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := render.Frame(tt.meta, tt.frame, render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			pix := rgbaPix(t, img)
			for i, w := range tt.want {
				if got := pix[4*i : 4*i+4]; got[0] != w || got[1] != w || got[2] != w || got[3] != 255 {
					t.Fatalf("pixel %d: %v, want %d", i, got, w)
				}
			}
		})
	}
}

// rampTo is n values rising evenly from 0 to top.
func rampTo(n, top int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i * top / (n - 1)
	}
	return out
}

func TestSegmentedHostile(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", words()},
		{"unknown segment type", words(7, 1, 0)},
		{"discrete overruns", words(0, 100, 1)},
		{"linear first", words(1, 4, 100)},
		{"indirect forward", words(0, 1, 5, 2, 1, 100, 0)},
		{"indirect to itself", words(0, 1, 5, 2, 1, 6, 0)},
		{"odd byte offset", words(0, 1, 5, 2, 1, 1, 0)},
		{"truncated", words(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta := paletteMeta(t, 2, 8, false, []int{16, 0, 16}, [3][]byte{tt.data, tt.data, tt.data}, true)
			if _, err := render.Describe(meta); !errors.Is(err, render.ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
		})
	}
	// Indirect segments pointing back at indirect segments stay bounded.
	var w []int
	w = append(w, 0, 1, 7)
	for i := 0; i < 8; i++ {
		w = append(w, 2, 0xFFFF, (len(w)-(4*i)-3)*2, 0) // each points at the one before it
	}
	meta := paletteMeta(t, 2, 8, false, []int{0, 0, 16}, [3][]byte{words(w...), words(w...), words(w...)}, true)
	_, _ = render.Describe(meta)
}

// TestSegmentedCorpus renders the segmented palette of the corpus (DCMTK does not expand
// segmented palettes, so there is no reference rendering): its LUTs are expanded to the 65536
// entries the descriptors declare and give a colour image.
func TestSegmentedCorpus(t *testing.T) {
	ds, px := readCorpus(t, "pydicom-data__gdcm-US-ALOKA-16.dcm")
	l, err := render.Describe(ds)
	if err != nil {
		t.Fatal(err)
	}
	for c, lut := range l.Palette {
		if len(lut.Data) != 65536 || lut.Bits != 16 {
			t.Fatalf("channel %d: %d entries of %d bits", c, len(lut.Data), lut.Bits)
		}
	}
	img, err := l.Frame(px, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	colours := map[[3]uint8]bool{}
	pix := rgbaPix(t, img)
	for i := 0; i < len(pix); i += 4 {
		colours[[3]uint8(pix[i:i+3])] = true
	}
	if len(colours) < 64 {
		t.Fatalf("%d colours", len(colours))
	}
}

func TestFloatAndWide(t *testing.T) {
	floatMeta := func(bits int, tg tag.Tag) *dicom.Dataset {
		ds := dicom.NewDataset()
		must(t, ds.SetInts(tag.SamplesPerPixel, vr.US, 1))
		must(t, ds.SetString(tag.PhotometricInterpretation, vr.CS, "MONOCHROME2"))
		must(t, ds.SetInts(tag.Rows, vr.US, 1))
		must(t, ds.SetInts(tag.Columns, vr.US, 4))
		must(t, ds.SetInts(tag.BitsAllocated, vr.US, int64(bits)))
		if tg != 0 {
			ds.Set(dicom.NewElement(tg, vr.OF, nil))
		}
		return ds
	}
	f32 := make([]byte, 16)
	f64 := make([]byte, 32)
	for i, v := range []float64{-1, 0.5, 2, math.NaN()} {
		binary.LittleEndian.PutUint32(f32[4*i:], math.Float32bits(float32(v)))
		binary.LittleEndian.PutUint64(f64[8*i:], math.Float64bits(v))
	}
	i32 := make([]byte, 16)
	for i, v := range []int32{-100000, 0, 100000, 50000} {
		binary.LittleEndian.PutUint32(i32[4*i:], uint32(v))
	}
	int32Meta := floatMeta(32, 0)
	must(t, int32Meta.SetInts(tag.BitsStored, vr.US, 32))
	must(t, int32Meta.SetInts(tag.HighBit, vr.US, 31))
	must(t, int32Meta.SetInts(tag.PixelRepresentation, vr.US, 1))
	must(t, int32Meta.SetFloats(tag.RescaleSlope, vr.DS, 0.01))
	tests := []struct {
		name  string
		meta  *dicom.Dataset
		frame []byte
		opts  render.Options
		want  []uint8
	}{
		// Range −1 … 2: LINEAR window of center 1, width 4: (x + 1) / 3. NaN shows black.
		{"Float Pixel Data", floatMeta(32, tag.FloatPixelData), f32, render.Options{}, []uint8{0, 128, 255, 0}},
		{"Double Float Pixel Data", floatMeta(64, tag.DoubleFloatPixelData), f64, render.Options{}, []uint8{0, 128, 255, 0}},
		{"float, pixel data left out of the metadata", floatMeta(32, 0), f32, render.Options{}, []uint8{0, 128, 255, 0}},
		{"float, window", floatMeta(32, tag.FloatPixelData), f32,
			render.Options{Window: &render.Window{Center: 0.5, Width: 1, Function: render.LinearExact}}, []uint8{0, 128, 255, 0}},
		// −1000 … 1000 after the slope of 0.01.
		{"32-bit signed integers", int32Meta, i32, render.Options{}, []uint8{0, 128, 255, 191}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := render.Frame(tt.meta, tt.frame, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := grayPix(t, img); !bytes.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOneBit(t *testing.T) {
	ds := image16(t, "MONOCHROME2", 5, 1, 1, false, 1, 0, nil)
	must(t, ds.SetInts(tag.BitsAllocated, vr.US, 1))
	must(t, ds.SetInts(tag.HighBit, vr.US, 0))
	l, err := render.Describe(ds)
	if err != nil {
		t.Fatal(err)
	}
	// Frames of 5 bits, LSB first: frame 0 is 10110 (bits 0 … 4), frame 1 is 10001 (bits 5 … 9).
	pixels := []byte{0b0010_1101, 0b0000_0010}
	for _, tt := range []struct {
		index int
		want  []uint8
	}{{0, []uint8{255, 0, 255, 255, 0}}, {1, []uint8{255, 0, 0, 0, 255}}} {
		img, err := l.FrameAt(pixels, tt.index, render.Options{Window: &render.Window{Center: 0.5, Width: 1, Function: render.LinearExact}})
		if err != nil {
			t.Fatal(err)
		}
		if got := grayPix(t, img); !bytes.Equal(got, tt.want) {
			t.Fatalf("frame %d: got %v, want %v", tt.index, got, tt.want)
		}
	}
	if _, err := l.FrameAt(pixels, 3, render.Options{}); !errors.Is(err, render.ErrInvalid) {
		t.Fatalf("frame past the end: %v", err)
	}
}

func TestYBR(t *testing.T) {
	tests := []struct {
		photometric string
		frame       []byte
		want        []uint8
	}{
		// Two pixels sharing Cb Cr; Cb = Cr = 128 is grey.
		{"YBR_FULL_422", []byte{10, 200, 128, 128}, []uint8{10, 10, 10, 255, 200, 200, 200, 255}},
		// Partial range: Y 16 is black, 235 white.
		{"YBR_PARTIAL_422", []byte{16, 235, 128, 128}, []uint8{0, 0, 0, 255, 255, 255, 255, 255}},
		// Pure red (255, 0, 0) in full range: Y 76, Cb 85, Cr 255 (rounded).
		{"YBR_FULL", []byte{76, 85, 255, 76, 85, 255}, []uint8{254, 0, 0, 255, 254, 0, 0, 255}},
		{"YBR_ICT", []byte{76, 85, 255, 76, 85, 255}, []uint8{254, 0, 0, 255, 254, 0, 0, 255}},
		// Reversible: Y = ⌊(R + 2G + B) / 4⌋, Cb = B − G, Cr = R − G (offset 128):
		// RGB (200, 100, 50) is Y 112, Cb 78, Cr 228.
		{"YBR_RCT", []byte{112, 78, 228, 112, 78, 228}, []uint8{200, 100, 50, 255, 200, 100, 50, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.photometric, func(t *testing.T) {
			ds := rgbMeta(t, 2, 1, 0)
			must(t, ds.SetString(tag.PhotometricInterpretation, vr.CS, tt.photometric))
			img, err := render.Frame(ds, tt.frame, render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := rgbaPix(t, img); !bytes.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDescribeDecoded(t *testing.T) {
	// The data set says YBR_FULL_422 (as a JPEG does); the decoder says RGB.
	meta := rgbMeta(t, 2, 1, 0)
	must(t, meta.SetString(tag.PhotometricInterpretation, vr.CS, "YBR_FULL_422"))
	l, err := render.DescribeDecoded(meta, codec.Image{Rows: 1, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8,
		Photometric: "RGB", PlanarConfiguration: 1})
	if err != nil {
		t.Fatal(err)
	}
	img, err := l.Frame([]byte{1, 2, 3, 4, 5, 6}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rgbaPix(t, img); !bytes.Equal(got, []uint8{1, 3, 5, 255, 2, 4, 6, 255}) {
		t.Fatalf("got %v", got)
	}
	// Grayscale: the rescale and window come from the data set, the sample format from the
	// decoder (12 bits stored in the low bits, whatever High Bit the data set gives).
	ct := image16(t, "MONOCHROME2", 2, 1, 12, true, 1, -1024, []float64{40, 400})
	must(t, ct.SetInts(tag.HighBit, vr.US, 15))
	l, err = render.DescribeDecoded(ct, codec.Image{Rows: 1, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 12,
		PixelRepresentation: 1, Photometric: "MONOCHROME2"})
	if err != nil {
		t.Fatal(err)
	}
	img, err = l.Frame(frame16(1064, 0), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := grayPix(t, img); !bytes.Equal(got, []uint8{128, 0}) {
		t.Fatalf("got %v", got)
	}
}

func TestFunctionalGroups(t *testing.T) {
	meta := image16(t, "MONOCHROME2", 2, 1, 16, false, 1, 0, nil)
	meta.Remove(tag.RescaleSlope)
	meta.Remove(tag.RescaleIntercept)
	group := func(intercept, center, width float64) *dicom.Dataset {
		pvt, voi := dicom.NewItem(), dicom.NewItem()
		must(t, pvt.SetFloats(tag.RescaleIntercept, vr.DS, intercept))
		must(t, pvt.SetFloats(tag.RescaleSlope, vr.DS, 1))
		must(t, voi.SetFloats(tag.WindowCenter, vr.DS, center))
		must(t, voi.SetFloats(tag.WindowWidth, vr.DS, width))
		g := dicom.NewItem()
		g.Set(dicom.NewSequence(tag.PixelValueTransformationSequence, pvt))
		g.Set(dicom.NewSequence(tag.FrameVOILUTSequence, voi))
		return g
	}
	meta.Set(dicom.NewSequence(tag.SharedFunctionalGroupsSequence, group(-1000, 0, 100)))
	meta.Set(dicom.NewSequence(tag.PerFrameFunctionalGroupsSequence, dicom.NewItem(), group(0, 500, 100)))
	for _, tt := range []struct {
		frame                 int
		intercept, center     float64
		wantPixelAt1000Window uint8
	}{{0, -1000, 0, 128}, {1, 0, 500, 255}} {
		l, err := render.DescribeFrame(meta, nil, tt.frame)
		if err != nil {
			t.Fatal(err)
		}
		if l.Intercept != tt.intercept || l.Window == nil || l.Window.Center != tt.center {
			t.Fatalf("frame %d: intercept %g, window %+v", tt.frame, l.Intercept, l.Window)
		}
	}
}

func TestVOILUTOption(t *testing.T) {
	ds := image16(t, "MONOCHROME2", 3, 1, 16, false, 1, 0, []float64{40, 400})
	item := dicom.NewItem()
	item.Set(dicom.NewElement(tag.LUTDescriptor, vr.US, words(3, 10, 8)))
	item.Set(dicom.NewElement(tag.LUTData, vr.US, words(0, 51, 255)))
	ds.Set(dicom.NewSequence(tag.VOILUTSequence, item))
	img, err := render.Frame(ds, frame16(0, 11, 100), render.Options{VOILUT: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := grayPix(t, img); !bytes.Equal(got, []uint8{0, 51, 255}) {
		t.Fatalf("got %v", got)
	}
	// The window wins by default.
	img, err = render.Frame(ds, frame16(0, 11, 100), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := grayPix(t, img); got[2] != 166 {
		t.Fatalf("window: got %v", got)
	}
}

func TestPNGRoundTrip(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 300, 7))
	rgba := image.NewRGBA(image.Rect(0, 0, 300, 7))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 13)
		if i%4 == 3 {
			rgba.Pix[i] = 255
		}
	}
	for _, img := range []image.Image{gray, rgba} {
		var buf bytes.Buffer
		if err := render.Encode(&buf, img, render.PNG, 0); err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < 7; y++ {
			for x := 0; x < 300; x++ {
				r1, g1, b1, _ := img.At(x, y).RGBA()
				r2, g2, b2, _ := got.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 {
					t.Fatalf("%T at %d,%d: %v, decoded %v", img, x, y, img.At(x, y), got.At(x, y))
				}
			}
		}
	}
}

// TestCorpusAll renders the first frame of every native, well-formed corpus image this package
// supports, and checks that every image the manifest describes is either rendered or refused
// with one of the package's errors.
func TestCorpusAll(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	for _, r := range rows {
		if r.Malformed() || r["photometric"] == "" || r["pixel_element"] == "" {
			continue
		}
		if ts := r["transfer_syntax_uid"]; ts != "" && ts != "-" && !dicom.IsNative(ts) {
			continue
		}
		f, err := dicom.ReadFile(corpustest.Path(dir, r.File()), dicom.ReadOptions{})
		if err != nil {
			continue
		}
		l, err := render.Describe(f.Dataset)
		if err != nil {
			if !errors.Is(err, render.ErrUnsupported) && !errors.Is(err, render.ErrInvalid) {
				t.Errorf("%s: %v", r.File(), err)
			}
			t.Logf("%s: refused: %v", r.File(), err)
			continue
		}
		px := codec.PixelData(f.Dataset)
		if px == nil || px.Value == nil {
			continue
		}
		if _, err := l.FrameAt(px.Value, 0, render.Options{Size: image.Pt(64, 64)}); err != nil {
			t.Errorf("%s: %v", r.File(), err)
		}
	}
}
