package integration

// Running peers that cannot listen on loopback only (DCMTK's SCPs, Orthanc): in a private network
// namespace, where loopback is the only interface.

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/netnstest"
)

// isolate runs the calling top-level test inside a private network namespace (netnstest),
// within timeout; the child reuses the lightbox binary built by TestMain.
func isolate(t *testing.T, timeout time.Duration) bool {
	t.Helper()
	return isolateIn(t, timeout, "-n")
}

// isolateIn is isolate with the namespaces of unshare's flags (-n: network, -m: mounts, which
// makes the mounts a test makes vanish with it).
func isolateIn(t *testing.T, timeout time.Duration, flags ...string) bool {
	t.Helper()
	return netnstest.Isolate(t, netnstest.Options{Flags: flags, Timeout: timeout, Env: []string{binaryEnv + "=" + binary}})
}

// needTool returns the path of an external program or skips the test.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (make deps installs it): skipping", name)
	}
	return p
}

// toolCmd prepares an external program bounded by timeout and the test, with Nagle off for
// DCMTK, running in a directory of its own.
func toolCmd(t testing.TB, timeout time.Duration, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, needTool(t, name), args...)
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// startTool starts a long-running peer whose output goes to the test log when the test fails; it
// is killed, by its PID, when the test ends.
func startTool(t testing.TB, name string, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := toolCmd(t, 30*time.Minute, name, args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return cmd, out
}

// waitPort waits until something accepts connections on 127.0.0.1:port.
func waitPort(t testing.TB, port int, cmd *exec.Cmd) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if cmd != nil && cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// received is an instance a peer wrote as a Part 10 file: its transfer syntax and data set.
type received struct {
	file, ts string
	data     []byte
}

// readPart10Dir reads the Part 10 files in dir, by the SOP Instance UID of their File Meta.
func readPart10Dir(t testing.TB, dir string) map[string]received {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]received{}
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(raw, dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0019)})
		if err != nil || f.Meta == nil {
			t.Errorf("%s in %s is not a Part 10 file we read: %v", e.Name(), dir, err)
			continue
		}
		u := strings.TrimRight(f.Meta.String(tag.MediaStorageSOPInstanceUID), "\x00 ")
		out[u] = received{file: e.Name(), ts: f.Syntax.UID, data: raw[f.DatasetOffset:]}
	}
	return out
}

// startStorescp starts DCMTK's storescp in bit-preserving mode on a free port, writing into a
// new directory, with extra options; for isolated tests only (it listens on every interface).
func startStorescp(t testing.TB, extra ...string) (int, string, *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	args := append([]string{"+B", "-od", dir}, extra...)
	cmd, out := startTool(t, "storescp", append(args, strconv.Itoa(port))...)
	waitPort(t, port, cmd)
	return port, dir, out
}

// errorLines returns the error lines of a DCMTK tool's output.
func errorLines(out string) string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "F: ") {
			ls = append(ls, l)
		}
	}
	return strings.Join(ls, "; ")
}
