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
// hash, computed when the handler is built. When the handler is given the server's DICOMweb
// handler (Options.DICOMweb), the page of a study carries that first instance itself, asked of
// DICOMweb in process with the request's own headers (so the same access rules apply): the first
// frame is then asked for while the page is parsed, one round trip and the bundle's start-up
// sooner. docs/viewer.md describes the viewer's use, docs/performance.md its figures.
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
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/uid"
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
	// split is where the first instance of a study goes in index.body: before its first script.
	split    int
	dicomweb http.Handler
}

// Options of the handler.
type Options struct {
	// DICOMweb, when set, is the server's DICOMweb handler (paths relative to /dicom-web). The
	// viewer page of a study then carries the study's first instance (the viewer's probe,
	// web/viewer/src/series.ts), asked of DICOMweb with the page request's own headers.
	DICOMweb http.Handler
}

// probeQuery is the viewer's probe of a study (probeQuery in web/viewer/src/series.ts): its
// first instance by series and instance number, with every attribute.
const probeQuery = "includefield=all&orderby=SeriesNumber%2CInstanceNumber&limit=1"

// maxProbe bounds the DICOM JSON of the first instance carried in a page.
const maxProbe = 1 << 20

// firstInstanceID is the id of the data block that carries it (read by index.html's script).
const firstInstanceID = "lightbox-first"

// Handler serves / (the study list), /viewer (the viewer) and /assets/… from the embedded build.
// HTML is served with Cache-Control: no-cache (revalidated by ETag), or no-store when it carries
// a study's first instance; the assets, whose names carry a hash of their content, as immutable
// for a year. Other paths are 404.
func Handler(opts Options) http.Handler {
	h, err := newHandler(Dist())
	if err != nil {
		panic(fmt.Sprintf("viewer: embedded build: %v", err))
	}
	h.dicomweb = opts.DICOMweb
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
	if h.split = bytes.Index(idx, []byte("<script")); h.split < 0 {
		h.split = bytes.Index(idx, []byte("</head>"))
	}
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
		hd.Set("Content-Security-Policy", h.csp)
		hd.Set("Referrer-Policy", "no-referrer")
		if (p == "/viewer" || p == "/viewer/") && r.Method == http.MethodGet {
			if first := h.firstInstance(r); first != nil {
				h.serveWithFirst(w, first)
				return
			}
		}
		hd.Set("Cache-Control", "no-cache")
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

// firstInstance returns the DICOM JSON of the first instance of the page's first study, as
// DICOMweb answers the viewer's probe for the request's user, or nil (no DICOMweb handler, no
// study or not a UID, no answer, or not a single instance).
func (h *handler) firstInstance(r *http.Request) []byte {
	if h.dicomweb == nil {
		return nil
	}
	studies := strings.Join(r.URL.Query()["StudyInstanceUIDs"], ",")
	study, _, _ := strings.Cut(studies, ",")
	study = strings.TrimSpace(study)
	if !uid.IsValid(study) {
		return nil
	}
	sub := r.Clone(r.Context())
	sub.URL = &url.URL{Path: "/studies/" + study + "/instances", RawQuery: probeQuery}
	sub.RequestURI = ""
	sub.Body = http.NoBody
	sub.ContentLength = 0
	for _, k := range []string{"Accept-Encoding", "If-None-Match", "If-Modified-Since", "Range", "Content-Type"} {
		sub.Header.Del(k)
	}
	sub.Header.Set("Accept", "application/dicom+json")
	rec := &capture{header: http.Header{}}
	h.dicomweb.ServeHTTP(rec, sub)
	if rec.status != http.StatusOK || rec.over {
		return nil
	}
	body := bytes.TrimSpace(rec.body.Bytes())
	// One instance: a JSON array of one object (the DICOM JSON model, PS3.18 F.2).
	if len(body) < 4 || body[0] != '[' || body[1] == ']' || body[len(body)-1] != ']' {
		return nil
	}
	return body
}

// serveWithFirst serves index.html with the first instance in a data block before its scripts.
// The block is not run, so the Content-Security-Policy needs no hash for it; "<" is written as
// \u003c (the same JSON string), so no value can close the block. The page holds patient data
// and is not stored by caches.
func (h *handler) serveWithFirst(w http.ResponseWriter, first []byte) {
	idx := h.index.body
	var b bytes.Buffer
	b.Grow(len(idx) + len(first) + 128)
	b.Write(idx[:h.split])
	b.WriteString(`<script type="application/json" id="` + firstInstanceID + `">`)
	b.Write(bytes.ReplaceAll(first, []byte("<"), []byte(`\u003c`)))
	b.WriteString("</script>\n    ")
	b.Write(idx[h.split:])
	hd := w.Header()
	hd.Set("Content-Type", h.index.ctype)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

// capture is the response of an in-process request, its body bounded by maxProbe.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
	over   bool
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	if c.body.Len()+len(p) > maxProbe {
		c.over = true
		return 0, fmt.Errorf("viewer: the first instance is over %d bytes", maxProbe)
	}
	return c.body.Write(p)
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
