package dimse_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
)

// TestShutdownIdleAssociation: Shutdown ends an association that sits idle between requests at
// once, instead of waiting for the peer to release it.
func TestShutdownIdleAssociation(t *testing.T) {
	srv := &dimse.Server{Handler: dimse.NewServeMux()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c, err := dimse.Dial(ctxT(t), ln.Addr().String(), dimse.DialOptions{Proposals: []dimse.Proposal{dimse.EchoProposal()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	if err := c.Echo(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v after %v", err, time.Since(start))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %v with an idle association", d)
	}
	if err := <-done; !errors.Is(err, dimse.ErrServerClosed) {
		t.Fatalf("serve: %v", err)
	}
}
