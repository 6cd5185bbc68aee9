package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob/fileblob"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/web"
)

// The benchmarks of this file measure the DICOMweb paths the shared bench harness measures
// (bench/web), in one process: the archive as `lightbox serve` wires it (SQLite index, files),
// an HTTP server on loopback and a Go client. The instances are synthetic CTs like the harness's:
// 512×512 16-bit (525 KB), or 64×64 for the large-answer QIDO.
//
//	go test -run '^$' -bench . -benchmem ./internal/web/

// synthInstance returns a Part 10 CT of rows×cols 16-bit pixels, with UIDs made from the
// patient, study, series and instance numbers.
func synthInstance(tb testing.TB, pat, study, series, inst, rows, cols int) []byte {
	tb.Helper()
	root := "2.25.1234567"
	studyUID := fmt.Sprintf("%s.%d.%d", root, pat, study)
	seriesUID := fmt.Sprintf("%s.%d", studyUID, series)
	sopUID := fmt.Sprintf("%s.%d", seriesUID, inst)
	ds := dicom.NewDataset()
	str := func(t tag.Tag, v vr.VR, s string) {
		if err := ds.SetString(t, v, s); err != nil {
			tb.Fatal(err)
		}
	}
	str(tag.SOPClassUID, vr.UI, "1.2.840.10008.5.1.4.1.1.2")
	str(tag.SOPInstanceUID, vr.UI, sopUID)
	str(tag.StudyDate, vr.DA, fmt.Sprintf("2020%02d%02d", 1+study%12, 1+pat%28))
	str(tag.StudyTime, vr.TM, "101010")
	str(tag.AccessionNumber, vr.SH, fmt.Sprintf("A%d%d", pat, study))
	str(tag.Modality, vr.CS, []string{"CT", "MR"}[series%2])
	str(tag.StudyDescription, vr.LO, "BENCH STUDY")
	str(tag.SeriesDescription, vr.LO, "BENCH SERIES")
	str(tag.PatientName, vr.PN, fmt.Sprintf("FAMILY%d^GIVEN", pat))
	str(tag.PatientID, vr.LO, fmt.Sprintf("PAT%06d", pat))
	str(tag.PatientBirthDate, vr.DA, "19700101")
	str(tag.PatientSex, vr.CS, "O")
	str(tag.StudyInstanceUID, vr.UI, studyUID)
	str(tag.SeriesInstanceUID, vr.UI, seriesUID)
	str(tag.StudyID, vr.SH, strconv.Itoa(study))
	str(tag.SeriesNumber, vr.IS, strconv.Itoa(series))
	str(tag.InstanceNumber, vr.IS, strconv.Itoa(inst))
	str(tag.ImagePositionPatient, vr.DS, fmt.Sprintf(`0\0\%d`, inst))
	str(tag.ImageOrientationPatient, vr.DS, `1\0\0\0\1\0`)
	str(tag.PhotometricInterpretation, vr.CS, "MONOCHROME2")
	str(tag.PixelSpacing, vr.DS, `0.5\0.5`)
	str(tag.WindowCenter, vr.DS, "40")
	str(tag.WindowWidth, vr.DS, "400")
	if err := ds.SetInts(tag.SamplesPerPixel, vr.US, 1); err != nil {
		tb.Fatal(err)
	}
	for _, e := range []struct {
		t tag.Tag
		v int64
	}{{tag.Rows, int64(rows)}, {tag.Columns, int64(cols)}, {tag.BitsAllocated, 16}, {tag.BitsStored, 16}, {tag.HighBit, 15}, {tag.PixelRepresentation, 1}} {
		if err := ds.SetInts(e.t, vr.US, e.v); err != nil {
			tb.Fatal(err)
		}
	}
	px := make([]byte, rows*cols*2)
	for i := range px {
		px[i] = byte(i*7 + inst)
	}
	ds.Set(dicom.NewElement(tag.PixelData, vr.OW, px))
	f := &dicom.File{Meta: dicom.NewMeta(ds, dicom.ExplicitVRLittleEndian), Dataset: ds}
	var buf bytes.Buffer
	if err := dicom.Write(&buf, f, dicom.WriteOptions{}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// benchServer is an archive on disk (as lightbox serve opens it) behind the DICOMweb handler.
func benchServer(tb testing.TB) (*archive.Service, string) {
	tb.Helper()
	return benchServerOpts(tb, web.Options{})
}

func benchServerOpts(tb testing.TB, opts web.Options) (*archive.Service, string) {
	tb.Helper()
	dir := tb.TempDir()
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := fileblob.Open(filepath.Join(dir, "instances"), fileblob.Options{Init: true})
	if err != nil {
		tb.Fatal(err)
	}
	arc := archive.New(idx, blobs, archive.Options{})
	mux := http.NewServeMux()
	mux.Handle("/dicom-web/", http.StripPrefix("/dicom-web", web.New(arc, opts)))
	srv := httptest.NewServer(mux)
	tb.Cleanup(func() { srv.Close(); idx.Close(); blobs.Close() })
	return arc, srv.URL + "/dicom-web"
}

func storeAll(tb testing.TB, arc *archive.Service, files [][]byte) {
	tb.Helper()
	for _, f := range files {
		if _, err := arc.StoreFile(context.Background(), bytes.NewReader(f), "BENCH"); err != nil {
			tb.Fatal(err)
		}
	}
}

var benchClient = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}

func benchGet(b *testing.B, u, accept string) int64 {
	b.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", accept)
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %s, %v", u, resp.Status, err)
	}
	return n
}

// BenchmarkSTOW posts series of 25 CTs of 525 KB, one POST per series, as the harness does,
// with 1, 4 (the default) and 8 instances stored at once.
func BenchmarkSTOW(b *testing.B) {
	for _, par := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) { benchSTOW(b, par) })
	}
}

func benchSTOW(b *testing.B, par int) {
	_, base := benchServerOpts(b, web.Options{StoreParallelism: par})
	const per = 25
	b.SetBytes(int64(per * 525_000))
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var files [][]byte
		for k := range per {
			files = append(files, synthInstance(b, 1, 1, i, k+1, 512, 512))
		}
		ct, body := multipartBody(b, files...)
		b.StartTimer()
		req, _ := http.NewRequest("POST", base+"/studies", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Accept", dicomweb.MediaDICOMJSON)
		resp, err := benchClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("STOW: %s", resp.Status)
		}
	}
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "inst/s")
}

// BenchmarkQIDOStudies1100 searches 1,100 studies of 64×64 instances by ModalitiesInStudy, with
// the harness's includefields.
func BenchmarkQIDOStudies1100(b *testing.B) {
	arc, base := benchServer(b)
	var files [][]byte
	for p := range 1100 {
		files = append(files, synthInstance(b, p, 1, 0, 1, 64, 64))
	}
	storeAll(b, arc, files)
	u := base + "/studies?ModalitiesInStudy=CT&includefield=00081030&includefield=00080061&includefield=00201208"
	for b.Loop() {
		benchGet(b, u, dicomweb.MediaDICOMJSON)
	}
}

// BenchmarkQIDOPatientID searches one patient's studies among 1,100.
func BenchmarkQIDOPatientID(b *testing.B) {
	arc, base := benchServer(b)
	var files [][]byte
	for p := range 1100 {
		files = append(files, synthInstance(b, p, 1, 0, 1, 64, 64))
	}
	storeAll(b, arc, files)
	u := base + "/studies?PatientID=PAT000500&includefield=00081030&includefield=00080061&includefield=00201208"
	for b.Loop() {
		benchGet(b, u, dicomweb.MediaDICOMJSON)
	}
}

// studyOf50 stores a study of 2 series × 25 CTs of 525 KB and returns its UIDs.
func studyOf50(b *testing.B, arc *archive.Service) (study, series, sop string) {
	var files [][]byte
	for s := range 2 {
		for k := range 25 {
			files = append(files, synthInstance(b, 7, 1, s, k+1, 512, 512))
		}
	}
	storeAll(b, arc, files)
	f, err := dicom.Parse(files[0], dicom.ReadOptions{StopAt: tag.PixelData})
	if err != nil {
		b.Fatal(err)
	}
	return f.Dataset.String(tag.StudyInstanceUID), f.Dataset.String(tag.SeriesInstanceUID), f.Dataset.String(tag.SOPInstanceUID)
}

// BenchmarkStudyMetadata retrieves the metadata of a study of 50 instances.
func BenchmarkStudyMetadata(b *testing.B) {
	arc, base := benchServer(b)
	study, _, _ := studyOf50(b, arc)
	for b.Loop() {
		benchGet(b, base+"/studies/"+study+"/metadata", dicomweb.MediaDICOMJSON)
	}
}

// BenchmarkRetrieveStudy retrieves a study of 50 CTs (26 MB) as multipart/related.
func BenchmarkRetrieveStudy(b *testing.B) {
	arc, base := benchServer(b)
	study, _, _ := studyOf50(b, arc)
	var n int64
	for b.Loop() {
		n = benchGet(b, base+"/studies/"+study, `multipart/related; type="application/dicom"`)
	}
	b.SetBytes(n)
}

// BenchmarkFrame retrieves the single frame of a 525 KB CT.
func BenchmarkFrame(b *testing.B) {
	arc, base := benchServer(b)
	study, series, sop := studyOf50(b, arc)
	u := base + "/studies/" + study + "/series/" + series + "/instances/" + sop + "/frames/1"
	var n int64
	for b.Loop() {
		n = benchGet(b, u, `multipart/related; type="application/octet-stream"; transfer-syntax=*`)
	}
	b.SetBytes(n)
}
