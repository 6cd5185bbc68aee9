package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/indextest"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"

	_ "modernc.org/sqlite"
)

func open(t *testing.T, path string, opts sqlite.Options) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	var paths []string
	indextest.Run(t, func(t *testing.T) index.Index {
		p := filepath.Join(t.TempDir(), "index.db")
		paths = append(paths, p)
		db := open(t, p, sqlite.Options{})
		t.Cleanup(func() { checkIntegrity(t, p) })
		return db
	})
}

// checkIntegrity runs PRAGMA integrity_check and foreign_key_check on the database at path
// (after the index was closed: cleanups run last-registered first).
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var res string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatal(err)
	}
	if res != "ok" {
		t.Errorf("integrity_check: %s", res)
	}
	rows, err := raw.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Errorf("foreign_key_check reports violations")
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "index.db")
	db, err := sqlite.Open(ctx, p, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := indextest.Record(t, indextest.Inst{PatientID: "P", StudyUID: "1.2", SeriesUID: "1.2.3", SOPUID: "1.2.3.4"})
	if _, err := db.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again keeps the data and the schema version.
	db, err = sqlite.Open(ctx, p, sqlite.Options{})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	if _, err := db.Lookup(ctx, "1.2.3.4"); err != nil {
		t.Fatalf("Lookup after reopening: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	var n, v int
	if err := raw.QueryRow("SELECT COUNT(*), MAX(version) FROM schema_version").Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != 1 || v < 1 {
		t.Errorf("schema_version: %d rows, version %d", n, v)
	}
	// A newer schema is refused.
	if _, err := raw.Exec("UPDATE schema_version SET version = version + 1"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if db, err := sqlite.Open(ctx, p, sqlite.Options{}); !errors.Is(err, sqlite.ErrSchemaTooNew) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// TestSchemaColumns checks that the schema has a column for every attribute of index.Attrs
// (a new attribute needs a migration).
func TestSchemaColumns(t *testing.T) {
	p := filepath.Join(t.TempDir(), "index.db")
	open(t, p, sqlite.Options{})
	raw, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tables := []string{"patients", "studies", "series", "instances"}
	for _, a := range index.Attrs {
		var n int
		err := raw.QueryRow(`SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, tables[a.Level], a.Column).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("no column %s.%s for %s", tables[a.Level], a.Column, tag.Keyword(a.Tag))
		}
	}
}

func TestPragmas(t *testing.T) {
	tests := []struct {
		sync string
		want int
	}{
		{"", 2}, {"FULL", 2}, {"normal", 1},
	}
	for _, tt := range tests {
		t.Run(tt.sync, func(t *testing.T) {
			db := open(t, filepath.Join(t.TempDir(), "index.db"), sqlite.Options{Synchronous: tt.sync})
			p := db.Pragmas(context.Background())
			if p["journal_mode"] != "wal" || p["foreign_keys"] != "1" || p["synchronous"] != fmtInt(tt.want) || p["query_only"] != "1" {
				t.Errorf("pragmas %v", p)
			}
		})
	}
	if _, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlite.Options{Synchronous: "OFF"}); err == nil {
		t.Error("Open with synchronous OFF succeeded")
	}
}

func fmtInt(n int) string { return string(rune('0' + n)) }

func TestExtraTags(t *testing.T) {
	ctx := context.Background()
	priv := tag.New(0x0009, 0x1010)
	db := open(t, filepath.Join(t.TempDir(), "index.db"), sqlite.Options{ExtraTags: []tag.Tag{tag.RequestedProcedureDescription, priv, tag.ScanningSequence}})
	for i, in := range []indextest.Inst{
		{PatientID: "P", StudyUID: "1.1", SeriesUID: "1.1.1", SOPUID: "1.1.1.1", Attrs: []indextest.A{
			{Tag: tag.RequestedProcedureDescription, Value: "Knee MRI"}, {Tag: priv, Value: "site-a"}, {Tag: tag.ScanningSequence, Value: `SE\IR`}}},
		{PatientID: "P", StudyUID: "1.2", SeriesUID: "1.2.1", SOPUID: "1.2.1.1", Attrs: []indextest.A{
			{Tag: tag.RequestedProcedureDescription, Value: "Chest CT"}, {Tag: priv, Value: "site-b"}, {Tag: tag.ScanningSequence, Value: `GR`}}},
	} {
		if _, err := db.Put(ctx, indextest.Record(t, in)); err != nil {
			t.Fatal(i, err)
		}
	}
	tests := []struct {
		level index.Level
		key   index.Key
		want  []string
	}{
		{index.Study, index.Key{Tag: tag.RequestedProcedureDescription, VR: vr.LO, Value: "Knee*"}, []string{"1.1"}},
		{index.Study, index.Key{Tag: priv, VR: vr.LO, Value: "site-b"}, []string{"1.2"}},
		{index.Instance, index.Key{Tag: tag.ScanningSequence, VR: vr.CS, Value: "IR"}, []string{"1.1.1.1"}},
		{index.Series, index.Key{Tag: tag.ScanningSequence, VR: vr.CS, Value: `GR\SE`}, []string{"1.1.1", "1.2.1"}},
	}
	for _, tt := range tests {
		var got []string
		for m, err := range db.Search(ctx, &index.Query{Level: tt.level, Keys: []index.Key{tt.key}}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m.Attrs.String(index.UniqueKey(tt.level)))
			if v := m.Attrs.String(tt.key.Tag); !index.MatchValue(tt.key, v, false, false) {
				t.Errorf("returned %s = %q does not match %q", tag.Keyword(tt.key.Tag), v, tt.key.Value)
			}
		}
		if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("%s %s=%q: %q, want %q", tt.level, tag.Keyword(tt.key.Tag), tt.key.Value, got, tt.want)
		}
	}
	if _, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "y.db"), sqlite.Options{ExtraTags: []tag.Tag{tag.PatientName}}); err == nil {
		t.Error("an indexed attribute accepted as extra tag")
	}
}
