package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/progress"
)

// maxContexts is the number of presentation contexts that fit one association (PS3.8 9.3.2.2:
// odd context IDs 1 to 255).
const maxContexts = 128

// sendFile is one instance found on disk.
type sendFile struct {
	path                    string
	class, instance, syntax string
	size                    int64
}

// sendFailure is an instance that did not arrive, and why.
type sendFailure struct {
	path, instance, reason string
}

// sendTally collects the outcome of the workers.
type sendTally struct {
	mu       sync.Mutex
	sent     int
	bytes    int64
	failures []sendFailure
	warnings []string
}

func (t *sendTally) ok(f *sendFile, st dimse.Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent++
	t.bytes += f.size
	if st.Kind() == dimse.KindWarning {
		t.warnings = append(t.warnings, fmt.Sprintf("%s (%s): stored with warning %s", f.path, f.instance, st))
	}
}

func (t *sendTally) fail(f *sendFile, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures = append(t.failures, sendFailure{path: f.path, instance: f.instance, reason: reason})
}

func runSend(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "send", "[flags] AE@host:port FILE|DIR...", `
Send DICOM files to a peer with C-STORE (PS3.4 B). Directories are walked recursively; files
that are not DICOM are skipped with a note. Each instance goes out exactly as stored: its data
set bytes unchanged, in its transfer syntax, proposed in a presentation context of its own
(SOP class, transfer syntax). A peer that does not accept a file's transfer syntax makes that
file fail: transcoding is not available yet.

More than 128 presentation contexts are split over several associations in turn;
--associations N sends over N associations in parallel, splitting the files between them.

A progress bar is drawn on standard error when it is a terminal. A summary line is always
printed at the end, after the list of failures (file, SOP instance, reason); the exit status is
1 if any instance failed.`)
	nf := addNetFlags(fs)
	assocs := fs.Int("associations", 1, "number of associations to send over in parallel")
	p, paths, err := parseNetCommand(e, fs, nf, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 || *assocs < 1 {
		fmt.Fprintf(e.stderr, "lightbox send: want a peer, one or more files or directories, and --associations of 1 or more\n")
		return exitError{2}
	}

	// The TLS set-up and its warnings once, not per association.
	base, err := nf.dialOptions(e, "send", p, nil)
	if err != nil {
		return err
	}
	files, skipped, scanFailures, err := scanFiles(ctx, e, paths)
	if err != nil {
		return err
	}
	tally := &sendTally{failures: scanFailures}
	var total int64
	for _, f := range files {
		total += f.size
	}
	bar := progress.New(e.stderr, int64(len(files)), total, progress.Options{Unit: "inst", Width: termWidth(e)})
	start := time.Now()

	n := min(*assocs, max(len(files), 1))
	chunks := make([][]*sendFile, n)
	for i, f := range files {
		chunks[i%n] = append(chunks[i%n], f)
	}
	var wg sync.WaitGroup
	for _, chunk := range chunks {
		if len(chunk) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sendChunk(ctx, base, p, chunk, tally, bar)
		}()
	}
	wg.Wait()
	bar.Done()
	elapsed := time.Since(start)

	for _, w := range tally.warnings {
		fmt.Fprintf(e.stderr, "lightbox send: %s\n", w)
	}
	sort.Slice(tally.failures, func(i, j int) bool { return tally.failures[i].path < tally.failures[j].path })
	if len(tally.failures) > 0 {
		fmt.Fprintf(e.stderr, "lightbox send: %d failed:\n", len(tally.failures))
		for _, f := range tally.failures {
			inst := f.instance
			if inst == "" {
				inst = "SOP instance unknown"
			}
			fmt.Fprintf(e.stderr, "  %s (%s): %s\n", f.path, inst, f.reason)
		}
	}
	line := fmt.Sprintf("sent %d instances (%s MB) in %s: %s inst/s, %s MB/s; %d failed", tally.sent, progress.MB(tally.bytes),
		fmtSeconds(elapsed), progress.Rate(perSecond(float64(tally.sent), elapsed)), progress.Rate(perSecond(float64(tally.bytes)/1e6, elapsed)),
		len(tally.failures))
	if skipped > 0 {
		line += fmt.Sprintf("; %d skipped (not DICOM instances)", skipped)
	}
	fmt.Fprintln(e.stdout, line)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if len(tally.failures) > 0 {
		return exitError{1}
	}
	return nil
}

func perSecond(x float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return x / d.Seconds()
}

func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// scanFiles finds the files under paths and reads what C-STORE needs of each. Files that are not
// DICOM, or DICOM but no storable instance (a DICOMDIR), are skipped with a note; files that
// cannot be read are failures.
func scanFiles(ctx context.Context, e *env, paths []string) (files []*sendFile, skipped int, failures []sendFailure, err error) {
	visit := func(path string) {
		fi, err := dimse.OpenFile(path)
		switch {
		case errors.Is(err, dicom.ErrNotDICOM):
			fmt.Fprintf(e.stderr, "lightbox send: skipping %s: not a DICOM file\n", path)
			skipped++
			return
		case errors.Is(err, dimse.ErrNotStorable):
			fmt.Fprintf(e.stderr, "lightbox send: skipping %s: no SOP Class or SOP Instance UID, not a storable instance\n", path)
			skipped++
			return
		case err != nil:
			failures = append(failures, sendFailure{path: path, reason: "cannot read: " + strings.TrimPrefix(err.Error(), path+": ")})
			return
		}
		defer fi.Close()
		if fi.SOPClassUID == uid.MediaStorageDirectoryStorage {
			fmt.Fprintf(e.stderr, "lightbox send: skipping %s: a DICOMDIR, not an instance\n", path)
			skipped++
			return
		}
		files = append(files, &sendFile{path: path, class: fi.SOPClassUID, instance: fi.SOPInstanceUID, syntax: fi.TransferSyntax, size: fi.Size})
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			failures = append(failures, sendFailure{path: root, reason: err.Error()})
			continue
		}
		if !st.IsDir() {
			visit(root)
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				failures = append(failures, sendFailure{path: path, reason: err.Error()})
				return nil
			}
			if d.Type().IsRegular() {
				visit(path)
			} else if d.Type()&fs.ModeSymlink != 0 {
				if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
					visit(path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, 0, nil, err
		}
	}
	return files, skipped, failures, nil
}

// contextBatches splits files so that the presentation contexts each part needs fit one
// association, keeping the files of one SOP class together.
func contextBatches(files []*sendFile) [][]*sendFile {
	byClass := map[string][]*sendFile{}
	var classes []string
	for _, f := range files {
		if _, ok := byClass[f.class]; !ok {
			classes = append(classes, f.class)
		}
		byClass[f.class] = append(byClass[f.class], f)
	}
	sort.Strings(classes)
	var batches [][]*sendFile
	var cur []*sendFile
	pairs := map[string][]string{}
	for _, c := range classes {
		next := map[string][]string{c: syntaxesOf(byClass[c])}
		for k, v := range pairs {
			next[k] = v
		}
		if len(cur) > 0 && len(sendProposals(next)) > maxContexts {
			batches = append(batches, cur)
			cur, next = nil, map[string][]string{c: syntaxesOf(byClass[c])}
		}
		pairs = next
		cur = append(cur, byClass[c]...)
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches
}

// sendProposals proposes the presentation contexts to send the (SOP class → transfer syntaxes)
// pairs as stored: those of dimse.StorageProposals, with its context of both native syntaxes
// split into one per native syntax the files use, because the peer accepts one syntax per
// context and data sets are sent unchanged, never re-encoded.
func sendProposals(pairs map[string][]string) []dimse.Proposal {
	var out []dimse.Proposal
	for _, pr := range dimse.StorageProposals(pairs) {
		if len(pr.TransferSyntaxes) == 1 {
			out = append(out, pr)
			continue
		}
		for _, ts := range pr.TransferSyntaxes {
			if containsString(pairs[pr.AbstractSyntax], ts) {
				out = append(out, dimse.Proposal{AbstractSyntax: pr.AbstractSyntax, TransferSyntaxes: []string{ts}})
			}
		}
	}
	return out
}

func syntaxesOf(files []*sendFile) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		if !seen[f.syntax] {
			seen[f.syntax] = true
			out = append(out, f.syntax)
		}
	}
	return out
}

// sendChunk sends files over one association at a time, as many in turn as their presentation
// contexts need. A broken association is replaced for the files left.
func sendChunk(ctx context.Context, base dimse.DialOptions, p peer, files []*sendFile, tally *sendTally, bar *progress.Bar) {
	for _, batch := range contextBatches(files) {
		pairs := map[string][]string{}
		for _, f := range batch {
			pairs[f.class] = append(pairs[f.class], f.syntax)
		}
		opts := base
		opts.Proposals = sendProposals(pairs)
		var (
			c   *dimse.Client
			err error
		)
		for i, f := range batch {
			if ctx.Err() != nil {
				return
			}
			if c == nil && err == nil {
				c, err = dimse.Dial(ctx, p.Addr(), opts)
			}
			if err != nil {
				for _, f := range batch[i:] {
					tally.fail(f, err.Error())
					bar.Add(1, 0)
				}
				break
			}
			st, serr := sendOne(ctx, c, f, bar)
			bar.Add(1, 0)
			switch {
			case serr == nil:
				tally.ok(f, st)
			case errors.Is(serr, dimse.ErrNoContext):
				tally.fail(f, noContextReason(c, f))
			default:
				var se *dimse.StatusError
				if errors.As(serr, &se) {
					tally.fail(f, fmt.Sprintf("status %s%s", se.Status, suffix(": ", se.Comment)))
					continue
				}
				// The association is likely gone: the next file gets a new one.
				tally.fail(f, serr.Error())
				c.Abort()
				c = nil
			}
		}
		if c != nil {
			c.Close()
		}
	}
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// sendOne sends one file, counting its bytes on the bar as they go.
func sendOne(ctx context.Context, c *dimse.Client, f *sendFile, bar *progress.Bar) (dimse.Status, error) {
	fi, err := dimse.OpenFile(f.path)
	if err != nil {
		return 0, fmt.Errorf("reopen: %w", err)
	}
	defer fi.Close()
	if fi.SOPInstanceUID != f.instance || fi.TransferSyntax != f.syntax {
		return 0, fmt.Errorf("%s changed on disk while sending", f.path)
	}
	req := fi.StoreRequest
	req.Data = &countingReader{r: fi.Data, add: func(n int64) { bar.Add(0, n) }}
	return c.Store(ctx, req)
}

// noContextReason explains a file refused for want of a presentation context.
func noContextReason(c *dimse.Client, f *sendFile) string {
	var accepted []string
	for _, pc := range c.Association().Contexts() {
		if pc.AbstractSyntax == f.class {
			accepted = append(accepted, uid.Name(pc.TransferSyntax))
		}
	}
	if len(accepted) == 0 {
		return fmt.Sprintf("the peer does not accept %s (no presentation context accepted for this SOP class)", uid.Name(f.class))
	}
	return fmt.Sprintf("the peer does not accept the transfer syntax %s for %s (it accepts %s); transcoding is not available yet",
		uid.Name(f.syntax), uid.Name(f.class), strings.Join(accepted, ", "))
}

// countingReader reports the bytes read through it.
type countingReader struct {
	r   io.Reader
	add func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.add(int64(n))
	}
	return n, err
}
