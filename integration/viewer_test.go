package integration

// The web viewer of `lightbox serve` in headless Chromium: tests/viewer/check.mjs drives the
// study list and the viewer against the built binary holding a few corpus studies, uncompressed
// and compressed, and checks what a user sees (see that script for the checks). Screenshots are kept in the test's artifact
// directory (go test -artifacts to keep them), whose path is logged.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// viewerFiles are the corpus files the viewer test imports.
const (
	viewerCT         = "orthanc-tests__SignedCT.dcm" // 512×512 CT, Pixel Spacing 0.646484
	viewerCTSpacing  = 0.646484
	viewerMultiframe = "pydicom-data__emri_small.dcm" // 10-frame MR, 64×64
	viewerSR         = "pydicom__reportsi.dcm"
	viewerPDF        = "orthanc-tests__sample-pdf.dcm"
)

// viewerCompressed are compressed series the viewer draws from frames the server converts to
// Explicit VR Little Endian; the images of each (up to images) must equal /rendered.
var viewerCompressed = []struct {
	name  string
	files []string // one series
	gray  bool     // windowed in the browser (W 400 L 40 for the comparison)
	image int      // images compared
}{
	// CT1 of the DICOM WG04 samples twice in one series: JPEG 2000 lossless and HTJ2K.
	{"ct-j2k-htj2k", []string{"cornerstone3D__CT1_J2KR.dcm", "DICOMHTJ2K__CT1_JPH.dcm"}, true, 2},
	{"xa-jpeg-96-frames", []string{"fo-dicom__HasFragmentSequence.dcm"}, true, 1},
	{"us-palette-rle", []string{"dcm4che__US-PAL-8-10x-echo.dcm"}, false, 1},
	{"us-segmented-palette", []string{"pydicom-data__gdcm-US-ALOKA-16.dcm"}, false, 1},
	{"us-ybr-jpeg", []string{"orthanc-tests__1.2.840.10008.1.2.4.50.dcm"}, false, 1},
}

type viewerCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

type viewerResult struct {
	Checks  []viewerCheck      `json:"checks"`
	Files   map[string]string  `json:"files"`
	Timings map[string]float64 `json:"timings"`
}

// needViewerBrowser finds Chromium, Node.js and tests/viewer's packages, or skips the test.
func needViewerBrowser(t *testing.T) (node, dir string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: run scripts/install-browser-deps.sh to test the web viewer", chromiumPath)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: the web viewer test needs Node.js")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(root, "tests", "viewer")
	for _, need := range []string{filepath.Join(dir, "node_modules", "playwright-core"), filepath.Join(dir, "node_modules", "pngjs")} {
		if _, err := os.Stat(need); err != nil {
			t.Skipf("%s missing: run scripts/install-browser-deps.sh (npm ci in tests/viewer) to test the web viewer", need)
		}
	}
	return node, dir
}

// carriedFirst finds the first instance that a viewer page carries.
var carriedFirst = regexp.MustCompile(`<script type="application/json" id="lightbox-first">(.*?)</script>`)

// httpGet returns the body of a GET that must answer 200.
func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}

func TestWebViewer(t *testing.T) {
	node, dir := needViewerBrowser(t)
	corpus, rows := corpustest.Manifest(t)
	byFile := map[string]corpustest.Row{}
	for _, r := range rows {
		byFile[r.File()] = r
	}
	var files []string
	for _, f := range []string{viewerCT, viewerMultiframe, viewerSR, viewerPDF} {
		if _, ok := byFile[f]; !ok {
			t.Skipf("corpus file %s not in the manifest", f)
		}
		files = append(files, corpustest.Path(corpus, f))
	}
	var compressed []map[string]any
	for _, c := range viewerCompressed {
		for _, f := range c.files {
			if _, ok := byFile[f]; !ok {
				t.Skipf("corpus file %s not in the manifest", f)
			}
			files = append(files, corpustest.Path(corpus, f))
		}
		compressed = append(compressed, map[string]any{"name": c.name, "study": byFile[c.files[0]]["StudyInstanceUID"], "gray": c.gray, "images": c.image})
	}
	start := time.Now()
	data := filepath.Join(t.TempDir(), "data")
	lightbox(t, false, append([]string{"import", "--data", data}, files...)...)
	s := startServer(t, data)
	base := "http://127.0.0.1:" + strconv.Itoa(s.httpPort)
	t.Logf("lightbox serve up with %d corpus files in %v", len(files), time.Since(start).Round(time.Millisecond))

	ct := byFile[viewerCT]
	// The page of a study carries its first instance, as QIDO-RS answers it (internal/viewer).
	page := httpGet(t, base+"/viewer?StudyInstanceUIDs="+ct["StudyInstanceUID"])
	if m := carriedFirst.FindSubmatch(page); m == nil {
		t.Errorf("the viewer page of %s carries no first instance:\n%s", viewerCT, page)
	} else {
		var first []map[string]struct{ Value []any }
		if err := json.Unmarshal(m[1], &first); err != nil || len(first) != 1 || fmt.Sprint(first[0]["00080018"].Value) != "["+ct["SOPInstanceUID"]+"]" {
			t.Errorf("the viewer page of %s carries %s (%v), want the instance %s", viewerCT, m[1], err, ct["SOPInstanceUID"])
		}
	}
	cfg, err := json.Marshal(map[string]any{
		"ct": map[string]any{"study": ct["StudyInstanceUID"], "series": ct["SeriesInstanceUID"], "sop": ct["SOPInstanceUID"],
			"patientId": ct["PatientID"], "spacing": viewerCTSpacing},
		"multiframe": map[string]any{"study": byFile[viewerMultiframe]["StudyInstanceUID"]},
		"compressed": compressed,
		"sr":         map[string]any{"study": byFile[viewerSR]["StudyInstanceUID"]},
		"pdf":        map[string]any{"study": byFile[viewerPDF]["StudyInstanceUID"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := t.ArtifactDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "check.mjs"), "--base", base, "--out", out,
		"--config", string(cfg), "--chromium", chromiumPath)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	browserStart := time.Now()
	runErr := cmd.Run()
	t.Logf("browser run took %v", time.Since(browserStart).Round(time.Millisecond))
	if msgs := strings.TrimSpace(stderr.String()); msgs != "" {
		t.Logf("browser messages:\n%s", msgs)
	}
	if ctx.Err() != nil {
		t.Fatalf("the browser run did not finish within 90s")
	}
	var res viewerResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("check.mjs: %v (%v)\nstdout: %s", runErr, err, stdout.String())
	}
	t.Logf("screenshots in %s; timings %v", out, res.Timings)
	if len(res.Checks) == 0 {
		t.Fatalf("check.mjs ran no check (%v)", runErr)
	}
	for _, c := range res.Checks {
		if c.OK {
			t.Logf("ok: %s — %s", c.Name, c.Detail)
		} else {
			t.Errorf("FAILED: %s — %s", c.Name, c.Detail)
		}
	}
	if runErr != nil && !t.Failed() {
		t.Errorf("check.mjs: %v", runErr)
	}
}
