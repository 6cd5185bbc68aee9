package viewer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

var assetRef = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)

func TestHandlerServesPagesAndAssets(t *testing.T) {
	h := Handler(Options{})
	for _, p := range []string{"/", "/viewer", "/viewer?StudyInstanceUIDs=1.2.3"} {
		resp := get(t, h, http.MethodGet, p)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", p, resp.Status)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", p, cc)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", p)
		}
		refs := assetRef.FindAllStringSubmatch(string(body), -1)
		if len(refs) < 2 {
			t.Fatalf("GET %s: index.html references %d assets, want the script and the style sheet:\n%s", p, len(refs), body)
		}
		for _, m := range refs {
			a := get(t, h, http.MethodGet, m[1])
			if a.StatusCode != http.StatusOK {
				t.Errorf("%s (referenced by index.html): %s", m[1], a.Status)
			}
			if cc := a.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("%s: Cache-Control %q, want immutable", m[1], cc)
			}
		}
	}
}

func TestHandlerGzipAndConditional(t *testing.T) {
	h := Handler(Options{})
	idx, _ := io.ReadAll(get(t, h, http.MethodGet, "/").Body)
	js := ""
	for _, m := range assetRef.FindAllStringSubmatch(string(idx), -1) {
		if strings.HasSuffix(m[1], ".js") {
			js = m[1]
		}
	}
	if js == "" {
		t.Fatal("no script in index.html")
	}
	plain := get(t, h, http.MethodGet, js)
	want, _ := io.ReadAll(plain.Body)
	if ct := plain.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("script Content-Type %q", ct)
	}
	zipped := get(t, h, http.MethodGet, js, "Accept-Encoding", "br, gzip;q=0.8")
	if zipped.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", zipped.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, want) {
		t.Error("gzipped script differs from the plain one")
	}
	if r := get(t, h, http.MethodGet, js, "Accept-Encoding", "gzip;q=0"); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still gzipped")
	}
	if r := get(t, h, http.MethodGet, js, "If-None-Match", plain.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %s, want 304", r.Status)
	}
	if r := get(t, h, http.MethodHead, js); r.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %s", r.Status)
	}
}

func TestHandlerRefuses(t *testing.T) {
	h := Handler(Options{})
	for _, p := range []string{"/nope", "/assets/missing.js", "/viewer/extra", "/dicom-web"} {
		if r := get(t, h, http.MethodGet, p); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, r.Status)
		}
	}
	if r := get(t, h, http.MethodPost, "/"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %s, want 405", r.Status)
	}
}

// TestDistMatchesSource rebuilds the viewer when its build tools are installed (npm ci in
// web/viewer) and compares the result with the committed dist/, so that a change to the sources
// is not left unbuilt.
func TestDistMatchesSource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the viewer")
	}
	src, err := filepath.Abs("../../web/viewer")
	if err != nil {
		t.Fatal(err)
	}
	vite := filepath.Join(src, "node_modules", ".bin", "vite")
	if _, err := os.Stat(vite); err != nil {
		t.Skipf("%s missing (npm ci in web/viewer): cannot check that dist/ matches the sources", vite)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found")
	}
	out := t.TempDir()
	cmd := exec.Command(vite, "build", "--outDir", out, "--emptyOutDir", "--logLevel", "error")
	cmd.Dir = src
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, msg)
	}
	fresh := os.DirFS(out)
	committed := Dist()
	names := func(fsys fs.FS) map[string][]byte {
		m := map[string][]byte{}
		fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := fs.ReadFile(fsys, p)
				m[p] = b
			}
			return nil
		})
		return m
	}
	a, b := names(committed), names(fresh)
	for p, want := range b {
		got, ok := a[p]
		switch {
		case !ok:
			t.Errorf("%s is built from the sources but not in internal/viewer/dist: run make viewer", p)
		case !bytes.Equal(got, want):
			t.Errorf("%s differs from a fresh build: run make viewer", p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			t.Errorf("internal/viewer/dist/%s is not built from the sources any more: run make viewer", p)
		}
	}
}

func TestPolicyAllowsInlineScriptsByHash(t *testing.T) {
	// The hash of "var a = 1;" (openssl dgst -sha256 -binary | base64).
	html := []byte("<head><script>var a = 1;</script><script type=\"module\" src=\"/assets/x.js\"></script>\n<script>\nb()\n</script></head>")
	csp := policy(html)
	for _, want := range []string{"'sha256-+dZ6udsWxNVoGfScAq7t5IIF5UJb4F6RhjbN6oe1p4w='", "script-src 'self' 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy: %q lacks %q", csp, want)
		}
	}
	if n := strings.Count(csp, "'sha256-"); n != 2 {
		t.Errorf("policy: %d hashes, want 2 (the script with src is not inline): %s", n, csp)
	}
	// The served page: each inline script's hash is in the served policy.
	resp := get(t, Handler(Options{}), http.MethodGet, "/viewer?StudyInstanceUIDs=1.2.3")
	body, _ := io.ReadAll(resp.Body)
	served := resp.Header.Get("Content-Security-Policy")
	for _, m := range inlineScript.FindAllSubmatch(body, -1) {
		if bytes.Contains(m[1], []byte("src=")) {
			continue
		}
		sum := sha256.Sum256(m[2])
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(served, h) {
			t.Errorf("served policy %q lacks %s for an inline script of index.html", served, h)
		}
	}
}

// firstBlock extracts the first instance's data block from a page, or "" when it has none.
var firstBlock = regexp.MustCompile(`<script type="application/json" id="lightbox-first">(.*?)</script>`)

// TestViewerPageCarriesFirstInstance: given the DICOMweb handler, the page of a study carries the
// answer to the viewer's probe, asked with the page request's headers; a value that holds
// "</script>" cannot end the block; no block without a study UID, without an instance, or for
// the study list.
func TestViewerPageCarriesFirstInstance(t *testing.T) {
	const study = "1.2.840.113619.2.55.3"
	answer := `[{"00100010":{"vr":"PN","Value":[{"Alphabetic":"</script><script>alert(1)</script>"}]},"0020000D":{"vr":"UI","Value":["` + study + `"]}}]`
	var asked []*http.Request
	dweb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r)
		if r.URL.Path != "/studies/"+study+"/instances" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/dicom+json")
		io.WriteString(w, answer)
	})
	h := Handler(Options{DICOMweb: dweb})
	plain, _ := io.ReadAll(get(t, Handler(Options{}), http.MethodGet, "/viewer").Body)

	resp := get(t, h, http.MethodGet, "/viewer?StudyInstanceUIDs="+study+",1.2.3", "Authorization", "Bearer abc", "Accept-Encoding", "gzip")
	body, _ := io.ReadAll(resp.Body)
	if len(asked) != 1 {
		t.Fatalf("DICOMweb asked %d times, want once", len(asked))
	}
	q := asked[0]
	if q.URL.RawQuery != probeQuery || q.Header.Get("Authorization") != "Bearer abc" || q.Header.Get("Accept") != "application/dicom+json" || q.Header.Get("Accept-Encoding") != "" {
		t.Errorf("DICOMweb asked %s?%s with headers %v", q.URL.Path, q.URL.RawQuery, q.Header)
	}
	m := firstBlock.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no first instance in the page:\n%s", body)
	}
	if bytes.Contains(body, []byte("<script>alert")) {
		t.Errorf("a value closed the data block:\n%s", body)
	}
	var got, want any
	if err := json.Unmarshal(m[1], &got); err != nil {
		t.Fatalf("the block is not JSON: %v\n%s", err, m[1])
	}
	json.Unmarshal([]byte(answer), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the block holds %v, want %v", got, want)
	}
	if rest := bytes.Replace(body, append(bytes.Clone(m[0]), "\n    "...), nil, 1); !bytes.Equal(rest, plain) {
		t.Errorf("the rest of the page differs from index.html:\n%s", rest)
	}
	if bytes.Index(body, m[0]) > bytes.Index(body, []byte("<script>")) {
		t.Error("the data block comes after the script that reads it")
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("ETag") != "" {
		t.Errorf("headers %v", resp.Header)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != policy(plain) {
		t.Errorf("Content-Security-Policy %q, want that of index.html", csp)
	}

	for _, target := range []string{"/viewer?StudyInstanceUIDs=1.2.3.4", "/viewer?StudyInstanceUIDs=../../x", "/viewer", "/?StudyInstanceUIDs=" + study} {
		asked = nil
		resp := get(t, h, http.MethodGet, target)
		b, _ := io.ReadAll(resp.Body)
		if firstBlock.Match(b) {
			t.Errorf("GET %s: the page carries a first instance", target)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", target, cc)
		}
		if strings.Contains(target, "..") && len(asked) > 0 {
			t.Errorf("GET %s: DICOMweb asked for %s", target, asked[0].URL.Path)
		}
	}
}
