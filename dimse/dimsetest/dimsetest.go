// Package dimsetest provides a small in-memory storage and query/retrieve SCP for tests of DIMSE
// clients and peers: it keeps every instance it receives byte for byte, answers C-FIND with
// exact, wildcard and UID-list matching on a few keys at every level, and serves C-MOVE (to
// destinations it is given) and C-GET from what it holds. It is not the archive.
package dimsetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
)

// Instance is one stored instance: its data set bytes as received and where they came from.
type Instance struct {
	SOPClassUID, SOPInstanceUID, TransferSyntax string
	Data                                        []byte
	Dataset                                     *dicom.Dataset
	CallingAE                                   string
}

// SCP is the test SCP.
type SCP struct {
	AETitle string
	// Peers maps move destination AE titles to addresses.
	Peers map[string]string

	Server *dimse.Server
	Addr   string

	mu        sync.Mutex
	instances map[string]*Instance
	order     []string
}

// Start starts an SCP with AE title ae on 127.0.0.1 and a free port; it stops with the test.
func Start(t testing.TB, ae string, configure func(*dimse.Server)) *SCP {
	t.Helper()
	s := &SCP{AETitle: ae, Peers: map[string]string{}, instances: map[string]*Instance{}}
	mux := dimse.NewServeMux()
	mux.HandleFunc(dimse.CStoreRQ, s.store, dimse.StorageSOPClasses()...)
	for _, m := range []string{dimse.PatientRootFind, dimse.StudyRootFind} {
		mux.HandleFunc(dimse.CFindRQ, s.find, m)
	}
	for _, m := range []string{dimse.PatientRootMove, dimse.StudyRootMove} {
		mux.HandleFunc(dimse.CMoveRQ, s.move, m)
	}
	for _, m := range []string{dimse.PatientRootGet, dimse.StudyRootGet} {
		mux.HandleFunc(dimse.CGetRQ, s.get, m)
	}
	s.Server = &dimse.Server{AETitle: ae, Handler: mux}
	if configure != nil {
		configure(s.Server)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- s.Server.Serve(ln) }()
	t.Cleanup(func() {
		s.Server.Close()
		if err := <-done; !errors.Is(err, dimse.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

// Instances returns the stored instances in arrival order.
func (s *SCP) Instances() []*Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Instance, 0, len(s.order))
	for _, u := range s.order {
		out = append(out, s.instances[u])
	}
	return out
}

// Instance returns the stored instance with SOP Instance UID u.
func (s *SCP) Instance(u string) *Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instances[u]
}

// Add stores an instance directly.
func (s *SCP) Add(in *Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.instances[in.SOPInstanceUID]; !ok {
		s.order = append(s.order, in.SOPInstanceUID)
	}
	s.instances[in.SOPInstanceUID] = in
}

func (s *SCP) store(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
	data, err := io.ReadAll(r.Data)
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()})
		return
	}
	ds, err := dicom.ParseDataset(data, r.Context.TransferSyntax, dicom.ReadOptions{StopAt: tag.PixelData})
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusCannotUnderstand, ErrorComment: err.Error()})
		return
	}
	s.Add(&Instance{SOPClassUID: r.Command.AffectedSOPClassUID, SOPInstanceUID: r.Command.AffectedSOPInstanceUID,
		TransferSyntax: r.Context.TransferSyntax, Data: data, Dataset: ds, CallingAE: r.Assoc.CallingAE})
	w.Respond(ctx, dimse.Response{Status: dimse.StatusSuccess})
}

// levelKeys are the unique keys of each query level.
var levelKeys = map[string]tag.Tag{
	"PATIENT": tag.PatientID, "STUDY": tag.StudyInstanceUID, "SERIES": tag.SeriesInstanceUID, "IMAGE": tag.SOPInstanceUID,
}

// matches applies single-value, wildcard and UID-list matching to the keys of q that carry a
// value (PS3.4 C.2.2.2, simplified).
func matches(q, ds *dicom.Dataset) bool {
	for i := range q.Elements {
		e := &q.Elements[i]
		if e.Tag == tag.QueryRetrieveLevel || e.Tag == tag.SpecificCharacterSet || len(e.Value) == 0 || e.Items != nil {
			continue
		}
		want := q.ElementString(e)
		got := ds.String(e.Tag)
		if e.VR == vr.UI {
			ok := false
			for _, u := range strings.Split(want, `\`) {
				if u == got {
					ok = true
				}
			}
			if !ok {
				return false
			}
			continue
		}
		if ok, _ := path.Match(want, got); !ok && want != got {
			return false
		}
	}
	return true
}

func (s *SCP) select_(q *dicom.Dataset) []*Instance {
	var out []*Instance
	seen := map[string]bool{}
	level := q.String(tag.QueryRetrieveLevel)
	key, ok := levelKeys[level]
	if !ok {
		key = tag.SOPInstanceUID
	}
	for _, in := range s.Instances() {
		if !matches(q, in.Dataset) {
			continue
		}
		k := in.Dataset.String(key)
		if seen[k] && key != tag.SOPInstanceUID {
			continue
		}
		seen[k] = true
		out = append(out, in)
	}
	return out
}

func (s *SCP) find(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
	q, err := r.Dataset()
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusDataSetMismatch, ErrorComment: err.Error()})
		return
	}
	for _, in := range s.select_(q) {
		if ctx.Err() != nil {
			w.Respond(ctx, dimse.Response{Status: dimse.StatusCancel})
			return
		}
		resp := dicom.NewDataset()
		for i := range q.Elements {
			e := q.Elements[i]
			if v := in.Dataset.Element(e.Tag); v != nil {
				e = *v
			}
			resp.Set(e)
		}
		if cs := in.Dataset.Element(tag.SpecificCharacterSet); cs != nil {
			resp.Set(*cs)
		}
		if err := w.Pending(ctx, dimse.Response{Status: dimse.StatusPending, Data: resp}); err != nil {
			return
		}
	}
	w.Respond(ctx, dimse.Response{Status: dimse.StatusSuccess})
}

// retrieveSet returns every instance under the matches of q.
func (s *SCP) retrieveSet(q *dicom.Dataset) []*Instance {
	var out []*Instance
	level := q.String(tag.QueryRetrieveLevel)
	key := levelKeys[level]
	for _, m := range s.select_(q) {
		for _, in := range s.Instances() {
			if key == 0 || in.Dataset.String(key) == m.Dataset.String(key) {
				out = append(out, in)
			}
		}
	}
	return dedupe(out)
}

func dedupe(in []*Instance) []*Instance {
	seen := map[string]bool{}
	var out []*Instance
	for _, x := range in {
		if !seen[x.SOPInstanceUID] {
			seen[x.SOPInstanceUID] = true
			out = append(out, x)
		}
	}
	return out
}

func (s *SCP) subOps(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request, set []*Instance, send func(*Instance) (dimse.Status, error)) {
	ops := &dimse.SubOperations{Remaining: uint16(len(set))}
	var failed []string
	for _, in := range set {
		if ctx.Err() != nil {
			w.Respond(ctx, dimse.Response{Status: dimse.StatusCancel, SubOps: ops})
			return
		}
		st, err := send(in)
		ops.Remaining--
		switch {
		case err != nil || st.Kind() == dimse.KindFailure:
			ops.Failed++
			failed = append(failed, in.SOPInstanceUID)
		case st.Kind() == dimse.KindWarning:
			ops.Warning++
		default:
			ops.Completed++
		}
		if ops.Remaining > 0 {
			cp := *ops
			w.Pending(ctx, dimse.Response{Status: dimse.StatusPending, SubOps: &cp})
		}
	}
	final := dimse.Response{Status: dimse.StatusSuccess, SubOps: &dimse.SubOperations{Completed: ops.Completed, Failed: ops.Failed, Warning: ops.Warning, NoRemaining: true}}
	if len(failed) > 0 {
		final.Status = dimse.StatusSubOpsWithFailures
		ds := dicom.NewDataset()
		ds.SetString(tag.FailedSOPInstanceUIDList, vr.UI, failed...)
		final.Data = ds
	}
	w.Respond(ctx, final)
}

func (s *SCP) move(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
	q, err := r.Dataset()
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusDataSetMismatch, ErrorComment: err.Error()})
		return
	}
	addr, ok := s.Peers[r.Command.MoveDestination]
	if !ok {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusMoveDestinationUnknown, ErrorComment: "unknown destination " + r.Command.MoveDestination})
		return
	}
	set := s.retrieveSet(q)
	pairs := map[string][]string{}
	for _, in := range set {
		pairs[in.SOPClassUID] = append(pairs[in.SOPClassUID], in.TransferSyntax)
	}
	if len(set) == 0 {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusSuccess, SubOps: &dimse.SubOperations{NoRemaining: true}})
		return
	}
	c, err := dimse.Dial(ctx, addr, dimse.DialOptions{CallingAE: s.AETitle, CalledAE: r.Command.MoveDestination, Proposals: dimse.StorageProposals(pairs)})
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusOutOfResourcesSubOps, ErrorComment: err.Error()})
		return
	}
	defer c.Close()
	s.subOps(ctx, w, r, set, func(in *Instance) (dimse.Status, error) {
		return c.Store(ctx, dimse.StoreRequest{SOPClassUID: in.SOPClassUID, SOPInstanceUID: in.SOPInstanceUID, TransferSyntax: in.TransferSyntax,
			Data: bytes.NewReader(in.Data), MoveOriginatorAE: r.Assoc.CallingAE, MoveOriginatorMessageID: r.Command.MessageID})
	})
}

func (s *SCP) get(ctx context.Context, w dimse.ResponseWriter, r *dimse.Request) {
	q, err := r.Dataset()
	if err != nil {
		w.Respond(ctx, dimse.Response{Status: dimse.StatusDataSetMismatch, ErrorComment: err.Error()})
		return
	}
	set := s.retrieveSet(q)
	s.subOps(ctx, w, r, set, func(in *Instance) (dimse.Status, error) {
		return w.Store(ctx, dimse.StoreRequest{SOPClassUID: in.SOPClassUID, SOPInstanceUID: in.SOPInstanceUID, TransferSyntax: in.TransferSyntax, Data: bytes.NewReader(in.Data)})
	})
}
