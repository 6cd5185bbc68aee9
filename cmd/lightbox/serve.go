package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob/fileblob"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/scp"
	"github.com/lightbox-pacs/lightbox/internal/viewer"
	"github.com/lightbox-pacs/lightbox/internal/web"
	"github.com/lightbox-pacs/lightbox/transcode"
)

// peerFlags collects repeated --peer AE=HOST:PORT flags.
type peerFlags []config.Peer

func (p *peerFlags) String() string {
	var s []string
	for _, x := range *p {
		s = append(s, x.AETitle+"="+x.Addr)
	}
	return strings.Join(s, ",")
}

func (p *peerFlags) Set(v string) error {
	peer, err := config.ParsePeer(v)
	if err != nil {
		return err
	}
	*p = append(*p, peer)
	return nil
}

// serverFlags are the flags shared by serve and the commands that open the archive directly.
type serverFlags struct {
	configFile string
	data       string
}

func addDataFlags(fs *flag.FlagSet, sf *serverFlags) {
	fs.StringVar(&sf.configFile, "config", "", "configuration file (TOML; see docs/configuration.md); env LIGHTBOX_CONFIG")
	fs.StringVar(&sf.data, "data", "", "data directory holding the index and the instances (default ./lightbox-data); env LIGHTBOX_DATA")
}

// loadConfig builds the configuration: defaults, then the file, then LIGHTBOX_* variables, then
// the flags that were set.
func loadConfig(e *env, fs *flag.FlagSet, sf *serverFlags, apply func(*config.Config)) (config.Config, error) {
	cfg := config.Default()
	file := sf.configFile
	if file == "" {
		file = e.getenv("LIGHTBOX_CONFIG")
	}
	if file != "" {
		if err := cfg.Load(file); err != nil {
			return cfg, err
		}
	}
	if err := cfg.ApplyEnv(e.getenv); err != nil {
		return cfg, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["data"] {
		cfg.Data = sf.data
	}
	if apply != nil {
		apply(&cfg)
	}
	return cfg, cfg.Validate()
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(c.Format) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// compressPolicy is the ingest compression policy of cfg (codecs.ingest_compress).
func compressPolicy(cfg config.Config) (archive.CompressPolicy, error) {
	if cfg.Codecs.IngestCompress == "" {
		return archive.CompressPolicy{}, nil
	}
	ts, err := transcode.ParseSyntax(cfg.Codecs.IngestCompress)
	if err != nil {
		return archive.CompressPolicy{}, fmt.Errorf("codecs.ingest_compress: %w", err)
	}
	p := archive.CompressPolicy{TransferSyntax: ts, Codecs: codecs.Registry(), MaxBytes: cfg.Codecs.MaxConvertMB << 20}
	if err := p.Check(); err != nil {
		return p, fmt.Errorf("codecs.ingest_compress: %w", err)
	}
	return p, nil
}

// openArchive opens the index and blob store under cfg.Data and returns the archive and a close
// function.
func openArchive(ctx context.Context, cfg config.Config, log *slog.Logger) (*archive.Service, func() error, error) {
	if err := os.MkdirAll(cfg.Data, 0o750); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	var extra []tag.Tag
	for _, k := range cfg.Index.ExtraTags {
		t, err := tag.Parse(k)
		if err != nil {
			return nil, nil, fmt.Errorf("index.extra_tags: %w", err)
		}
		extra = append(extra, t)
	}
	idx, err := sqlite.Open(ctx, filepath.Join(cfg.Data, "index.db"), sqlite.Options{
		ExtraTags: extra, Logger: log, Synchronous: strings.ToUpper(cfg.Index.Synchronous)})
	if err != nil {
		return nil, nil, fmt.Errorf("open index: %w", err)
	}
	blobDir := filepath.Join(cfg.Data, "instances")
	_, statErr := os.Stat(blobDir)
	blobs, err := fileblob.Open(blobDir, fileblob.Options{MinFreeBytes: cfg.Storage.MinFreeMB << 20, Init: os.IsNotExist(statErr)})
	if err != nil {
		idx.Close()
		return nil, nil, fmt.Errorf("open instance storage %s: %w", blobDir, err)
	}
	dup, err := archive.ParseDuplicatePolicy(cfg.Duplicates)
	if err != nil {
		idx.Close()
		blobs.Close()
		return nil, nil, err
	}
	compress, err := compressPolicy(cfg)
	if err != nil {
		idx.Close()
		blobs.Close()
		return nil, nil, err
	}
	arc := archive.New(idx, blobs, archive.Options{Duplicates: dup, Compress: compress, Logger: log})
	closeFn := func() error {
		return errors.Join(idx.Close(), blobs.Close())
	}
	return arc, closeFn, nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "[flags]", `
Run the archive: receive instances over DICOM (C-STORE), answer queries (C-FIND) and retrieves
(C-MOVE, C-GET), and serve HTTP (/healthz) — all on the embedded defaults: an SQLite index and
the instances as files under the data directory, no other server needed.

Configuration comes from, in increasing priority: the defaults, the --config file, LIGHTBOX_*
environment variables, and these flags. SIGTERM or Ctrl-C finish the requests in progress, then
exit.`)
	var sf serverFlags
	addDataFlags(fs, &sf)
	ae := fs.String("ae", "", "our AE title (default LIGHTBOX); env LIGHTBOX_AE")
	dicomAddr := fs.String("dicom-addr", "", "DIMSE listen address (default 127.0.0.1:11112); env LIGHTBOX_DICOM_ADDR")
	httpAddr := fs.String("http-addr", "", "HTTP listen address (default 127.0.0.1:8080); env LIGHTBOX_HTTP_ADDR")
	var peers peerFlags
	fs.Var(&peers, "peer", "a known DICOM peer and C-MOVE destination, AE=HOST:PORT (repeatable); env LIGHTBOX_PEERS")
	duplicates := fs.String("duplicates", "", "policy for a re-sent SOP Instance UID with other content: reject, keep or overwrite")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitError{2}
	}
	cfg, err := loadConfig(e, fs, &sf, func(c *config.Config) {
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "ae":
				c.AETitle = *ae
			case "dicom-addr":
				c.DICOMAddr = *dicomAddr
			case "http-addr":
				c.HTTPAddr = *httpAddr
			case "duplicates":
				c.Duplicates = *duplicates
			}
		})
		for _, p := range peers {
			c.AddPeer(p)
		}
	})
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, cfg.Log)
	arc, closeArchive, err := openArchive(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeArchive()
	rep, err := arc.Sweep(ctx)
	if err != nil {
		return fmt.Errorf("startup sweep: %w", err)
	}
	stats, _ := arc.Stats(ctx)
	log.Info("archive open", "data", cfg.Data, "instances", stats.Instances, "studies", stats.Studies,
		"swept_temp", rep.TempFiles, "swept_orphans", rep.OrphanBlobs)

	peerMap := map[string]scp.Peer{}
	for _, p := range cfg.Peers {
		peerMap[p.AETitle] = scp.Peer{AETitle: p.AETitle, Addr: p.Addr}
	}
	front := scp.New(arc, scp.Options{AETitle: cfg.AETitle, Peers: peerMap, CaseInsensitivePN: cfg.CaseInsensitiveNames,
		Codecs: codecs.Registry(), MaxConvertBytes: cfg.Codecs.MaxConvertMB << 20, Logger: log})
	dsrv := &dimse.Server{
		AETitle:         cfg.AETitle,
		Handler:         front.Mux(),
		Authorize:       front.Authorize,
		MaxAssociations: cfg.DIMSE.MaxAssociations,
		Config: ul.Config{MaxPDULength: uint32(cfg.DIMSE.MaxPDU), ARTIMTimeout: cfg.DIMSE.ARTIMTimeout.Duration,
			IdleTimeout: cfg.DIMSE.IdleTimeout.Duration},
		Logger: log,
	}
	dln, err := net.Listen("tcp", cfg.DICOMAddr)
	if err != nil {
		return fmt.Errorf("DICOM address %s: %w (another server on that port? choose another with --dicom-addr)", cfg.DICOMAddr, err)
	}
	hln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		dln.Close()
		return fmt.Errorf("HTTP address %s: %w (choose another with --http-addr)", cfg.HTTPAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		st, err := arc.Stats(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"status": "unavailable"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "ok", "instances": st.Instances})
	})
	dweb := web.New(arc, web.Options{Logger: log, CORSOrigins: cfg.HTTP.CORSOrigins, MaxUploadBytes: cfg.HTTP.MaxUploadMB << 20,
		Codecs: codecs.Registry(), MaxConvertBytes: cfg.Codecs.MaxConvertMB << 20})
	mux.Handle("/dicom-web/", http.StripPrefix("/dicom-web", dweb))
	mux.Handle("/wado", dweb) // WADO-URI (PS3.18 chapter 9) for legacy clients
	// The web viewer: / (the study list), /viewer and /assets/.
	mux.Handle("/", viewer.Handler(viewer.Options{DICOMweb: dweb}))
	hsrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 2)
	go func() { errc <- dsrv.Serve(dln) }()
	go func() { errc <- hsrv.Serve(hln) }()
	logCodecs(log)
	log.Info("lightbox serving", "ae_title", cfg.AETitle, "dicom_addr", dln.Addr().String(), "http_addr", hln.Addr().String(), "peers", len(cfg.Peers))
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing requests in progress")
	case serveErr = <-errc:
		log.Error("server stopped", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dsrv.Shutdown(sctx); err != nil {
		log.Warn("DICOM server did not finish in time; associations aborted", "err", err)
	}
	hsrv.Shutdown(sctx)
	log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, dimse.ErrServerClosed) && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// logCodecs says which compressed transfer syntaxes this build decodes, and warns when the
// codecs built on C libraries are missing.
func logCodecs(log *slog.Logger) {
	var dec []string
	for _, c := range codecs.Registry().Codecs() {
		if c.Decoder != nil {
			dec = append(dec, c.TransferSyntax)
		}
	}
	log.Info("pixel data codecs", "decodes", strings.Join(dec, " "))
	if !codecs.CGO {
		log.Warn("built without the cgo codecs: JPEG 2000, HTJ2K and JPEG-LS instances are stored and sent as received but cannot be rendered or converted; build with cgo and the OpenJPEG, CharLS and OpenJPH development packages (make build)")
	}
}
