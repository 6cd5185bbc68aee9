package ul

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
	"github.com/lightbox-pacs/lightbox/internal/memconn"
)

func mustPDU(p pdu.PDU) []byte {
	b, err := pdu.AppendPDU(nil, p)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzAcceptor feeds any byte sequence, typically a sequence of PDUs, to
// an acceptor over a memconn.Conn: it must not panic, must finish within a
// short deadline, and its goroutines must return (goleak in TestMain).
func FuzzAcceptor(f *testing.F) {
	rq := mustPDU(fullRQ())
	cmd := mustPDU(&pdu.PDataTF{Items: []pdu.PDV{{ContextID: 1, Command: true, Last: true, Data: []byte("cmd")}}})
	data := mustPDU(&pdu.PDataTF{Items: []pdu.PDV{
		{ContextID: 1, Data: []byte("frag1")},
		{ContextID: 1, Last: true, Data: []byte("frag2")},
	}})
	relRQ := mustPDU(&pdu.ReleaseRQ{})
	relRP := mustPDU(&pdu.ReleaseRP{})
	abort := mustPDU(&pdu.Abort{Source: pdu.AbortServiceUser})
	seeds := [][]byte{
		{},
		rq,
		bytes.Join([][]byte{rq, cmd, data, relRQ}, nil),
		bytes.Join([][]byte{rq, cmd, abort}, nil),
		bytes.Join([][]byte{rq, rq}, nil),
		bytes.Join([][]byte{rq, relRP}, nil),
		bytes.Join([][]byte{rq, relRQ, cmd}, nil),
		bytes.Join([][]byte{cmd, rq}, nil),
		bytes.Join([][]byte{rq, {0x04, 0, 0xFF, 0xFF, 0xFF, 0xFF}}, nil),
		bytes.Join([][]byte{rq, {0x09, 0, 0, 0, 0, 0}}, nil),
		bytes.Join([][]byte{rq, data[:9]}, nil),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	policy := testPolicy()
	f.Fuzz(func(t *testing.T, in []byte) {
		conn := memconn.New(in)
		cfg := Config{
			ARTIMTimeout: 20 * time.Millisecond,
			IdleTimeout:  50 * time.Millisecond,
			MaxPDULength: 4096,
			Limits:       pdu.Limits{MaxPDataLength: 4096, MaxAssociateLength: 1 << 16},
			Logger:       slog.New(slog.DiscardHandler),
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			ctx := context.Background()
			a, err := Accept(ctx, conn, cfg, policy.Negotiate)
			if err != nil {
				return
			}
			defer a.Close()
			for {
				s, err := a.ReadStream(ctx)
				if errors.Is(err, ErrReleaseRequested) {
					_ = a.Release(ctx)
					return
				}
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, s); err != nil {
					return
				}
				if err := a.Send(ctx, s.ContextID, s.Command, []byte("reply")); err != nil {
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("acceptor did not finish on input %x", in)
		}
		_ = conn.Close()
	})
}
