package archive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob/fileblob"
)

// TestBatch: a batch stores its instances byte for byte once committed, and nothing before;
// an identical instance twice in a batch is one instance and a duplicate, one with other content
// asks to be stored alone; an aborted batch and interrupted blobs leave nothing after the sweep.
func TestBatch(t *testing.T) {
	arc, dir := open(t, archive.Options{})
	ctx := context.Background()
	req, data := request(t, "pydicom__CT_small.dcm")
	base, err := dicom.ParseDataset(data, req.TransferSyntax, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	variant := func(i int, desc string) (archive.StoreRequest, []byte) {
		ds := base.Clone()
		ds.SetString(tag.SOPInstanceUID, vr.UI, fmt.Sprintf("1.2.826.0.1.3680043.10.1471.77.%d", i))
		ds.SetString(tag.SeriesDescription, vr.LO, desc)
		var b bytes.Buffer
		if err := dicom.WriteDataset(&b, ds, req.TransferSyntax, dicom.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		r := req
		r.SOPInstanceUID = ds.String(tag.SOPInstanceUID)
		r.Data = bytes.NewReader(b.Bytes())
		return r, b.Bytes()
	}
	b := arc.NewBatch()
	var want [][]byte
	for i := range 20 {
		r, d := variant(i, "A")
		if pos, err := b.Add(ctx, r); err != nil || pos != i {
			t.Fatalf("Add %d: %d, %v", i, pos, err)
		}
		want = append(want, d)
	}
	dup, _ := variant(3, "A")   // identical to instance 3
	other, _ := variant(4, "B") // instance 4 with other content
	b.Add(ctx, dup)
	b.Add(ctx, other)
	if st, _ := arc.Stats(ctx); st.Instances != 0 {
		t.Fatalf("%d instances indexed before Commit", st.Instances)
	}
	res := b.Commit(ctx)
	if len(res) != 22 {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res[:20] {
		if r.Err != nil || r.Result.Outcome != archive.Stored {
			t.Fatalf("instance %d: %+v", i, r)
		}
	}
	if r := res[20]; r.Err != nil || r.Result.Outcome != archive.Duplicate {
		t.Errorf("identical instance twice: %+v, want a duplicate", r)
	}
	if r := res[21]; !errors.Is(r.Err, archive.ErrStoreAlone) {
		t.Errorf("other content under a stored UID: %+v, want ErrStoreAlone", r)
	}
	for i := range 20 {
		if got := readDataset(t, arc, fmt.Sprintf("1.2.826.0.1.3680043.10.1471.77.%d", i)); !bytes.Equal(got, want[i]) {
			t.Fatalf("instance %d differs", i)
		}
	}
	// An aborted batch leaves nothing; neither does one interrupted before Commit (a crash),
	// once swept.
	b = arc.NewBatch()
	r, _ := variant(100, "A")
	b.Add(ctx, r)
	b.Abort()
	b = arc.NewBatch()
	r, _ = variant(101, "A")
	b.Add(ctx, r)
	rep, err := arc.Sweep(ctx)
	if err != nil || rep.OrphanBlobs != 1 {
		t.Fatalf("sweep: %+v, %v; want the interrupted blob removed", rep, err)
	}
	blobs, err := fileblob.Open(filepath.Join(dir, "instances"), fileblob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	n := 0
	blobs.Walk(ctx, func(string, int64) error { n++; return nil })
	if st, _ := arc.Stats(ctx); st.Instances != 20 || n != 20 {
		t.Fatalf("%d instances indexed, %d blobs; want 20 and 20", st.Instances, n)
	}
}
