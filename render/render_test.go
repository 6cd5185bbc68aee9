package render_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/render"
)

// image16 builds the header of a grayscale image of 16 bits allocated.
func image16(t *testing.T, photometric string, cols, rows, stored int, signed bool, slope, intercept float64, window []float64) *dicom.Dataset {
	t.Helper()
	ds := dicom.NewDataset()
	pr := int64(0)
	if signed {
		pr = 1
	}
	must(t, ds.SetInts(tag.SamplesPerPixel, vr.US, 1))
	must(t, ds.SetString(tag.PhotometricInterpretation, vr.CS, photometric))
	must(t, ds.SetInts(tag.Rows, vr.US, int64(rows)))
	must(t, ds.SetInts(tag.Columns, vr.US, int64(cols)))
	must(t, ds.SetInts(tag.BitsAllocated, vr.US, 16))
	must(t, ds.SetInts(tag.BitsStored, vr.US, int64(stored)))
	must(t, ds.SetInts(tag.HighBit, vr.US, int64(stored-1)))
	must(t, ds.SetInts(tag.PixelRepresentation, vr.US, pr))
	must(t, ds.SetFloats(tag.RescaleSlope, vr.DS, slope))
	must(t, ds.SetFloats(tag.RescaleIntercept, vr.DS, intercept))
	if window != nil {
		must(t, ds.SetFloats(tag.WindowCenter, vr.DS, window[0], 1000))
		must(t, ds.SetFloats(tag.WindowWidth, vr.DS, window[1], 2000))
	}
	return ds
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func frame16(vals ...uint16) []byte {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func grayPix(t *testing.T, img image.Image) []uint8 {
	t.Helper()
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("image is %T, want *image.Gray", img)
	}
	return g.Pix
}

// The expected values follow PS3.3 C.11.2.1.2.1 by hand: with c = 40 and w = 400, x ≤ −160
// gives 0, x > 239 gives 255, and otherwise y = ((x − 39.5) / 399 + 0.5) × 255, rounded.
func TestGrayscale(t *testing.T) {
	neg := func(v int) uint16 { return uint16(int16(v)) }
	tests := []struct {
		name   string
		meta   *dicom.Dataset
		frame  []byte
		window *render.Window
		want   []uint8
	}{
		{
			name:  "CT signed 16 bits, window of the data set",
			meta:  image16(t, "MONOCHROME2", 8, 1, 16, true, 1, -1024, []float64{40, 400}),
			frame: frame16(0, 864, 865, 1064, 1263, neg(-2000), 3000, 1024),
			// HU: −1024, −160, −159, 40, 239, −3024, 1976, 0.
			want: []uint8{0, 0, 1, 128, 255, 0, 255, 102},
		},
		{
			name: "12 of 16 bits stored, bits above masked, slope 2",
			meta: image16(t, "MONOCHROME2", 3, 1, 12, true, 2, 100, []float64{40, 400}),
			// 1064 and −24 (0xFE8) with garbage above bit 11; 0x07FF is the largest positive.
			frame: frame16(0xB000|1064, 0xA000|0x0FE8, 0x07FF),
			// HU: 2228 → 255; −24 × 2 + 100 = 52 → ((52 − 39.5)/399 + 0.5) × 255 = 135.49 → 135;
			// 2047 × 2 + 100 → 255.
			want: []uint8{255, 135, 255},
		},
		{
			name:  "MONOCHROME1 is inverted",
			meta:  image16(t, "MONOCHROME1", 4, 1, 16, true, 1, -1024, []float64{40, 400}),
			frame: frame16(0, 1064, 1263, 1024),
			want:  []uint8{255, 127, 0, 153},
		},
		{
			name:   "a user window overrides the data set's",
			meta:   image16(t, "MONOCHROME2", 3, 1, 16, false, 1, 0, []float64{40, 400}),
			frame:  frame16(0, 500, 1000),
			window: &render.Window{Center: 500, Width: 1001},
			// ((x − 499.5) / 1000 + 0.5) × 255: 0 → 0.1275 → 0; 500 → 127.63 → 128; 1000 → 255.
			want: []uint8{0, 128, 255},
		},
		{
			name:   "LINEAR_EXACT",
			meta:   image16(t, "MONOCHROME2", 3, 1, 16, false, 1, 0, nil),
			frame:  frame16(100, 150, 200),
			window: &render.Window{Center: 150, Width: 100, Function: "linear-exact"},
			want:   []uint8{0, 128, 255},
		},
		{
			name:   "SIGMOID",
			meta:   image16(t, "MONOCHROME2", 3, 1, 16, false, 1, 0, nil),
			frame:  frame16(0, 150, 1000),
			window: &render.Window{Center: 150, Width: 100, Function: "SIGMOID"},
			// 255 / (1 + e^(−4 (x − c) / w)): e^6 → 0.63 → 1; 127.5 → 128; ≈ 255.
			want: []uint8{1, 128, 255},
		},
		{
			name:  "no window: the frame's range",
			meta:  image16(t, "MONOCHROME2", 4, 1, 16, false, 1, 0, nil),
			frame: frame16(10, 110, 60, 30),
			want:  []uint8{0, 255, 128, 51},
		},
		{
			// The range window of a single value (center v + 0.5, width 1) maps it to 0.
			name:  "no window, one value: black",
			meta:  image16(t, "MONOCHROME2", 2, 1, 16, false, 1, 0, nil),
			frame: frame16(7, 7),
			want:  []uint8{0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := render.Frame(tt.meta, tt.frame, render.Options{Window: tt.window})
			if err != nil {
				t.Fatal(err)
			}
			if got := grayPix(t, img); !bytes.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEightBit(t *testing.T) {
	ds := dicom.NewDataset()
	must(t, ds.SetInts(tag.SamplesPerPixel, vr.US, 1))
	must(t, ds.SetString(tag.PhotometricInterpretation, vr.CS, "MONOCHROME1"))
	must(t, ds.SetInts(tag.Rows, vr.US, 1))
	must(t, ds.SetInts(tag.Columns, vr.US, 3))
	must(t, ds.SetInts(tag.BitsAllocated, vr.US, 8))
	img, err := render.Frame(ds, []byte{0, 128, 255}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := grayPix(t, img); !bytes.Equal(got, []uint8{255, 127, 0}) {
		t.Fatalf("got %v", got)
	}
}

func rgbMeta(t *testing.T, cols, rows int, planar int64) *dicom.Dataset {
	t.Helper()
	ds := dicom.NewDataset()
	must(t, ds.SetInts(tag.SamplesPerPixel, vr.US, 3))
	must(t, ds.SetString(tag.PhotometricInterpretation, vr.CS, "RGB"))
	must(t, ds.SetInts(tag.PlanarConfiguration, vr.US, planar))
	must(t, ds.SetInts(tag.Rows, vr.US, int64(rows)))
	must(t, ds.SetInts(tag.Columns, vr.US, int64(cols)))
	must(t, ds.SetInts(tag.BitsAllocated, vr.US, 8))
	must(t, ds.SetInts(tag.BitsStored, vr.US, 8))
	must(t, ds.SetInts(tag.HighBit, vr.US, 7))
	return ds
}

func TestRGB(t *testing.T) {
	want := []uint8{10, 30, 50, 255, 20, 40, 60, 255}
	for _, tt := range []struct {
		name   string
		planar int64
		frame  []byte
	}{
		{"colour-by-pixel", 0, []byte{10, 30, 50, 20, 40, 60}},
		{"colour-by-plane", 1, []byte{10, 20, 30, 40, 50, 60}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img, err := render.Frame(rgbMeta(t, 2, 1, tt.planar), tt.frame, render.Options{Window: &render.Window{Center: 1, Width: 1}})
			if err != nil {
				t.Fatal(err)
			}
			m, ok := img.(*image.RGBA)
			if !ok || !bytes.Equal(m.Pix, want) {
				t.Fatalf("%T %v, want %v", img, img, want)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	palette := rgbMeta(t, 2, 2, 0)
	must(t, palette.SetString(tag.PhotometricInterpretation, vr.CS, "PALETTE COLOR"))
	must(t, palette.SetInts(tag.SamplesPerPixel, vr.US, 1))
	paletteNoData := palette.Clone()
	for _, tg := range []tag.Tag{tag.RedPaletteColorLookupTableDescriptor, tag.GreenPaletteColorLookupTableDescriptor, tag.BluePaletteColorLookupTableDescriptor} {
		must(t, paletteNoData.SetInts(tg, vr.US, 256, 0, 8))
	}
	hsv := rgbMeta(t, 2, 2, 0)
	must(t, hsv.SetString(tag.PhotometricInterpretation, vr.CS, "HSV"))
	rgb1 := rgbMeta(t, 2, 2, 0)
	must(t, rgb1.SetInts(tag.BitsAllocated, vr.US, 1))
	must(t, rgb1.SetInts(tag.BitsStored, vr.US, 1))
	must(t, rgb1.SetInts(tag.HighBit, vr.US, 0))
	mono12 := image16(t, "MONOCHROME2", 2, 2, 12, false, 1, 0, nil)
	must(t, mono12.SetInts(tag.BitsAllocated, vr.US, 12))
	badBits := image16(t, "MONOCHROME2", 2, 2, 16, false, 1, 0, nil)
	must(t, badBits.SetInts(tag.HighBit, vr.US, 3))
	twoWindows := image16(t, "MONOCHROME2", 1, 1, 16, false, 1, 0, []float64{40, 400})
	tests := []struct {
		name  string
		meta  *dicom.Dataset
		frame []byte
		opts  render.Options
		want  error
	}{
		{"palette without descriptors", palette, make([]byte, 4), render.Options{}, render.ErrInvalid},
		{"palette without LUT Data (left out of the metadata)", paletteNoData, make([]byte, 4), render.Options{}, render.ErrUnsupported},
		{"HSV", hsv, make([]byte, 12), render.Options{}, render.ErrUnsupported},
		{"RGB of 1 bit", rgb1, make([]byte, 12), render.Options{}, render.ErrUnsupported},
		{"12 bits allocated", mono12, make([]byte, 16), render.Options{}, render.ErrUnsupported},
		{"no pixel data", dicom.NewDataset(), nil, render.Options{}, render.ErrUnsupported},
		{"short frame", image16(t, "MONOCHROME2", 2, 2, 16, false, 1, 0, nil), make([]byte, 7), render.Options{}, render.ErrInvalid},
		{"high bit below the stored bits", badBits, make([]byte, 8), render.Options{}, render.ErrInvalid},
		{"window of no width", image16(t, "MONOCHROME2", 1, 1, 16, false, 1, 0, nil), make([]byte, 2),
			render.Options{Window: &render.Window{Center: 1, Width: 0.5}}, render.ErrInvalid},
		{"unknown function", image16(t, "MONOCHROME2", 1, 1, 16, false, 1, 0, nil), make([]byte, 2),
			render.Options{Window: &render.Window{Center: 1, Width: 10, Function: "cubic"}}, render.ErrInvalid},
		{"too many pixels", image16(t, "MONOCHROME2", 100, 100, 16, false, 1, 0, nil), make([]byte, 20000),
			render.Options{MaxPixels: 9999}, render.ErrTooLarge},
		{"third window of two", twoWindows, make([]byte, 2), render.Options{VOIIndex: 2}, render.ErrInvalid},
		{"VOI LUT of none", twoWindows, make([]byte, 2), render.Options{VOILUT: true}, render.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render.Frame(tt.meta, tt.frame, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
	if err := render.CheckTransferSyntax("1.2.840.10008.1.2.4.50"); !errors.Is(err, render.ErrUnsupported) {
		t.Fatalf("JPEG Baseline: %v", err)
	}
	for _, ts := range []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian} {
		if err := render.CheckTransferSyntax(ts); err != nil {
			t.Fatalf("%s: %v", ts, err)
		}
	}
}

func TestFitSize(t *testing.T) {
	tests := []struct {
		src, box, want image.Point
	}{
		{image.Pt(512, 256), image.Pt(128, 128), image.Pt(128, 64)},
		{image.Pt(100, 300), image.Pt(128, 128), image.Pt(43, 128)},
		{image.Pt(64, 64), image.Pt(128, 128), image.Pt(128, 128)},
		{image.Pt(50, 200), image.Pt(0, 100), image.Pt(25, 100)},
		{image.Pt(50, 200), image.Pt(10, 0), image.Pt(10, 40)},
		{image.Pt(1000, 1), image.Pt(10, 10), image.Pt(10, 1)},
		{image.Pt(30, 20), image.Pt(0, 0), image.Pt(30, 20)},
	}
	for _, tt := range tests {
		if got := render.FitSize(tt.src, tt.box); got != tt.want {
			t.Errorf("FitSize(%v, %v) = %v, want %v", tt.src, tt.box, got, tt.want)
		}
	}
}

func TestFit(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 4, 4))
	copy(src.Pix, []uint8{
		0, 2, 10, 20,
		4, 6, 30, 40,
		100, 100, 0, 0,
		200, 201, 0, 255,
	})
	tests := []struct {
		name   string
		filter render.Filter
		box    image.Point
		want   []uint8
	}{
		{"box", render.Box, image.Pt(2, 2), []uint8{3, 25, 150, 64}},
		{"nearest", render.Nearest, image.Pt(2, 2), []uint8{6, 40, 201, 255}},
		{"box upscaling repeats pixels", render.Box, image.Pt(8, 8), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render.Fit(src, tt.box, tt.filter).(*image.Gray)
			if got.Bounds().Size() != tt.box {
				t.Fatalf("size %v", got.Bounds().Size())
			}
			if tt.want == nil {
				if got.GrayAt(7, 7).Y != 255 || got.GrayAt(0, 0).Y != 0 || got.GrayAt(5, 1).Y != 10 {
					t.Fatalf("upscaled %v", got.Pix)
				}
				return
			}
			if !bytes.Equal(got.Pix, tt.want) {
				t.Fatalf("got %v, want %v", got.Pix, tt.want)
			}
		})
	}
	img, err := render.Frame(rgbMeta(t, 4, 2, 0), make([]byte, 24), render.Options{Size: image.Pt(2, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Size() != image.Pt(2, 1) {
		t.Fatalf("RGB fitted to %v", img.Bounds().Size())
	}
}

func TestEncode(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(img.Pix, []uint8{0, 100, 200, 50, 150, 250})
	for _, mt := range []string{render.PNG, render.JPEG} {
		var buf bytes.Buffer
		if err := render.Encode(&buf, img, mt, 0); err != nil {
			t.Fatal(err)
		}
		var (
			got image.Image
			err error
		)
		if mt == render.PNG {
			got, err = png.Decode(&buf)
		} else {
			got, err = jpeg.Decode(&buf)
		}
		if err != nil || got.Bounds() != img.Bounds() {
			t.Fatalf("%s: %v %v", mt, err, got)
		}
		if mt == render.PNG && !bytes.Equal(got.(*image.Gray).Pix, img.Pix) {
			t.Fatalf("PNG round trip %v", got)
		}
	}
	if err := render.Encode(&bytes.Buffer{}, img, "image/gif", 0); !errors.Is(err, render.ErrUnsupported) {
		t.Fatalf("gif: %v", err)
	}
}

// readCorpus reads a corpus file with its pixel data.
func readCorpus(t *testing.T, name string) (*dicom.Dataset, []byte) {
	t.Helper()
	f, err := dicom.ReadFile(corpustest.Path(corpustest.Need(t), name), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	px := f.Dataset.Element(tag.PixelData)
	if px == nil {
		t.Fatalf("%s: no pixel data", name)
	}
	return f.Dataset, px.Value
}

func TestCorpus(t *testing.T) {
	tests := []struct {
		name string
		size image.Point
	}{
		{"pydicom__CT_small.dcm", image.Pt(128, 128)},
		{"pydicom__MR_small.dcm", image.Pt(64, 64)},
		{"pydicom__MR_small_bigendian.dcm", image.Pt(64, 64)},
		{"pydicom__CR1_6154.dcm", image.Pt(16, 16)}, // MONOCHROME1, 12 of 16 bits
		{"pydicom-data__MR-SIEMENS-DICOM-WithOverlays.dcm", image.Pt(484, 484)},
		{"pydicom__chrH31.dcm", image.Pt(32, 32)},          // 8 bits
		{"pydicom-data__color-px.dcm", image.Pt(256, 120)}, // RGB by pixel
		{"pydicom-data__color-pl.dcm", image.Pt(256, 120)}, // RGB by plane
		{"pydicom__examples_rgb_color.dcm", image.Pt(320, 240)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, px := readCorpus(t, tt.name)
			img, err := render.Frame(ds, px, render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Size() != tt.size {
				t.Fatalf("size %v, want %v", img.Bounds().Size(), tt.size)
			}
			for _, mt := range []string{render.PNG, render.JPEG} {
				if err := render.Encode(&bytes.Buffer{}, img, mt, 80); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	// The same picture by pixel and by plane renders the same.
	ds1, px1 := readCorpus(t, "pydicom-data__color-px.dcm")
	ds2, px2 := readCorpus(t, "pydicom-data__color-pl.dcm")
	a, _ := render.Frame(ds1, px1, render.Options{})
	b, _ := render.Frame(ds2, px2, render.Options{})
	if !bytes.Equal(a.(*image.RGBA).Pix, b.(*image.RGBA).Pix) {
		t.Fatal("colour-by-plane and colour-by-pixel renderings differ")
	}
}
