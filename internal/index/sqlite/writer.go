package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// job is one write, run by the writer goroutine in its own savepoint.
type job struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *wtx) error
	done chan error
}

// write runs fn in the writer's next transaction and returns once that transaction committed
// (or fn failed). If ctx ends while the write is queued it is not run; if it ends while the
// transaction runs, write returns ctx's error and the write may still commit.
func (db *DB) write(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.jobs <- j:
	case <-db.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("sqlite index: write outcome unknown: %w", ctx.Err())
	}
}

// writer is the single writer goroutine: it commits the writes pending together (group
// commit), up to db.batch per transaction.
func (db *DB) writer() {
	defer close(db.stopped)
	ctx := context.Background()
	batch := make([]*job, 0, db.batch)
	for {
		select {
		case j := <-db.jobs:
			batch = append(batch[:0], j)
		case <-db.quit:
			return
		}
	drain:
		for len(batch) < db.batch {
			select {
			case j := <-db.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		db.commit(ctx, batch)
		clear(batch)
	}
}

// commit runs batch in one transaction, each job in a savepoint so that a failing job is
// rolled back alone, commits, and answers every job.
func (db *DB) commit(ctx context.Context, batch []*job) {
	errs := make([]error, len(batch))
	answer := func() {
		for i, j := range batch {
			j.done <- errs[i]
		}
	}
	fail := func(err error) {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		answer()
	}
	stx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlite index: begin: %w", err))
		return
	}
	tx := &wtx{Tx: stx, stmts: map[string]*sql.Stmt{}}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite index: savepoint: %w", err))
			return
		}
		if err := j.fn(ctx, tx); err != nil {
			errs[i] = err
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO w"); rerr != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlite index: rollback to savepoint: %w", errors.Join(rerr, err)))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite index: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlite index: commit: %w", err))
		return
	}
	answer()
}

// wtx is the writer's transaction with the statements prepared in it, reused by the writes of
// a batch (they are closed with the transaction).
type wtx struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

// stmt returns the prepared statement for q.
func (tx *wtx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[q]; ok {
		return st, nil
	}
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	tx.stmts[q] = st
	return st, nil
}
