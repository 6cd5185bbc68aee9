package dimse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dimse/pdu"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("dimse: server closed")

// AssociationInfo describes an association to policy hooks and handlers.
type AssociationInfo struct {
	// ID numbers the server's associations, for logs.
	ID         uint64
	CallingAE  string
	CalledAE   string
	RemoteAddr net.Addr
	LocalAddr  net.Addr
	// UserIdentity is the User Identity sub-item the requestor sent, if any.
	UserIdentity *pdu.UserIdentityRQ
	// TLS is the connection state of a DICOM TLS association, nil otherwise.
	TLS *tls.ConnectionState
}

// Request is one DIMSE request received by a server, or a C-STORE sub-operation received by a
// client during C-GET.
type Request struct {
	Command *Command
	// Context is the presentation context the request came on: its abstract syntax and the
	// transfer syntax of Data.
	Context ul.PresentationContext
	// Data streams the request's data set as it arrives, nil when there is none. It is only
	// valid until the handler returns.
	Data  io.Reader
	Assoc *AssociationInfo

	maxData int64
}

// Dataset reads and parses the whole data set of the request (for identifiers of C-FIND,
// C-MOVE and C-GET, and N-service attribute lists).
func (r *Request) Dataset() (*dicom.Dataset, error) {
	if r.Data == nil {
		return dicom.NewDataset(), nil
	}
	return parseIdentifier(r.Data, r.Context.TransferSyntax, r.maxData)
}

// Response is a response to send: its status and, for C-FIND matches, C-GET/C-MOVE failed-UID
// lists and N-service results, a data set.
type Response struct {
	Status                 Status
	Data                   *dicom.Dataset
	SubOps                 *SubOperations
	AffectedSOPInstanceUID string
	ErrorComment           string
	OffendingElements      []tag.Tag
	EventTypeID            uint16
	ActionTypeID           uint16
}

// ResponseWriter sends the responses to one request.
type ResponseWriter interface {
	// Pending sends a pending response (C-FIND matches, C-MOVE/C-GET progress).
	Pending(ctx context.Context, r Response) error
	// Respond sends the final response. A handler that returns without calling it gets a
	// Processing Failure response sent for it.
	Respond(ctx context.Context, r Response) error
	// Store sends a C-STORE sub-operation on the same association (C-GET) and returns the
	// peer's status. Once the peer has requested release, no response can come: Store then
	// fails at once with an error wrapping ul.ErrReleaseRequested.
	Store(ctx context.Context, req StoreRequest) (Status, error)
}

// Handler serves DIMSE requests. ctx is canceled when the association ends or, for C-FIND,
// C-MOVE and C-GET, when the requestor sends C-CANCEL.
type Handler interface {
	ServeDIMSE(ctx context.Context, w ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, w ResponseWriter, r *Request)

// ServeDIMSE calls f.
func (f HandlerFunc) ServeDIMSE(ctx context.Context, w ResponseWriter, r *Request) { f(ctx, w, r) }

// Server accepts associations and serves DIMSE requests on them, one goroutine per association.
// The zero value serves nothing useful: set Handler. It is shaped like net/http's Server.
type Server struct {
	// AETitle, if set, is the only Called AE title accepted.
	AETitle string
	Handler Handler
	// Authorize decides whether an association may proceed, given the calling and called AE
	// titles, the peer's address and its user identity: an error rejects it (calling AE title not
	// recognized). Nil accepts every association.
	Authorize func(ctx context.Context, info *AssociationInfo) error
	// AuthenticateUser checks a User Identity sub-item (PS3.7 D.3.3.7) and returns the server
	// response to send when the requestor asks for one; an error rejects the association.
	AuthenticateUser func(ctx context.Context, id *pdu.UserIdentityRQ) ([]byte, error)
	// AbstractSyntaxes are the SOP classes accepted. Nil: those the Handler serves when it is a
	// *ServeMux, else every SOP class.
	AbstractSyntaxes []string
	// TransferSyntaxes are those accepted, in no particular order: of the syntaxes a
	// presentation context proposes, the first one in this set is accepted (so compressed data
	// is kept as received). Nil: every standard transfer syntax (see DefaultTransferSyntaxes).
	TransferSyntaxes []string
	// Roles decides SCP/SCU role selection replies; nil accepts the proposed roles.
	Roles func(sopClassUID string, scu, scp bool) (bool, bool)
	// TLSConfig, when set, makes every connection DICOM TLS (PS3.15 B.1); TLS 1.2 or later.
	TLSConfig *tls.Config
	// MaxAssociations bounds concurrent associations; beyond it, requests are rejected
	// (rejected-transient, local limit exceeded). Default 64.
	MaxAssociations int
	// MaxConnections bounds open connections, associated or not; beyond it new connections are
	// closed at once. Default 4 × MaxAssociations.
	MaxConnections int
	// MaxDataSetSize bounds one data set (default 4 GiB).
	MaxDataSetSize int64
	// Config is the upper-layer configuration: maximum PDU length, ARTIM and idle timeouts.
	Config ul.Config
	// Logger receives the server's log lines; each carries calling_ae, called_ae and peer.
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*serverConn]struct{}
	closed    bool
	wg        sync.WaitGroup
	nextID    atomic.Uint64
	assocs    atomic.Int64
	open      atomic.Int64
}

// DefaultTransferSyntaxes are the transfer syntaxes a Server accepts by default: the native ones
// and every compressed syntax of PS3.5 in use, so that images are kept as the modality sent them.
var DefaultTransferSyntaxes = []string{
	dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian, dicom.DeflatedExplicitVRLittleEndian,
	dicom.ExplicitVRBigEndian,
	"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55",
	"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
	"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93",
	"1.2.840.10008.1.2.4.94", "1.2.840.10008.1.2.4.95",
	"1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.103",
	"1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.107",
	"1.2.840.10008.1.2.4.108", "1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112",
	"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
	"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.6.1", "1.2.840.10008.1.2.6.2", "1.2.840.10008.1.2.8.1",
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) maxAssociations() int64 {
	if s.MaxAssociations > 0 {
		return int64(s.MaxAssociations)
	}
	return 64
}

func (s *Server) maxConnections() int64 {
	if s.MaxConnections > 0 {
		return int64(s.MaxConnections)
	}
	return 4 * s.maxAssociations()
}

func (s *Server) maxDataSet() int64 {
	if s.MaxDataSetSize > 0 {
		return s.MaxDataSetSize
	}
	return 4 << 30
}

// ListenAndServe listens on the TCP address addr and serves.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Shutdown or Close, and always returns a non-nil error:
// ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTemporary) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if s.open.Add(1) > s.maxConnections() && !s.evictIdle() {
			s.open.Add(-1)
			c.Close()
			s.logger().Warn("connection refused: too many open connections", "peer", c.RemoteAddr().String(), "limit", s.maxConnections())
			continue
		}
		if s.TLSConfig != nil {
			c = tls.Server(c, s.TLSConfig)
		}
		sc := &serverConn{srv: s, nc: c, accepted: time.Now()}
		if !s.track(sc) {
			c.Close()
			s.open.Add(-1)
			return ErrServerClosed
		}
		go sc.serve()
	}
}

var errTemporary = errors.New("temporary")

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(sc *serverConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*serverConn]struct{})
	}
	s.conns[sc] = struct{}{}
	s.wg.Add(1)
	return true
}

// evictIdle closes the oldest connection that has not sent an A-ASSOCIATE-RQ yet, so that idle
// sockets cannot lock legitimate callers out until their ARTIM timers expire. It reports whether
// there was one.
func (s *Server) evictIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest *serverConn
	for sc := range s.conns {
		if !sc.rqSeen.Load() && !sc.evicted && (oldest == nil || sc.accepted.Before(oldest.accepted)) {
			oldest = sc
		}
	}
	if oldest == nil {
		return false
	}
	oldest.evicted = true
	oldest.nc.Close()
	s.logger().Info("idle connection closed to make room", "peer", oldest.nc.RemoteAddr().String())
	return true
}

func (s *Server) untrack(sc *serverConn) {
	s.mu.Lock()
	delete(s.conns, sc)
	s.mu.Unlock()
	s.open.Add(-1)
	s.wg.Done()
}

// Shutdown stops accepting connections, lets associations in progress finish (their current
// request and a release by the peer), and returns when all are gone or ctx is done; then it
// aborts the rest and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for sc := range s.conns {
		sc.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.Close()
		<-done
		return ctx.Err()
	}
}

// Close stops the server at once, aborting every association.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for sc := range s.conns {
		sc.abort()
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) abstractSyntaxes() ([]string, bool) {
	if s.AbstractSyntaxes != nil {
		return s.AbstractSyntaxes, false
	}
	if m, ok := s.Handler.(*ServeMux); ok {
		return m.SOPClasses(), false
	}
	return nil, true
}

// serverConn is one accepted connection and its association.
type serverConn struct {
	srv      *Server
	nc       net.Conn
	accepted time.Time
	rqSeen   atomic.Bool // an A-ASSOCIATE-RQ arrived
	evicted  bool        // guarded by srv.mu

	mu       sync.Mutex
	assoc    *ul.Association
	draining bool // Shutdown: finish the current request, then close
	busy     bool
	cancel   context.CancelFunc // of the association's context
}

// closeGrace is how long an aborted association may take to deliver its A-ABORT before the
// server closes the connection itself, rather than wait for the peer (Sta13, up to ARTIM).
const closeGrace = 250 * time.Millisecond

func (sc *serverConn) abort() {
	sc.mu.Lock()
	a := sc.assoc
	sc.mu.Unlock()
	if a != nil {
		go a.Abort()
		time.AfterFunc(closeGrace, func() { sc.nc.Close() })
	} else {
		sc.nc.Close()
	}
}

func (sc *serverConn) shutdown() {
	sc.mu.Lock()
	sc.draining = true
	idle := !sc.busy
	a := sc.assoc
	sc.mu.Unlock()
	if a == nil {
		sc.nc.Close()
		return
	}
	if idle {
		// Between requests: wake the reader so that the association ends (with an A-ABORT), and
		// close the connection rather than wait for the peer to.
		sc.cancel()
		time.AfterFunc(closeGrace, func() { sc.nc.Close() })
	}
}

func (sc *serverConn) serve() {
	s := sc.srv
	defer s.untrack(sc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc.mu.Lock()
	sc.cancel = cancel
	sc.mu.Unlock()
	info := &AssociationInfo{ID: s.nextID.Add(1), RemoteAddr: sc.nc.RemoteAddr(), LocalAddr: sc.nc.LocalAddr()}
	log := s.logger().With("assoc", info.ID, "peer", info.RemoteAddr.String())
	if tc, ok := sc.nc.(*tls.Conn); ok {
		hctx, hcancel := context.WithTimeout(ctx, artim(s.Config))
		err := tc.HandshakeContext(hctx)
		hcancel()
		if err != nil {
			log.Warn("TLS handshake failed", "err", err)
			sc.nc.Close()
			return
		}
		st := tc.ConnectionState()
		info.TLS = &st
	}
	syntaxes, any := s.abstractSyntaxes()
	ts := s.TransferSyntaxes
	if ts == nil {
		ts = DefaultTransferSyntaxes
	}
	policy := &ul.Policy{
		CalledAETitle:           s.AETitle,
		AbstractSyntaxes:        syntaxes,
		AcceptAnyAbstractSyntax: any,
		TransferSyntaxes:        ts,
		Roles:                   s.Roles,
		UserIdentity:            s.AuthenticateUser,
	}
	counted := false
	negotiate := func(ctx context.Context, rq *pdu.AssociateRQ) (*pdu.AssociateAC, *pdu.AssociateRJ, error) {
		sc.rqSeen.Store(true)
		info.CallingAE, info.CalledAE, info.UserIdentity = rq.CallingAE, rq.CalledAE, rq.UserInfo.UserIdentity
		log = log.With("calling_ae", rq.CallingAE, "called_ae", rq.CalledAE)
		if s.AETitle != "" && rq.CalledAE != s.AETitle {
			log.Warn("association rejected: unknown called AE title; the caller must address this server as "+s.AETitle, "want_called_ae", s.AETitle)
			return nil, &pdu.AssociateRJ{Result: pdu.RejectedPermanent, Source: pdu.SourceServiceUser, Reason: pdu.ReasonCalledAETitleNotRecognized}, nil
		}
		if s.assocs.Add(1) > s.maxAssociations() {
			s.assocs.Add(-1)
			log.Warn("association rejected: too many associations", "limit", s.maxAssociations())
			return nil, &pdu.AssociateRJ{Result: pdu.RejectedTransient, Source: pdu.SourceServiceProviderPresentation, Reason: pdu.ReasonLocalLimitExceeded}, nil
		}
		counted = true
		if s.Authorize != nil {
			if err := s.Authorize(ctx, info); err != nil {
				log.Warn("association rejected: calling AE not allowed; add it as a known peer if it should connect", "err", err)
				return nil, &pdu.AssociateRJ{Result: pdu.RejectedPermanent, Source: pdu.SourceServiceUser, Reason: pdu.ReasonCallingAETitleNotRecognized}, nil
			}
		}
		ac, rj, err := policy.Negotiate(ctx, rq)
		if ac != nil {
			n := 0
			for _, pc := range ac.PresentationContexts {
				if pc.Result == pdu.ResultAcceptance {
					n++
				}
			}
			if n == 0 {
				log.Warn("association accepted with no acceptable presentation context: the caller proposed SOP classes or transfer syntaxes this server does not support")
			}
		}
		return ac, rj, err
	}
	cfg := s.Config
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	a, err := ul.Accept(ctx, sc.nc, cfg, negotiate)
	if counted {
		defer s.assocs.Add(-1)
	}
	if err != nil {
		var rj *ul.RejectedError
		if !errors.As(err, &rj) {
			log.Info("association not established", "err", err)
		}
		return
	}
	sc.mu.Lock()
	sc.assoc = a
	draining := sc.draining
	sc.mu.Unlock()
	log.Info("association accepted", "contexts", len(a.Contexts()))
	if draining {
		sc.abort()
		return
	}
	c := &assocConn{a: a, info: info, log: log, handler: s.Handler, maxData: s.maxDataSet(), sc: sc}
	c.run(ctx)
}

func artim(c ul.Config) time.Duration {
	if c.ARTIMTimeout > 0 {
		return c.ARTIMTimeout
	}
	return ul.DefaultARTIMTimeout
}

// assocConn serves the requests of one association: a reader loop that reads every message and a
// handler goroutine for the request in progress (asynchronous operations window 1/1).
type assocConn struct {
	a       *ul.Association
	info    *AssociationInfo
	log     *slog.Logger
	handler Handler
	maxData int64
	sc      *serverConn

	sendMu sync.Mutex
	msgID  atomic.Uint32

	mu        sync.Mutex
	current   *Command           // request being handled
	cancelReq context.CancelFunc // cancels the current handler (C-CANCEL)
	subRsp    chan *Command      // responses to our C-STORE sub-operations
	// released is closed when the peer has requested release: no P-DATA follows an
	// A-RELEASE-RQ, so a sub-operation not answered by then never will be.
	released chan struct{}
}

func (c *assocConn) run(ctx context.Context) {
	defer c.a.Close()
	var inflight chan struct{} // closed when the handler in progress returns
	defer func() {
		// Never return while a handler still runs: Shutdown waits for this function.
		if inflight != nil {
			c.cancelCurrent()
			<-inflight
		}
	}()
	handlerDone := make(chan struct{}, 1)
	handlerDone <- struct{}{} // idle
	c.subRsp = make(chan *Command, 1)
	c.released = make(chan struct{})
	for {
		m, err := readMessage(ctx, c.a)
		if err != nil {
			switch {
			case errors.Is(err, ul.ErrReleaseRequested):
				close(c.released)
				<-handlerDone // let the request in progress finish
				if err := c.a.Release(context.Background()); err != nil {
					c.log.Info("release failed", "err", err)
				} else {
					c.log.Info("association released")
				}
			case ctx.Err() != nil:
				c.log.Info("association ended by server shutdown")
				c.a.Abort()
			default:
				c.log.Info("association ended", "err", err)
			}
			c.cancelCurrent()
			return
		}
		cmd := m.cmd
		switch {
		case cmd.Field == CCancelRQ:
			c.mu.Lock()
			if c.current != nil && c.current.MessageID == cmd.MessageIDBeingRespondedTo && c.cancelReq != nil {
				c.log.Info("request canceled by peer", "message_id", cmd.MessageIDBeingRespondedTo)
				c.cancelReq()
			}
			c.mu.Unlock()
			continue
		case cmd.Field.IsResponse():
			if m.data != nil {
				io.Copy(io.Discard, m.data)
			}
			select {
			case c.subRsp <- cmd:
			default:
				c.log.Warn("unexpected response ignored", "command", cmd.String())
			}
			continue
		}
		select {
		case <-handlerDone:
		default:
			// A second request while one is in progress exceeds the negotiated window of 1.
			c.log.Warn("association aborted: a request arrived while another was in progress (asynchronous operations window is 1)")
			c.a.Abort()
			c.cancelCurrent()
			return
		}
		c.sc.mu.Lock()
		c.sc.busy = true
		c.sc.mu.Unlock()
		reqCtx, cancel := context.WithCancel(ctx)
		c.mu.Lock()
		c.current, c.cancelReq = cmd, cancel
		c.mu.Unlock()
		var data *trackedReader
		req := &Request{Command: cmd, Context: m.pc, Assoc: c.info, maxData: c.maxData}
		if m.data != nil {
			data = &trackedReader{r: &limitReader{r: m.data, max: c.maxData}, done: make(chan struct{})}
			req.Data = data
		}
		finished := make(chan struct{})
		inflight = finished
		var completeOnce sync.Once
		// complete runs when the final response is about to go out (or the handler is gone):
		// from then on the requestor may send its next request.
		complete := func() {
			completeOnce.Do(func() {
				c.mu.Lock()
				c.current, c.cancelReq = nil, nil
				c.mu.Unlock()
				c.sc.mu.Lock()
				c.sc.busy = false
				c.sc.mu.Unlock()
				handlerDone <- struct{}{}
			})
		}
		go func() {
			defer close(finished)
			defer cancel()
			defer c.endIfDraining()
			defer complete()
			c.serveRequest(reqCtx, req, complete)
		}()
		if data != nil {
			// The data set's stream must be consumed before the next message is read.
			select {
			case <-data.done:
			case <-finished:
			}
			if data.tooLarge() {
				c.log.Warn("association aborted: data set larger than the limit", "limit", c.maxData)
				c.a.Abort()
				<-finished
				return
			}
			if !data.eof() {
				if _, err := io.Copy(io.Discard, m.data); err != nil {
					c.log.Info("association ended while discarding a data set", "err", err)
					c.a.Abort()
					<-finished
					return
				}
			}
		}
	}
}

// endIfDraining ends the association once its request is answered when the server is shutting
// down: the reader is woken, and the connection closed rather than left to the peer.
func (c *assocConn) endIfDraining() {
	c.sc.mu.Lock()
	draining := c.sc.draining
	c.sc.mu.Unlock()
	if draining {
		c.sc.cancel()
		time.AfterFunc(closeGrace, func() { c.sc.nc.Close() })
	}
}

func (c *assocConn) cancelCurrent() {
	c.mu.Lock()
	if c.cancelReq != nil {
		c.cancelReq()
	}
	c.mu.Unlock()
}

func (c *assocConn) serveRequest(ctx context.Context, req *Request, complete func()) {
	w := &responseWriter{c: c, req: req, complete: complete}
	log := c.log.With("command", req.Command.Field.String(), "message_id", req.Command.MessageID)
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panicked: association aborted", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			c.a.Abort()
			return
		}
		if !w.final {
			log.Error("handler returned without a final response; sending processing failure")
			w.Respond(ctx, Response{Status: StatusProcessingFailure, ErrorComment: "no response from handler"})
		}
	}()
	if c.handler == nil {
		w.Respond(ctx, Response{Status: StatusUnrecognizedOperation})
		return
	}
	c.handler.ServeDIMSE(ctx, w, req)
}

// trackedReader signals when its reader reaches EOF or an error, and from then on returns that
// error without touching the association (whose reader has moved on to the next message).
type trackedReader struct {
	r     io.Reader
	done  chan struct{}
	once  sync.Once
	atEOF atomic.Bool
	mu    sync.Mutex
	err   error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.r.Read(p)
	if err != nil {
		t.err = err
		if err == io.EOF {
			t.atEOF.Store(true)
		}
		t.once.Do(func() { close(t.done) })
	}
	return n, err
}

func (t *trackedReader) eof() bool { return t.atEOF.Load() }

func (t *trackedReader) tooLarge() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return errors.Is(t.err, ErrDataSetTooLarge)
}

type responseWriter struct {
	c        *assocConn
	req      *Request
	final    bool
	complete func()
}

func (w *responseWriter) response(r Response) *Command {
	q := w.req.Command
	return &Command{
		Field:                     q.Field.Response(),
		MessageIDBeingRespondedTo: q.MessageID,
		AffectedSOPClassUID:       firstNonEmpty(q.AffectedSOPClassUID, q.RequestedSOPClassUID),
		AffectedSOPInstanceUID:    firstNonEmpty(r.AffectedSOPInstanceUID, q.AffectedSOPInstanceUID, q.RequestedSOPInstanceUID),
		Status:                    r.Status,
		SubOps:                    r.SubOps,
		ErrorComment:              r.ErrorComment,
		OffendingElements:         r.OffendingElements,
		EventTypeID:               firstNonZero(r.EventTypeID, q.EventTypeID),
		ActionTypeID:              firstNonZero(r.ActionTypeID, q.ActionTypeID),
	}
}

func (w *responseWriter) send(ctx context.Context, r Response) error {
	cmd := w.response(r)
	var data io.Reader
	if r.Data != nil {
		var err error
		if data, err = encodeDataset(r.Data, w.req.Context.TransferSyntax); err != nil {
			return fmt.Errorf("encode response data set: %w", err)
		}
	}
	// Responses go out even when the request's context was canceled (C-CANCEL).
	return sendMessage(context.WithoutCancel(ctx), w.c.a, &w.c.sendMu, w.req.Context.ID, cmd, data)
}

func (w *responseWriter) Pending(ctx context.Context, r Response) error {
	if w.final {
		return errors.New("dimse: pending response after the final one")
	}
	if r.Status == StatusSuccess {
		r.Status = StatusPending
	}
	return w.send(ctx, r)
}

func (w *responseWriter) Respond(ctx context.Context, r Response) error {
	if w.final {
		return errors.New("dimse: second final response")
	}
	w.final = true
	// Drain what the handler left of the request's data set first: the final response ends the
	// operation, and the next request may follow at once.
	if w.req.Data != nil {
		io.Copy(io.Discard, w.req.Data)
	}
	w.complete()
	err := w.send(ctx, r)
	lvl := slog.LevelDebug
	if r.Status.Kind() == KindFailure {
		lvl = slog.LevelWarn
	}
	w.c.log.Log(ctx, lvl, "response", "command", w.req.Command.Field.String(), "status", r.Status.String(), "comment", r.ErrorComment)
	return err
}

func (w *responseWriter) Store(ctx context.Context, req StoreRequest) (Status, error) {
	pc, ok := w.c.a.ContextFor(req.SOPClassUID, req.TransferSyntax)
	if !ok {
		return 0, fmt.Errorf("%w: %s in %s", ErrNoContext, req.SOPClassUID, req.TransferSyntax)
	}
	select {
	case <-w.c.released:
		return 0, errSubOpReleased
	default:
	}
	id := uint16(w.c.msgID.Add(1))
	cmd := &Command{Field: CStoreRQ, MessageID: id, AffectedSOPClassUID: req.SOPClassUID,
		AffectedSOPInstanceUID: req.SOPInstanceUID, Priority: req.Priority,
		MoveOriginatorAE: req.MoveOriginatorAE, MoveOriginatorMessageID: req.MoveOriginatorMessageID}
	if err := sendMessage(ctx, w.c.a, &w.c.sendMu, pc.ID, cmd, req.Data); err != nil {
		return 0, err
	}
	for {
		select {
		case rsp := <-w.c.subRsp:
			if rsp.MessageIDBeingRespondedTo != id {
				// A late response to an earlier sub-operation given up on.
				continue
			}
			return rsp.Status, nil
		case <-w.c.released:
			// The reader queued any response it read before the release request.
			for {
				select {
				case rsp := <-w.c.subRsp:
					if rsp.MessageIDBeingRespondedTo == id {
						return rsp.Status, nil
					}
				default:
					return 0, errSubOpReleased
				}
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// errSubOpReleased is the error of a C-STORE sub-operation the peer requested release before
// answering (or before it was sent).
var errSubOpReleased = fmt.Errorf("dimse: C-STORE sub-operation not answered: %w", ul.ErrReleaseRequested)

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func firstNonZero(v ...uint16) uint16 {
	for _, x := range v {
		if x != 0 {
			return x
		}
	}
	return 0
}

// AcceptedSyntaxes lists the transfer syntaxes of the presentation contexts accepted on the
// request's association for sopClass, so that a C-GET handler can choose how to send an
// instance (as stored, or converted to a syntax the requestor takes).
func (w *responseWriter) AcceptedSyntaxes(sopClass string) []string {
	return AcceptedSyntaxes(w.c.a, sopClass)
}

// AcceptedSyntaxes lists the transfer syntaxes of the presentation contexts accepted on a for
// sopClass, in context ID order, without duplicates.
func AcceptedSyntaxes(a *ul.Association, sopClass string) []string {
	var out []string
	for _, pc := range a.Contexts() {
		if pc.AbstractSyntax == sopClass && !slices.Contains(out, pc.TransferSyntax) {
			out = append(out, pc.TransferSyntax)
		}
	}
	return out
}
