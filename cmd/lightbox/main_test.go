package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// runCLI runs the command in-process and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
}

func TestHelp(t *testing.T) {
	code, out, _ := runCLI(t, "help")
	if code != 0 || !strings.Contains(out, "dump") {
		t.Fatalf("help: code %d, output %q", code, out)
	}
	code, _, errOut := runCLI(t, "dump", "--help")
	if code != 0 || !strings.Contains(errOut, "Usage: lightbox dump") {
		t.Fatalf("dump --help: code %d, stderr %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "nosuchcommand"); code != 2 {
		t.Fatalf("unknown command: code %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "dump"); code != 2 {
		t.Fatalf("dump without files: code %d, want 2", code)
	}
}

func TestDump(t *testing.T) {
	dir := corpustest.Need(t)
	code, out, errOut := runCLI(t, "dump", filepath.Join(dir, "pydicom__CT_small.dcm"))
	if code != 0 {
		t.Fatalf("code %d, stderr %s", code, errOut)
	}
	for _, want := range []string{
		"(0002,0010) UI =ExplicitVRLittleEndian",
		"(0008,0060) CS [CT]",
		"(0010,0020) LO [1CT1]",
		"PatientID",
		"(7fe0,0010) OW",
	} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("listing lacks %q", want)
		}
	}
}

// TestDumpMalformed: each unreadable file gives exit status 1 and exactly one line naming the
// file, the offset and the tag; readable files given alongside are still listed.
func TestDumpMalformed(t *testing.T) {
	dir := corpustest.Need(t)
	for _, c := range []struct{ file, want string }{
		{"dcm4che__3gb-bulk-data-truncated.dcm", "offset 1908, tag (7FE0,0010): input ends early: value length 3221225472 exceeds"},
		{"orthanc-tests__2026-05-06-Deeply-Nested-Sequence.dcm", "limit exceeded: sequences nested deeper than 64"},
		{"pydicom__MR_truncated.dcm", "tag (7FE0,0010)"},
		{"pydicom__no_meta.dcm", "not a DICOM file"},
	} {
		code, out, errOut := runCLI(t, "dump", filepath.Join(dir, c.file), filepath.Join(dir, "pydicom__CT_small.dcm"))
		if code != 1 {
			t.Errorf("%s: exit status %d, want 1", c.file, code)
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], c.file) || !strings.Contains(lines[0], c.want) {
			t.Errorf("%s: stderr %q, want one line containing %q", c.file, errOut, c.want)
		}
		if !strings.Contains(out, "(0008,0060) CS [CT]") {
			t.Errorf("%s: the readable file was not listed", c.file)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.dcm")
	os.WriteFile(empty, nil, 0o644)
	if code, _, errOut := runCLI(t, "dump", empty); code != 1 || !strings.Contains(errOut, "not a DICOM file") {
		t.Errorf("empty file: code %d, stderr %q", code, errOut)
	}
}

func TestDumpJSON(t *testing.T) {
	dir := corpustest.Need(t)
	code, out, errOut := runCLI(t, "dump", "--json", filepath.Join(dir, "pydicom__CT_small.dcm"))
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	var obj map[string]struct {
		VR           string `json:"vr"`
		Value        []any  `json:"Value"`
		InlineBinary string `json:"InlineBinary"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if e := obj["00100020"]; e.VR != "LO" || len(e.Value) != 1 || e.Value[0] != "1CT1" {
		t.Errorf("PatientID = %+v", e)
	}
	if e := obj["7FE00010"]; e.VR != "OW" || len(e.InlineBinary) < 1000 {
		t.Errorf("PixelData not inline: vr %q, %d base64 bytes", e.VR, len(e.InlineBinary))
	}
	if _, ok := obj["00020010"]; ok {
		t.Error("File Meta elements in the data set's JSON")
	}
	code, out, _ = runCLI(t, "dump", "--json", filepath.Join(dir, "pydicom__MR_truncated.dcm"))
	if code != 1 || out != "" {
		t.Errorf("malformed file: code %d, stdout %q", code, out)
	}
}
