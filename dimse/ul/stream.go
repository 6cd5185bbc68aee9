package ul

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
)

// Stream is the fragments of one command or one data set received as PDVs
// (PS3.8 Annex E): all on one presentation context, all command or all data
// set, the last one flagged. Read returns their data and io.EOF after the
// last fragment.
type Stream struct {
	ContextID byte
	Command   bool

	a    *Association
	ctx  context.Context
	data []byte // rest of the current fragment
	last bool   // the current fragment is the last
	err  error
}

// ReadStream returns the stream of PDVs that begins with the next PDV
// received (DT-2). The rest of a previous stream not read to its end is
// discarded first. ctx governs the reads of the whole stream; between PDUs
// the idle timeout applies.
//
// When the peer requests release instead (AR-2), ReadStream returns
// ErrReleaseRequested; answer with Release. A PDV on a presentation context
// not accepted, or a stream whose fragments change context or kind, is a
// protocol error: the association is aborted (AA-8).
func (a *Association) ReadStream(ctx context.Context) (*Stream, error) {
	a.readMu.Lock()
	defer a.readMu.Unlock()
	if s := a.stream; s != nil && s.err == nil {
		for {
			if _, err := s.readLocked(nil); err != nil {
				break
			}
		}
	}
	a.stream = nil
	v, err := a.nextPDV(ctx)
	if err != nil {
		return nil, err
	}
	s := &Stream{ContextID: v.ContextID, Command: v.Command, a: a, ctx: ctx, data: v.Data, last: v.Last}
	a.stream = s
	return s, nil
}

// Read reads the data of the stream's fragments.
func (s *Stream) Read(p []byte) (int, error) {
	s.a.readMu.Lock()
	defer s.a.readMu.Unlock()
	return s.readLocked(p)
}

// readLocked reads into p; with p nil it skips the current fragment.
func (s *Stream) readLocked(p []byte) (int, error) {
	for len(s.data) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.last {
			s.err = io.EOF
			return 0, io.EOF
		}
		v, err := s.a.nextPDV(s.ctx)
		if err != nil {
			s.err = err
			return 0, err
		}
		if v.ContextID != s.ContextID || v.Command != s.Command {
			s.err = s.a.providerAbort(fmt.Errorf("%w: PDV (context %d, command %t) inside the stream of context %d, command %t",
				ErrProtocol, v.ContextID, v.Command, s.ContextID, s.Command), pdu.AbortUnexpectedPDUParameter)
			return 0, s.err
		}
		s.data, s.last = v.Data, v.Last
	}
	if p == nil {
		n := len(s.data)
		s.data = nil
		return n, nil
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

// nextPDV returns the next PDV received, reading a P-DATA-TF when none is
// pending. Its Data is valid until the next read. The caller holds readMu.
func (a *Association) nextPDV(ctx context.Context) (pdu.PDV, error) {
	for len(a.pending) == 0 {
		switch a.State() {
		case Sta6, Sta8:
		default:
			return pdu.PDV{}, a.stateError("reading P-DATA")
		}
		_, action, p, err := a.receive(ctx, a.cfg.IdleTimeout)
		if err != nil {
			return pdu.PDV{}, err
		}
		switch action {
		case DT2:
			a.pendBuf = append(a.pendBuf[:0], p.(*pdu.PDataTF).Items...)
			a.pending = a.pendBuf
		case AR2:
			return pdu.PDV{}, ErrReleaseRequested
		default:
			return pdu.PDV{}, a.stateError("reading P-DATA")
		}
	}
	v := a.pending[0]
	a.pending = a.pending[1:]
	if _, ok := a.contexts[v.ContextID]; !ok {
		return pdu.PDV{}, a.providerAbort(fmt.Errorf("%w: PDV on presentation context %d: %w", ErrProtocol, v.ContextID, ErrUnknownContext),
			pdu.AbortInvalidPDUParameterValue)
	}
	return v, nil
}

// providerAbort aborts for an invalid P-DATA-TF, as Evt19 (AA-8)
// prescribes. The caller holds readMu.
func (a *Association) providerAbort(cause error, reason pdu.AbortReason) error {
	ab := pdu.Abort{Source: pdu.AbortServiceProvider, Reason: reason}
	err := a.end(&AbortError{Abort: ab, Local: true, Err: cause})
	if a.fire(Evt19) == AA8 {
		a.sendAbort(ab)
		a.awaitClose()
	} else {
		a.closeConn()
		a.setState(Sta1)
	}
	a.pending = a.pending[:0]
	return err
}

// Send sends data as one command or data set on presentation context id,
// split into PDVs of the negotiated size (see WriteStream).
func (a *Association) Send(ctx context.Context, id byte, command bool, data []byte) error {
	return a.WriteStream(ctx, id, command, bytes.NewReader(data))
}

// WriteStream sends what r yields, to io.EOF, as one command or data set on
// presentation context id: P-DATA-TF PDUs of one PDV each (P-DATA request
// primitives, DT-1 in Sta6 or AR-7 in Sta8), as large as the peer's Maximum
// Length allows (PS3.8 D.1) and no larger than our own, the last flagged as
// such (PS3.8 Annex E). It holds one fragment in memory, never all of r.
//
// A failure to read r after fragments were sent leaves the peer with an
// incomplete message: the association is aborted. Only one WriteStream or
// Send runs at a time; further calls wait.
func (a *Association) WriteStream(ctx context.Context, id byte, command bool, r io.Reader) error {
	if _, ok := a.contexts[id]; !ok {
		return fmt.Errorf("ul: write on presentation context %d: %w", id, ErrUnknownContext)
	}
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	const hdr = pdu.HeaderLen + pdu.PDVHeaderLen
	// Fragments are even: PS3.8 E.2 requires even PDV lengths, and peers (DCMTK) abort on odd
	// ones.
	chunk := int(a.pdvMax) &^ 1
	if len(a.wbuf) < hdr+chunk {
		a.wbuf = make([]byte, hdr+chunk)
	}
	data := a.wbuf[hdr : hdr+chunk]
	var look [1]byte
	haveLook := false
	for sent := 0; ; sent++ {
		n := 0
		if haveLook {
			data[0] = look[0]
			n = 1
		}
		m, err := io.ReadFull(r, data[n:])
		n += m
		last := false
		switch {
		case err == nil:
			// Full: is there more? Read one byte ahead.
			k, lerr := io.ReadFull(r, look[:])
			haveLook = k == 1
			switch {
			case lerr == io.EOF:
				last = true
			case lerr != nil:
				return a.writeFailed(sent, fmt.Errorf("ul: read data to send: %w", lerr))
			}
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			last = true
		default:
			return a.writeFailed(sent, fmt.Errorf("ul: read data to send: %w", err))
		}
		if last && n%2 == 1 && !command {
			// An odd-length data set (a malformed input) gets the padding byte the encoding
			// rules require, as DCMTK's senders add it; there is room, chunk being even.
			data[n] = 0
			n++
		}
		if err := a.writePDV(ctx, id, command, last, n); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// writePDV sends a.wbuf holding one PDV of n data bytes as a P-DATA-TF:
// the P-DATA request primitive, Evt9. The caller holds sendMu.
func (a *Association) writePDV(ctx context.Context, id byte, command, last bool, n int) error {
	const hdr = pdu.HeaderLen + pdu.PDVHeaderLen
	pdu.AppendSinglePDV(a.wbuf[:0], id, command, last, uint32(n))
	a.writeMu.Lock()
	switch a.fire(Evt9) {
	case DT1, AR7:
	default:
		a.writeMu.Unlock()
		return a.stateError("P-DATA request")
	}
	err := a.write(ctx, a.wbuf[:hdr+n], deadline(a.cfg.IdleTimeout))
	broken := a.broken
	a.writeMu.Unlock()
	if err == nil {
		return nil
	}
	if s := a.State(); s == Sta1 || s == Sta13 {
		// Aborted or lost meanwhile: report why.
		return a.ended()
	}
	if ctx.Err() != nil && !broken {
		return a.abortWriter(err)
	}
	// The transport failed, or a PDU went out in part: the connection is
	// of no further use (Evt17, AA-4).
	_, aerr := a.act(Evt17, nil, err)
	return aerr
}

// writeFailed handles a failure of the data source: before any fragment
// went out nothing is lost; after, the association is aborted.
func (a *Association) writeFailed(sent int, err error) error {
	if sent == 0 {
		return err
	}
	return a.abortWriter(err)
}

// abortWriter aborts from the sending side (Evt15, AA-1).
func (a *Association) abortWriter(cause error) error {
	return a.userAbort(cause, false)
}
