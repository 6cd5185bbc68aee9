package dimse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse/pdu"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
	"github.com/lightbox-pacs/lightbox/internal/memconn"
)

// seedCommands are command sets of every command field, with the elements each one carries.
func seedCommands() []*Command {
	const (
		ct   = uid.CTImageStorage
		inst = "1.2.826.0.1.3680043.10.1447.3"
	)
	var out []*Command
	for _, f := range []Field{CStoreRQ, CGetRQ, CFindRQ, CMoveRQ, CEchoRQ, NEventReportRQ, NGetRQ, NSetRQ,
		NActionRQ, NCreateRQ, NDeleteRQ} {
		out = append(out,
			&Command{Field: f, MessageID: 7, AffectedSOPClassUID: ct, AffectedSOPInstanceUID: inst, HasDataSet: true,
				Priority: PriorityHigh, MoveDestination: "STORESCP", EventTypeID: 1, ActionTypeID: 2,
				MoveOriginatorAE: "MOVER", MoveOriginatorMessageID: 3},
			&Command{Field: f, MessageID: 8, RequestedSOPClassUID: ct, RequestedSOPInstanceUID: inst,
				AttributeIdentifiers: []tag.Tag{tag.PatientName, tag.PatientID}},
			&Command{Field: f.Response(), MessageIDBeingRespondedTo: 7, AffectedSOPClassUID: ct, AffectedSOPInstanceUID: inst,
				Status: StatusSuccess},
			&Command{Field: f.Response(), MessageIDBeingRespondedTo: 7, Status: StatusInvalidAttributeValue, HasDataSet: true,
				ErrorComment: "bad value", ErrorID: 4, OffendingElements: []tag.Tag{tag.PatientName},
				SubOps: &SubOperations{Remaining: 3, Completed: 2, Failed: 1, Warning: 1}},
		)
	}
	out = append(out, &Command{Field: CCancelRQ, MessageIDBeingRespondedTo: 2},
		&Command{Field: CGetRSP, MessageIDBeingRespondedTo: 3, Status: StatusSubOpsWithFailures,
			SubOps: &SubOperations{Completed: 4, Failed: 1, NoRemaining: true}})
	return out
}

// FuzzDecodeCommand: DecodeCommand never panics, stays within the per-input budget, fails only
// with ErrCommand, and what it accepts encodes to a command set that decodes and re-encodes to
// the same bytes.
func FuzzDecodeCommand(f *testing.F) {
	for _, c := range seedCommands() {
		f.Add(EncodeCommand(c))
	}
	f.Add([]byte{})
	f.Add([]byte{0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00})
	f.Add([]byte{0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x30, 0x00})
	f.Add([]byte{0x08, 0x00, 0x60, 0x00, 0x02, 0x00, 0x00, 0x00, 'C', 'T'})
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzbudget.Check(t, in, func() {
			c, err := DecodeCommand(in)
			if err != nil {
				if !errors.Is(err, ErrCommand) {
					t.Fatalf("error that does not wrap ErrCommand: %v", err)
				}
				return
			}
			b := EncodeCommand(c)
			if len(b) > maxCommandSize {
				// The always-written elements (group length, Message ID, Command Data Set
				// Type, Status, ...) can push an accepted input at the size limit over it.
				return
			}
			c2, err := DecodeCommand(b)
			if err != nil {
				t.Fatalf("the encoding of accepted %s does not decode: %v\n%x", c, err, b)
			}
			if b2 := EncodeCommand(c2); !bytes.Equal(b, b2) {
				t.Fatalf("decode → encode is not stable for %s:\n first %x\nsecond %x", c, b, b2)
			}
		})
	})
}

// pipeListener is a net.Listener that hands out the given connections, then blocks until closed.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener(conns ...net.Conn) *pipeListener {
	l := &pipeListener{conns: make(chan net.Conn, len(conns)), done: make(chan struct{})}
	for _, c := range conns {
		l.conns <- c
	}
	return l
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// Presentation context IDs of fuzzRQ.
const (
	fuzzPCEcho  = 1
	fuzzPCCT    = 3
	fuzzPCFind  = 5
	fuzzPCGet   = 7
	fuzzMaxPDU  = 1024
	fuzzCTClass = uid.CTImageStorage
)

// fuzzRQ is the A-ASSOCIATE-RQ that precedes every input of FuzzServer.
func fuzzRQ() *pdu.AssociateRQ {
	ts := []string{dicom.ImplicitVRLittleEndian}
	return &pdu.AssociateRQ{
		ProtocolVersion:    pdu.ProtocolVersion1,
		CalledAE:           "FUZZ",
		CallingAE:          "FUZZER",
		ApplicationContext: pdu.ApplicationContextName,
		PresentationContexts: []pdu.PresentationContextRQ{
			{ID: fuzzPCEcho, AbstractSyntax: VerificationSOPClass, TransferSyntaxes: ts},
			{ID: fuzzPCCT, AbstractSyntax: fuzzCTClass, TransferSyntaxes: ts},
			{ID: fuzzPCFind, AbstractSyntax: StudyRootFind, TransferSyntaxes: ts},
			{ID: fuzzPCGet, AbstractSyntax: StudyRootGet, TransferSyntaxes: ts},
		},
		UserInfo: pdu.UserInfo{
			MaxLength: fuzzMaxPDU,
			AsyncOps:  &pdu.AsyncOps{MaxInvoked: 1, MaxPerformed: 1},
			Roles:     []pdu.RoleSelection{{SOPClassUID: fuzzCTClass, SCU: true, SCP: true}},
		},
	}
}

func mustPDU(p pdu.PDU) []byte {
	b, err := pdu.AppendPDU(nil, p)
	if err != nil {
		panic(err)
	}
	return b
}

// fuzzMessage encodes a command, and its data set when data is not nil, as P-DATA-TF PDUs of
// at most fuzzMaxPDU bytes.
func fuzzMessage(id byte, c *Command, data []byte) []byte {
	c.HasDataSet = data != nil
	out := mustPDU(&pdu.PDataTF{Items: []pdu.PDV{{ContextID: id, Command: true, Last: true, Data: EncodeCommand(c)}}})
	for first := true; data != nil && (first || len(data) > 0); first = false {
		n := min(len(data), fuzzMaxPDU-pdu.PDVHeaderLen)
		out = append(out, mustPDU(&pdu.PDataTF{Items: []pdu.PDV{{ContextID: id, Last: n == len(data), Data: data[:n]}}})...)
		data = data[n:]
	}
	return out
}

func fuzzDataset(elems map[tag.Tag]string) []byte {
	ds := dicom.NewDataset()
	for t, v := range elems {
		ds.SetString(t, vr.UI, v)
	}
	var b bytes.Buffer
	if err := dicom.WriteDataset(&b, ds, dicom.ImplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// fuzzMux serves the requests of FuzzServer the way an archive's handlers do: C-STORE reads and
// discards its data set, C-FIND parses its identifier and answers one match, C-GET sends one
// C-STORE sub-operation back on the association. wg counts the handlers running.
func fuzzMux(wg *sync.WaitGroup) *ServeMux {
	m := NewServeMux()
	track := func(h HandlerFunc) HandlerFunc {
		return func(ctx context.Context, w ResponseWriter, r *Request) {
			wg.Add(1)
			defer wg.Done()
			h(ctx, w, r)
		}
	}
	m.Handle(CStoreRQ, track(func(ctx context.Context, w ResponseWriter, r *Request) {
		if _, err := io.Copy(io.Discard, r.Data); err != nil {
			w.Respond(ctx, Response{Status: StatusOutOfResources})
			return
		}
		w.Respond(ctx, Response{Status: StatusSuccess})
	}), fuzzCTClass)
	m.Handle(CFindRQ, track(func(ctx context.Context, w ResponseWriter, r *Request) {
		q, err := r.Dataset()
		if err != nil {
			w.Respond(ctx, Response{Status: StatusDataSetMismatch})
			return
		}
		if err := w.Pending(ctx, Response{Data: q}); err != nil {
			return
		}
		w.Respond(ctx, Response{Status: StatusSuccess})
	}), StudyRootFind)
	m.Handle(CGetRQ, track(func(ctx context.Context, w ResponseWriter, r *Request) {
		if _, err := r.Dataset(); err != nil {
			w.Respond(ctx, Response{Status: StatusDataSetMismatch})
			return
		}
		sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		data := fuzzDataset(map[tag.Tag]string{tag.SOPClassUID: fuzzCTClass, tag.SOPInstanceUID: "1.2.3"})
		st, err := w.Store(sctx, StoreRequest{SOPClassUID: fuzzCTClass, SOPInstanceUID: "1.2.3",
			TransferSyntax: dicom.ImplicitVRLittleEndian, Data: bytes.NewReader(data)})
		ops := &SubOperations{Completed: 1, NoRemaining: true}
		if err != nil || st.Kind() == KindFailure {
			ops = &SubOperations{Failed: 1, NoRemaining: true}
		}
		w.Respond(ctx, Response{Status: StatusSuccess, SubOps: ops})
	}), StudyRootGet)
	return m
}

// FuzzServer sends arbitrary bytes after a valid A-ASSOCIATE-RQ to a Server over a memconn.Conn: the
// server must not panic, must be done with the connection within a deadline, and every
// goroutine it started must return. (dimse/ul fuzzes the acceptor's state machine alone; this
// goes through the DIMSE layer: message reassembly, handlers, responses, C-CANCEL, C-GET
// sub-operations.)
func FuzzServer(f *testing.F) {
	echo := fuzzMessage(fuzzPCEcho, &Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass}, nil)
	data := fuzzDataset(map[tag.Tag]string{tag.SOPClassUID: fuzzCTClass, tag.SOPInstanceUID: "1.2.3.4"})
	big := append(bytes.Clone(data), make([]byte, 3*fuzzMaxPDU)...)
	store := fuzzMessage(fuzzPCCT, &Command{Field: CStoreRQ, MessageID: 2, AffectedSOPClassUID: fuzzCTClass, AffectedSOPInstanceUID: "1.2.3.4"}, data)
	storeBig := fuzzMessage(fuzzPCCT, &Command{Field: CStoreRQ, MessageID: 3, AffectedSOPClassUID: fuzzCTClass, AffectedSOPInstanceUID: "1.2.3.5"}, big)
	query := fuzzDataset(map[tag.Tag]string{tag.StudyInstanceUID: "1.2.3"})
	find := fuzzMessage(fuzzPCFind, &Command{Field: CFindRQ, MessageID: 4, AffectedSOPClassUID: StudyRootFind}, query)
	cancel := fuzzMessage(fuzzPCFind, &Command{Field: CCancelRQ, MessageIDBeingRespondedTo: 4}, nil)
	get := fuzzMessage(fuzzPCGet, &Command{Field: CGetRQ, MessageID: 5, AffectedSOPClassUID: StudyRootGet}, query)
	subRsp := fuzzMessage(fuzzPCCT, &Command{Field: CStoreRSP, MessageIDBeingRespondedTo: 1, AffectedSOPClassUID: fuzzCTClass,
		AffectedSOPInstanceUID: "1.2.3", Status: StatusSuccess}, nil)
	nAction := fuzzMessage(fuzzPCEcho, &Command{Field: NActionRQ, MessageID: 6, RequestedSOPClassUID: VerificationSOPClass,
		RequestedSOPInstanceUID: "1.2.3", ActionTypeID: 1}, data)
	release := mustPDU(&pdu.ReleaseRQ{})
	abort := mustPDU(&pdu.Abort{Source: pdu.AbortServiceUser})
	garbage := mustPDU(&pdu.PDataTF{Items: []pdu.PDV{{ContextID: fuzzPCEcho, Command: true, Last: true, Data: []byte("\xde\xad\xbe\xef")}}})
	dataFirst := mustPDU(&pdu.PDataTF{Items: []pdu.PDV{{ContextID: fuzzPCCT, Last: true, Data: data}}})
	for _, seed := range [][]byte{
		{},
		echo,
		bytes.Join([][]byte{echo, release}, nil),
		bytes.Join([][]byte{echo, echo, echo, release}, nil),
		bytes.Join([][]byte{store, release}, nil),
		bytes.Join([][]byte{storeBig, store, release}, nil),
		bytes.Join([][]byte{find, release}, nil),
		bytes.Join([][]byte{find, cancel, release}, nil),
		bytes.Join([][]byte{get, subRsp, release}, nil),
		bytes.Join([][]byte{get, release}, nil),
		bytes.Join([][]byte{nAction, release}, nil),
		bytes.Join([][]byte{store, abort}, nil),
		bytes.Join([][]byte{find, echo}, nil),
		bytes.Join([][]byte{garbage, echo}, nil),
		bytes.Join([][]byte{dataFirst, echo}, nil),
		bytes.Join([][]byte{store[:len(store)-7], release}, nil),
		bytes.Join([][]byte{mustPDU(fuzzRQ()), echo}, nil),
		{0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xFF},
		bytes.Join([][]byte{echo, release, echo}, nil),
	} {
		f.Add(seed)
	}
	rq := mustPDU(fuzzRQ())
	f.Fuzz(func(t *testing.T, in []byte) {
		goroutines := runtime.NumGoroutine()
		var handlers sync.WaitGroup
		srv := &Server{
			AETitle: "FUZZ",
			Handler: fuzzMux(&handlers),
			Config: ul.Config{ARTIMTimeout: 50 * time.Millisecond, IdleTimeout: 100 * time.Millisecond, MaxPDULength: fuzzMaxPDU,
				Limits: pdu.Limits{MaxPDataLength: fuzzMaxPDU, MaxAssociateLength: 1 << 16}},
			MaxDataSetSize: 64 << 10,
		}
		conn := memconn.New(append(bytes.Clone(rq), in...))
		served := make(chan error, 1)
		go func() { served <- srv.Serve(newPipeListener(conn)) }()
		// The peer's side ends with the input: the server must be done with the connection by
		// itself. (Shutting it down before, as soon as the input is read, makes what runs depend
		// on scheduling; shutdown_test.go covers Shutdown during a request.)
		select {
		case <-conn.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("the server has not closed the connection 5 s after the input ended; input %x", in)
		}
		for srv.open.Load() > 0 {
			runtime.Gosched() // the connection's goroutine is returning; sleeping would take a timer tick
		}
		ctx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelShutdown()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("the server was not done with the connection 5 s after it closed: %v\ninput %x", err, in)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
		handlersDone := make(chan struct{})
		go func() { handlers.Wait(); close(handlersDone) }()
		select {
		case <-handlersDone:
		case <-time.After(5 * time.Second):
			t.Fatalf("a handler still runs 5 s after the connection closed; input %x", in)
		}
		for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d goroutines 5 s after the connection closed, %d before; input %x", runtime.NumGoroutine(), goroutines, in)
			}
		}
	})
}
