// Package viewer serves the web viewer of `lightbox serve`: the study list at /, the viewer at
// /viewer?StudyInstanceUIDs=UID (the URL form of the OHIF Viewer) and the built assets at
// /assets/. The viewer is a single-page TypeScript application (web/viewer) that talks to the
// server's own DICOMweb at /dicom-web on the same origin.
//
// The built files (dist/) are committed and embedded, so a plain `go build` serves the viewer
// without Node.js; `make viewer` rebuilds them (npm ci && npm run build in web/viewer), and a test
// checks that the committed files match a fresh build when the build tools are installed.
//
// Design: the viewer draws with its own canvas code rather than Cornerstone3D. Cornerstone3D 5.14
// with its DICOMweb image loader, built with Vite, measured ~1.7 MB gzipped and renders through
// WebGL, which headless and GPU-less browsers run in a software rasterizer; our bundle is ~25 kB
// gzipped (plus a 47 kB tag dictionary loaded when the tag browser opens) and draws a 512×512
// slice through a typed-array lookup table (modality LUT + VOI window + MONOCHROME1/invert) in
// about a millisecond. Frames are fetched with WADO-RS /frames in Explicit VR Little Endian, which
// the server decodes compressed frames to, so that the viewer windows stored values whatever
// the stored syntax; when the server cannot convert, the frames as stored (baseline JPEG is
// decoded by the browser), then the server's rendering (/rendered), then a message saying why
// the image cannot be shown.
//
// index.html holds one inline script: the viewer's first requests (the study's series, its first
// instance, that instance's first frame and its series' metadata), made while the bundle loads,
// so that the first image needs two round trips. The Content-Security-Policy allows it by its
// hash, computed when the handler is built. docs/viewer.md describes the viewer's use,
// docs/performance.md its figures.
package viewer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// Dist is the built viewer: index.html and assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embedded tree always has dist
	}
	return sub
}

// contentSecurityPolicy allows the viewer's own scripts (and the inline scripts of index.html,
// by their hashes, put in place of %s) and styles, images from the server and from blob: and data:
// URLs, and the PDF documents it opens from blob: URLs.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'%s; style-src 'self'; img-src 'self' data: blob:; " +
	"frame-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// inlineScript matches the inline scripts of an HTML page (those without a src attribute).
var inlineScript = regexp.MustCompile(`(?s)<script(\s[^>]*)?>(.*?)</script>`)

// policy is the Content-Security-Policy of a page: contentSecurityPolicy with the hashes of its
// inline scripts (CSP level 2 'sha256-…' sources).
func policy(html []byte) string {
	var hashes string
	for _, m := range inlineScript.FindAllSubmatch(html, -1) {
		if bytes.Contains(m[1], []byte("src=")) {
			continue
		}
		sum := sha256.Sum256(m[2])
		hashes += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return fmt.Sprintf(contentSecurityPolicy, hashes)
}

// file is an embedded file ready to serve.
type file struct {
	body  []byte
	gz    []byte // gzip of body, when smaller
	ctype string
	etag  string
}

type handler struct {
	index  file
	csp    string // the Content-Security-Policy of index
	assets map[string]file
}

// Handler serves / (the study list), /viewer (the viewer) and /assets/… from the embedded build.
// HTML is served with Cache-Control: no-cache (revalidated by ETag); the assets, whose names
// carry a hash of their content, as immutable for a year. Other paths are 404.
func Handler() http.Handler {
	h, err := newHandler(Dist())
	if err != nil {
		panic(fmt.Sprintf("viewer: embedded build: %v", err))
	}
	return h
}

func newHandler(fsys fs.FS) (*handler, error) {
	h := &handler{assets: map[string]file{}}
	idx, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return nil, fmt.Errorf("index.html: %w (run make viewer)", err)
	}
	h.index = prepare("index.html", idx)
	h.csp = policy(idx)
	err = fs.WalkDir(fsys, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		h.assets["/"+p] = prepare(p, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	return h, nil
}

func prepare(name string, b []byte) file {
	sum := sha256.Sum256(b)
	f := file{body: b, ctype: mime.TypeByExtension(path.Ext(name)), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	if f.ctype == "" {
		f.ctype = "application/octet-stream"
	}
	if strings.HasSuffix(name, ".js") {
		f.ctype = "text/javascript; charset=utf-8"
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	if buf.Len() < len(b)*9/10 {
		f.gz = buf.Bytes()
	}
	return f
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html" || p == "/viewer" || p == "/viewer/":
		hd.Set("Cache-Control", "no-cache")
		hd.Set("Content-Security-Policy", h.csp)
		hd.Set("Referrer-Policy", "no-referrer")
		h.serve(w, r, h.index)
	case strings.HasPrefix(p, "/assets/"):
		f, ok := h.assets[p]
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.serve(w, r, f)
	default:
		http.Error(w, "not found: the viewer is at / (study list) and /viewer?StudyInstanceUIDs=…; DICOMweb at /dicom-web", http.StatusNotFound)
	}
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, f file) {
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("ETag", f.etag)
	hd.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r) {
		body = f.gz
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Last-Modified", startTime)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// startTime is the Last-Modified of every file: when the server started (the embedded files
// do not change while it runs).
var startTime = time.Now().UTC().Format(http.TimeFormat)

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			q := 1.0
			if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
			return q > 0
		}
	}
	return false
}
