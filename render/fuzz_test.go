package render_test

import (
	"image"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/render"
)

var fuzzPhotometrics = []string{"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422",
	"YBR_PARTIAL_422", "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT", "", "HSV"}

// FuzzFrame describes and renders images of hostile attributes: any size, sample format,
// photometric interpretation, LUT descriptor and LUT data (plain or segmented, as palette, Modality
// LUT and VOI LUT), and a frame of any length. Rendering must fail with an error or succeed,
// never panic, and allocate no more than the pixel limit allows.
func FuzzFrame(f *testing.F) {
	f.Add(uint16(2), uint16(2), uint8(1), uint8(16), uint8(12), uint8(11), true, uint8(1), false,
		[]byte{4, 0, 0, 0, 16, 0}, []byte{1, 0, 2, 0, 3, 0, 4, 0}, uint8(0), []byte{1, 2, 3, 4, 5, 6, 7, 8}, 1.0, 40.0, 400.0)
	f.Add(uint16(3), uint16(1), uint8(1), uint8(8), uint8(8), uint8(7), false, uint8(2), false,
		[]byte{0, 0, 0, 0, 16, 0}, []byte{0, 0, 2, 0, 0, 0, 1, 0, 0, 0xFF, 2, 0, 1, 0, 0, 0, 0, 0}, uint8(1), []byte{0, 1, 2}, 1.0, 0.0, 0.0)
	f.Add(uint16(2), uint16(1), uint8(3), uint8(8), uint8(8), uint8(7), false, uint8(5), false,
		[]byte{}, []byte{}, uint8(0), []byte{1, 2, 128, 128}, 1.0, 0.0, 0.0)
	f.Add(uint16(9), uint16(9), uint8(1), uint8(1), uint8(1), uint8(0), true, uint8(0), false,
		[]byte{2, 0, 0xFF, 0xFF, 8, 0}, []byte{0, 255}, uint8(2), []byte{0xAA, 0x55, 0xAA, 0x55, 0xAA, 0x55, 0xAA, 0x55, 0xAA, 0x55, 0xAA}, 0.5, 1.0, 1.0)
	f.Add(uint16(1), uint16(2), uint8(1), uint8(32), uint8(32), uint8(31), true, uint8(1), false,
		[]byte{}, []byte{}, uint8(3), []byte{0, 0, 0xC0, 0x7F, 0, 0, 0x80, 0xFF}, 1.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, rows, cols uint16, spp, ba, bs, hb uint8, signed bool, photometric uint8, planar bool,
		desc, lutData []byte, lutKind uint8, frame []byte, slope, center, width float64) {
		ds := dicom.NewDataset()
		set := func(tg tag.Tag, v int64) {
			if err := ds.SetInts(tg, vr.US, v); err != nil {
				t.Fatal(err)
			}
		}
		pm := fuzzPhotometrics[int(photometric)%len(fuzzPhotometrics)]
		set(tag.Rows, int64(rows))
		set(tag.Columns, int64(cols))
		set(tag.SamplesPerPixel, int64(spp))
		set(tag.BitsAllocated, int64(ba))
		set(tag.BitsStored, int64(bs))
		set(tag.HighBit, int64(hb))
		set(tag.PlanarConfiguration, map[bool]int64{false: 0, true: 1}[planar])
		set(tag.PixelRepresentation, map[bool]int64{false: 0, true: 1}[signed])
		if err := ds.SetString(tag.PhotometricInterpretation, vr.CS, pm); err != nil {
			t.Fatal(err)
		}
		if err := ds.SetFloats(tag.RescaleSlope, vr.DS, slope); err != nil {
			t.Fatal(err)
		}
		if err := ds.SetFloats(tag.WindowCenter, vr.DS, center); err != nil {
			t.Fatal(err)
		}
		if err := ds.SetFloats(tag.WindowWidth, vr.DS, width); err != nil {
			t.Fatal(err)
		}
		ds.Set(dicom.NewElement(tag.PixelData, vr.OW, nil))
		lut := dicom.NewItem()
		lut.Set(dicom.NewElement(tag.LUTDescriptor, vr.US, desc))
		lut.Set(dicom.NewElement(tag.LUTData, vr.OW, lutData))
		switch lutKind % 4 {
		case 0:
			ds.Set(dicom.NewSequence(tag.ModalityLUTSequence, lut))
		case 1:
			ds.Set(dicom.NewSequence(tag.VOILUTSequence, lut))
		case 2:
			ds.Set(dicom.NewElement(tag.FloatPixelData, vr.OF, nil))
		}
		for _, tags := range [][3]tag.Tag{
			{tag.RedPaletteColorLookupTableDescriptor, tag.RedPaletteColorLookupTableData, tag.SegmentedRedPaletteColorLookupTableData},
			{tag.GreenPaletteColorLookupTableDescriptor, tag.GreenPaletteColorLookupTableData, tag.SegmentedGreenPaletteColorLookupTableData},
			{tag.BluePaletteColorLookupTableDescriptor, tag.BluePaletteColorLookupTableData, tag.SegmentedBluePaletteColorLookupTableData},
		} {
			ds.Set(dicom.NewElement(tags[0], vr.US, desc))
			if lutKind%2 == 0 {
				ds.Set(dicom.NewElement(tags[1], vr.OW, lutData))
			} else {
				ds.Set(dicom.NewElement(tags[2], vr.OW, lutData))
			}
		}
		opts := []render.Options{
			{MaxPixels: 1 << 16},
			{MaxPixels: 1 << 16, MinMax: true, Size: image.Pt(7, 5)},
			{MaxPixels: 1 << 16, VOILUT: true},
			{MaxPixels: 1 << 16, Window: &render.Window{Center: center, Width: width, Function: render.Sigmoid}},
		}
		render1 := func(l *render.Layout) {
			for _, o := range opts {
				if img, err := l.Frame(frame, o); err == nil && img == nil {
					t.Fatal("no image and no error")
				}
				_, _ = l.FrameAt(frame, 1, o)
			}
		}
		if l, err := render.Describe(ds); err == nil {
			render1(l)
		}
		im := codec.Image{Rows: int(rows), Columns: int(cols), SamplesPerPixel: int(spp), BitsAllocated: int(ba), BitsStored: int(bs),
			PixelRepresentation: int(hb % 2), Photometric: pm, PlanarConfiguration: int(spp % 2)}
		if l, err := render.DescribeDecoded(ds, im); err == nil {
			render1(l)
		}
	})
}
