package fileblob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/blob/blobtest"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return open(t, t.TempDir(), Options{Init: true})
	})
}

func open(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var errAny = errors.New("any error")

func TestOpen(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the directory to open
		init    bool
		wantErr error // nil, errAny or an error Open's must wrap
	}{
		{"missing directory is created", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "a", "b")
		}, false, nil},
		{"empty directory refused", func(t *testing.T, dir string) string {
			return dir
		}, false, blob.ErrUnavailable},
		{"empty directory with Init", func(t *testing.T, dir string) string {
			return dir
		}, true, nil},
		{"foreign directory refused", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, "notes.txt"), "not ours")
			return dir
		}, false, blob.ErrUnavailable},
		{"malformed sentinel", func(t *testing.T, dir string) string {
			writeFile(t, filepath.Join(dir, SentinelName), "id=xyz\n")
			return dir
		}, true, blob.ErrUnavailable},
		{"a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "file")
			writeFile(t, p, "x")
			return p
		}, true, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			s, err := Open(dir, Options{Init: tt.init})
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Open: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Open: err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			id := s.ID()
			if len(id) != 32 || s.Dir() != dir {
				t.Errorf("ID = %q, Dir = %q", id, s.Dir())
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			// Reopening (without Init) finds the same store.
			s = open(t, dir, Options{})
			if s.ID() != id {
				t.Errorf("reopened: ID = %q, want %q", s.ID(), id)
			}
			if got := files(t, dir); !slices.Equal(got, []string{SentinelName}) {
				t.Errorf("new store holds %v", got)
			}
		})
	}
}

func TestTwoStoresDiffer(t *testing.T) {
	a, b := open(t, t.TempDir(), Options{Init: true}), open(t, t.TempDir(), Options{Init: true})
	if a.ID() == b.ID() {
		t.Errorf("two stores share the ID %s", a.ID())
	}
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name   string
		vanish func(t *testing.T, dir string) (moved string) // returns where the old store is now
	}{
		{"sentinel removed", func(t *testing.T, dir string) string {
			if err := os.Remove(filepath.Join(dir, SentinelName)); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{"empty mount point left", func(t *testing.T, dir string) string {
			if err := os.Rename(dir, dir+".gone"); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			return dir + ".gone"
		}},
		{"another store mounted", func(t *testing.T, dir string) string {
			if err := os.Rename(dir, dir+".gone"); err != nil {
				t.Fatal(err)
			}
			other, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			other.Close()
			return dir + ".gone"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			dir := filepath.Join(t.TempDir(), "store")
			s := open(t, dir, Options{})
			kept := put(t, s, "kept")
			w, err := s.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("in flight")); err != nil {
				t.Fatal(err)
			}

			moved := tt.vanish(t, dir)

			if _, err := s.Create(ctx); !errors.Is(err, blob.ErrUnavailable) {
				t.Errorf("Create: err = %v, want ErrUnavailable", err)
			}
			key := blob.NewKey()
			if err := w.Commit(ctx, key); !errors.Is(err, blob.ErrUnavailable) {
				t.Errorf("Commit: err = %v, want ErrUnavailable", err)
			}
			if err := s.Walk(ctx, func(string, int64) error { return nil }); !errors.Is(err, blob.ErrUnavailable) {
				t.Errorf("Walk: err = %v, want ErrUnavailable", err)
			}
			if _, err := s.Sweep(ctx, 0); !errors.Is(err, blob.ErrUnavailable) {
				t.Errorf("Sweep: err = %v, want ErrUnavailable", err)
			}
			if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrUnavailable) {
				t.Errorf("Open of a missing key: err = %v, want ErrUnavailable, not ErrNotFound", err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrUnavailable) {
				t.Errorf("Delete of a missing key: err = %v, want ErrUnavailable, not ErrNotFound", err)
			}
			// What the store already has open stays readable.
			o, err := s.Open(ctx, kept)
			if err != nil {
				t.Fatalf("Open of a committed object: %v", err)
			}
			o.Close()
			// The failed Commit left nothing behind in the store.
			if got := files(t, moved); !slices.Contains(got, kept) || slices.ContainsFunc(got, isTmp) {
				t.Errorf("store holds %v, want %s and no temporary file", got, kept)
			}
			if tt.name != "another store mounted" {
				if _, err := Open(dir, Options{}); !errors.Is(err, blob.ErrUnavailable) {
					t.Errorf("reopen: err = %v, want ErrUnavailable", err)
				}
			}
		})
	}
}

func isTmp(name string) bool { return strings.HasPrefix(name, tmpDir+"/") }

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Init: true})
	key := put(t, s, "layout")
	got := files(t, dir)
	if want := []string{SentinelName, key}; !slices.Equal(got, want) {
		t.Errorf("store holds %v, want %v", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, key))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("object mode %v: readable by others", fi.Mode())
	}
	if err := s.Delete(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{SentinelName, tmpDir}; !slices.Equal(names, want) {
		t.Errorf("after Delete the store holds %v, want %v (emptied key directories removed)", names, want)
	}
}

func TestMinFreeBytes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		min     int64
		wantErr error
	}{
		{"above the free space", 1 << 62, blob.ErrNoSpace},
		{"disabled", -1, nil},
		{"default", 0, nil}, // the test machine has 64 MiB free
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, dir, Options{MinFreeBytes: tt.min, Init: true})
			w, err := s.Create(t.Context())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Create: err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				w.Abort()
			}
		})
	}
}

func TestSweepLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Init: true})
	long := time.Now().Add(-48 * time.Hour)
	leftovers := []struct {
		name  string
		mtime time.Time
		swept bool
	}{
		{tmpNameAt(long, 1), long, true},
		{tmpNameAt(long, 2), time.Now(), false}, // created long ago, still being written
		{tmpNameAt(time.Now(), 3), long, false}, // modification time set back: trust the later
		{"stray", long, true},
		{"fresh-stray", time.Now(), false},
	}
	for _, l := range leftovers {
		p := filepath.Join(dir, tmpDir, l.name)
		writeFile(t, p, "leftover")
		if err := os.Chtimes(p, l.mtime, l.mtime); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Sweep(t.Context(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Sweep(1h) removed %d, want 2", n)
	}
	for _, l := range leftovers {
		_, err := os.Stat(filepath.Join(dir, tmpDir, l.name))
		if gone := errors.Is(err, fs.ErrNotExist); gone != l.swept {
			t.Errorf("%s: removed = %v, want %v", l.name, gone, l.swept)
		}
	}
}

// tmpNameAt returns the i-th temporary file name with creation time t.
func tmpNameAt(t time.Time, i int) string {
	return fmt.Sprintf("%016x-%016x.tmp", t.UnixNano(), i)
}

func TestClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Init: true})
	if err != nil {
		t.Fatal(err)
	}
	key := put(t, s, "before close")
	o, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Create(t.Context()); err == nil {
		t.Errorf("Create after Close succeeded")
	}
	if data, err := io.ReadAll(o); err != nil || string(data) != "before close" {
		t.Errorf("object open across Close reads %q, %v", data, err)
	}
}

// TestPathSafety plants symbolic links leading out of the store: the store must not follow them.
func TestPathSafety(t *testing.T) {
	tests := []struct {
		name string
		// plant makes key in the store dir lead to the file secret outside it.
		plant func(t *testing.T, dir, key, outside string) (secret string)
	}{
		{"object links out (absolute)", func(t *testing.T, dir, key, outside string) string {
			secret := filepath.Join(outside, "secret")
			writeFile(t, secret, "secret")
			symlink(t, secret, filepath.Join(dir, key))
			return secret
		}},
		{"object links out (relative)", func(t *testing.T, dir, key, outside string) string {
			secret := filepath.Join(outside, "secret")
			writeFile(t, secret, "secret")
			rel, err := filepath.Rel(filepath.Dir(filepath.Join(dir, key)), secret)
			if err != nil {
				t.Fatal(err)
			}
			symlink(t, rel, filepath.Join(dir, key))
			return secret
		}},
		{"directory links out", func(t *testing.T, dir, key, outside string) string {
			secret := filepath.Join(outside, key[3:])
			writeFile(t, secret, "secret")
			if err := os.RemoveAll(filepath.Join(dir, key[:2])); err != nil {
				t.Fatal(err)
			}
			symlink(t, outside, filepath.Join(dir, key[:2]))
			return secret
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			base := t.TempDir()
			dir, outside := filepath.Join(base, "store"), filepath.Join(base, "outside")
			s := open(t, dir, Options{})
			key := blob.NewKey()
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(key)), 0o750); err != nil {
				t.Fatal(err)
			}
			secret := tt.plant(t, dir, key, outside)

			if o, err := s.Open(ctx, key); err == nil {
				data, _ := io.ReadAll(o)
				o.Close()
				t.Errorf("Open followed the link out of the store and read %q", data)
			}
			if err := s.Walk(ctx, func(k string, _ int64) error {
				t.Errorf("Walk listed %s", k)
				return nil
			}); err != nil {
				t.Errorf("Walk: %v", err)
			}
			s.Delete(ctx, key) // may remove the link itself, never what it points to
			if data, err := os.ReadFile(secret); err != nil || string(data) != "secret" {
				t.Errorf("file outside the store after Delete: %q, %v", data, err)
			}
			// Commit does not write through the link either.
			w, err := s.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("overwrite"))
			w.Commit(ctx, key)
			if data, err := os.ReadFile(secret); err != nil || string(data) != "secret" {
				t.Errorf("file outside the store after Commit: %q, %v", data, err)
			}
			if got := files(t, outside); len(got) != 1 {
				t.Errorf("outside the store: %v, want only the secret", got)
			}
		})
	}
}

// TestDiskFull fills a small tmpfs (so it runs as root only).
func TestDiskFull(t *testing.T) {
	ctx := t.Context()
	dir, _ := tmpfs(t, "4m")

	t.Run("default threshold refuses a small filesystem", func(t *testing.T) {
		s := open(t, dir, Options{Init: true})
		if _, err := s.Create(ctx); !errors.Is(err, blob.ErrNoSpace) {
			t.Errorf("Create on 4 MiB with the default threshold: err = %v, want ErrNoSpace", err)
		}
	})
	t.Run("threshold above the size", func(t *testing.T) {
		s := open(t, dir, Options{MinFreeBytes: 8 << 20})
		if _, err := s.Create(ctx); !errors.Is(err, blob.ErrNoSpace) {
			t.Errorf("Create: err = %v, want ErrNoSpace", err)
		}
		if err := s.Walk(ctx, func(string, int64) error { return nil }); err != nil {
			t.Errorf("Walk of a full store: %v", err)
		}
	})

	s := open(t, dir, Options{MinFreeBytes: -1})
	mib := bytes.Repeat([]byte{0xa5}, 1<<20)
	a, b := put(t, s, string(mib)), put(t, s, string(mib[:1000]))

	// fill writes 1 MiB at a time until the filesystem is full.
	fill := func(t *testing.T) blob.Writer {
		t.Helper()
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		for range 8 {
			_, err = w.Write(mib)
			if err != nil {
				break
			}
		}
		if !errors.Is(err, blob.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
			w.Abort()
			t.Fatalf("writing 8 MiB to a 4 MiB filesystem: err = %v, want ErrNoSpace", err)
		}
		return w
	}
	only := []string{SentinelName, a, b}
	slices.Sort(only[1:])

	t.Run("abort after the write that does not fit", func(t *testing.T) {
		w := fill(t)
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		if got := files(t, dir); !slices.Equal(got, only) {
			t.Errorf("store holds %v, want %v", got, only)
		}
	})
	t.Run("commit after the write that does not fit", func(t *testing.T) {
		w := fill(t)
		key := blob.NewKey()
		if err := w.Commit(ctx, key); !errors.Is(err, blob.ErrNoSpace) {
			t.Errorf("Commit of a partial object: err = %v, want ErrNoSpace", err)
		}
		if got := files(t, dir); !slices.Equal(got, only) {
			t.Errorf("store holds %v, want %v", got, only)
		}
	})
	t.Run("earlier objects intact", func(t *testing.T) {
		for key, want := range map[string][]byte{a: mib, b: mib[:1000]} {
			if got := get(t, s, key); !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes, differing from the %d written", key, len(got), len(want))
			}
		}
	})
	t.Run("space freed is used without reopening", func(t *testing.T) {
		big := strings.Repeat("z", 7<<19) // 3.5 MiB: fits only once a is gone
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(big)); !errors.Is(err, blob.ErrNoSpace) {
			t.Errorf("3.5 MiB before Delete: err = %v, want ErrNoSpace", err)
		}
		w.Abort()
		if err := s.Delete(ctx, a); err != nil {
			t.Fatal(err)
		}
		key := put(t, s, big)
		if got := get(t, s, key); string(got) != big {
			t.Errorf("object written after Delete reads back %d bytes", len(got))
		}
	})
}

// tmpfs mounts a tmpfs of the given size on a new directory, or skips the test. unmount detaches
// it (lazily: open files keep it alive); the test's cleanup calls it if the test did not.
func tmpfs(t *testing.T, size string) (dir string, unmount func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir = t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	unmount = sync.OnceFunc(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	t.Cleanup(unmount)
	return dir, unmount
}

// TestMountVanished unmounts the filesystem under an open store: the store must notice rather
// than write to, or report objects missing from, the empty mount point.
func TestMountVanished(t *testing.T) {
	ctx := t.Context()
	dir, unmount := tmpfs(t, "4m")
	s := open(t, dir, Options{Init: true, MinFreeBytes: -1})
	kept := put(t, s, "kept")
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("in flight")); err != nil {
		t.Fatal(err)
	}

	unmount()

	if _, err := s.Create(ctx); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Create: err = %v, want ErrUnavailable", err)
	}
	if err := w.Commit(ctx, blob.NewKey()); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Commit: err = %v, want ErrUnavailable", err)
	}
	if err := s.Walk(ctx, func(string, int64) error { return nil }); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Walk: err = %v, want ErrUnavailable", err)
	}
	if _, err := s.Open(ctx, blob.NewKey()); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Open of a missing key: err = %v, want ErrUnavailable", err)
	}
	if got := get(t, s, kept); string(got) != "kept" {
		t.Errorf("object on the detached filesystem reads %q", got)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("reopening the empty mount point: err = %v, want ErrUnavailable", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("the mount point holds %v, want nothing", got)
	}
}

func put(t *testing.T, s *Store, data string) string {
	t.Helper()
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := w.Write([]byte(data)); err != nil {
		w.Abort()
		t.Fatalf("Write: %v", err)
	}
	key := blob.NewKey()
	if err := w.Commit(t.Context(), key); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return key
}

func get(t *testing.T, s *Store, key string) []byte {
	t.Helper()
	o, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer o.Close()
	data, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return data
}

// files lists the files (not directories) under dir, as sorted slash-separated relative paths.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	slices.Sort(got)
	return got
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o640); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// TestCreateAt: an object written in place is readable under its key once committed, is
// refused a second time, must be committed under its own key, and leaves nothing when
// aborted; its directory is made again if a delete removed it.
func TestCreateAt(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), Options{Init: true})
	var keys blob.Keys
	k1, k2 := keys.New(), keys.New()
	if k1[:5] != k2[:5] || !blob.ValidKey(k1) || !blob.ValidKey(k2) {
		t.Fatalf("consecutive keys %s and %s: want valid keys in one directory", k1, k2)
	}
	w, err := s.CreateAt(ctx, k1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	if err := w.Commit(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, k1); got != "hello" {
		t.Fatalf("read %q", got)
	}
	if _, err := s.CreateAt(ctx, k1); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CreateAt of a committed key: %v, want fs.ErrExist", err)
	}
	w, _ = s.CreateAt(ctx, k2)
	w.Write([]byte("x"))
	if err := w.Commit(ctx, k1); err == nil {
		t.Fatal("Commit under another key than CreateAt's succeeded")
	}
	w, _ = s.CreateAt(ctx, k2)
	w.Write([]byte("y"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, k2); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after Abort: %v", err)
	}
	// Deleting the only object removes its directories; the next CreateAt there makes them
	// again.
	if err := s.Delete(ctx, k1); err != nil {
		t.Fatal(err)
	}
	w, err = s.CreateAt(ctx, k2)
	if err != nil {
		t.Fatalf("CreateAt after its directory was removed: %v", err)
	}
	w.Write([]byte("z"))
	if err := w.Commit(ctx, k2); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, k2); got != "z" {
		t.Fatalf("read %q", got)
	}
	// Many concurrent writers in one directory share its syncs.
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			k := keys.New()
			w, err := s.CreateAt(ctx, k)
			if err != nil {
				t.Error(err)
				return
			}
			w.Write([]byte(k))
			if err := w.Commit(ctx, k); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestCreateDeferred: objects written for a bulk sync are readable once committed, become
// durable with one SyncAll, are removed by Abort, and SyncAll fails like any operation once the
// store's directory is gone. Large objects cross the writeback threshold.
func TestCreateDeferred(t *testing.T) {
	if !haveSyncFS {
		t.Skip("no syncfs(2) on this system: CreateDeferred is unsupported")
	}
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir, Options{Init: true})
	var keys blob.Keys
	want := map[string]string{}
	for i := range 20 {
		k := keys.New()
		w, err := s.CreateDeferred(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.Repeat(k, 1+i*1000) // up to ~600 KB
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, k); err != nil {
			t.Fatal(err)
		}
		want[k] = body
	}
	k := keys.New()
	w, _ := s.CreateDeferred(ctx, k)
	w.Write([]byte("aborted"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncAll(ctx); err != nil {
		t.Fatal(err)
	}
	for k, body := range want {
		if got := readAll(t, s, k); got != body {
			t.Fatalf("%s: read %d bytes, want %d", k, len(got), len(body))
		}
	}
	if _, err := s.Open(ctx, k); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after Abort: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncAll(ctx); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("SyncAll with the store's directory removed: %v, want blob.ErrUnavailable", err)
	}
}

func readAll(t *testing.T, s *Store, key string) string {
	t.Helper()
	o, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
