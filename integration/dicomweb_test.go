package integration

// The DICOMweb service of `lightbox serve` as clients meet it: the dicomweb-client library (run
// by Node.js from tests/dicomweb-client) and hostile HTTP requests.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// nodeTestDir is the Node.js project that drives the server with the dicomweb-client library.
var nodeTestDir = filepath.Join("..", "tests", "dicomweb-client")

// TestDICOMwebClient runs tests/dicomweb-client's tests (node --test) against a fresh server:
// STOW-RS of corpus files, QIDO-RS, WADO-RS of instances, metadata, frames and bulk data, all
// through the dicomweb-client library and checked against the files and the manifest.
func TestDICOMwebClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node (Node.js) not installed: skipping the dicomweb-client tests")
	}
	if _, err := os.Stat(filepath.Join(nodeTestDir, "node_modules", "dicomweb-client", "package.json")); err != nil {
		t.Skip("tests/dicomweb-client/node_modules missing (scripts/install-node-deps.sh installs it): skipping")
	}
	corpus, err := filepath.Abs(corpustest.Need(t))
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test")
	cmd.Dir = nodeTestDir
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("LIGHTBOX_DICOMWEB=http://127.0.0.1:%d/dicom-web", s.httpPort),
		"LIGHTBOX_CORPUS="+corpus)
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node --test in tests/dicomweb-client (%v):\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("node --test: %v", err)
	}
	// Every test ran: none was skipped for want of the server or the corpus.
	counts := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^# (pass|fail|skipped|cancelled) (\d+)$`).FindAllStringSubmatch(string(out), -1) {
		counts[m[1]], _ = strconv.Atoi(m[2])
	}
	if counts["pass"] == 0 || counts["fail"] != 0 || counts["skipped"] != 0 || counts["cancelled"] != 0 {
		t.Errorf("node --test counts: %v; want passes only", counts)
	}
	n := s.mustHealth()
	if n == 0 {
		t.Errorf("the archive holds no instance after the dicomweb-client tests")
	}
	checkNoOrphans(t, s.data, n)
}

// stowBody is a multipart/related STOW-RS body of the given Part 10 files, and its boundary.
func stowBody(t testing.TB, files ...[]byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(f)
	}
	mw.Close()
	return b.Bytes(), mw.Boundary()
}

// rawResponse is what a raw HTTP exchange gave: the status (0 without a response) and how long
// the response took.
type rawResponse struct {
	status  int
	body    string
	elapsed time.Duration
	err     error
}

// rawHTTP sends head (the request line and header fields, without the blank line) and body on a
// new connection, half-closes it when closeWrite, and reads the response within wait.
func rawHTTP(t testing.TB, port int, head string, body []byte, closeWrite bool, wait time.Duration) rawResponse {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.SetDeadline(start.Add(wait))
	if _, err := io.WriteString(c, strings.ReplaceAll(strings.TrimSpace(head), "\n", "\r\n")+"\r\n\r\n"); err != nil {
		return rawResponse{err: err}
	}
	if _, err := c.Write(body); err != nil {
		return rawResponse{err: err}
	}
	if closeWrite {
		c.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return rawResponse{elapsed: time.Since(start), err: err}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return rawResponse{status: resp.StatusCode, body: strings.TrimSpace(string(b)), elapsed: time.Since(start)}
}

// qidoTotal returns the X-Total-Count of a QIDO-RS search for every instance.
func qidoTotal(t testing.TB, s *server) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/dicom-web/instances", s.httpPort), nil)
	req.Header.Set("Accept", "application/dicom+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("QIDO-RS: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	n, err := strconv.Atoi(resp.Header.Get("X-Total-Count"))
	if err != nil {
		t.Fatalf("QIDO-RS: %s, X-Total-Count %q", resp.Status, resp.Header.Get("X-Total-Count"))
	}
	return n
}

// TestDICOMwebHostileInput: STOW-RS requests that are malformed or lie about their body are
// refused with a 4xx status in a few seconds, store nothing (no instance in the index, no blob
// left), and leave the server answering.
func TestDICOMwebHostileInput(t *testing.T) {
	dir := corpustest.Need(t)
	dcm, err := os.ReadFile(corpustest.Path(dir, "pydicom__CT_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(corpustest.Path(dir, "pydicom__MR_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "")
	stow := fmt.Sprintf("POST /dicom-web/studies HTTP/1.1\nHost: 127.0.0.1:%d\n", s.httpPort)

	// One instance stored, so that "nothing stored" is checked against a non-empty archive.
	body, boundary := stowBody(t, dcm)
	r := rawHTTP(t, s.httpPort, stow+fmt.Sprintf("Content-Type: multipart/related; type=\"application/dicom\"; boundary=%s\nContent-Length: %d\nConnection: close", boundary, len(body)), body, false, 10*time.Second)
	if r.status != http.StatusOK {
		t.Fatalf("STOW-RS of one instance: %d %v %s", r.status, r.err, r.body)
	}
	if n := qidoTotal(t, s); n != 1 {
		t.Fatalf("QIDO-RS finds %d instances after one STOW-RS, want 1", n)
	}

	valid, boundary := stowBody(t, other)
	var zeros bytes.Buffer
	zw := gzip.NewWriter(&zeros)
	zeroBody, zeroBoundary := stowBody(t, make([]byte, 10<<20))
	zw.Write(zeroBody)
	zw.Close()
	var gzValid bytes.Buffer
	gw := gzip.NewWriter(&gzValid)
	gw.Write(valid)
	gw.Close()

	// A client that announces 4 GiB, sends 10 bytes and then nothing: the connection must not be
	// held forever. It runs while the other cases do.
	stalled := make(chan rawResponse, 1)
	go func() {
		stalled <- rawHTTP(t, s.httpPort, stow+"Content-Type: multipart/related; type=\"application/dicom\"; boundary="+boundary+
			"\nContent-Length: 4294967296\nConnection: close", []byte("--"+boundary[:8]), false, stallWait)
	}()

	cases := []struct {
		name       string
		head       string
		body       []byte
		closeWrite bool
		want       []int // acceptable statuses
	}{
		{"multipart without boundary",
			fmt.Sprintf("Content-Type: multipart/related; type=\"application/dicom\"\nContent-Length: %d", len(valid)),
			valid, false, []int{400}},
		{"Content-Length 4 GiB, 10 bytes sent, then end of stream",
			"Content-Type: multipart/related; type=\"application/dicom\"; boundary=" + boundary + "\nContent-Length: 4294967296",
			[]byte("--" + boundary[:8]), true, []int{400, 413}},
		{"Content-Length over 4 GiB, 10 bytes sent",
			"Content-Type: multipart/related; type=\"application/dicom\"; boundary=" + boundary + "\nContent-Length: 4294967297",
			[]byte("--" + boundary[:8]), false, []int{413}},
		{"gzip bomb: 10 MB of zeros compressed",
			fmt.Sprintf("Content-Type: multipart/related; type=\"application/dicom\"; boundary=%s\nContent-Encoding: gzip\nContent-Length: %d", zeroBoundary, zeros.Len()),
			zeros.Bytes(), false, []int{400, 413, 415}},
		{"gzip-encoded valid instance",
			fmt.Sprintf("Content-Type: multipart/related; type=\"application/dicom\"; boundary=%s\nContent-Encoding: gzip\nContent-Length: %d", boundary, gzValid.Len()),
			gzValid.Bytes(), false, []int{400, 415}},
		{"Content-Encoding gzip on an uncompressed body",
			fmt.Sprintf("Content-Type: multipart/related; type=\"application/dicom\"; boundary=%s\nContent-Encoding: gzip\nContent-Length: %d", boundary, len(valid)),
			valid, false, []int{400, 415}},
	}
	// check reports a response outside want, and anything stored since count and blobs.
	check := func(t *testing.T, r rawResponse, wait time.Duration, want []int, count int, blobs map[string]int64) {
		t.Helper()
		var ne net.Error
		switch {
		case errors.As(r.err, &ne) && ne.Timeout():
			t.Errorf("no response within %v", wait)
		case r.err != nil:
			t.Errorf("no response: %v", r.err)
		case !slices.Contains(want, r.status):
			t.Errorf("status %d (%s) after %v, want one of %v", r.status, r.body, r.elapsed.Round(time.Millisecond), want)
		default:
			t.Logf("%d after %v: %s", r.status, r.elapsed.Round(time.Millisecond), r.body)
		}
		if _, err := s.health(); err != nil {
			t.Fatalf("server no longer healthy: %v", err)
		}
		if n := qidoTotal(t, s); n != count {
			t.Errorf("QIDO-RS finds %d instances, want %d", n, count)
		}
		if now, _ := storeFiles(t, s.data); !maps.Equal(now, blobs) {
			t.Errorf("blob store holds %d objects, want %d", len(now), len(blobs))
		}
	}
	for _, c := range cases {
		t.Run(strings.NewReplacer(" ", "_", ",", "", ":", "").Replace(c.name), func(t *testing.T) {
			count := qidoTotal(t, s)
			blobs, _ := storeFiles(t, s.data)
			r := rawHTTP(t, s.httpPort, stow+c.head+"\nConnection: close", c.body, c.closeWrite, 5*time.Second)
			check(t, r, 5*time.Second, c.want, count, blobs)
		})
	}
	t.Run("Content-Length_4_GiB_10_bytes_sent_then_the_client_stalls", func(t *testing.T) {
		count := qidoTotal(t, s)
		blobs, _ := storeFiles(t, s.data)
		check(t, <-stalled, stallWait, []int{400, 408, 413}, count, blobs)
	})
	if _, err := s.health(); err != nil {
		t.Errorf("server no longer healthy at the end: %v", err)
	}
}

// stallWait bounds how long a client that stops sending its body waits for the server to give
// up on it.
const stallWait = 40 * time.Second
