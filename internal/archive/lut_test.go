package archive_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/archive"
)

// TestMetadataKeepsLUTs checks that lookup tables longer than the bulk threshold stay in the
// metadata kept at ingest, byte for byte, while Pixel Data stays bulk.
func TestMetadataKeepsLUTs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		file string
		tags []tag.Tag
	}{
		{"pydicom-data__gdcm-US-ALOKA-16.dcm", []tag.Tag{tag.SegmentedRedPaletteColorLookupTableData, tag.SegmentedGreenPaletteColorLookupTableData, tag.SegmentedBluePaletteColorLookupTableData}},
		{"cornerstone3D__TestPattern_Palette_16.dcm", []tag.Tag{tag.RedPaletteColorLookupTableData, tag.GreenPaletteColorLookupTableData, tag.BluePaletteColorLookupTableData}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			arc, _ := open(t, archive.Options{BulkThreshold: 256})
			req, data := request(t, tc.file)
			full, err := dicom.ParseDataset(data, req.TransferSyntax, dicom.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := arc.Store(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			md, err := archive.DecodeMeta(res.Instance.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			for _, tg := range tc.tags {
				want := full.Element(tg)
				if want == nil {
					t.Fatalf("%s: the file has no %s", tc.file, tg)
				}
				if len(want.Value) <= 256 {
					t.Fatalf("%s: %s is only %d bytes: not a test of the bulk threshold", tc.file, tg, len(want.Value))
				}
				got := md.Dataset.Element(tg)
				if got == nil || !bytes.Equal(got.Value, want.Value) {
					t.Fatalf("%s: %s missing or changed in the metadata", tc.file, tg)
				}
			}
			if md.Dataset.Has(tag.PixelData) {
				t.Fatalf("Pixel Data kept in the metadata")
			}
		})
	}
}
