package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// orthancDICOMwebPlugin is where Debian's orthanc-dicomweb package puts the plugin.
const orthancDICOMwebPlugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"

// TestOrthancDICOMwebClient: Orthanc's DICOMweb plugin, as a client of Lightbox, lists our
// studies by QIDO-RS and retrieves them by WADO-RS (a whole study, then a single instance): each
// instance arrives with its data set byte for byte as in its file.
func TestOrthancDICOMwebClient(t *testing.T) {
	needTool(t, "Orthanc")
	if _, err := os.Stat(orthancDICOMwebPlugin); err != nil {
		t.Skipf("Orthanc's DICOMweb plugin not installed (%s; Debian package orthanc-dicomweb): skipping", orthancDICOMwebPlugin)
	}
	if !isolate(t, 3*time.Minute) {
		return
	}
	dir := corpustest.Need(t)
	type file struct {
		name, sop, series, study, patient, ts string
		raw, data                             []byte
	}
	var files []file
	var studies []string
	for _, n := range orthancFiles {
		raw, err := os.ReadFile(corpustest.Path(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Parse(raw, dicom.ReadOptions{StopAt: tag.PixelData})
		if err != nil {
			t.Fatal(err)
		}
		ff := file{name: n, sop: f.Dataset.String(tag.SOPInstanceUID), series: f.Dataset.String(tag.SeriesInstanceUID),
			study: f.Dataset.String(tag.StudyInstanceUID), patient: f.Dataset.String(tag.PatientID), ts: f.Syntax.UID, raw: raw, data: raw[f.DatasetOffset:]}
		files = append(files, ff)
		if !slices.Contains(studies, ff.study) {
			studies = append(studies, ff.study)
		}
	}

	// Lightbox, with the files stored by STOW-RS.
	s := startServer(t, "")
	var raws [][]byte
	for _, f := range files {
		raws = append(raws, f.raw)
	}
	body, boundary := stowBody(t, raws...)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/dicom-web/studies", s.httpPort),
		`multipart/related; type="application/dicom"; boundary=`+boundary, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("STOW-RS to Lightbox: %s %s", resp.Status, b)
	}

	// Orthanc with the DICOMweb plugin, knowing Lightbox as the DICOMweb server "lightbox".
	ortHTTP := freePort(t)
	odir := t.TempDir()
	cfg := map[string]any{
		"Name": "lightbox-it", "StorageDirectory": filepath.Join(odir, "storage"), "IndexDirectory": filepath.Join(odir, "index"),
		"StorageCompression": false, "Plugins": []string{orthancDICOMwebPlugin}, "DicomServerEnabled": false,
		"HttpServerEnabled": true, "HttpPort": ortHTTP, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
		"HttpTimeout": 30, "SaveJobs": false,
		"DicomWeb": map[string]any{"Enable": true, "Root": "/dicom-web/",
			"Servers": map[string]any{"lightbox": []string{fmt.Sprintf("http://127.0.0.1:%d/dicom-web/", s.httpPort)}}},
	}
	raw, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(odir, "orthanc.json")
	if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, _ := startTool(t, "Orthanc", cfgPath)
	waitPort(t, ortHTTP, cmd)

	api := "http://127.0.0.1:" + strconv.Itoa(ortHTTP)
	rest := func(method, path string, body any) []byte {
		t.Helper()
		var rd io.Reader
		if body != nil {
			j, _ := json.Marshal(body)
			rd = bytes.NewReader(j)
		}
		req, err := http.NewRequest(method, api+path, rd)
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
			t.Fatalf("Orthanc %s %s: %s: %v %s", method, path, resp.Status, err, b)
		}
		return b
	}
	decode := func(b []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
	}

	// Orthanc answers HTTP before its plugin has always read the configured servers: on a
	// loaded machine the list can be empty for a moment after the port opens, so wait for it.
	var servers []string
	waited := time.Now()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		servers = nil
		decode(rest(http.MethodGet, "/dicom-web/servers", nil), &servers)
		if slices.Equal(servers, []string{"lightbox"}) {
			t.Logf("Orthanc listed its DICOMweb servers after %v", time.Since(waited).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Orthanc's DICOMweb servers after 20 s: %v, want [lightbox]", servers)
		}
	}

	// QIDO-RS through the plugin: .../get relays the DICOM JSON answer as it is.
	var found []map[string]struct {
		Value []any `json:"Value"`
	}
	decode(rest(http.MethodPost, "/dicom-web/servers/lightbox/get", map[string]any{"Uri": "/studies"}), &found)
	var listed []string
	for _, st := range found {
		if v := st["0020000D"].Value; len(v) == 1 {
			listed = append(listed, fmt.Sprint(v[0]))
		}
	}
	slices.Sort(listed)
	want := slices.Sorted(slices.Values(studies))
	if !slices.Equal(listed, want) {
		t.Errorf("QIDO-RS through Orthanc (get /studies) lists %v, want %v", listed, want)
	}
	// ... and .../qido, with a matching key, answers in Orthanc's own form: tag → {Name, Value}.
	var simple []map[string]struct {
		Name  string
		Value any
	}
	decode(rest(http.MethodPost, "/dicom-web/servers/lightbox/qido",
		map[string]any{"Uri": "/studies", "Arguments": map[string]string{"StudyInstanceUID": files[0].study}}), &simple)
	if len(simple) != 1 || fmt.Sprint(simple[0]["0020000D"].Value) != files[0].study {
		t.Errorf("QIDO-RS through Orthanc (qido /studies?StudyInstanceUID=%s): %v", files[0].study, simple)
	} else if got := fmt.Sprint(simple[0]["00100020"].Value); got != files[0].patient {
		t.Errorf("QIDO-RS through Orthanc (qido): PatientID %q, want %q", got, files[0].patient)
	}

	// WADO-RS through the plugin: .../retrieve of every study.
	var resources []map[string]string
	for _, st := range studies {
		resources = append(resources, map[string]string{"Study": st})
	}
	var job map[string]any
	start := time.Now()
	decode(rest(http.MethodPost, "/dicom-web/servers/lightbox/retrieve", map[string]any{"Resources": resources}), &job)
	t.Logf("Orthanc retrieved %d studies in %v: %v", len(studies), time.Since(start).Round(time.Millisecond), job)
	if n := fmt.Sprint(job["ReceivedInstancesCount"]); n != strconv.Itoa(len(files)) {
		t.Errorf("retrieve: ReceivedInstancesCount %s, want %d", n, len(files))
	}

	bySOP := map[string]file{}
	for _, f := range files {
		bySOP[f.sop] = f
	}
	compare := func(what string, wantSOPs []string) {
		t.Helper()
		var ids []string
		decode(rest(http.MethodGet, "/instances", nil), &ids)
		if len(ids) != len(wantSOPs) {
			t.Errorf("%s: Orthanc holds %d instances, want %d", what, len(ids), len(wantSOPs))
		}
		for _, id := range ids {
			b := rest(http.MethodGet, "/instances/"+id+"/file", nil)
			f, err := dicom.Parse(b, dicom.ReadOptions{StopAt: tag.PixelData})
			if err != nil {
				t.Fatalf("Orthanc's file %s: %v", id, err)
			}
			sop := f.Dataset.String(tag.SOPInstanceUID)
			w, ok := bySOP[sop]
			switch {
			case !ok || !slices.Contains(wantSOPs, sop):
				t.Errorf("%s: unexpected instance %s", what, sop)
			case f.Syntax.UID != w.ts || !bytes.Equal(b[f.DatasetOffset:], w.data):
				t.Errorf("%s: %s stored in %s with %d bytes, want %s with %d (first difference at %d)", what, w.name,
					uid.Name(f.Syntax.UID), len(b)-int(f.DatasetOffset), uid.Name(w.ts), len(w.data), firstDiff(b[f.DatasetOffset:], w.data))
			}
		}
	}
	var all []string
	for _, f := range files {
		all = append(all, f.sop)
	}
	compare("retrieve of the studies", all)

	// A single instance, into an emptied Orthanc.
	var ids []string
	decode(rest(http.MethodGet, "/instances", nil), &ids)
	for _, id := range ids {
		rest(http.MethodDelete, "/instances/"+id, nil)
	}
	one := files[len(files)-1]
	decode(rest(http.MethodPost, "/dicom-web/servers/lightbox/retrieve", map[string]any{
		"Resources": []map[string]string{{"Study": one.study, "Series": one.series, "Instance": one.sop}}}), &job)
	if n := fmt.Sprint(job["ReceivedInstancesCount"]); n != "1" {
		t.Errorf("retrieve of one instance: ReceivedInstancesCount %s, want 1", n)
	}
	compare("retrieve of one instance", []string{one.sop})
}
