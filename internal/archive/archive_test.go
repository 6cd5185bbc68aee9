package archive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob/fileblob"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/transcode"
)

func open(t *testing.T, opts archive.Options) (*archive.Service, string) {
	t.Helper()
	idx, blobs, dir := openStores(t)
	return archive.New(idx, blobs, opts), dir
}

// openStores opens an empty index and blob store in t.TempDir(), closed when t ends.
func openStores(t *testing.T) (*sqlite.DB, *fileblob.Store, string) {
	t.Helper()
	dir := t.TempDir()
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := fileblob.Open(filepath.Join(dir, "instances"), fileblob.Options{Init: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close(); blobs.Close() })
	return idx, blobs, dir
}

// request turns a corpus file into a store request carrying its data set bytes.
func request(t *testing.T, name string) (archive.StoreRequest, []byte) {
	t.Helper()
	dir := corpustest.Need(t)
	raw, err := os.ReadFile(corpustest.Path(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := dicom.Parse(raw, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := raw[f.DatasetOffset:]
	return archive.StoreRequest{
		SOPClassUID:    f.Dataset.String(tag.SOPClassUID),
		SOPInstanceUID: f.Dataset.String(tag.SOPInstanceUID),
		TransferSyntax: f.Syntax.UID,
		Data:           bytes.NewReader(data),
		Source:         "TEST",
	}, data
}

func readDataset(t *testing.T, arc *archive.Service, sop string) []byte {
	t.Helper()
	ctx := context.Background()
	st, err := arc.Lookup(ctx, sop)
	if err != nil {
		t.Fatal(err)
	}
	rc, n, err := arc.DatasetReader(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != n {
		t.Fatalf("dataset length %d, reader said %d", len(b), n)
	}
	return b
}

var files = []string{
	"orthanc-tests__SignedCT.dcm",
	"pydicom__MR_small_bigendian.dcm",
	"pydicom-data__emri_small_RLE.dcm",
	"orthanc-tests__1.2.840.10008.1.2.4.50.dcm",
	"pydicom__chrJapMulti.dcm",
	"dicomParser__report_dfl.dcm", // deflated: the data set bytes are the deflated stream
	"fo-dicom__HasFragmentSequence.dcm",
}

func TestStoreKeepsBytes(t *testing.T) {
	arc, _ := open(t, archive.Options{})
	ctx := context.Background()
	for _, name := range files {
		req, data := request(t, name)
		res, err := arc.Store(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Outcome != archive.Stored {
			t.Fatalf("%s: outcome %s", name, res.Outcome)
		}
		if got := readDataset(t, arc, req.SOPInstanceUID); !bytes.Equal(got, data) {
			t.Fatalf("%s: stored data set differs from the received bytes", name)
		}
		// The metadata kept at ingest holds the header without bulk data.
		md, err := archive.DecodeMeta(res.Instance.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		if md.Dataset.String(tag.SOPInstanceUID) != req.SOPInstanceUID || md.Dataset.Has(tag.PixelData) {
			t.Fatalf("%s: metadata: sop %q, pixel data kept %v", name, md.Dataset.String(tag.SOPInstanceUID), md.Dataset.Has(tag.PixelData))
		}
	}
	st, err := arc.Stats(ctx)
	if err != nil || st.Instances != int64(len(files)) {
		t.Fatalf("stats %+v %v", st, err)
	}
}

// TestFrames checks the frame index against a full parse: each frame's ranges in the blob hold
// exactly the bytes of that frame.
func TestFrames(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"orthanc-tests__SignedCT.dcm", "pydicom-data__emri_small_RLE.dcm", "fo-dicom__HasFragmentSequence.dcm", "pydicom__examples_ybr_color.dcm", "dicomParser__CT0012.fragmented_no_bot_jpeg_ls.80.dcm", "dicomParser__CT0012.not_fragmented_bot_jpeg_ls.80.dcm"} {
		arc, _ := open(t, archive.Options{})
		req, data := request(t, name)
		res, err := arc.Store(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		frames, err := archive.DecodeFrames(res.Instance.Frames)
		if err != nil || len(frames) == 0 {
			t.Fatalf("%s: frames %v %v", name, frames, err)
		}
		full, err := dicom.ParseDataset(data, req.TransferSyntax, dicom.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := full.Int(tag.NumberOfFrames); ok && int(n) != len(frames) {
			t.Fatalf("%s: %d frames indexed, NumberOfFrames %d", name, len(frames), n)
		}
		px := full.Element(tag.PixelData)
		o, err := arc.Open(ctx, res.Instance)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for _, f := range frames {
			for _, r := range f.Ranges {
				b := make([]byte, r.Length)
				if _, err := o.ReadAt(b, r.Offset); err != nil {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
		}
		o.Close()
		var want []byte
		if px.Fragments != nil {
			for _, f := range px.Fragments[1:] {
				want = append(want, f.Data...)
			}
		} else {
			want = px.Value[:len(all)]
		}
		if !bytes.Equal(all, want) {
			t.Fatalf("%s: frame ranges do not hold the pixel data (%d vs %d bytes)", name, len(all), len(want))
		}
	}
}

func TestDuplicates(t *testing.T) {
	ctx := context.Background()
	for _, policy := range []archive.DuplicatePolicy{archive.Reject, archive.Overwrite, archive.Keep} {
		t.Run(policy.String(), func(t *testing.T) {
			arc, _ := open(t, archive.Options{Duplicates: policy})
			req, data := request(t, "pydicom__MR_small.dcm")
			if _, err := arc.Store(ctx, req); err != nil {
				t.Fatal(err)
			}
			// Identical re-send: idempotent success.
			req.Data = bytes.NewReader(data)
			res, err := arc.Store(ctx, req)
			if err != nil || res.Outcome != archive.Duplicate {
				t.Fatalf("identical re-send: %v %v", res, err)
			}
			// Different content, same SOP Instance UID.
			ds, _ := dicom.ParseDataset(data, req.TransferSyntax, dicom.ReadOptions{})
			ds.SetString(tag.PatientName, vr.PN, "Other^Content")
			var changed bytes.Buffer
			if err := dicom.WriteDataset(&changed, ds, req.TransferSyntax, dicom.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			req.Data = bytes.NewReader(changed.Bytes())
			res, err = arc.Store(ctx, req)
			got := readDataset(t, arc, req.SOPInstanceUID)
			switch policy {
			case archive.Reject:
				if !errors.Is(err, archive.ErrConflict) || !bytes.Equal(got, data) {
					t.Fatalf("reject: err %v, stored changed %v", err, !bytes.Equal(got, data))
				}
			case archive.Overwrite:
				if err != nil || res.Outcome != archive.Replaced || !bytes.Equal(got, changed.Bytes()) {
					t.Fatalf("overwrite: %v %v", res, err)
				}
			case archive.Keep:
				vs, verr := arc.Versions(ctx, req.SOPInstanceUID)
				if !errors.Is(err, archive.ErrConflict) || !bytes.Equal(got, data) || verr != nil || len(vs) != 1 {
					t.Fatalf("keep: err %v, original served %v, versions %d %v", err, bytes.Equal(got, data), len(vs), verr)
				}
				// The version kept aside holds the new bytes, and survives the startup sweep.
				if rep, err := arc.Sweep(ctx); err != nil || rep.OrphanBlobs != 0 {
					t.Fatalf("sweep after keep: %+v %v", rep, err)
				}
				o, err := arc.Open(ctx, vs[0])
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(o)
				o.Close()
				if !bytes.HasSuffix(raw, changed.Bytes()) {
					t.Fatal("kept version does not hold the new data set")
				}
				// Deleting the instance removes its versions too.
				if n, err := arc.Delete(ctx, index.Instance, req.SOPInstanceUID); err != nil || n != 2 {
					t.Fatalf("delete: %d %v", n, err)
				}
				if vs, _ := arc.Versions(ctx, req.SOPInstanceUID); len(vs) != 0 {
					t.Fatalf("%d versions left after delete", len(vs))
				}
				return
			}
			if st, _ := arc.Stats(ctx); st.Instances != 1 {
				t.Fatalf("%d instances", st.Instances)
			}
		})
	}
}

func TestRejects(t *testing.T) {
	arc, dir := open(t, archive.Options{})
	ctx := context.Background()
	req, data := request(t, "pydicom__MR_small.dcm")
	cases := map[string]archive.StoreRequest{}
	r := req
	r.SOPInstanceUID = "1.2.3.4"
	cases["instance UID differs from the data set"] = r
	r = req
	r.SOPInstanceUID = "../../etc/passwd"
	cases["traversal UID"] = r
	r = req
	r.Data = bytes.NewReader(data[:len(data)/2])
	cases["truncated data set"] = r
	r = req
	r.Data = bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n"))
	cases["not a data set"] = r
	for name, c := range cases {
		if c.Data == req.Data {
			c.Data = bytes.NewReader(data)
		}
		if _, err := arc.Store(ctx, c); err == nil {
			t.Errorf("%s: stored", name)
		} else if !errors.Is(err, archive.ErrInvalid) && !errors.Is(err, archive.ErrMismatch) {
			t.Errorf("%s: error %v is neither ErrInvalid nor ErrMismatch", name, err)
		}
	}
	// Nothing was left behind: no row, no file.
	if st, _ := arc.Stats(ctx); st.Instances != 0 {
		t.Fatalf("%d instances after rejected stores", st.Instances)
	}
	assertNoFiles(t, filepath.Join(dir, "instances"))
}

// assertNoFiles fails when a blob or temporary file exists under dir (the sentinel aside).
func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && filepath.Base(p) != ".lightbox-storage" {
			t.Errorf("file left behind: %s", p)
		}
		return nil
	})
}

func TestConcurrentSameStudy(t *testing.T) {
	arc, _ := open(t, archive.Options{})
	ctx := context.Background()
	// A 50-instance study made from one file with new SOP Instance UIDs, sent by 20 workers.
	req, data := request(t, "pydicom__CT_small.dcm")
	base, err := dicom.ParseDataset(data, req.TransferSyntax, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var study [][]byte
	var uids []string
	for i := 0; i < 50; i++ {
		ds := base.Clone()
		u := fmt.Sprintf("1.2.826.0.1.3680043.10.1471.99.%d", i+1)
		ds.SetString(tag.SOPInstanceUID, vr.UI, u)
		var b bytes.Buffer
		dicom.WriteDataset(&b, ds, req.TransferSyntax, dicom.WriteOptions{})
		study = append(study, b.Bytes())
		uids = append(uids, u)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20*50)
	for w := 0; w < 20; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, b := range study {
				r := req
				r.SOPInstanceUID = uids[i]
				r.Data = bytes.NewReader(b)
				if _, err := arc.Store(ctx, r); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, _ := arc.Stats(ctx)
	if st.Patients != 1 || st.Studies != 1 || st.Series != 1 || st.Instances != 50 {
		t.Fatalf("stats %+v, want 1/1/1/50", st)
	}
	for m, err := range arc.Search(ctx, &index.Query{Level: index.Study}) {
		if err != nil {
			t.Fatal(err)
		}
		if n := m.Attrs.String(tag.NumberOfStudyRelatedInstances); n != "50" {
			t.Fatalf("NumberOfStudyRelatedInstances = %s", n)
		}
	}
	for i, u := range uids {
		if got := readDataset(t, arc, u); !bytes.Equal(got, study[i]) {
			t.Fatalf("instance %d differs", i)
		}
	}
}

func TestDeleteAndSweep(t *testing.T) {
	arc, dir := open(t, archive.Options{})
	ctx := context.Background()
	var study string
	for _, name := range files[:3] {
		req, _ := request(t, name)
		res, err := arc.Store(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		study = res.Instance.StudyInstanceUID
	}
	n, err := arc.Delete(ctx, index.Study, study)
	if err != nil || n != 1 {
		t.Fatalf("delete study: %d %v", n, err)
	}
	if _, err := arc.Delete(ctx, index.Study, study); !errors.Is(err, archive.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// An orphan blob (a crash between blob commit and index commit) is swept.
	blobs, err := fileblob.Open(filepath.Join(dir, "instances"), fileblob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := blobs.Create(ctx)
	w.Write([]byte("orphan"))
	w.Commit(ctx, "aa/bb/aabb0000000000000000000000000000")
	w2, _ := blobs.Create(ctx)
	w2.Write([]byte("interrupted"))
	rep, err := arc.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OrphanBlobs != 1 || rep.TempFiles != 1 {
		t.Fatalf("sweep: %+v", rep)
	}
	if st, _ := arc.Stats(ctx); st.Instances != 2 {
		t.Fatalf("%d instances after sweep", st.Instances)
	}
}

// TestStoreFileWithoutMediaStorageUIDs: a Part 10 file whose File Meta lacks its Media Storage
// SOP Class and Instance UIDs is identified by its data set's.
func TestStoreFileWithoutMediaStorageUIDs(t *testing.T) {
	arc, _ := open(t, archive.Options{})
	dir := corpustest.Need(t)
	f, err := os.Open(corpustest.Path(dir, "dcm4che__NM-MONO2-16-13x-heart.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := arc.StoreFile(context.Background(), f, "TEST")
	if err != nil {
		t.Fatal(err)
	}
	if res.Instance.SOPInstanceUID == "" || res.Instance.SOPClassUID != "1.2.840.10008.5.1.4.1.1.20" {
		t.Fatalf("stored as %+v", res.Instance)
	}
}

// TestConvertMetaInDataset: a sender that puts a File Meta element (group 0002) in the data set
// of a C-STORE gets it stored as received, and the instance still converts for a peer: the
// converted file carries the File Meta only where it belongs.
func TestConvertMetaInDataset(t *testing.T) {
	arc, _ := open(t, archive.Options{})
	ctx := context.Background()
	ds := dicom.NewDataset()
	ds.SetString(tag.SOPClassUID, vr.UI, "1.2.840.10008.5.1.4.1.1.7")
	ds.SetString(tag.SOPInstanceUID, vr.UI, "1.2.3.4.5.6.7.8.9")
	ds.SetString(tag.StudyInstanceUID, vr.UI, "1.2.3.4.5.6.7.8")
	ds.SetString(tag.SeriesInstanceUID, vr.UI, "1.2.3.4.5.6.7.8.1")
	ds.SetString(tag.PatientID, vr.LO, "META")
	ds.Set(dicom.NewElement(tag.ImplementationVersionName, vr.SH, []byte("SENDER  ")))
	var body bytes.Buffer
	// Written by hand: Write refuses group 0002 in a data set, but senders do send it.
	if err := dicom.WriteDataset(&body, ds, dicom.ImplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := arc.Store(ctx, archive.StoreRequest{
		SOPClassUID: "1.2.840.10008.5.1.4.1.1.7", SOPInstanceUID: "1.2.3.4.5.6.7.8.9",
		TransferSyntax: dicom.ImplicitVRLittleEndian, Data: bytes.NewReader(body.Bytes()), Source: "TEST",
	}); err != nil {
		t.Fatal(err)
	}
	if got := readDataset(t, arc, "1.2.3.4.5.6.7.8.9"); !bytes.Equal(got, body.Bytes()) {
		t.Fatalf("stored data set differs from the one received: %d bytes, %d sent", len(got), body.Len())
	}
	st, err := arc.Lookup(ctx, "1.2.3.4.5.6.7.8.9")
	if err != nil {
		t.Fatal(err)
	}
	out, err := arc.Convert(ctx, st, dicom.ExplicitVRLittleEndian, 1<<20, transcode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dicom.Write(&buf, out, dicom.WriteOptions{}); err != nil {
		t.Fatalf("writing the converted instance: %v", err)
	}
	back, err := dicom.Parse(buf.Bytes(), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if back.Dataset.String(tag.PatientID) != "META" || back.Dataset.Has(tag.ImplementationVersionName) {
		t.Fatalf("converted data set: PatientID %q, group 0002 in it: %v", back.Dataset.String(tag.PatientID), back.Dataset.Has(tag.ImplementationVersionName))
	}
}
