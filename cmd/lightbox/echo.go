package main

import (
	"context"
	"fmt"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
)

func runEcho(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "echo", "AE@host:port [flags]", `
Check that a DICOM peer answers: request an association with it, send C-ECHO (Verification,
PS3.7 9.1.5) --count times and print each round-trip time.

On failure, one line on standard error says why (connection refused, association rejected with
the peer's reason, TLS handshake, ...) and the exit status is 1.`)
	nf := addNetFlags(fs)
	count := fs.Int("count", 1, "number of C-ECHO requests to send on the association")
	p, rest, err := parseNetCommand(e, fs, nf, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 || *count < 1 {
		fmt.Fprintf(e.stderr, "lightbox echo: want one peer and --count of 1 or more\n")
		return exitError{2}
	}
	opts, err := nf.dialOptions(e, "echo", p, []dimse.Proposal{dimse.EchoProposal()})
	if err != nil {
		return err
	}
	start := time.Now()
	c, err := dimse.Dial(ctx, p.Addr(), opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "association with %s accepted in %s\n", p, fmtDuration(time.Since(start)))
	for i := 1; i <= *count; i++ {
		t0 := time.Now()
		if err := c.Echo(ctx); err != nil {
			c.Abort()
			return fmt.Errorf("C-ECHO %d/%d to %s: %w", i, *count, p, err)
		}
		fmt.Fprintf(e.stdout, "C-ECHO %d/%d: success in %s\n", i, *count, fmtDuration(time.Since(t0)))
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("release the association with %s: %w", p, err)
	}
	return nil
}
