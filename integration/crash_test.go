package integration

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dimse"
)

// ackSet records the instances whose C-STORE the server acknowledged with success.
type ackSet struct {
	mu   sync.Mutex
	sops map[string]bool
	n    atomic.Int64
}

func (a *ackSet) add(sop string) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sops[sop] {
		return a.n.Load()
	}
	a.sops[sop] = true
	return a.n.Add(1)
}

func (a *ackSet) has(sop string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sops[sop]
}

// ingestResult is what a parallel ingest saw.
type ingestResult struct {
	stored   int     // acknowledged with success in this ingest
	failures []error // failure statuses (not the association breaking)
	broken   int     // associations ended by a network error
}

// ingest sends ins over workers associations, pulling from one queue, and records every success
// in acks; onAck sees the running count. A worker whose association breaks stops.
func ingest(ctx context.Context, s *server, ins []instance, workers int, acks *ackSet, onAck func(int64)) ingestResult {
	var next atomic.Int64
	var mu sync.Mutex
	var res ingestResult
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.dial(ctx, storeProposals())
			if err != nil {
				mu.Lock()
				res.broken++
				mu.Unlock()
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ins) {
					return
				}
				st, err := store(ctx, c, ins[i])
				var se *dimse.StatusError
				switch {
				case err == nil && st == dimse.StatusSuccess:
					n := acks.add(ins[i].SOP)
					mu.Lock()
					res.stored++
					mu.Unlock()
					if onAck != nil {
						onAck(n)
					}
				case err == nil || errors.As(err, &se):
					mu.Lock()
					res.failures = append(res.failures, err)
					if err == nil {
						res.failures = append(res.failures, errors.New("C-STORE "+ins[i].SOP+": status "+st.String()))
					}
					mu.Unlock()
				default:
					mu.Lock()
					res.broken++
					mu.Unlock()
					c.Abort()
					return
				}
			}
		}()
	}
	wg.Wait()
	return res
}

// TestCrashSafety ingests 2,000 small instances over 4 associations and kills the server with
// SIGKILL at a random moment, three times, restarting it on the same data directory each time:
// every instance acknowledged before a kill must be served afterwards, byte for byte; the blob
// store must hold exactly the indexed instances (no orphan, no temporary file); the startup
// sweep must have run; and the index must pass SQLite's integrity check. LIGHTBOX_LONG=1 runs
// 10,000 instances and 15 kills; LIGHTBOX_CRASH_SEED replays a run.
func TestCrashSafety(t *testing.T) {
	total, kills := 2000, 3
	if long() {
		total, kills = 10000, 15
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("LIGHTBOX_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("LIGHTBOX_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with LIGHTBOX_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	// 20 studies of 4 patients, 8 to 64 KiB each instance.
	var all []instance
	perStudy := total / 20
	var studyUIDs []string
	for i := range 20 {
		st := newStudy("CRASH"+strconv.Itoa(i%4), "CRASH^PATIENT"+strconv.Itoa(i%4), "2024010"+strconv.Itoa(1+i%9), 1+i%3)
		studyUIDs = append(studyUIDs, st.StudyUID)
		all = append(all, st.instances(t, rng, perStudy, 8<<10, 64<<10)...)
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	bySOP := map[string]*instance{}
	for i := range all {
		bySOP[all[i].SOP] = &all[i]
	}

	s := startServer(t, "")
	acks := &ackSet{sops: map[string]bool{}}
	ctx := ctxFor(t, 15*time.Minute)

	for round := 1; round <= kills; round++ {
		var pending []instance
		for _, in := range all {
			if !acks.has(in.SOP) {
				pending = append(pending, in)
			}
		}
		// Kill after a random number of acknowledgements (at least 20, at most 60% of what is
		// left) and a random delay of up to 30 ms.
		before := acks.n.Load()
		threshold := before + 20 + rng.Int64N(max(1, int64(len(pending))*6/10-20))
		delay := time.Duration(rng.IntN(30000)) * time.Microsecond
		trigger := make(chan struct{})
		var once sync.Once
		killed := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(killed)
			select {
			case <-trigger:
				time.Sleep(delay)
				s.kill()
			case <-done:
			}
		}()
		t0 := time.Now()
		res := ingest(ctx, s, pending, 4, acks, func(n int64) {
			if n >= threshold {
				once.Do(func() { close(trigger) })
			}
		})
		close(done)
		<-killed
		if s.cmd != nil {
			t.Fatalf("round %d: the ingest ended (%d stored) before the kill at %d acknowledgements", round, res.stored, threshold)
		}
		if len(res.failures) > 0 {
			t.Errorf("round %d: %d C-STOREs failed before the kill, first: %v", round, len(res.failures), res.failures[0])
		}
		blobs, temps := storeFiles(t, s.data)
		t.Logf("round %d: killed after %d acknowledgements (+%v) in %v: %d acknowledged in all; on disk %d blobs, %d temporary files",
			round, threshold-before, delay, time.Since(t0).Round(time.Millisecond), acks.n.Load(), len(blobs), len(temps))
		integrityCheck(t, s.data)

		s.start()
		if line := logLine(s.log.String(), "archive open"); !strings.Contains(line, "swept_temp=") {
			t.Errorf("round %d: the server log does not show the startup sweep:\n%s", round, s.log)
		} else {
			t.Logf("round %d: restarted: %s", round, line)
		}
		verifyArchive(t, s, studyUIDs, bySOP, acks)
		if t.Failed() {
			t.Fatalf("round %d failed; server log:\n%s", round, s.log)
		}
	}

	// Finish the ingest without a kill: everything is there.
	var pending []instance
	for _, in := range all {
		if !acks.has(in.SOP) {
			pending = append(pending, in)
		}
	}
	res := ingest(ctx, s, pending, 4, acks, nil)
	if len(res.failures) > 0 || res.broken > 0 || acks.n.Load() != int64(total) {
		t.Fatalf("final ingest: %d acknowledged of %d; failures %v; %d associations broken", acks.n.Load(), total, res.failures, res.broken)
	}
	if n := verifyArchive(t, s, studyUIDs, bySOP, acks); n != total {
		t.Errorf("the archive holds %d instances, want %d", n, total)
	}
	s.stop()
	if st := archiveStats(t, s.data); st.Instances != total || st.Studies != 20 || st.Patients != 4 {
		t.Errorf("lightbox stats: %+v, want 4 patients, 20 studies, %d instances", st, total)
	}
	integrityCheck(t, s.data)
}

// verifyArchive checks a running server against what was sent: every acknowledged instance is
// served byte for byte, everything served is an instance sent, with its bytes, and the blob
// store, /healthz and C-FIND agree on the count. It returns the count.
func verifyArchive(t *testing.T, s *server, studyUIDs []string, bySOP map[string]*instance, acks *ackSet) int {
	t.Helper()
	n := s.mustHealth()
	checkNoOrphans(t, s.data, n)
	got := s.mustGet("STUDY", studyUIDs...)
	if len(got) != n {
		t.Errorf("C-GET of every study returned %d instances, /healthz says %d", len(got), n)
	}
	missing, wrong := 0, 0
	for sop, in := range bySOP {
		r, ok := got[sop]
		switch {
		case !ok && acks.has(sop):
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged instance %s is not served", sop)
			}
		case ok && !bytes.Equal(r.data, in.Data):
			wrong++
			if wrong <= 5 {
				t.Errorf("instance %s is served with other bytes (%d, sent %d; first difference at %d)", sop, len(r.data), len(in.Data), firstDiff(r.data, in.Data))
			}
		}
	}
	for sop := range got {
		if bySOP[sop] == nil {
			t.Errorf("served instance %s was never sent", sop)
		}
	}
	if missing+wrong > 0 {
		t.Errorf("%d acknowledged instances missing, %d with other bytes", missing, wrong)
	}
	sum := 0
	for _, st := range s.mustFind("STUDY", "StudyInstanceUID=", "NumberOfStudyRelatedInstances=") {
		sum += intOf(st, tag.NumberOfStudyRelatedInstances)
	}
	if sum != n {
		t.Errorf("C-FIND: the studies' NumberOfStudyRelatedInstances add up to %d, /healthz says %d", sum, n)
	}
	return n
}

// integrityCheck runs SQLite's integrity and foreign key checks on a copy of the index (the
// database and its write-ahead log as they are on disk), when the sqlite3 shell is installed.
func integrityCheck(t *testing.T, data string) {
	t.Helper()
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Log("sqlite3 not installed: index integrity check skipped")
		return
	}
	dir := t.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(filepath.Join(data, "index.db"+suffix))
		if err != nil {
			if suffix != "" && errors.Is(err, os.ErrNotExist) {
				continue
			}
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(sqlite3, filepath.Join(dir, "index.db"), "PRAGMA integrity_check;", "PRAGMA foreign_key_check;").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("index integrity check: %v\n%s", err, out)
	}
}

// logLine returns the first line of log that contains msg.
func logLine(log, msg string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, msg) {
			return l
		}
	}
	return ""
}
