package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// ErrStoreAlone: an instance of a batch has the SOP Instance UID of an indexed instance with
// other content; the batch stored nothing for it, and it must be stored alone (Store or
// StoreFile), which applies the duplicate policy.
var ErrStoreAlone = errors.New("archive: an instance with this SOP Instance UID and other content is stored; store it alone")

// Batch stores instances with their durability batched, for bulk import: Add writes an
// instance's blob without waiting for it to reach stable storage, and Commit makes the blobs of
// the batch durable together, then indexes them in one transaction. An instance is stored when
// Commit says so, and not before: a crash earlier leaves blobs that no index row refers to,
// which the startup sweep (Sweep) removes. Add and AddFile may be called concurrently; Commit
// must not run concurrently with them.
type Batch struct {
	s      *Service
	policy bool // apply the duplicate policy (NewStoreBatch) instead of ErrStoreAlone
	mu     sync.Mutex
	items  []*written
	size   int64
}

// NewBatch starts an empty batch.
func (s *Service) NewBatch() *Batch { return &Batch{s: s} }

// NewStoreBatch starts an empty batch whose Commit applies the duplicate policy to an instance
// whose SOP Instance UID is stored with other content, as Store does (ErrConflict, a version
// kept aside, or a replacement), instead of answering ErrStoreAlone. STOW-RS uses it to make a
// request's instances durable together.
func (s *Service) NewStoreBatch() *Batch { return &Batch{s: s, policy: true} }

// BatchResult is what Commit did with one instance of the batch.
type BatchResult struct {
	Result *StoreResult
	Err    error
}

// Add writes req into the batch and returns its position in the batch (the index of its
// result). A request that cannot be written fails here (and takes no position).
func (b *Batch) Add(ctx context.Context, req StoreRequest) (int, error) {
	wr, err := b.s.write(ctx, req, true)
	if err != nil {
		return -1, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items = append(b.items, wr)
	b.size += wr.rec.Size
	return len(b.items) - 1, nil
}

// AddFile writes the Part 10 file r into the batch, like StoreFile.
func (b *Batch) AddFile(ctx context.Context, r io.Reader, source string) (int, error) {
	req, err := fileRequest(r, source)
	if err != nil {
		return -1, err
	}
	return b.Add(ctx, req)
}

// Reserve takes the next position of the batch for an instance to be written with AddFileAt,
// so that concurrent writers index their instances in the order they reserved them (when two
// have one SOP Instance UID, the first is stored). A position left unfilled gives an empty
// result.
func (b *Batch) Reserve() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items = append(b.items, nil)
	return len(b.items) - 1
}

// AddFileAt writes the Part 10 file r into the batch at position pos, taken with Reserve.
func (b *Batch) AddFileAt(ctx context.Context, pos int, r io.Reader, source string) error {
	req, err := fileRequest(r, source)
	if err != nil {
		return err
	}
	wr, err := b.s.write(ctx, req, true)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items[pos] = wr
	b.size += wr.rec.Size
	return nil
}

// Remove discards the instance at position pos of the batch (its blob is removed; Commit gives
// it an empty result).
func (b *Batch) Remove(pos int) {
	b.mu.Lock()
	wr := b.items[pos]
	b.items[pos] = nil
	if wr != nil {
		b.size -= wr.rec.Size
	}
	b.mu.Unlock()
	if wr != nil {
		wr.w.Abort()
	}
}

// Len returns the number of instances in the batch and their size in bytes.
func (b *Batch) Len() (int, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items), b.size
}

// syncers is how many blobs of a batch are made durable at a time: enough for the storage to
// coalesce them (one journal commit for many on a journalling filesystem).
const syncers = 16

// Commit makes the blobs of the batch durable (concurrently), indexes them in one transaction,
// and returns one result per instance added, in the order of Add. The batch is empty
// afterwards. An instance indexed already with the same content is a Duplicate (its new blob
// removed); with other content, ErrStoreAlone.
func (b *Batch) Commit(ctx context.Context) []BatchResult {
	b.mu.Lock()
	items := b.items
	b.items, b.size = nil, 0
	b.mu.Unlock()
	s := b.s
	res := make([]BatchResult, len(items))
	// Blobs first: durable before any index row refers to them. Blobs the store syncs together
	// (blob.BulkSyncer) are finished here and made durable by one SyncAll below: far cheaper
	// than a sync per blob and per directory for a batch of hundreds.
	bulk := false
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(syncers, len(items)) {
		wg.Go(func() {
			for i := range next {
				wr := items[i]
				if wr == nil {
					continue
				}
				if wr.deferred {
					continue // committed and synced below
				}
				if err := wr.w.Commit(ctx, wr.key); err != nil {
					res[i].Err = s.storageErr(err)
					continue
				}
				wr.rec.BlobKey = wr.key
			}
		})
	}
	for i, wr := range items {
		if wr != nil && wr.deferred {
			bulk = true
			if err := wr.w.Commit(ctx, wr.key); err != nil {
				res[i].Err = s.storageErr(err)
				continue
			}
			wr.rec.BlobKey = wr.key
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if bulk {
		if err := s.blobs.(blob.BulkSyncer).SyncAll(ctx); err != nil {
			err = s.storageErr(err)
			for i, wr := range items {
				if wr != nil && wr.deferred && res[i].Err == nil {
					res[i].Err = err
					s.deleteBlob(wr.key)
				}
			}
		}
	}
	var recs []*index.Record
	var pos []int
	for i, wr := range items {
		if wr != nil && res[i].Err == nil {
			recs = append(recs, wr.rec)
			pos = append(pos, i)
		}
	}
	if len(recs) == 0 {
		return res
	}
	var stored []*index.Stored
	var errs []error
	if bp, ok := s.idx.(index.BatchPutter); ok {
		stored, errs = bp.PutBatch(ctx, recs)
	} else {
		stored, errs = make([]*index.Stored, len(recs)), make([]error, len(recs))
		for i, rec := range recs {
			stored[i], errs[i] = s.idx.Put(ctx, rec)
		}
	}
	for k, i := range pos {
		rec, st, err := recs[k], stored[k], errs[k]
		switch {
		case err == nil:
			res[i].Result = &StoreResult{Outcome: Stored, Instance: st}
		case errors.Is(err, index.ErrExists) && st != nil:
			if st.SHA256 == rec.SHA256 {
				s.deleteBlob(rec.BlobKey)
				res[i].Result = &StoreResult{Outcome: Duplicate, Instance: st}
			} else if b.policy {
				mu := s.lock(st.SOPInstanceUID)
				mu.Lock()
				res[i].Result, res[i].Err = s.storeOver(ctx, rec, st)
				mu.Unlock()
			} else {
				s.deleteBlob(rec.BlobKey)
				res[i].Err = fmt.Errorf("%w: %s", ErrStoreAlone, st.SOPInstanceUID)
			}
		default:
			s.deleteBlob(rec.BlobKey)
			res[i].Err = fmt.Errorf("%w: index: %w", ErrUnavailable, err)
		}
	}
	return res
}

// Abort discards the instances of the batch.
func (b *Batch) Abort() {
	b.mu.Lock()
	items := b.items
	b.items, b.size = nil, 0
	b.mu.Unlock()
	for _, wr := range items {
		if wr != nil {
			wr.w.Abort()
		}
	}
}
