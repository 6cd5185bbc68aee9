// Package fuzzbudget holds fuzz targets to a per-input budget of time and memory, which Go's
// fuzzer does not enforce by itself: at most one second and max(32 MiB, 8 × input size) of
// allocation for each input of up to 256 KiB (the limits OSS-Fuzz applies to DCMTK), and it
// seeds targets from the shared corpus and Debian's pydicom test files. The second is of the
// process's CPU time (package cpuclock): seed replays run inside the test suite, beside other
// packages' tests on the same cores.
package fuzzbudget

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/cpuclock"
)

// MaxInput is the largest input the budget applies to.
const MaxInput = 256 << 10

// Check runs fn on in and fails t when fn exceeds the budget.
func Check(t *testing.T, in []byte, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := cpuclock.Now()
	fn()
	took := cpuclock.Since(start)
	runtime.ReadMemStats(&after)
	if len(in) > MaxInput {
		return
	}
	if took > time.Second {
		t.Fatalf("input of %d bytes took %v of CPU time (budget 1s)", len(in), took)
	}
	budget := uint64(32 << 20)
	if b := 8 * uint64(len(in)); b > budget {
		budget = b
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > budget {
		t.Fatalf("input of %d bytes allocated %d bytes (budget %d)", len(in), alloc, budget)
	}
}

// pydicomFiles is where Debian's python3-pydicom keeps its test files.
const pydicomFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files"

// MaxSeed is the largest file SeedFiles adds. Go's fuzzer mutates and minimises whole inputs:
// with seeds of hundreds of KiB it spends the run minimising one of them and makes almost no
// executions (measured: 200 executions in 20 s against thousands per second at this size).
const MaxSeed = 64 << 10

// SeedFiles adds to f every DICOM file of at most MaxSeed bytes from the shared corpus and from
// Debian's pydicom test files, when they are present.
func SeedFiles(f *testing.F) {
	var paths []string
	if dir, ok := corpustest.Dir(); ok {
		m, _ := filepath.Glob(filepath.Join(dir, "*.dcm"))
		paths = append(paths, m...)
	}
	m, _ := filepath.Glob(filepath.Join(pydicomFiles, "*.dcm"))
	paths = append(paths, m...)
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil || st.Size() > MaxSeed {
			continue
		}
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
}
