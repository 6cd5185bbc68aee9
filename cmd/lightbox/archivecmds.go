package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/progress"
)

// collectFiles walks paths and returns the regular files under them, sorted.
func collectFiles(paths []string) ([]string, int64, error) {
	var files []string
	var total int64
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				info, err := d.Info()
				if err != nil {
					return err
				}
				files = append(files, path)
				total += info.Size()
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	sort.Strings(files)
	return files, total, nil
}

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "import", "[flags] PATH...", `
Import DICOM files (Part 10) from files and directories straight into the archive, without the
network: in parallel, with a progress bar, keeping each data set as it is in its file. Instances
already in the archive are skipped, so an interrupted import can simply be run again. Files
that are not DICOM or fail to import are listed at the end; the exit status is then 1.

Files are made durable in batches (--batch): the blobs of a batch are synced together, then
indexed in one transaction. A file counts as imported once its batch is committed; an
interruption loses at most the batches in progress, which the next run imports again.

Run it while 'lightbox serve' is stopped, or against another data directory.`)
	var sf serverFlags
	addDataFlags(fs, &sf)
	jobs := fs.Int("jobs", runtime.NumCPU(), "files read and written in parallel")
	batch := fs.Int("batch", 512, "files made durable and indexed together (1: each file on its own)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError{2}
	}
	cfg, err := loadConfig(e, fs, &sf, nil)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, quietLog(cfg.Log))
	arc, closeArchive, err := openArchive(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeArchive()
	if _, err := arc.Sweep(ctx); err != nil {
		return err
	}
	files, total, err := collectFiles(fs.Args())
	if err != nil {
		return err
	}
	bar := progress.New(e.stderr, int64(len(files)), total, progress.Options{Unit: "files"})
	im := &importer{arc: arc, bar: bar}
	start := time.Now()
	if *batch <= 1 {
		im.oneByOne(ctx, files, max(1, *jobs))
	} else {
		im.batched(ctx, files, max(1, *jobs), *batch)
	}
	bar.Done()
	secs := time.Since(start).Seconds()
	stored := im.stored.Load()
	fmt.Fprintf(e.stdout, "imported %d instances (%.1f MB) in %.1fs: %.0f inst/s; %d already stored; %d failed\n",
		stored, float64(im.bytes.Load())/1e6, secs, float64(stored)/max(secs, 1e-9), im.skipped.Load(), len(im.failures))
	if len(im.failures) > 0 {
		sort.Slice(im.failures, func(i, j int) bool { return im.failures[i].file < im.failures[j].file })
		for _, f := range im.failures {
			fmt.Fprintf(e.stderr, "  %s: %s\n", f.file, f.reason)
		}
		return exitError{1}
	}
	return ctx.Err()
}

// importer counts what an import did.
type importer struct {
	arc                    *archive.Service
	bar                    *progress.Bar
	stored, skipped, bytes atomic.Int64
	mu                     sync.Mutex
	failures               []importFailure
}

type importFailure struct{ file, reason string }

func (im *importer) fail(path string, err error) {
	im.mu.Lock()
	im.failures = append(im.failures, importFailure{path, err.Error()})
	im.mu.Unlock()
}

// done counts a file's outcome.
func (im *importer) done(path string, n int64, skip bool, err error) {
	switch {
	case err != nil:
		im.fail(path, err)
	case skip:
		im.skipped.Add(1)
	default:
		im.stored.Add(1)
		im.bytes.Add(n)
	}
	im.bar.Add(1, n)
}

// oneByOne imports each file on its own: durable when its store returns.
func (im *importer) oneByOne(ctx context.Context, files []string, jobs int) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for path := range work {
				n, skip, err := importOne(ctx, im.arc, path)
				im.done(path, n, skip, err)
			}
		})
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		work <- f
	}
	close(work)
	wg.Wait()
}

// importBatch is a batch being filled by the workers, with the file of each position.
type importBatch struct {
	b     *archive.Batch
	adds  sync.WaitGroup // adds in progress
	mu    sync.Mutex
	files map[int]importFile
}

type importFile struct {
	path string
	size int64
}

// batched imports files in batches of about size files: jobs workers read and write them into
// the current batch while the batch before is made durable and indexed.
func (im *importer) batched(ctx context.Context, files []string, jobs, size int) {
	var mu sync.Mutex // guards cur
	newBatch := func() *importBatch { return &importBatch{b: im.arc.NewBatch(), files: map[int]importFile{}} }
	cur := newBatch()
	// At most two batches' worth of files are written and not yet committed (open files,
	// memory).
	slots := make(chan struct{}, 2*size)
	full := make(chan struct{}, 1)
	work := make(chan string)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for path := range work {
				slots <- struct{}{}
				mu.Lock()
				ib := cur
				ib.adds.Add(1)
				mu.Unlock()
				pos, n, skip, err := addOne(ctx, im.arc, ib.b, path)
				if pos >= 0 {
					ib.mu.Lock()
					ib.files[pos] = importFile{path, n}
					ib.mu.Unlock()
				}
				ib.adds.Done()
				if pos < 0 {
					<-slots
					im.done(path, 0, skip, err)
				} else if k, _ := ib.b.Len(); k >= size {
					select {
					case full <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	// The committer: commits the current batch when it is full, when the workers are idle for
	// a moment, and at the end.
	workersDone := make(chan struct{})
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for last := false; !last; {
			select {
			case <-full:
			case <-tick.C:
			case <-workersDone:
				last = true
			}
			mu.Lock()
			ib := cur
			if k, _ := ib.b.Len(); k == 0 && !last {
				mu.Unlock()
				continue
			}
			cur = newBatch()
			mu.Unlock()
			ib.adds.Wait()
			im.commit(ctx, ib)
			ib.mu.Lock()
			n := len(ib.files)
			ib.mu.Unlock()
			for range n {
				<-slots
			}
		}
	}()
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		work <- f
	}
	close(work)
	wg.Wait()
	close(workersDone)
	<-committed
}

// commit commits a batch and counts its outcomes; an instance the batch cannot store (another
// instance with its SOP Instance UID is stored) is imported on its own.
func (im *importer) commit(ctx context.Context, ib *importBatch) {
	for i, r := range ib.b.Commit(ctx) {
		f := ib.files[i]
		switch {
		case errors.Is(r.Err, archive.ErrStoreAlone):
			n, skip, err := importOne(ctx, im.arc, f.path)
			im.done(f.path, n, skip, err)
		case r.Err != nil:
			im.done(f.path, f.size, false, r.Err)
		default:
			im.done(f.path, f.size, r.Result.Outcome == archive.Duplicate, nil)
		}
	}
}

// addOne writes one file into the batch b, unless it is stored already; it returns its
// position in the batch (-1 if not added) and its size, whether it was already stored, or why
// it failed.
func addOne(ctx context.Context, arc *archive.Service, b *archive.Batch, path string) (int, int64, bool, error) {
	f, size, skip, err := openImport(ctx, arc, path)
	if f == nil {
		return -1, 0, skip, err
	}
	defer f.Close()
	pos, err := b.AddFile(ctx, f, "IMPORT")
	if err != nil {
		return -1, 0, false, err
	}
	return pos, size, false, nil
}

// quietLog keeps a command's log to warnings so that it does not fight the progress bar.
func quietLog(l config.Log) config.Log {
	if strings.EqualFold(l.Level, "info") || l.Level == "" {
		l.Level = "warn"
	}
	return l
}

// openImport opens a file to import, positioned at its start, with its size; it returns no
// file if the instance is stored already (skip) or the file cannot be read as DICOM.
func openImport(ctx context.Context, arc *archive.Service, path string) (*os.File, int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, false, err
	}
	head, err := dicom.Read(f, dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0019)})
	if err != nil {
		return nil, 0, false, fmt.Errorf("not a DICOM file: %w", err)
	}
	if head.Meta != nil {
		// Skip what is stored already — only when the File Meta and the data set agree on the
		// instance; a file whose two disagree goes on to the store, which reports why.
		sop := strings.TrimRight(head.Meta.String(tag.MediaStorageSOPInstanceUID), "\x00 ")
		if ds := head.Dataset.String(tag.SOPInstanceUID); ds == sop {
			if _, err := arc.Lookup(ctx, sop); err == nil {
				return nil, 0, true, nil
			}
		}
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, 0, false, err
	}
	ok = true
	return f, st.Size(), false, nil
}

// importOne imports one file on its own and returns its size, whether it was already stored,
// or why it failed.
func importOne(ctx context.Context, arc *archive.Service, path string) (int64, bool, error) {
	f, size, skip, err := openImport(ctx, arc, path)
	if f == nil {
		return 0, skip, err
	}
	defer f.Close()
	res, err := arc.StoreFile(ctx, f, "IMPORT")
	if err != nil && !errors.Is(err, archive.ErrConflict) {
		return 0, false, err
	}
	if res != nil && res.Outcome == archive.Duplicate {
		return 0, true, err
	}
	return size, false, nil
}

func runLs(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "ls", "[flags] [STUDY_UID]", `
List the studies in the archive (newest first), or with a Study Instance UID its series.`)
	var sf serverFlags
	addDataFlags(fs, &sf)
	limit := fs.Int("limit", 100, "list at most this many")
	patient := fs.String("patient", "", "only studies of this Patient ID (wildcards * ? allowed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(e, fs, &sf, nil)
	if err != nil {
		return err
	}
	arc, closeArchive, err := openArchive(ctx, cfg, newLogger(e.stderr, quietLog(cfg.Log)))
	if err != nil {
		return err
	}
	defer closeArchive()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if fs.NArg() == 1 {
		q := &index.Query{Level: index.Series, Keys: []index.Key{{Tag: tag.StudyInstanceUID, VR: vr.UI, Value: fs.Arg(0)}}, Limit: *limit}
		fmt.Fprintln(tw, "SERIES UID\tMODALITY\tNUMBER\tINSTANCES\tDESCRIPTION")
		for m, err := range arc.Search(ctx, q) {
			if err != nil {
				return err
			}
			a := m.Attrs
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.String(tag.SeriesInstanceUID), a.String(tag.Modality), a.String(tag.SeriesNumber),
				a.String(tag.NumberOfSeriesRelatedInstances), a.String(tag.SeriesDescription))
		}
		return tw.Flush()
	}
	q := &index.Query{Level: index.Study, Limit: *limit, OrderBy: []index.Order{{Tag: tag.StudyDate, Desc: true}}}
	if *patient != "" {
		q.Keys = append(q.Keys, index.Key{Tag: tag.PatientID, VR: vr.LO, Value: *patient})
	}
	fmt.Fprintln(tw, "STUDY UID\tDATE\tPATIENT ID\tPATIENT NAME\tMODALITIES\tSERIES\tINSTANCES\tDESCRIPTION")
	for m, err := range arc.Search(ctx, q) {
		if err != nil {
			return err
		}
		a := m.Attrs
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.String(tag.StudyInstanceUID), a.String(tag.StudyDate), a.String(tag.PatientID),
			a.String(tag.PatientName), a.String(tag.ModalitiesInStudy), a.String(tag.NumberOfStudyRelatedSeries),
			a.String(tag.NumberOfStudyRelatedInstances), a.String(tag.StudyDescription))
	}
	return tw.Flush()
}

func runStats(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "stats", "[flags]", "Print how many patients, studies, series and instances the archive holds, and their size.")
	var sf serverFlags
	addDataFlags(fs, &sf)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(e, fs, &sf, nil)
	if err != nil {
		return err
	}
	arc, closeArchive, err := openArchive(ctx, cfg, newLogger(e.stderr, quietLog(cfg.Log)))
	if err != nil {
		return err
	}
	defer closeArchive()
	st, err := arc.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "patients   %d\nstudies    %d\nseries     %d\ninstances  %d\nsize       %.1f MB\n",
		st.Patients, st.Studies, st.Series, st.Instances, float64(st.Bytes)/1e6)
	return nil
}

func runDelete(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "delete", "[flags] --study UID | --series UID | --instance UID", `
Delete a study, series or instance from the archive: the index first (one transaction), then the
files. Run it while 'lightbox serve' is stopped, or against another data directory.`)
	var sf serverFlags
	addDataFlags(fs, &sf)
	study := fs.String("study", "", "Study Instance UID to delete")
	series := fs.String("series", "", "Series Instance UID to delete")
	instance := fs.String("instance", "", "SOP Instance UID to delete")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level index.Level
	var u string
	n := 0
	for _, c := range []struct {
		l index.Level
		v string
	}{{index.Study, *study}, {index.Series, *series}, {index.Instance, *instance}} {
		if c.v != "" {
			level, u = c.l, c.v
			n++
		}
	}
	if n != 1 || fs.NArg() > 0 {
		fs.Usage()
		return exitError{2}
	}
	cfg, err := loadConfig(e, fs, &sf, nil)
	if err != nil {
		return err
	}
	arc, closeArchive, err := openArchive(ctx, cfg, newLogger(e.stderr, quietLog(cfg.Log)))
	if err != nil {
		return err
	}
	defer closeArchive()
	removed, err := arc.Delete(ctx, level, u)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %s %s: %d instances\n", strings.ToLower(level.String()), u, removed)
	return nil
}
