package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// orthancFiles are corpus files DCMTK (under Orthanc) reads and writes back unchanged: one per
// transfer syntax family and several SOP classes.
var orthancFiles = []string{
	"pydicom-data__MR-SIEMENS-DICOM-WithOverlays.dcm",       // MR, Explicit VR Little Endian
	"orthanc-tests__sample-pdf.dcm",                         // Encapsulated PDF
	"pydicom__SC_rgb_jpeg_gdcm.dcm",                         // SC, JPEG Lossless SV1
	"orthanc-tests__Monochrome1-Jpeg.dcm",                   // CR, JPEG Baseline
	"pydicom-data__emri_small_RLE.dcm",                      // Enhanced MR, RLE, multi-frame
	"pylibjpeg-data__TOSHIBA_J2K_OpenJPEGv2Regression.dcm",  // CT, JPEG 2000
	"dicomParser__CT0012.not_fragmented_bot_jpeg_ls.80.dcm", // Enhanced CT, JPEG-LS lossless
}

// TestOrthancPeer: Orthanc sends to Lightbox at its REST API's request (C-STORE as SCU), and
// Lightbox C-MOVEs everything back to Orthanc registered with --peer: every instance arrives
// byte for byte as in its file, both ways.
func TestOrthancPeer(t *testing.T) {
	needTool(t, "Orthanc")
	if !isolate(t, 3*time.Minute) {
		return
	}
	dir := corpustest.Need(t)
	type file struct {
		name, sop, class, ts, study string
		raw, data                   []byte
	}
	var files []file
	var studies, classes, syntaxes []string
	for _, n := range orthancFiles {
		raw, err := os.ReadFile(corpustest.Path(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(raw, dicom.ReadOptions{StopAt: tag.PixelData})
		if err != nil {
			t.Fatal(err)
		}
		ff := file{name: n, sop: f.Dataset.String(tag.SOPInstanceUID), class: f.Dataset.String(tag.SOPClassUID), ts: f.Syntax.UID,
			study: f.Dataset.String(tag.StudyInstanceUID), raw: raw, data: raw[f.DatasetOffset:]}
		files = append(files, ff)
		for _, x := range []struct {
			l *[]string
			v string
		}{{&studies, ff.study}, {&classes, ff.class}, {&syntaxes, ff.ts}} {
			if !slices.Contains(*x.l, x.v) {
				*x.l = append(*x.l, x.v)
			}
		}
	}

	s := newServer(t, "")
	ortDicom, ortHTTP := freePort(t), freePort(t)
	s.args = append(s.args, "--peer", "ORTHANC=127.0.0.1:"+strconv.Itoa(ortDicom))
	odir := t.TempDir()
	cfg := map[string]any{
		"Name": "lightbox-it", "StorageDirectory": filepath.Join(odir, "storage"), "IndexDirectory": filepath.Join(odir, "index"),
		"StorageCompression": false, "Plugins": []string{}, "DicomServerEnabled": true, "DicomAet": "ORTHANC",
		"DicomPort": ortDicom, "HttpServerEnabled": true, "HttpPort": ortHTTP, "RemoteAccessAllowed": false,
		"AuthenticationEnabled": false, "DicomModalities": map[string]any{"LIGHTBOX": []any{"LIGHTBOX", "127.0.0.1", s.dicomPort}},
		"DicomAlwaysAllowEcho": true, "DicomAlwaysAllowStore": true, "DicomScpTimeout": 10, "DicomScuTimeout": 10, "SaveJobs": false,
	}
	raw, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(odir, "orthanc.json")
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, _ := startTool(t, "Orthanc", cfgPath)
	waitPort(t, ortDicom, cmd)
	waitPort(t, ortHTTP, cmd)
	s.start()

	api := "http://127.0.0.1:" + strconv.Itoa(ortHTTP)
	rest := func(method, path string, body []byte) []byte {
		t.Helper()
		req, err := http.NewRequest(method, api+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %s: %v %s", method, path, resp.Status, err, b)
		}
		return b
	}
	instanceIDs := func() []string {
		var ids []string
		if err := json.Unmarshal(rest(http.MethodGet, "/instances", nil), &ids); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for _, f := range files {
		rest(http.MethodPost, "/instances", f.raw)
	}
	ids := instanceIDs()
	if len(ids) != len(files) {
		t.Fatalf("Orthanc holds %d instances, want %d", len(ids), len(files))
	}

	// Orthanc → Lightbox.
	body, _ := json.Marshal(map[string]any{"Resources": ids, "Synchronous": true})
	rest(http.MethodPost, "/modalities/LIGHTBOX/store", body)
	got, _, err := s.get("STUDY", studies, classes, syntaxes)
	if err != nil {
		t.Fatalf("C-GET from Lightbox: %v", err)
	}
	for _, f := range files {
		r, ok := got[f.sop]
		switch {
		case !ok:
			t.Errorf("Orthanc → Lightbox: %s not stored", f.name)
		case r.ts != f.ts || !bytes.Equal(r.data, f.data):
			t.Errorf("Orthanc → Lightbox: %s served in %s with %d bytes, sent in %s with %d (first difference at %d)", f.name,
				uid.Name(r.ts), len(r.data), uid.Name(f.ts), len(f.data), firstDiff(r.data, f.data))
		}
	}
	if len(got) != len(files) {
		t.Errorf("Orthanc → Lightbox: Lightbox serves %d instances, want %d", len(got), len(files))
	}

	// Lightbox → Orthanc by C-MOVE, into an emptied Orthanc.
	for _, id := range ids {
		rest(http.MethodDelete, "/instances/"+id, nil)
	}
	out, err := lightbox(t, true, "move", "LIGHTBOX@"+s.dicomAddr(), "--dest", "ORTHANC", "-k", "StudyInstanceUID="+strings.Join(studies, `\`))
	if err != nil {
		t.Errorf("lightbox move to ORTHANC: %v\n%s", err, out)
	}
	ids = instanceIDs()
	if len(ids) != len(files) {
		t.Errorf("Lightbox → Orthanc: Orthanc holds %d instances, want %d", len(ids), len(files))
	}
	want := map[string]file{}
	for _, f := range files {
		want[f.sop] = f
	}
	for _, id := range ids {
		b := rest(http.MethodGet, "/instances/"+id+"/file", nil)
		f, err := dicom.Parse(b, dicom.ReadOptions{StopAt: tag.PixelData})
		if err != nil {
			t.Fatalf("Orthanc's file %s: %v", id, err)
		}
		sop := f.Dataset.String(tag.SOPInstanceUID)
		w, ok := want[sop]
		switch {
		case !ok:
			t.Errorf("Lightbox → Orthanc: unexpected instance %s", sop)
		case f.Syntax.UID != w.ts || !bytes.Equal(b[f.DatasetOffset:], w.data):
			t.Errorf("Lightbox → Orthanc: %s stored in %s with %d bytes, want %s with %d (first difference at %d)", w.name,
				uid.Name(f.Syntax.UID), len(b)-int(f.DatasetOffset), uid.Name(w.ts), len(w.data), firstDiff(b[f.DatasetOffset:], w.data))
		}
	}
	t.Logf("Orthanc: %d instances in %d studies, to Lightbox and back", len(files), len(studies))
}
