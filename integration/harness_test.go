// Package integration runs the lightbox binary as users and peers meet it: `lightbox serve` on
// loopback, driven by DCMTK's tools, Orthanc and our own commands, and killed and restarted to
// check what survives.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// binary is the lightbox binary built once for the package's tests.
var binary string

// binaryEnv passes the binary already built to the test binary re-executed in a private
// network namespace (see isolate).
const binaryEnv = "LIGHTBOX_IT_BINARY"

func TestMain(m *testing.M) {
	if b := os.Getenv(binaryEnv); b != "" {
		binary = b
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "lightbox-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "lightbox")
	build := exec.Command("go", "build", "-o", binary, "github.com/lightbox-pacs/lightbox/cmd/lightbox")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build lightbox:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server is a running `lightbox serve`.
type server struct {
	t         testing.TB
	cmd       *exec.Cmd
	data      string
	ae        string
	dicomPort int
	httpPort  int
	log       *lockedBuffer
	args      []string
	// env is added to the environment of the server process.
	env  []string
	done chan error
}

func (s *server) dicomAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.dicomPort) }

// startServer starts lightbox serve on a fresh (or the given) data directory and waits until it
// is healthy. It is stopped when the test ends.
func startServer(t testing.TB, data string, extra ...string) *server {
	t.Helper()
	s := newServer(t, data, extra...)
	s.start()
	return s
}

// newServer prepares startServer's server without starting it, so that the caller can change
// its arguments or environment first.
func newServer(t testing.TB, data string, extra ...string) *server {
	t.Helper()
	if data == "" {
		data = filepath.Join(t.TempDir(), "data")
	}
	s := &server{t: t, data: data, ae: "LIGHTBOX", dicomPort: freePort(t), httpPort: freePort(t)}
	s.args = append([]string{"serve", "--data", data, "--ae", s.ae,
		"--dicom-addr", s.dicomAddr(), "--http-addr", fmt.Sprintf("127.0.0.1:%d", s.httpPort)}, extra...)
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.log = &lockedBuffer{}
	s.cmd = exec.Command(binary, s.args...)
	s.cmd.Env = append(os.Environ(), s.env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", s.httpPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-s.done:
			s.t.Fatalf("lightbox serve exited: %v\n%s", err, s.log)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("lightbox serve not healthy after 30s\n%s", s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the server with SIGTERM (it finishes what is in progress) and waits.
func (s *server) stop() { s.stopErr() }

// stopErr is stop that returns how the process ended (nil: exit status 0).
func (s *server) stopErr() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-s.done:
	case <-time.After(40 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		err = fmt.Errorf("lightbox serve did not stop within 40s of SIGTERM")
	}
	s.cmd = nil
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", s.log)
	}
	return err
}

// kill ends the server with SIGKILL.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// lockedBuffer is a bytes.Buffer safe for the goroutines exec uses to copy output while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lightbox runs the lightbox command and returns its output; it fails the test on a non-zero
// exit unless allowFail.
func lightbox(t testing.TB, allowFail bool, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	if err != nil && !allowFail {
		t.Fatalf("lightbox %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), err
}

// datasetOf returns the data set bytes of a Part 10 file.
func datasetOf(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := dicom.Parse(raw, dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return raw[f.DatasetOffset:]
}

// corpusFiles returns corpus files DCMTK reads cleanly, with their SOP Instance UIDs.
func corpusFiles(t testing.TB, filter func(corpustest.Row) bool) map[string]string {
	t.Helper()
	dir, rows := corpustest.Manifest(t)
	out := map[string]string{}
	seen := map[string]bool{}
	for _, r := range rows {
		if r["dcmdump_rc"] != "0" || r.Malformed() || r["SOPInstanceUID"] == "" || r["transfer_syntax_uid"] == "" {
			continue
		}
		if seen[r["SOPInstanceUID"]] || (filter != nil && !filter(r)) {
			continue
		}
		seen[r["SOPInstanceUID"]] = true
		out[corpustest.Path(dir, r.File())] = r["SOPInstanceUID"]
	}
	return out
}
