package dicom_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

var nativeSyntaxes = []string{
	dicom.ImplicitVRLittleEndian,
	dicom.ExplicitVRLittleEndian,
	dicom.ExplicitVRBigEndian,
	dicom.DeflatedExplicitVRLittleEndian,
}

// convert writes f in syntax uid and reads the result back.
func convert(t *testing.T, f *dicom.File, uid string) (*dicom.File, []byte) {
	t.Helper()
	g := *f
	if err := g.SetSyntax(uid); err != nil {
		t.Fatalf("set syntax %s: %v", uid, err)
	}
	var out bytes.Buffer
	if err := dicom.Write(&out, &g, dicom.WriteOptions{}); err != nil {
		t.Fatalf("write %s: %v", uid, err)
	}
	h, err := dicom.Parse(out.Bytes(), dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("re-read %s: %v", uid, err)
	}
	if h.Syntax.UID != uid {
		t.Fatalf("re-read as %s, want %s", h.Syntax.UID, uid)
	}
	return h, out.Bytes()
}

// TestConvertNative converts every native corpus file to every native syntax and back: values
// must survive (VRs too, except through Implicit VR, where they come from the dictionary).
func TestConvertNative(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	n := 0
	for _, r := range rows {
		if r["dcmdump_rc"] != "0" || r.Malformed() {
			continue
		}
		f, err := dicom.ReadFile(corpustest.Path(dir, r.File()), dicom.ReadOptions{})
		if err != nil || f.Syntax.Encapsulated {
			continue
		}
		n++
		t.Run(r.File(), func(t *testing.T) {
			for _, to := range nativeSyntaxes {
				g, _ := convert(t, f, to)
				back, _ := convert(t, g, f.Syntax.UID)
				diff := dicom.Diff
				if to == dicom.ImplicitVRLittleEndian || f.Syntax.Implicit {
					diff = dicom.DiffValues
				}
				if d := diff(f.Dataset, back.Dataset); d != "" {
					t.Errorf("%s → %s → back: %s", f.Syntax.UID, to, d)
				}
			}
		})
	}
	if n < 50 {
		t.Fatalf("only %d native corpus files converted", n)
	}
}

func TestConvertRefusesCodecWork(t *testing.T) {
	dir := corpustest.Need(t)
	f, err := dicom.ReadFile(corpustest.Path(dir, "pydicom-data__emri_small_RLE.dcm"), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetSyntax(dicom.ExplicitVRLittleEndian); err == nil {
		t.Fatal("RLE → explicit LE without a codec succeeded")
	}
	g, err := dicom.ReadFile(corpustest.Path(dir, "orthanc-tests__SignedCT.dcm"), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SetSyntax("1.2.840.10008.1.2.5"); err == nil {
		t.Fatal("explicit LE → RLE without a codec succeeded")
	}
}

// TestConvertMatchesDCMTK compares our big endian, implicit and deflated encodings with DCMTK's
// dcmconv for the same files: both results must hold the same values.
func TestConvertMatchesDCMTK(t *testing.T) {
	dcmconv, err := exec.LookPath("dcmconv")
	if err != nil {
		t.Skip("dcmconv (Debian package dcmtk) not installed: run make deps")
	}
	dir := corpustest.Need(t)
	files := []string{
		"orthanc-tests__SignedCT.dcm", "pydicom__MR_small.dcm", "pydicom__CT_small.dcm",
		"pydicom__rtplan.dcm", "pydicom__test-SR.dcm", "pydicom__chrJapMulti.dcm",
		"pydicom-data__SC_rgb_32bit.dcm", "pydicom__waveform_ecg.dcm", "pydicom__nested_priv_SQ.dcm",
	}
	flags := map[string]string{
		dicom.ExplicitVRBigEndian:            "+tb",
		dicom.ImplicitVRLittleEndian:         "+ti",
		dicom.DeflatedExplicitVRLittleEndian: "+td",
	}
	tmp := t.TempDir()
	for _, name := range files {
		f, err := dicom.ReadFile(corpustest.Path(dir, name), dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for to, flag := range flags {
			ours, _ := convert(t, f, to)
			out := filepath.Join(tmp, "dcmtk.dcm")
			if msg, err := exec.Command(dcmconv, flag, corpustest.Path(dir, name), out).CombinedOutput(); err != nil {
				t.Fatalf("dcmconv %s %s: %v\n%s", flag, name, err, msg)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := dicom.Parse(raw, dicom.ReadOptions{})
			if err != nil {
				t.Fatalf("%s: reading dcmconv %s output: %v", name, flag, err)
			}
			if d := dicom.DiffValues(ours.Dataset, theirs.Dataset); d != "" {
				t.Errorf("%s in %s: ours and dcmconv's differ: %s", name, to, d)
			}
		}
	}
}
