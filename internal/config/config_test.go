package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Data != "lightbox-data" || c.AETitle != "LIGHTBOX" || c.DICOMAddr != "127.0.0.1:11112" || c.HTTPAddr != "127.0.0.1:8080" {
		t.Fatalf("defaults changed: %+v", c)
	}
}

func TestLoadEnvPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lightbox.toml")
	os.WriteFile(path, []byte(`
data = "/srv/pacs"
ae_title = "FROMFILE"
[[peer]]
ae_title = "WS1"
addr = "10.0.0.1:104"
[dimse]
artim_timeout = "5s"
`), 0o600)
	c := Default()
	if err := c.Load(path); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LIGHTBOX_AE": "FROMENV", "LIGHTBOX_PEERS": "WS2=127.0.0.1:11113, WS1=10.0.0.9:104"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Data != "/srv/pacs" || c.AETitle != "FROMENV" || c.DIMSE.ARTIMTimeout.Duration != 5*time.Second {
		t.Fatalf("got %+v", c)
	}
	if len(c.Peers) != 2 || c.Peers[0].Addr != "10.0.0.9:104" || c.Peers[1].AETitle != "WS2" {
		t.Fatalf("peers %+v", c.Peers)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadUnknownKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(path, []byte("ae_titel = \"X\"\n[dimse]\nmax_asociations = 3\n"), 0o600)
	c := Default()
	err := c.Load(path)
	if err == nil || !strings.Contains(err.Error(), "ae_titel") || !strings.Contains(err.Error(), "dimse.max_asociations") {
		t.Fatalf("want an error naming both unknown keys, got %v", err)
	}
}

func TestValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"long AE":         func(c *Config) { c.AETitle = "THIS_AE_IS_TOO_LONG" },
		"backslash AE":    func(c *Config) { c.AETitle = `A\B` },
		"bad addr":        func(c *Config) { c.DICOMAddr = "11112" },
		"bad duplicates":  func(c *Config) { c.Duplicates = "ignore" },
		"bad peer port":   func(c *Config) { c.Peers = []Peer{{AETitle: "X", Addr: "h:99999"}} },
		"duplicate peers": func(c *Config) { c.Peers = []Peer{{"X", "h:1"}, {"X", "h:2"}} },
		"bad sync":        func(c *Config) { c.Index.Synchronous = "off" },
		"bad log level":   func(c *Config) { c.Log.Level = "verbose" },
	} {
		c := Default()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	for _, bad := range []string{"X", "=h:1", "X=", "X=h", "TOO_LONG_AE_TITLE_X=h:1"} {
		if _, err := ParsePeer(bad); err == nil {
			t.Errorf("ParsePeer(%q) succeeded", bad)
		}
	}
}
