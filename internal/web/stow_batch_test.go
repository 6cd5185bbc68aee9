package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob/fileblob"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/web"
)

func openArchivePolicy(t *testing.T, p archive.DuplicatePolicy) *archive.Service {
	t.Helper()
	dir := t.TempDir()
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := fileblob.Open(filepath.Join(dir, "instances"), fileblob.Options{Init: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close(); blobs.Close() })
	return archive.New(idx, blobs, archive.Options{Duplicates: p})
}

// TestSTOWBatchDuplicates: the instances of a request are made durable together, and an
// instance whose SOP Instance UID is stored with other content (before the request, or earlier
// in it) follows the duplicate policy, reported per part.
func TestSTOWBatchDuplicates(t *testing.T) {
	files := loadCorpus(t)
	ct := files["orthanc-tests__SignedCT.dcm"]
	mr := files["pydicom__MR_small_bigendian.dcm"]
	other := bytes.Clone(ct.raw) // same SOP Instance UID, other pixel values
	other[len(other)-1] ^= 0xFF
	many := [][]byte{mr.raw}
	for range 70 { // more parts than one batch commit
		many = append(many, ct.raw)
	}
	tests := []struct {
		name      string
		policy    archive.DuplicatePolicy
		first     [][]byte // stored by a request before
		files     [][]byte
		status    int
		reasons   []int
		instances int64
		versions  int
		served    []byte // the content served for ct's UID
	}{
		{name: "reject, stored before", policy: archive.Reject, first: [][]byte{ct.raw}, files: [][]byte{other, mr.raw, ct.raw}, status: http.StatusAccepted, reasons: []int{0x0111}, instances: 2, served: ct.raw},
		{name: "reject, in the request", policy: archive.Reject, files: [][]byte{ct.raw, mr.raw, other}, status: http.StatusAccepted, reasons: []int{0x0111}, instances: 2, served: ct.raw},
		{name: "overwrite", policy: archive.Overwrite, first: [][]byte{ct.raw}, files: [][]byte{other, mr.raw}, status: http.StatusOK, instances: 2, served: other},
		{name: "keep", policy: archive.Keep, first: [][]byte{ct.raw}, files: [][]byte{other}, status: http.StatusConflict, reasons: []int{0x0111}, instances: 1, versions: 1, served: ct.raw},
		{name: "several batches", policy: archive.Reject, files: many, status: http.StatusOK, instances: 2, served: ct.raw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arc := openArchivePolicy(t, tt.policy)
			srv := serve(t, arc, web.Options{})
			post := func(files [][]byte) response {
				ctype, body := multipartBody(t, files...)
				return doURL(t, "POST", srv.URL+"/dicom-web/studies", body, "Content-Type", ctype)
			}
			if tt.first != nil {
				if r := post(tt.first); r.StatusCode != http.StatusOK {
					t.Fatalf("first request: %s %s", r.Status, r.body)
				}
			}
			r := post(tt.files)
			if r.StatusCode != tt.status {
				t.Fatalf("%s, want %d: %s", r.Status, tt.status, r.body)
			}
			ds, err := dicomjson.Decode(bytes.NewReader(r.body), dicomjson.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var reasons []int
			for _, it := range ds.Sequence(tag.FailedSOPSequence) {
				n, _ := it.Int(tag.FailureReason)
				reasons = append(reasons, int(n))
				if it.String(tag.ReferencedSOPInstanceUID) != ct.uid(tag.SOPInstanceUID) {
					t.Errorf("failed item names %q", it.String(tag.ReferencedSOPInstanceUID))
				}
			}
			if fmt.Sprint(reasons) != fmt.Sprint(tt.reasons) {
				t.Fatalf("failure reasons %04X, want %04X", reasons, tt.reasons)
			}
			if refs := ds.Sequence(tag.ReferencedSOPSequence); len(refs)+len(reasons) != len(tt.files) {
				t.Fatalf("%d referenced + %d failed, want %d parts", len(refs), len(reasons), len(tt.files))
			}
			if n := instances(t, arc); n != tt.instances {
				t.Fatalf("%d instances, want %d", n, tt.instances)
			}
			ctx := context.Background()
			st, err := arc.Lookup(ctx, ct.uid(tag.SOPInstanceUID))
			if err != nil {
				t.Fatal(err)
			}
			rc, _, err := arc.DatasetReader(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			got.ReadFrom(rc)
			rc.Close()
			if !bytes.HasSuffix(tt.served, got.Bytes()[got.Len()-64:]) {
				t.Fatal("the instance served is not the one the policy keeps")
			}
			if v, err := arc.Versions(ctx, ct.uid(tag.SOPInstanceUID)); err != nil || len(v) != tt.versions {
				t.Fatalf("%d versions (%v), want %d", len(v), err, tt.versions)
			}
		})
	}
}
