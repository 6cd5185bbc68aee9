package ul

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
)

// readAll reads one stream to its end.
func readAll(t *testing.T, a *Association) (*Stream, []byte, error) {
	t.Helper()
	s, err := a.ReadStream(context.Background())
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(s)
	return s, b, err
}

func TestAssociationExchangeAndRelease(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	// The acceptor takes at most 16 KiB P-DATA-TF, and its reader enforces
	// it: a larger PDU from the requestor would abort the association.
	acceptorCfg := testConfig()
	acceptorCfg.MaxPDULength = 16384
	acceptorCfg.Limits.MaxPDataLength = 16384
	requestorCfg := testConfig()
	requestorCfg.MaxPDULength = 32768

	type serverResult struct {
		contexts []PresentationContext
		commands int
		err      error
	}
	done := make(chan serverResult, 1)
	go func() {
		var res serverResult
		defer func() { done <- res }()
		conn, err := ln.Accept()
		if err != nil {
			res.err = err
			return
		}
		a, err := Accept(context.Background(), conn, acceptorCfg, testPolicy().Negotiate)
		if err != nil {
			res.err = err
			return
		}
		res.contexts = a.Contexts()
		// Echo every stream back on the same context.
		for {
			s, err := a.ReadStream(context.Background())
			if errors.Is(err, ErrReleaseRequested) {
				res.err = a.Release(context.Background())
				return
			}
			if err != nil {
				res.err = err
				return
			}
			if s.Command {
				res.commands++
			}
			if err := a.WriteStream(context.Background(), s.ContextID, s.Command, s); err != nil {
				res.err = err
				return
			}
		}
	}()

	a, err := Dial(context.Background(), ln.Addr().String(), testRQ(), requestorCfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if a.State() != Sta6 || a.Role() != Requestor {
		t.Fatalf("state %s, role %s", a.State(), a.Role())
	}
	wantContexts := []PresentationContext{
		{ID: 1, AbstractSyntax: ctImage, TransferSyntax: jpegBase},
		{ID: 3, AbstractSyntax: verifySOP, TransferSyntax: ImplicitVRLittleEndian},
	}
	if got := a.Contexts(); !equalContexts(got, wantContexts) {
		t.Fatalf("Contexts = %+v, want %+v", got, wantContexts)
	}
	results := map[byte]byte{}
	for _, pc := range a.AC().PresentationContexts {
		results[pc.ID] = pc.Result
	}
	if results[1] != 0 || results[3] != 0 || results[5] != pdu.ResultAbstractSyntaxNotSupported || results[7] != pdu.ResultTransferSyntaxesNotSupported {
		t.Fatalf("results %v", results)
	}
	if a.PeerMaxPDULength() != 16384 || a.MaxPDVData() != 16384-6 {
		t.Fatalf("peer max %d, PDV max %d", a.PeerMaxPDULength(), a.MaxPDVData())
	}
	if pc, ok := a.ContextFor(ctImage, ExplicitVRLittleEndian, jpegBase); !ok || pc.ID != 1 {
		t.Fatalf("ContextFor = %+v, %v", pc, ok)
	}
	if _, ok := a.ContextFor(mrImage); ok {
		t.Fatal("ContextFor found a rejected abstract syntax")
	}

	// A command, then a 1 MiB data set streamed from a reader that yields
	// little at a time, split by the acceptor's 16 KiB limit.
	command := []byte("command set bytes")
	dataSet := make([]byte, 1<<20+124) // even: odd data sets are padded (below)
	for i := range dataSet {
		dataSet[i] = byte(rand.Uint32())
	}
	for range 2 {
		if err := a.Send(context.Background(), 1, true, command); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if err := a.WriteStream(context.Background(), 1, false, iotest.HalfReader(bytes.NewReader(dataSet))); err != nil {
			t.Fatalf("WriteStream: %v", err)
		}
		s, got, err := readAll(t, a)
		if err != nil || !s.Command || s.ContextID != 1 || !bytes.Equal(got, command) {
			t.Fatalf("echoed command: %+v %q %v", s, got, err)
		}
		s, got, err = readAll(t, a)
		if err != nil || s.Command || !bytes.Equal(got, dataSet) {
			t.Fatalf("echoed data set: %d bytes, %v", len(got), err)
		}
	}
	// An odd-length data set goes out with the zero byte that PS3.8 E.2's even PDV lengths
	// require; commands are sent as given (above).
	if err := a.WriteStream(context.Background(), 1, false, bytes.NewReader([]byte{1, 2, 3})); err != nil {
		t.Fatalf("WriteStream: %v", err)
	}
	if s, got, err := readAll(t, a); err != nil || s.Command || !bytes.Equal(got, []byte{1, 2, 3, 0}) {
		t.Fatalf("odd data set echoed as %v (%v)", got, err)
	}
	// An empty data set is one empty last fragment.
	if err := a.Send(context.Background(), 3, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, got, err := readAll(t, a); err != nil || len(got) != 0 {
		t.Fatalf("empty stream: %q, %v", got, err)
	}

	if err := a.Release(context.Background()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if a.State() != Sta1 {
		t.Fatalf("state after release %s", a.State())
	}
	if err := a.Send(context.Background(), 1, true, command); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after release: %v", err)
	}
	res := wait(t, done)
	if res.err != nil {
		t.Fatalf("acceptor: %v", res.err)
	}
	if res.commands != 2 || !equalContexts(res.contexts, wantContexts) {
		t.Fatalf("acceptor saw %d commands, contexts %+v", res.commands, res.contexts)
	}
}

func equalContexts(a, b []PresentationContext) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestARTIMExpiresOnIdleSocket(t *testing.T) {
	client, server := tcpPair(t)
	cfg := testConfig()
	cfg.ARTIMTimeout = 100 * time.Millisecond
	start := time.Now()
	res := wait(t, acceptAsync(server, cfg, testPolicy()))
	if !errors.Is(res.err, ErrARTIMExpired) {
		t.Fatalf("Accept: %v, want ErrARTIMExpired", res.err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Errorf("ARTIM expired after %v", d)
	}
	newRawPeer(t, client).expectClosed()
}

func TestRejections(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*pdu.AssociateRQ)
		want   pdu.AssociateRJ
	}{
		{"called AE title", func(rq *pdu.AssociateRQ) { rq.CalledAE = "OTHER" },
			pdu.AssociateRJ{Result: pdu.RejectedPermanent, Source: pdu.SourceServiceUser, Reason: pdu.ReasonCalledAETitleNotRecognized}},
		{"application context", func(rq *pdu.AssociateRQ) { rq.ApplicationContext = "1.2.3" },
			pdu.AssociateRJ{Result: pdu.RejectedPermanent, Source: pdu.SourceServiceUser, Reason: pdu.ReasonApplicationContextNotSupported}},
		{"protocol version (AE-6, provider)", func(rq *pdu.AssociateRQ) { rq.ProtocolVersion = 2 },
			pdu.AssociateRJ{Result: pdu.RejectedPermanent, Source: pdu.SourceServiceProviderACSE, Reason: pdu.ReasonProtocolVersionNotSupported}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tcpPair(t)
			ch := acceptAsync(server, testConfig(), testPolicy())
			rq := fullRQ()
			tc.modify(rq)
			// The requestor is an Association too: AE-4 closes the
			// connection, which ends the acceptor's ARTIM wait (AR-5).
			a, err := Request(context.Background(), client, rq, testConfig())
			var rj *RejectedError
			if a != nil || !errors.As(err, &rj) || rj.Local || rj.RJ != tc.want {
				t.Fatalf("Request = %v, %v; want rejection %s", a, err, tc.want)
			}
			res := wait(t, ch)
			if !errors.As(res.err, &rj) || !rj.Local || rj.RJ != tc.want {
				t.Fatalf("Accept: %v", res.err)
			}
		})
	}
}

func TestRejectAwaitsClose(t *testing.T) {
	// A requestor that does not close after A-ASSOCIATE-RJ: the acceptor
	// closes when ARTIM expires (AE-8, Sta13, Evt18, AA-2).
	client, server := tcpPair(t)
	cfg := testConfig()
	cfg.ARTIMTimeout = 100 * time.Millisecond
	ch := acceptAsync(server, cfg, testPolicy())
	peer := newRawPeer(t, client)
	rq := fullRQ()
	rq.CalledAE = "NOBODY"
	peer.send(rq)
	rj := peer.expect(pdu.TypeAssociateRJ).(*pdu.AssociateRJ)
	if rj.String() != "rejected-permanent by DICOM UL service-user: called AE title not recognized" {
		t.Errorf("RJ: %s", rj)
	}
	peer.expectClosed()
	var rerr *RejectedError
	if res := wait(t, ch); !errors.As(res.err, &rerr) {
		t.Fatalf("Accept: %v", res.err)
	}
}

// TestAcceptorAborts drives an established acceptor with a raw peer.
func TestAcceptorAborts(t *testing.T) {
	tests := []struct {
		name string
		// act is what the peer does while the acceptor reads.
		act func(p *rawPeer)
		// check is what the peer sees afterwards.
		check   func(p *rawPeer)
		cfg     func(*Config)
		wantErr func(error) bool
	}{
		{
			name:  "peer sends A-ABORT (AA-3)",
			act:   func(p *rawPeer) { p.send(&pdu.Abort{Source: pdu.AbortServiceUser}) },
			check: func(p *rawPeer) { p.expectClosed() },
			wantErr: func(err error) bool {
				var ae *AbortError
				return errors.As(err, &ae) && !ae.Local && ae.Abort.Source == pdu.AbortServiceUser
			},
		},
		{
			name:  "unknown PDU type (Evt19, AA-8)",
			act:   func(p *rawPeer) { p.sendRaw([]byte{0x09, 0, 0, 0, 0, 0}) },
			check: func(p *rawPeer) { p.expectAbort(pdu.AbortServiceProvider, pdu.AbortUnrecognizedPDU) },
			wantErr: func(err error) bool {
				var ae *AbortError
				return errors.As(err, &ae) && ae.Local && errors.Is(err, ErrProtocol) && errors.Is(err, pdu.ErrUnknownType)
			},
		},
		{
			name:    "PDV length 1 (Evt19, AA-8)",
			act:     func(p *rawPeer) { p.sendRaw([]byte{0x04, 0, 0, 0, 0, 5, 0, 0, 0, 1, 1}) },
			check:   func(p *rawPeer) { p.expectAbort(pdu.AbortServiceProvider, pdu.AbortInvalidPDUParameterValue) },
			wantErr: func(err error) bool { return errors.Is(err, pdu.ErrMalformed) },
		},
		{
			name:    "A-ASSOCIATE-RQ in Sta6 (Evt6, AA-8)",
			act:     func(p *rawPeer) { p.send(fullRQ()) },
			check:   func(p *rawPeer) { p.expectAbort(pdu.AbortServiceProvider, pdu.AbortUnexpectedPDU) },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) },
		},
		{
			name:    "A-RELEASE-RP in Sta6 (Evt13, AA-8)",
			act:     func(p *rawPeer) { p.send(&pdu.ReleaseRP{}) },
			check:   func(p *rawPeer) { p.expectAbort(pdu.AbortServiceProvider, pdu.AbortUnexpectedPDU) },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) },
		},
		{
			name: "PDV on a context not accepted",
			act: func(p *rawPeer) {
				p.send(&pdu.PDataTF{Items: []pdu.PDV{{ContextID: 5, Command: true, Last: true, Data: []byte{1}}}})
			},
			check:   func(p *rawPeer) { p.expectAbort(pdu.AbortServiceProvider, pdu.AbortInvalidPDUParameterValue) },
			wantErr: func(err error) bool { return errors.Is(err, ErrUnknownContext) },
		},
		{
			name: "stream changes context",
			act: func(p *rawPeer) {
				p.send(&pdu.PDataTF{Items: []pdu.PDV{
					{ContextID: 1, Command: true, Data: []byte{1}},
					{ContextID: 3, Command: true, Last: true, Data: []byte{2}},
				}})
			},
			check:   func(p *rawPeer) { p.expectAbort(pdu.AbortServiceProvider, pdu.AbortUnexpectedPDUParameter) },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) },
		},
		{
			name:  "peer closes the connection (Evt17, AA-4)",
			act:   func(p *rawPeer) { p.conn.Close() },
			check: func(*rawPeer) {},
			wantErr: func(err error) bool {
				return errors.Is(err, ErrConnectionLost)
			},
		},
		{
			name:    "idle timeout",
			cfg:     func(c *Config) { c.IdleTimeout = 100 * time.Millisecond },
			act:     func(*rawPeer) {},
			check:   func(p *rawPeer) { p.expectAbort(pdu.AbortServiceUser, 0); p.conn.Close() },
			wantErr: func(err error) bool { return errors.Is(err, ErrTimeout) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.ARTIMTimeout = 500 * time.Millisecond
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			a, peer := establishedWithRawPeer(t, cfg)
			errc := make(chan error, 1)
			go func() {
				_, _, err := readAll(t, a)
				errc <- err
			}()
			tc.act(peer)
			tc.check(peer)
			peer.conn.Close() // ends the acceptor's wait in Sta13 (AR-5)
			err := wait(t, errc)
			if err == nil || !tc.wantErr(err) {
				t.Fatalf("read error %v", err)
			}
			if s := a.State(); s != Sta1 {
				t.Errorf("state %s, want Sta1", s)
			}
			if err := a.Send(context.Background(), 1, true, []byte{1}); !errors.Is(err, ErrClosed) {
				t.Errorf("Send after abort: %v", err)
			}
		})
	}
}

func TestLocalAbortInterruptsReader(t *testing.T) {
	a, peer := establishedWithRawPeer(t, testConfig())
	errc := make(chan error, 1)
	go func() {
		_, err := a.ReadStream(context.Background())
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the reader block
	a.Abort()
	peer.expectAbort(pdu.AbortServiceUser, 0)
	peer.conn.Close() // the reader, in Sta13, sees the close (AR-5)
	err := wait(t, errc)
	var ae *AbortError
	if !errors.As(err, &ae) || !ae.Local {
		t.Fatalf("reader: %v", err)
	}
	if a.State() != Sta1 {
		t.Fatalf("state %s", a.State())
	}
}

func TestContextCancelAborts(t *testing.T) {
	a, peer := establishedWithRawPeer(t, testConfig())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.ReadStream(ctx)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	peer.expectAbort(pdu.AbortServiceUser, 0)
	peer.conn.Close()
	if err := wait(t, errc); !errors.Is(err, context.Canceled) {
		t.Fatalf("reader: %v", err)
	}
}

func TestWriteStreamSplitsByPeerMax(t *testing.T) {
	tests := []struct {
		name    string
		peerMax uint32
		ourMax  uint32
		size    int
		wantPDV int // data bytes per full PDV
	}{
		{"peer max 100", 100, 0, 1000, 94},
		{"peer max 100, exact multiple", 100, 0, 94 * 3, 94},
		{"empty", 100, 0, 0, 94},
		{"peer unlimited, ours 1000", 0, 1000, 5000, 994},
		{"peer larger than ours", 1 << 20, 4096, 10000, 4090},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxPDULength = tc.ourMax
			client, server := tcpPair(t)
			ch := acceptAsync(server, cfg, testPolicy())
			peer := newRawPeer(t, client)
			rq := fullRQ()
			rq.UserInfo.MaxLength = tc.peerMax
			peer.associate(rq)
			res := wait(t, ch)
			if res.err != nil {
				t.Fatal(res.err)
			}
			a := res.a
			data := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			errc := make(chan error, 1)
			go func() { errc <- a.WriteStream(context.Background(), 3, false, bytes.NewReader(data)) }()
			var got []byte
			for {
				p := peer.expect(pdu.TypePDataTF).(*pdu.PDataTF)
				if len(p.Items) != 1 {
					t.Fatalf("%d PDVs in a P-DATA-TF", len(p.Items))
				}
				v := p.Items[0]
				if tc.peerMax != 0 && len(v.Data)+6 > int(tc.peerMax) {
					t.Fatalf("PDU-length %d beyond the peer's %d", len(v.Data)+6, tc.peerMax)
				}
				if !v.Last && len(v.Data) != tc.wantPDV {
					t.Fatalf("fragment of %d bytes, want %d", len(v.Data), tc.wantPDV)
				}
				if v.ContextID != 3 || v.Command {
					t.Fatalf("PDV %+v", v)
				}
				got = append(got, v.Data...)
				if v.Last {
					break
				}
			}
			if err := wait(t, errc); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("received %d bytes, want %d", len(got), len(data))
			}
			peer.conn.Close()
			a.Abort()
		})
	}
}

func TestWriteStreamSourceError(t *testing.T) {
	a, peer := establishedWithRawPeer(t, testConfig())
	// Nothing sent yet: the association survives.
	boom := errors.New("disk on fire")
	if err := a.WriteStream(context.Background(), 1, false, iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Fatalf("WriteStream: %v", err)
	}
	if a.State() != Sta6 {
		t.Fatalf("state %s", a.State())
	}
	if err := a.WriteStream(context.Background(), 9, false, bytes.NewReader(nil)); !errors.Is(err, ErrUnknownContext) {
		t.Fatalf("WriteStream on context 9: %v", err)
	}
	// Fragments sent, then the source fails: abort.
	src := io.MultiReader(bytes.NewReader(make([]byte, 3*int(a.MaxPDVData()))), iotest.ErrReader(boom))
	errc := make(chan error, 1)
	go func() { errc <- a.WriteStream(context.Background(), 1, false, src) }()
	// The third fragment waits on the look-ahead that fails: two go out.
	for range 2 {
		peer.expect(pdu.TypePDataTF)
	}
	peer.expectAbort(pdu.AbortServiceUser, 0)
	peer.conn.Close()
	var ae *AbortError
	if err := wait(t, errc); !errors.Is(err, boom) || !errors.As(err, &ae) {
		t.Fatalf("WriteStream: %v", err)
	}
}

func TestRequestorProtocolErrors(t *testing.T) {
	tests := []struct {
		name    string
		reply   func(p *rawPeer)
		check   func(p *rawPeer)
		wantErr func(error) bool
	}{
		{
			name:    "P-DATA-TF instead of A-ASSOCIATE-AC (Evt10 in Sta5, AA-8)",
			reply:   func(p *rawPeer) { p.send(&pdu.PDataTF{Items: []pdu.PDV{{ContextID: 1, Data: []byte{1}}}}) },
			check:   func(p *rawPeer) { p.expectAbort(pdu.AbortServiceProvider, pdu.AbortUnexpectedPDU); p.conn.Close() },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) },
		},
		{
			name: "A-ABORT (Evt16 in Sta5, AA-3)",
			reply: func(p *rawPeer) {
				p.send(&pdu.Abort{Source: pdu.AbortServiceProvider, Reason: pdu.AbortReasonNotSpecified})
			},
			check: func(p *rawPeer) { p.expectClosed() },
			wantErr: func(err error) bool {
				var ae *AbortError
				return errors.As(err, &ae) && !ae.Local
			},
		},
		{
			name:    "no answer within ARTIM",
			reply:   func(*rawPeer) {},
			check:   func(p *rawPeer) { p.expectAbort(pdu.AbortServiceUser, 0); p.conn.Close() },
			wantErr: func(err error) bool { return errors.Is(err, ErrTimeout) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tcpPair(t)
			cfg := testConfig()
			cfg.ARTIMTimeout = 200 * time.Millisecond
			errc := make(chan error, 1)
			go func() {
				_, err := Request(context.Background(), client, testRQ(), cfg)
				errc <- err
			}()
			peer := newRawPeer(t, server)
			rq := peer.expect(pdu.TypeAssociateRQ).(*pdu.AssociateRQ)
			if rq.UserInfo.MaxLength != DefaultMaxPDULength || rq.UserInfo.ImplementationClassUID != DefaultImplementationClassUID ||
				rq.ApplicationContext != pdu.ApplicationContextName || rq.ProtocolVersion != 1 {
				t.Fatalf("RQ defaults not filled: %+v", rq)
			}
			tc.reply(peer)
			tc.check(peer)
			if err := wait(t, errc); !tc.wantErr(err) {
				t.Fatalf("Request: %v", err)
			}
		})
	}
}

func TestReleaseCollision(t *testing.T) {
	// Both sides request release at once: the requestor goes Sta7, Sta9,
	// Sta11, Sta1; the acceptor Sta7, Sta10, Sta12, Sta13, Sta1.
	client, server := tcpPair(t)
	ch := acceptAsync(server, testConfig(), testPolicy())
	req, err := Request(context.Background(), client, testRQ(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	acc := wait(t, ch).a
	errs := make(chan error, 2)
	go func() { errs <- req.Release(context.Background()) }()
	go func() { errs <- acc.Release(context.Background()) }()
	for range 2 {
		if err := wait(t, errs); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
	if req.State() != Sta1 || acc.State() != Sta1 {
		t.Fatalf("states %s %s", req.State(), acc.State())
	}
}

func TestReleaseDiscardsDataAndPeerSendsAfterRequest(t *testing.T) {
	// The acceptor, in Sta8 after A-RELEASE-RQ, may still send P-DATA
	// (AR-7); the requestor in Sta7 receives it (AR-6) before A-RELEASE-RP.
	client, server := tcpPair(t)
	ch := acceptAsync(server, testConfig(), testPolicy())
	req, err := Request(context.Background(), client, testRQ(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	acc := wait(t, ch).a
	errc := make(chan error, 1)
	go func() { errc <- req.Release(context.Background()) }()
	if _, err := acc.ReadStream(context.Background()); !errors.Is(err, ErrReleaseRequested) {
		t.Fatalf("ReadStream: %v", err)
	}
	if acc.State() != Sta8 {
		t.Fatalf("acceptor state %s", acc.State())
	}
	if err := acc.Send(context.Background(), 3, true, []byte("late response")); err != nil {
		t.Fatalf("Send in Sta8: %v", err)
	}
	if err := acc.Release(context.Background()); err != nil {
		t.Fatalf("acceptor Release: %v", err)
	}
	if err := wait(t, errc); err != nil {
		t.Fatalf("requestor Release: %v", err)
	}
}

func TestClose(t *testing.T) {
	client, server := tcpPair(t)
	ch := acceptAsync(server, testConfig(), testPolicy())
	req, err := Request(context.Background(), client, testRQ(), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	acc := wait(t, ch).a
	errc := make(chan error, 1)
	go func() {
		_, err := acc.ReadStream(context.Background())
		if errors.Is(err, ErrReleaseRequested) {
			err = acc.Close()
		}
		errc <- err
	}()
	if err := req.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := wait(t, errc); err != nil {
		t.Fatalf("acceptor: %v", err)
	}
	if err := req.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := req.Release(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Release after Close: %v", err)
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&AbortError{Abort: pdu.Abort{Source: pdu.AbortServiceProvider, Reason: pdu.AbortUnexpectedPDU}},
			"ul: association aborted by peer: A-ABORT by DICOM UL service-provider: unexpected PDU"},
		{&AbortError{Abort: pdu.Abort{}, Local: true, Err: ErrTimeout}, "ul: association aborted (A-ABORT by DICOM UL service-user): ul: timeout"},
		{&RejectedError{RJ: pdu.AssociateRJ{Result: 1, Source: 1, Reason: 7}}, "ul: association rejected by peer: rejected-permanent by DICOM UL service-user: called AE title not recognized"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
