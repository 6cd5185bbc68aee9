package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/indextest"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

func count(t *testing.T, db *sqlite.DB, q *index.Query) int {
	t.Helper()
	n, err := db.Count(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPutBatch: a batch commits its records together; a duplicate in it fails alone with
// ErrExists and the stored record; the writer's memory of the series it wrote stays true across
// deletes, replaces and failed writes.
func TestPutBatch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	db := open(t, path, sqlite.Options{})
	var recs []*index.Record
	for i := range 40 {
		recs = append(recs, indextest.Record(t, synthetic(i, 2, 2, 5)))
	}
	recs = append(recs, indextest.Record(t, synthetic(7, 2, 2, 5)))
	st, errs := db.PutBatch(ctx, recs)
	for i, err := range errs[:40] {
		if err != nil || st[i] == nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if !errors.Is(errs[40], index.ErrExists) || st[40] == nil || st[40].SOPInstanceUID != recs[7].Header.String(tag.SOPInstanceUID) {
		t.Fatalf("duplicate in a batch: %v, %+v", errs[40], st[40])
	}
	stats, _ := db.Stats(ctx)
	if stats.Patients != 2 || stats.Studies != 4 || stats.Series != 8 || stats.Instances != 40 {
		t.Fatalf("stats %+v, want 2/4/8/40", stats)
	}
	// Delete a series the writer knows, then put into it again: it is created anew.
	series := recs[0].Header.String(tag.SeriesInstanceUID)
	if _, err := db.Delete(ctx, index.Series, series); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Put(ctx, recs[0]); err != nil {
		t.Fatal(err)
	}
	q := &index.Query{Level: index.Series, Keys: []index.Key{{Tag: tag.SeriesInstanceUID, Value: series}}}
	if n := count(t, db, q); n != 1 {
		t.Fatalf("%d series %s after delete and put", n, series)
	}
	for m, err := range db.Search(ctx, q) {
		if err != nil {
			t.Fatal(err)
		}
		if n := m.Attrs.String(tag.NumberOfSeriesRelatedInstances); n != "1" {
			t.Fatalf("series %s has %s instances after delete and put, want 1", series, n)
		}
	}
	// A failed put (a duplicate, alone in its transaction) and puts after it.
	if _, err := db.Put(ctx, recs[0]); !errors.Is(err, index.ErrExists) {
		t.Fatalf("put twice: %v", err)
	}
	if _, err := db.Put(ctx, recs[1]); err != nil {
		t.Fatal(err)
	}
	stats, _ = db.Stats(ctx)
	if stats.Series != 8 || stats.Instances != 37 {
		t.Fatalf("stats %+v, want 8 series, 37 instances", stats)
	}
	db.Close()
	checkIntegrity(t, path)
}
