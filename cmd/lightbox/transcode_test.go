package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

func TestTranscode(t *testing.T) {
	dir := corpustest.Need(t)
	in := corpustest.Path(dir, "pydicom__CT_small.dcm")
	tmp := t.TempDir()
	src, err := dicom.ReadFile(in, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := src.Dataset.Element(tag.PixelData).Value

	rle := filepath.Join(tmp, "rle.dcm")
	if code, _, stderr := runCLI(t, "transcode", "--ts", "rle", in, rle); code != 0 {
		t.Fatalf("to RLE: exit %d: %s", code, stderr)
	}
	f, err := dicom.ReadFile(rle, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Syntax.UID != "1.2.840.10008.1.2.5" || !f.Dataset.Element(tag.PixelData).IsEncapsulated() {
		t.Fatalf("output in %s, encapsulated %v", f.Syntax.UID, f.Dataset.Element(tag.PixelData).IsEncapsulated())
	}
	back := filepath.Join(tmp, "back.dcm")
	if code, _, stderr := runCLI(t, "transcode", "--ts", "1.2.840.10008.1.2.1", rle, back); code != 0 {
		t.Fatalf("back to Explicit VR Little Endian: exit %d: %s", code, stderr)
	}
	g, err := dicom.ReadFile(back, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Dataset.Element(tag.PixelData).Value; !bytes.Equal(got, want) {
		t.Fatalf("pixels changed through RLE and back (%d vs %d bytes)", len(got), len(want))
	}

	code, _, stderr := runCLI(t, "transcode", "--ts", "jpeg", in, filepath.Join(tmp, "lossy.dcm"))
	if code != 1 || !strings.Contains(stderr, "--lossy") {
		t.Fatalf("lossy target without --lossy: exit %d, stderr %q", code, stderr)
	}
	code, stdout, _ := runCLI(t, "transcode", "--list")
	if code != 0 || !strings.Contains(stdout, "1.2.840.10008.1.2.5") {
		t.Fatalf("--list: exit %d: %s", code, stdout)
	}
}
