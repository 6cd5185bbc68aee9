// Package sqlite is the embedded index of the archive: index.Index on SQLite through
// modernc.org/sqlite (pure Go, no cgo).
//
// # Durability
//
// The database runs in WAL journal mode with synchronous=FULL: a transaction is durable when
// its commit returns, even across power loss. Options.Synchronous may lower this to NORMAL,
// with which the last transactions before a power loss (not a process crash) may be lost.
// Foreign keys are enforced.
//
// SQLite has a single writer, so all writes go through one connection owned by one writer
// goroutine. Concurrent Puts are queued to it and committed together (group commit): the writer
// takes up to maxBatch pending writes, runs each in its own savepoint inside one transaction
// (a failing record rolls back its savepoint only, so it does not fail the others), commits
// once, and only then answers each caller. Reads (Search, Count, Lookup, Instances, BlobKeys,
// Stats) use a separate pool of query_only connections; under WAL they never wait for the
// writer.
//
// # Schema
//
// Forward-only migrations (migrations/*.sql, applied in order in one transaction at Open and
// recorded in schema_version); a database written by a newer version is refused. Tables
// patients, studies, series and instances hold one TEXT column per attribute of index.Attrs
// (named by Attr.Column, ” when absent, UTF-8, multiple values joined with backslashes), an
// upper-cased copy of each PN column, and the counters behind the computed attributes;
// attr_values holds one row per value of multi-valued attributes (index.MultiValued) and of the
// configured extra attributes. See migrations/0001_init.sql.
//
// # Matching
//
// Search translates each key into SQL that agrees with index.MatchValue (the conformance
// suite in indextest checks it): see build.go. The SQL is standard where it can be; what is
// SQLite's own (GLOB for case-sensitive wildcards, LIMIT -1, ordered group_concat, pragmas)
// is isolated in the dialect type so that a PostgreSQL index can reuse the builder.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrSchemaTooNew is returned by Open for a database whose schema is newer than this code.
var ErrSchemaTooNew = errors.New("sqlite index: database schema is newer than this program")

// errClosed is returned by operations after Close.
var errClosed = errors.New("sqlite index: closed")

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options configure Open.
type Options struct {
	// ExtraTags are attributes indexed in addition to index.Attrs (e.g. private or
	// site-specific ones). Each is kept at every level, like the attributes of index.Attrs are
	// at theirs: an instance keeps its own value, its series, study and patient the last
	// non-empty value put. Keys on them match like the others; their VR is the dictionary's
	// (LO for tags the dictionary does not know).
	ExtraTags []tag.Tag
	// Logger receives warnings (e.g. a study put under another patient). Default: discard.
	Logger *slog.Logger
	// Synchronous is the SQLite synchronous setting of the writer: "FULL" (default: a commit
	// is durable when Put returns) or "NORMAL" (faster; in WAL mode the last transactions
	// before a power loss or OS crash may be lost, never the database's consistency).
	Synchronous string
	// BusyTimeout is how long a connection waits for a lock held by another process
	// (default 5 s).
	BusyTimeout time.Duration
	// Readers is the size of the read connection pool (default max(8, 2×GOMAXPROCS)). Nested
	// searches hold a connection each.
	Readers int
	// MaxBatch is the most writes committed in one transaction (default 256).
	MaxBatch int
	// CheckpointPages is the WAL size, in pages, past which a commit copies the WAL back into
	// the database (SQLite's wal_autocheckpoint; default 1000, SQLite's own).
	CheckpointPages int
}

// extraAttr is a configured extra attribute.
type extraAttr struct {
	Tag tag.Tag
	VR  vr.VR
}

// DB is the SQLite index. It implements index.Index.
type DB struct {
	path    string
	log     *slog.Logger
	wdb     *sql.DB // the writer: one connection, used only by the writer goroutine
	rdb     *sql.DB // readers: query_only
	extras  []extraAttr
	d       dialect
	jobs    chan *job
	quit    chan struct{}
	stopped chan struct{}
	batch   int
	once    sync.Once

	rstmts *stmtCache // statements of the reader pool

	settleMu sync.Mutex
	settled  []string // unsettled marks to remove in the writer's next transaction
}

var _ index.Index = (*DB)(nil)

// Open opens (creating it if needed) the index database at path and brings its schema up to
// date.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	syncMode := strings.ToUpper(opts.Synchronous)
	switch syncMode {
	case "":
		syncMode = "FULL"
	case "FULL", "NORMAL":
	default:
		return nil, fmt.Errorf("sqlite index: synchronous %q: want FULL or NORMAL", opts.Synchronous)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.Readers <= 0 {
		opts.Readers = max(8, 2*runtime.GOMAXPROCS(0))
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	extras, err := extraAttrs(opts.ExtraTags)
	if err != nil {
		return nil, err
	}
	busy := fmt.Sprint(opts.BusyTimeout.Milliseconds())
	// Durability: WAL journal, synchronous=FULL (or NORMAL if asked), foreign keys on. These
	// pragmas are set on every writer connection by the driver as it opens it; journal_mode
	// is persistent in the database file. IMMEDIATE transactions take the write lock at BEGIN.
	wq := url.Values{}
	wq.Add("_pragma", "busy_timeout("+busy+")")
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "synchronous("+syncMode+")")
	wq.Add("_pragma", "foreign_keys(1)")
	if opts.CheckpointPages > 0 {
		wq.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", opts.CheckpointPages))
	}
	wq.Set("_txlock", "immediate")
	wdb, err := sql.Open("sqlite", fileURI(path)+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite index: open %s: %w", path, err)
	}
	// SQLite has one writer: a single connection, never closed while the index is open.
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite index: %s: %w", path, err)
	}
	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout("+busy+")")
	rq.Add("_pragma", "query_only(1)")
	rq.Add("_pragma", "foreign_keys(1)")
	rdb, err := sql.Open("sqlite", fileURI(path)+"?"+rq.Encode())
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite index: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(opts.Readers)
	rdb.SetMaxIdleConns(opts.Readers)
	if err := rdb.PingContext(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlite index: open %s: %w", path, err)
	}
	db := &DB{
		path:    path,
		log:     log,
		wdb:     wdb,
		rdb:     rdb,
		extras:  extras,
		d:       sqliteDialect,
		jobs:    make(chan *job),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
		batch:   opts.MaxBatch,
		rstmts:  newStmtCache(rdb),
	}
	go db.writer()
	return db, nil
}

func extraAttrs(tags []tag.Tag) ([]extraAttr, error) {
	var out []extraAttr
	seen := map[tag.Tag]bool{}
	for _, t := range tags {
		if _, ok := index.AttrOf(t); ok {
			return nil, fmt.Errorf("sqlite index: extra tag %s is indexed already", t)
		}
		if seen[t] {
			continue
		}
		seen[t] = true
		v := vr.LO
		if info, ok := tag.Lookup(t); ok && info.VR != 0 && info.VR.IsString() {
			v = info.VR
		} else if ok && info.VR != 0 {
			return nil, fmt.Errorf("sqlite index: extra tag %s: VR %s is not a string VR", t, info.VR)
		}
		out = append(out, extraAttr{Tag: t, VR: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out, nil
}

// migrations returns the embedded migrations in order; migration i+1 is the schema version
// i+1.
func migrations() ([]string, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

// migrate applies the migrations the database lacks, in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if v > len(ms) {
		return fmt.Errorf("%w: version %d, this program knows up to %d", ErrSchemaTooNew, v, len(ms))
	}
	for i := v; i < len(ms); i++ {
		if _, err := tx.ExecContext(ctx, ms[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if v < len(ms) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, len(ms)); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// fileURI makes an SQLite file: URI for path, escaping the characters a URI gives a meaning to
// ('?', '#', '%'), so that a data directory such as "/srv/pacs#1" opens the right file.
func fileURI(path string) string {
	u := url.URL{Scheme: "file", Path: path, OmitHost: true}
	if !strings.HasPrefix(path, "/") {
		return "file:" + u.EscapedPath()
	}
	return u.String()
}

// Close stops the writer (pending writes are answered first) and closes the database.
func (db *DB) Close() error {
	var err error
	db.once.Do(func() {
		db.settleMu.Lock()
		pending := len(db.settled) > 0
		db.settleMu.Unlock()
		if pending {
			// A transaction of its own for the marks left (the writer removes them in each).
			if werr := db.write(context.Background(), func(context.Context, *wtx) error { return nil }); werr != nil {
				db.log.Warn("sqlite index: unsettled marks left for the next start", "err", werr)
			}
		}
		close(db.quit)
		<-db.stopped
		err = errors.Join(db.rstmts.close(), db.rdb.Close(), db.wdb.Close())
	})
	return err
}

// stmtCache keeps prepared statements by SQL text. The builder produces a bounded set of texts
// for the usual queries; beyond maxStmts statements are not cached.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

const maxStmts = 512

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement for q, preparing it if needed, or nil when the cache is
// full (the caller then runs q unprepared).
func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.m[q]
	full := len(c.m) >= maxStmts
	c.mu.Unlock()
	if ok || full {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok {
		st.Close()
		return prev, nil
	}
	c.m[q] = st
	return st, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, q)
	}
	return errors.Join(errs...)
}
