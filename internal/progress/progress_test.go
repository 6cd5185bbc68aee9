package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestETA(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-1, "--:--"},
		{0, "0:00"},
		{400 * time.Millisecond, "0:00"},
		{1500 * time.Millisecond, "0:02"},
		{59 * time.Second, "0:59"},
		{61 * time.Second, "1:01"},
		{59*time.Minute + 59*time.Second, "59:59"},
		{time.Hour, "1:00:00"},
		{26*time.Hour + 3*time.Minute + 4*time.Second, "26:03:04"},
	} {
		if got := ETA(c.d); got != c.want {
			t.Errorf("ETA(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestRateAndMB(t *testing.T) {
	for _, c := range []struct {
		r    float64
		want string
	}{{0, "0.0"}, {0.04, "0.0"}, {2.55, "2.5"}, {99.94, "99.9"}, {100, "100"}, {12345.6, "12346"}} {
		if got := Rate(c.r); got != c.want {
			t.Errorf("Rate(%v) = %q, want %q", c.r, got, c.want)
		}
	}
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0.0"}, {49_999, "0.0"}, {1_250_000, "1.2"}, {1_000_000_000, "1000.0"}} {
		if got := MB(c.n); got != c.want {
			t.Errorf("MB(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		name  string
		st    State
		width int
		want  string
	}{
		{"bytes known", State{Items: 5, Total: 10, Bytes: 2_000_000, TotalBytes: 8_000_000, Elapsed: 2 * time.Second, Unit: "inst"}, 79,
			"[====>            ]  25%  5/10 inst  2.0/8.0 MB  2.5 inst/s  1.0 MB/s  ETA 0:06"},
		{"items only", State{Items: 30, Total: 120, Elapsed: 10 * time.Second, Unit: "files"}, 79,
			"[========>                          ]  25%  30/120 files  3.0 files/s  ETA 0:30"},
		{"unknown totals", State{Items: 7, Bytes: 3_000_000, Elapsed: time.Second, Unit: "inst"}, 79,
			"7 inst  3.0 MB  7.0 inst/s  3.0 MB/s  ETA --:--"},
		{"not started", State{Total: 10, TotalBytes: 1_000_000, Unit: "inst"}, 79,
			"[>                                     ]   0%  0/10 inst  0.0/1.0 MB  ETA --:--"},
		{"done", State{Items: 10, Total: 10, Bytes: 1_000_000, TotalBytes: 1_000_000, Elapsed: time.Second, Unit: "inst"}, 79,
			"[===============] 100%  10/10 inst  1.0/1.0 MB  10.0 inst/s  1.0 MB/s  ETA 0:00"},
		{"narrow: no bar", State{Items: 5, Total: 10, Bytes: 2_000_000, TotalBytes: 8_000_000, Elapsed: 2 * time.Second, Unit: "inst"}, 60,
			" 25%  5/10 inst  2.0/8.0 MB  2.5 inst/s  1.0 MB/s  ETA 0:06"},
		{"narrower: rates dropped", State{Items: 5, Total: 10, Bytes: 2_000_000, TotalBytes: 8_000_000, Elapsed: 2 * time.Second, Unit: "inst"}, 40,
			" 25%  5/10 inst  2.0/8.0 MB  ETA 0:06"},
		{"tiny: cut", State{Items: 5, Total: 10, Elapsed: 2 * time.Second, Unit: "inst"}, 8,
			" 50%  5/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.st.Line(c.width)
			if got != c.want {
				t.Errorf("Line(%d) =\n%q, want\n%q", c.width, got, c.want)
			}
			if len(got) > c.width {
				t.Errorf("line of %d columns exceeds width %d", len(got), c.width)
			}
		})
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestBarThrottlesAndClears(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	var out bytes.Buffer
	b := New(&out, 4, 4_000_000, Options{Now: clk.Now, Width: 60, Unit: "inst", Force: true})
	b.Add(1, 1_000_000) // first draw
	clk.advance(50 * time.Millisecond)
	b.Add(1, 1_000_000) // within the interval: no draw
	if n := strings.Count(out.String(), "\r"); n != 1 {
		t.Fatalf("%d draws after two quick Adds, want 1: %q", n, out.String())
	}
	clk.advance(150 * time.Millisecond)
	b.Add(1, 1_000_000)
	if n := strings.Count(out.String(), "\r"); n != 2 {
		t.Fatalf("%d draws, want 2: %q", n, out.String())
	}
	last := out.String()[strings.LastIndex(out.String(), "\r")+1:]
	if want := " 75%  3/4 inst  3.0/4.0 MB  15.0 inst/s  ETA 0:00"; strings.TrimRight(last, " ") != want {
		t.Errorf("last line %q, want %q", last, want)
	}
	if len(last) > 59 {
		t.Errorf("line of %d columns for width 60", len(last))
	}
	st := b.Snapshot()
	if st.Items != 3 || st.Bytes != 3_000_000 || st.Elapsed != 200*time.Millisecond {
		t.Errorf("snapshot %+v", st)
	}
	b.Done()
	if !strings.HasSuffix(out.String(), "\r"+strings.Repeat(" ", len(last))+"\r") {
		t.Errorf("Done did not clear the line: %q", out.String())
	}
	n := out.Len()
	clk.advance(time.Second)
	b.Add(1, 0)
	b.Done()
	if out.Len() != n {
		t.Error("drew after Done")
	}
}

func TestBarSilentWhenNotTerminal(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, 10, 0, Options{})
	if b.Drawing() {
		t.Fatal("a bytes.Buffer taken for a terminal")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Add(1, 10)
			}
		}()
	}
	wg.Wait()
	b.Done()
	if out.Len() != 0 {
		t.Errorf("wrote %q", out.String())
	}
	if st := b.Snapshot(); st.Items != 800 || st.Bytes != 8000 {
		t.Errorf("counts %+v after concurrent Adds", st)
	}
}
