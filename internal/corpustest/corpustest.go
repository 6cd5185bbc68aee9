// Package corpustest gives tests access to the shared DICOM test corpus (../shared/corpus beside
// the repository, described by its MANIFEST.tsv). Tests that need it skip with a clear message
// when it is absent.
package corpustest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Row is one manifest row: column name → value.
type Row map[string]string

// File returns the file name of the row.
func (r Row) File() string { return r["file"] }

// Malformed reports whether the manifest marks the file as malformed or hostile.
func (r Row) Malformed() bool { return r["malformed"] == "yes" }

// Dir returns the corpus directory, found by walking up from the working directory to the
// repository root (the directory holding go.mod) and looking beside it for shared/corpus. The
// LIGHTBOX_CORPUS environment variable overrides it.
func Dir() (string, bool) {
	if d := os.Getenv("LIGHTBOX_CORPUS"); d != "" {
		return d, true
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(d, "..", "shared", "corpus")
			if _, err := os.Stat(filepath.Join(c, "MANIFEST.tsv")); err == nil {
				return c, true
			}
			return "", false
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// Need returns the corpus directory or skips the test.
func Need(tb testing.TB) string {
	tb.Helper()
	d, ok := Dir()
	if !ok {
		tb.Skip("shared corpus not found (expected ../shared/corpus beside the repository, or LIGHTBOX_CORPUS): skipping")
	}
	return d
}

// Manifest reads MANIFEST.tsv, or skips the test when the corpus is absent.
func Manifest(tb testing.TB) (dir string, rows []Row) {
	tb.Helper()
	dir = Need(tb)
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		tb.Fatalf("open manifest: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = cols
			continue
		}
		r := Row{}
		for i, h := range header {
			if i < len(cols) {
				r[h] = cols[i]
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read manifest: %v", err)
	}
	return dir, rows
}

// Path joins the corpus directory and a file name.
func Path(dir, file string) string { return filepath.Join(dir, file) }
