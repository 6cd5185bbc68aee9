package integration

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
)

// dupVariant makes version v (v ≥ 1) of an instance whose version 0 is base.
type dupVariant struct {
	name string
	make func(base *dicom.Dataset, v int) *dicom.Dataset
}

var dupVariants = []dupVariant{
	{"identical", func(base *dicom.Dataset, v int) *dicom.Dataset { return base.Clone() }},
	{"different-bytes", func(base *dicom.Dataset, v int) *dicom.Dataset {
		ds := base.Clone()
		ds.SetString(tag.ImageComments, vr.LT, fmt.Sprintf("version %d", v))
		return ds
	}},
	{"different-series", func(base *dicom.Dataset, v int) *dicom.Dataset {
		ds := base.Clone()
		ds.SetString(tag.SeriesInstanceUID, vr.UI, uid.New())
		return ds
	}},
	{"different-patient", func(base *dicom.Dataset, v int) *dicom.Dataset {
		ds := base.Clone()
		ds.SetString(tag.PatientID, vr.LO, fmt.Sprintf("OTHER%d", v))
		ds.SetString(tag.PatientName, vr.PN, fmt.Sprintf("OTHER^PATIENT%d", v))
		return ds
	}},
}

// TestDuplicatePolicy re-sends a SOP Instance UID with the same bytes, other bytes, another
// series and another patient, one after the other and from 10 associations at once, under each
// duplicate policy: an identical re-send succeeds; another version gets warning 0xB000 and
// leaves the stored one under reject, succeeds and replaces it under overwrite. Whatever the
// interleaving, the archive serves exactly one of the versions, and its index agrees with it.
func TestDuplicatePolicy(t *testing.T) {
	for _, policy := range []string{"reject", "keep", "overwrite"} {
		t.Run(policy, func(t *testing.T) {
			s := startServer(t, "", "--duplicates", policy)
			rng := rand.New(rand.NewPCG(7, 7))
			for _, variant := range dupVariants {
				for _, mode := range []string{"sequential", "concurrent"} {
					t.Run(variant.name+"/"+mode, func(t *testing.T) {
						st := newStudy("DUP-"+uid.New()[5:20], "DUPLICATE^"+variant.name, "20230301", 1)
						base := st.dataset(rng, uid.New(), 0, 8<<10)
						n := 2
						if mode == "concurrent" {
							n = 10
						}
						versions := make([]instance, n)
						versions[0] = encode(t, base)
						for v := 1; v < n; v++ {
							versions[v] = encode(t, variant.make(base, v))
						}
						checkDuplicates(t, s, policy, variant.name, mode, versions)
					})
				}
			}
			n := s.mustHealth()
			s.stop()
			if policy != "keep" {
				checkNoOrphans(t, s.data, n)
				return
			}
			// keep: the versions stored aside are blobs the index knows, so the startup sweep
			// of a restart leaves every one of them.
			before, _ := storeFiles(t, s.data)
			if len(before) <= n {
				t.Fatalf("keep: %d blobs for %d instances: no version was kept", len(before), n)
			}
			s.start()
			s.stop()
			if after, temps := storeFiles(t, s.data); len(after) != len(before) || len(temps) > 0 {
				t.Fatalf("keep: %d blobs before a restart, %d after (%d temporary)", len(before), len(after), len(temps))
			}
		})
	}
}

func checkDuplicates(t *testing.T, s *server, policy, variant, mode string, versions []instance) {
	ctx := ctxFor(t, time.Minute)
	identical := variant == "identical"
	statuses := make([]dimse.Status, len(versions))
	errs := make([]error, len(versions))
	if mode == "sequential" {
		c := s.mustDial(ctx, storeProposals())
		for i, v := range versions {
			statuses[i], errs[i] = store(ctx, c, v)
		}
		c.Close()
	} else {
		clients := make([]*dimse.Client, len(versions))
		for i := range clients {
			clients[i] = s.mustDial(ctx, storeProposals())
			defer clients[i].Close()
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, v := range versions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i], errs[i] = store(ctx, clients[i], v)
			}()
		}
		close(start)
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("C-STORE of version %d: %v", i, err)
		}
	}

	// What is served: exactly one of the versions.
	got := s.mustGet("IMAGE", versions[0].SOP)
	r, ok := got[versions[0].SOP]
	if !ok || len(got) != 1 {
		t.Fatalf("C-GET of the SOP Instance UID returned %d instances", len(got))
	}
	served := -1
	for i, v := range versions {
		if bytes.Equal(r.data, v.Data) {
			served = i
			break
		}
	}
	if served < 0 {
		t.Fatalf("the archive serves %d bytes (sha256 %s) that are none of the versions sent: mixed state", len(r.data), shortSum(r.data))
	}
	servedV := versions[served]

	// Statuses.
	for i, v := range versions {
		same := bytes.Equal(v.Data, servedV.Data)
		want := dimse.StatusSuccess
		if (policy == "reject" || policy == "keep") && !same {
			want = dimse.StatusSubOpsWithFailures // 0xB000: the stored instance was kept
		}
		if statuses[i] != want {
			t.Errorf("version %d: status %v, want %v", i, statuses[i], want)
		}
	}
	switch {
	case identical:
	case (policy == "reject" || policy == "keep") && mode == "sequential" && served != 0:
		t.Errorf("%s: the archive serves version %d, want the original", policy, served)
	case policy == "overwrite" && mode == "sequential" && served != len(versions)-1:
		t.Errorf("overwrite: the archive serves version %d, want the last one sent", served)
	}

	// The index agrees with the served version at every level.
	img := s.mustFind("IMAGE", "SOPInstanceUID="+servedV.SOP, "StudyInstanceUID=", "SeriesInstanceUID=", "PatientID=")
	if len(img) != 1 {
		t.Fatalf("C-FIND IMAGE by SOP Instance UID: %d matches, want 1", len(img))
	}
	if g := img[0].String(tag.SeriesInstanceUID); g != servedV.Series {
		t.Errorf("C-FIND IMAGE: series %s, the served instance's is %s", g, servedV.Series)
	}
	if g := img[0].String(tag.PatientID); g != servedV.Patient {
		t.Errorf("C-FIND IMAGE: patient %s, the served instance's is %s", g, servedV.Patient)
	}
	studies := s.mustFind("STUDY", "StudyInstanceUID="+servedV.Study, "PatientID=", "NumberOfStudyRelatedInstances=", "NumberOfStudyRelatedSeries=")
	if len(studies) != 1 {
		t.Fatalf("C-FIND STUDY: %d matches", len(studies))
	}
	if g := intOf(studies[0], tag.NumberOfStudyRelatedInstances); g != 1 {
		t.Errorf("NumberOfStudyRelatedInstances = %d, want 1", g)
	}
	if g := intOf(studies[0], tag.NumberOfStudyRelatedSeries); g != 1 {
		t.Errorf("NumberOfStudyRelatedSeries = %d, want 1", g)
	}
	if g := studies[0].String(tag.PatientID); g != servedV.Patient {
		t.Errorf("C-FIND STUDY: patient %s, the served instance's is %s", g, servedV.Patient)
	}
	// No version that is not served is left findable in its own series.
	for i, v := range versions {
		if v.Series == servedV.Series {
			continue
		}
		if m := s.mustFind("IMAGE", "StudyInstanceUID="+v.Study, "SeriesInstanceUID="+v.Series, "SOPInstanceUID="); len(m) != 0 {
			t.Errorf("version %d's series %s still lists %d instances", i, v.Series, len(m))
		}
		if m := s.mustFind("SERIES", "StudyInstanceUID="+v.Study, "SeriesInstanceUID="+v.Series, "NumberOfSeriesRelatedInstances="); len(m) != 0 {
			t.Errorf("version %d's series %s, now empty, is still found (NumberOfSeriesRelatedInstances %q)", i, v.Series,
				m[0].String(tag.NumberOfSeriesRelatedInstances))
		}
	}
	for i, v := range versions {
		if v.Patient == servedV.Patient {
			continue
		}
		if m := s.mustFind("STUDY", "PatientID="+v.Patient, "StudyInstanceUID="+v.Study); len(m) != 0 {
			t.Errorf("the study is still found under version %d's patient %s", i, v.Patient)
		}
	}
	t.Logf("statuses %v; serves version %d", statuses, served)
}
