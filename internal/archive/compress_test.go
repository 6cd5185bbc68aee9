package archive_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/transcode"
)

func TestCompressPolicy(t *testing.T) {
	const rle = "1.2.840.10008.1.2.5"
	reg := codecs.Registry()
	if err := (archive.CompressPolicy{TransferSyntax: "1.2.840.10008.1.2.4.50", Codecs: reg}).Check(); err == nil {
		t.Fatalf("a lossy policy passed Check")
	}
	policy := archive.CompressPolicy{TransferSyntax: rle, Codecs: reg}
	if err := policy.Check(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		file string
		want string // transfer syntax stored; "" as received
	}{
		{"orthanc-tests__SignedCT.dcm", rle},
		{"pydicom__MR_small_bigendian.dcm", rle},
		{"pydicom-data__emri_small_RLE.dcm", ""}, // already compressed
		{"pydicom__rtplan.dcm", ""},              // no pixels
	} {
		t.Run(tc.file, func(t *testing.T) {
			arc, _ := open(t, archive.Options{Compress: policy})
			req, data := request(t, tc.file)
			orig, err := dicom.ParseDataset(data, req.TransferSyntax, dicom.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			from := req.TransferSyntax
			res, err := arc.Store(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == "" {
				want = from
			}
			if res.Instance.TransferSyntaxUID != want {
				t.Fatalf("stored in %s, want %s", res.Instance.TransferSyntaxUID, want)
			}
			stored := readDataset(t, arc, res.Instance.SOPInstanceUID)
			if want == from {
				if !bytes.Equal(stored, data) {
					t.Fatalf("stored as received, but the bytes differ")
				}
				return
			}
			ds, err := dicom.ParseDataset(stored, want, dicom.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			back, err := transcode.Dataset(ds, want, dicom.ExplicitVRLittleEndian, transcode.Options{Registry: reg})
			if err != nil {
				t.Fatal(err)
			}
			a, b := orig.Element(tag.PixelData).Value, back.Element(tag.PixelData).Value
			if !bytes.Equal(a, b) {
				t.Fatalf("pixels changed by the compression policy")
			}
			if len(stored) >= len(data) {
				t.Fatalf("stored %d bytes for %d received", len(stored), len(data))
			}
			// A re-send of the same instance is an idempotent duplicate.
			req2, _ := request(t, tc.file)
			res2, err := arc.Store(ctx, req2)
			if err != nil || res2.Outcome != archive.Duplicate {
				t.Fatalf("re-send: %v, outcome %v", err, res2)
			}
		})
	}
}
