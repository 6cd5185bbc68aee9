package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// query runs a read statement on the reader pool.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := db.rstmts.get(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("sqlite index: prepare: %w", err)
	}
	var rows *sql.Rows
	if st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = db.rdb.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite index: query: %w", err)
	}
	return rows, nil
}

// Lookup returns the instance sopInstanceUID, or index.ErrNotFound.
func (db *DB) Lookup(ctx context.Context, sopInstanceUID string) (*index.Stored, error) {
	rows, err := db.query(ctx, selectStored+`WHERE i."sop_uid" = ?`, sopInstanceUID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite index: lookup: %w", err)
		}
		return nil, fmt.Errorf("%w: instance %s", index.ErrNotFound, sopInstanceUID)
	}
	s, _, err := scanStoredRef(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite index: lookup: %w", err)
	}
	return s, nil
}

// Instances returns the instances of the study, series or instance uid, ordered by series
// (series number, then indexing order) and instance number; index.ErrNotFound if there are
// none.
func (db *DB) Instances(ctx context.Context, level index.Level, uid string) ([]*index.Stored, error) {
	var where string
	switch level {
	case index.Study:
		where = `WHERE st."study_uid" = ?`
	case index.Series:
		where = `WHERE se."series_uid" = ?`
	case index.Instance:
		where = `WHERE i."sop_uid" = ?`
	default:
		return nil, fmt.Errorf("sqlite index: instances at the %s level: %w", level, index.ErrInvalidQuery)
	}
	rows, err := db.query(ctx, selectStored+where+` ORDER BY se.series_number_int, se.pk, i.instance_number_int, i.pk`, uid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*index.Stored
	for rows.Next() {
		s, _, err := scanStoredRef(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite index: instances: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite index: instances: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s %s", index.ErrNotFound, level, uid)
	}
	return out, nil
}

// BlobKeys calls fn for the blob key of every indexed instance, in indexing order. The keys
// are read in pages, so that fn may take its time without holding a read transaction open.
func (db *DB) BlobKeys(ctx context.Context, fn func(key string) error) error {
	if err := db.blobKeys(ctx, "instances", fn); err != nil {
		return err
	}
	return db.blobKeys(ctx, "instance_versions", fn)
}

func (db *DB) blobKeys(ctx context.Context, table string, fn func(key string) error) error {
	const page = 1000
	var last int64
	for {
		rows, err := db.query(ctx, `SELECT pk, blob_key FROM `+table+` WHERE pk > ? ORDER BY pk LIMIT `+strconv.Itoa(page), last)
		if err != nil {
			return err
		}
		var keys []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&last, &k); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite index: blob keys: %w", err)
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite index: blob keys: %w", err)
		}
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		if len(keys) < page {
			return nil
		}
	}
}

// Stats counts what is indexed.
func (db *DB) Stats(ctx context.Context) (index.Stats, error) {
	var s index.Stats
	rows, err := db.query(ctx, `SELECT (SELECT COUNT(*) FROM patients), (SELECT COUNT(*) FROM studies),
		(SELECT COUNT(*) FROM series), (SELECT COUNT(*) FROM instances), (SELECT COALESCE(SUM(size), 0) FROM instances)`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	if !rows.Next() {
		return s, fmt.Errorf("sqlite index: stats: %w", errors.Join(rows.Err(), sql.ErrNoRows))
	}
	if err := rows.Scan(&s.Patients, &s.Studies, &s.Series, &s.Instances, &s.Bytes); err != nil {
		return s, fmt.Errorf("sqlite index: stats: %w", err)
	}
	return s, nil
}

// Count returns how many entities match q, ignoring its Limit and Offset.
func (db *DB) Count(ctx context.Context, q *index.Query) (int, error) {
	qs, args, _, err := db.searchSQL(q, true)
	if err != nil {
		return 0, err
	}
	rows, err := db.query(ctx, qs, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int
	if !rows.Next() {
		return 0, fmt.Errorf("sqlite index: count: %w", errors.Join(rows.Err(), sql.ErrNoRows))
	}
	if err := rows.Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite index: count: %w", err)
	}
	return n, nil
}

// Search yields the matches of q, streaming rows from one statement; the rows are closed when
// the consumer stops. Keys the index cannot match (see build.go) are left to the caller.
func (db *DB) Search(ctx context.Context, q *index.Query) iter.Seq2[*index.Match, error] {
	return func(yield func(*index.Match, error) bool) {
		qs, args, outs, err := db.searchSQL(q, false)
		if err != nil {
			yield(nil, err)
			return
		}
		rows, err := db.query(ctx, qs, args...)
		if err != nil {
			yield(nil, err)
			return
		}
		defer rows.Close()
		// Scan destinations, reused for every row.
		var strs []string
		var ints []int64
		var stored index.Stored
		var pk int64
		var dest []any
		var finish func()
		for _, o := range outs {
			switch o.kind {
			case oAttr:
				strs = append(strs, "")
			case oCount:
				ints = append(ints, 0)
			}
		}
		si, ii := 0, 0
		for _, o := range outs {
			switch o.kind {
			case oAttr:
				dest = append(dest, &strs[si])
				si++
			case oCount:
				dest = append(dest, &ints[ii])
				ii++
			case oStored:
				var d []any
				d, finish = storedDest(&stored, &pk)
				dest = append(dest, d...)
			}
		}
		for rows.Next() {
			stored = index.Stored{}
			if err := rows.Scan(dest...); err != nil {
				yield(nil, fmt.Errorf("sqlite index: search: %w", err))
				return
			}
			m, err := match(q.Level, outs, strs, ints)
			if err != nil {
				yield(nil, fmt.Errorf("sqlite index: search: %w", err))
				return
			}
			if finish != nil {
				finish()
				s := stored
				m.Instance = &s
			}
			if !yield(m, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, fmt.Errorf("sqlite index: search: %w", err))
		}
	}
}

// match builds a Match from one row's values.
func match(l index.Level, outs []outCol, strs []string, ints []int64) (*index.Match, error) {
	ds := &dicom.Dataset{Offset: -1, Elements: make([]dicom.Element, 0, len(outs)+1)}
	utf := false
	for _, s := range strs {
		if !isASCII(s) {
			utf = true
			break
		}
	}
	if utf {
		// Set first: the strings set after it are encoded in UTF-8.
		if err := ds.SetString(tag.SpecificCharacterSet, vr.CS, "ISO_IR 192"); err != nil {
			return nil, err
		}
	}
	si, ii := 0, 0
	for _, o := range outs {
		switch o.kind {
		case oAttr:
			s := strs[si]
			si++
			if s == "" {
				continue
			}
			if o.vr == vr.US {
				if err := ds.SetInts(o.tag, o.vr, atoi(s)); err != nil {
					return nil, err
				}
				continue
			}
			if !utf8.ValidString(s) {
				continue
			}
			if err := ds.SetString(o.tag, o.vr, s); err != nil {
				return nil, err
			}
		case oCount:
			if err := ds.SetString(o.tag, o.vr, strconv.FormatInt(ints[ii], 10)); err != nil {
				return nil, err
			}
			ii++
		}
	}
	return &index.Match{Level: l, Attrs: ds}, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
