package ul

import (
	"context"
	"slices"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
)

// Transfer syntaxes every implementation supports (PS3.5 10.1, A.2).
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
)

// Policy is an acceptor's negotiation of an A-ASSOCIATE-RQ; its Negotiate
// method is a Negotiator.
type Policy struct {
	// CalledAETitle, if set, is the only Called AE title accepted; another
	// is rejected (rejected-permanent, service-user, called AE title not
	// recognized).
	CalledAETitle string
	// AcceptCalling, if set, reports whether a Calling AE title is known;
	// if not, the request is rejected (calling AE title not recognized).
	AcceptCalling func(callingAE string) bool
	// AbstractSyntaxes are the SOP classes (and meta SOP classes) accepted;
	// a presentation context for another is answered with result 3,
	// abstract-syntax-not-supported. With AcceptAnyAbstractSyntax every
	// abstract syntax is accepted.
	AbstractSyntaxes        []string
	AcceptAnyAbstractSyntax bool
	// TransferSyntaxes are those we support; default Implicit and Explicit
	// VR Little Endian. Of the transfer syntaxes a presentation context
	// proposes, the first supported is accepted, so that compressed data
	// is stored as received; none supported gives result 4,
	// transfer-syntaxes-not-supported.
	TransferSyntaxes []string
	// Roles decides the reply to an SCP/SCU Role Selection sub-item
	// (PS3.7 D.3.3.4) for an accepted SOP class; the reply can only keep or
	// drop a proposed role. Nil accepts the roles proposed.
	Roles func(sopClassUID string, scu, scp bool) (acceptSCU, acceptSCP bool)
	// UserIdentity, if set, is given the User Identity sub-item of the
	// request (PS3.7 D.3.3.7). An error rejects the association
	// (rejected-permanent, service-user, no reason given). The server
	// response is sent when the requestor asked for a positive response.
	// Nil ignores user identity.
	UserIdentity func(ctx context.Context, id *pdu.UserIdentityRQ) (serverResponse []byte, err error)
}

func reject(reason pdu.RejectReason) *pdu.AssociateRJ {
	return &pdu.AssociateRJ{Result: pdu.RejectedPermanent, Source: pdu.SourceServiceUser, Reason: reason}
}

// Negotiate answers rq: an A-ASSOCIATE-RJ when the application context,
// the AE titles or the user identity are not acceptable, an A-ASSOCIATE-AC
// otherwise, with one result per presentation context (PS3.8 9.3.3.2),
// replies to role selection, an asynchronous operations window of 1/1
// when one was proposed (PS3.7 D.3.3.3), and the user identity server
// response. The Maximum Length and implementation identification are
// left to Accept.
func (p *Policy) Negotiate(ctx context.Context, rq *pdu.AssociateRQ) (*pdu.AssociateAC, *pdu.AssociateRJ, error) {
	if rq.ApplicationContext != pdu.ApplicationContextName {
		return nil, reject(pdu.ReasonApplicationContextNotSupported), nil
	}
	if p.CalledAETitle != "" && rq.CalledAE != p.CalledAETitle {
		return nil, reject(pdu.ReasonCalledAETitleNotRecognized), nil
	}
	if p.AcceptCalling != nil && !p.AcceptCalling(rq.CallingAE) {
		return nil, reject(pdu.ReasonCallingAETitleNotRecognized), nil
	}
	ac := &pdu.AssociateAC{
		ProtocolVersion:    pdu.ProtocolVersion1,
		CalledAE:           rq.CalledAE,
		CallingAE:          rq.CallingAE,
		ApplicationContext: rq.ApplicationContext,
	}
	if id := rq.UserInfo.UserIdentity; id != nil && p.UserIdentity != nil {
		resp, err := p.UserIdentity(ctx, id)
		if err != nil {
			return nil, reject(pdu.ReasonNoReasonGiven), nil
		}
		if id.PositiveResponseRequested {
			ac.UserInfo.UserIdentityAC = &pdu.UserIdentityAC{ServerResponse: resp}
		}
	}
	supported := p.TransferSyntaxes
	if len(supported) == 0 {
		supported = []string{ImplicitVRLittleEndian, ExplicitVRLittleEndian}
	}
	accepted := make(map[string]bool)
	seen := make(map[byte]bool)
	for _, pc := range rq.PresentationContexts {
		res := pdu.PresentationContextAC{ID: pc.ID}
		switch {
		case seen[pc.ID] || pc.ID%2 == 0:
			// PS3.8 9.3.2.2: IDs are odd and unique.
			res.Result = pdu.ResultNoReason
		case !p.AcceptAnyAbstractSyntax && !slices.Contains(p.AbstractSyntaxes, pc.AbstractSyntax):
			res.Result = pdu.ResultAbstractSyntaxNotSupported
		default:
			res.Result = pdu.ResultTransferSyntaxesNotSupported
			for _, ts := range pc.TransferSyntaxes {
				if slices.Contains(supported, ts) {
					res.Result, res.TransferSyntax = pdu.ResultAcceptance, ts
					accepted[pc.AbstractSyntax] = true
					break
				}
			}
		}
		seen[pc.ID] = true
		ac.PresentationContexts = append(ac.PresentationContexts, res)
	}
	for _, r := range rq.UserInfo.Roles {
		if !accepted[r.SOPClassUID] {
			continue
		}
		scu, scp := r.SCU, r.SCP
		if p.Roles != nil {
			aSCU, aSCP := p.Roles(r.SOPClassUID, r.SCU, r.SCP)
			scu, scp = scu && aSCU, scp && aSCP
		}
		ac.UserInfo.Roles = append(ac.UserInfo.Roles, pdu.RoleSelection{SOPClassUID: r.SOPClassUID, SCU: scu, SCP: scp})
	}
	if rq.UserInfo.AsyncOps != nil {
		ac.UserInfo.AsyncOps = &pdu.AsyncOps{MaxInvoked: 1, MaxPerformed: 1}
	}
	return ac, nil, nil
}
