// Package ul is the DICOM Upper Layer protocol for TCP/IP of PS3.8
// section 9: the association state machine and a driver that runs it over a
// net.Conn for either role.
//
// The state machine is PS3.8 9.2 as written: the states Sta1 to Sta13
// (9.2.1, Tables 9-1 to 9-5), the actions AE-1 to AE-8, DT-1, DT-2, AR-1 to
// AR-10 and AA-1 to AA-8 (9.2.2, Tables 9-6 to 9-9), and the events Evt1 to
// Evt19 with the state transition table (9.2.3, Table 9-10), exposed as the
// pure functions [Cell], [NextState] and [Next].
//
// [Association] drives a transport connection through that machine:
// [Request] and [Dial] for the association-requestor, [Accept] for the
// association-acceptor. It sends and receives the PDUs of package pdu,
// runs the ARTIM timer of PS3.8 9.1.5 (on an accepted connection until the
// A-ASSOCIATE-RQ arrives; after A-ASSOCIATE-RJ, A-RELEASE-RP or A-ABORT
// until the peer closes the connection), honours the Maximum Length of
// PS3.8 Annex D.1 both ways, and aborts with A-ABORT (PS3.8 9.3.8) on
// protocol errors, timeouts and context cancellation.
//
// For the DIMSE layer above it, an Association carries messages as
// streams of PDVs (PS3.8 Annex E): [Association.ReadStream] returns the
// fragments of one command or data set as an io.Reader that ends after the
// last fragment, and [Association.WriteStream] splits an io.Reader into
// PDVs of the negotiated size without holding it whole.
//
// [Policy] negotiates an A-ASSOCIATE-RQ for the acceptor: presentation
// contexts (PS3.8 9.3.3.2), SCP/SCU role selection (PS3.7 D.3.3.4), the
// asynchronous operations window (PS3.7 D.3.3.3) and user identity
// (PS3.7 D.3.3.7).
package ul
