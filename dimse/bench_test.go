package dimse_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// benchStoreRQ is the command set of a typical C-STORE-RQ.
var benchStoreRQ = &dimse.Command{Field: dimse.CStoreRQ, MessageID: 42, AffectedSOPClassUID: uid.CTImageStorage,
	AffectedSOPInstanceUID: "1.2.826.0.1.3680043.10.1447.20240101.123456.7.1", Priority: dimse.PriorityMedium, HasDataSet: true}

// benchStoreRSP is the command set of a C-STORE-RSP.
var benchStoreRSP = &dimse.Command{Field: dimse.CStoreRSP, MessageIDBeingRespondedTo: 42, AffectedSOPClassUID: uid.CTImageStorage,
	AffectedSOPInstanceUID: "1.2.826.0.1.3680043.10.1447.20240101.123456.7.1", Status: dimse.StatusSuccess}

func BenchmarkEncodeCommand(b *testing.B) {
	for _, c := range []*dimse.Command{benchStoreRQ, benchStoreRSP} {
		b.Run(c.Field.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(dimse.EncodeCommand(c))))
			for b.Loop() {
				dimse.EncodeCommand(c)
			}
		})
		b.Run(c.Field.String()+"/append", func(b *testing.B) {
			b.ReportAllocs()
			buf := dimse.EncodeCommand(c)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = dimse.AppendCommand(buf[:0], c)
			}
		})
	}
}

func BenchmarkDecodeCommand(b *testing.B) {
	for _, c := range []*dimse.Command{benchStoreRQ, benchStoreRSP} {
		b.Run(c.Field.String(), func(b *testing.B) {
			raw := dimse.EncodeCommand(c)
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := dimse.DecodeCommand(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStoreCT sends the shared corpus's 525 KB CT (Explicit VR Little Endian) with C-STORE
// over loopback, one association, from a Client to a Server whose handler discards the data
// set: the protocol's cost on both sides in one process, with both sides' maximum PDU length at
// DCMTK's default (16 KiB) and at ours (256 KiB). It reports instances and megabytes per second;
// allocations are those of both sides.
func BenchmarkStoreCT(b *testing.B) {
	dir := corpustest.Need(b)
	fi, err := dimse.OpenFile(corpustest.Path(dir, "orthanc-tests__SignedCT.dcm"))
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(fi.Data)
	fi.Close()
	if err != nil {
		b.Fatal(err)
	}
	for _, pduLen := range []uint32{16 << 10, ul.DefaultMaxPDULength} {
		b.Run(fmt.Sprintf("maxpdu=%dKiB", pduLen>>10), func(b *testing.B) {
			benchStore(b, fi.StoreRequest, data, ul.Config{MaxPDULength: pduLen})
		})
	}
}

func benchStore(b *testing.B, req dimse.StoreRequest, data []byte, cfg ul.Config) {
	mux := dimse.NewServeMux()
	mux.HandleFunc(dimse.CStoreRQ, func(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
		if _, err := io.Copy(io.Discard, r.Data); err != nil {
			w.Respond(ctx, dimse.Response{Status: dimse.StatusOutOfResources})
			return
		}
		w.Respond(ctx, dimse.Response{Status: dimse.StatusSuccess})
	}, req.SOPClassUID)
	srv := &dimse.Server{AETitle: "SINK", Handler: mux, Config: cfg}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-served; !errors.Is(err, dimse.ErrServerClosed) {
			b.Errorf("serve: %v", err)
		}
	}()
	ctx := context.Background()
	c, err := dimse.Dial(ctx, ln.Addr().String(), dimse.DialOptions{CalledAE: "SINK", Config: cfg,
		Proposals: dimse.StorageProposals(map[string][]string{req.SOPClassUID: {req.TransferSyntax}})})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bytes.NewReader(data)
	req.Data = r
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r.Reset(data)
		if st, err := c.Store(ctx, req); err != nil || st != dimse.StatusSuccess {
			b.Fatalf("store: %v %v", st, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inst/s")
}
