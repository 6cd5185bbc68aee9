// Package progress draws a one-line progress bar on a terminal: items and bytes done out of a
// total, their rates and the time left. It draws nothing when its writer is not a terminal, so
// that logs and pipes get only what the caller prints at the end.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Options configure a Bar. The zero value is usable.
type Options struct {
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
	// Interval is the least time between two redraws (default 100 ms).
	Interval time.Duration
	// Width is the line width in columns (default 80). The line drawn is one column shorter,
	// so that the terminal does not wrap it.
	Width int
	// Unit names the items ("files", "inst"); default "items".
	Unit string
	// Force draws even when the writer is not a terminal.
	Force bool
}

// Bar is a progress reporter. Its methods are safe for concurrent use.
type Bar struct {
	w    io.Writer
	opts Options
	draw bool

	mu        sync.Mutex
	st        State
	start     time.Time
	lastDraw  time.Time
	drawn     bool
	done      bool
	lastWidth int
}

// State is what a line shows.
type State struct {
	Items, Total      int64 // Total 0: unknown
	Bytes, TotalBytes int64 // TotalBytes 0: unknown, bytes shown without a total; both 0: not shown
	Elapsed           time.Duration
	Unit              string
}

// New returns a bar for total items of totalBytes bytes in all (either may be 0 when unknown)
// writing to w. It draws only when w is a terminal (see IsTerminal) or opts.Force is set.
func New(w io.Writer, total, totalBytes int64, opts Options) *Bar {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval <= 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.Width <= 0 {
		opts.Width = 80
	}
	if opts.Unit == "" {
		opts.Unit = "items"
	}
	b := &Bar{w: w, opts: opts, draw: opts.Force || IsTerminal(w), start: opts.Now()}
	b.st = State{Total: total, TotalBytes: totalBytes, Unit: opts.Unit}
	return b
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Drawing reports whether the bar draws at all.
func (b *Bar) Drawing() bool { return b.draw }

// SetTotal changes the totals, for operations that learn them as they go (C-MOVE, C-GET).
func (b *Bar) SetTotal(total, totalBytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Total, b.st.TotalBytes = total, totalBytes
	b.maybeDraw()
}

// Add counts items and bytes done, and redraws when the last draw is older than the interval.
func (b *Bar) Add(items, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Items += items
	b.st.Bytes += bytes
	b.maybeDraw()
}

// Snapshot returns the current counts and the time elapsed since New.
func (b *Bar) Snapshot() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.st
	st.Elapsed = b.opts.Now().Sub(b.start)
	return st
}

// Done stops drawing and clears the line, leaving the cursor at its start for the caller's
// summary.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	if b.drawn {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.lastWidth))
	}
}

func (b *Bar) maybeDraw() {
	if !b.draw || b.done {
		return
	}
	now := b.opts.Now()
	if b.drawn && now.Sub(b.lastDraw) < b.opts.Interval {
		return
	}
	b.lastDraw = now
	st := b.st
	st.Elapsed = now.Sub(b.start)
	line := st.Line(b.opts.Width - 1)
	// Pad over a longer previous line.
	pad := max(0, b.lastWidth-len(line))
	fmt.Fprintf(b.w, "\r%s%s", line, strings.Repeat(" ", pad))
	b.lastWidth = len(line) + pad
	b.drawn = true
}

// Line renders the state in at most width columns (ASCII only): a bar when there is room for one,
// the percentage, the counts, the rates and the time left.
func (s State) Line(width int) string {
	var parts []string
	frac := -1.0
	switch {
	case s.TotalBytes > 0:
		frac = float64(s.Bytes) / float64(s.TotalBytes)
	case s.Total > 0:
		frac = float64(s.Items) / float64(s.Total)
	}
	frac = min(frac, 1)
	if frac >= 0 {
		parts = append(parts, fmt.Sprintf("%3d%%", int(frac*100)))
	}
	if s.Total > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d %s", s.Items, s.Total, s.Unit))
	} else {
		parts = append(parts, fmt.Sprintf("%d %s", s.Items, s.Unit))
	}
	if s.TotalBytes > 0 {
		parts = append(parts, fmt.Sprintf("%s/%s MB", MB(s.Bytes), MB(s.TotalBytes)))
	} else if s.Bytes > 0 {
		parts = append(parts, MB(s.Bytes)+" MB")
	}
	secs := s.Elapsed.Seconds()
	if secs > 0 {
		parts = append(parts, fmt.Sprintf("%s %s/s", Rate(float64(s.Items)/secs), s.Unit))
		if s.Bytes > 0 || s.TotalBytes > 0 {
			parts = append(parts, fmt.Sprintf("%s MB/s", Rate(float64(s.Bytes)/1e6/secs)))
		}
	}
	parts = append(parts, "ETA "+ETA(s.remaining()))
	text := strings.Join(parts, "  ")
	if len(text) > width {
		// Drop the least useful parts first: the rates, then the byte counts; keep the
		// percentage, the item count and the time left.
		keep := 2
		if frac >= 0 {
			keep = 3
		}
		for len(text) > width && len(parts) > keep {
			parts = append(parts[:len(parts)-2], parts[len(parts)-1])
			text = strings.Join(parts, "  ")
		}
		if len(text) > width {
			text = text[:max(width, 0)]
		}
		return text
	}
	const minBar = 10
	if frac >= 0 && width-len(text)-3 >= minBar {
		n := min(width-len(text)-3, 40)
		fill := int(frac * float64(n))
		bar := strings.Repeat("=", fill)
		if fill < n {
			bar += ">" + strings.Repeat(" ", n-fill-1)
		}
		text = "[" + bar + "] " + text
	}
	return text
}

// remaining estimates the time left from the byte rate when the byte total is known, else from
// the item rate; -1 when it cannot be estimated.
func (s State) remaining() time.Duration {
	secs := s.Elapsed.Seconds()
	var done, total int64
	switch {
	case s.TotalBytes > 0 && s.Bytes > 0:
		done, total = s.Bytes, s.TotalBytes
	case s.Total > 0 && s.Items > 0:
		done, total = s.Items, s.Total
	default:
		return -1
	}
	if secs <= 0 {
		return -1
	}
	if done >= total {
		return 0
	}
	left := float64(total-done) / (float64(done) / secs)
	if left > float64(1<<62)/1e9 {
		return -1
	}
	return time.Duration(left * float64(time.Second))
}

// ETA formats a time left as m:ss, or h:mm:ss from an hour on; "--:--" when unknown (negative).
func ETA(d time.Duration) string {
	if d < 0 {
		return "--:--"
	}
	s := int64((d + time.Second/2) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// MB formats a byte count in megabytes (10^6 bytes) with one decimal.
func MB(n int64) string { return fmt.Sprintf("%.1f", float64(n)/1e6) }

// Rate formats a rate with three significant digits at most, and one decimal below 100.
func Rate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}
