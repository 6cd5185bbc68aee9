package archive_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

// crashedIndex never settles: as if the process died after each instance's index commit and
// before its blob was known durable.
type crashedIndex struct{ *sqlite.DB }

func (crashedIndex) Settle(string) {}

// TestSweepUnsettled: a single store indexes the instance while its blob is being synced; after
// an interruption, the startup sweep keeps the instances whose blob is whole and removes those
// whose blob is missing or incomplete (never acknowledged), then forgets the marks.
func TestSweepUnsettled(t *testing.T) {
	ctx := context.Background()
	idx, blobs, dir := openStores(t)
	arc := archive.New(crashedIndex{idx}, blobs, archive.Options{})
	var keys []string
	for _, name := range files[:3] {
		req, _ := request(t, name)
		res, err := arc.Store(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, res.Instance.BlobKey)
	}
	root := filepath.Join(dir, "instances")
	if err := os.Truncate(filepath.Join(root, keys[1]), 100); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, keys[2])); err != nil {
		t.Fatal(err)
	}
	rep, err := arc.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unsettled != 3 || rep.Incomplete != 2 || rep.OrphanBlobs != 1 {
		t.Fatalf("sweep: %+v", rep)
	}
	if st, _ := arc.Stats(ctx); st.Instances != 1 {
		t.Fatalf("%d instances after the sweep, want 1", st.Instances)
	}
	if _, err := os.Stat(filepath.Join(root, keys[1])); !os.IsNotExist(err) {
		t.Fatalf("incomplete blob left: %v", err)
	}
	rep, err = arc.Sweep(ctx)
	if err != nil || rep != (archive.SweepReport{}) {
		t.Fatalf("second sweep: %+v %v", rep, err)
	}
}
