package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
)

// peer is a DIMSE peer as the commands take it: AE@host:port.
type peer struct {
	AE, Host, Port string
}

// Addr returns host:port.
func (p peer) Addr() string { return net.JoinHostPort(p.Host, p.Port) }

func (p peer) String() string { return p.AE + "@" + p.Addr() }

// parsePeer reads AE@host:port (an IPv6 host in brackets: AE@[::1]:104).
func parsePeer(s string) (peer, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid peer address %q: %s; want AE@host:port, e.g. ARCHIVE@pacs.example.org:104", s, why)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return peer{}, bad("no AE title before '@'")
	}
	ae, hostport := s[:at], s[at+1:]
	if err := checkAETitle(ae); err != nil {
		return peer{}, bad(err.Error())
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return peer{}, bad("no host:port after '@'")
	}
	if host == "" {
		return peer{}, bad("empty host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return peer{}, bad(fmt.Sprintf("port %q is not a number from 1 to 65535", port))
	}
	return peer{AE: strings.TrimSpace(ae), Host: host, Port: port}, nil
}

// checkAETitle checks an AE title against PS3.5 Table 6.2-1: 1 to 16 characters of the default
// repertoire, no backslash, no control characters, not only spaces.
func checkAETitle(ae string) error {
	switch {
	case strings.TrimSpace(ae) == "":
		return errors.New("empty AE title")
	case len(ae) > 16:
		return fmt.Errorf("AE title %q is longer than 16 characters", ae)
	case strings.ContainsRune(ae, '\\'):
		return fmt.Errorf("AE title %q contains a backslash", ae)
	}
	for _, r := range ae {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("AE title %q contains a control character", ae)
		}
		if r >= utf8.RuneSelf {
			return fmt.Errorf("AE title %q has a character outside ASCII", ae)
		}
	}
	return nil
}

// netFlags are the flags every DIMSE command shares.
type netFlags struct {
	callingAE     string
	timeout       time.Duration
	maxPDU        uint
	tls           bool
	tlsCA         string
	tlsCert       string
	tlsKey        string
	tlsInsecure   bool
	tlsServerName string
	verbose       bool
}

// netEnv maps flags to the environment variables that give their defaults.
func netEnv() []struct{ flag, env string } {
	return []struct{ flag, env string }{
		{"calling-ae", "LIGHTBOX_CALLING_AE"},
		{"timeout", "LIGHTBOX_TIMEOUT"},
		{"max-pdu", "LIGHTBOX_MAX_PDU"},
		{"tls", "LIGHTBOX_TLS"},
		{"tls-ca", "LIGHTBOX_TLS_CA"},
		{"tls-cert", "LIGHTBOX_TLS_CERT"},
		{"tls-key", "LIGHTBOX_TLS_KEY"},
		{"tls-server-name", "LIGHTBOX_TLS_SERVER_NAME"},
	}
}

func addNetFlags(fs *flag.FlagSet) *netFlags {
	n := &netFlags{}
	fs.StringVar(&n.callingAE, "calling-ae", "LIGHTBOX", "our AE title (env LIGHTBOX_CALLING_AE)")
	fs.DurationVar(&n.timeout, "timeout", 30*time.Second, "connect, association and network timeout: nothing heard for this long aborts (env LIGHTBOX_TIMEOUT)")
	fs.UintVar(&n.maxPDU, "max-pdu", uint(ul.DefaultMaxPDULength), "largest PDU we receive, in bytes (env LIGHTBOX_MAX_PDU)")
	fs.BoolVar(&n.tls, "tls", false, "DICOM TLS (PS3.15 B.1), TLS 1.2 or later; implied by the other --tls-* flags (env LIGHTBOX_TLS=1)")
	fs.StringVar(&n.tlsCA, "tls-ca", "", "PEM `file` of the CAs to trust for the peer's certificate (default: the system roots; env LIGHTBOX_TLS_CA)")
	fs.StringVar(&n.tlsCert, "tls-cert", "", "PEM `file` of our client certificate for mutual TLS, with --tls-key (env LIGHTBOX_TLS_CERT)")
	fs.StringVar(&n.tlsKey, "tls-key", "", "PEM `file` of the private key of --tls-cert (env LIGHTBOX_TLS_KEY)")
	fs.BoolVar(&n.tlsInsecure, "tls-insecure", false, "do not verify the peer's certificate: for tests only")
	fs.StringVar(&n.tlsServerName, "tls-server-name", "", "`name` the peer's certificate must carry (default: the host of the address; env LIGHTBOX_TLS_SERVER_NAME)")
	fs.BoolVar(&n.verbose, "v", false, "log the association's events on standard error")
	return n
}

// applyEnv sets the flags not given on the command line from the environment.
func (n *netFlags) applyEnv(fs *flag.FlagSet, e *env) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, m := range netEnv() {
		v := e.getenv(m.env)
		if v == "" || set[m.flag] {
			continue
		}
		if err := fs.Set(m.flag, v); err != nil {
			return fmt.Errorf("environment %s=%q: %w", m.env, v, err)
		}
	}
	return nil
}

// validate checks the flags after parsing and applyEnv.
func (n *netFlags) validate() error {
	if err := checkAETitle(n.callingAE); err != nil {
		return fmt.Errorf("--calling-ae: %w", err)
	}
	if n.timeout < 0 {
		return errors.New("--timeout must not be negative")
	}
	if n.maxPDU != 0 && (n.maxPDU < 4096 || n.maxPDU > 1<<32-1) {
		return fmt.Errorf("--max-pdu %d: want 4096 to %d bytes", n.maxPDU, uint64(1<<32-1))
	}
	if (n.tlsCert == "") != (n.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}

func (n *netFlags) useTLS() bool {
	return n.tls || n.tlsCA != "" || n.tlsCert != "" || n.tlsInsecure || n.tlsServerName != ""
}

// tlsConfig returns the client TLS configuration, nil without TLS.
func (n *netFlags) tlsConfig(e *env, cmd, host string) (*tls.Config, error) {
	if !n.useTLS() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: n.tlsServerName}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if n.tlsCA != "" {
		b, err := os.ReadFile(n.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--tls-ca: no PEM certificate in %s", n.tlsCA)
		}
		cfg.RootCAs = pool
	}
	if n.tlsCert != "" {
		kp, err := tls.LoadX509KeyPair(n.tlsCert, n.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	if n.tlsInsecure {
		fmt.Fprintf(e.stderr, "lightbox %s: warning: --tls-insecure: the peer's certificate is not verified, anyone on the path can read and alter the traffic\n", cmd)
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// dialOptions returns the options to associate with p proposing proposals.
func (n *netFlags) dialOptions(e *env, cmd string, p peer, proposals []dimse.Proposal) (dimse.DialOptions, error) {
	tc, err := n.tlsConfig(e, cmd, p.Host)
	if err != nil {
		return dimse.DialOptions{}, err
	}
	o := dimse.DialOptions{
		CallingAE: n.callingAE, CalledAE: p.AE, Proposals: proposals, TLSConfig: tc,
		Timeout: n.timeout,
		Config:  ul.Config{MaxPDULength: uint32(n.maxPDU), ARTIMTimeout: n.timeout, IdleTimeout: n.timeout},
	}
	if n.verbose {
		o.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o, nil
}

// parseArgs parses flags given before, between and after the positional arguments, which it
// returns; "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseNetCommand parses the arguments of a DIMSE command: flags anywhere, the peer first among
// the positional arguments. A usage error is reported and returned as exit status 2.
func parseNetCommand(e *env, fs *flag.FlagSet, n *netFlags, args []string) (peer, []string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return peer{}, nil, err
	}
	usageErr := func(err error) (peer, []string, error) {
		fmt.Fprintf(e.stderr, "lightbox %s: %v\n", fs.Name(), err)
		return peer{}, nil, exitError{2}
	}
	if len(pos) == 0 {
		fs.Usage()
		return peer{}, nil, exitError{2}
	}
	if err := n.applyEnv(fs, e); err != nil {
		return usageErr(err)
	}
	if err := n.validate(); err != nil {
		return usageErr(err)
	}
	p, err := parsePeer(pos[0])
	if err != nil {
		return usageErr(err)
	}
	return p, pos[1:], nil
}

// fmtDuration rounds d for people: 1.23ms, 45.6ms, 1.2s.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// termWidth returns the terminal width from COLUMNS, default 80.
func termWidth(e *env) int {
	if n, err := strconv.Atoi(e.getenv("COLUMNS")); err == nil && n >= 20 {
		return n
	}
	return 80
}
