package integration

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
)

// TestDiskFull fills a 64 MiB tmpfs holding the whole data directory (index and instances)
// until a C-STORE fails: the failure is 0xA700 (out of resources), no partial file is left, the
// instances stored before are intact, and once space is freed (a ballast file removed) stores
// succeed again within 10 s, without a restart. Two ways to run out: the filesystem itself
// (ENOSPC, min_free_mb = -1 disables the guard) and the min_free_mb guard. Root only: it mounts
// the tmpfs in a private mount namespace.
func TestDiskFull(t *testing.T) {
	if !isolateIn(t, 3*time.Minute, "-m", "-n") {
		return
	}
	for _, c := range []struct {
		name    string
		minFree string
	}{{"enospc", "-1"}, {"min-free", "24"}} {
		t.Run(c.name, func(t *testing.T) {
			mnt := t.TempDir()
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt).CombinedOutput(); err != nil {
				t.Skipf("mount tmpfs: %v: %s", err, out)
			}
			t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
			ballast := filepath.Join(mnt, "ballast")
			if err := os.WriteFile(ballast, make([]byte, 16<<20), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(t.TempDir(), "lightbox.toml")
			if err := os.WriteFile(cfg, []byte("[storage]\nmin_free_mb = "+c.minFree+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s := startServer(t, filepath.Join(mnt, "data"), "--config", cfg)
			rng := rand.New(rand.NewPCG(11, 11))
			st := newStudy("FULL1", "DISK^FULL", "20240601", 2)
			ctx := ctxFor(t, 2*time.Minute)
			c := s.mustDial(ctx, storeProposals())
			var stored []instance
			var failStatus dimse.Status
			var failErr error
			for i := 0; i < 400; i++ {
				in := encode(t, st.dataset(rng, newUID(), i, 256<<10))
				status, err := store(ctx, c, in)
				if err != nil || status != dimse.StatusSuccess {
					failStatus, failErr = status, err
					break
				}
				stored = append(stored, in)
			}
			c.Close()
			t.Logf("%d instances of 256 KiB stored before: status %v: %v", len(stored), failStatus, failErr)
			if failErr == nil {
				t.Fatalf("64 MiB never filled up")
			}
			if failStatus != dimse.StatusOutOfResources {
				t.Errorf("the C-STORE that found the disk full got %v (%v), want 0xA700", failStatus, failErr)
			}
			if len(stored) == 0 {
				t.Fatal("nothing stored")
			}
			// No partial file, nothing lost.
			n := s.mustHealth()
			if n != len(stored) {
				t.Errorf("/healthz: %d instances, %d acknowledged", n, len(stored))
			}
			checkNoOrphans(t, s.data, n)
			got := s.mustGet("STUDY", st.StudyUID)
			for _, in := range stored {
				if r, ok := got[in.SOP]; !ok || !bytes.Equal(r.data, in.Data) {
					t.Errorf("%s: not served as stored (present %v, %d bytes)", in.SOP, ok, len(r.data))
				}
			}
			// Free space: stores succeed again, on the same association or a new one.
			if err := os.Remove(ballast); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			var last error
			for {
				in := encode(t, st.dataset(rng, newUID(), 1000, 256<<10))
				cc, err := s.dial(ctx, storeProposals())
				if err == nil {
					var status dimse.Status
					status, err = store(ctx, cc, in)
					cc.Close()
					if err == nil && status == dimse.StatusSuccess {
						stored = append(stored, in)
						break
					}
				}
				last = err
				if time.Now().After(deadline) {
					t.Fatalf("stores still fail 10 s after space was freed: %v", last)
				}
				time.Sleep(200 * time.Millisecond)
			}
			if n := s.mustHealth(); n != len(stored) {
				t.Errorf("/healthz: %d instances after space was freed, %d acknowledged", n, len(stored))
			}
			s.stop()
			checkNoOrphans(t, s.data, len(stored))
			integrityCheck(t, s.data)
		})
	}
}
