package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// job is one or more writes, run by the writer goroutine in the next transaction, each in its
// own savepoint.
type job struct {
	ctx  context.Context
	fns  []func(ctx context.Context, tx *wtx) error
	errs []error // one per fn, set before done is signalled
	done chan struct{}
}

// write runs fn in the writer's next transaction and returns once that transaction committed
// (or fn failed). If ctx ends while the write is queued it is not run; if it ends while the
// transaction runs, write returns ctx's error and the write may still commit.
func (db *DB) write(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	errs := db.writeAll(ctx, []func(ctx context.Context, tx *wtx) error{fn})
	return errs[0]
}

// writeAll runs fns in one transaction of the writer, each in its own savepoint (a failing fn
// is rolled back alone), and returns their errors once that transaction committed.
func (db *DB) writeAll(ctx context.Context, fns []func(ctx context.Context, tx *wtx) error) []error {
	j := &job{ctx: ctx, fns: fns, errs: make([]error, len(fns)), done: make(chan struct{})}
	setAll := func(err error) []error {
		for i := range j.errs {
			j.errs[i] = err
		}
		return j.errs
	}
	select {
	case db.jobs <- j:
	case <-db.quit:
		return setAll(errClosed)
	case <-ctx.Done():
		return setAll(ctx.Err())
	}
	select {
	case <-j.done:
		return j.errs
	case <-ctx.Done():
		return setAll(fmt.Errorf("sqlite index: write outcome unknown: %w", ctx.Err()))
	}
}

// writer is the single writer goroutine: it commits the writes pending together (group
// commit), up to db.batch per transaction. It owns the writer connection's prepared
// statements (ws).
func (db *DB) writer() {
	defer close(db.stopped)
	ctx := context.Background()
	ws := &wstmts{db: db.wdb, m: map[string]*sql.Stmt{}}
	defer ws.close()
	cache := newECache()
	batch := make([]*job, 0, db.batch)
	for {
		select {
		case j := <-db.jobs:
			batch = append(batch[:0], j)
		case <-db.quit:
			return
		}
		n := len(batch[0].fns)
	drain:
		for n < db.batch {
			select {
			case j := <-db.jobs:
				batch = append(batch, j)
				n += len(j.fns)
			default:
				break drain
			}
		}
		db.commit(ctx, ws, cache, batch)
		ws.prepareNew(ctx)
		clear(batch)
	}
}

// commit runs batch in one transaction, each write in a savepoint so that a failing write is
// rolled back alone, commits, and answers every job.
func (db *DB) commit(ctx context.Context, ws *wstmts, cache *ecache, batch []*job) {
	answer := func() {
		for _, j := range batch {
			close(j.done)
		}
	}
	fail := func(err error) {
		cache.clear()
		for _, j := range batch {
			for i := range j.errs {
				if j.errs[i] == nil {
					j.errs[i] = err
				}
			}
		}
		answer()
	}
	stx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlite index: begin: %w", err))
		return
	}
	tx := &wtx{Tx: stx, ws: ws, cache: cache, stmts: map[string]*sql.Stmt{}}
	if err := db.settle(ctx, tx); err != nil {
		// The marks stay: the next start checks blobs that are durable.
		db.log.Warn("sqlite index: cannot clear unsettled marks", "err", err)
	}
	// One write alone needs no savepoint: if it fails, the transaction is rolled back.
	single := len(batch) == 1 && len(batch[0].fns) == 1
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			for i := range j.errs {
				j.errs[i] = err
			}
			continue
		}
		for i, fn := range j.fns {
			if single {
				if err := fn(ctx, tx); err != nil {
					j.errs[i] = err
					tx.Rollback()
					cache.clear()
					answer()
					return
				}
				continue
			}
			if _, err := tx.exec(ctx, "SAVEPOINT w"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlite index: savepoint: %w", err))
				return
			}
			if err := fn(ctx, tx); err != nil {
				j.errs[i] = err
				cache.clear()
				if _, rerr := tx.exec(ctx, "ROLLBACK TO w"); rerr != nil {
					tx.Rollback()
					fail(fmt.Errorf("sqlite index: rollback to savepoint: %w", errors.Join(rerr, err)))
					return
				}
			}
			if _, err := tx.exec(ctx, "RELEASE w"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlite index: release savepoint: %w", err))
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlite index: commit: %w", err))
		return
	}
	answer()
}

// wstmts are the writer's statements, prepared on the writer's connection once and reused by
// every transaction (tx.StmtContext binds them to the transaction without preparing them
// again, since the writer database has that one connection). A statement first seen inside a
// transaction is prepared in that transaction only (preparing on the database there would wait
// for the connection the transaction holds) and prepared for good after the commit. Only the
// writer goroutine uses them.
type wstmts struct {
	db      *sql.DB
	m       map[string]*sql.Stmt
	pending []string // seen in the last transaction, to prepare once it is over
}

// maxWriterStmts bounds the writer's statements (the texts vary with the columns an update
// sets); beyond it, statements are prepared per transaction as before.
const maxWriterStmts = 256

func (ws *wstmts) prepareNew(ctx context.Context) {
	for _, q := range ws.pending {
		if _, ok := ws.m[q]; ok || len(ws.m) >= maxWriterStmts {
			continue
		}
		if st, err := ws.db.PrepareContext(ctx, q); err == nil {
			ws.m[q] = st
		}
	}
	ws.pending = ws.pending[:0]
}

func (ws *wstmts) close() {
	for q, st := range ws.m {
		st.Close()
		delete(ws.m, q)
	}
}

// wtx is the writer's transaction with the statements bound to it, reused by the writes of a
// batch (the bindings end with the transaction; the statements stay prepared).
type wtx struct {
	*sql.Tx
	ws    *wstmts
	cache *ecache
	stmts map[string]*sql.Stmt
}

// stmt returns the statement for q bound to the transaction.
func (tx *wtx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if p, ok := tx.ws.m[q]; ok {
		st = tx.StmtContext(ctx, p)
	} else {
		var err error
		if st, err = tx.PrepareContext(ctx, q); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		tx.ws.pending = append(tx.ws.pending, q)
	}
	tx.stmts[q] = st
	return st, nil
}

// exec runs q, a statement of the writer, in the transaction.
func (tx *wtx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}
