package ul

import "fmt"

// State is a state of the DICOM Upper Layer protocol machine (PS3.8 9.2.1,
// Tables 9-1 to 9-5).
type State uint8

// States of PS3.8 9.2.1.
const (
	Sta1  State = iota + 1 // Idle
	Sta2                   // Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)
	Sta3                   // Awaiting local A-ASSOCIATE response primitive (from local user)
	Sta4                   // Awaiting transport connection opening to complete (from local transport service)
	Sta5                   // Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU
	Sta6                   // Association established and ready for data transfer
	Sta7                   // Awaiting A-RELEASE-RP PDU
	Sta8                   // Awaiting local A-RELEASE response primitive (from local user)
	Sta9                   // Release collision requestor side; awaiting A-RELEASE response (from local user)
	Sta10                  // Release collision acceptor side; awaiting A-RELEASE-RP PDU
	Sta11                  // Release collision requestor side; awaiting A-RELEASE-RP PDU
	Sta12                  // Release collision acceptor side; awaiting A-RELEASE response primitive (from local user)
	Sta13                  // Awaiting Transport Connection Close Indication (Association no longer exists)
)

// String returns "Sta1" to "Sta13".
func (s State) String() string {
	if s < Sta1 || s > Sta13 {
		return fmt.Sprintf("State(%d)", uint8(s))
	}
	return fmt.Sprintf("Sta%d", uint8(s))
}

// Description returns the standard's definition of the state.
func (s State) Description() string {
	switch s {
	case Sta1:
		return "Idle"
	case Sta2:
		return "Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)"
	case Sta3:
		return "Awaiting local A-ASSOCIATE response primitive (from local user)"
	case Sta4:
		return "Awaiting transport connection opening to complete (from local transport service)"
	case Sta5:
		return "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU"
	case Sta6:
		return "Association established and ready for data transfer"
	case Sta7:
		return "Awaiting A-RELEASE-RP PDU"
	case Sta8:
		return "Awaiting local A-RELEASE response primitive (from local user)"
	case Sta9:
		return "Release collision requestor side; awaiting A-RELEASE response (from local user)"
	case Sta10:
		return "Release collision acceptor side; awaiting A-RELEASE-RP PDU"
	case Sta11:
		return "Release collision requestor side; awaiting A-RELEASE-RP PDU"
	case Sta12:
		return "Release collision acceptor side; awaiting A-RELEASE response primitive (from local user)"
	case Sta13:
		return "Awaiting Transport Connection Close Indication (Association no longer exists)"
	}
	return s.String()
}

// Event is an event of the state transition table (PS3.8 9.2.3, Table 9-10).
type Event uint8

// Events of PS3.8 Table 9-10.
const (
	Evt1  Event = iota + 1 // A-ASSOCIATE Request (local user)
	Evt2                   // Transport Conn. Confirm (local transport service)
	Evt3                   // A-ASSOCIATE-AC PDU (received on transport connection)
	Evt4                   // A-ASSOCIATE-RJ PDU (received on transport connection)
	Evt5                   // Transport Connection Indication (local transport service)
	Evt6                   // A-ASSOCIATE-RQ PDU (received on transport connection)
	Evt7                   // A-ASSOCIATE response primitive (accept)
	Evt8                   // A-ASSOCIATE response primitive (reject)
	Evt9                   // P-DATA request primitive
	Evt10                  // P-DATA-TF PDU
	Evt11                  // A-RELEASE Request primitive
	Evt12                  // A-RELEASE-RQ PDU (received on open transport connection)
	Evt13                  // A-RELEASE-RP PDU (received on transport connection)
	Evt14                  // A-RELEASE Response primitive
	Evt15                  // A-ABORT Request primitive
	Evt16                  // A-ABORT PDU (received on open transport connection)
	Evt17                  // Transport connection closed indication (local transport service)
	Evt18                  // ARTIM timer expired (Association reject/release timer)
	Evt19                  // Unrecognized or invalid PDU received
)

// String returns "Evt1" to "Evt19".
func (e Event) String() string {
	if e < Evt1 || e > Evt19 {
		return fmt.Sprintf("Event(%d)", uint8(e))
	}
	return fmt.Sprintf("Evt%d", uint8(e))
}

// Description returns the standard's wording of the event.
func (e Event) Description() string {
	switch e {
	case Evt1:
		return "A-ASSOCIATE Request (local user)"
	case Evt2:
		return "Transport Conn. Confirm (local transport service)"
	case Evt3:
		return "A-ASSOCIATE-AC PDU (received on transport connection)"
	case Evt4:
		return "A-ASSOCIATE-RJ PDU (received on transport connection)"
	case Evt5:
		return "Transport Connection Indication (local transport service)"
	case Evt6:
		return "A-ASSOCIATE-RQ PDU (received on transport connection)"
	case Evt7:
		return "A-ASSOCIATE response primitive (accept)"
	case Evt8:
		return "A-ASSOCIATE response primitive (reject)"
	case Evt9:
		return "P-DATA request primitive"
	case Evt10:
		return "P-DATA-TF PDU"
	case Evt11:
		return "A-RELEASE Request primitive"
	case Evt12:
		return "A-RELEASE-RQ PDU (received on open transport connection)"
	case Evt13:
		return "A-RELEASE-RP PDU (received on transport connection)"
	case Evt14:
		return "A-RELEASE Response primitive"
	case Evt15:
		return "A-ABORT Request primitive"
	case Evt16:
		return "A-ABORT PDU (received on open transport connection)"
	case Evt17:
		return "Transport connection closed indication (local transport service)"
	case Evt18:
		return "ARTIM timer expired (Association reject/release timer)"
	case Evt19:
		return "Unrecognized or invalid PDU received"
	}
	return e.String()
}

// Action is an action of PS3.8 9.2.2 (Tables 9-6 to 9-9). NoAction stands
// for a blank cell of Table 9-10: the event cannot occur in that state.
type Action uint8

// Actions of PS3.8 9.2.2.
const (
	NoAction Action = iota
	AE1             // Issue TRANSPORT CONNECT request primitive to local transport service
	AE2             // Send A-ASSOCIATE-RQ-PDU
	AE3             // Issue A-ASSOCIATE confirmation (accept) primitive
	AE4             // Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection
	AE5             // Issue Transport connection response primitive; start ARTIM timer
	AE6             // Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider issue A-ASSOCIATE indication primitive, otherwise issue A-ASSOCIATE-RJ-PDU and start ARTIM timer
	AE7             // Send A-ASSOCIATE-AC PDU
	AE8             // Send A-ASSOCIATE-RJ PDU and start ARTIM timer
	DT1             // Send P-DATA-TF PDU
	DT2             // Send P-DATA indication primitive
	AR1             // Send A-RELEASE-RQ PDU
	AR2             // Issue A-RELEASE indication primitive
	AR3             // Issue A-RELEASE confirmation primitive, and close transport connection
	AR4             // Issue A-RELEASE-RP PDU and start ARTIM timer
	AR5             // Stop ARTIM timer
	AR6             // Issue P-DATA indication
	AR7             // Issue P-DATA-TF PDU
	AR8             // Issue A-RELEASE indication (release collision)
	AR9             // Send A-RELEASE-RP PDU
	AR10            // Issue A-RELEASE confirmation primitive
	AA1             // Send A-ABORT PDU (service-user source) and start (or restart if already started) ARTIM timer
	AA2             // Stop ARTIM timer if running. Close transport connection
	AA3             // Issue A-ABORT (service-user initiated) or A-P-ABORT (service-provider initiated) indication and close transport connection
	AA4             // Issue A-P-ABORT indication primitive
	AA5             // Stop ARTIM timer
	AA6             // Ignore PDU
	AA7             // Send A-ABORT PDU
	AA8             // Send A-ABORT PDU (service-provider source), issue an A-P-ABORT indication, and start ARTIM timer
)

// String returns the standard's name: "AE-1", "DT-2", "AR-10", "AA-8", or
// "-" for NoAction.
func (a Action) String() string {
	switch {
	case a == NoAction:
		return "-"
	case a >= AE1 && a <= AE8:
		return fmt.Sprintf("AE-%d", a-AE1+1)
	case a >= DT1 && a <= DT2:
		return fmt.Sprintf("DT-%d", a-DT1+1)
	case a >= AR1 && a <= AR10:
		return fmt.Sprintf("AR-%d", a-AR1+1)
	case a >= AA1 && a <= AA8:
		return fmt.Sprintf("AA-%d", a-AA1+1)
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Role is the part a side plays in an association; it decides the state
// that follows a release collision (AR-8).
type Role uint8

// Roles.
const (
	Requestor Role = iota + 1 // association-requestor
	Acceptor                  // association-acceptor
)

// String returns "requestor" or "acceptor".
func (r Role) String() string {
	switch r {
	case Requestor:
		return "requestor"
	case Acceptor:
		return "acceptor"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Cell returns the action of Table 9-10 for event e in state s, NoAction
// for a blank cell.
func Cell(s State, e Event) Action {
	if s < Sta1 || s > Sta13 {
		return NoAction
	}
	// One row of Table 9-10 per event, indexed by state.
	var row [Sta13 + 1]Action
	switch e {
	case Evt1:
		row = [Sta13 + 1]Action{Sta1: AE1}
	case Evt2:
		row = [Sta13 + 1]Action{Sta4: AE2}
	case Evt3:
		row = [Sta13 + 1]Action{Sta2: AA1, Sta3: AA8, Sta5: AE3, Sta6: AA8, Sta7: AA8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA6}
	case Evt4:
		row = [Sta13 + 1]Action{Sta2: AA1, Sta3: AA8, Sta5: AE4, Sta6: AA8, Sta7: AA8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA6}
	case Evt5:
		row = [Sta13 + 1]Action{Sta1: AE5}
	case Evt6:
		row = [Sta13 + 1]Action{Sta2: AE6, Sta3: AA8, Sta5: AA8, Sta6: AA8, Sta7: AA8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA7}
	case Evt7:
		row = [Sta13 + 1]Action{Sta3: AE7}
	case Evt8:
		row = [Sta13 + 1]Action{Sta3: AE8}
	case Evt9:
		row = [Sta13 + 1]Action{Sta6: DT1, Sta8: AR7}
	case Evt10:
		row = [Sta13 + 1]Action{Sta2: AA1, Sta3: AA8, Sta5: AA8, Sta6: DT2, Sta7: AR6, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA6}
	case Evt11:
		row = [Sta13 + 1]Action{Sta6: AR1}
	case Evt12:
		row = [Sta13 + 1]Action{Sta2: AA1, Sta3: AA8, Sta5: AA8, Sta6: AR2, Sta7: AR8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA6}
	case Evt13:
		row = [Sta13 + 1]Action{Sta2: AA1, Sta3: AA8, Sta5: AA8, Sta6: AA8, Sta7: AR3, Sta8: AA8, Sta9: AA8, Sta10: AR10, Sta11: AR3, Sta12: AA8, Sta13: AA6}
	case Evt14:
		row = [Sta13 + 1]Action{Sta8: AR4, Sta9: AR9, Sta12: AR4}
	case Evt15:
		row = [Sta13 + 1]Action{Sta3: AA1, Sta4: AA2, Sta5: AA1, Sta6: AA1, Sta7: AA1, Sta8: AA1, Sta9: AA1, Sta10: AA1, Sta11: AA1, Sta12: AA1}
	case Evt16:
		row = [Sta13 + 1]Action{Sta2: AA2, Sta3: AA3, Sta5: AA3, Sta6: AA3, Sta7: AA3, Sta8: AA3, Sta9: AA3, Sta10: AA3, Sta11: AA3, Sta12: AA3, Sta13: AA2}
	case Evt17:
		row = [Sta13 + 1]Action{Sta2: AA5, Sta3: AA4, Sta4: AA4, Sta5: AA4, Sta6: AA4, Sta7: AA4, Sta8: AA4, Sta9: AA4, Sta10: AA4, Sta11: AA4, Sta12: AA4, Sta13: AR5}
	case Evt18:
		row = [Sta13 + 1]Action{Sta2: AA2, Sta13: AA2}
	case Evt19:
		row = [Sta13 + 1]Action{Sta2: AA1, Sta3: AA8, Sta5: AA8, Sta6: AA8, Sta7: AA8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA7}
	}
	return row[s]
}

// NextState returns the state that follows action a (PS3.8 Tables 9-6 to
// 9-9), taken in state s by a side of role r. For AE-6 it returns Sta3, the
// state when the service-provider finds the A-ASSOCIATE-RQ acceptable; when
// it does not, the provider sends A-ASSOCIATE-RJ and the state is Sta13.
// For NoAction the state is unchanged.
func NextState(a Action, s State, r Role) State {
	switch a {
	case AE1:
		return Sta4
	case AE2:
		return Sta5
	case AE3, AE7, DT1, DT2:
		return Sta6
	case AE4, AR3, AR5, AA2, AA3, AA4, AA5:
		return Sta1
	case AE5:
		return Sta2
	case AE6:
		return Sta3
	case AE8, AR4, AA1, AA6, AA7, AA8:
		return Sta13
	case AR1, AR6:
		return Sta7
	case AR2, AR7:
		return Sta8
	case AR8:
		if r == Requestor {
			return Sta9
		}
		return Sta10
	case AR9:
		return Sta11
	case AR10:
		return Sta12
	}
	return s
}

// Next is the state machine of PS3.8 9.2: the action Table 9-10 prescribes
// for event e in state s, and the state that follows (see NextState).
func Next(s State, e Event, r Role) (Action, State) {
	a := Cell(s, e)
	return a, NextState(a, s, r)
}
