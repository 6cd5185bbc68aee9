// Package web is the DICOMweb front end of the archive (PS3.18), meant to be mounted under a
// prefix such as /dicom-web:
//
//   - QIDO-RS search (PS3.18 10.6): GET /studies, /series, /instances and their study- and
//     series-scoped forms, answered as application/dicom+json (PS3.18 10.6.3, Tables 10.6.3-3
//     to 10.6.3-5 for the default attributes), with X-Total-Count.
//   - WADO-RS retrieve (PS3.18 10.4): instances as multipart/related; type="application/dicom"
//     (10.4.1.1.1), metadata as application/dicom+json from what the archive kept at ingest
//     (10.4.1.1.2), frames (10.4.1.1.3) and bulk data (10.4.1.1.4) read by byte range from the
//     stored blobs. Instances and frames asked for in another transfer syntax are converted with
//     the codecs of Options.Codecs (convert.go, frames_convert.go).
//   - WADO-RS rendered resources (PS3.18 10.4, parameters of 8.3.5.1): .../instances/{i}/rendered
//     (the first frame) and .../frames/{list}/rendered as image/jpeg or image/png, with the
//     window, viewport and quality parameters; thumbnails of a study, a series (the middle frame
//     of a representative instance), an instance (its middle frame) or a frame, fitted into
//     128×128 unless a viewport is given. Frames are read by byte range as for /frames and
//     rendered by package render, compressed ones decoded first; pixel data it cannot render
//     (transfer syntaxes without a decoder, unsupported pixel formats) are answered 406 naming
//     what is missing.
//   - STOW-RS store (PS3.18 10.5): POST /studies and /studies/{study} with
//     multipart/related; type="application/dicom", each part streamed into the archive, or with
//     multipart/related; type="application/dicom+json", metadata and bulk data (10.5.1.2), each
//     data set written as a Part 10 file and stored; the response follows 10.5.3
//     (ReferencedSOPSequence, FailedSOPSequence).
//   - WADO-URI (PS3.18 chapter 9): GET /wado?requestType=WADO&studyUID=…&seriesUID=…&objectUID=…
//     with contentType application/dicom, image/jpeg or image/png. The handler answers it at
//     /wado of its own root, so that the same handler is also mounted, without a prefix to strip,
//     at the server's /wado: mux.Handle("/wado", h).
//
// Errors are plain-text messages with the statuses of PS3.18 8.5 (400, 404, 406, 413, 415, 503).
// Every response carries X-Content-Type-Options: nosniff; CORS is answered for the configured
// origins only.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Options configure the front end. The zero value is valid.
type Options struct {
	Logger *slog.Logger
	// MaxUploadBytes bounds the body of a STOW-RS request (default 4 GiB).
	MaxUploadBytes int64
	// CORSOrigins lists the origins allowed to call from a browser ("*" for any); none by
	// default.
	CORSOrigins []string
	// BaseURL returns the absolute URL of the service root (e.g. https://pacs.example/dicom-web)
	// for the RetrieveURL and BulkDataURI values of responses. By default it is the request's
	// scheme and Host followed by the prefix the handler is mounted under.
	BaseURL func(r *http.Request) string
	// Source names the sender of STOW-RS instances in the archive's record (default DICOMWEB).
	Source string
	// StoreParallelism is how many instances of one STOW-RS request are stored at once
	// (default 4). Instances of up to 16 MiB are read whole into memory to be stored while the
	// next ones arrive, so a request holds at most StoreParallelism + 1 of them in memory.
	StoreParallelism int
	// MetadataCacheBytes bounds the metadata responses kept assembled, each under the entity
	// tag of its study, series or instance (default 64 MiB; negative: none are kept).
	MetadataCacheBytes int64
	// Codecs decodes and encodes frames for rendered resources and for frames and instances
	// asked for in another transfer syntax (default: every codec of this build).
	Codecs *codec.Registry
	// MaxConvertBytes bounds the size of an instance transcoded for a retrieve (default
	// DefaultMaxConvertBytes).
	MaxConvertBytes int64
}

// server holds the handlers' dependencies.
type server struct {
	arc  *archive.Service
	opts Options
	log  *slog.Logger
	// bufs holds the *bytes.Buffer that STOW-RS parts are read into.
	bufs sync.Pool
	// meta keeps assembled metadata responses (nil: none).
	meta *metaCache
}

// New returns the DICOMweb handler over arc. Mount it with its prefix stripped, and at /wado for
// WADO-URI, e.g.
//
//	h := web.New(arc, opts)
//	mux.Handle("/dicom-web/", http.StripPrefix("/dicom-web", h))
//	mux.Handle("/wado", h)
func New(arc *archive.Service, opts Options) http.Handler {
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = 4 << 30
	}
	if opts.BaseURL == nil {
		opts.BaseURL = defaultBaseURL
	}
	if opts.Source == "" {
		opts.Source = "DICOMWEB"
	}
	if opts.StoreParallelism <= 0 {
		opts.StoreParallelism = defaultStoreParallelism
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{arc: arc, opts: opts, log: log}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	switch {
	case opts.MetadataCacheBytes == 0:
		s.meta = newMetaCache(64 << 20)
	case opts.MetadataCacheBytes > 0:
		s.meta = newMetaCache(opts.MetadataCacheBytes)
	}
	mux := http.NewServeMux()
	// QIDO-RS (PS3.18 10.6).
	mux.HandleFunc("GET /studies", s.search(index.Study))
	mux.HandleFunc("GET /series", s.search(index.Series))
	mux.HandleFunc("GET /instances", s.search(index.Instance))
	mux.HandleFunc("GET /studies/{study}/series", s.search(index.Series))
	mux.HandleFunc("GET /studies/{study}/instances", s.search(index.Instance))
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances", s.search(index.Instance))
	// WADO-RS (PS3.18 10.4).
	mux.HandleFunc("GET /studies/{study}", s.retrieve(index.Study))
	mux.HandleFunc("GET /studies/{study}/series/{series}", s.retrieve(index.Series))
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances/{instance}", s.retrieve(index.Instance))
	mux.HandleFunc("GET /studies/{study}/metadata", s.metadata(index.Study))
	mux.HandleFunc("GET /studies/{study}/series/{series}/metadata", s.metadata(index.Series))
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances/{instance}/metadata", s.metadata(index.Instance))
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances/{instance}/frames/{frames}", s.frames)
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances/{instance}/bulkdata/{tag}", s.bulkdata)
	// WADO-RS rendered resources and thumbnails (PS3.18 10.4, 8.3.5).
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances/{instance}/rendered", s.renderedInstance(false))
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered", s.renderedFrames(false))
	mux.HandleFunc("GET /studies/{study}/thumbnail", s.thumbnailOf)
	mux.HandleFunc("GET /studies/{study}/series/{series}/thumbnail", s.thumbnailOf)
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances/{instance}/thumbnail", s.renderedInstance(true))
	mux.HandleFunc("GET /studies/{study}/series/{series}/instances/{instance}/frames/{frames}/thumbnail", s.renderedFrames(true))
	// WADO-URI (PS3.18 chapter 9), for a handler also mounted at /wado without its prefix.
	mux.HandleFunc("GET /wado", s.wadoURI)
	// STOW-RS (PS3.18 10.5).
	mux.HandleFunc("POST /studies", s.store)
	mux.HandleFunc("POST /studies/{study}", s.store)
	return s.wrap(mux)
}

// defaultBaseURL is the request's scheme and host and the prefix stripped before the handler.
func defaultBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	prefix := ""
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && strings.HasSuffix(u.Path, r.URL.Path) {
		prefix = strings.TrimSuffix(u.Path, r.URL.Path)
	}
	return scheme + "://" + r.Host + prefix
}

// exposed are the response header fields a browser script may read (CORS).
const exposed = "X-Total-Count, ETag, Warning, Content-Location, Content-Range, Accept-Ranges, Content-Length"

// wrap adds the headers every response carries and answers CORS preflight requests.
func (s *server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		origin := r.Header.Get("Origin")
		allowed := origin != "" && s.allowedOrigin(origin)
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", exposed)
		}
		if origin != "" {
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			h.Set("Allow", "GET, HEAD, POST, OPTIONS")
			if allowed && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
				if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
					h.Set("Access-Control-Allow-Headers", req)
				}
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) allowedOrigin(origin string) bool {
	return slices.Contains(s.opts.CORSOrigins, "*") || slices.Contains(s.opts.CORSOrigins, origin)
}

// httpError writes a plain-text error message.
func httpError(w http.ResponseWriter, status int, format string, args ...any) {
	h := w.Header()
	h.Del("Content-Encoding")
	h.Del("ETag")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, format+"\n", args...)
}

// fail maps an archive or index error to a status; unexpected errors are logged, and their
// text is not shown.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, context.Canceled) || r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		w.WriteHeader(http.StatusServiceUnavailable)
	case errors.Is(err, archive.ErrNotFound), errors.Is(err, index.ErrNotFound):
		httpError(w, http.StatusNotFound, "%s", notFoundText(err))
	case errors.Is(err, index.ErrInvalidQuery):
		httpError(w, http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "index: "))
	case errors.Is(err, archive.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.log.Error("DICOMweb: archive unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		httpError(w, http.StatusServiceUnavailable, "the archive is unavailable; try again later")
	default:
		s.log.Error("DICOMweb: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		httpError(w, http.StatusInternalServerError, "internal error")
	}
}

func notFoundText(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "archive: "), "index: ")
}

// pathUIDs reads and checks the UIDs of the request path.
func pathUIDs(r *http.Request) (study, series, instance string, err error) {
	study, series, instance = r.PathValue("study"), r.PathValue("series"), r.PathValue("instance")
	for _, p := range []struct{ name, v string }{{"Study", study}, {"Series", series}, {"SOP", instance}} {
		if p.v == "" {
			continue
		}
		if e := uid.Validate(p.v); e != nil {
			return "", "", "", fmt.Errorf("invalid %s Instance UID %q in the path: %w", p.name, p.v, e)
		}
	}
	return study, series, instance, nil
}

// abort ends a response whose status is sent already: the connection is cut, so that the client
// sees a truncated payload rather than a complete-looking short one.
func (s *server) abort(r *http.Request, what string, err error) {
	if r.Context().Err() == nil {
		s.log.Error("DICOMweb: response aborted", "path", r.URL.Path, "while", what, "err", err)
	}
	panic(http.ErrAbortHandler)
}
