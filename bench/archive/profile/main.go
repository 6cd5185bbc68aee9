// Command profile stores DICOM files into a fresh archive in-process (internal/archive over the
// SQLite index and the filesystem blob store, wired as 'lightbox serve' wires them) and writes a
// CPU profile, so that the store path can be profiled without the network. It can also run
// study-level C-FIND-like searches by PatientID against an existing archive.
//
//	go run ./bench/archive/profile -data /tmp/x -jobs 4 -cpuprofile store.pprof DIR...
//	go run ./bench/archive/profile -data /tmp/x -find PID1,PID2 -repeat 200 -cpuprofile find.pprof
//	go tool pprof -top -nodecount 40 store.pprof
//
// It is a measuring tool for docs/performance.md, not part of Lightbox.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob/fileblob"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

func main() {
	data := flag.String("data", "", "archive directory (index.db + instances/), created if absent")
	jobs := flag.Int("jobs", runtime.NumCPU(), "files stored in parallel")
	limit := flag.Int("n", 0, "store at most this many files (0: all)")
	syncMode := flag.String("sync", "FULL", "SQLite synchronous: FULL or NORMAL")
	noDirSync := flag.Bool("nodirsync", false, "skip directory fsyncs in the blob store")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	find := flag.String("find", "", "KEYWORD=V1,V2,...: run study-level searches (one per value) instead of storing, e.g. PatientID=LBX000001 or ModalitiesInStudy=CT,MR")
	repeat := flag.Int("repeat", 100, "with -find: how many times to run the list")
	ckpt := flag.Int("checkpoint", 0, "SQLite wal_autocheckpoint in pages (0: the index's default)")
	batch := flag.Int("batch", 0, "store in batches of this many files (archive.Batch, as lightbox import does); 0: StoreFile one by one")
	flag.Parse()
	if *data == "" || (*find == "" && flag.NArg() == 0) {
		flag.Usage()
		os.Exit(2)
	}
	ctx := context.Background()
	if err := os.MkdirAll(*data, 0o750); err != nil {
		fail(err)
	}
	idx, err := sqlite.Open(ctx, filepath.Join(*data, "index.db"), sqlite.Options{Synchronous: *syncMode, CheckpointPages: *ckpt})
	if err != nil {
		fail(err)
	}
	blobDir := filepath.Join(*data, "instances")
	_, statErr := os.Stat(blobDir)
	blobs, err := fileblob.Open(blobDir, fileblob.Options{Init: os.IsNotExist(statErr), NoDirSync: *noDirSync})
	if err != nil {
		fail(err)
	}
	arc := archive.New(idx, blobs, archive.Options{})
	defer idx.Close()
	defer blobs.Close()

	var files []string
	if *find == "" {
		for _, root := range flag.Args() {
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(p, ".dcm") {
					files = append(files, p)
				}
				return nil
			})
		}
		if *limit > 0 && len(files) > *limit {
			files = files[:*limit]
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	if *find != "" {
		kw, list, _ := strings.Cut(*find, "=")
		ft, err := tag.Parse(kw)
		if err != nil {
			fail(err)
		}
		info, _ := tag.Lookup(ft)
		n, results := 0, 0
		for r := 0; r < *repeat; r++ {
			for _, v := range strings.Split(list, ",") {
				// The return keys of the harness's query.sh; the matching key replaces its blank.
				keys := []index.Key{
					{Tag: tag.StudyInstanceUID, VR: vr.UI}, {Tag: tag.PatientName, VR: vr.PN},
					{Tag: tag.PatientID, VR: vr.LO}, {Tag: tag.StudyDate, VR: vr.DA},
					{Tag: tag.AccessionNumber, VR: vr.SH}, {Tag: tag.ModalitiesInStudy, VR: vr.CS},
					{Tag: tag.StudyDescription, VR: vr.LO}, {Tag: tag.NumberOfStudyRelatedInstances, VR: vr.IS},
				}
				found := false
				for i := range keys {
					if keys[i].Tag == ft {
						keys[i].Value, found = v, true
					}
				}
				if !found {
					keys = append(keys, index.Key{Tag: ft, VR: info.VR, Value: v})
				}
				q := &index.Query{Level: index.Study, Keys: keys}
				for _, err := range arc.Search(ctx, q) {
					if err != nil {
						fail(err)
					}
					results++
				}
				n++
			}
		}
		d := time.Since(t0)
		fmt.Printf("%d searches, %d results, %.3f ms per search\n", n, results, d.Seconds()*1000/float64(n))
		return
	}
	var next, stored, dup, failed atomic.Int64
	if *batch > 0 {
		// Batches filled by the workers, committed in turn (simpler than lightbox import, which
		// overlaps a batch's commit with the filling of the next).
		for lo := 0; lo < len(files); lo += *batch {
			part := files[lo:min(len(files), lo+*batch)]
			b := arc.NewBatch()
			var wg sync.WaitGroup
			next.Store(0)
			for range *jobs {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= len(part) {
							return
						}
						f, err := os.Open(part[i])
						if err != nil {
							failed.Add(1)
							continue
						}
						if _, err := b.AddFile(ctx, f, "PROFILE"); err != nil {
							failed.Add(1)
						}
						f.Close()
					}
				})
			}
			wg.Wait()
			for _, r := range b.Commit(ctx) {
				switch {
				case r.Err != nil:
					if failed.Add(1) <= 3 {
						fmt.Fprintln(os.Stderr, r.Err)
					}
				case r.Result.Outcome == archive.Duplicate:
					dup.Add(1)
				default:
					stored.Add(1)
				}
			}
		}
		d := time.Since(t0)
		idx.Close()
		fmt.Printf("stored %d, duplicate %d, failed %d of %d files in %.2fs: %.0f inst/s (batch=%d, jobs=%d, sync=%s); %.1f KB written per instance\n",
			stored.Load(), dup.Load(), failed.Load(), len(files), d.Seconds(), float64(stored.Load())/d.Seconds(),
			*batch, *jobs, *syncMode, float64(writeBytes())/1e3/float64(max(1, stored.Load())))
		return
	}
	var wg sync.WaitGroup
	for range *jobs {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				f, err := os.Open(files[i])
				if err != nil {
					failed.Add(1)
					continue
				}
				res, err := arc.StoreFile(ctx, f, "PROFILE")
				f.Close()
				switch {
				case err != nil:
					if failed.Add(1) <= 3 {
						fmt.Fprintln(os.Stderr, files[i], err)
					}
				case res.Outcome == archive.Duplicate:
					dup.Add(1)
				default:
					stored.Add(1)
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(t0)
	idx.Close() // the last checkpoint's writes count too
	fmt.Printf("stored %d, duplicate %d, failed %d of %d files in %.2fs: %.0f inst/s (jobs=%d, sync=%s, dirsync=%v); %.1f KB written per instance\n",
		stored.Load(), dup.Load(), failed.Load(), len(files), d.Seconds(), float64(stored.Load())/d.Seconds(),
		*jobs, *syncMode, !*noDirSync, float64(writeBytes())/1e3/float64(max(1, stored.Load())))
}

// writeBytes returns what this process has written to storage so far (/proc/self/io).
func writeBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "write_bytes: "); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "profile:", err)
	os.Exit(1)
}
