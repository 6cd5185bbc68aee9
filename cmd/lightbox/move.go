package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/progress"
)

func runMove(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "move", "[flags] AE@host:port --dest AE -k KEY=VALUE...", `
Ask a peer to send the instances matching a query to the AE title --dest with C-MOVE (PS3.4 C).
The peer must know --dest (its host and port) as a move destination.

--level, --model and -k are as for find; at least one key must carry a value, so that a
mistake does not move the whole archive:

  lightbox move ARCHIVE@pacs:104 --dest WORKSTATION -k StudyInstanceUID=1.2.3.4

Progress (remaining, completed, failed, warning) is shown as the peer reports it: as a bar on a
terminal, else as a line per report. The final result lists the UIDs the peer could not send;
the exit status is 1 when any sub-operation failed or the C-MOVE was refused.`)
	nf := addNetFlags(fs)
	qf := addQueryFlags(fs)
	dest := fs.String("dest", "", "AE title of the move destination (required)")
	p, rest, err := parseNetCommand(e, fs, nf, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "lightbox move: unexpected argument %q (query keys go with -k)\n", rest[0])
		return exitError{2}
	}
	if err := checkAETitle(*dest); err != nil {
		fmt.Fprintf(e.stderr, "lightbox move: --dest: %v\n", err)
		return exitError{2}
	}
	level, err := qf.normLevel()
	if err != nil {
		return err
	}
	model, err := qf.sopClass(dimse.CMoveRQ)
	if err != nil {
		return err
	}
	query, _, err := buildQuery(level, nil, qf.keys)
	if err != nil {
		return err
	}
	if !hasMatchingKey(query) {
		return errors.New("no -k key with a value: refusing to move everything at this level (e.g. -k StudyInstanceUID=...)")
	}
	opts, err := nf.dialOptions(e, "move", p, dimse.Proposals(model))
	if err != nil {
		return err
	}
	c, err := dimse.Dial(ctx, p.Addr(), opts)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	rp := newRetrieveProgress(e, "move")
	res, err := c.Move(ctx, model, *dest, query, rp.update)
	rp.done()
	return retrieveResult(e, "move", fmt.Sprintf("moved to %s", *dest), res, err, time.Since(start))
}

// retrieveProgress shows the sub-operation counts of C-MOVE and C-GET pending responses.
type retrieveProgress struct {
	e    *env
	cmd  string
	bar  *progress.Bar
	last time.Time
}

func newRetrieveProgress(e *env, cmd string) *retrieveProgress {
	return &retrieveProgress{e: e, cmd: cmd, bar: progress.New(e.stderr, 0, 0, progress.Options{Unit: "inst", Width: termWidth(e)})}
}

func (r *retrieveProgress) update(s dimse.SubOperations) {
	done := int64(s.Completed) + int64(s.Failed) + int64(s.Warning)
	if r.bar.Drawing() {
		r.bar.SetTotal(done+int64(s.Remaining), 0)
		r.bar.Add(done-r.bar.Snapshot().Items, 0)
		return
	}
	// Not a terminal: a line per report, at most one a second.
	if now := time.Now(); now.Sub(r.last) >= time.Second || s.Remaining == 0 {
		r.last = now
		fmt.Fprintf(r.e.stderr, "lightbox %s: %d remaining, %d completed, %d failed, %d warning\n", r.cmd, s.Remaining, s.Completed, s.Failed, s.Warning)
	}
}

func (r *retrieveProgress) done() { r.bar.Done() }

// retrieveResult prints the outcome of a C-MOVE or C-GET and returns the command's error.
func retrieveResult(e *env, cmd, what string, res *dimse.RetrieveResult, err error, elapsed time.Duration) error {
	if res == nil {
		return err
	}
	s := res.SubOps
	fmt.Fprintf(e.stdout, "%s: status %s; %d completed, %d failed, %d warning in %s\n", what, res.Status, s.Completed, s.Failed, s.Warning, fmtSeconds(elapsed))
	for _, u := range res.FailedUIDs {
		fmt.Fprintf(e.stdout, "failed: %s\n", u)
	}
	if err != nil {
		return err
	}
	if s.Failed > 0 || len(res.FailedUIDs) > 0 {
		return exitError{1}
	}
	return nil
}
