package ul

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
)

func TestPolicyNegotiate(t *testing.T) {
	const storageCommit = "1.2.840.10008.1.20.1"
	errDenied := errors.New("denied")
	base := func() *pdu.AssociateRQ {
		return &pdu.AssociateRQ{
			ProtocolVersion: 1, CalledAE: "LIGHTBOX", CallingAE: "MODALITY",
			ApplicationContext: pdu.ApplicationContextName,
		}
	}
	tests := []struct {
		name   string
		policy Policy
		rq     func() *pdu.AssociateRQ
		wantRJ *pdu.AssociateRJ
		check  func(t *testing.T, ac *pdu.AssociateAC)
	}{
		{
			name:   "application context not supported",
			policy: Policy{},
			rq:     func() *pdu.AssociateRQ { rq := base(); rq.ApplicationContext = "1.2.3"; return rq },
			wantRJ: &pdu.AssociateRJ{Result: 1, Source: 1, Reason: pdu.ReasonApplicationContextNotSupported},
		},
		{
			name:   "called AE title not recognized",
			policy: Policy{CalledAETitle: "PACS"},
			rq:     base,
			wantRJ: &pdu.AssociateRJ{Result: 1, Source: 1, Reason: pdu.ReasonCalledAETitleNotRecognized},
		},
		{
			name:   "calling AE title not recognized",
			policy: Policy{AcceptCalling: func(ae string) bool { return ae == "CT1" }},
			rq:     base,
			wantRJ: &pdu.AssociateRJ{Result: 1, Source: 1, Reason: pdu.ReasonCallingAETitleNotRecognized},
		},
		{
			name: "user identity refused",
			policy: Policy{UserIdentity: func(context.Context, *pdu.UserIdentityRQ) ([]byte, error) {
				return nil, errDenied
			}},
			rq: func() *pdu.AssociateRQ {
				rq := base()
				rq.UserInfo.UserIdentity = &pdu.UserIdentityRQ{Type: pdu.UserIdentityUsername, PrimaryField: []byte("eve")}
				return rq
			},
			wantRJ: &pdu.AssociateRJ{Result: 1, Source: 1, Reason: pdu.ReasonNoReasonGiven},
		},
		{
			name: "user identity accepted with positive response",
			policy: Policy{UserIdentity: func(_ context.Context, id *pdu.UserIdentityRQ) ([]byte, error) {
				return []byte("welcome " + string(id.PrimaryField)), nil
			}},
			rq: func() *pdu.AssociateRQ {
				rq := base()
				rq.UserInfo.UserIdentity = &pdu.UserIdentityRQ{Type: pdu.UserIdentityUsernamePasscode, PositiveResponseRequested: true,
					PrimaryField: []byte("alice"), SecondaryField: []byte("pw")}
				return rq
			},
			check: func(t *testing.T, ac *pdu.AssociateAC) {
				if ac.UserInfo.UserIdentityAC == nil || string(ac.UserInfo.UserIdentityAC.ServerResponse) != "welcome alice" {
					t.Errorf("user identity AC %+v", ac.UserInfo.UserIdentityAC)
				}
			},
		},
		{
			name: "user identity accepted, no response requested",
			policy: Policy{UserIdentity: func(context.Context, *pdu.UserIdentityRQ) ([]byte, error) {
				return []byte("x"), nil
			}},
			rq: func() *pdu.AssociateRQ {
				rq := base()
				rq.UserInfo.UserIdentity = &pdu.UserIdentityRQ{Type: pdu.UserIdentityUsername, PrimaryField: []byte("bob")}
				return rq
			},
			check: func(t *testing.T, ac *pdu.AssociateAC) {
				if ac.UserInfo.UserIdentityAC != nil {
					t.Errorf("unrequested user identity response %+v", ac.UserInfo.UserIdentityAC)
				}
			},
		},
		{
			name: "presentation context results, roles, async window",
			policy: Policy{
				AbstractSyntaxes: []string{ctImage, verifySOP, storageCommit},
				TransferSyntaxes: []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian, jpegBase},
				Roles: func(sop string, scu, scp bool) (bool, bool) {
					return sop != storageCommit, true // never SCU for storage commitment
				},
			},
			rq: func() *pdu.AssociateRQ {
				rq := base()
				rq.PresentationContexts = []pdu.PresentationContextRQ{
					{ID: 1, AbstractSyntax: ctImage, TransferSyntaxes: []string{jpegBase, ExplicitVRLittleEndian}},
					{ID: 3, AbstractSyntax: ctImage, TransferSyntaxes: []string{ImplicitVRLittleEndian, ExplicitVRLittleEndian}},
					{ID: 5, AbstractSyntax: mrImage, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
					{ID: 7, AbstractSyntax: verifySOP, TransferSyntaxes: []string{"1.2.840.10008.1.2.4.90"}},
					{ID: 7, AbstractSyntax: verifySOP, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
					{ID: 8, AbstractSyntax: verifySOP, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
					{ID: 9, AbstractSyntax: storageCommit, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
				}
				rq.UserInfo.Roles = []pdu.RoleSelection{
					{SOPClassUID: ctImage, SCU: true, SCP: true},
					{SOPClassUID: mrImage, SCU: false, SCP: true},
					{SOPClassUID: storageCommit, SCU: true, SCP: true},
				}
				rq.UserInfo.AsyncOps = &pdu.AsyncOps{MaxInvoked: 5, MaxPerformed: 5}
				return rq
			},
			check: func(t *testing.T, ac *pdu.AssociateAC) {
				want := []pdu.PresentationContextAC{
					{ID: 1, Result: pdu.ResultAcceptance, TransferSyntax: jpegBase},
					{ID: 3, Result: pdu.ResultAcceptance, TransferSyntax: ImplicitVRLittleEndian},
					{ID: 5, Result: pdu.ResultAbstractSyntaxNotSupported},
					{ID: 7, Result: pdu.ResultTransferSyntaxesNotSupported},
					{ID: 7, Result: pdu.ResultNoReason},
					{ID: 8, Result: pdu.ResultNoReason},
					{ID: 9, Result: pdu.ResultAcceptance, TransferSyntax: ImplicitVRLittleEndian},
				}
				if !reflect.DeepEqual(ac.PresentationContexts, want) {
					t.Errorf("contexts\n got %+v\nwant %+v", ac.PresentationContexts, want)
				}
				wantRoles := []pdu.RoleSelection{
					{SOPClassUID: ctImage, SCU: true, SCP: true},
					{SOPClassUID: storageCommit, SCU: false, SCP: true},
				}
				if !reflect.DeepEqual(ac.UserInfo.Roles, wantRoles) {
					t.Errorf("roles\n got %+v\nwant %+v", ac.UserInfo.Roles, wantRoles)
				}
				if a := ac.UserInfo.AsyncOps; a == nil || *a != (pdu.AsyncOps{MaxInvoked: 1, MaxPerformed: 1}) {
					t.Errorf("async ops %+v", a)
				}
				if ac.CalledAE != "LIGHTBOX" || ac.CallingAE != "MODALITY" || ac.ApplicationContext != pdu.ApplicationContextName {
					t.Errorf("AC header %+v", ac)
				}
			},
		},
		{
			name:   "default transfer syntaxes, any abstract syntax, no async window proposed",
			policy: Policy{AcceptAnyAbstractSyntax: true},
			rq: func() *pdu.AssociateRQ {
				rq := base()
				rq.PresentationContexts = []pdu.PresentationContextRQ{
					{ID: 1, AbstractSyntax: "1.2.3.4.5", TransferSyntaxes: []string{jpegBase, ExplicitVRLittleEndian}},
				}
				return rq
			},
			check: func(t *testing.T, ac *pdu.AssociateAC) {
				want := []pdu.PresentationContextAC{{ID: 1, Result: pdu.ResultAcceptance, TransferSyntax: ExplicitVRLittleEndian}}
				if !reflect.DeepEqual(ac.PresentationContexts, want) {
					t.Errorf("contexts %+v", ac.PresentationContexts)
				}
				if ac.UserInfo.AsyncOps != nil {
					t.Errorf("async ops answered without a proposal")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ac, rj, err := tc.policy.Negotiate(context.Background(), tc.rq())
			if err != nil {
				t.Fatalf("Negotiate: %v", err)
			}
			if tc.wantRJ != nil {
				if ac != nil || rj == nil || *rj != *tc.wantRJ {
					t.Fatalf("Negotiate = %+v, %+v; want %+v", ac, rj, tc.wantRJ)
				}
				return
			}
			if rj != nil || ac == nil {
				t.Fatalf("Negotiate = %+v, %+v; want an AC", ac, rj)
			}
			tc.check(t, ac)
		})
	}
}
