// Package blob is the object storage port of the archive: instance files are written to a
// temporary object, made durable, and only then become visible under a key the archive chose.
// Implementations: fileblob (a local filesystem, the embedded default); blobtest is the
// conformance suite every implementation runs.
package blob

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"sync"
	"time"
)

// Errors of a Store; implementations wrap them.
var (
	// ErrNotFound: no committed object has that key.
	ErrNotFound = errors.New("blob: not found")
	// ErrNoSpace: the store is full, or below its free-space threshold. Retrying after space is
	// freed can succeed.
	ErrNoSpace = errors.New("blob: no space left")
	// ErrUnavailable: the store cannot be used (its root vanished, a mount is missing).
	ErrUnavailable = errors.New("blob: storage unavailable")
	// ErrInvalidKey: the key is not one NewKey makes.
	ErrInvalidKey = errors.New("blob: invalid key")
)

// Store keeps immutable objects under keys.
type Store interface {
	// Create starts a new object. Nothing is visible until Commit.
	Create(ctx context.Context) (Writer, error)
	// Open opens the committed object key.
	Open(ctx context.Context, key string) (Object, error)
	// Delete removes the committed object key; deleting a missing key returns ErrNotFound.
	Delete(ctx context.Context, key string) error
	// Sweep removes what interrupted writes left (temporary objects older than olderThan) and
	// returns how many it removed.
	Sweep(ctx context.Context, olderThan time.Duration) (int, error)
	// Walk calls fn for every committed object, in no particular order.
	Walk(ctx context.Context, fn func(key string, size int64) error) error
	// Close releases the store's resources.
	Close() error
}

// Writer receives the bytes of a new object.
type Writer interface {
	io.Writer
	// Commit makes the object durable (synced to stable storage) and visible under key. A key
	// that exists already is an error; the caller checks for duplicates first.
	Commit(ctx context.Context, key string) error
	// Abort discards the object; after Commit it does nothing.
	Abort() error
}

// InPlaceCreator is implemented by stores that can write a new object directly under the key
// it will have, which makes Commit cheaper. Until Commit the object is incomplete, yet it
// occupies its key: Walk may list it and Open open it, so the caller must not refer to the key
// before Commit returns, unless every byte is written and the caller's recovery checks the
// object after a crash (the archive's unsettled blobs); an object interrupted by a crash stays under its key, for the caller's
// recovery to remove (the archive removes blobs no index row refers to). Commit must be given
// the key the object was created with.
type InPlaceCreator interface {
	CreateAt(ctx context.Context, key string) (Writer, error)
}

// BulkSyncer is implemented by stores that can make many new objects durable with one call
// that costs about as much as syncing one (on a filesystem: one sync of the whole filesystem
// instead of one per file and directory). CreateDeferred starts an object written in place under
// key, as InPlaceCreator.CreateAt does, whose Commit only finishes writing it: the object is
// durable once a SyncAll that started after its Commit has returned nil, and not before (a crash
// may lose or truncate it; recovery is the caller's, as for CreateAt). A store that cannot do
// this on the running system returns an error wrapping errors.ErrUnsupported from
// CreateDeferred, and the caller syncs object by object instead.
type BulkSyncer interface {
	CreateDeferred(ctx context.Context, key string) (Writer, error)
	SyncAll(ctx context.Context) error
}

// Syncer is implemented by stores that can make an object written earlier durable (data, size
// and name) without rewriting it: the startup check of objects whose durability was not
// recorded before a crash (the data read back may still be only in the page cache).
type Syncer interface {
	Sync(ctx context.Context, key string) error
}

// Object is a committed object opened for reading, at any offset.
type Object interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
}

// NewKey returns a fresh random key: 128 bits as 32 hex digits, under two levels of directories
// ("3f/a0/3fa0…") so that no directory grows too large. Keys never derive from DICOM UIDs.
func NewKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("blob: no randomness: " + err.Error())
	}
	h := hex.EncodeToString(b[:])
	return h[0:2] + "/" + h[2:4] + "/" + h
}

// Keys makes keys of the form NewKey makes whose directories rotate in runs: Run consecutive
// keys share their directories, then the next directory follows (from a random start), so
// that a store creates and syncs a key directory once per run rather than once per object, and
// concurrent writes can share a directory sync. The rest of each key is random. Keys is safe
// for concurrent use.
type Keys struct {
	// Run is how many consecutive keys share a directory (default 64).
	Run int

	mu      sync.Mutex
	started bool
	dir     uint16
	left    int
}

// New returns a fresh key.
func (k *Keys) New() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("blob: no randomness: " + err.Error())
	}
	k.mu.Lock()
	if k.left <= 0 {
		if !k.started {
			k.dir, k.started = binary.BigEndian.Uint16(b[:2]), true // a random start
		} else {
			k.dir++
		}
		k.left = k.Run
		if k.left <= 0 {
			k.left = 64
		}
	}
	k.left--
	binary.BigEndian.PutUint16(b[:2], k.dir)
	k.mu.Unlock()
	h := hex.EncodeToString(b[:])
	return h[0:2] + "/" + h[2:4] + "/" + h
}

// ValidKey reports whether key has the form NewKey makes.
func ValidKey(key string) bool {
	if len(key) != 38 || key[2] != '/' || key[5] != '/' || key[0:2] != key[6:8] || key[3:5] != key[8:10] {
		return false
	}
	for i := 6; i < len(key); i++ {
		c := key[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
