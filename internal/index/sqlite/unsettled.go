package sqlite

import (
	"context"
	"fmt"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

var _ index.EarlyPutter = (*DB)(nil)

// PutUnsettled is Put, with rec's blob key recorded in unsettled_blobs in the same transaction.
func (db *DB) PutUnsettled(ctx context.Context, rec *index.Record) (*index.Stored, error) {
	return db.putWith(ctx, rec, func(ctx context.Context, tx *wtx) error {
		_, err := tx.exec(ctx, `INSERT OR IGNORE INTO unsettled_blobs (blob_key) VALUES (?)`, rec.BlobKey)
		return err
	})
}

// Settle forgets the unsettled mark of key: the writer removes it in its next transaction (or
// at Close). Until then, or if that transaction fails, the mark stays, and the next start checks
// a blob that is durable: harmless.
func (db *DB) Settle(key string) {
	db.settleMu.Lock()
	db.settled = append(db.settled, key)
	db.settleMu.Unlock()
}

// settle removes, inside the writer's transaction tx, the marks of the keys settled since the
// last transaction.
func (db *DB) settle(ctx context.Context, tx *wtx) error {
	db.settleMu.Lock()
	keys := db.settled
	db.settled = nil
	db.settleMu.Unlock()
	for _, k := range keys {
		if _, err := tx.exec(ctx, `DELETE FROM unsettled_blobs WHERE blob_key = ?`, k); err != nil {
			return err
		}
	}
	return nil
}

// Unsettled returns the blob keys marked unsettled, each with the instance that refers to it
// (nil when none does any more).
func (db *DB) Unsettled(ctx context.Context) (map[string]*index.Stored, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT blob_key FROM unsettled_blobs`)
	if err != nil {
		return nil, fmt.Errorf("sqlite index: unsettled: %w", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite index: unsettled: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite index: unsettled: %w", err)
	}
	out := make(map[string]*index.Stored, len(keys))
	for _, k := range keys {
		var sop string
		err := db.rdb.QueryRowContext(ctx, `SELECT sop_uid FROM instances WHERE blob_key = ?`, k).Scan(&sop)
		if err != nil {
			out[k] = nil
			continue
		}
		st, err := db.Lookup(ctx, sop)
		if err != nil || st.BlobKey != k {
			out[k] = nil
			continue
		}
		out[k] = st
	}
	return out, nil
}

// ClearUnsettled removes the marks of keys now, durably.
func (db *DB) ClearUnsettled(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return db.write(ctx, func(ctx context.Context, tx *wtx) error {
		for _, k := range keys {
			if _, err := tx.exec(ctx, `DELETE FROM unsettled_blobs WHERE blob_key = ?`, k); err != nil {
				return fmt.Errorf("sqlite index: clear unsettled: %w", err)
			}
		}
		return nil
	})
}
