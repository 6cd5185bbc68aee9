package integration

// The OHIF Viewer against our DICOMweb: the prebuilt release of the viewer (tests/ohif, installed
// by scripts/install-browser-deps.sh) opens a CT stored through STOW-RS in headless Chromium, and
// the test checks that a viewport shows the image.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// chromiumPath is Debian's Chromium, which the viewer test drives (scripts/install-browser-deps.sh).
const chromiumPath = "/usr/bin/chromium"

// ohifCT is the corpus CT the viewer opens: one 512×512 slice, 16-bit signed, Explicit VR Little
// Endian.
const (
	ohifCT      = "orthanc-tests__SignedCT.dcm"
	ohifCTStudy = "1.2.276.0.7230010.3.1.2.2831176407.21662.1434973336.499419"
)

// ohifAppConfig is the viewer's app-config.js: one DICOMweb data source at the proxy's
// /dicom-web, and none of the first-visit dialogs that would cover the viewport.
const ohifAppConfig = `window.config = {
  routerBasename: '/',
  extensions: [],
  modes: [],
  customizationService: {},
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  investigationalUseDialog: { option: 'never' },
  maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 10 },
  showErrorDetails: 'always',
  defaultDataSourceName: 'lightbox',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'lightbox',
      configuration: {
        friendlyName: 'Lightbox',
        name: 'lightbox',
        qidoRoot: %[1]q,
        wadoRoot: %[1]q,
        wadoUriRoot: %[1]q,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
      },
    },
  ],
};
`

// ohifResult is what tests/ohif/open-study.mjs prints.
type ohifResult struct {
	OK      bool               `json:"ok"`
	Reason  string             `json:"reason"`
	Timings map[string]float64 `json:"timings"`
	Canvas  json.RawMessage    `json:"canvas"`
	Files   map[string]string  `json:"files"`
	WebGL   string             `json:"webgl"`
	// DisplaySets: what the viewer made of the study, with its warnings.
	DisplaySets json.RawMessage `json:"displaySets"`
	// Failed lists the DICOMweb requests answered with an error status (filled by the test).
	Failed []string `json:"-"`
}

func TestOHIFViewerDrawsCT(t *testing.T) {
	ohif := needOHIF(t)
	ct := corpustest.Path(corpustest.Need(t), ohifCT)
	raw, err := os.ReadFile(ct)
	if err != nil {
		t.Skipf("corpus file %s: %v", ohifCT, err)
	}
	res := ohif.open(t, [][]byte{raw}, "/viewer?StudyInstanceUIDs="+url.QueryEscape(ohifCTStudy))
	if !res.OK {
		t.Fatalf("the OHIF Viewer drew no image: %s", res.Reason)
	}
	if len(res.Failed) > 0 {
		t.Errorf("the viewer drew the CT, but %d DICOMweb request(s) failed (see above)", len(res.Failed))
	}
}

// ohifEnv is where the viewer test finds its tools.
type ohifEnv struct {
	node, dir, dist string
}

// needOHIF finds Chromium, Node.js and the viewer's files (tests/ohif), or skips the test.
func needOHIF(t *testing.T) ohifEnv {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: run scripts/install-browser-deps.sh to test the OHIF Viewer", chromiumPath)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: the OHIF Viewer test needs Node.js")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	e := ohifEnv{node: node, dir: filepath.Join(root, "tests", "ohif")}
	e.dist = filepath.Join(e.dir, "node_modules", "@ohif", "app", "dist")
	for _, need := range []string{filepath.Join(e.dist, "index.html"), filepath.Join(e.dir, "node_modules", "playwright-core"), filepath.Join(e.dir, "node_modules", "pngjs")} {
		if _, err := os.Stat(need); err != nil {
			t.Skipf("%s missing: run scripts/install-browser-deps.sh (npm ci in tests/ohif) to test the OHIF Viewer", need)
		}
	}
	return e
}

// open starts lightbox serve, stores the Part 10 files through STOW-RS, serves the viewer beside
// /dicom-web and opens route (e.g. /viewer?StudyInstanceUIDs=…) in headless Chromium. It logs
// the DICOMweb requests, the browser's errors, the timings and the screenshots' paths, and fails
// the test when the browser run fails or exceeds its time (not when it draws nothing: see
// ohifResult.OK).
func (e ohifEnv) open(t *testing.T, part10 [][]byte, route string) ohifResult {
	t.Helper()
	start := time.Now()
	s := startServer(t, "")
	lightboxURL := fmt.Sprintf("http://127.0.0.1:%d", s.httpPort)
	for _, raw := range part10 {
		stowOne(t, lightboxURL+"/dicom-web/studies", raw)
	}
	t.Logf("lightbox serve up and %d instance(s) stored in %v", len(part10), time.Since(start).Round(time.Millisecond))

	px := newOHIFProxy(t, e.dist, lightboxURL)
	out := t.ArtifactDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.node, filepath.Join(e.dir, "open-study.mjs"),
		"--url", px.URL+route, "--out", out, "--timeout-ms", "60000", "--chromium", chromiumPath)
	cmd.Dir = e.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	browserStart := time.Now()
	runErr := cmd.Run()
	t.Logf("browser run took %v", time.Since(browserStart).Round(time.Millisecond))
	if msgs := strings.TrimSpace(stderr.String()); msgs != "" {
		t.Logf("browser messages:\n%s", msgs)
	}
	reqs, bad := px.requests()
	t.Logf("DICOMweb requests through the proxy (%d):\n%s", len(reqs), strings.Join(reqs, "\n"))
	if len(bad) > 0 {
		t.Logf("DICOMweb requests that failed (%d):\n%s", len(bad), strings.Join(bad, "\n"))
	}
	var res ohifResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("open-study.mjs: %v (%v)\nstdout: %s", runErr, err, stdout.String())
	}
	t.Logf("timings (ms from browser start): %v; WebGL renderer: %s; canvas: %s", res.Timings, res.WebGL, res.Canvas)
	t.Logf("display sets: %s", res.DisplaySets)
	for name, f := range res.Files {
		t.Logf("screenshot %s: %s", name, f)
	}
	if ctx.Err() != nil {
		t.Fatalf("the viewer did not finish within 90s")
	}
	res.Failed = bad
	if runErr != nil && res.OK {
		t.Fatalf("open-study.mjs: %v", runErr)
	}
	return res
}

// stowOne stores one Part 10 file through STOW-RS.
func stowOne(t *testing.T, endpoint string, part10 []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(part10)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, endpoint, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
	req.Header.Set("Accept", "application/dicom+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("STOW-RS: %s\n%s", resp.Status, msg)
	}
}

// ohifProxy serves the viewer's files at / and passes /dicom-web/ to lightbox serve, so that the
// viewer and the DICOMweb service share one origin (no CORS). It records the DICOMweb requests.
type ohifProxy struct {
	*httptest.Server
	mu  sync.Mutex
	all []string
	bad []string
}

func newOHIFProxy(t *testing.T, dist, lightboxURL string) *ohifProxy {
	t.Helper()
	target, err := url.Parse(lightboxURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &ohifProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		// Keep the proxy's host, so that the URLs lightbox puts in its answers (RetrieveURL,
		// BulkDataURI) point back through the proxy.
		r.Out.Host = r.In.Host
	}}
	files := http.FileServer(http.Dir(dist))
	mux := http.NewServeMux()
	mux.Handle("/dicom-web/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		begin := time.Now()
		rp.ServeHTTP(rec, r)
		line := fmt.Sprintf("%d %s %s (Accept: %s; answered %s) in %v", rec.status, r.Method, r.URL.RequestURI(),
			r.Header.Get("Accept"), rec.Header().Get("Content-Type"), time.Since(begin).Round(time.Millisecond))
		p.mu.Lock()
		p.all = append(p.all, line)
		if rec.status >= 400 {
			p.bad = append(p.bad, line)
		}
		p.mu.Unlock()
	}))
	mux.HandleFunc("/app-config.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, ohifAppConfig, "http://"+r.Host+"/dicom-web")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The viewer is a single-page application: its routes (/viewer, …) are index.html; a
		// missing file with an extension stays a 404.
		name := filepath.Join(dist, filepath.FromSlash(path.Clean("/"+r.URL.Path)))
		if st, err := os.Stat(name); r.URL.Path != "/" && path.Ext(r.URL.Path) == "" && (err != nil || st.IsDir()) {
			http.ServeFile(w, r, filepath.Join(dist, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})
	// httptest listens on 127.0.0.1 with a free port.
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// requests returns the DICOMweb requests seen, and those answered with an error.
func (p *ohifProxy) requests() (all, failed []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.all...), append([]string(nil), p.bad...)
}

// statusRecorder notes the status of a response and passes flushes through.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
