package dimse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dimse/pdu"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
)

// ErrNoContext: the peer accepted no presentation context for what is being sent.
var ErrNoContext = errors.New("dimse: no accepted presentation context")

// ErrNotStorable: a file has no SOP Class or SOP Instance UID (a DICOMDIR, a bare fragment).
var ErrNotStorable = errors.New("dimse: not a storable instance")

// Proposal is a presentation context to propose: an abstract syntax, the transfer syntaxes in
// order of preference, and optionally SCP/SCU role selection (PS3.7 D.3.3.4).
type Proposal struct {
	AbstractSyntax   string
	TransferSyntaxes []string
	// SelectRoles proposes the roles SCU and SCP for this SOP class; C-GET needs SCP for the
	// storage classes it retrieves.
	SelectRoles bool
	SCU, SCP    bool
}

// DialOptions configure an association request. The zero value is usable apart from Proposals.
type DialOptions struct {
	// CallingAE is our AE title (default "LIGHTBOX"); CalledAE the peer's (default "ANY-SCP").
	CallingAE, CalledAE string
	Proposals           []Proposal
	// TLSConfig makes the association DICOM TLS.
	TLSConfig    *tls.Config
	UserIdentity *pdu.UserIdentityRQ
	// Config is the upper-layer configuration (maximum PDU length, timeouts).
	Config ul.Config
	// Timeout bounds connecting (default 30 s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Client is an association requested by us: the SCU side of DIMSE. Its methods run one
// operation at a time (asynchronous operations window 1/1).
type Client struct {
	a      *ul.Association
	opts   DialOptions
	log    *slog.Logger
	sendMu sync.Mutex
	msgID  atomic.Uint32
	mu     sync.Mutex // one operation at a time
}

// Dial connects to address ("host:port"), requests an association and returns the client.
func Dial(ctx context.Context, address string, opts DialOptions) (*Client, error) {
	if opts.CallingAE == "" {
		opts.CallingAE = "LIGHTBOX"
	}
	if opts.CalledAE == "" {
		opts.CalledAE = "ANY-SCP"
	}
	if len(opts.Proposals) == 0 {
		return nil, errors.New("dimse: no presentation context to propose")
	}
	if len(opts.Proposals) > 128 {
		return nil, fmt.Errorf("dimse: %d presentation contexts proposed, at most 128 fit an association", len(opts.Proposals))
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("calling_ae", opts.CallingAE, "called_ae", opts.CalledAE, "peer", address)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", address, err)
	}
	if opts.TLSConfig != nil {
		tc := tls.Client(conn, opts.TLSConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", address, err)
		}
		conn = tc
	}
	rq := &pdu.AssociateRQ{
		ProtocolVersion:    pdu.ProtocolVersion1,
		CalledAE:           opts.CalledAE,
		CallingAE:          opts.CallingAE,
		ApplicationContext: pdu.ApplicationContextName,
	}
	roleSent := map[string]bool{}
	for i, p := range opts.Proposals {
		rq.PresentationContexts = append(rq.PresentationContexts, pdu.PresentationContextRQ{
			ID: byte(2*i + 1), AbstractSyntax: p.AbstractSyntax, TransferSyntaxes: p.TransferSyntaxes})
		if p.SelectRoles && !roleSent[p.AbstractSyntax] {
			// One role selection item per SOP class (PS3.7 D.3.3.4), however many contexts.
			roleSent[p.AbstractSyntax] = true
			rq.UserInfo.Roles = append(rq.UserInfo.Roles, pdu.RoleSelection{SOPClassUID: p.AbstractSyntax, SCU: p.SCU, SCP: p.SCP})
		}
	}
	rq.UserInfo.UserIdentity = opts.UserIdentity
	cfg := opts.Config
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	a, err := ul.Request(ctx, conn, rq, cfg)
	if err != nil {
		var rj *ul.RejectedError
		if errors.As(err, &rj) {
			return nil, fmt.Errorf("%s rejected the association: %s%s", address, rj.RJ.ReasonString(), rejectHint(rj.RJ, opts))
		}
		return nil, fmt.Errorf("associate with %s: %w", address, err)
	}
	log.Debug("association established", "contexts", len(a.Contexts()))
	return &Client{a: a, opts: opts, log: log}, nil
}

func rejectHint(rj pdu.AssociateRJ, o DialOptions) string {
	switch rj.Reason {
	case pdu.ReasonCalledAETitleNotRecognized:
		if rj.Source == pdu.SourceServiceUser {
			return fmt.Sprintf(" (we called it %q: check the peer's AE title)", o.CalledAE)
		}
	case pdu.ReasonCallingAETitleNotRecognized:
		if rj.Source == pdu.SourceServiceUser {
			return fmt.Sprintf(" (we are %q: the peer must list this AE title and our address as a known peer)", o.CallingAE)
		}
	}
	if rj.Result == pdu.RejectedTransient {
		return " (transient: try again later)"
	}
	return ""
}

// Association returns the underlying association.
func (c *Client) Association() *ul.Association { return c.a }

// Release releases the association.
func (c *Client) Release(ctx context.Context) error { return c.a.Release(ctx) }

// Abort aborts the association.
func (c *Client) Abort() { c.a.Abort() }

// Close releases the association, aborting it when the release fails within 10 s.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.a.Release(ctx); err != nil {
		c.a.Abort()
		return err
	}
	return nil
}

func (c *Client) nextID() uint16 {
	id := uint16(c.msgID.Add(1))
	if id == 0 {
		id = uint16(c.msgID.Add(1))
	}
	return id
}

// context returns the accepted presentation context for abstract syntax as, preferring the
// transfer syntaxes given in order.
func (c *Client) context(as string, syntaxes ...string) (ul.PresentationContext, error) {
	for _, ts := range syntaxes {
		if pc, ok := c.a.ContextFor(as, ts); ok {
			return pc, nil
		}
	}
	if len(syntaxes) == 0 {
		if pc, ok := c.a.ContextFor(as); ok {
			return pc, nil
		}
	}
	var accepted []string
	for _, pc := range c.a.Contexts() {
		if pc.AbstractSyntax == as && !slices.Contains(accepted, uid.Name(pc.TransferSyntax)) {
			accepted = append(accepted, uid.Name(pc.TransferSyntax))
		}
	}
	if len(accepted) > 0 {
		return ul.PresentationContext{}, fmt.Errorf("%w: the peer accepts %s only in %s, not in %s; convert the data first",
			ErrNoContext, uid.Name(as), strings.Join(accepted, ", "), uid.Name(strings.Join(syntaxes, " or ")))
	}
	return ul.PresentationContext{}, fmt.Errorf("%w: the peer accepted no presentation context for %s", ErrNoContext, uid.Name(as))
}

// readCtx returns a context for reading responses: it outlives ctx by grace, so that the
// responses to a C-CANCEL can still arrive.
func readCtx(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return rctx, func() { stop(); cancel() }
}

// Echo sends a C-ECHO (PS3.7 9.1.5) and waits for its response.
func (c *Client) Echo(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, err := c.context(VerificationSOPClass)
	if err != nil {
		return err
	}
	id := c.nextID()
	if err := sendMessage(ctx, c.a, &c.sendMu, pc.ID, &Command{Field: CEchoRQ, MessageID: id, AffectedSOPClassUID: VerificationSOPClass}, nil); err != nil {
		return err
	}
	m, err := c.response(ctx, id, CEchoRSP)
	if err != nil {
		return err
	}
	if m.cmd.Status != StatusSuccess {
		return &StatusError{Op: "C-ECHO", Status: m.cmd.Status, Comment: m.cmd.ErrorComment}
	}
	return nil
}

// StatusError is a non-success final status.
type StatusError struct {
	Op      string
	Status  Status
	Comment string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s failed: status %s", e.Op, e.Status)
	if e.Comment != "" {
		s += ": " + e.Comment
	}
	if e.Status == StatusMoveDestinationUnknown {
		s += " (the peer does not know the move destination AE title: add it to the peer's list of known AEs with our host and port)"
	}
	return s
}

// response reads messages until the response to message id arrives.
func (c *Client) response(ctx context.Context, id uint16, want Field) (*message, error) {
	for {
		m, err := readMessage(ctx, c.a)
		if err != nil {
			return nil, err
		}
		if m.data != nil && m.cmd.Field != want {
			io.Copy(io.Discard, m.data)
		}
		if m.cmd.Field == want && m.cmd.MessageIDBeingRespondedTo == id {
			return m, nil
		}
		c.log.Warn("unexpected message ignored", "command", m.cmd.String())
	}
}

// StoreRequest is one instance to send with C-STORE: its data set, encoded in TransferSyntax.
type StoreRequest struct {
	SOPClassUID    string
	SOPInstanceUID string
	TransferSyntax string
	Data           io.Reader
	Priority       Priority
	// MoveOriginatorAE and MoveOriginatorMessageID are set for C-STORE sub-operations of a C-MOVE.
	MoveOriginatorAE        string
	MoveOriginatorMessageID uint16
}

// Store sends one instance with C-STORE (PS3.7 9.1.1) and returns the peer's status; warnings
// are returned with a nil error, failures as a *StatusError.
func (c *Client) Store(ctx context.Context, req StoreRequest) (Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, err := c.context(req.SOPClassUID, req.TransferSyntax)
	if err != nil {
		return 0, err
	}
	id := c.nextID()
	cmd := &Command{Field: CStoreRQ, MessageID: id, AffectedSOPClassUID: req.SOPClassUID,
		AffectedSOPInstanceUID: req.SOPInstanceUID, Priority: req.Priority,
		MoveOriginatorAE: req.MoveOriginatorAE, MoveOriginatorMessageID: req.MoveOriginatorMessageID}
	if err := sendMessage(ctx, c.a, &c.sendMu, pc.ID, cmd, req.Data); err != nil {
		return 0, err
	}
	m, err := c.response(ctx, id, CStoreRSP)
	if err != nil {
		return 0, err
	}
	if m.cmd.Status.Kind() == KindFailure {
		return m.cmd.Status, &StatusError{Op: "C-STORE", Status: m.cmd.Status, Comment: m.cmd.ErrorComment}
	}
	return m.cmd.Status, nil
}

// FileInstance is a Part 10 file opened for sending: what C-STORE needs, with Data reading the
// data set's bytes exactly as stored in the file.
type FileInstance struct {
	StoreRequest
	Size int64
	f    *os.File
}

// Close closes the file.
func (fi *FileInstance) Close() error { return fi.f.Close() }

// OpenFile opens a DICOM file for sending: it reads the File Meta (or, without one, the data
// set's header) for the SOP class, instance and transfer syntax, and leaves Data positioned at
// the first byte of the data set, so that the data set goes out byte for byte as stored.
func OpenFile(path string) (*FileInstance, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	df, err := dicom.Read(f, dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0019)})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	fi := &FileInstance{f: f, Size: st.Size() - df.DatasetOffset}
	fi.TransferSyntax = df.Syntax.UID
	if df.Meta != nil {
		fi.SOPClassUID = strings.TrimRight(df.Meta.String(tag.MediaStorageSOPClassUID), "\x00 ")
		fi.SOPInstanceUID = strings.TrimRight(df.Meta.String(tag.MediaStorageSOPInstanceUID), "\x00 ")
	}
	if fi.SOPClassUID == "" {
		fi.SOPClassUID = df.Dataset.String(tag.SOPClassUID)
	}
	if fi.SOPInstanceUID == "" {
		fi.SOPInstanceUID = df.Dataset.String(tag.SOPInstanceUID)
	}
	if fi.SOPClassUID == "" || fi.SOPInstanceUID == "" {
		f.Close()
		return nil, fmt.Errorf("%s: no SOP Class UID or SOP Instance UID: %w", path, ErrNotStorable)
	}
	if _, err := f.Seek(df.DatasetOffset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	fi.Data = f
	return fi, nil
}

// Find sends a C-FIND (PS3.7 9.1.2) with the query identifier on information model model (e.g.
// uid.StudyRootQueryRetrieveInformationModelFind) and yields each match. Stopping the iteration
// early, or canceling ctx, sends C-CANCEL. A failure status ends the iteration with a
// *StatusError.
func (c *Client) Find(ctx context.Context, model string, query *dicom.Dataset) iter.Seq2[*dicom.Dataset, error] {
	return func(yield func(*dicom.Dataset, error) bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		pc, err := c.context(model)
		if err != nil {
			yield(nil, err)
			return
		}
		data, err := encodeDataset(query, pc.TransferSyntax)
		if err != nil {
			yield(nil, err)
			return
		}
		id := c.nextID()
		if err := sendMessage(ctx, c.a, &c.sendMu, pc.ID, &Command{Field: CFindRQ, MessageID: id, AffectedSOPClassUID: model}, data); err != nil {
			yield(nil, err)
			return
		}
		canceled := false
		cancel := func() {
			if !canceled {
				canceled = true
				sendMessage(context.Background(), c.a, &c.sendMu, pc.ID, &Command{Field: CCancelRQ, MessageIDBeingRespondedTo: id}, nil)
			}
		}
		stop := context.AfterFunc(ctx, cancel)
		defer stop()
		rctx, rcancel := readCtx(ctx, 30*time.Second)
		defer rcancel()
		for {
			m, err := c.response(rctx, id, CFindRSP)
			if err != nil {
				if !canceled {
					yield(nil, err)
				}
				return
			}
			st := m.cmd.Status
			if st.IsPending() {
				if m.data == nil {
					continue
				}
				ds, err := parseIdentifier(m.data, pc.TransferSyntax, 0)
				if err != nil {
					c.a.Abort()
					yield(nil, fmt.Errorf("C-FIND match: %w", err))
					return
				}
				if canceled {
					continue
				}
				if !yield(ds, nil) {
					stop()
					cancel()
				}
				continue
			}
			if m.data != nil {
				io.Copy(io.Discard, m.data)
			}
			if st.Kind() == KindFailure && !canceled {
				yield(nil, &StatusError{Op: "C-FIND", Status: st, Comment: m.cmd.ErrorComment})
			} else if canceled && ctx.Err() != nil {
				yield(nil, ctx.Err())
			}
			return
		}
	}
}

// RetrieveResult is the outcome of a C-MOVE or C-GET.
type RetrieveResult struct {
	Status  Status
	SubOps  SubOperations
	Comment string
	// FailedUIDs is the Failed SOP Instance UID List (0008,0058) of the final response.
	FailedUIDs []string
}

// Move sends a C-MOVE (PS3.7 9.1.4) asking the peer to send the matches of query to the AE
// dest, and waits for the final response; progress, when set, sees every pending response.
func (c *Client) Move(ctx context.Context, model, dest string, query *dicom.Dataset, progress func(SubOperations)) (*RetrieveResult, error) {
	return c.retrieve(ctx, CMoveRQ, model, dest, query, nil, progress)
}

// StoreHandler receives the C-STORE sub-operations of a C-GET and returns the status to answer.
// r.Data streams the instance in r.Context.TransferSyntax.
type StoreHandler func(ctx context.Context, r *Request) Status

// Get sends a C-GET (PS3.7 9.1.3) and hands each instance the peer sends back on this
// association to store. The association must have been requested with the storage SOP classes
// proposed with the SCP role (see GetProposals).
func (c *Client) Get(ctx context.Context, model string, query *dicom.Dataset, store StoreHandler, progress func(SubOperations)) (*RetrieveResult, error) {
	return c.retrieve(ctx, CGetRQ, model, "", query, store, progress)
}

func (c *Client) retrieve(ctx context.Context, f Field, model, dest string, query *dicom.Dataset, store StoreHandler, progress func(SubOperations)) (*RetrieveResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, err := c.context(model)
	if err != nil {
		return nil, err
	}
	data, err := encodeDataset(query, pc.TransferSyntax)
	if err != nil {
		return nil, err
	}
	id := c.nextID()
	if err := sendMessage(ctx, c.a, &c.sendMu, pc.ID, &Command{Field: f, MessageID: id, AffectedSOPClassUID: model, MoveDestination: dest}, data); err != nil {
		return nil, err
	}
	var once sync.Once
	stop := context.AfterFunc(ctx, func() {
		once.Do(func() {
			sendMessage(context.Background(), c.a, &c.sendMu, pc.ID, &Command{Field: CCancelRQ, MessageIDBeingRespondedTo: id}, nil)
		})
	})
	defer stop()
	rctx, rcancel := readCtx(ctx, 60*time.Second)
	defer rcancel()
	info := &AssociationInfo{CallingAE: c.opts.CalledAE, CalledAE: c.opts.CallingAE, RemoteAddr: c.a.RemoteAddr()}
	for {
		m, err := readMessage(rctx, c.a)
		if err != nil {
			return nil, err
		}
		switch {
		case m.cmd.Field == CStoreRQ && store != nil:
			st := c.serveSubStore(rctx, m, info, store)
			rsp := &Command{Field: CStoreRSP, MessageIDBeingRespondedTo: m.cmd.MessageID, AffectedSOPClassUID: m.cmd.AffectedSOPClassUID,
				AffectedSOPInstanceUID: m.cmd.AffectedSOPInstanceUID, Status: st}
			if err := sendMessage(rctx, c.a, &c.sendMu, m.pc.ID, rsp, nil); err != nil {
				return nil, err
			}
		case m.cmd.Field == f.Response() && m.cmd.MessageIDBeingRespondedTo == id:
			res := &RetrieveResult{Status: m.cmd.Status, Comment: m.cmd.ErrorComment}
			if m.cmd.SubOps != nil {
				res.SubOps = *m.cmd.SubOps
			}
			if m.data != nil {
				if ds, err := parseIdentifier(m.data, pc.TransferSyntax, 0); err == nil {
					res.FailedUIDs = ds.Strings(tag.FailedSOPInstanceUIDList)
				}
			}
			if m.cmd.Status.IsPending() {
				if progress != nil {
					progress(res.SubOps)
				}
				continue
			}
			op := "C-MOVE"
			if f == CGetRQ {
				op = "C-GET"
			}
			if res.Status.Kind() == KindFailure {
				return res, &StatusError{Op: op, Status: res.Status, Comment: res.Comment}
			}
			return res, nil
		default:
			if m.data != nil {
				io.Copy(io.Discard, m.data)
			}
			c.log.Warn("unexpected message ignored", "command", m.cmd.String())
		}
	}
}

func (c *Client) serveSubStore(ctx context.Context, m *message, info *AssociationInfo, store StoreHandler) (st Status) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("C-GET storage handler panicked", "panic", fmt.Sprint(p))
			st = StatusCannotUnderstand
		}
		if m.data != nil {
			io.Copy(io.Discard, m.data)
		}
	}()
	req := &Request{Command: m.cmd, Context: m.pc, Data: m.data, Assoc: info}
	if m.data == nil {
		return StatusCannotUnderstand
	}
	return store(ctx, req)
}
