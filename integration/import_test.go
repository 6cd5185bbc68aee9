package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
)

var importSummary = regexp.MustCompile(`imported (\d+) instances .*; (\d+) already stored; (\d+) failed`)

// runImport runs lightbox import and returns its output and the counts of its summary line.
func runImport(t *testing.T, data, tree string) (out string, imported, skipped, failed int, err error) {
	t.Helper()
	out, err = lightbox(t, true, "import", "--data", data, tree)
	m := importSummary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lightbox import printed no summary (%v):\n%s", err, out)
	}
	imported, _ = strconv.Atoi(m[1])
	skipped, _ = strconv.Atoi(m[2])
	failed, _ = strconv.Atoi(m[3])
	return
}

// TestImport imports a directory tree of corpus files and a file that is not DICOM: the import
// exits 1 and lists the failures, the rest is imported with each data set as in its file; a
// second run imports nothing twice; lightbox serve then serves what was imported; ls, stats and
// delete --study work on the data directory, and delete removes the blobs.
func TestImport(t *testing.T) {
	tree := filepath.Join(t.TempDir(), "tree")
	files := corpusFiles(t, nil)
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	want := map[string][]byte{} // SOP Instance UID (File Meta) → data set bytes
	for i, p := range paths {
		dst := filepath.Join(tree, "dir"+strconv.Itoa(i%3), "sub", filepath.Base(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(raw, dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0019)})
		if err != nil || f.Meta == nil {
			continue
		}
		// The File Meta's UID, or the data set's when the File Meta lacks it (as the archive does).
		sop := strings.TrimRight(f.Meta.String(tag.MediaStorageSOPInstanceUID), "\x00 ")
		if sop == "" {
			sop = f.Dataset.String(tag.SOPInstanceUID)
		}
		want[sop] = raw[f.DatasetOffset:]
	}
	junk := filepath.Join(tree, "dir1", "notes.txt")
	if err := os.WriteFile(junk, []byte("not a DICOM file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")

	out, imported, skipped, failed, err := runImport(t, data, tree)
	if ee, ok := err.(interface{ ExitCode() int }); !ok || ee.ExitCode() != 1 {
		t.Errorf("import with a non-DICOM file: %v, want exit status 1", err)
	}
	if !strings.Contains(out, junk+": ") {
		t.Errorf("import does not list %s among its failures:\n%s", junk, out)
	}
	if imported+skipped+failed != len(paths)+1 || imported == 0 || failed == 0 {
		t.Errorf("import: %d imported, %d already stored, %d failed of %d files", imported, skipped, failed, len(paths)+1)
	}
	t.Logf("first import: %d imported, %d already stored, %d failed of %d files", imported, skipped, failed, len(paths)+1)

	// What was imported is each file's data set, unchanged.
	blobs, temps := storeFiles(t, data)
	if len(blobs) != imported || len(temps) > 0 {
		t.Errorf("blob store: %d objects, %d temporary files; %d imported", len(blobs), len(temps), imported)
	}
	stored := map[string]bool{}
	for rel := range blobs {
		raw, err := os.ReadFile(filepath.Join(data, "instances", rel))
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(raw, dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0019)})
		if err != nil {
			t.Fatalf("blob %s: %v", rel, err)
		}
		sop := strings.TrimRight(f.Meta.String(tag.MediaStorageSOPInstanceUID), "\x00 ")
		stored[sop] = true
		if w, ok := want[sop]; !ok || !bytes.Equal(raw[f.DatasetOffset:], w) {
			t.Errorf("blob of %s: its data set is not the file's (known %v; %d bytes, file %d; first difference at %d)", sop, ok,
				len(raw)-int(f.DatasetOffset), len(w), firstDiff(raw[f.DatasetOffset:], w))
		}
	}

	// Again: nothing twice.
	out2, imported2, skipped2, failed2, _ := runImport(t, data, tree)
	if imported2 != 0 || skipped2 != imported || failed2 != failed {
		t.Errorf("second import: %d imported, %d already stored, %d failed; want 0, %d, %d; failures no longer listed: %v", imported2, skipped2, failed2,
			imported, failed, failureDiff(out, out2))
	}
	if blobs2, _ := storeFiles(t, data); len(blobs2) != imported {
		t.Errorf("after the second import the blob store holds %d objects, want %d", len(blobs2), imported)
	}

	st := archiveStats(t, data)
	if st.Instances != imported {
		t.Errorf("lightbox stats: %d instances, %d imported", st.Instances, imported)
	}
	lsOut, _ := lightbox(t, false, "ls", "--data", data, "--limit", "10000")
	studyLines := strings.Split(strings.TrimSpace(lsOut), "\n")[1:]
	if len(studyLines) != st.Studies {
		t.Errorf("lightbox ls lists %d studies, stats says %d", len(studyLines), st.Studies)
	}

	// Served by lightbox serve.
	s := startServer(t, data)
	if n := len(s.mustFind("IMAGE", "SOPInstanceUID=")); n != imported {
		t.Errorf("C-FIND IMAGE: %d instances, %d imported", n, imported)
	}
	studies := s.mustFind("STUDY", "StudyInstanceUID=", "NumberOfStudyRelatedInstances=")
	if len(studies) != st.Studies {
		t.Errorf("C-FIND STUDY: %d studies, stats says %d", len(studies), st.Studies)
	}
	// The largest study is deleted below: remember it.
	var victim string
	victimN := 0
	for _, ds := range studies {
		if n := intOf(ds, tag.NumberOfStudyRelatedInstances); n > victimN {
			victim, victimN = ds.String(tag.StudyInstanceUID), n
		}
	}
	s.stop()

	seriesOut, _ := lightbox(t, false, "ls", "--data", data, victim)
	if !strings.Contains(seriesOut, "SERIES UID") || len(strings.Split(strings.TrimSpace(seriesOut), "\n")) < 2 {
		t.Errorf("lightbox ls STUDY_UID lists no series:\n%s", seriesOut)
	}
	delOut, _ := lightbox(t, false, "delete", "--data", data, "--study", victim)
	if !strings.Contains(delOut, ": "+strconv.Itoa(victimN)+" instances") {
		t.Errorf("lightbox delete --study: %q, want %d instances deleted", strings.TrimSpace(delOut), victimN)
	}
	st2 := archiveStats(t, data)
	if st2.Instances != imported-victimN || st2.Studies != st.Studies-1 {
		t.Errorf("after delete: stats %+v, want %d instances in %d studies", st2, imported-victimN, st.Studies-1)
	}
	checkNoOrphans(t, data, imported-victimN)
	if _, err := lightbox(t, true, "delete", "--data", data, "--study", victim); err == nil {
		t.Errorf("deleting the study again succeeded")
	}
	lsOut, _ = lightbox(t, false, "ls", "--data", data, "--limit", "10000")
	if strings.Contains(lsOut, victim) {
		t.Errorf("lightbox ls still lists the deleted study")
	}
}

// failureDiff returns the failures the first import listed and the second did not.
func failureDiff(first, second string) []string {
	var out []string
	for _, l := range strings.Split(first, "\n") {
		if strings.HasPrefix(l, "  ") && !strings.Contains(second, l) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}
