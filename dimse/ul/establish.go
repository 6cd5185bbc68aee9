package ul

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
)

// Dial connects to address over TCP and requests an association (see
// Request).
func Dial(ctx context.Context, address string, rq *pdu.AssociateRQ, cfg Config) (*Association, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("ul: dial %s: %w", address, err)
	}
	a, err := Request(ctx, conn, rq, cfg)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return a, nil
}

// Request requests an association on conn, an open transport connection,
// as association-requestor: Evt1 and Evt2 (AE-1, AE-2: send rq), then
// waits, at most the ARTIM timeout, for A-ASSOCIATE-AC (AE-3) or
// A-ASSOCIATE-RJ (AE-4, a *RejectedError).
//
// rq is copied; empty fields take defaults: protocol version 1, the DICOM
// application context, and from cfg the Maximum Length and implementation
// identification. On error conn is closed.
func Request(ctx context.Context, conn net.Conn, rq *pdu.AssociateRQ, cfg Config) (*Association, error) {
	a := newAssociation(conn, cfg, Requestor)
	r := *rq
	if r.ProtocolVersion == 0 {
		r.ProtocolVersion = pdu.ProtocolVersion1
	}
	if r.ApplicationContext == "" {
		r.ApplicationContext = pdu.ApplicationContextName
	}
	r.UserInfo.MaxLength = a.cfg.MaxPDULength
	if r.UserInfo.ImplementationClassUID == "" {
		r.UserInfo.ImplementationClassUID = a.cfg.ImplementationClassUID
		r.UserInfo.ImplementationVersionName = a.cfg.ImplementationVersionName
	}
	a.rq = &r

	a.readMu.Lock()
	defer a.readMu.Unlock()
	a.fire(Evt1) // AE-1: the transport connection is conn
	a.fire(Evt2) // AE-2
	if err := a.send(ctx, a.rq); err != nil {
		a.closeConn()
		a.setState(Sta1)
		return nil, a.end(fmt.Errorf("ul: send A-ASSOCIATE-RQ: %w", err))
	}
	_, action, p, err := a.receive(ctx, a.cfg.ARTIMTimeout)
	if err != nil {
		return nil, err
	}
	if action != AE3 {
		return nil, a.localAbort(fmt.Errorf("%w: %s in Sta5", ErrProtocol, action))
	}
	a.ac = p.(*pdu.AssociateAC)
	a.contexts = make(map[byte]PresentationContext)
	for _, pc := range a.ac.PresentationContexts {
		i := -1
		for j, p := range a.rq.PresentationContexts {
			if p.ID == pc.ID {
				i = j
				break
			}
		}
		if i < 0 {
			a.log.Warn("dicom ul: A-ASSOCIATE-AC answers a presentation context not proposed", "id", pc.ID)
			continue
		}
		if pc.Result == pdu.ResultAcceptance {
			a.contexts[pc.ID] = PresentationContext{ID: pc.ID, AbstractSyntax: a.rq.PresentationContexts[i].AbstractSyntax, TransferSyntax: pc.TransferSyntax}
		}
	}
	a.setPDVMax(a.ac.UserInfo.MaxLength)
	return a, nil
}

// setPDVMax sets the fragment size from the peer's Maximum Length (PS3.8
// D.1), never above our own.
func (a *Association) setPDVMax(peerMax uint32) {
	a.pdvMax = min(pdu.MaxPDVData(peerMax), pdu.MaxPDVData(a.cfg.MaxPDULength))
	if a.pdvMax == 0 {
		a.pdvMax = 1 // a peer limit below 7 bytes leaves room for one byte
	}
}

// Negotiator decides on an A-ASSOCIATE-RQ for the acceptor: it returns an
// A-ASSOCIATE-AC to accept, an A-ASSOCIATE-RJ to reject, or an error to
// abort. Policy.Negotiate is one.
type Negotiator func(ctx context.Context, rq *pdu.AssociateRQ) (*pdu.AssociateAC, *pdu.AssociateRJ, error)

// Accept runs the association-acceptor side on conn, an accepted transport
// connection: AE-5 starts the ARTIM timer, which expires (Evt18, AA-2,
// ErrARTIMExpired) unless an A-ASSOCIATE-RQ arrives in time (Evt6, AE-6).
// A request with an unsupported protocol version is rejected by the
// provider; any other is given to negotiate (Sta3), whose answer is sent:
// A-ASSOCIATE-AC (Evt7, AE-7) returns the established association,
// A-ASSOCIATE-RJ (Evt8, AE-8) a *RejectedError after the peer closed the
// connection or the ARTIM timer expired.
//
// The AC's Maximum Length and, when empty, its implementation
// identification are filled from cfg. On error conn is closed.
func Accept(ctx context.Context, conn net.Conn, cfg Config, negotiate Negotiator) (*Association, error) {
	a := newAssociation(conn, cfg, Acceptor)
	a.readMu.Lock()
	defer a.readMu.Unlock()
	a.fire(Evt5) // AE-5: start ARTIM
	_, _, p, err := a.receive(ctx, a.cfg.ARTIMTimeout)
	if err != nil {
		return nil, err
	}
	// AE-6: the ARTIM timer stopped with the read. Is the request
	// acceptable by the service-provider?
	a.rq = p.(*pdu.AssociateRQ)
	if a.rq.ProtocolVersion&pdu.ProtocolVersion1 == 0 {
		return nil, a.reject(ctx, pdu.AssociateRJ{
			Result: pdu.RejectedPermanent, Source: pdu.SourceServiceProviderACSE, Reason: pdu.ReasonProtocolVersionNotSupported,
		}, true)
	}
	// Sta3: the A-ASSOCIATE indication goes to the local user.
	ac, rj, err := negotiate(ctx, a.rq)
	switch {
	case err != nil:
		return nil, a.localAbort(fmt.Errorf("ul: negotiate: %w", err))
	case rj != nil:
		return nil, a.reject(ctx, *rj, false)
	case ac == nil:
		return nil, a.localAbort(errors.New("ul: negotiate returned neither A-ASSOCIATE-AC nor -RJ"))
	}
	a.ac = ac
	if ac.ProtocolVersion == 0 {
		ac.ProtocolVersion = pdu.ProtocolVersion1
	}
	if ac.ApplicationContext == "" {
		ac.ApplicationContext = a.rq.ApplicationContext
	}
	ac.UserInfo.MaxLength = a.cfg.MaxPDULength
	if ac.UserInfo.ImplementationClassUID == "" {
		ac.UserInfo.ImplementationClassUID = a.cfg.ImplementationClassUID
		ac.UserInfo.ImplementationVersionName = a.cfg.ImplementationVersionName
	}
	a.contexts = make(map[byte]PresentationContext)
	for _, pc := range ac.PresentationContexts {
		if pc.Result != pdu.ResultAcceptance {
			continue
		}
		for _, p := range a.rq.PresentationContexts {
			if p.ID == pc.ID {
				a.contexts[pc.ID] = PresentationContext{ID: pc.ID, AbstractSyntax: p.AbstractSyntax, TransferSyntax: pc.TransferSyntax}
				break
			}
		}
	}
	a.setPDVMax(a.rq.UserInfo.MaxLength)
	if a.fire(Evt7) != AE7 {
		return nil, a.stateError("A-ASSOCIATE response (accept)")
	}
	if err := a.send(ctx, ac); err != nil {
		return nil, a.localAbort(fmt.Errorf("ul: send A-ASSOCIATE-AC: %w", err))
	}
	return a, nil
}

// reject sends A-ASSOCIATE-RJ, by the provider (the "otherwise" branch of
// AE-6) or by the local user (Evt8, AE-8), starts the ARTIM timer and waits
// in Sta13 for the peer to close. The caller holds readMu.
func (a *Association) reject(ctx context.Context, rj pdu.AssociateRJ, byProvider bool) error {
	if byProvider {
		a.setState(Sta13)
	} else if a.fire(Evt8) != AE8 {
		return a.stateError("A-ASSOCIATE response (reject)")
	}
	err := a.end(&RejectedError{RJ: rj, Local: true})
	if serr := a.send(ctx, &rj); serr != nil {
		a.log.Debug("dicom ul: send A-ASSOCIATE-RJ", "err", serr)
	}
	a.awaitClose()
	return err
}
