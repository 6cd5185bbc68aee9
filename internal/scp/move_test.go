package scp_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob/fileblob"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/scp"
)

// TestMovePendingWhileDialing: a requestor that is its own move destination and accepts the
// sub-association only after it has heard from the C-MOVE association (as DCMTK's movescu does)
// gets a Pending response while the association to it is being established, so the move does
// not wait on it.
func TestMovePendingWhileDialing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	idx, err := sqlite.Open(ctx, filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := fileblob.Open(filepath.Join(dir, "instances"), fileblob.Options{Init: true})
	if err != nil {
		t.Fatal(err)
	}
	// The destination listens at once (connections queue in the backlog) but serves only
	// after the requestor heard a Pending response.
	dln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := scp.New(archive.New(idx, blobs, archive.Options{}), scp.Options{AETitle: "LIGHTBOX",
		Peers: map[string]scp.Peer{"DEST": {AETitle: "DEST", Addr: dln.Addr().String()}}})
	srv := &dimse.Server{AETitle: "LIGHTBOX", Handler: h.Mux(), Authorize: h.Authorize}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var received atomic.Int32
	dmux := dimse.NewServeMux()
	dmux.HandleFunc(dimse.CStoreRQ, func(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
		io.Copy(io.Discard, r.Data)
		received.Add(1)
		w.Respond(ctx, dimse.Response{Status: dimse.StatusSuccess})
	}, dimse.StorageSOPClasses()...)
	dsrv := &dimse.Server{AETitle: "DEST", Handler: dmux}
	heard := make(chan struct{})
	ddone := make(chan error, 1)
	go func() {
		select {
		case <-heard:
		case <-ctx.Done():
		}
		ddone <- dsrv.Serve(dln)
	}()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		dsrv.Shutdown(sctx)
		<-done
		<-ddone
		idx.Close()
		blobs.Close()
	})

	fi, err := dimse.OpenFile(corpustest.Path(corpustest.Need(t), "pydicom__CT_small.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	defer fi.Close()
	c, err := dimse.Dial(ctx, ln.Addr().String(), dimse.DialOptions{CalledAE: "LIGHTBOX",
		Proposals: dimse.StorageProposals(map[string][]string{fi.SOPClassUID: {fi.TransferSyntax}})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(ctx, fi.StoreRequest); err != nil {
		t.Fatal(err)
	}
	c.Close()

	m, err := dimse.Dial(ctx, ln.Addr().String(), dimse.DialOptions{CalledAE: "LIGHTBOX",
		Proposals: []dimse.Proposal{{AbstractSyntax: dimse.StudyRootMove, TransferSyntaxes: dimse.NativeSyntaxes}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	q := dicom.NewDataset()
	q.SetString(tag.QueryRetrieveLevel, vr.CS, "IMAGE")
	q.SetString(tag.SOPInstanceUID, vr.UI, fi.SOPInstanceUID)
	var pendings atomic.Int32
	start := time.Now()
	res, err := m.Move(ctx, dimse.StudyRootMove, "DEST", q, func(dimse.SubOperations) {
		if pendings.Add(1) == 1 {
			close(heard)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SubOps.Completed != 1 || received.Load() != 1 {
		t.Fatalf("C-MOVE: %+v, destination received %d", res.SubOps, received.Load())
	}
	if pendings.Load() == 0 {
		t.Fatal("no Pending response before the destination accepted")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("C-MOVE took %v", d)
	}
}
