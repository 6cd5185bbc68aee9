package dimse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dimse/pdu"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
)

// TestSubOperationThenRelease: a peer that sends C-GET and then A-RELEASE-RQ instead of answering
// the C-STORE sub-operation can never answer it (no P-DATA follows a release request). The
// sub-operation must fail at once and the association end, even for a handler whose context has
// no deadline of its own; it used to wait forever, the reader blocked behind it.
func TestSubOperationThenRelease(t *testing.T) {
	stored := make(chan error, 1)
	m := NewServeMux()
	m.Handle(CGetRQ, HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		if _, err := r.Dataset(); err != nil {
			t.Error(err)
		}
		data := fuzzDataset(map[tag.Tag]string{tag.SOPClassUID: fuzzCTClass, tag.SOPInstanceUID: "1.2.3"})
		_, err := w.Store(ctx, StoreRequest{SOPClassUID: fuzzCTClass, SOPInstanceUID: "1.2.3",
			TransferSyntax: dicom.ImplicitVRLittleEndian, Data: bytes.NewReader(data)})
		stored <- err
		w.Respond(ctx, Response{Status: StatusSuccess, SubOps: &SubOperations{Failed: 1, NoRemaining: true}})
	}), StudyRootGet)
	m.Handle(CStoreRQ, HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		w.Respond(ctx, Response{Status: StatusSuccess})
	}), fuzzCTClass)
	srv := &Server{AETitle: "FUZZ", Handler: m,
		Config: ul.Config{ARTIMTimeout: time.Second, IdleTimeout: 10 * time.Second, MaxPDULength: fuzzMaxPDU}}
	client, server := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(newPipeListener(server)) }()
	go io.Copy(io.Discard, client)
	query := fuzzDataset(map[tag.Tag]string{tag.StudyInstanceUID: "1.2.3"})
	in := bytes.Join([][]byte{mustPDU(fuzzRQ()),
		fuzzMessage(fuzzPCGet, &Command{Field: CGetRQ, MessageID: 5, AffectedSOPClassUID: StudyRootGet}, query),
		mustPDU(&pdu.ReleaseRQ{})}, nil)
	client.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Write(in); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stored:
		if !errors.Is(err, ul.ErrReleaseRequested) {
			t.Fatalf("sub-operation: %v, want ul.ErrReleaseRequested", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the sub-operation still waits 3 s after the peer requested release")
	}
	client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}
