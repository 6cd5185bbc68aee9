package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	binenc "encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/dimsetest"
)

// TestServeConfiguration: the --config file, LIGHTBOX_* variables and flags are honoured in that
// order of priority: the AE title from the environment beats the file's, the DICOM address from
// a flag beats the file's, and the HTTP address, the peer and the duplicate policy come from the
// file.
func TestServeConfiguration(t *testing.T) {
	dest := dimsetest.Start(t, "CFGPEER", nil)
	s := newServer(t, "")
	cfg := filepath.Join(t.TempDir(), "lightbox.toml")
	deadPort := freePort(t)
	conf := fmt.Sprintf(`ae_title = "FILEAE"
dicom_addr = "127.0.0.1:%d"
http_addr = "127.0.0.1:%d"
duplicates = "overwrite"

[[peer]]
ae_title = "CFGPEER"
addr = %q

[log]
level = "debug"
`, deadPort, s.httpPort, dest.Addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.ae = "ENVAE"
	s.args = []string{"serve", "--config", cfg, "--data", s.data, "--dicom-addr", s.dicomAddr()}
	s.env = []string{"LIGHTBOX_AE=ENVAE"}
	s.start()

	ctx := ctxFor(t, time.Minute)
	c := s.mustDial(ctx, []dimse.Proposal{dimse.EchoProposal()})
	if err := c.Echo(ctx); err != nil {
		t.Errorf("C-ECHO to ENVAE: %v", err)
	}
	c.Close()
	for _, ae := range []string{"FILEAE", "LIGHTBOX"} {
		if c, err := dimse.Dial(ctx, s.dicomAddr(), dimse.DialOptions{CalledAE: ae, Proposals: []dimse.Proposal{dimse.EchoProposal()}}); err == nil {
			c.Close()
			t.Errorf("called AE %s accepted: LIGHTBOX_AE=ENVAE should win over the file", ae)
		}
	}
	if _, err := dimse.Dial(ctx, fmt.Sprintf("127.0.0.1:%d", deadPort), dimse.DialOptions{CalledAE: "ENVAE", Proposals: []dimse.Proposal{dimse.EchoProposal()}}); err == nil {
		t.Errorf("the server listens on the file's dicom_addr too; --dicom-addr should replace it")
	}

	// duplicates = "overwrite" from the file.
	rng := rand.New(rand.NewPCG(3, 3))
	st := newStudy("CFG1", "CONFIG^FILE", "20240202", 1)
	base := st.dataset(rng, newUID(), 0, 8<<10)
	a := encode(t, base)
	base.SetString(tag.ImageComments, vr.LT, "second version")
	b := encode(t, base)
	s.storeAll([]instance{a, b})
	if got := s.mustGet("IMAGE", a.SOP)[a.SOP]; !bytes.Equal(got.data, b.Data) {
		t.Errorf("duplicates = \"overwrite\" in the file: the first version is still served")
	}

	// The peer from the file is a C-MOVE destination.
	out, err := lightbox(t, true, "move", "ENVAE@"+s.dicomAddr(), "--dest", "CFGPEER", "-k", "StudyInstanceUID="+st.StudyUID)
	if err != nil {
		t.Errorf("lightbox move to the peer of the file: %v\n%s", err, out)
	}
	if in := dest.Instance(a.SOP); in == nil || !bytes.Equal(in.Data, b.Data) {
		t.Errorf("C-MOVE to CFGPEER: the instance did not arrive as stored")
	}
	if !strings.Contains(s.log.String(), "level=DEBUG") {
		t.Errorf("log.level = \"debug\" in the file: no debug line in the log")
	}
}

// TestServeUnknownConfigKey: a misspelt key in the file stops serve with a message naming it.
func TestServeUnknownConfigKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "lightbox.toml")
	if err := os.WriteFile(cfg, []byte("ae_titel = \"X\"\n[storage]\nmin_free_mbytes = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--config", cfg, "--data", filepath.Join(t.TempDir(), "data"),
		"--dicom-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--http-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("serve with unknown keys: %v (context %v), want a non-zero exit at once\n%s", err, ctx.Err(), out)
	}
	for _, k := range []string{"ae_titel", "storage.min_free_mbytes"} {
		if !strings.Contains(string(out), k) {
			t.Errorf("the message does not name the unknown key %s:\n%s", k, out)
		}
	}
}

// slowReader yields left bytes drawn from rng, pausing after each chunk bytes, and hashes them.
type slowReader struct {
	rng   *rand.Rand
	left  int64
	chunk int
	pause time.Duration
	sent  chan struct{} // closed after the first chunk
	once  bool
	since int // bytes since the last pause
	h     interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if r.since >= r.chunk {
		r.since = 0
		if !r.once {
			r.once = true
			close(r.sent)
		}
		time.Sleep(r.pause)
	}
	n := min(int64(len(p)), int64(r.chunk-r.since), r.left)
	r.since += int(n)
	for i := range p[:n] {
		p[i] = byte(r.rng.Uint32())
	}
	r.h.Write(p[:n])
	r.left -= n
	return int(n), nil
}

// TestServeSIGTERMDuringStore: SIGTERM while a 32 MiB C-STORE is streaming lets it finish (the
// sender gets success), then serve exits 0; after a restart the instance is there, intact.
func TestServeSIGTERMDuringStore(t *testing.T) {
	s := startServer(t, "")
	rng := rand.New(rand.NewPCG(5, 5))
	st := newStudy("TERM1", "SIGTERM^DURING", "20240303", 1)
	const rows, cols = 4096, 4096
	ds := st.dataset(rng, newUID(), 0, 2)
	ds.Remove(tag.PixelData)
	ds.SetInts(tag.Rows, vr.US, rows)
	ds.SetInts(tag.Columns, vr.US, cols)
	var head bytes.Buffer
	if err := dicom.WriteDataset(&head, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	pixLen := int64(rows * cols * 2)
	head.Write([]byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0})
	binenc.Write(&head, binenc.LittleEndian, uint32(pixLen))
	h := sha256.New()
	h.Write(head.Bytes())
	body := &slowReader{rng: rand.New(rand.NewPCG(6, 6)), left: pixLen, chunk: 1 << 20, pause: 100 * time.Millisecond, sent: make(chan struct{}), h: h}

	ctx := ctxFor(t, 2*time.Minute)
	c := s.mustDial(ctx, storeProposals())
	type result struct {
		st  dimse.Status
		err error
	}
	done := make(chan result, 1)
	sop := ds.String(tag.SOPInstanceUID)
	go func() {
		st, err := c.Store(ctx, dimse.StoreRequest{SOPClassUID: ctClass, SOPInstanceUID: sop, TransferSyntax: dicom.ExplicitVRLittleEndian,
			Data: io.MultiReader(bytes.NewReader(head.Bytes()), body)})
		done <- result{st, err}
	}()
	<-body.sent
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-done
	t.Logf("C-STORE answered %v after SIGTERM", time.Since(t0).Round(time.Millisecond))
	if err := c.Close(); err != nil {
		// Not required: the instance is safe once the response is in.
		t.Logf("release after the C-STORE: %v", err)
	}
	t.Logf("association released %v after SIGTERM", time.Since(t0).Round(time.Millisecond))
	if r.err != nil || r.st != dimse.StatusSuccess {
		t.Errorf("the C-STORE in progress at SIGTERM: status %v, %v; want success", r.st, r.err)
	}
	select {
	case err := <-s.done:
		s.cmd = nil
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM, want 0\n%s", err, s.log)
		}
		t.Logf("C-STORE finished and serve exited %v after SIGTERM", time.Since(t0).Round(time.Millisecond))
	case <-time.After(40 * time.Second):
		t.Fatalf("serve still running 40 s after SIGTERM")
	}

	var want [32]byte
	copy(want[:], h.Sum(nil))
	s.start()
	got := s.mustGet("IMAGE", sop)
	if r, ok := got[sop]; !ok || sha256.Sum256(r.data) != want {
		t.Errorf("after restart the instance stored during shutdown is not served intact (present %v, %d bytes)", ok, len(r.data))
	}
}

// TestServeSIGTERMIdleAssociation: an association left open with nothing in progress does not
// hold up the shutdown.
func TestServeSIGTERMIdleAssociation(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, time.Minute)
	c := s.mustDial(ctx, []dimse.Proposal{dimse.EchoProposal()})
	defer c.Abort()
	if err := c.Echo(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := s.stopErr(); err != nil {
		t.Errorf("serve: %v", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("serve took %v to stop with an idle association open; want it closed at once (nothing was in progress)", d.Round(time.Millisecond))
	}
}
