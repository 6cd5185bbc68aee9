// Package scp is the DIMSE front end of the archive: C-ECHO, C-STORE, C-FIND, C-MOVE and C-GET
// (PS3.4 Annexes A, B and C) served from an *archive.Service. It maps the archive's errors to
// DIMSE statuses in one place (statusOf) and nothing bypasses the archive.
package scp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Peer is a known DICOM application entity: a C-MOVE destination.
type Peer struct {
	AETitle string
	Addr    string // host:port
}

// Options configure the front end.
type Options struct {
	// AETitle is ours (the called AE title we answer to; also the calling AE of C-MOVE
	// sub-operations).
	AETitle string
	// Peers are the known application entities, by AE title.
	Peers map[string]Peer
	// CaseInsensitivePN matches Person Names ignoring case.
	CaseInsensitivePN bool
	// MaxMatches bounds the responses to one C-FIND (default 10,000).
	MaxMatches int
	// Codecs converts instances for C-MOVE and C-GET peers that do not take the stored
	// transfer syntax (default: every codec of this build).
	Codecs *codec.Registry
	// MaxConvertBytes bounds the size of an instance converted for such a peer (default
	// DefaultMaxConvertBytes).
	MaxConvertBytes int64
	Logger          *slog.Logger
}

// Handler serves the archive over DIMSE.
type Handler struct {
	arc  *archive.Service
	opts Options
	log  *slog.Logger
	mux  *dimse.ServeMux
	mu   sync.RWMutex
}

// New returns the DIMSE front end of arc.
func New(arc *archive.Service, opts Options) *Handler {
	if opts.MaxMatches <= 0 {
		opts.MaxMatches = 10000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{arc: arc, opts: opts, log: log, mux: dimse.NewServeMux()}
	h.mux.HandleFunc(dimse.CStoreRQ, h.store, dimse.StorageSOPClasses()...)
	h.mux.HandleFunc(dimse.CFindRQ, h.find, dimse.PatientRootFind, dimse.StudyRootFind)
	h.mux.HandleFunc(dimse.CMoveRQ, h.move, dimse.PatientRootMove, dimse.StudyRootMove)
	h.mux.HandleFunc(dimse.CGetRQ, h.get, dimse.PatientRootGet, dimse.StudyRootGet)
	return h
}

func (h *Handler) codecs() *codec.Registry {
	if h.opts.Codecs != nil {
		return h.opts.Codecs
	}
	return codecs.Registry()
}

// Mux returns the request multiplexer, for a dimse.Server's Handler.
func (h *Handler) Mux() *dimse.ServeMux { return h.mux }

// Authorize is the association policy until per-peer security arrives: calling AE titles are
// accepted from the loopback interface, and from elsewhere only when they are known peers
// connecting from their configured host.
func (h *Handler) Authorize(_ context.Context, info *dimse.AssociationInfo) error {
	host := ""
	if a, ok := info.RemoteAddr.(*net.TCPAddr); ok {
		if a.IP.IsLoopback() {
			return nil
		}
		host = a.IP.String()
	}
	h.mu.RLock()
	p, ok := h.opts.Peers[info.CallingAE]
	h.mu.RUnlock()
	if ok {
		if ph, _, err := net.SplitHostPort(p.Addr); err == nil {
			if ph == host {
				return nil
			}
			if ips, err := net.LookupHost(ph); err == nil {
				for _, ip := range ips {
					if ip == host {
						return nil
					}
				}
			}
		}
	}
	return fmt.Errorf("calling AE %q from %s is not a known peer at that address", info.CallingAE, host)
}

// StatusOf maps an archive error to a C-STORE status (PS3.4 B.2.3).
func StatusOf(err error) (dimse.Status, string) {
	switch {
	case err == nil:
		return dimse.StatusSuccess, ""
	case errors.Is(err, archive.ErrConflict):
		// Kept the stored instance: a warning, so that senders do not retry forever.
		return dimse.StatusSubOpsWithFailures, "duplicate SOP Instance UID with different content: the stored instance was kept"
	case errors.Is(err, archive.ErrMismatch):
		return dimse.StatusDataSetMismatch, err.Error()
	case errors.Is(err, archive.ErrInvalid):
		return dimse.StatusCannotUnderstand, err.Error()
	case errors.Is(err, archive.ErrNoSpace):
		return dimse.StatusOutOfResources, "storage full"
	case errors.Is(err, archive.ErrUnavailable):
		return dimse.StatusOutOfResources, "storage unavailable"
	}
	return dimse.StatusProcessingFailure, "processing failure"
}

func (h *Handler) store(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
	res, err := h.arc.Store(ctx, archive.StoreRequest{
		SOPClassUID:    r.Command.AffectedSOPClassUID,
		SOPInstanceUID: r.Command.AffectedSOPInstanceUID,
		TransferSyntax: r.Context.TransferSyntax,
		Data:           r.Data,
		Source:         r.Assoc.CallingAE,
	})
	st, comment := StatusOf(err)
	if err != nil && !errors.Is(err, archive.ErrConflict) {
		h.log.Warn("C-STORE failed", "calling_ae", r.Assoc.CallingAE, "sop_uid", r.Command.AffectedSOPInstanceUID, "status", st.String(), "err", err)
	} else if res != nil {
		h.log.Debug("C-STORE", "calling_ae", r.Assoc.CallingAE, "sop_uid", r.Command.AffectedSOPInstanceUID, "outcome", res.Outcome.String())
	}
	w.Respond(ctx, dimse.Response{Status: st, ErrorComment: comment})
}

// query reads a C-FIND/C-MOVE/C-GET identifier into an index query.
func (h *Handler) query(r *dimse.Request) (*dicom.Dataset, *index.Query, error) {
	ds, err := r.Dataset()
	if err != nil {
		return nil, nil, err
	}
	level, ok := index.ParseLevel(strings.TrimSpace(ds.String(tag.QueryRetrieveLevel)))
	if !ok {
		return nil, nil, fmt.Errorf("Query/Retrieve Level %q is not PATIENT, STUDY, SERIES or IMAGE", ds.String(tag.QueryRetrieveLevel))
	}
	patientRoot := r.Context.AbstractSyntax == dimse.PatientRootFind || r.Context.AbstractSyntax == dimse.PatientRootMove || r.Context.AbstractSyntax == dimse.PatientRootGet
	if !patientRoot && level == index.Patient {
		return nil, nil, errors.New("the Study Root model has no PATIENT level")
	}
	q := index.FromDataset(ds, level)
	q.CaseInsensitivePN = h.opts.CaseInsensitivePN
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	return ds, q, nil
}

func (h *Handler) find(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
	ident, q, err := h.query(r)
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusDataSetMismatch, ErrorComment: err.Error()})
		return
	}
	n := 0
	for m, err := range h.arc.Search(ctx, q) {
		if err != nil {
			if ctx.Err() != nil {
				w.Respond(ctx, dimse.Response{Status: dimse.StatusCancel})
				return
			}
			h.log.Error("C-FIND failed", "calling_ae", r.Assoc.CallingAE, "err", err)
			w.Respond(ctx, dimse.Response{Status: dimse.StatusUnableToProcess, ErrorComment: "query failed"})
			return
		}
		if ctx.Err() != nil {
			w.Respond(ctx, dimse.Response{Status: dimse.StatusCancel})
			return
		}
		resp, ok := answer(ident, q, m)
		if !ok {
			continue
		}
		if err := w.Pending(ctx, dimse.Response{Status: dimse.StatusPending, Data: resp}); err != nil {
			return
		}
		n++
		if n >= h.opts.MaxMatches {
			break
		}
	}
	w.Respond(ctx, dimse.Response{Status: dimse.StatusSuccess})
}

// answer builds the C-FIND response identifier for match m: every key of the request, with the
// match's value where it has one (PS3.4 C.2.2.1.3), and the Query/Retrieve Level. Keys the index
// does not keep are answered from the instance's metadata at the instance level, and matched
// there too; at other levels they are returned empty.
func answer(ident *dicom.Dataset, q *index.Query, m *index.Match) (*dicom.Dataset, bool) {
	var meta *dicom.Dataset
	if m.Instance != nil && len(m.Instance.Metadata) > 0 {
		if md, err := archive.DecodeMeta(m.Instance.Metadata); err == nil {
			meta = md.Dataset
		}
	}
	out := dicom.NewDataset()
	utf8 := false
	for i := range ident.Elements {
		e := &ident.Elements[i]
		switch e.Tag {
		case tag.SpecificCharacterSet:
			continue
		case tag.QueryRetrieveLevel:
			out.Set(*e)
			continue
		}
		if v := m.Attrs.Element(e.Tag); v != nil {
			out.Set(*v)
			if !isASCII(v.Value) {
				utf8 = true
			}
			continue
		}
		if _, indexed := index.AttrOf(e.Tag); !indexed && meta != nil {
			v := meta.Element(e.Tag)
			if v == nil && asksMatch(e, q) {
				// A key with a value never matches an absent attribute (PS3.4 C.2.2.2).
				return nil, false
			}
			if v != nil {
				if k, ok := q.Key(e.Tag); ok && k.VR != vr.SQ && !index.MatchValue(k, strings.Join(meta.ElementStrings(v), `\`), q.CaseInsensitivePN, q.FuzzyPN) {
					return nil, false
				}
				if e.Items != nil && !matchSequence(e, v, q) {
					return nil, false
				}
				if v.IsSequence() || isASCII(v.Value) {
					out.Set(*v)
					continue
				}
				// A text value in the instance's own character set: re-encode as UTF-8.
				ne := dicom.Element{Tag: v.Tag, VR: v.VR}
				out.Set(ne)
				out.SetString(tag.SpecificCharacterSet, vr.CS, "ISO_IR 192")
				out.SetString(v.Tag, v.VR, meta.ElementStrings(v)...)
				utf8 = true
				continue
			}
		}
		out.Set(dicom.Element{Tag: e.Tag, VR: e.VR, Offset: -1})
	}
	if utf8 {
		out.SetString(tag.SpecificCharacterSet, vr.CS, "ISO_IR 192")
	} else {
		out.Remove(tag.SpecificCharacterSet)
	}
	return out, true
}

// asksMatch reports whether key e carries a value to match (not universal matching).
func asksMatch(e *dicom.Element, q *index.Query) bool {
	if e.Items != nil {
		for _, it := range e.Items {
			for i := range it.Elements {
				if len(it.Elements[i].Value) > 0 {
					return true
				}
			}
		}
		return false
	}
	k, ok := q.Key(e.Tag)
	return ok && index.KindOf(k) != index.Universal
}

// matchSequence applies sequence matching (PS3.4 C.2.2.2.6): a sequence key whose item holds
// keys with values matches when one item of the stored sequence matches every one of them.
// An empty item (or none) only asks for the sequence to be returned.
func matchSequence(key, stored *dicom.Element, q *index.Query) bool {
	if len(key.Items) == 0 {
		return true
	}
	want := key.Items[0]
	hasValue := false
	for i := range want.Elements {
		if len(want.Elements[i].Value) > 0 {
			hasValue = true
		}
	}
	if !hasValue {
		return true
	}
	for _, item := range stored.Items {
		ok := true
		for i := range want.Elements {
			w := &want.Elements[i]
			if len(w.Value) == 0 || w.Items != nil {
				continue
			}
			k := index.Key{Tag: w.Tag, VR: w.ValueVR(), Value: strings.Join(want.ElementStrings(w), `\`)}
			got := ""
			if se := item.Element(w.Tag); se != nil {
				got = strings.Join(item.ElementStrings(se), `\`)
			}
			if !index.MatchValue(k, got, q.CaseInsensitivePN, q.FuzzyPN) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// retrieveSet returns the instances a C-MOVE or C-GET identifier selects: those under the
// matches of its keys at its level. Matches are collected first, so that no query runs inside
// another (each holds a read connection while it runs).
func (h *Handler) retrieveSet(ctx context.Context, q *index.Query) ([]*index.Stored, error) {
	var keys []string
	var out []*index.Stored
	for m, err := range h.arc.Search(ctx, q) {
		if err != nil {
			return nil, err
		}
		switch q.Level {
		case index.Instance:
			out = append(out, m.Instance)
		case index.Patient:
			keys = append(keys, m.Attrs.String(tag.PatientID))
		default:
			keys = append(keys, m.Attrs.String(index.UniqueKey(q.Level)))
		}
	}
	level := q.Level
	if level == index.Patient {
		var studies []string
		for _, pid := range keys {
			for s, err := range h.arc.Search(ctx, &index.Query{Level: index.Study, Keys: []index.Key{{Tag: tag.PatientID, VR: vr.LO, Value: pid}}}) {
				if err != nil {
					return nil, err
				}
				studies = append(studies, s.Attrs.String(tag.StudyInstanceUID))
			}
		}
		keys, level = studies, index.Study
	}
	for _, k := range keys {
		insts, err := h.arc.Instances(ctx, level, k)
		if err != nil {
			return nil, err
		}
		out = append(out, insts...)
	}
	return out, nil
}

// subOps runs the sub-operations of a C-MOVE or C-GET, sending pending responses with the counts
// and a final one with the Failed SOP Instance UID List (PS3.4 C.4.2.1.4, C.4.3.1.4).
// beforeFinal, when set, runs before the final response (C-MOVE releases its association to the
// destination first, so that everything is delivered when the requestor hears the result).
func (h *Handler) subOps(ctx context.Context, w dimse.ResponseWriter, set []*index.Stored, send func(*index.Stored) (dimse.Status, error), beforeFinal ...func()) {
	ops := dimse.SubOperations{Remaining: uint16(min(len(set), 0xFFFF))}
	var failed []string
	for i, st := range set {
		if ctx.Err() != nil {
			h.finish(ctx, w, dimse.StatusCancel, ops, append(failed, uids(set[i:])...))
			return
		}
		status, err := send(st)
		ops.Remaining--
		switch {
		case err != nil || status.Kind() == dimse.KindFailure:
			ops.Failed++
			failed = append(failed, st.SOPInstanceUID)
			h.log.Warn("sub-operation failed", "sop_uid", st.SOPInstanceUID, "status", status.String(), "err", err)
		case status.Kind() == dimse.KindWarning:
			ops.Warning++
		default:
			ops.Completed++
		}
		if ops.Remaining > 0 {
			p := ops
			w.Pending(ctx, dimse.Response{Status: dimse.StatusPending, SubOps: &p})
		}
	}
	for _, f := range beforeFinal {
		f()
	}
	st := dimse.StatusSuccess
	if ops.Failed > 0 || ops.Warning > 0 {
		st = dimse.StatusSubOpsWithFailures
		if ops.Completed == 0 && ops.Warning == 0 {
			st = dimse.StatusOutOfResourcesSubOps
		}
	}
	h.finish(ctx, w, st, ops, failed)
}

func uids(set []*index.Stored) []string {
	out := make([]string, len(set))
	for i, st := range set {
		out[i] = st.SOPInstanceUID
	}
	return out
}

func (h *Handler) finish(ctx context.Context, w dimse.ResponseWriter, st dimse.Status, ops dimse.SubOperations, failed []string) {
	final := ops
	final.NoRemaining = st != dimse.StatusCancel
	resp := dimse.Response{Status: st, SubOps: &final}
	if len(failed) > 0 {
		ds := dicom.NewDataset()
		ds.SetString(tag.FailedSOPInstanceUIDList, vr.UI, failed...)
		resp.Data = ds
	}
	w.Respond(ctx, resp)
}

func (h *Handler) move(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
	_, q, err := h.query(r)
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusDataSetMismatch, ErrorComment: err.Error()})
		return
	}
	dest := r.Command.MoveDestination
	h.mu.RLock()
	peer, ok := h.opts.Peers[dest]
	h.mu.RUnlock()
	if !ok {
		h.log.Warn("C-MOVE refused: unknown move destination; add it with --peer AE=HOST:PORT", "calling_ae", r.Assoc.CallingAE, "move_destination", dest)
		w.Respond(ctx, dimse.Response{Status: dimse.StatusMoveDestinationUnknown, ErrorComment: "unknown move destination " + dest})
		return
	}
	set, err := h.retrieveSet(ctx, q)
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusOutOfResourcesMatches, ErrorComment: "query failed"})
		return
	}
	if len(set) == 0 {
		h.finish(ctx, w, dimse.StatusSuccess, dimse.SubOperations{}, nil)
		return
	}
	pairs := map[string][]string{}
	for _, st := range set {
		pairs[st.SOPClassUID] = appendUnique(pairs[st.SOPClassUID], st.TransferSyntaxUID)
	}
	for class := range pairs {
		for _, ts := range fallbackSyntaxes {
			pairs[class] = appendUnique(pairs[class], ts)
		}
	}
	proposals := dimse.StorageProposals(pairs)
	if len(proposals) > 128 {
		proposals = proposals[:128]
	}
	c, err := h.dialDestination(ctx, w, peer, proposals, len(set))
	if err != nil {
		h.log.Warn("C-MOVE: cannot reach the destination", "move_destination", dest, "addr", peer.Addr, "err", err)
		ops := dimse.SubOperations{Failed: uint16(min(len(set), 0xFFFF))}
		h.finish(ctx, w, dimse.StatusOutOfResourcesSubOps, ops, uids(set))
		return
	}
	closed := false
	closeDest := func() {
		if !closed {
			closed = true
			c.Close()
		}
	}
	defer closeDest()
	h.subOps(ctx, w, set, func(st *index.Stored) (dimse.Status, error) {
		accepted := dimse.AcceptedSyntaxes(c.Association(), st.SOPClassUID)
		return h.sendOne(ctx, st, accepted, func(req dimse.StoreRequest) (dimse.Status, error) {
			req.MoveOriginatorAE = r.Assoc.CallingAE
			req.MoveOriginatorMessageID = r.Command.MessageID
			return c.Store(ctx, req)
		})
	}, closeDest)
}

// pendingWhileDialing is the interval of the Pending C-MOVE responses sent while the
// association to the move destination is being established.
const pendingWhileDialing = 20 * time.Millisecond

// dialDestination opens the association to a C-MOVE destination. While it is being
// established, the requestor hears a Pending response (Remaining = n, Completed = 0) at once and
// then every pendingWhileDialing (PS3.4 C.4.2.1.4 allows any number): a requestor that is also
// the destination and single-threaded (DCMTK's movescu with +P) only looks at its listening
// socket between messages on the C-MOVE association, so without them it would not accept our
// association before its own receive timeout.
func (h *Handler) dialDestination(ctx context.Context, w dimse.ResponseWriter, peer Peer, proposals []dimse.Proposal, n int) (*dimse.Client, error) {
	type dialed struct {
		c   *dimse.Client
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		c, err := dimse.Dial(ctx, peer.Addr, dimse.DialOptions{CallingAE: h.opts.AETitle, CalledAE: peer.AETitle, Proposals: proposals, Logger: h.log})
		done <- dialed{c, err}
	}()
	start := dimse.SubOperations{Remaining: uint16(min(n, 0xFFFF))}
	tick := time.NewTicker(pendingWhileDialing)
	defer tick.Stop()
	pending := true
	for {
		if pending {
			p := start
			if err := w.Pending(ctx, dimse.Response{Status: dimse.StatusPending, SubOps: &p}); err != nil {
				// The requestor is gone: release what the dial opens when it ends.
				go func() {
					if d := <-done; d.c != nil {
						d.c.Close()
					}
				}()
				return nil, fmt.Errorf("C-MOVE requestor: %w", err)
			}
			pending = false
		}
		select {
		case d := <-done:
			return d.c, d.err
		case <-tick.C:
			pending = true
		}
	}
}

func (h *Handler) get(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
	_, q, err := h.query(r)
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusDataSetMismatch, ErrorComment: err.Error()})
		return
	}
	set, err := h.retrieveSet(ctx, q)
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusOutOfResourcesMatches, ErrorComment: "query failed"})
		return
	}
	h.subOps(ctx, w, set, func(st *index.Stored) (dimse.Status, error) {
		var accepted []string
		if a, ok := w.(interface{ AcceptedSyntaxes(string) []string }); ok {
			accepted = a.AcceptedSyntaxes(st.SOPClassUID)
		}
		return h.sendOne(ctx, st, accepted, func(req dimse.StoreRequest) (dimse.Status, error) { return w.Store(ctx, req) })
	})
}

// sendOne sends one stored instance as stored (its data set bytes, in its transfer syntax)
// when the peer accepted that syntax (or when accepted is unknown), else converted into one it
// accepted.
func (h *Handler) sendOne(ctx context.Context, st *index.Stored, accepted []string, send func(dimse.StoreRequest) (dimse.Status, error)) (dimse.Status, error) {
	if len(accepted) > 0 && !slices.Contains(accepted, st.TransferSyntaxUID) {
		return h.sendConverted(ctx, st, accepted, send)
	}
	rc, _, err := h.arc.DatasetReader(ctx, st)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return send(dimse.StoreRequest{SOPClassUID: st.SOPClassUID, SOPInstanceUID: st.SOPInstanceUID,
		TransferSyntax: st.TransferSyntaxUID, Data: rc})
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
