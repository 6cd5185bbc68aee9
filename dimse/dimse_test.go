package dimse_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/dimsetest"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEcho(t *testing.T) {
	scp := dimsetest.Start(t, "SCP", nil)
	c, err := dimse.Dial(ctxT(t), scp.Addr, dimse.DialOptions{CalledAE: "SCP", Proposals: []dimse.Proposal{dimse.EchoProposal()}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := c.Echo(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Release(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// Wrong called AE: a clear rejection.
	_, err = dimse.Dial(ctxT(t), scp.Addr, dimse.DialOptions{CalledAE: "WRONG", Proposals: []dimse.Proposal{dimse.EchoProposal()}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("called AE title not recognized")) {
		t.Fatalf("wrong called AE: %v", err)
	}
}

// sendFiles stores corpus files with one association and returns them by SOP Instance UID.
func sendFiles(t *testing.T, addr, called string, names ...string) map[string]*dimse.FileInstance {
	t.Helper()
	dir := corpustest.Need(t)
	var files []*dimse.FileInstance
	pairs := map[string][]string{}
	for _, n := range names {
		fi, err := dimse.OpenFile(corpustest.Path(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fi.Close() })
		files = append(files, fi)
		pairs[fi.SOPClassUID] = append(pairs[fi.SOPClassUID], fi.TransferSyntax)
	}
	c, err := dimse.Dial(ctxT(t), addr, dimse.DialOptions{CalledAE: called, Proposals: dimse.StorageProposals(pairs)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := map[string]*dimse.FileInstance{}
	for _, fi := range files {
		if st, err := c.Store(ctxT(t), fi.StoreRequest); err != nil || st != dimse.StatusSuccess {
			t.Fatalf("store %s: %v %v", fi.SOPInstanceUID, st, err)
		}
		out[fi.SOPInstanceUID] = fi
	}
	return out
}

// datasetBytes returns the bytes of a file's data set as stored.
func datasetBytes(t *testing.T, name string) []byte {
	dir := corpustest.Need(t)
	raw, err := os.ReadFile(corpustest.Path(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := dicom.Parse(raw, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return evenPadded(raw[f.DatasetOffset:])
}

// evenPadded returns b with the zero byte a sender adds to an odd-length data set (PS3.8 E.2:
// PDV lengths are even).
func evenPadded(b []byte) []byte {
	if len(b)%2 == 1 {
		return append(append([]byte(nil), b...), 0)
	}
	return b
}

var storeFiles = []string{
	"orthanc-tests__SignedCT.dcm",               // explicit LE, 525 KB
	"pydicom__MR_small_bigendian.dcm",           // explicit BE
	"orthanc-tests__1.2.840.10008.1.2.4.50.dcm", // JPEG baseline
	"pydicom-data__emri_small_RLE.dcm",          // RLE, multi-frame
	"cornerstone3D__CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm",
	"DICOMHTJ2K__CT1_JPH.dcm", // HTJ2K
}

func TestStoreByteIdentical(t *testing.T) {
	scp := dimsetest.Start(t, "SCP", nil)
	sent := sendFiles(t, scp.Addr, "SCP", storeFiles...)
	for i, name := range storeFiles {
		_ = i
		want := datasetBytes(t, name)
		var got *dimsetest.Instance
		for u := range sent {
			if in := scp.Instance(u); in != nil && bytes.Equal(in.Data, want) {
				got = in
			}
		}
		if got == nil {
			t.Errorf("%s: no stored instance holds the file's data set bytes", name)
		}
	}
	if n := len(scp.Instances()); n != len(storeFiles) {
		t.Errorf("%d instances stored, want %d", n, len(storeFiles))
	}
}

func TestFindMoveGet(t *testing.T) {
	src := dimsetest.Start(t, "SRC", nil)
	dst := dimsetest.Start(t, "DST", nil)
	src.Peers["DST"] = dst.Addr
	sendFiles(t, src.Addr, "SRC", storeFiles...)
	ctx := ctxT(t)
	c, err := dimse.Dial(ctx, src.Addr, dimse.DialOptions{CalledAE: "SRC",
		Proposals: append(dimse.Proposals(dimse.StudyRootFind, dimse.StudyRootMove), dimse.GetProposals(dimse.StudyRootGet, nil)...)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := dicom.NewDataset()
	q.SetString(tag.QueryRetrieveLevel, vr.CS, "STUDY")
	q.SetString(tag.StudyInstanceUID, vr.UI, "")
	q.SetString(tag.PatientID, vr.LO, "")
	var studies []string
	for ds, err := range c.Find(ctx, dimse.StudyRootFind, q) {
		if err != nil {
			t.Fatal(err)
		}
		studies = append(studies, ds.String(tag.StudyInstanceUID))
	}
	if len(studies) < 3 {
		t.Fatalf("found %d studies", len(studies))
	}
	// Stop after the first match: C-CANCEL, and the association stays usable.
	n := 0
	for _, err := range c.Find(ctx, dimse.StudyRootFind, q) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if err := c.Echo(ctx); err == nil {
		t.Log("echo after cancel unexpectedly proposed")
	}
	// C-MOVE every study to DST.
	mq := dicom.NewDataset()
	mq.SetString(tag.QueryRetrieveLevel, vr.CS, "STUDY")
	mq.SetString(tag.StudyInstanceUID, vr.UI, studies...)
	res, err := c.Move(ctx, dimse.StudyRootMove, "DST", mq, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.SubOps.Completed != uint16(len(storeFiles)) || res.SubOps.Failed != 0 {
		t.Fatalf("move: %+v", res)
	}
	for _, in := range src.Instances() {
		got := dst.Instance(in.SOPInstanceUID)
		if got == nil || !bytes.Equal(got.Data, in.Data) || got.TransferSyntax != in.TransferSyntax {
			t.Errorf("move: %s not byte-identical at the destination", in.SOPInstanceUID)
		}
	}
	// Unknown destination: 0xA801.
	if _, err := c.Move(ctx, dimse.StudyRootMove, "NOWHERE", mq, nil); err == nil {
		t.Fatal("move to an unknown destination succeeded")
	} else {
		var se *dimse.StatusError
		if !errors.As(err, &se) || se.Status != dimse.StatusMoveDestinationUnknown {
			t.Fatalf("move to unknown destination: %v", err)
		}
	}
	// C-GET the native-syntax instances back over the same association.
	var got atomic.Int32
	gq := dicom.NewDataset()
	gq.SetString(tag.QueryRetrieveLevel, vr.CS, "STUDY")
	gq.SetString(tag.StudyInstanceUID, vr.UI, studies...)
	res, err = c.Get(ctx, dimse.StudyRootGet, gq, func(ctx context.Context, r *dimse.Request) dimse.Status {
		b, err := io.ReadAll(r.Data)
		if err != nil {
			return dimse.StatusOutOfResources
		}
		if in := src.Instance(r.Command.AffectedSOPInstanceUID); in == nil || !bytes.Equal(in.Data, b) {
			t.Errorf("get: %s differs", r.Command.AffectedSOPInstanceUID)
		}
		got.Add(1)
		return dimse.StatusSuccess
	}, nil)
	if err != nil {
		t.Fatalf("get: %v (%+v)", err, res)
	}
	// Compressed instances cannot go: GetProposals offered native syntaxes only.
	if int(got.Load()) != int(res.SubOps.Completed) || res.SubOps.Completed == 0 || res.SubOps.Failed == 0 {
		t.Fatalf("get: received %d, result %+v", got.Load(), res)
	}
	if len(res.FailedUIDs) != int(res.SubOps.Failed) {
		t.Fatalf("get: %d failed UIDs for %d failures", len(res.FailedUIDs), res.SubOps.Failed)
	}
}

func TestHandlerPanicAbortsOnlyItsAssociation(t *testing.T) {
	mux := dimse.NewServeMux()
	mux.HandleFunc(dimse.CFindRQ, func(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
		panic("boom")
	}, dimse.StudyRootFind)
	scp := dimsetest.Start(t, "SCP", func(s *dimse.Server) { s.Handler = mux })
	ctx := ctxT(t)
	other, err := dimse.Dial(ctx, scp.Addr, dimse.DialOptions{CalledAE: "SCP", Proposals: []dimse.Proposal{dimse.EchoProposal()}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	c, err := dimse.Dial(ctx, scp.Addr, dimse.DialOptions{CalledAE: "SCP", Proposals: dimse.Proposals(dimse.StudyRootFind)})
	if err != nil {
		t.Fatal(err)
	}
	q := dicom.NewDataset()
	q.SetString(tag.QueryRetrieveLevel, vr.CS, "STUDY")
	for _, err := range c.Find(ctx, dimse.StudyRootFind, q) {
		if err == nil {
			t.Fatal("find on a panicking handler gave a match")
		}
	}
	c.Abort()
	if err := other.Echo(ctx); err != nil {
		t.Fatalf("the other association did not survive: %v", err)
	}
}
