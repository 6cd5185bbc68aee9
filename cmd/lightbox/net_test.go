package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/dimsetest"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// sendSet is a dozen small corpus files in the native syntaxes and the common compressed ones.
var sendSet = []string{
	"pydicom__CT2_17106.dcm",                    // Explicit VR Little Endian
	"pydicom__MR_small_implicit.dcm",            // Implicit VR Little Endian
	"pydicom__rtplan.dcm",                       // Implicit, RT Plan
	"dcmjs__sample-sr.dcm",                      // Explicit, Enhanced SR
	"dicomParser__report_dfl.dcm",               // Deflated Explicit VR Little Endian
	"pydicom__SC_rgb_rle.dcm",                   // RLE Lossless
	"pydicom__SC_rgb_dcmtk_+eb+cy+np.dcm",       // JPEG Baseline
	"fo-dicom__GH184.dcm",                       // JPEG Lossless SV1
	"pydicom__JPEGLSNearLossless_08.dcm",        // JPEG-LS near-lossless
	"pydicom-data__liver_j2k.dcm",               // JPEG 2000 lossless, Segmentation
	"orthanc-tests__1.2.840.10008.1.2.4.91.dcm", // JPEG 2000
	"DICOMHTJ2K__CT1_JPH.dcm",                   // HTJ2K lossless RPCL
}

// corpusFile is a corpus file with its SOP instance and data set bytes.
type corpusFile struct {
	path, class, instance, syntax string
	data                          []byte
	ds                            *dicom.Dataset
}

func loadCorpus(t *testing.T, names ...string) []corpusFile {
	t.Helper()
	dir := corpustest.Need(t)
	var out []corpusFile
	for _, n := range names {
		p := filepath.Join(dir, n)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(raw, dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, corpusFile{path: p, class: f.Meta.String(tag.MediaStorageSOPClassUID), instance: f.Meta.String(tag.MediaStorageSOPInstanceUID),
			syntax: f.Syntax.UID, data: raw[f.DatasetOffset:], ds: f.Dataset})
	}
	return out
}

// addAll puts the files into the SCP as if they had been stored.
func addAll(scp *dimsetest.SCP, files []corpusFile) {
	for _, f := range files {
		scp.Add(&dimsetest.Instance{SOPClassUID: f.class, SOPInstanceUID: f.instance, TransferSyntax: f.syntax, Data: f.data, Dataset: f.ds})
	}
}

// target returns AE@addr.
func target(scp *dimsetest.SCP) string { return scp.AETitle + "@" + scp.Addr }

// countAssociations makes the server count the associations it accepts.
func countAssociations(n *atomic.Int64) func(*dimse.Server) {
	return func(s *dimse.Server) { s.Logger = slog.New(&countHandler{n: n}) }
}

type countHandler struct{ n *atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "association accepted" {
		h.n.Add(1)
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func TestParsePeer(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"ARCHIVE@pacs.example.org:104", "ARCHIVE@pacs.example.org:104", ""},
		{"A@B@127.0.0.1:11112", "A@B@127.0.0.1:11112", ""},
		{"ARCHIVE@[::1]:104", "ARCHIVE@[::1]:104", ""},
		{"pacs:104", "", "no AE title"},
		{"@pacs:104", "", "empty AE title"},
		{"ABCDEFGHIJKLMNOPQ@pacs:104", "", "longer than 16"},
		{`A\B@pacs:104`, "", "backslash"},
		{"A\tB@pacs:104", "", "control character"},
		{"ÄRCHIV@pacs:104", "", "outside ASCII"},
		{"ARCHIVE@pacs", "", "no host:port"},
		{"ARCHIVE@:104", "", "empty host"},
		{"ARCHIVE@pacs:0", "", "port"},
		{"ARCHIVE@pacs:http", "", "port"},
	} {
		p, err := parsePeer(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "want AE@host:port") {
				t.Errorf("parsePeer(%q) = %v, %v; want an error about %q", c.in, p, err, c.err)
			}
			continue
		}
		if err != nil || p.String() != c.want {
			t.Errorf("parsePeer(%q) = %v, %v; want %s", c.in, p, err, c.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  string
		n    int
		k    string
	}{
		{[]string{"A@h:1", "--count", "3"}, "A@h:1", 3, ""},
		{[]string{"--count", "3", "A@h:1", "-k", "x", "f1", "f2"}, "A@h:1 f1 f2", 3, "x"},
		{[]string{"A@h:1", "--", "-k", "--count"}, "A@h:1 -k --count", 1, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n := fs.Int("count", 1, "")
		var k keyList
		fs.Var(&k, "k", "")
		pos, err := parseArgs(fs, c.args)
		if err != nil || strings.Join(pos, " ") != c.pos || *n != c.n || k.String() != c.k {
			t.Errorf("parseArgs(%q) = %q, count %d, k %q, %v", c.args, pos, *n, k.String(), err)
		}
	}
}

func TestBuildQuery(t *testing.T) {
	for _, c := range []struct {
		name string
		keys []string
		tag  tag.Tag
		vr   vr.VR
		val  string
		err  string
	}{
		{"keyword wildcard", []string{"PatientName=DOE*"}, tag.PatientName, vr.PN, "DOE*", ""},
		{"tag", []string{"0010,0020=123"}, tag.PatientID, vr.LO, "123", ""},
		{"multi-valued", []string{`ModalitiesInStudy=CT\MR`}, tag.ModalitiesInStudy, vr.CS, `CT\MR`, ""},
		{"return key", []string{"StudyDate="}, tag.StudyDate, vr.DA, "", ""},
		{"return key without =", []string{"PatientBirthDate"}, tag.PatientBirthDate, vr.DA, "", ""},
		{"range", []string{"StudyDate=20240101-"}, tag.StudyDate, vr.DA, "20240101-", ""},
		{"binary VR", []string{"Rows=512"}, tag.Rows, vr.US, "512", ""},
		{"sequence", []string{"ReferencedStudySequence="}, tag.ReferencedStudySequence, vr.SQ, "", ""},
		{"unknown keyword", []string{"PatientNam=DOE"}, 0, 0, "", "unknown attribute"},
		{"meta element", []string{"TransferSyntaxUID=1.2"}, 0, 0, "", "no place in a query"},
		{"sequence with value", []string{"ReferencedStudySequence=x"}, 0, 0, "", "sequence"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds, cols, err := buildQuery("STUDY", defaultReturnKeys("STUDY"), c.keys)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := ds.Element(c.tag)
			if e == nil || e.VR != c.vr {
				t.Fatalf("element %s = %+v, want VR %s", c.tag, e, c.vr)
			}
			got := strings.Join(ds.Strings(c.tag), `\`)
			if c.vr == vr.US {
				n, _ := ds.Int(c.tag)
				got = big.NewInt(n).String()
			}
			if got != c.val {
				t.Errorf("value %q, want %q", got, c.val)
			}
			if ds.String(tag.QueryRetrieveLevel) != "STUDY" || !containsTag(cols, c.tag) || ds.Has(tag.SpecificCharacterSet) {
				t.Errorf("level %q, columns %v, character set %v", ds.String(tag.QueryRetrieveLevel), cols, ds.Has(tag.SpecificCharacterSet))
			}
		})
	}
	ds, _, err := buildQuery("PATIENT", nil, []string{"PatientName=Buc^Jérôme"})
	if err != nil {
		t.Fatal(err)
	}
	if ds.String(tag.SpecificCharacterSet) != "ISO_IR 192" || ds.String(tag.PatientName) != "Buc^Jérôme" {
		t.Errorf("non-ASCII: charset %q, name %q", ds.String(tag.SpecificCharacterSet), ds.String(tag.PatientName))
	}
	if e := ds.Element(tag.PatientName); !bytes.Equal(e.Value, []byte("Buc^J\xc3\xa9r\xc3\xb4me")) {
		t.Errorf("PatientName bytes %q, want UTF-8", e.Value)
	}
}

func TestGetProposals(t *testing.T) {
	ts, err := parseSyntaxes(strings.Join(defaultGetSyntaxes(), ","))
	if err != nil {
		t.Fatal(err)
	}
	classes, _, _ := parseClasses("")
	ps := getProposals(dimse.StudyRootGet, ts, classes, false)
	if len(ps) != maxContexts {
		t.Fatalf("%d contexts, want %d", len(ps), maxContexts)
	}
	roles := map[string]int{}
	has := map[[2]string]bool{}
	for _, p := range ps[1:] {
		if p.SelectRoles {
			roles[p.AbstractSyntax]++
		}
		for _, s := range p.TransferSyntaxes {
			has[[2]string{p.AbstractSyntax, s}] = true
		}
		if len(p.TransferSyntaxes) != 1 {
			t.Errorf("syntaxes share a context: %v", p.TransferSyntaxes)
		}
	}
	for _, c := range classes {
		if roles[c] != 1 {
			t.Errorf("%s: %d role selections, want 1", uid.Name(c), roles[c])
		}
		if !has[[2]string{c, uid.ExplicitVRLittleEndian}] || !has[[2]string{c, uid.ImplicitVRLittleEndian}] {
			t.Errorf("%s: no context for a native syntax", uid.Name(c))
		}
	}
	for _, s := range ts {
		for _, c := range []string{uid.CTImageStorage, uid.MRImageStorage, uid.SecondaryCaptureImageStorage} {
			if !has[[2]string{c, s}] {
				t.Errorf("%s not proposed in %s", uid.Name(c), uid.Name(s))
			}
		}
	}
	ps = getProposals(dimse.StudyRootGet, []string{uid.JPEG2000Lossless}, []string{uid.SegmentationStorage}, true)
	if len(ps) != 2 || ps[1].TransferSyntaxes[0] != uid.JPEG2000Lossless || !ps[1].SelectRoles {
		t.Errorf("compressed only: %+v", ps)
	}
	if _, err := parseSyntaxes("explicit,jpeg-xl"); err == nil || !strings.Contains(err.Error(), "jpeg-xl") {
		t.Errorf("unknown syntax: %v", err)
	}
	if got, err := parseSyntaxes("JPEG2000Lossless, 1.2.840.10008.1.2"); err != nil || len(got) != 2 || got[1] != uid.ImplicitVRLittleEndian {
		t.Errorf("keyword and UID: %v, %v", got, err)
	}
}

func TestEcho(t *testing.T) {
	scp := dimsetest.Start(t, "ECHOSCP", nil)
	code, out, errOut := runCLI(t, "echo", target(scp), "--count", "3", "--calling-ae", "TESTER")
	if code != 0 || strings.Count(out, ": success in ") != 3 || !strings.Contains(out, "C-ECHO 3/3") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "echo", "WRONG@"+scp.Addr)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "called AE title") || !strings.Contains(lines[0], `"WRONG"`) {
		t.Errorf("wrong called AE: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "echo", "ECHOSCP@127.0.0.1"); code != 2 || !strings.Contains(errOut, "want AE@host:port") {
		t.Errorf("bad address: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "echo", target(scp), "--calling-ae", "MUCH-TOO-LONG-AE-TITLE"); code != 2 || !strings.Contains(errOut, "longer than 16") {
		t.Errorf("bad calling AE: code %d, stderr %q", code, errOut)
	}
}

func TestEchoTLS(t *testing.T) {
	dir := t.TempDir()
	caPEM, serverCert := testCertificates(t)
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, caPEM, 0o600)
	scp := dimsetest.Start(t, "TLSSCP", func(s *dimse.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	})
	addr := strings.Replace(target(scp), "127.0.0.1", "localhost", 1)
	if code, out, errOut := runCLI(t, "echo", addr, "--tls-ca", ca); code != 0 || !strings.Contains(out, "success") {
		t.Fatalf("TLS echo: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "echo", addr, "--tls"); code != 1 || !strings.Contains(errOut, "certificate") {
		t.Errorf("untrusted certificate: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "echo", addr, "--tls-insecure"); code != 0 || !strings.Contains(errOut, "warning: --tls-insecure") {
		t.Errorf("--tls-insecure: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "echo", target(scp)); code != 1 || errOut == "" {
		t.Errorf("plain to a TLS port: code %d, stderr %q", code, errOut)
	}
}

// testCertificates makes a CA and a server certificate for localhost signed by it.
func testCertificates(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// checkArrived checks that every file reached scp with its data set unchanged.
func checkArrived(t *testing.T, scp *dimsetest.SCP, files []corpusFile) {
	t.Helper()
	for _, f := range files {
		in := scp.Instance(f.instance)
		if in == nil {
			t.Errorf("%s: did not arrive", filepath.Base(f.path))
			continue
		}
		if in.TransferSyntax != f.syntax || in.SOPClassUID != f.class || !bytes.Equal(in.Data, f.data) {
			t.Errorf("%s: arrived as %s, %s, %d bytes; sent %s, %s, %d bytes", filepath.Base(f.path), in.SOPClassUID, in.TransferSyntax, len(in.Data),
				f.class, f.syntax, len(f.data))
		}
	}
}

func TestSend(t *testing.T) {
	files := loadCorpus(t, sendSet...)
	var n atomic.Int64
	scp := dimsetest.Start(t, "STORESCP", countAssociations(&n))
	args := []string{"send", target(scp)}
	for _, f := range files {
		args = append(args, f.path)
	}
	code, out, errOut := runCLI(t, args...)
	if code != 0 || !strings.HasPrefix(out, "sent 12 instances (") || !strings.Contains(out, "; 0 failed") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr %q, want nothing (not a terminal)", errOut)
	}
	checkArrived(t, scp, files)
	if n.Load() != 1 {
		t.Errorf("%d associations, want 1", n.Load())
	}
}

func TestSendAssociations(t *testing.T) {
	files := loadCorpus(t, sendSet...)
	var n atomic.Int64
	scp := dimsetest.Start(t, "STORESCP", countAssociations(&n))
	args := []string{"send", "--associations", "3", target(scp)}
	for _, f := range files {
		args = append(args, f.path)
	}
	code, out, errOut := runCLI(t, args...)
	if code != 0 || !strings.HasPrefix(out, "sent 12 instances") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	checkArrived(t, scp, files)
	if n.Load() != 3 {
		t.Errorf("%d associations, want 3", n.Load())
	}
}

func TestSendDirectory(t *testing.T) {
	files := loadCorpus(t, sendSet[:4]...)
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	os.MkdirAll(sub, 0o755)
	for i, f := range files {
		d := dir
		if i%2 == 1 {
			d = sub
		}
		raw, _ := os.ReadFile(f.path)
		os.WriteFile(filepath.Join(d, filepath.Base(f.path)), raw, 0o644)
	}
	os.WriteFile(filepath.Join(sub, "README.txt"), []byte("not DICOM at all, but long enough to be looked at for a preamble and magic bytes........................................................................................................"), 0o644)
	scp := dimsetest.Start(t, "STORESCP", nil)
	code, out, errOut := runCLI(t, "send", target(scp), dir)
	if code != 0 || !strings.HasPrefix(out, "sent 4 instances") || !strings.Contains(out, "; 1 skipped") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "skipping "+filepath.Join(sub, "README.txt")+": not a DICOM file") {
		t.Errorf("no note for the skipped file: %q", errOut)
	}
	checkArrived(t, scp, files)
}

func TestSendRefusedSyntax(t *testing.T) {
	files := loadCorpus(t, "pydicom__CT2_17106.dcm", "orthanc-tests__1.2.840.10008.1.2.4.91.dcm")
	scp := dimsetest.Start(t, "NATIVEONLY", func(s *dimse.Server) { s.TransferSyntaxes = dimse.NativeSyntaxes })
	code, out, errOut := runCLI(t, "send", target(scp), files[0].path, files[1].path)
	if code != 1 || !strings.HasPrefix(out, "sent 1 instances") || !strings.Contains(out, "; 1 failed") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, want := range []string{files[1].path, files[1].instance, "does not accept the transfer syntax JPEG 2000 Image Compression", "transcoding is not available yet"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q: %q", want, errOut)
		}
	}
	checkArrived(t, scp, files[:1])
}

func TestFind(t *testing.T) {
	files := loadCorpus(t, sendSet...)
	scp := dimsetest.Start(t, "QRSCP", nil)
	addAll(scp, files)

	code, out, errOut := runCLI(t, "find", target(scp), "-k", "PatientName=CompressedSamples*", "--json")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	var matches []map[string]struct {
		VR    string `json:"vr"`
		Value []any  `json:"Value"`
	}
	if err := json.Unmarshal([]byte(out), &matches); err != nil {
		t.Fatalf("not a JSON array: %v: %q", err, out)
	}
	studies := map[string]bool{}
	for _, m := range matches {
		if uids := m["0020000D"].Value; len(uids) == 1 {
			studies[uids[0].(string)] = true
		}
		if m["00080052"].Value[0] != "STUDY" {
			t.Errorf("level %v", m["00080052"])
		}
	}
	if len(matches) != 2 || !studies["1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"] || !studies["1.3.6.1.4.1.5962.1.2.1.20040826185059.5457"] {
		t.Errorf("matches %v", studies)
	}

	code, out, errOut = runCLI(t, "find", "--level", "IMAGE", target(scp), "-k", "PatientID=1CT1", "-k", "Rows=")
	if code != 0 || errOut != "2 matches\n" {
		t.Fatalf("table: code %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "StudyInstanceUID") || !strings.Contains(lines[0], "SOPInstanceUID") ||
		!strings.HasSuffix(strings.TrimSpace(lines[0]), "PatientID  Rows") || !strings.Contains(out, "1.3.6.1.4.1.5962.1.1.1.1.3.20040826185059.5457") {
		t.Errorf("table:\n%s", out)
	}
	if code, _, errOut := runCLI(t, "find", "--level", "PATIENT", target(scp)); code != 1 || !strings.Contains(errOut, "--model patient") {
		t.Errorf("PATIENT in study root: code %d, stderr %q", code, errOut)
	}
}

func TestMove(t *testing.T) {
	files := loadCorpus(t, sendSet...)
	src := dimsetest.Start(t, "QRSCP", nil)
	dst := dimsetest.Start(t, "DEST", nil)
	addAll(src, files)
	src.Peers["DEST"] = dst.Addr

	// JPEG 2000 and HTJ2K. (dimsetest moves with dimse.StorageProposals, which puts both native
	// syntaxes in one context: an instance stored in Implicit VR Little Endian finds no context
	// when the destination accepts Explicit from it.)
	code, out, errOut := runCLI(t, "move", target(src), "--dest", "DEST", "-k", "PatientID=1CT1", "-v")
	if code != 0 || !strings.Contains(out, "2 completed, 0 failed, 0 warning") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	checkArrived(t, dst, files[10:12])
	if n := len(dst.Instances()); n != 2 {
		t.Errorf("%d instances moved, want 2", n)
	}

	code, _, errOut = runCLI(t, "move", target(src), "--dest", "NOWHERE", "-k", "PatientID=1CT1")
	if code != 1 || !strings.Contains(errOut, "move destination unknown") {
		t.Errorf("unknown destination: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "move", target(src), "--dest", "DEST"); code != 1 || !strings.Contains(errOut, "refusing to move everything") {
		t.Errorf("no key: code %d, stderr %q", code, errOut)
	}
}

func TestGet(t *testing.T) {
	files := loadCorpus(t, sendSet...)
	scp := dimsetest.Start(t, "QRSCP", nil)
	addAll(scp, files)
	out := t.TempDir()

	// Implicit, JPEG 2000, HTJ2K; then RLE and JPEG baseline.
	for _, key := range []string{"PatientName=CompressedSamples*", "PatientID=ID1"} {
		code, stdout, errOut := runCLI(t, "get", target(scp), "--out", out, "-k", key)
		if code != 0 || !strings.Contains(stdout, "0 failed here") || !strings.Contains(stdout, "0 failed, 0 warning") {
			t.Fatalf("-k %s: code %d, stdout %q, stderr %q", key, code, stdout, errOut)
		}
	}
	want := []corpusFile{files[1], files[10], files[11], files[5], files[6]}
	checkStored(t, out, want)

	// A class and syntax outside the default contexts fails on the peer's side, and succeeds
	// when asked for.
	seg := files[9]
	code, stdout, errOut := runCLI(t, "get", target(scp), "--out", out, "--level", "IMAGE", "-k", "SOPInstanceUID="+seg.instance)
	if code != 1 || !strings.Contains(stdout, "failed: "+seg.instance) {
		t.Errorf("segmentation in JPEG 2000 by default: code %d, stdout %q, stderr %q", code, stdout, errOut)
	}
	code, stdout, errOut = runCLI(t, "get", target(scp), "--out", out, "--level", "IMAGE", "-k", "SOPInstanceUID="+seg.instance,
		"--classes", "SegmentationStorage", "--syntaxes", "explicit,j2k-lossless")
	if code != 0 {
		t.Errorf("segmentation with --classes and --syntaxes: code %d, stdout %q, stderr %q", code, stdout, errOut)
	}
	checkStored(t, out, append(want, seg))
}

// checkStored checks that dir holds exactly the files, each a Part 10 file with the data set
// bytes of the original.
func checkStored(t *testing.T, dir string, files []corpusFile) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(files) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%d files in the output directory, want %d: %v", len(entries), len(files), names)
	}
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(dir, f.instance+".dcm"))
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f.path), err)
			continue
		}
		got, err := dicom.Parse(raw, dicom.ReadOptions{})
		if err != nil {
			t.Errorf("%s: stored file does not parse: %v", filepath.Base(f.path), err)
			continue
		}
		if got.Syntax.UID != f.syntax || got.Meta.String(tag.MediaStorageSOPClassUID) != f.class ||
			got.Meta.String(tag.MediaStorageSOPInstanceUID) != f.instance || got.Meta.String(tag.ImplementationClassUID) == "" {
			t.Errorf("%s: File Meta %v", filepath.Base(f.path), got.Meta.Elements)
		}
		if !bytes.Equal(raw[got.DatasetOffset:], f.data) {
			t.Errorf("%s: data set bytes differ from the original", filepath.Base(f.path))
		}
	}
}
