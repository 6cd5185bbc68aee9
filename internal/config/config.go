// Package config is the file administrators write to configure `lightbox serve`: its defaults,
// loading (TOML), environment overrides (LIGHTBOX_*) and validation. Command-line flags, applied
// by cmd/lightbox, override both. docs/configuration.md documents every key.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/lightbox-pacs/lightbox/transcode"
)

// Config is Lightbox's configuration.
type Config struct {
	// Data is the directory holding the index and the stored instances.
	Data string `toml:"data"`
	// AETitle is the archive's DICOM application entity title.
	AETitle string `toml:"ae_title"`
	// DICOMAddr is where the DIMSE server listens (host:port).
	DICOMAddr string `toml:"dicom_addr"`
	// HTTPAddr is where the HTTP server (health, DICOMweb, viewer) listens.
	HTTPAddr string `toml:"http_addr"`
	// Peers are the known DICOM application entities (C-MOVE destinations).
	Peers []Peer `toml:"peer"`
	// Duplicates is the policy for a re-sent SOP Instance UID with different content:
	// "reject" (keep the stored instance, warn the sender), "keep" (serve the stored instance,
	// store the new one aside as a version, warn the sender) or "overwrite".
	Duplicates string `toml:"duplicates"`
	// CaseInsensitiveNames matches Person Names in queries ignoring case.
	CaseInsensitiveNames bool `toml:"case_insensitive_names"`

	HTTP    HTTP    `toml:"http"`
	Index   Index   `toml:"index"`
	Storage Storage `toml:"storage"`
	DIMSE   DIMSE   `toml:"dimse"`
	Codecs  Codecs  `toml:"codecs"`
	Log     Log     `toml:"log"`
}

// Peer is a known application entity.
type Peer struct {
	AETitle string `toml:"ae_title"`
	Addr    string `toml:"addr"`
}

// HTTP configures the HTTP server (DICOMweb, WADO-URI).
type HTTP struct {
	// CORSOrigins are the web origins (scheme://host[:port]) whose pages may call DICOMweb, for
	// viewers served from elsewhere; "*" allows any origin. Default none.
	CORSOrigins []string `toml:"cors_origins"`
	// MaxUploadMB bounds one STOW-RS request (default 4096).
	MaxUploadMB int64 `toml:"max_upload_mb"`
}

// Index configures the index.
type Index struct {
	// ExtraTags are further attributes to index for queries, by keyword or (gggg,eeee).
	ExtraTags []string `toml:"extra_tags"`
	// Synchronous is SQLite's synchronous setting: "full" (default; an acknowledged instance
	// survives power loss) or "normal" (faster; the last transactions may be lost on power
	// loss, never on a process crash).
	Synchronous string `toml:"synchronous"`
}

// Storage configures the blob store.
type Storage struct {
	// MinFreeMB refuses new instances when the disk has less free space (default 256).
	MinFreeMB int64 `toml:"min_free_mb"`
}

// DIMSE configures the DICOM network server.
type DIMSE struct {
	MaxAssociations int      `toml:"max_associations"`
	MaxPDU          int      `toml:"max_pdu"`
	ARTIMTimeout    Duration `toml:"artim_timeout"`
	IdleTimeout     Duration `toml:"idle_timeout"`
}

// Codecs configures pixel data conversion.
type Codecs struct {
	// IngestCompress is a lossless transfer syntax (UID or name, e.g. "jpeg-ls") that
	// uncompressed instances are stored in, their pixels kept exactly; empty stores what is
	// received.
	IngestCompress string `toml:"ingest_compress"`
	// MaxConvertMB bounds an instance converted on ingest or for a peer or client that does
	// not take its stored transfer syntax (conversion holds it in memory).
	MaxConvertMB int64 `toml:"max_convert_mb"`
}

// Log configures logging.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Duration is a time.Duration written as "30s" in the file.
type Duration struct{ time.Duration }

// UnmarshalText reads a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes a duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Default returns the embedded defaults: SQLite and the filesystem under ./lightbox-data, AE
// title LIGHTBOX, DIMSE on 127.0.0.1:11112 and HTTP on 127.0.0.1:8080.
func Default() Config {
	return Config{
		Data:       "lightbox-data",
		AETitle:    "LIGHTBOX",
		DICOMAddr:  "127.0.0.1:11112",
		HTTPAddr:   "127.0.0.1:8080",
		Duplicates: "reject",
		Index:      Index{Synchronous: "full"},
		HTTP:       HTTP{MaxUploadMB: 4096},
		Storage:    Storage{MinFreeMB: 256},
		Codecs:     Codecs{MaxConvertMB: 512},
		DIMSE: DIMSE{MaxAssociations: 64, MaxPDU: 256 << 10,
			ARTIMTimeout: Duration{30 * time.Second}, IdleTimeout: Duration{5 * time.Minute}},
		Log: Log{Level: "info", Format: "text"},
	}
}

// Load reads the TOML file path over c. Unknown keys are an error, so that a misspelt key does
// not silently fall back to a default.
func (c *Config) Load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(b), c)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return fmt.Errorf("config %s: unknown keys %s (see docs/configuration.md)", path, strings.Join(keys, ", "))
	}
	return nil
}

// Env lists the environment variables ApplyEnv reads, with the key each sets.
var Env = map[string]string{
	"LIGHTBOX_DATA":            "data",
	"LIGHTBOX_AE":              "ae_title",
	"LIGHTBOX_DICOM_ADDR":      "dicom_addr",
	"LIGHTBOX_HTTP_ADDR":       "http_addr",
	"LIGHTBOX_PEERS":           "peer (AE=HOST:PORT, comma-separated)",
	"LIGHTBOX_DUPLICATES":      "duplicates",
	"LIGHTBOX_INGEST_COMPRESS": "codecs.ingest_compress",
	"LIGHTBOX_LOG_LEVEL":       "log.level",
	"LIGHTBOX_LOG_FORMAT":      "log.format",
	"LIGHTBOX_CORS":            "http.cors_origins (comma-separated)",
}

// ApplyEnv overrides c with the LIGHTBOX_* variables that are set.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("LIGHTBOX_DATA", &c.Data)
	set("LIGHTBOX_AE", &c.AETitle)
	set("LIGHTBOX_DICOM_ADDR", &c.DICOMAddr)
	set("LIGHTBOX_HTTP_ADDR", &c.HTTPAddr)
	set("LIGHTBOX_DUPLICATES", &c.Duplicates)
	set("LIGHTBOX_INGEST_COMPRESS", &c.Codecs.IngestCompress)
	set("LIGHTBOX_LOG_LEVEL", &c.Log.Level)
	set("LIGHTBOX_LOG_FORMAT", &c.Log.Format)
	if v := getenv("LIGHTBOX_CORS"); v != "" {
		c.HTTP.CORSOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.HTTP.CORSOrigins = append(c.HTTP.CORSOrigins, o)
			}
		}
	}
	if v := getenv("LIGHTBOX_PEERS"); v != "" {
		for _, p := range strings.Split(v, ",") {
			peer, err := ParsePeer(strings.TrimSpace(p))
			if err != nil {
				return fmt.Errorf("LIGHTBOX_PEERS: %w", err)
			}
			c.AddPeer(peer)
		}
	}
	return nil
}

// ParsePeer reads AE=HOST:PORT.
func ParsePeer(s string) (Peer, error) {
	ae, addr, ok := strings.Cut(s, "=")
	if !ok || ae == "" || addr == "" {
		return Peer{}, fmt.Errorf("peer %q: want AE=HOST:PORT", s)
	}
	p := Peer{AETitle: ae, Addr: addr}
	return p, p.validate()
}

// AddPeer adds p, replacing a peer with the same AE title.
func (c *Config) AddPeer(p Peer) {
	for i := range c.Peers {
		if c.Peers[i].AETitle == p.AETitle {
			c.Peers[i] = p
			return
		}
	}
	c.Peers = append(c.Peers, p)
}

func validAE(ae string) error {
	if ae == "" || len(ae) > 16 {
		return fmt.Errorf("AE title %q must have 1 to 16 characters", ae)
	}
	for _, r := range ae {
		if r < 0x20 || r > 0x7E || r == '\\' {
			return fmt.Errorf("AE title %q has a character that is not allowed", ae)
		}
	}
	if strings.TrimSpace(ae) == "" {
		return fmt.Errorf("AE title %q is blank", ae)
	}
	return nil
}

func (p Peer) validate() error {
	if err := validAE(p.AETitle); err != nil {
		return fmt.Errorf("peer: %w", err)
	}
	host, port, err := net.SplitHostPort(p.Addr)
	if err != nil || host == "" {
		return fmt.Errorf("peer %s: address %q: want HOST:PORT", p.AETitle, p.Addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("peer %s: port %q is not a port number", p.AETitle, port)
	}
	return nil
}

// Validate checks c and says what to fix.
func (c *Config) Validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("data: a directory is needed"))
	}
	if err := validAE(c.AETitle); err != nil {
		errs = append(errs, fmt.Errorf("ae_title: %w", err))
	}
	for name, addr := range map[string]string{"dicom_addr": c.DICOMAddr, "http_addr": c.HTTPAddr} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: want HOST:PORT (e.g. 127.0.0.1:11112)", name, addr))
		}
	}
	seen := map[string]bool{}
	for _, p := range c.Peers {
		if err := p.validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[p.AETitle] {
			errs = append(errs, fmt.Errorf("peer %s is listed twice", p.AETitle))
		}
		seen[p.AETitle] = true
	}
	switch strings.ToLower(c.Duplicates) {
	case "reject", "keep", "overwrite":
	default:
		errs = append(errs, fmt.Errorf("duplicates: %q: want reject, keep or overwrite", c.Duplicates))
	}
	if c.Codecs.IngestCompress != "" {
		if _, err := transcode.ParseSyntax(c.Codecs.IngestCompress); err != nil {
			errs = append(errs, fmt.Errorf("codecs.ingest_compress: %w", err))
		}
	}
	if c.Codecs.MaxConvertMB < 0 {
		errs = append(errs, fmt.Errorf("codecs.max_convert_mb: %d: want 0 or more", c.Codecs.MaxConvertMB))
	}
	switch strings.ToLower(c.Index.Synchronous) {
	case "", "full", "normal":
	default:
		errs = append(errs, fmt.Errorf("index.synchronous: %q: want full or normal", c.Index.Synchronous))
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q: want debug, info, warn or error", c.Log.Level))
	}
	switch strings.ToLower(c.Log.Format) {
	case "", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q: want text or json", c.Log.Format))
	}
	return errors.Join(errs...)
}
