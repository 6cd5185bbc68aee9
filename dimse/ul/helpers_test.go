package ul

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	ctImage   = "1.2.840.10008.5.1.4.1.1.2"
	verifySOP = "1.2.840.10008.1.1"
	mrImage   = "1.2.840.10008.5.1.4.1.1.4"
	jpegBase  = "1.2.840.10008.1.2.4.50"
)

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func testConfig() Config {
	return Config{ARTIMTimeout: 2 * time.Second, Logger: testLogger()}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return client, r.c
}

func testPolicy() *Policy {
	return &Policy{
		CalledAETitle:    "LIGHTBOX",
		AbstractSyntaxes: []string{ctImage, verifySOP},
		TransferSyntaxes: []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian, jpegBase},
	}
}

func testRQ() *pdu.AssociateRQ {
	return &pdu.AssociateRQ{
		CalledAE:  "LIGHTBOX",
		CallingAE: "MODALITY",
		PresentationContexts: []pdu.PresentationContextRQ{
			{ID: 1, AbstractSyntax: ctImage, TransferSyntaxes: []string{jpegBase, ExplicitVRLittleEndian}},
			{ID: 3, AbstractSyntax: verifySOP, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
			{ID: 5, AbstractSyntax: mrImage, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
			{ID: 7, AbstractSyntax: ctImage, TransferSyntaxes: []string{"1.2.840.10008.1.2.4.90"}},
		},
	}
}

type acceptResult struct {
	a   *Association
	err error
}

// acceptAsync runs Accept on conn in a goroutine.
func acceptAsync(conn net.Conn, cfg Config, p *Policy) <-chan acceptResult {
	ch := make(chan acceptResult, 1)
	go func() {
		a, err := Accept(context.Background(), conn, cfg, p.Negotiate)
		ch <- acceptResult{a, err}
	}()
	return ch
}

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

// rawPeer speaks PDUs directly, to play a peer that misbehaves.
type rawPeer struct {
	t    *testing.T
	conn net.Conn
	rd   *pdu.Reader
}

func newRawPeer(t *testing.T, conn net.Conn) *rawPeer {
	return &rawPeer{t: t, conn: conn, rd: pdu.NewReader(conn, pdu.Limits{})}
}

func (r *rawPeer) send(p pdu.PDU) {
	r.t.Helper()
	if err := pdu.Encode(r.conn, p); err != nil {
		r.t.Fatalf("raw peer: send %s: %v", p.Type(), err)
	}
}

func (r *rawPeer) sendRaw(b []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatalf("raw peer: write: %v", err)
	}
}

func (r *rawPeer) next() (pdu.PDU, error) {
	if err := r.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return nil, err
	}
	return r.rd.Next()
}

func (r *rawPeer) expect(want pdu.Type) pdu.PDU {
	r.t.Helper()
	p, err := r.next()
	if err != nil {
		r.t.Fatalf("raw peer: want %s, got error %v", want, err)
	}
	if p.Type() != want {
		r.t.Fatalf("raw peer: want %s, got %s %+v", want, p.Type(), p)
	}
	return p
}

func (r *rawPeer) expectAbort(src pdu.AbortSource, reason pdu.AbortReason) {
	r.t.Helper()
	ab := r.expect(pdu.TypeAbort).(*pdu.Abort)
	if ab.Source != src || (src == pdu.AbortServiceProvider && ab.Reason != reason) {
		r.t.Fatalf("raw peer: got %s, want source %d reason %d", ab, src, reason)
	}
}

func (r *rawPeer) expectClosed() {
	r.t.Helper()
	p, err := r.next()
	if err == nil {
		r.t.Fatalf("raw peer: got %s, want the connection closed", p.Type())
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		var ne net.Error
		if !errors.As(err, &ne) || ne.Timeout() {
			r.t.Fatalf("raw peer: got %v, want the connection closed", err)
		}
	}
}

// associate plays the requestor up to Sta6 against an Association
// accepting on the other end.
func (r *rawPeer) associate(rq *pdu.AssociateRQ) *pdu.AssociateAC {
	r.t.Helper()
	r.send(rq)
	return r.expect(pdu.TypeAssociateAC).(*pdu.AssociateAC)
}

func fullRQ() *pdu.AssociateRQ {
	rq := testRQ()
	rq.ProtocolVersion = pdu.ProtocolVersion1
	rq.ApplicationContext = pdu.ApplicationContextName
	rq.UserInfo.MaxLength = 16384
	return rq
}

// establishedWithRawPeer returns an Association accepted from a raw peer.
func establishedWithRawPeer(t *testing.T, cfg Config) (*Association, *rawPeer) {
	t.Helper()
	client, server := tcpPair(t)
	ch := acceptAsync(server, cfg, testPolicy())
	peer := newRawPeer(t, client)
	peer.associate(fullRQ())
	res := wait(t, ch)
	if res.err != nil {
		t.Fatalf("Accept: %v", res.err)
	}
	return res.a, peer
}
