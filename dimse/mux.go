package dimse

import (
	"context"
	"sort"
	"sync"
)

// ServeMux dispatches requests to handlers by command field and SOP class, the way
// http.ServeMux dispatches by path. An empty SOP class matches every class of that command.
// C-ECHO is answered with success when no handler is registered for it.
type ServeMux struct {
	mu       sync.RWMutex
	handlers map[muxKey]Handler
	classes  map[string]struct{}
}

type muxKey struct {
	field    Field
	sopClass string
}

// NewServeMux returns an empty mux.
func NewServeMux() *ServeMux {
	return &ServeMux{handlers: map[muxKey]Handler{}, classes: map[string]struct{}{}}
}

// Handle registers h for requests with command field f (a request field such as CStoreRQ) for
// each of sopClasses, or for every SOP class when none is given. Registered SOP classes are the
// abstract syntaxes a Server using this mux accepts.
func (m *ServeMux) Handle(f Field, h Handler, sopClasses ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(sopClasses) == 0 {
		m.handlers[muxKey{f, ""}] = h
		return
	}
	for _, c := range sopClasses {
		m.handlers[muxKey{f, c}] = h
		m.classes[c] = struct{}{}
	}
}

// HandleFunc registers a function as a handler.
func (m *ServeMux) HandleFunc(f Field, fn func(ctx context.Context, w ResponseWriter, r *Request), sopClasses ...string) {
	m.Handle(f, HandlerFunc(fn), sopClasses...)
}

// SOPClasses returns the SOP classes with a registered handler, plus Verification.
func (m *ServeMux) SOPClasses() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []string{VerificationSOPClass}
	for c := range m.classes {
		if c != VerificationSOPClass {
			out = append(out, c)
		}
	}
	sort.Strings(out[1:])
	return out
}

// ServeDIMSE dispatches r.
func (m *ServeMux) ServeDIMSE(ctx context.Context, w ResponseWriter, r *Request) {
	class := r.Command.AffectedSOPClassUID
	if class == "" {
		class = r.Command.RequestedSOPClassUID
	}
	m.mu.RLock()
	h, ok := m.handlers[muxKey{r.Command.Field, class}]
	if !ok {
		h, ok = m.handlers[muxKey{r.Command.Field, ""}]
	}
	m.mu.RUnlock()
	switch {
	case ok:
		h.ServeDIMSE(ctx, w, r)
	case r.Command.Field == CEchoRQ:
		w.Respond(ctx, Response{Status: StatusSuccess})
	default:
		w.Respond(ctx, Response{Status: StatusUnrecognizedOperation, ErrorComment: "no service for " + r.Command.Field.String()})
	}
}

// VerificationSOPClass is the Verification SOP Class of C-ECHO (PS3.4 Annex A).
const VerificationSOPClass = "1.2.840.10008.1.1"
