// Package blobtest is the conformance suite of blob.Store: every implementation runs it from its
// tests with
//
//	blobtest.Run(t, func(t *testing.T) blob.Store { … a new, empty store … })
package blobtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/blob"
)

// Run runs the conformance suite. open returns a new, empty store for each subtest; Run closes
// it when the subtest ends (open may register its own cleanups, which run after that Close).
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"InvisibleBeforeCommit", testInvisibleBeforeCommit},
		{"Abort", testAbort},
		{"CommitExistingKey", testCommitExistingKey},
		{"InvalidKeys", testInvalidKeys},
		{"Delete", testDelete},
		{"Walk", testWalk},
		{"Sweep", testSweep},
		{"ContextCanceled", testContextCanceled},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Large", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	ctx := t.Context()
	for _, size := range []int64{0, 1, 4096, 100_003} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			want := content(uint64(size), size)
			key := put(t, s, want, 7919)
			o, err := s.Open(ctx, key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer o.Close()
			if o.Size() != size {
				t.Errorf("Size = %d, want %d", o.Size(), size)
			}
			got, err := io.ReadAll(o)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read back %d bytes, differing from the %d written", len(got), len(want))
			}

			for _, r := range []struct{ off, n int64 }{
				{0, 10}, {1, 100}, {size / 2, 1000}, {size - 1, 1}, {size - 1, 10}, {size, 1}, {size + 10, 5},
			} {
				if r.off < 0 {
					continue
				}
				checkReadAt(t, o, want, r.off, r.n)
			}

			seeks := []struct {
				off    int64
				whence int
				want   int64
			}{
				{size / 2, io.SeekStart, size / 2},
				{0, io.SeekCurrent, size / 2},
				{-size / 4, io.SeekCurrent, size/2 - size/4},
				{-min(size, 3), io.SeekEnd, size - min(size, 3)},
				{0, io.SeekStart, 0},
			}
			for _, sk := range seeks {
				pos, err := o.Seek(sk.off, sk.whence)
				if err != nil || pos != sk.want {
					t.Fatalf("Seek(%d, %d) = %d, %v; want %d", sk.off, sk.whence, pos, err, sk.want)
				}
				rest, err := io.ReadAll(o)
				if err != nil {
					t.Fatalf("read after Seek(%d, %d): %v", sk.off, sk.whence, err)
				}
				if !bytes.Equal(rest, want[pos:]) {
					t.Fatalf("read after Seek(%d, %d): %d bytes, not the object's tail from %d", sk.off, sk.whence, len(rest), pos)
				}
				if _, err := o.Seek(pos, io.SeekStart); err != nil {
					t.Fatalf("Seek back: %v", err)
				}
			}
		})
	}
}

// checkReadAt reads n bytes at off and checks them (and io.ReaderAt's rules on short reads)
// against want.
func checkReadAt(t *testing.T, r io.ReaderAt, want []byte, off, n int64) {
	t.Helper()
	p := make([]byte, n)
	got, err := r.ReadAt(p, off)
	wantN := max(0, min(n, int64(len(want))-off))
	if int64(got) != wantN {
		t.Fatalf("ReadAt(%d bytes at %d) = %d bytes, want %d (err %v)", n, off, got, wantN, err)
	}
	if wantN < n && err != io.EOF {
		t.Fatalf("short ReadAt(%d bytes at %d): err = %v, want io.EOF", n, off, err)
	}
	if wantN == n && err != nil && err != io.EOF {
		t.Fatalf("ReadAt(%d bytes at %d): %v", n, off, err)
	}
	if wantN > 0 && !bytes.Equal(p[:wantN], want[off:off+wantN]) {
		t.Fatalf("ReadAt(%d bytes at %d): wrong bytes", n, off)
	}
}

func testInvisibleBeforeCommit(t *testing.T, s blob.Store) {
	ctx := t.Context()
	key := blob.NewKey()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer w.Abort()
	if _, err := w.Write([]byte("not yet")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk before Commit = %v, want nothing", got)
	}
	if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open before Commit: err = %v, want ErrNotFound", err)
	}
	if err := w.Commit(ctx, key); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := read(t, s, key); string(got) != "not yet" {
		t.Errorf("after Commit: read %q", got)
	}
	if got := walk(t, s); len(got) != 1 || got[key] != 7 {
		t.Errorf("Walk after Commit = %v, want {%s: 7}", got, key)
	}
}

func testAbort(t *testing.T, s blob.Store) {
	ctx := t.Context()
	for _, data := range []string{"", "abandoned content"} {
		w, err := s.Create(ctx)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if _, err := w.Write([]byte(data)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		if err := w.Abort(); err != nil {
			t.Errorf("second Abort: %v", err)
		}
		key := blob.NewKey()
		if err := w.Commit(ctx, key); err == nil {
			t.Errorf("Commit after Abort succeeded")
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open after Abort and Commit: err = %v, want ErrNotFound", err)
		}
	}
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk after Abort = %v, want nothing", got)
	}
	if n := sweep(t, s, 0); n != 0 {
		t.Errorf("Sweep(0) after Abort removed %d, want 0", n)
	}
}

func testCommitExistingKey(t *testing.T, s blob.Store) {
	ctx := t.Context()
	first := []byte("the first object")
	key := put(t, s, first, 1<<20)
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := w.Write([]byte("a second, different object")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	err = w.Commit(ctx, key)
	if err == nil {
		t.Fatalf("Commit to an existing key succeeded")
	}
	if errors.Is(err, blob.ErrInvalidKey) || errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Commit to an existing key: err = %v, not a key or lookup error", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after failed Commit: %v", err)
	}
	if got := read(t, s, key); !bytes.Equal(got, first) {
		t.Errorf("existing object now reads %q, want %q", got, first)
	}
	if got := walk(t, s); len(got) != 1 || got[key] != int64(len(first)) {
		t.Errorf("Walk = %v, want only %s", got, key)
	}
	if n := sweep(t, s, 0); n != 0 {
		t.Errorf("failed Commit left %d temporary objects", n)
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := t.Context()
	valid := blob.NewKey()
	other := blob.NewKey()
	for _, key := range []string{
		"",
		"../../etc/passwd",
		"/etc/passwd",
		"ab/cd/ef",
		"../" + valid[3:],
		"/" + valid,
		"/" + valid[1:],
		valid + "/",
		valid[:37],
		valid + "0",
		valid + ".tmp",
		strings.ToUpper(valid),
		other[:6] + valid[6:],
		valid[:3] + other[3:],
		strings.ReplaceAll(valid, "/", "\\"),
		valid[:37] + "g",
		valid[:37] + "\x00",
		valid[:2] + "/./" + valid[6:],
		"tmp/" + valid[5:],
		".lightbox-storage",
	} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			w, err := s.Create(ctx)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if _, err := w.Write([]byte("x")); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := w.Commit(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Commit: err = %v, want ErrInvalidKey", err)
			}
			w.Abort()
			if o, err := s.Open(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Open: err = %v, want ErrInvalidKey", err)
				if err == nil {
					o.Close()
				}
			}
			if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Delete: err = %v, want ErrInvalidKey", err)
			}
		})
	}
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk = %v, want nothing", got)
	}
	if n := sweep(t, s, 0); n != 0 {
		t.Errorf("failed Commits left %d temporary objects", n)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := t.Context()
	a := put(t, s, []byte("object a"), 1<<20)
	// b shares a's directories (in stores that have them).
	b := a[:10] + blob.NewKey()[10:]
	putKey(t, s, b, []byte("object b"))

	if err := s.Delete(ctx, a); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Open(ctx, a); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, a); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, blob.NewKey()); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Delete of a key never used: err = %v, want ErrNotFound", err)
	}
	if got := read(t, s, b); string(got) != "object b" {
		t.Errorf("neighbour after Delete reads %q", got)
	}
	if err := s.Delete(ctx, b); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk after deleting everything = %v", got)
	}
	// The key can be used again.
	putKey(t, s, a, []byte("object a again"))
	if got := read(t, s, a); string(got) != "object a again" {
		t.Errorf("key reused after Delete reads %q", got)
	}
}

func testWalk(t *testing.T, s blob.Store) {
	ctx := t.Context()
	want := map[string]int64{}
	var deleted []string
	for i := range 30 {
		size := int64(i * 37)
		key := put(t, s, content(uint64(i), size), 1<<20)
		if i%5 == 0 {
			deleted = append(deleted, key)
		} else {
			want[key] = size
		}
	}
	for _, key := range deleted {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if got := walk(t, s); !mapsEqual(got, want) {
		t.Errorf("Walk = %v\nwant %v", got, want)
	}

	errStop := errors.New("stop")
	calls := 0
	err := s.Walk(ctx, func(string, int64) error { calls++; return errStop })
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("Walk with fn failing: err = %v after %d calls, want errStop after 1", err, calls)
	}

	// fn may delete what it is given.
	err = s.Walk(ctx, func(key string, _ int64) error { return s.Delete(ctx, key) })
	if err != nil {
		t.Errorf("Walk deleting every key: %v", err)
	}
	if got := walk(t, s); len(got) != 0 {
		t.Errorf("Walk after deleting in Walk = %v", got)
	}
}

func testSweep(t *testing.T, s blob.Store) {
	ctx := t.Context()
	kept := put(t, s, []byte("committed"), 1<<20)

	// Writers abandoned without Commit or Abort, as a crash leaves them.
	old, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := old.Write([]byte("abandoned")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n := sweep(t, s, time.Hour); n != 0 {
		t.Errorf("Sweep(1h) removed %d fresh temporary objects", n)
	}
	time.Sleep(300 * time.Millisecond)
	recent, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { recent.Abort() })
	if _, err := recent.Write([]byte("abandoned too")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n := sweep(t, s, 150*time.Millisecond); n != 1 {
		t.Errorf("Sweep(150ms) removed %d, want 1 (the older of two)", n)
	}
	if n := sweep(t, s, 0); n != 1 {
		t.Errorf("Sweep(0) removed %d, want 1", n)
	}
	if n := sweep(t, s, 0); n != 0 {
		t.Errorf("second Sweep(0) removed %d, want 0", n)
	}

	if got := read(t, s, kept); string(got) != "committed" {
		t.Errorf("committed object after Sweep reads %q", got)
	}
	if got := walk(t, s); len(got) != 1 {
		t.Errorf("Walk after Sweep = %v, want only %s", got, kept)
	}
	// A swept writer cannot commit: its data is gone.
	key := blob.NewKey()
	if err := old.Commit(ctx, key); err == nil {
		t.Errorf("Commit of a swept writer succeeded")
	}
	if _, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of a swept writer's key: err = %v, want ErrNotFound", err)
	}
}

func testContextCanceled(t *testing.T, s blob.Store) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	if w, err := s.Create(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("Create(canceled): err = %v, want context.Canceled", err)
		if err == nil {
			w.Abort()
		}
	}
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	key := blob.NewKey()
	if err := w.Commit(canceled, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit(canceled): err = %v, want context.Canceled", err)
	}
	w.Abort()
	if _, err := s.Open(t.Context(), key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open after a canceled Commit: err = %v, want ErrNotFound", err)
	}
	if n := sweep(t, s, 0); n != 0 {
		t.Errorf("canceled Commit left %d temporary objects", n)
	}
}

func testConcurrentWriters(t *testing.T, s blob.Store) {
	const writers, each = 20, 10
	ctx := t.Context()
	var keys [writers][each]string
	size := func(g, i int) int64 { return int64(1000 + (g*each+i)*97) }
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				w, err := s.Create(ctx)
				if err != nil {
					t.Errorf("Create: %v", err)
					return
				}
				data := content(uint64(g*each+i), size(g, i))
				for chunk := range chunks(data, 1000) {
					if _, err := w.Write(chunk); err != nil {
						w.Abort()
						t.Errorf("Write: %v", err)
						return
					}
				}
				key := blob.NewKey()
				if err := w.Commit(ctx, key); err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
				keys[g][i] = key
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for g := range writers {
		for i := range each {
			if got := read(t, s, keys[g][i]); !bytes.Equal(got, content(uint64(g*each+i), size(g, i))) {
				t.Errorf("object %d of writer %d reads wrong (%d bytes)", i, g, len(got))
			}
		}
	}
	if got := walk(t, s); len(got) != writers*each {
		t.Errorf("Walk lists %d objects, want %d", len(got), writers*each)
	}
}

func testLarge(t *testing.T, s blob.Store) {
	if testing.Short() {
		t.Skip("64 MiB object: skipped in -short mode")
	}
	const size, chunk, seed = 64 << 20, 1 << 20, 64
	ctx := t.Context()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	buf := make([]byte, chunk)
	for off := int64(0); off < size; off += chunk {
		fill(seed, off, buf)
		if _, err := w.Write(buf); err != nil {
			w.Abort()
			t.Fatalf("Write at %d: %v", off, err)
		}
	}
	key := blob.NewKey()
	if err := w.Commit(ctx, key); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	o, err := s.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer o.Close()
	if o.Size() != size {
		t.Fatalf("Size = %d, want %d", o.Size(), size)
	}
	got, want := make([]byte, chunk), make([]byte, chunk)
	for off := int64(0); off < size; off += chunk {
		if _, err := io.ReadFull(o, got); err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		fill(seed, off, want)
		if !bytes.Equal(got, want) {
			t.Fatalf("sequential read: wrong bytes in the MiB at %d", off)
		}
	}
	if n, err := o.Read(got); n != 0 || err != io.EOF {
		t.Fatalf("read at the end = %d, %v; want 0, io.EOF", n, err)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	ranges := [][2]int64{{0, 1}, {size - 1, 1}, {size - 100, 1000}, {chunk - 3, 7}}
	for range 200 {
		ranges = append(ranges, [2]int64{rng.Int64N(size), 1 + rng.Int64N(chunk)})
	}
	for _, r := range ranges {
		off, n := r[0], r[1]
		p := make([]byte, n)
		got, err := o.ReadAt(p, off)
		wantN := min(n, size-off)
		if int64(got) != wantN || (wantN < n && err != io.EOF) || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d bytes", n, off, got, err, wantN)
		}
		exp := make([]byte, wantN)
		fill(seed, off, exp)
		if !bytes.Equal(p[:wantN], exp) {
			t.Fatalf("ReadAt(%d bytes at %d): wrong bytes", n, off)
		}
	}
}

// put writes data as a new object in writes of at most chunk bytes and commits it under a new
// key.
func put(t *testing.T, s blob.Store, data []byte, chunk int) string {
	t.Helper()
	ctx := t.Context()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for p := range chunks(data, chunk) {
		if _, err := w.Write(p); err != nil {
			w.Abort()
			t.Fatalf("Write: %v", err)
		}
	}
	key := blob.NewKey()
	if err := w.Commit(ctx, key); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return key
}

// putKey writes data as a new object under key.
func putKey(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	w, err := s.Create(t.Context())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		t.Fatalf("Write: %v", err)
	}
	if err := w.Commit(t.Context(), key); err != nil {
		t.Fatalf("Commit %s: %v", key, err)
	}
}

// chunks yields data in pieces of at most n bytes (one empty piece for empty data).
func chunks(data []byte, n int) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for {
			p := data[:min(n, len(data))]
			data = data[len(p):]
			if !yield(p) || len(data) == 0 {
				return
			}
		}
	}
}

func read(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	o, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open %s: %v", key, err)
	}
	defer o.Close()
	data, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if int64(len(data)) != o.Size() {
		t.Errorf("%s: read %d bytes, Size says %d", key, len(data), o.Size())
	}
	return data
}

func walk(t *testing.T, s blob.Store) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	err := s.Walk(t.Context(), func(key string, size int64) error {
		if _, dup := got[key]; dup {
			t.Errorf("Walk: %s twice", key)
		}
		if !blob.ValidKey(key) {
			t.Errorf("Walk: invalid key %q", key)
		}
		got[key] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

func sweep(t *testing.T, s blob.Store, olderThan time.Duration) int {
	t.Helper()
	n, err := s.Sweep(t.Context(), olderThan)
	if err != nil {
		t.Fatalf("Sweep(%v): %v", olderThan, err)
	}
	return n
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// content returns size bytes of the deterministic stream seed.
func content(seed uint64, size int64) []byte {
	p := make([]byte, size)
	fill(seed, 0, p)
	return p
}

// fill fills p with the bytes at offset off of the deterministic stream seed: any range can be
// checked without keeping the object.
func fill(seed uint64, off int64, p []byte) {
	for len(p) > 0 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], mix(seed<<40^uint64(off>>3)))
		n := copy(p, w[off&7:])
		p, off = p[n:], off+int64(n)
	}
}

// mix is the SplitMix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
