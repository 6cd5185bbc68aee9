package scp_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/transcode"
)

// TestGetConverts stores instances in one transfer syntax and retrieves them with C-GET from a
// requestor that accepts only another: the archive converts them, and the pixels received
// equal the manifest's reference.
func TestGetConverts(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	byFile := map[string]corpustest.Row{}
	for _, r := range rows {
		byFile[r.File()] = r
	}
	reg := codecs.Registry()
	cases := []struct{ file, accept string }{
		{"pydicom__CT_small.dcm", dicom.ImplicitVRLittleEndian},
		{"pydicom__MR_small_RLE.dcm", dicom.ExplicitVRLittleEndian},
		{"pydicom__MR_small_jp2klossless.dcm", dicom.ExplicitVRLittleEndian},
		{"pydicom-data__emri_small_jpeg_2k_lossless.dcm", "1.2.840.10008.1.2.4.80"},
		{"pydicom__MR_small.dcm", "1.2.840.10008.1.2.5"},
	}
	addr := start(t)
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, ok := byFile[tc.file]
			if !ok {
				t.Fatalf("%s not in the manifest", tc.file)
			}
			from := r["transfer_syntax_uid"]
			if (!dicom.IsNative(from) && !reg.CanDecode(from)) || (!dicom.IsNative(tc.accept) && !reg.CanEncode(tc.accept)) {
				t.Skipf("this build cannot convert %s to %s", from, tc.accept)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			fi, err := dimse.OpenFile(corpustest.Path(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer fi.Close()
			c, err := dimse.Dial(ctx, addr, dimse.DialOptions{CalledAE: "LIGHTBOX",
				Proposals: dimse.StorageProposals(map[string][]string{fi.SOPClassUID: {fi.TransferSyntax}})})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Store(ctx, fi.StoreRequest); err != nil {
				t.Fatal(err)
			}
			c.Close()

			g, err := dimse.Dial(ctx, addr, dimse.DialOptions{CalledAE: "LIGHTBOX",
				Proposals: dimse.GetProposals(dimse.StudyRootGet, []string{tc.accept}, fi.SOPClassUID)})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			q := dicom.NewDataset()
			q.SetString(tag.QueryRetrieveLevel, vr.CS, "IMAGE")
			q.SetString(tag.StudyInstanceUID, vr.UI, r["StudyInstanceUID"])
			q.SetString(tag.SeriesInstanceUID, vr.UI, r["SeriesInstanceUID"])
			q.SetString(tag.SOPInstanceUID, vr.UI, fi.SOPInstanceUID)
			var got *dicom.Dataset
			var gotTS string
			res, err := g.Get(ctx, dimse.StudyRootGet, q, func(ctx context.Context, req *dimse.Request) dimse.Status {
				b, err := io.ReadAll(req.Data)
				if err != nil {
					t.Error(err)
					return dimse.StatusProcessingFailure
				}
				gotTS = req.Context.TransferSyntax
				got, err = dicom.ParseDataset(b, gotTS, dicom.ReadOptions{})
				if err != nil {
					t.Error(err)
					return dimse.StatusProcessingFailure
				}
				return dimse.StatusSuccess
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.SubOps.Completed != 1 || got == nil {
				t.Fatalf("C-GET: %+v, received %v", res, got != nil)
			}
			if gotTS != tc.accept {
				t.Fatalf("received in %s, want %s", gotTS, tc.accept)
			}
			// Back to native here to compare with the reference.
			f := &dicom.File{Dataset: got, Syntax: dicom.SyntaxOf(gotTS)}
			native, err := convertToNative(f)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(r["pixel_bytes"])
			px := native.Element(tag.PixelData)
			if px == nil || len(px.Value) < n {
				t.Fatalf("no or short Pixel Data received")
			}
			sum := sha256.Sum256(px.Value[:n])
			if h := hex.EncodeToString(sum[:]); h != r["pixel_sha256"] {
				t.Fatalf("pixels received: sha256 %s, want %s", h, r["pixel_sha256"])
			}
		})
	}
}

func convertToNative(f *dicom.File) (*dicom.Dataset, error) {
	out, err := transcode.File(f, dicom.ExplicitVRLittleEndian, transcode.Options{Registry: codecs.Registry()})
	if err != nil {
		return nil, err
	}
	return out.Dataset, nil
}
