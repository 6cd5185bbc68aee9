package dimse_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/dimsetest"
	"github.com/lightbox-pacs/lightbox/dimse/pdu"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
)

// Timeouts of the SCP that the hostile cases run against: short, so that a case that waits for
// one finishes within a few seconds.
const (
	hostileARTIM = 2 * time.Second
	hostileIdle  = time.Second
	// quickly is how soon a connection that sent something that is not DICOM must be answered:
	// well before the ARTIM timer, so that the answer is not the timer's.
	quickly = 500 * time.Millisecond
)

// Presentation context IDs of the raw associations (rawRQ).
const (
	pcEcho     = 1
	pcCT       = 3
	pcWorklist = 5
)

// rawRQ is the A-ASSOCIATE-RQ the raw cases send: Verification, CT Image Storage and Modality
// Worklist FIND, each in Implicit VR Little Endian.
func rawRQ() *pdu.AssociateRQ {
	ts := []string{dicom.ImplicitVRLittleEndian}
	return &pdu.AssociateRQ{
		ProtocolVersion:    pdu.ProtocolVersion1,
		CalledAE:           "SCP",
		CallingAE:          "HOSTILE",
		ApplicationContext: pdu.ApplicationContextName,
		PresentationContexts: []pdu.PresentationContextRQ{
			{ID: pcEcho, AbstractSyntax: dimse.VerificationSOPClass, TransferSyntaxes: ts},
			{ID: pcCT, AbstractSyntax: uid.CTImageStorage, TransferSyntaxes: ts},
			{ID: pcWorklist, AbstractSyntax: uid.ModalityWorklistInformationModelFind, TransferSyntaxes: ts},
		},
		UserInfo: pdu.UserInfo{MaxLength: 16 << 10},
	}
}

func encodePDU(t testing.TB, p pdu.PDU) []byte {
	t.Helper()
	b, err := pdu.AppendPDU(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pdata encodes a P-DATA-TF of one PDV.
func pdata(t testing.TB, id byte, command, last bool, data []byte) []byte {
	return encodePDU(t, &pdu.PDataTF{Items: []pdu.PDV{{ContextID: id, Command: command, Last: last, Data: data}}})
}

// command encodes a command set as one P-DATA-TF.
func command(t testing.TB, id byte, c *dimse.Command) []byte {
	return pdata(t, id, true, true, dimse.EncodeCommand(c))
}

// logBuffer collects a server's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// mark returns the position of the next log line.
func (l *logBuffer) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// waitFor waits, at most a second, for a log line after mark that contains s.
func (l *logBuffer) waitFor(mark int, s string) bool {
	for deadline := time.Now().Add(time.Second); ; {
		l.mu.Lock()
		found := strings.Contains(l.b.String()[mark:], s)
		l.mu.Unlock()
		if found {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hostileSCP starts a test SCP with short timeouts, a 64 KiB data set limit and a Modality
// Worklist FIND handler that reads its identifier and then blocks until its request is canceled;
// it reports each return of that handler on the channel, and its log lines in the buffer.
func hostileSCP(t *testing.T) (*dimsetest.SCP, <-chan struct{}, *logBuffer) {
	t.Helper()
	returned := make(chan struct{}, 16)
	logs := &logBuffer{}
	scp := dimsetest.Start(t, "SCP", func(s *dimse.Server) {
		s.Config = ul.Config{ARTIMTimeout: hostileARTIM, IdleTimeout: hostileIdle, MaxPDULength: 16 << 10}
		s.MaxDataSetSize = 64 << 10
		s.Logger = slog.New(slog.NewTextHandler(logs, nil))
		s.Handler.(*dimse.ServeMux).HandleFunc(dimse.CFindRQ, func(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
			defer func() { returned <- struct{}{} }()
			if _, err := r.Dataset(); err != nil {
				w.Respond(ctx, dimse.Response{Status: dimse.StatusDataSetMismatch})
				return
			}
			<-ctx.Done()
			w.Respond(ctx, dimse.Response{Status: dimse.StatusCancel})
		}, uid.ModalityWorklistInformationModelFind)
	})
	return scp, returned, logs
}

// dialRaw opens a TCP connection to addr, closed with the test.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// associateRaw establishes an association over a raw connection and checks that every context
// of rawRQ was accepted.
func associateRaw(t *testing.T, addr string) (net.Conn, *pdu.Reader) {
	t.Helper()
	c := dialRaw(t, addr)
	if _, err := c.Write(encodePDU(t, rawRQ())); err != nil {
		t.Fatal(err)
	}
	r := pdu.NewReader(c, pdu.Limits{})
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	p, err := r.Next()
	if err != nil {
		t.Fatalf("awaiting A-ASSOCIATE-AC: %v", err)
	}
	ac, ok := p.(*pdu.AssociateAC)
	if !ok {
		t.Fatalf("got %s, want A-ASSOCIATE-AC", p.Type())
	}
	for _, pc := range ac.PresentationContexts {
		if pc.Result != pdu.ResultAcceptance {
			t.Fatalf("presentation context %d: %s", pc.ID, pdu.ResultString(pc.Result))
		}
	}
	c.SetReadDeadline(time.Time{})
	return c, r
}

// ending is how the SCP ended a connection.
type ending struct {
	abort  *pdu.Abort
	rj     *pdu.AssociateRJ
	closed bool // the SCP closed the connection (EOF or reset) without an A-ABORT
	after  time.Duration
}

func (e ending) String() string {
	switch {
	case e.abort != nil:
		return fmt.Sprintf("A-ABORT (%s) after %v", e.abort, e.after.Round(time.Millisecond))
	case e.rj != nil:
		return fmt.Sprintf("A-ASSOCIATE-RJ (%s) after %v", e.rj, e.after.Round(time.Millisecond))
	}
	return fmt.Sprintf("closed after %v", e.after.Round(time.Millisecond))
}

// awaitEnd reads what the SCP sends on c until it aborts, rejects or closes, and fails the test
// unless that happens within d of start, or when it sends any other PDU (or bytes that are not
// a PDU). After an A-ABORT or A-ASSOCIATE-RJ it closes c, as a requestor does.
func awaitEnd(t *testing.T, c net.Conn, r *pdu.Reader, start time.Time, d time.Duration) ending {
	t.Helper()
	if r == nil {
		r = pdu.NewReader(c, pdu.Limits{})
	}
	c.SetReadDeadline(start.Add(d))
	p, err := r.Next()
	e := ending{after: time.Since(start)}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the SCP neither aborted nor closed the connection within %v", d)
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
			t.Fatalf("reading the SCP's answer: %v", err)
		}
		e.closed = true
		return e
	}
	switch p := p.(type) {
	case *pdu.Abort:
		e.abort = p
	case *pdu.AssociateRJ:
		e.rj = p
	default:
		t.Fatalf("the SCP sent %s, want A-ABORT or a closed connection", p.Type())
	}
	c.Close()
	return e
}

// isReset reports whether err is the peer's reset of the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// wantAbortOrClose fails unless the SCP aborted or closed within d.
func wantAbortOrClose(t *testing.T, c net.Conn, r *pdu.Reader, start time.Time, d time.Duration) ending {
	t.Helper()
	e := awaitEnd(t, c, r, start, d)
	if e.rj != nil {
		t.Fatalf("got %s, want A-ABORT or close", e)
	}
	t.Logf("SCP answer: %s", e)
	return e
}

// wantAbort fails unless the SCP sent an A-ABORT within d.
func wantAbort(t *testing.T, c net.Conn, r *pdu.Reader, start time.Time, d time.Duration) ending {
	t.Helper()
	e := awaitEnd(t, c, r, start, d)
	if e.abort == nil {
		t.Fatalf("got %s, want A-ABORT", e)
	}
	t.Logf("SCP answer: %s", e)
	return e
}

// echoOK runs a C-ECHO on a new association and fails the test unless it succeeds within 2 s.
func echoOK(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := dimse.Dial(ctx, addr, dimse.DialOptions{CalledAE: "SCP", Proposals: []dimse.Proposal{dimse.EchoProposal()}})
	if err != nil {
		t.Fatalf("legitimate association after the hostile one: %v", err)
	}
	if err := c.Echo(ctx); err != nil {
		c.Abort()
		t.Fatalf("legitimate C-ECHO after the hostile association: %v", err)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatalf("release: %v", err)
	}
}

// allocDuring returns the bytes allocated by the whole process while fn ran.
func allocDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const maxHostileAlloc = 16 << 20

// bigDataset is a valid CT data set in Explicit VR Little Endian of about n bytes of pixel data.
func bigDataset(t *testing.T, sopInstance string, n int) []byte {
	t.Helper()
	ds := dicom.NewDataset()
	ds.SetString(tag.SOPClassUID, vr.UI, uid.CTImageStorage)
	ds.SetString(tag.SOPInstanceUID, vr.UI, sopInstance)
	ds.SetString(tag.StudyInstanceUID, vr.UI, sopInstance+".1")
	ds.SetString(tag.PatientID, vr.LO, "HOSTILE")
	ds.Set(dicom.Element{Tag: tag.PixelData, VR: vr.OW, Value: make([]byte, n), Offset: -1})
	var b bytes.Buffer
	if err := dicom.WriteDataset(&b, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// manyTransferSyntaxesRQ is an A-ASSOCIATE-RQ with perContext transfer syntax items in each of
// contexts presentation contexts.
func manyTransferSyntaxesRQ(t *testing.T, contexts, perContext int) []byte {
	rq := rawRQ()
	rq.PresentationContexts = nil
	for i := range contexts {
		pc := pdu.PresentationContextRQ{ID: byte(2*i + 1), AbstractSyntax: uid.CTImageStorage}
		for j := range perContext {
			pc.TransferSyntaxes = append(pc.TransferSyntaxes, fmt.Sprintf("1.2.840.10008.1.2.999.%d", j))
		}
		rq.PresentationContexts = append(rq.PresentationContexts, pc)
	}
	return encodePDU(t, rq)
}

// TestHostileInput runs the crafted cases of the test plan (F-3, DIMSE part) against one SCP:
// each must be answered with an A-ABORT or a closed connection (or the stated failure), quickly
// and without large allocations, and after each a legitimate C-ECHO on a new association must
// succeed.
func TestHostileInput(t *testing.T) {
	scp, findReturned, logs := hostileSCP(t)
	addr := scp.Addr
	cases := []struct {
		name string
		run  func(t *testing.T)
		// wantLog, if set, is part of the SCP's log line that gives the reason for the abort.
		wantLog string
	}{
		{"A-ASSOCIATE-RQ with PDU length 0xFFFFFFFF", func(t *testing.T) {
			c := dialRaw(t, addr)
			alloc := allocDuring(func() {
				start := time.Now()
				c.Write(append([]byte{0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF}, make([]byte, 4096)...))
				wantAbortOrClose(t, c, nil, start, quickly)
			})
			if alloc > maxHostileAlloc {
				t.Errorf("%d bytes allocated, want < %d", alloc, maxHostileAlloc)
			}
		}, ""},
		{"P-DATA-TF with PDU length 0xFFFFFFFF", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			alloc := allocDuring(func() {
				start := time.Now()
				c.Write(append([]byte{0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xFF}, make([]byte, 4096)...))
				e := wantAbort(t, c, r, start, quickly)
				if e.abort.Source != pdu.AbortServiceProvider {
					t.Errorf("A-ABORT source %s, want the service-provider", e.abort.Source)
				}
			})
			if alloc > maxHostileAlloc {
				t.Errorf("%d bytes allocated, want < %d", alloc, maxHostileAlloc)
			}
		}, ""},
		{"unknown PDU type with PDU length 0xFFFFFFFF", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			alloc := allocDuring(func() {
				start := time.Now()
				c.Write([]byte{0x09, 0x00, 0xFF, 0xFF, 0xFF, 0xFF})
				e := wantAbort(t, c, r, start, quickly)
				if e.abort.Reason != pdu.AbortUnrecognizedPDU {
					t.Errorf("A-ABORT reason %s, want unrecognized PDU", e.abort.Reason)
				}
			})
			if alloc > maxHostileAlloc {
				t.Errorf("%d bytes allocated, want < %d", alloc, maxHostileAlloc)
			}
		}, ""},
		{"PDV length 0", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			// PDU-length 6: a PDV item of length 0 and two stray bytes.
			c.Write([]byte{0x04, 0x00, 0, 0, 0, 6, 0, 0, 0, 0, pcEcho, 0x03})
			wantAbort(t, c, r, start, quickly)
		}, ""},
		{"PDV length 1", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			c.Write([]byte{0x04, 0x00, 0, 0, 0, 6, 0, 0, 0, 1, pcEcho, 0x03})
			wantAbort(t, c, r, start, quickly)
		}, ""},
		{"PDV longer than its PDU", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			c.Write([]byte{0x04, 0x00, 0, 0, 0, 10, 0, 0, 0, 100, pcEcho, 0x03, 1, 2, 3, 4})
			wantAbort(t, c, r, start, quickly)
		}, ""},
		{"PDV on a presentation context not accepted", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			c.Write(command(t, 7, &dimse.Command{Field: dimse.CEchoRQ, MessageID: 1, AffectedSOPClassUID: dimse.VerificationSOPClass}))
			wantAbort(t, c, r, start, quickly)
		}, ""},
		{"command without its last fragment, then silence", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			cmd := dimse.EncodeCommand(&dimse.Command{Field: dimse.CEchoRQ, MessageID: 1, AffectedSOPClassUID: dimse.VerificationSOPClass})
			c.Write(pdata(t, pcEcho, true, false, cmd[:10]))
			e := wantAbort(t, c, r, start, hostileIdle+time.Second)
			if e.after < hostileIdle-100*time.Millisecond {
				t.Errorf("aborted after %v, before the idle timeout of %v", e.after, hostileIdle)
			}
		}, ""},
		{"P-DATA-TF before association", func(t *testing.T) {
			c := dialRaw(t, addr)
			start := time.Now()
			c.Write(command(t, pcEcho, &dimse.Command{Field: dimse.CEchoRQ, MessageID: 1, AffectedSOPClassUID: dimse.VerificationSOPClass}))
			wantAbortOrClose(t, c, nil, start, quickly)
		}, ""},
		{"A-ASSOCIATE-RQ with 16,000 transfer syntaxes over 128 contexts", func(t *testing.T) {
			// 125 transfer syntax items in each of 128 contexts: 16,000 items, 336 KB, within
			// the PDU-length limit, beyond the 64 items per context the SCP reads.
			b := manyTransferSyntaxesRQ(t, 128, 125)
			c := dialRaw(t, addr)
			alloc := allocDuring(func() {
				start := time.Now()
				go c.Write(b)
				wantAbortOrClose(t, c, nil, start, quickly)
			})
			if alloc > maxHostileAlloc {
				t.Errorf("%d bytes allocated, want < %d", alloc, maxHostileAlloc)
			}
		}, ""},
		{"A-ASSOCIATE-RQ of 16,000 transfer syntaxes in each of 128 contexts", func(t *testing.T) {
			// No item can hold 16,000 transfer syntaxes (a 2-byte item length): the request
			// announces the 43 MB it would take and sends its first 64 KiB.
			body := 128 * (4 + 4 + len(uid.CTImageStorage) + 16000*(4+len("1.2.840.10008.1.2.1")))
			head := manyTransferSyntaxesRQ(t, 3, 2000)
			binary.BigEndian.PutUint32(head[2:], uint32(body))
			c := dialRaw(t, addr)
			alloc := allocDuring(func() {
				start := time.Now()
				go c.Write(head[:64<<10])
				wantAbortOrClose(t, c, nil, start, quickly)
			})
			if alloc > maxHostileAlloc {
				t.Errorf("%d bytes allocated, want < %d", alloc, maxHostileAlloc)
			}
		}, ""},
		{"second A-ASSOCIATE-RQ mid-association", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			c.Write(encodePDU(t, rawRQ()))
			wantAbort(t, c, r, start, quickly)
		}, ""},
		{"A-ASSOCIATE-AC sent to the SCP", func(t *testing.T) {
			c := dialRaw(t, addr)
			start := time.Now()
			c.Write(encodePDU(t, &pdu.AssociateAC{ProtocolVersion: pdu.ProtocolVersion1, CalledAE: "SCP", CallingAE: "HOSTILE",
				ApplicationContext:   pdu.ApplicationContextName,
				PresentationContexts: []pdu.PresentationContextAC{{ID: 1, Result: pdu.ResultAcceptance, TransferSyntax: dicom.ImplicitVRLittleEndian}}}))
			wantAbortOrClose(t, c, nil, start, quickly)
		}, ""},
		{"A-ASSOCIATE-AC sent to the SCP mid-association", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			c.Write(encodePDU(t, &pdu.AssociateAC{ProtocolVersion: pdu.ProtocolVersion1, CalledAE: "SCP", CallingAE: "HOSTILE",
				ApplicationContext: pdu.ApplicationContextName}))
			wantAbort(t, c, r, start, quickly)
		}, ""},
		{"HTTP request to the DIMSE port", func(t *testing.T) {
			c := dialRaw(t, addr)
			start := time.Now()
			c.Write([]byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: hostile\r\nAccept: */*\r\n\r\n"))
			wantAbortOrClose(t, c, nil, start, quickly)
		}, ""},
		{"TLS ClientHello to the plain DIMSE port", func(t *testing.T) {
			c := dialRaw(t, addr)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			tc := tls.Client(c, &tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS12})
			err := tc.HandshakeContext(ctx)
			took := time.Since(start)
			if err == nil {
				t.Fatal("TLS handshake with the plain DIMSE port succeeded")
			}
			if took > quickly {
				t.Errorf("the handshake failed after %v, want < %v: %v", took, quickly, err)
			}
			t.Logf("handshake failed after %v: %v", took.Round(time.Millisecond), err)
		}, ""},
		{"idle socket that never sends", func(t *testing.T) {
			c := dialRaw(t, addr)
			e := awaitEnd(t, c, nil, time.Now(), hostileARTIM+time.Second)
			if !e.closed {
				t.Fatalf("got %s, want the connection closed", e)
			}
			if e.after < hostileARTIM-100*time.Millisecond {
				t.Errorf("closed after %v, before the ARTIM timeout of %v", e.after, hostileARTIM)
			}
			t.Logf("idle socket closed after %v (ARTIM %v)", e.after.Round(time.Millisecond), hostileARTIM)
		}, ""},
		{"C-STORE of a data set larger than MaxDataSetSize", func(t *testing.T) {
			ctx := ctxT(t)
			const sop = "1.2.826.0.1.3680043.10.1447.1"
			data := bigDataset(t, sop, 256<<10)
			c, err := dimse.Dial(ctx, addr, dimse.DialOptions{CalledAE: "SCP", Proposals: dimse.Proposals(uid.CTImageStorage)})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			st, err := c.Store(ctx, dimse.StoreRequest{SOPClassUID: uid.CTImageStorage, SOPInstanceUID: sop,
				TransferSyntax: dicom.ExplicitVRLittleEndian, Data: bytes.NewReader(data)})
			took := time.Since(start)
			c.Abort()
			if err == nil {
				t.Fatalf("C-STORE of %d bytes over a limit of 64 KiB: status %s", len(data), st)
			}
			if took > time.Second {
				t.Errorf("C-STORE ended after %v", took)
			}
			t.Logf("C-STORE of %d bytes: status %s, %v", len(data), st, err)
			if n := len(scp.Instances()); n != 0 {
				t.Errorf("%d instances stored, want none", n)
			}
		}, "data set larger than"},
		{"garbage command set", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			c.Write(pdata(t, pcEcho, true, true, []byte("\xde\xad\xbe\xef this is not a command set")))
			wantAbort(t, c, r, start, quickly)
		}, "invalid command set"},
		{"command set with elements outside group 0000", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			ds := dicom.NewDataset()
			ds.SetString(tag.PatientName, vr.PN, "DOE^JOHN")
			var b bytes.Buffer
			if err := dicom.WriteDataset(&b, ds, dicom.ImplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			c.Write(pdata(t, pcEcho, true, true, b.Bytes()))
			wantAbort(t, c, r, start, quickly)
		}, "outside group 0000"},
		{"data set PDV where a command is expected", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			c.Write(pdata(t, pcCT, false, true, bigDataset(t, "1.2.3.4", 16)))
			wantAbort(t, c, r, start, quickly)
		}, "a data set arrived where a command was expected"},
		{"command announcing a data set followed by another command", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			start := time.Now()
			c.Write(command(t, pcCT, &dimse.Command{Field: dimse.CStoreRQ, MessageID: 1, AffectedSOPClassUID: uid.CTImageStorage,
				AffectedSOPInstanceUID: "1.2.3.4", HasDataSet: true}))
			c.Write(command(t, pcEcho, &dimse.Command{Field: dimse.CEchoRQ, MessageID: 2, AffectedSOPClassUID: dimse.VerificationSOPClass}))
			wantAbort(t, c, r, start, quickly)
			if n := len(scp.Instances()); n != 0 {
				t.Errorf("%d instances stored, want none", n)
			}
		}, "did not follow it on its presentation context"},
		{"request while another is in progress", func(t *testing.T) {
			c, r := associateRaw(t, addr)
			q := dicom.NewDataset()
			q.SetString(tag.PatientID, vr.LO, "")
			var b bytes.Buffer
			if err := dicom.WriteDataset(&b, q, dicom.ImplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			c.Write(command(t, pcWorklist, &dimse.Command{Field: dimse.CFindRQ, MessageID: 1,
				AffectedSOPClassUID: uid.ModalityWorklistInformationModelFind, HasDataSet: true}))
			c.Write(pdata(t, pcWorklist, false, true, b.Bytes()))
			// The handler blocks; a second request exceeds the window of 1.
			time.Sleep(50 * time.Millisecond)
			start := time.Now()
			c.Write(command(t, pcEcho, &dimse.Command{Field: dimse.CEchoRQ, MessageID: 2, AffectedSOPClassUID: dimse.VerificationSOPClass}))
			wantAbort(t, c, r, start, quickly)
			select {
			case <-findReturned:
			case <-time.After(time.Second):
				t.Error("the handler of the request in progress was not canceled by the abort")
			}
		}, "asynchronous operations window is 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mark := logs.mark()
			tc.run(t)
			if tc.wantLog != "" && !logs.waitFor(mark, tc.wantLog) {
				t.Errorf("no SCP log line says %q; the log:\n%s", tc.wantLog, logs.b.String()[mark:])
			}
			echoOK(t, addr)
		})
	}
}

// openFDs counts the open file descriptors of the process.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open file descriptors: %v", err)
	}
	return len(ents)
}

// backToBaseline waits, at most 5 s, until the goroutine and file descriptor counts are no
// higher than the baseline, and fails the test otherwise.
func backToBaseline(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			t.Logf("back to baseline: %d goroutines (baseline %d), %d FDs (baseline %d)", g, goroutines, f, fds)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %d goroutines (baseline %d), %d open FDs (baseline %d)", g, goroutines, f, fds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dialMany opens n TCP connections to addr, 32 at a time.
func dialMany(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conns[i], errs[i] = net.DialTimeout("tcp", addr, 5*time.Second)
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return conns
}

// TestFloodIdleConnections opens 1,000 TCP connections at once and holds them idle (test plan
// P-3 a and c): a legitimate C-ECHO association completes within 2 s meanwhile, every idle
// socket is closed by the SCP at the ARTIM timeout, and goroutines and file descriptors return
// to their baseline.
func TestFloodIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short mode")
	}
	const n = 1000
	scp := dimsetest.Start(t, "SCP", func(s *dimse.Server) {
		s.Config.ARTIMTimeout = hostileARTIM
		// The default, 4 × MaxAssociations = 256, would close most of the flood at once, and
		// with it the legitimate association (see TestConnectionLimit).
		s.MaxConnections = n + 64
	})
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	start := time.Now()
	conns := dialMany(t, scp.Addr, n)
	opened := time.Since(start)
	t.Logf("%d connections opened in %v", n, opened.Round(time.Millisecond))
	echoStart := time.Now()
	echoOK(t, scp.Addr)
	if took := time.Since(echoStart); took > 2*time.Second {
		t.Errorf("legitimate C-ECHO during the flood took %v, want ≤ 2 s", took)
	} else {
		t.Logf("legitimate C-ECHO during the flood: %v", took.Round(time.Millisecond))
	}
	// Every idle socket is closed at the ARTIM timeout, counted from its accept.
	closedAt := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(start.Add(opened + hostileARTIM + 2*time.Second))
			_, err := io.Copy(io.Discard, c)
			if err != nil && !isReset(err) {
				closedAt[i] = -1
				return
			}
			closedAt[i] = time.Since(start)
		}()
	}
	wg.Wait()
	var early, late int
	var last time.Duration
	for _, d := range closedAt {
		switch {
		case d < 0:
			late++
		case d < hostileARTIM-100*time.Millisecond:
			early++
		}
		last = max(last, d)
	}
	if early > 0 || late > 0 {
		t.Errorf("of %d idle sockets, %d were closed before the ARTIM timeout and %d not within it + 2 s", n, early, late)
	}
	t.Logf("all idle sockets closed by %v after the first connect (ARTIM %v)", last.Round(time.Millisecond), hostileARTIM)
	for _, c := range conns {
		c.Close()
	}
	backToBaseline(t, goroutines, fds)
}

// TestConnectionLimit floods with more idle connections than MaxConnections: those over the
// limit are closed at once, those under it at the ARTIM timeout, after which a legitimate
// association succeeds again.
func TestConnectionLimit(t *testing.T) {
	const limit, n = 64, 200
	scp := dimsetest.Start(t, "SCP", func(s *dimse.Server) {
		s.Config.ARTIMTimeout = hostileARTIM
		s.MaxConnections = limit
	})
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	start := time.Now()
	conns := dialMany(t, scp.Addr, n)
	var atOnce, atARTIM, open int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(start.Add(hostileARTIM + 2*time.Second))
			_, err := io.Copy(io.Discard, c)
			took := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && !isReset(err):
				open++
			case took < hostileARTIM/2:
				atOnce++
			default:
				atARTIM++
			}
		}()
	}
	wg.Wait()
	t.Logf("%d connections: %d closed at once, %d at the ARTIM timeout, %d left open", n, atOnce, atARTIM, open)
	if atOnce < n-limit || atARTIM > limit || open > 0 {
		t.Errorf("%d connections over a limit of %d: %d closed at once, %d at the ARTIM timeout, %d left open",
			n, limit, atOnce, atARTIM, open)
	}
	for _, c := range conns {
		c.Close()
	}
	echoOK(t, scp.Addr)
	backToBaseline(t, goroutines, fds)
}

// TestAssociateAbortCycles runs 1,000 connect → A-ASSOCIATE-RQ → A-ABORT cycles (test plan P-3
// b, scaled): no goroutine or file descriptor is left behind.
func TestAssociateAbortCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short mode")
	}
	const n, workers = 1000, 4
	scp := dimsetest.Start(t, "SCP", func(s *dimse.Server) { s.Config.ARTIMTimeout = hostileARTIM })
	rq := encodePDU(t, rawRQ())
	abort := encodePDU(t, &pdu.Abort{Source: pdu.AbortServiceUser})
	cycle := func() error {
		c, err := net.DialTimeout("tcp", scp.Addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write(rq); err != nil {
			return err
		}
		p, err := pdu.NewReader(c, pdu.Limits{}).Next()
		if err != nil {
			return fmt.Errorf("awaiting A-ASSOCIATE-AC: %w", err)
		}
		if p.Type() != pdu.TypeAssociateAC {
			return fmt.Errorf("got %s, want A-ASSOCIATE-AC", p.Type())
		}
		_, err = c.Write(abort)
		return err
	}
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	var mem0, mem1 runtime.MemStats
	runtime.ReadMemStats(&mem0)
	start := time.Now()
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for range n / workers {
				if err := cycle(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d cycles in %v", n, time.Since(start).Round(time.Millisecond))
	backToBaseline(t, goroutines, fds)
	runtime.GC()
	runtime.ReadMemStats(&mem1)
	if grow := int64(mem1.HeapInuse) - int64(mem0.HeapInuse); grow > 16<<20 {
		t.Errorf("heap in use grew by %d bytes over %d cycles", grow, n)
	}
	echoOK(t, scp.Addr)
}

// TestMaxAssociations: beyond MaxAssociations, a request is rejected (rejected-transient,
// service-provider presentation, local limit exceeded), and accepted again once one ends.
func TestMaxAssociations(t *testing.T) {
	scp := dimsetest.Start(t, "SCP", func(s *dimse.Server) {
		s.Config.ARTIMTimeout = hostileARTIM
		s.MaxAssociations = 2
	})
	ctx := ctxT(t)
	opts := dimse.DialOptions{CalledAE: "SCP", Proposals: []dimse.Proposal{dimse.EchoProposal()}}
	var held []*dimse.Client
	for range 2 {
		c, err := dimse.Dial(ctx, scp.Addr, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Abort()
		held = append(held, c)
	}
	_, err := dimse.Dial(ctx, scp.Addr, opts)
	if err == nil {
		t.Fatal("a third association was accepted with MaxAssociations 2")
	}
	if msg := err.Error(); !strings.Contains(msg, "local limit exceeded") || !strings.Contains(msg, "transient") {
		t.Errorf("third association: %v, want a transient rejection for the local limit", err)
	}
	// The same over a raw connection: the A-ASSOCIATE-RJ's fields.
	c := dialRaw(t, scp.Addr)
	start := time.Now()
	c.Write(encodePDU(t, rawRQ()))
	e := awaitEnd(t, c, nil, start, quickly)
	want := pdu.AssociateRJ{Result: pdu.RejectedTransient, Source: pdu.SourceServiceProviderPresentation, Reason: pdu.ReasonLocalLimitExceeded}
	if e.rj == nil || *e.rj != want {
		t.Fatalf("got %s, want A-ASSOCIATE-RJ (%s)", e, want)
	}
	// Once one ends, a new association is accepted.
	if err := held[0].Release(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := dimse.Dial(ctx, scp.Addr, opts)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no association accepted after one of the two ended: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := held[1].Echo(ctx); err != nil {
		t.Fatalf("held association: %v", err)
	}
}

// TestStoreHandlerPanic: a C-STORE handler that panics, before or while reading the data set,
// aborts its own association only; another association goes on and new ones are accepted.
func TestStoreHandlerPanic(t *testing.T) {
	for _, readFirst := range []int{0, 4 << 10} {
		t.Run(fmt.Sprintf("after reading %d bytes", readFirst), func(t *testing.T) {
			var calls int
			var mu sync.Mutex
			scp := dimsetest.Start(t, "SCP", func(s *dimse.Server) {
				s.Config.ARTIMTimeout = hostileARTIM
				s.Handler.(*dimse.ServeMux).HandleFunc(dimse.CStoreRQ, func(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
					mu.Lock()
					calls++
					mu.Unlock()
					io.CopyN(io.Discard, r.Data, int64(readFirst))
					panic("store handler panic")
				}, uid.CTImageStorage)
			})
			ctx := ctxT(t)
			other, err := dimse.Dial(ctx, scp.Addr, dimse.DialOptions{CalledAE: "SCP", Proposals: []dimse.Proposal{dimse.EchoProposal()}})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			c, err := dimse.Dial(ctx, scp.Addr, dimse.DialOptions{CalledAE: "SCP", Proposals: dimse.Proposals(uid.CTImageStorage)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			const sop = "1.2.826.0.1.3680043.10.1447.2"
			st, err := c.Store(ctx, dimse.StoreRequest{SOPClassUID: uid.CTImageStorage, SOPInstanceUID: sop,
				TransferSyntax: dicom.ExplicitVRLittleEndian, Data: bytes.NewReader(bigDataset(t, sop, 128<<10))})
			if err == nil {
				t.Fatalf("C-STORE to a panicking handler: status %s, no error", st)
			}
			var ab *ul.AbortError
			if !errors.As(err, &ab) {
				t.Errorf("C-STORE to a panicking handler: %v, want the association aborted", err)
			}
			mu.Lock()
			if calls != 1 {
				t.Errorf("handler called %d times", calls)
			}
			mu.Unlock()
			if err := other.Echo(ctx); err != nil {
				t.Fatalf("the other association did not survive: %v", err)
			}
			echoOK(t, scp.Addr)
		})
	}
}
