package integration

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dimse"
)

// TestConcurrentSameStudy sends the same 50-instance study over 20 associations at once, each in
// its own order: every C-STORE succeeds (a re-send of the same bytes is an idempotent success)
// and the archive ends up with exactly one study of 50 instances, stored once each, byte for
// byte.
func TestConcurrentSameStudy(t *testing.T) {
	const nInst, nAssoc = 50, 20
	s := startServer(t, "")
	rng := rand.New(rand.NewPCG(4, 4))
	st := newStudy("CONC1", "CONCURRENT^ONE", "20240105", 2)
	ins := st.instances(t, rng, nInst, 8<<10, 64<<10)

	ctx := ctxFor(t, 3*time.Minute)
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[dimse.Status]int{}
	var errs []error
	for a := range nAssoc {
		order := rand.New(rand.NewPCG(uint64(a), 99)).Perm(nInst)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.dial(ctx, storeProposals())
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			defer c.Close()
			<-start
			for _, i := range order {
				status, err := store(ctx, c, ins[i])
				mu.Lock()
				statuses[status]++
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // let every association be established
	t0 := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d C-STOREs over %d associations in %v: statuses %v", nInst*nAssoc, nAssoc, time.Since(t0).Round(time.Millisecond), statuses)
	if len(errs) > 0 {
		t.Fatalf("%d C-STOREs failed, first: %v", len(errs), errs[0])
	}
	if statuses[dimse.StatusSuccess] != nInst*nAssoc {
		t.Errorf("statuses %v, want %d successes", statuses, nInst*nAssoc)
	}

	// C-FIND at each level.
	studies := s.mustFind("STUDY", "StudyInstanceUID=", "PatientID=", "NumberOfStudyRelatedInstances=", "NumberOfStudyRelatedSeries=")
	if len(studies) != 1 || studies[0].String(tag.StudyInstanceUID) != st.StudyUID {
		t.Fatalf("C-FIND STUDY: %d matches, want the one study", len(studies))
	}
	if n := intOf(studies[0], tag.NumberOfStudyRelatedInstances); n != nInst {
		t.Errorf("NumberOfStudyRelatedInstances = %d, want %d", n, nInst)
	}
	if n := intOf(studies[0], tag.NumberOfStudyRelatedSeries); n != len(st.SeriesUIDs) {
		t.Errorf("NumberOfStudyRelatedSeries = %d, want %d", n, len(st.SeriesUIDs))
	}
	series := s.mustFind("SERIES", "StudyInstanceUID="+st.StudyUID, "SeriesInstanceUID=", "NumberOfSeriesRelatedInstances=")
	total := 0
	for _, se := range series {
		total += intOf(se, tag.NumberOfSeriesRelatedInstances)
	}
	if len(series) != len(st.SeriesUIDs) || total != nInst {
		t.Errorf("C-FIND SERIES: %d series holding %d instances, want %d holding %d", len(series), total, len(st.SeriesUIDs), nInst)
	}
	if images := s.mustFind("IMAGE", "StudyInstanceUID="+st.StudyUID, "SOPInstanceUID="); len(images) != nInst {
		t.Errorf("C-FIND IMAGE: %d matches, want %d", len(images), nInst)
	}

	// Bytes.
	got := s.mustGet("STUDY", st.StudyUID)
	if len(got) != nInst {
		t.Errorf("C-GET returned %d instances, want %d", len(got), nInst)
	}
	for _, in := range ins {
		if r, ok := got[in.SOP]; !ok || !bytes.Equal(r.data, in.Data) {
			t.Errorf("%s: retrieved %d bytes (present %v), sent %d", in.SOP, len(r.data), ok, len(in.Data))
		}
	}
	if n := s.mustHealth(); n != nInst {
		t.Errorf("/healthz: %d instances, want %d", n, nInst)
	}
	s.stop()
	checkNoOrphans(t, s.data, nInst)
	if got, want := archiveStats(t, s.data), (stats{1, 1, len(st.SeriesUIDs), nInst}); got != want {
		t.Errorf("lightbox stats: %+v, want %+v", got, want)
	}
}
