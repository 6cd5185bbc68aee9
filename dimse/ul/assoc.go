package ul

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
)

// Defaults of Config.
const (
	// DefaultARTIMTimeout is the ARTIM timer of PS3.8 9.1.5.
	DefaultARTIMTimeout = 30 * time.Second
	// DefaultMaxPDULength is the Maximum Length (PS3.8 D.1) we advertise,
	// and the largest P-DATA-TF we send.
	DefaultMaxPDULength = 256 << 10
	// DefaultImplementationClassUID identifies this implementation
	// (PS3.7 D.3.3.2), a UUID-derived UID (PS3.5 B.2).
	DefaultImplementationClassUID = "2.25.26544902480914579885361105028396925714"
	// DefaultImplementationVersionName goes with it.
	DefaultImplementationVersionName = "LIGHTBOX"
)

// Config configures an Association. The zero value is usable.
type Config struct {
	// MaxPDULength is the Maximum Length sub-item we send (PS3.8 D.1): the
	// largest P-DATA-TF PDU-length we accept. We never send a P-DATA-TF
	// larger than the peer's limit, nor than this. Default
	// DefaultMaxPDULength.
	MaxPDULength uint32
	// ARTIMTimeout is the ARTIM timer (PS3.8 9.1.5); it also bounds the
	// wait for A-ASSOCIATE-AC/RJ and for A-RELEASE-RP. Default
	// DefaultARTIMTimeout.
	ARTIMTimeout time.Duration
	// IdleTimeout, if positive, aborts the association when nothing
	// arrives for that long while reading in Sta6, and bounds each write.
	IdleTimeout time.Duration
	// ImplementationClassUID and ImplementationVersionName fill the User
	// Information of our A-ASSOCIATE-RQ or -AC when left empty there.
	ImplementationClassUID    string
	ImplementationVersionName string
	// Limits bound the PDUs we read; MaxPDataLength is raised to at least
	// MaxPDULength.
	Limits pdu.Limits
	// Logger receives state transitions at debug level. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxPDULength == 0 {
		c.MaxPDULength = DefaultMaxPDULength
	}
	if c.ARTIMTimeout <= 0 {
		c.ARTIMTimeout = DefaultARTIMTimeout
	}
	if c.ImplementationClassUID == "" {
		c.ImplementationClassUID = DefaultImplementationClassUID
		if c.ImplementationVersionName == "" {
			c.ImplementationVersionName = DefaultImplementationVersionName
		}
	}
	if c.Limits.MaxPDataLength != 0 && c.Limits.MaxPDataLength < c.MaxPDULength {
		c.Limits.MaxPDataLength = c.MaxPDULength
	}
	if c.Limits.MaxPDataLength == 0 && c.MaxPDULength > pdu.DefaultMaxPDataLength {
		c.Limits.MaxPDataLength = c.MaxPDULength
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// PresentationContext is a presentation context accepted on an association.
type PresentationContext struct {
	ID             byte
	AbstractSyntax string
	TransferSyntax string
}

// Association is one DICOM association over a transport connection, on
// either side, driven through the state machine of PS3.8 9.2.
//
// One goroutine may read (ReadStream and the Streams it returns) while
// another writes (WriteStream, Send); Abort may be called from any
// goroutine at any time and interrupts both. Release and Close must not run
// concurrently with a read.
type Association struct {
	conn net.Conn
	cfg  Config
	log  *slog.Logger
	role Role

	rq       *pdu.AssociateRQ
	ac       *pdu.AssociateAC
	contexts map[byte]PresentationContext
	pdvMax   uint32 // data bytes per PDV we send

	mu        sync.Mutex
	state     State
	cause     error // why the association ended
	closeOnce sync.Once

	readMu  sync.Mutex // held while reading PDUs
	rd      *pdu.Reader
	pending []pdu.PDV // received PDVs not yet consumed; they alias rd's buffer
	pendBuf []pdu.PDV // backing array of pending, reused for every P-DATA-TF
	stream  *Stream   // the stream being read

	sendMu sync.Mutex // held by the one sender of a stream or release PDU
	wbuf   []byte     // PDU being sent; guarded by sendMu

	writeMu sync.Mutex // held while writing one PDU to conn
	broken  bool       // a PDU was written in part; guarded by writeMu
}

func newAssociation(conn net.Conn, cfg Config, role Role) *Association {
	cfg = cfg.withDefaults()
	return &Association{
		conn:  conn,
		cfg:   cfg,
		log:   cfg.Logger.With("role", role.String(), "peer", conn.RemoteAddr().String()),
		role:  role,
		state: Sta1,
		rd:    pdu.NewReader(conn, cfg.Limits),
	}
}

// Role returns the side this association plays.
func (a *Association) Role() Role { return a.role }

// State returns the current state of the state machine.
func (a *Association) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// RQ returns the A-ASSOCIATE-RQ sent or received.
func (a *Association) RQ() *pdu.AssociateRQ { return a.rq }

// AC returns the A-ASSOCIATE-AC sent or received.
func (a *Association) AC() *pdu.AssociateAC { return a.ac }

// RemoteAddr returns the address of the peer.
func (a *Association) RemoteAddr() net.Addr { return a.conn.RemoteAddr() }

// PeerMaxPDULength returns the Maximum Length the peer advertised
// (PS3.8 D.1); zero means no limit.
func (a *Association) PeerMaxPDULength() uint32 {
	if a.role == Requestor {
		return a.ac.UserInfo.MaxLength
	}
	return a.rq.UserInfo.MaxLength
}

// MaxPDVData returns the largest fragment WriteStream puts in one PDV.
func (a *Association) MaxPDVData() uint32 { return a.pdvMax }

// Contexts returns the accepted presentation contexts, by ID.
func (a *Association) Contexts() []PresentationContext {
	out := make([]PresentationContext, 0, len(a.contexts))
	for _, pc := range a.contexts {
		out = append(out, pc)
	}
	slices.SortFunc(out, func(x, y PresentationContext) int { return int(x.ID) - int(y.ID) })
	return out
}

// Context returns the accepted presentation context id.
func (a *Association) Context(id byte) (PresentationContext, bool) {
	pc, ok := a.contexts[id]
	return pc, ok
}

// ContextFor returns the accepted presentation context of lowest ID for
// abstractSyntax, with one of transferSyntaxes if any are given.
func (a *Association) ContextFor(abstractSyntax string, transferSyntaxes ...string) (PresentationContext, bool) {
	for _, pc := range a.Contexts() {
		if pc.AbstractSyntax == abstractSyntax && (len(transferSyntaxes) == 0 || slices.Contains(transferSyntaxes, pc.TransferSyntax)) {
			return pc, true
		}
	}
	return PresentationContext{}, false
}

// fire runs event ev through Table 9-10, moves to the next state and
// returns the action to take (NoAction for a blank cell, in which case the
// state is unchanged).
func (a *Association) fire(ev Event) Action {
	a.mu.Lock()
	from := a.state
	act, next := Next(from, ev, a.role)
	a.state = next
	a.mu.Unlock()
	if act != DT1 && act != DT2 && act != AR7 && act != AR6 {
		a.log.Debug("dicom ul", "state", from, "event", ev, "action", act, "next", next)
	}
	return act
}

// setState moves to s outside Table 9-10: the "otherwise" branch of AE-6,
// and closing a transport connection on which there is no association.
func (a *Association) setState(s State) {
	a.mu.Lock()
	a.state = s
	a.mu.Unlock()
}

// end records why the association ended, if nothing was recorded before.
func (a *Association) end(err error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cause == nil {
		a.cause = err
	}
	return err
}

// ended returns the error for a primitive requested after the association
// ended.
func (a *Association) ended() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cause != nil {
		return fmt.Errorf("%w: %w", ErrClosed, a.cause)
	}
	return ErrClosed
}

// stateError returns the error for a primitive not allowed in the current
// state.
func (a *Association) stateError(what string) error {
	if s := a.State(); s != Sta1 && s != Sta13 {
		return fmt.Errorf("%w: %s in %s", ErrState, what, s)
	}
	return a.ended()
}

func (a *Association) closeConn() {
	a.closeOnce.Do(func() {
		if err := a.conn.Close(); err != nil {
			a.log.Debug("dicom ul: close", "err", err)
		}
	})
}

// past is a deadline in the past, to interrupt a blocked read or write.
var past = time.Unix(1, 0)

func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// interrupt arranges for a blocked read or write to end when ctx is done,
// by moving its deadline to the past. It costs nothing for a context that
// is never done.
func interrupt(ctx context.Context, conn net.Conn, write bool) (stop func() bool) {
	if ctx.Done() == nil {
		return never
	}
	return context.AfterFunc(ctx, func() {
		if write {
			_ = conn.SetWriteDeadline(past)
		} else {
			_ = conn.SetReadDeadline(past)
		}
	})
}

func never() bool { return false }

// write writes one whole PDU. The caller holds writeMu.
func (a *Association) write(ctx context.Context, b []byte, d time.Time) error {
	if a.broken {
		return fmt.Errorf("ul: write: %w", ErrConnectionLost)
	}
	if err := a.conn.SetWriteDeadline(d); err != nil {
		return fmt.Errorf("ul: set write deadline: %w", err)
	}
	stop := interrupt(ctx, a.conn, true)
	n, err := a.conn.Write(b)
	stop()
	if err != nil {
		if n > 0 {
			a.broken = true
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ul: write: %w", ctx.Err())
		}
		return fmt.Errorf("ul: write: %w", err)
	}
	return nil
}

// send encodes and writes an association PDU.
func (a *Association) send(ctx context.Context, p pdu.PDU) error {
	b, err := pdu.AppendPDU(nil, p)
	if err != nil {
		return fmt.Errorf("ul: %w", err)
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	return a.write(ctx, b, deadline(max(a.cfg.IdleTimeout, a.cfg.ARTIMTimeout)))
}

// sendAbort sends an A-ABORT, interrupting a write in progress if need be.
// A PDU written in part cannot be followed by an A-ABORT; then nothing is
// sent.
func (a *Association) sendAbort(ab pdu.Abort) {
	if !a.writeMu.TryLock() {
		giveUp := time.Now().Add(a.cfg.ARTIMTimeout)
		for !a.writeMu.TryLock() {
			if time.Now().After(giveUp) {
				a.closeConn()
				return
			}
			_ = a.conn.SetWriteDeadline(past)
			time.Sleep(time.Millisecond)
		}
	}
	defer a.writeMu.Unlock()
	b, _ := pdu.AppendPDU(make([]byte, 0, 10), &ab)
	if err := a.write(context.Background(), b, deadline(a.cfg.ARTIMTimeout)); err != nil {
		a.log.Debug("dicom ul: send A-ABORT", "err", err)
	}
}

// errReleased is the cause recorded for an association that ended by
// release.
var errReleased = errors.New("association released")

// errAbortedByUser is the cause recorded by Abort.
var errAbortedByUser = errors.New("aborted by the local user")

// Pseudo-events of readEvent that Table 9-10 does not name: their meaning
// depends on the state.
const (
	evTimeout  Event = 0xFE // the read deadline passed
	evCanceled Event = 0xFF // the context was canceled
)

// readEvent reads the next PDU and classifies it as an event of Table 9-10:
// Evt3, Evt4, Evt6, Evt10, Evt12, Evt13, Evt16 for the PDUs, Evt19 for an
// unrecognized or invalid PDU, Evt17 when the transport connection closes.
// The caller holds readMu.
func (a *Association) readEvent(ctx context.Context, d time.Time) (Event, pdu.PDU, error) {
	if err := a.conn.SetReadDeadline(d); err != nil {
		return Evt17, nil, err
	}
	stop := interrupt(ctx, a.conn, false)
	p, err := a.rd.Next()
	stop()
	if err == nil {
		switch p.Type() {
		case pdu.TypeAssociateAC:
			return Evt3, p, nil
		case pdu.TypeAssociateRJ:
			return Evt4, p, nil
		case pdu.TypeAssociateRQ:
			return Evt6, p, nil
		case pdu.TypePDataTF:
			return Evt10, p, nil
		case pdu.TypeReleaseRQ:
			return Evt12, p, nil
		case pdu.TypeReleaseRP:
			return Evt13, p, nil
		case pdu.TypeAbort:
			return Evt16, p, nil
		}
	}
	if ctx.Err() != nil {
		return evCanceled, nil, ctx.Err()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return evTimeout, nil, err
	}
	var de *pdu.DecodeError
	if errors.As(err, &de) {
		return Evt19, nil, err
	}
	return Evt17, nil, err
}

// abortReason is the A-ABORT reason (PS3.8 Table 9-26) for a PDU that led
// to AA-7 or AA-8.
func abortReason(ev Event, cause error) pdu.AbortReason {
	if ev != Evt19 {
		return pdu.AbortUnexpectedPDU
	}
	var de *pdu.DecodeError
	switch {
	case errors.Is(cause, pdu.ErrUnknownType):
		return pdu.AbortUnrecognizedPDU
	case errors.As(cause, &de):
		return pdu.AbortInvalidPDUParameterValue
	}
	return pdu.AbortUnexpectedPDUParameter
}

// act fires ev, received with PDU p (or failing with cause), and carries
// out on the transport the part of the action that is the provider's:
// sending A-ABORT, closing the connection. For a terminal action it returns
// the indication to the local user as an error.
func (a *Association) act(ev Event, p pdu.PDU, cause error) (Action, error) {
	action := a.fire(ev)
	switch action {
	case NoAction:
		// A PDU or a close with no transport connection (Sta1, Sta4):
		// there is nothing left to do but make sure it is closed.
		a.closeConn()
		a.setState(Sta1)
		return action, a.ended()
	case AA1:
		// PS3.8 Table 9-9: service-user source.
		ab := pdu.Abort{Source: pdu.AbortServiceUser}
		a.sendAbort(ab)
		return action, a.end(&AbortError{Abort: ab, Local: true, Err: protocolError(ev, cause)})
	case AA2:
		a.closeConn()
		if ev == Evt18 {
			return action, a.end(ErrARTIMExpired)
		}
		if ab, ok := p.(*pdu.Abort); ok {
			return action, a.end(&AbortError{Abort: *ab})
		}
		return action, a.ended()
	case AA3:
		a.closeConn()
		return action, a.end(&AbortError{Abort: *p.(*pdu.Abort)})
	case AA4:
		a.closeConn()
		if cause == nil || errors.Is(cause, io.EOF) {
			return action, a.end(ErrConnectionLost)
		}
		return action, a.end(fmt.Errorf("%w: %w", ErrConnectionLost, cause))
	case AA5:
		a.closeConn()
		return action, a.end(fmt.Errorf("%w before A-ASSOCIATE-RQ", ErrConnectionLost))
	case AA6:
		return action, nil
	case AA7:
		a.sendAbort(pdu.Abort{Source: pdu.AbortServiceProvider, Reason: abortReason(ev, cause)})
		return action, nil
	case AA8:
		ab := pdu.Abort{Source: pdu.AbortServiceProvider, Reason: abortReason(ev, cause)}
		a.sendAbort(ab)
		return action, a.end(&AbortError{Abort: ab, Local: true, Err: protocolError(ev, cause)})
	case AE4:
		a.closeConn()
		return action, a.end(&RejectedError{RJ: *p.(*pdu.AssociateRJ)})
	case AR3, AR5:
		a.closeConn()
		return action, nil
	}
	return action, nil
}

func protocolError(ev Event, cause error) error {
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", ErrProtocol, ev.Description(), cause)
	}
	return fmt.Errorf("%w: unexpected %s", ErrProtocol, ev.Description())
}

// localAbort is the A-ABORT request primitive (Evt15) issued by the
// provider on behalf of the local user, for a timeout or a cancellation.
// The caller holds readMu.
func (a *Association) localAbort(cause error) error {
	return a.userAbort(cause, true)
}

// userAbort is the A-ABORT request primitive (Evt15, AA-1; AA-2 in Sta4).
// With the read lock, or when it can take it, it waits in Sta13 for the
// peer to close the connection; otherwise the reader holding it does, as
// its read now ends at the ARTIM timeout.
func (a *Association) userAbort(cause error, haveReadLock bool) error {
	ab := pdu.Abort{Source: pdu.AbortServiceUser}
	err := a.end(&AbortError{Abort: ab, Local: true, Err: cause})
	switch a.fire(Evt15) {
	case AA1:
		a.sendAbort(ab)
		switch {
		case haveReadLock:
			a.awaitClose()
		case a.readMu.TryLock():
			a.awaitClose()
			a.readMu.Unlock()
		default:
			if derr := a.conn.SetReadDeadline(deadline(a.cfg.ARTIMTimeout)); derr != nil {
				a.closeConn()
			}
		}
	default:
		// AA-2 (Sta4), or no association (Sta1, Sta2) or none left
		// (Sta13): only the transport connection remains to be closed.
		a.closeConn()
		a.setState(Sta1)
	}
	return err
}

// awaitClose waits in Sta13 for the peer to close the transport connection,
// at most the ARTIM timeout, handling what arrives meanwhile per Table 9-10
// (AA-6, AA-7, AA-2, AR-5). The caller holds readMu.
func (a *Association) awaitClose() {
	d := deadline(a.cfg.ARTIMTimeout)
	for a.State() == Sta13 {
		ev, p, err := a.readEvent(context.Background(), d)
		if ev == evTimeout || ev == evCanceled {
			ev = Evt18
		}
		_, _ = a.act(ev, p, err)
	}
	a.closeConn()
}

// receive reads one PDU, or waits at most timeout for it, and runs it
// through the state machine. It returns the event, the action and the PDU
// when the action is an indication for the local user (AE-3, AE-6, DT-2,
// AR-2, AR-3, AR-6, AR-8, AR-10), and an error when the association ended
// or was aborted. The caller holds readMu.
func (a *Association) receive(ctx context.Context, timeout time.Duration) (Event, Action, pdu.PDU, error) {
	ev, p, err := a.readEvent(ctx, deadline(timeout))
	switch ev {
	case evCanceled:
		return ev, NoAction, nil, a.localAbort(fmt.Errorf("ul: %w", err))
	case evTimeout:
		switch s := a.State(); s {
		case Sta2, Sta13:
			ev = Evt18 // the ARTIM timer
		default:
			return ev, NoAction, nil, a.localAbort(fmt.Errorf("%w in %s after %v", ErrTimeout, s, timeout))
		}
	}
	action, err := a.act(ev, p, err)
	if a.State() == Sta13 {
		a.awaitClose()
		if err == nil {
			err = a.ended()
		}
	}
	if err != nil {
		return ev, action, nil, err
	}
	return ev, action, p, nil
}

// Abort is the A-ABORT request primitive (Evt15): it sends an A-ABORT
// (AA-1) and closes the association, interrupting any read or write in
// progress. When no other goroutine is reading, it waits, at most the
// ARTIM timeout, for the peer to close the connection.
func (a *Association) Abort() {
	_ = a.userAbort(errAbortedByUser, false)
}

// Close releases the association if it is established (Sta6) or the peer
// asked for release (Sta8), aborts it otherwise, and closes the
// transport connection.
func (a *Association) Close() error {
	switch a.State() {
	case Sta6, Sta8:
		return a.Release(context.Background())
	case Sta1:
		a.closeConn()
		return nil
	}
	a.Abort()
	return nil
}

// Release is the A-RELEASE request primitive (Evt11) in Sta6, and the
// A-RELEASE response primitive (Evt14) in Sta8, after ReadStream returned
// ErrReleaseRequested. It returns when the association is released and the
// transport connection closed. P-DATA received while awaiting A-RELEASE-RP
// (AR-6) is discarded. A release collision (AR-8) is resolved as Sta9 to
// Sta11 or Sta10 to Sta12 prescribe.
func (a *Association) Release(ctx context.Context) error {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	a.readMu.Lock()
	defer a.readMu.Unlock()
	switch a.State() {
	case Sta6:
		if a.fire(Evt11) != AR1 {
			return a.stateError("A-RELEASE request")
		}
		if err := a.send(ctx, &pdu.ReleaseRQ{}); err != nil {
			return a.localAbort(err)
		}
		for {
			_, action, _, err := a.receive(ctx, a.cfg.ARTIMTimeout)
			if err != nil {
				return err
			}
			switch action {
			case AR3: // Sta7 or Sta11: A-RELEASE confirmation, connection closed
				a.end(errReleased)
				return nil
			case AR6:
				a.log.Debug("dicom ul: P-DATA-TF received while awaiting A-RELEASE-RP discarded")
				a.pending = a.pending[:0]
			case AR8:
				if a.role == Requestor { // Sta9: answer, then await A-RELEASE-RP in Sta11 (AR-9)
					if err := a.respondRelease(ctx, AR9); err != nil {
						return err
					}
				}
				// Sta10: await A-RELEASE-RP.
			case AR10: // Sta12: answer (AR-4) and await the close
				return a.respondRelease(ctx, AR4)
			}
		}
	case Sta8:
		return a.respondRelease(ctx, AR4)
	}
	return a.stateError("A-RELEASE request")
}

// respondRelease is the A-RELEASE response primitive (Evt14), expected to
// lead to action want: AR-4 (send A-RELEASE-RP, start ARTIM, Sta13, await
// the close) or AR-9 (send A-RELEASE-RP, Sta11). The caller holds readMu.
func (a *Association) respondRelease(ctx context.Context, want Action) error {
	if a.fire(Evt14) != want {
		return a.stateError("A-RELEASE response")
	}
	if err := a.send(ctx, &pdu.ReleaseRP{}); err != nil {
		return a.localAbort(err)
	}
	if want == AR4 {
		a.end(errReleased)
		a.awaitClose()
	}
	return nil
}
