package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/indextest"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

// synthetic returns instance n of a synthetic archive of studiesPerPatient studies of
// seriesPerStudy series of instancesPerSeries instances per patient.
func synthetic(n, studiesPerPatient, seriesPerStudy, instancesPerSeries int) indextest.Inst {
	i := n % instancesPerSeries
	se := n / instancesPerSeries % seriesPerStudy
	st := n / (instancesPerSeries * seriesPerStudy) % studiesPerPatient
	p := n / (instancesPerSeries * seriesPerStudy * studiesPerPatient)
	study := fmt.Sprintf("1.2.826.0.1.%d.%d", p, st)
	series := fmt.Sprintf("%s.%d", study, se)
	mod := []string{"CT", "MR", "SR", "PR"}[se%4]
	return indextest.Inst{
		PatientID: fmt.Sprintf("PID%06d", p), StudyUID: study, SeriesUID: series, SOPUID: fmt.Sprintf("%s.%d", series, i),
		Attrs: []indextest.A{
			{Tag: tag.PatientName, Value: fmt.Sprintf("Patient%d^Given%d", p, p%97)},
			{Tag: tag.PatientBirthDate, Value: fmt.Sprintf("19%02d0101", p%100)},
			{Tag: tag.StudyDate, Value: fmt.Sprintf("2024%02d%02d", st%12+1, p%28+1)},
			{Tag: tag.StudyTime, Value: "101500"},
			{Tag: tag.AccessionNumber, Value: fmt.Sprintf("A%d-%d", p, st)},
			{Tag: tag.StudyDescription, Value: "Synthetic study"},
			{Tag: tag.Modality, Value: mod},
			{Tag: tag.SeriesNumber, Value: fmt.Sprint(se + 1)},
			{Tag: tag.InstanceNumber, Value: fmt.Sprint(i + 1)},
			{Tag: tag.ImageType, Value: `ORIGINAL\PRIMARY\AXIAL`},
			{Tag: tag.Rows, Value: "512"},
		},
	}
}

func benchDB(b *testing.B) *sqlite.DB {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "index.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkPut: one caller, so one transaction (and fsync) per Put.
func BenchmarkPut(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	recs := make([]*index.Record, b.N)
	for i := range recs {
		recs[i] = indextest.Record(b, synthetic(i, 5, 4, 50))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := db.Put(ctx, recs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "puts/s")
}

// BenchmarkPutParallel: 8 concurrent callers, committed together (group commit).
func BenchmarkPutParallel(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	recs := make([]*index.Record, b.N)
	for i := range recs {
		recs[i] = indextest.Record(b, synthetic(i, 5, 4, 50))
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(recs) {
					return
				}
				if _, err := db.Put(ctx, recs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "puts/s")
}

// load puts n synthetic instances with 16 concurrent callers.
func load(b *testing.B, db *sqlite.DB, n, studies, series, instances int) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, err := db.Put(ctx, indextest.Record(b, synthetic(i, studies, series, instances))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.Logf("loaded %d instances in %v (%.0f/s)", n, time.Since(start), float64(n)/time.Since(start).Seconds())
}

// BenchmarkSearch: C-FIND by exact Patient ID at the study level, and a study-level query
// returning every study, over 50k instances (110 patients × 10 studies × 3 series × 15
// instances: 1,100 studies). LIGHTBOX_BENCH_1M=1 adds 1M instances (2,000 patients × 10 studies
// × 5 series × 10 instances).
func BenchmarkSearch(b *testing.B) {
	sizes := []struct {
		name                                 string
		patients, studies, series, instances int
	}{
		{"50k", 110, 10, 3, 15},
	}
	if os.Getenv("LIGHTBOX_BENCH_1M") == "1" {
		sizes = append(sizes, struct {
			name                                 string
			patients, studies, series, instances int
		}{"1M", 2000, 10, 5, 10})
	}
	ctx := context.Background()
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			db := benchDB(b)
			load(b, db, sz.patients*sz.studies*sz.series*sz.instances, sz.studies, sz.series, sz.instances)
			b.Run("PatientID", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					q := &index.Query{Level: index.Study, Keys: []index.Key{
						{Tag: tag.PatientID, VR: vr.LO, Value: fmt.Sprintf("PID%06d", i%sz.patients)},
						{Tag: tag.PatientName, VR: vr.PN}, {Tag: tag.StudyDate, VR: vr.DA}, {Tag: tag.ModalitiesInStudy, VR: vr.CS}}}
					n := 0
					for _, err := range db.Search(ctx, q) {
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
					if n != sz.studies {
						b.Fatalf("%d studies", n)
					}
				}
			})
			b.Run("AllStudies", func(b *testing.B) {
				if sz.patients*sz.studies > 5000 {
					b.Skip("not a C-FIND answer size")
				}
				for b.Loop() {
					n := 0
					for _, err := range db.Search(ctx, &index.Query{Level: index.Study, Keys: []index.Key{{Tag: tag.StudyDate, VR: vr.DA, Value: "2024-"}}}) {
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
					if n != sz.patients*sz.studies {
						b.Fatalf("%d studies", n)
					}
				}
			})
			b.Run("ModalityCT", func(b *testing.B) {
				for b.Loop() {
					q := &index.Query{Level: index.Study, Limit: 100, Keys: []index.Key{{Tag: tag.ModalitiesInStudy, VR: vr.CS, Value: "CT"}}}
					for _, err := range db.Search(ctx, q) {
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		})
	}
}
