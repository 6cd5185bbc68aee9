// Package fileblob is the filesystem implementation of blob.Store, the archive's embedded
// default.
//
// Layout of a store directory:
//
//	.lightbox-storage   sentinel: marks the directory as a store and holds its random ID
//	tmp/                objects being written (named <creation time>-<random>.tmp)
//	3f/a0/3fa0…         committed objects, one file per key
//
// Every file access goes through an os.Root opened on the directory, so no key, name or
// symbolic link planted in the tree can reach outside it; keys are checked with blob.ValidKey
// before use.
//
// Durability: Commit syncs the object's data, links it under its key (never replacing an
// existing object) and syncs the key's directory (and any directory it had to create) before it
// returns, so an acknowledged object survives a crash. A crash before Commit returns leaves at
// most a temporary file, which Sweep removes.
//
// While an object is written, the kernel is asked to start writing each completed stretch of
// writebackChunk bytes to the device (sync_file_range(2) on Linux), so that the data of a large
// object is mostly on the device by the time Commit syncs it: Commit then waits for the tail
// only. Measured on a virtio disk with 525 KB objects arriving at network speed, the final
// fdatasync went from about 0.5 ms to 0.2 ms.
//
// CreateAt (blob.InPlaceCreator) writes a new object directly under its key instead: the key's
// directory is synced while the data is still being written (concurrent commits in one
// directory share that sync), and Commit only has to sync the object's data, with no link,
// rename or second directory sync after it. An interrupted object written in place is left
// under its key; the archive's startup sweep removes it as a blob no index row refers to.
//
// A vanished mount: the sentinel is checked (one stat through the directory's path) before every
// Create and Commit, and when Open or Delete miss, Walk starts or Sweep starts. If the path no
// longer leads to the sentinel seen when the store was opened (removed, or the directory now
// belongs to another filesystem, such as an empty mount point left by a failed mount), the
// operation fails with blob.ErrUnavailable instead of writing to, or reporting objects missing
// from, the wrong disk.
//
// Objects are created with mode 0640 and directories with 0750 (less the umask): instance files
// hold patient data.
package fileblob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/blob"
)

const (
	// SentinelName is the file that marks a directory as a store.
	SentinelName = ".lightbox-storage"
	// DefaultMinFreeBytes is the free-space threshold used when Options.MinFreeBytes is 0: below
	// it, Create refuses new objects, leaving room for commits in flight, the index and logs.
	DefaultMinFreeBytes = 64 << 20

	tmpDir = "tmp"
	// writebackChunk is how much written data makes the writer start its writeback.
	writebackChunk = 128 << 10
	filePerm       = 0o640
	dirPerm        = 0o750
)

// Options configure a Store. The zero value is the safe default.
type Options struct {
	// MinFreeBytes: Create fails with blob.ErrNoSpace while the filesystem has less space
	// available (to unprivileged users) than this. 0 means DefaultMinFreeBytes; a negative value
	// disables the check.
	MinFreeBytes int64
	// Init makes Open take an existing directory that has no sentinel as a store (writing the
	// sentinel). Without it, such a directory is refused with blob.ErrUnavailable: it is most
	// likely an empty mount point whose filesystem failed to mount. A directory that does not
	// exist is always created and initialised.
	Init bool
	// NoDirSync skips syncing directories after creating, renaming or removing entries in them.
	// Committed objects may then be lost in a crash; it exists for filesystems that reject
	// fsync on directories, and for throwaway stores.
	NoDirSync bool
}

// Store is a blob.Store in a local directory. It is safe for concurrent use; a directory must be
// used by one Store (one process) at a time.
type Store struct {
	dir      string // absolute
	root     *os.Root
	id       string
	sentinel os.FileInfo // as seen through the path at Open
	minFree  int64       // 0: no check
	dirSync  bool

	// treeMu: commits hold it shared while creating key directories and linking into them;
	// Delete holds it exclusively while removing emptied directories, so that it never removes
	// a directory a commit is about to link into.
	treeMu sync.RWMutex
	// mkdirMu is held while a key directory is created and its parent synced, so that a commit
	// that finds the directory existing knows it is durable.
	mkdirMu sync.Mutex
	// renameMu serialises the check-then-rename used where hard links are not supported.
	renameMu sync.Mutex
	// dirs are the key directories known to exist durably ("ab/cd" → *keyDir), so that
	// CreateAt makes and syncs each once; Delete forgets those it removes (under treeMu).
	dirs   sync.Map
	closed atomic.Bool
	// fsSync coordinates SyncAll's shared filesystem syncs.
	fsSync struct {
		mu        sync.Mutex
		requested uint64        // calls so far (a counter)
		done      uint64        // calls covered by the last completed sync
		running   chan struct{} // closed when the sync in flight completes; nil if none
		err       error         // error of the last completed sync
	}
}

var (
	_ blob.Store          = (*Store)(nil)
	_ blob.InPlaceCreator = (*Store)(nil)
	_ blob.BulkSyncer     = (*Store)(nil)
)

// Open opens the store in dir, creating dir and its sentinel if dir does not exist. An existing
// dir without a sentinel is refused with an error wrapping blob.ErrUnavailable unless opts.Init
// is set.
//
// Note that if the store directory lies inside a mount point (the mount is /srv/images, the store
// /srv/images/lightbox), a missing mount makes the directory absent, and Open creates a new store
// on the underlying filesystem. Point dir at the mount point itself to have that case refused.
func Open(dir string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fileblob: %w", err)
	}
	created := false
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		if err := mkdirAll(abs, !opts.NoDirSync); err != nil {
			return nil, fmt.Errorf("fileblob: create store directory: %w", err)
		}
		created = true
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("fileblob: %w: %w", blob.ErrUnavailable, err)
	}
	s := &Store{dir: abs, root: root, dirSync: !opts.NoDirSync}
	switch {
	case opts.MinFreeBytes == 0:
		s.minFree = DefaultMinFreeBytes
	case opts.MinFreeBytes > 0:
		s.minFree = opts.MinFreeBytes
	}
	if err := s.init(created || opts.Init); err != nil {
		root.Close()
		return nil, err
	}
	return s, nil
}

// mkdirAll creates dir and its missing parents, syncing the parent of each directory it creates
// if sync is set.
func mkdirAll(dir string, sync bool) error {
	existing := filepath.Dir(dir)
	for {
		if _, err := os.Stat(existing); err == nil || existing == filepath.Dir(existing) {
			break
		}
		existing = filepath.Dir(existing)
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil || !sync {
		return err
	}
	for d := dir; d != existing; d = filepath.Dir(d) {
		f, err := os.Open(filepath.Dir(d))
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// init reads the sentinel, writing it first if allowed, and makes the tmp directory.
func (s *Store) init(mayCreate bool) error {
	data, err := s.root.ReadFile(SentinelName)
	if errors.Is(err, fs.ErrNotExist) {
		if !mayCreate {
			return fmt.Errorf("fileblob: %s has no %s: not a Lightbox store, or its filesystem is not mounted (open with Init to initialise it): %w",
				s.dir, SentinelName, blob.ErrUnavailable)
		}
		if err := s.mkdirTmp(); err != nil {
			return err
		}
		if err := s.writeSentinel(); err != nil {
			return err
		}
		data, err = s.root.ReadFile(SentinelName)
	}
	if err != nil {
		return fmt.Errorf("fileblob: read sentinel: %w: %w", blob.ErrUnavailable, err)
	}
	id, ok := parseSentinel(data)
	if !ok {
		return fmt.Errorf("fileblob: %s: malformed sentinel %s: %w", s.dir, SentinelName, blob.ErrUnavailable)
	}
	s.id = id
	if s.sentinel, err = os.Stat(filepath.Join(s.dir, SentinelName)); err != nil {
		return fmt.Errorf("fileblob: %w: %w", blob.ErrUnavailable, err)
	}
	return s.mkdirTmp()
}

func (s *Store) mkdirTmp() error {
	err := s.root.Mkdir(tmpDir, dirPerm)
	if err == nil {
		err = s.syncDir(".")
	} else if errors.Is(err, fs.ErrExist) {
		err = nil
	}
	if err != nil {
		return ioErr("create tmp directory", err)
	}
	return nil
}

const sentinelHeader = "Lightbox object storage. Do not remove this file: without it Lightbox refuses to use the directory.\n"

// writeSentinel writes a new sentinel durably: a temporary file, synced, then linked into place
// (so a concurrent initialisation or a crash cannot leave a partial sentinel).
func (s *Store) writeSentinel() error {
	tmp := tmpDir + "/" + tmpName()
	content := sentinelHeader + "id=" + randomHex(16) + "\n"
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return ioErr("write sentinel", err)
	}
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.publish(tmp, SentinelName)
		if errors.Is(err, fs.ErrExist) {
			err = nil // initialised concurrently: use that sentinel
		}
	}
	if rerr := s.root.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	if err == nil {
		err = s.syncDir(".")
	}
	if err != nil {
		return ioErr("write sentinel", err)
	}
	return nil
}

func parseSentinel(data []byte) (string, bool) {
	for line := range strings.Lines(string(data)) {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "id="); ok && len(id) == 32 {
			if _, err := hex.DecodeString(id); err == nil {
				return id, true
			}
		}
	}
	return "", false
}

// checkSentinel reports blob.ErrUnavailable unless the store's path still leads to the sentinel
// seen at Open.
func (s *Store) checkSentinel() error {
	fi, err := os.Stat(filepath.Join(s.dir, SentinelName))
	if err != nil {
		return fmt.Errorf("fileblob: %s: storage sentinel missing (filesystem unmounted?): %w: %w", s.dir, blob.ErrUnavailable, err)
	}
	if !os.SameFile(fi, s.sentinel) {
		return fmt.Errorf("fileblob: %s: storage sentinel replaced (another filesystem mounted?): %w", s.dir, blob.ErrUnavailable)
	}
	return nil
}

// Dir returns the store's directory (absolute), for administrators.
func (s *Store) Dir() string { return s.dir }

// ID returns the random ID written in the store's sentinel when it was initialised.
func (s *Store) ID() string { return s.id }

// Create starts a new object in tmp/. It fails with blob.ErrUnavailable if the sentinel is gone
// and with blob.ErrNoSpace below the free-space threshold.
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := s.checkCreate(ctx); err != nil {
		return nil, err
	}
	name := tmpDir + "/" + tmpName()
	f, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
	if errors.Is(err, fs.ErrNotExist) { // tmp/ removed behind our back
		if err = s.mkdirTmp(); err == nil {
			f, err = s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
		}
	}
	if err != nil {
		return nil, ioErr("create", err)
	}
	return &writer{s: s, f: f, name: name}, nil
}

// keyDir is a key directory known to exist durably, with the state of its syncs: entries
// created in it become durable when a sync that started after their creation has completed.
// Concurrent commits in one directory share one sync.
type keyDir struct {
	name    string
	mu      sync.Mutex
	created uint64        // entries created so far (a counter)
	synced  uint64        // entries made durable by the last completed sync
	syncing chan struct{} // closed when the sync in flight completes; nil if none
	err     error         // error of the last completed sync
}

// added counts an entry created in d and returns its number.
func (d *keyDir) added() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.created++
	return d.created
}

// syncTo returns once entry n of d is durable: after a sync of d that started after the entry
// was created.
func (d *keyDir) syncTo(s *Store, n uint64) error {
	for {
		d.mu.Lock()
		if d.synced >= n {
			err := d.err
			d.mu.Unlock()
			return err
		}
		if wait := d.syncing; wait != nil {
			d.mu.Unlock()
			<-wait
			continue
		}
		target := d.created
		done := make(chan struct{})
		d.syncing = done
		d.mu.Unlock()

		err := s.syncDir(d.name)

		d.mu.Lock()
		d.syncing = nil
		if err == nil && target > d.synced {
			d.synced = target
		}
		d.err = err
		d.mu.Unlock()
		close(done)
		if err != nil {
			return err
		}
	}
}

// keyDir returns the directory of key, creating it (and its parent) durably if needed.
// Callers hold treeMu shared.
func (s *Store) keyDir(key string) (*keyDir, error) {
	name := path.Dir(key)
	if d, ok := s.dirs.Load(name); ok {
		return d.(*keyDir), nil
	}
	if err := s.mkdirs(name); err != nil {
		return nil, err
	}
	d, _ := s.dirs.LoadOrStore(name, &keyDir{name: name})
	return d.(*keyDir), nil
}

// CreateAt starts a new object written in place under key (see the package comment): Walk
// lists it and Open opens it before Commit, which is the caller's concern (the archive refers
// to a key only once it is committed). A key that exists already fails with fs.ErrExist.
func (s *Store) CreateAt(ctx context.Context, key string) (blob.Writer, error) {
	return s.createAt(ctx, key, false)
}

// CreateDeferred starts a new object written in place under key whose Commit neither syncs its
// data nor its directory: SyncAll (one sync of the whole filesystem, syncfs(2)) makes it durable,
// together with every other object committed before. It fails with errors.ErrUnsupported where
// the system has no syncfs.
func (s *Store) CreateDeferred(ctx context.Context, key string) (blob.Writer, error) {
	if !haveSyncFS {
		return nil, fmt.Errorf("fileblob: deferred sync: %w", errors.ErrUnsupported)
	}
	return s.createAt(ctx, key, true)
}

// SyncAll makes every object committed so far durable, with their names: one syncfs(2) of the
// store's filesystem, which writes out every dirty page and inode of that filesystem (also those
// of other files on it) and, since Linux 5.8, reports any write-back error the filesystem has
// had since the previous call.
//
// Concurrent calls share syncs: a call returns once a sync that started after the call began
// has completed, so that callers arriving while a sync runs wait for one more, together.
func (s *Store) SyncAll(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fileblob: sync: %w", err)
	}
	if err := s.checkSentinel(); err != nil {
		return err
	}
	g := &s.fsSync
	g.mu.Lock()
	g.requested++
	n := g.requested
	for {
		if g.done >= n {
			err := g.err
			g.mu.Unlock()
			return err
		}
		if wait := g.running; wait != nil {
			g.mu.Unlock()
			<-wait
			g.mu.Lock()
			continue
		}
		target := g.requested
		done := make(chan struct{})
		g.running = done
		g.mu.Unlock()
		err := s.syncAll()
		g.mu.Lock()
		g.running = nil
		g.done, g.err = target, err
		close(done)
	}
}

// syncAll syncs the store's filesystem once.
func (s *Store) syncAll() error {
	f, err := s.root.Open(".")
	if err != nil {
		return ioErr("sync", err)
	}
	defer f.Close()
	if err := syncFS(f); err != nil {
		return ioErr("sync", err)
	}
	return nil
}

func (s *Store) createAt(ctx context.Context, key string, deferred bool) (blob.Writer, error) {
	if !blob.ValidKey(key) {
		return nil, fmt.Errorf("fileblob: create %q: %w", key, blob.ErrInvalidKey)
	}
	if err := s.checkCreate(ctx); err != nil {
		return nil, err
	}
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	var f *os.File
	var d *keyDir
	for attempt := 0; ; attempt++ {
		var err error
		if d, err = s.keyDir(key); err != nil {
			return nil, ioErr("create: create directories", err)
		}
		f, err = s.root.OpenFile(key, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
		if err == nil {
			break
		}
		if errors.Is(err, fs.ErrNotExist) && attempt == 0 {
			// The directory was removed behind our back: make it again.
			s.dirs.Delete(d.name)
			continue
		}
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("fileblob: create %s: object exists: %w", key, fs.ErrExist)
		}
		return nil, ioErr("create", err)
	}
	w := &writer{s: s, f: f, name: key, inPlace: true, deferred: deferred, dir: d, entry: d.added(), dirSynced: make(chan error, 1)}
	if s.dirSync && !deferred {
		// Make the new name durable while the data is written.
		go func() { w.dirSynced <- d.syncTo(s, w.entry) }()
	} else {
		w.dirSynced <- nil
	}
	return w, nil
}

// checkCreate checks that a new object may be created: the context, the sentinel, the free
// space.
func (s *Store) checkCreate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fileblob: create: %w", err)
	}
	if err := s.checkSentinel(); err != nil {
		return err
	}
	if s.minFree > 0 {
		avail, err := freeBytes(s.dir)
		if err != nil {
			return ioErr("create: statfs", err)
		}
		if avail < uint64(s.minFree) {
			return fmt.Errorf("fileblob: create: %d bytes free in %s, below the threshold of %d: %w",
				avail, s.dir, s.minFree, blob.ErrNoSpace)
		}
	}
	return nil
}

func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// tmpName returns a new temporary file name: the creation time (Unix nanoseconds, hex), so that
// Sweep can age files whatever their modification time, and random bits.
func tmpName() string {
	return fmt.Sprintf("%016x-%s.tmp", time.Now().UnixNano(), randomHex(8))
}

// tmpCreated parses the creation time out of a tmpName.
func tmpCreated(name string) (time.Time, bool) {
	stamp, _, ok := strings.Cut(name, "-")
	if !ok || len(stamp) != 16 {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(stamp, 16, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return hex.EncodeToString(b)
}

// writer is a blob.Writer on a temporary file. Like any io.Writer it is for one goroutine.
type writer struct {
	s    *Store
	f    *os.File // nil once closed
	name string   // temporary file (or the key, in place), relative to the root
	err  error    // first write error: Commit refuses a partial object
	done bool     // committed, failed to commit, or aborted
	off  int64    // bytes written
	wb   int64    // offset up to which writeback has been started

	// Written in place (CreateAt): the key's directory, the entry's number in it, and the
	// outcome of the directory sync started at creation.
	inPlace   bool
	deferred  bool // CreateDeferred: Commit does not sync (SyncAll does)
	dir       *keyDir
	entry     uint64
	dirSynced chan error
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("fileblob: write: %w", os.ErrClosed)
	}
	n, err := w.f.Write(p)
	w.off += int64(n)
	if err != nil {
		err = ioErr("write", err)
		if w.err == nil {
			w.err = err
		}
	} else if w.off-w.wb >= writebackChunk {
		startWriteback(w.f, w.wb, w.off-w.wb)
		w.wb = w.off
	}
	return n, err
}

// Commit makes the object durable and visible under key. Whether it succeeds or not, the writer
// is finished: on failure the temporary file is removed and nothing becomes visible. A key that
// exists already fails with an error wrapping fs.ErrExist.
func (w *writer) Commit(ctx context.Context, key string) error {
	if w.done {
		return fmt.Errorf("fileblob: commit: %w", os.ErrClosed)
	}
	w.done = true
	err := w.commit(ctx, key)
	if err != nil {
		w.discard()
	}
	return err
}

func (w *writer) commit(ctx context.Context, key string) error {
	if !blob.ValidKey(key) {
		return fmt.Errorf("fileblob: commit %q: %w", key, blob.ErrInvalidKey)
	}
	if w.err != nil {
		return fmt.Errorf("fileblob: commit after a failed write: %w", w.err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fileblob: commit: %w", err)
	}
	if w.inPlace && key != w.name {
		return fmt.Errorf("fileblob: commit %s: the object was created as %s", key, w.name)
	}
	if err := w.s.checkSentinel(); err != nil {
		return err
	}
	if w.deferred {
		f := w.f
		w.f = nil
		if err := f.Close(); err != nil {
			return ioErr("commit: close", err)
		}
		return nil
	}
	if w.inPlace {
		// The name is synced by the directory sync started at creation; the data (and the
		// size, which fdatasync includes) here.
		if err := fdatasync(w.f); err != nil {
			return ioErr("commit: sync", err)
		}
		if err := <-w.dirSynced; err != nil {
			return ioErr("commit: sync directory", err)
		}
		f := w.f
		w.f = nil
		if err := f.Close(); err != nil {
			return ioErr("commit: close", err)
		}
		return nil
	}
	if err := w.f.Sync(); err != nil {
		return ioErr("commit: sync", err)
	}
	f := w.f
	w.f = nil
	if err := f.Close(); err != nil {
		return ioErr("commit: close", err)
	}
	return w.s.place(w.name, key)
}

// fdatasync syncs f's data and the metadata needed to read it back (its size), not its
// timestamps.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// discard closes and removes the temporary file.
func (w *writer) discard() error {
	var err error
	if w.f != nil {
		err = w.f.Close()
		w.f = nil
	}
	if rerr := w.s.root.Remove(w.name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	if err != nil {
		return ioErr("abort", err)
	}
	return nil
}

// Abort discards the object; after Commit (or a second Abort) it does nothing.
func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	return w.discard()
}

// place moves the synced temporary file tmp to key durably.
func (s *Store) place(tmp, key string) error {
	s.treeMu.RLock()
	defer s.treeMu.RUnlock()
	dir := path.Dir(key)
	if err := s.mkdirs(dir); err != nil {
		return ioErr("commit: create directories", err)
	}
	if err := s.publish(tmp, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("fileblob: commit %s: object exists: %w", key, fs.ErrExist)
		}
		return ioErr("commit", err)
	}
	if err := s.syncDir(dir); err != nil {
		// Not known to be durable: withdraw it rather than leave an object the caller was
		// told failed.
		s.root.Remove(key)
		return ioErr("commit: sync directory", err)
	}
	return nil
}

// mkdirs creates the key directory dir ("ab/cd") and its parent as needed, syncing the parent of
// each directory it creates.
func (s *Store) mkdirs(dir string) error {
	parent, _ := path.Split(dir)
	for _, d := range []string{path.Clean(parent), dir} {
		s.mkdirMu.Lock()
		err := s.root.Mkdir(d, dirPerm)
		if err == nil {
			err = s.syncDir(path.Dir(d))
		} else if errors.Is(err, fs.ErrExist) {
			err = nil
		}
		s.mkdirMu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// publish gives the file tmp the name name, failing with fs.ErrExist if name exists. It links
// (atomic and never replacing) and removes tmp; where the filesystem has no hard links, it checks
// and renames under renameMu, which is atomic only within this process (one process per store).
// A crash between link and unlink leaves the temporary name, which Sweep removes.
func (s *Store) publish(tmp, name string) error {
	err := s.root.Link(tmp, name)
	if err == nil {
		s.root.Remove(tmp) // left over, Sweep removes it
		return nil
	}
	if errors.Is(err, fs.ErrExist) || !linkUnsupported(err) {
		return err
	}
	s.renameMu.Lock()
	defer s.renameMu.Unlock()
	if _, err := s.root.Lstat(name); err == nil {
		return fs.ErrExist
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return s.root.Rename(tmp, name)
}

func linkUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EPERM) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EMLINK)
}

func (s *Store) syncDir(dir string) error {
	if !s.dirSync {
		return nil
	}
	f, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// object is a committed object: an *os.File (so that io.Copy to a socket can use sendfile) with
// its size.
type object struct {
	*os.File
	size int64
}

func (o *object) Size() int64 { return o.size }

// Open opens the committed object key.
func (s *Store) Open(ctx context.Context, key string) (blob.Object, error) {
	if !blob.ValidKey(key) {
		return nil, fmt.Errorf("fileblob: open %q: %w", key, blob.ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fileblob: open: %w", err)
	}
	f, err := s.root.OpenFile(key, os.O_RDONLY, 0)
	if err != nil {
		if missing(err) {
			return nil, s.notFound("open", key)
		}
		return nil, ioErr("open", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ioErr("open", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("fileblob: open %s: not a regular file (%v)", key, fi.Mode().Type())
	}
	return &object{File: f, size: fi.Size()}, nil
}

func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// notFound returns blob.ErrNotFound, or blob.ErrUnavailable if the store itself is missing.
func (s *Store) notFound(op, key string) error {
	if err := s.checkSentinel(); err != nil {
		return err
	}
	return fmt.Errorf("fileblob: %s %s: %w", op, key, blob.ErrNotFound)
}

var _ blob.Syncer = (*Store)(nil)

// Sync makes the object key durable: its data and size (fdatasync) and its name (a sync of its
// directory).
func (s *Store) Sync(ctx context.Context, key string) error {
	if !blob.ValidKey(key) {
		return fmt.Errorf("fileblob: sync %q: %w", key, blob.ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fileblob: sync: %w", err)
	}
	f, err := s.root.Open(key)
	if err != nil {
		if missing(err) {
			return s.notFound("sync", key)
		}
		return ioErr("sync", err)
	}
	err = fdatasync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.syncDir(path.Dir(key))
	}
	if err != nil {
		return ioErr("sync", err)
	}
	return nil
}

// Delete removes the committed object key, then its directories if they are left empty.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !blob.ValidKey(key) {
		return fmt.Errorf("fileblob: delete %q: %w", key, blob.ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fileblob: delete: %w", err)
	}
	fi, err := s.root.Lstat(key)
	if err != nil {
		if missing(err) {
			return s.notFound("delete", key)
		}
		return ioErr("delete", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("fileblob: delete %s: is a directory", key)
	}
	if err := s.root.Remove(key); err != nil {
		if missing(err) {
			return s.notFound("delete", key)
		}
		return ioErr("delete", err)
	}
	// Remove emptied directories (best effort: a non-empty one stays) and sync the deepest
	// remaining one.
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	dir := path.Dir(key)
	for dir != "." && s.root.Remove(dir) == nil {
		s.dirs.Delete(dir)
		dir = path.Dir(dir)
	}
	if err := s.syncDir(dir); err != nil {
		return ioErr("delete: sync directory", err)
	}
	return nil
}

// Walk calls fn for every committed object; it skips tmp/, the sentinel and anything that is not
// a key. It stops at the first error fn returns and returns it.
func (s *Store) Walk(ctx context.Context, fn func(key string, size int64) error) error {
	if err := s.checkSentinel(); err != nil {
		return err
	}
	top, err := s.readDir(".")
	if err != nil {
		return ioErr("walk", err)
	}
	for _, e1 := range top {
		if !e1.IsDir() || !isHexByte(e1.Name()) {
			continue
		}
		mid, err := s.readDir(e1.Name())
		if err != nil {
			if missing(err) {
				continue
			}
			return ioErr("walk", err)
		}
		for _, e2 := range mid {
			if !e2.IsDir() || !isHexByte(e2.Name()) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("fileblob: walk: %w", err)
			}
			dir := e1.Name() + "/" + e2.Name()
			files, err := s.readDir(dir)
			if err != nil {
				if missing(err) {
					continue
				}
				return ioErr("walk", err)
			}
			for _, e := range files {
				key := dir + "/" + e.Name()
				if !e.Type().IsRegular() || !blob.ValidKey(key) {
					continue
				}
				fi, err := e.Info()
				if err != nil {
					if missing(err) {
						continue // deleted meanwhile
					}
					return ioErr("walk", err)
				}
				if err := fn(key, fi.Size()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// isHexByte reports whether name is a key directory name: two lowercase hex digits.
func isHexByte(name string) bool {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
	return len(name) == 2 && isHex(name[0]) && isHex(name[1])
}

func (s *Store) readDir(dir string) ([]fs.DirEntry, error) {
	f, err := s.root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// Sweep removes temporary files whose creation and last modification are both older than
// olderThan (0: all of them, which is for startup, before any writer exists). A writer whose
// file was swept fails to Commit.
func (s *Store) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	if err := s.checkSentinel(); err != nil {
		return 0, err
	}
	entries, err := s.readDir(tmpDir)
	if err != nil {
		if missing(err) {
			return 0, nil
		}
		return 0, ioErr("sweep", err)
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("fileblob: sweep: %w", err)
		}
		if olderThan > 0 {
			fi, err := e.Info()
			if err != nil {
				if missing(err) {
					continue
				}
				return n, ioErr("sweep", err)
			}
			t := fi.ModTime()
			if c, ok := tmpCreated(e.Name()); ok && c.After(t) {
				t = c
			}
			if !t.Before(cutoff) {
				continue
			}
		}
		if err := s.root.RemoveAll(tmpDir + "/" + e.Name()); err != nil {
			return n, ioErr("sweep", err)
		}
		n++
	}
	return n, nil
}

// Close releases the store's directory handle. Objects still open stay readable; writers still
// open can no longer commit. A second Close does nothing.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.root.Close(); err != nil {
		return fmt.Errorf("fileblob: close: %w", err)
	}
	return nil
}

// ioErr wraps a filesystem error, marking a full filesystem or quota with blob.ErrNoSpace and a
// read-only one with blob.ErrUnavailable.
func ioErr(op string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("fileblob: %s: %w: %w", op, blob.ErrNoSpace, err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("fileblob: %s: %w: %w", op, blob.ErrUnavailable, err)
	}
	return fmt.Errorf("fileblob: %s: %w", op, err)
}
