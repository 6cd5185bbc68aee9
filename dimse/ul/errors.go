package ul

import (
	"errors"
	"fmt"

	"github.com/lightbox-pacs/lightbox/dimse/pdu"
)

// Errors of an Association.
var (
	// ErrReleaseRequested is the A-RELEASE indication (AR-2): the peer sent
	// A-RELEASE-RQ. The association is in Sta8; the local user may still
	// send, and answers with Release.
	ErrReleaseRequested = errors.New("ul: peer requested release")
	// ErrClosed: the association no longer exists (Sta1).
	ErrClosed = errors.New("ul: association closed")
	// ErrState: the primitive is not allowed in the current state (a blank
	// cell of Table 9-10).
	ErrState = errors.New("ul: primitive not allowed in this state")
	// ErrConnectionLost is the A-P-ABORT indication of AA-4: the transport
	// connection closed or failed while the association existed.
	ErrConnectionLost = errors.New("ul: transport connection lost")
	// ErrARTIMExpired: the ARTIM timer expired (Evt18) before the peer sent
	// an A-ASSOCIATE-RQ or closed the connection.
	ErrARTIMExpired = errors.New("ul: ARTIM timer expired")
	// ErrTimeout: no reply came within the ARTIM timeout while awaiting
	// A-ASSOCIATE-AC/RJ or A-RELEASE-RP, or nothing came within the idle
	// timeout; the association was aborted.
	ErrTimeout = errors.New("ul: timeout")
	// ErrProtocol: the peer broke the protocol; the association was aborted.
	ErrProtocol = errors.New("ul: protocol error")
	// ErrUnknownContext: the presentation context ID is not one accepted on
	// this association.
	ErrUnknownContext = errors.New("ul: presentation context not accepted")
)

// AbortError reports that the association was aborted by an A-ABORT
// (AA-1, AA-3, AA-8).
type AbortError struct {
	// Abort is the A-ABORT PDU received from the peer, or the one this side
	// sent.
	Abort pdu.Abort
	// Local is true when this side sent the A-ABORT.
	Local bool
	// Err is why this side aborted: ErrProtocol, ErrTimeout, a context
	// error, or the local user's reason.
	Err error
}

func (e *AbortError) Error() string {
	if e.Local {
		return fmt.Sprintf("ul: association aborted (%s): %v", e.Abort, e.Err)
	}
	return fmt.Sprintf("ul: association aborted by peer: %s", e.Abort)
}

func (e *AbortError) Unwrap() error { return e.Err }

// RejectedError reports an A-ASSOCIATE-RJ, received (AE-4) or sent (AE-6,
// AE-8).
type RejectedError struct {
	RJ    pdu.AssociateRJ
	Local bool // this side rejected
}

func (e *RejectedError) Error() string {
	if e.Local {
		return "ul: association rejected: " + e.RJ.String()
	}
	return "ul: association rejected by peer: " + e.RJ.String()
}
