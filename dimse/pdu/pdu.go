package pdu

import (
	"errors"
	"fmt"
)

// Type is a PDU-type, the first byte of every PDU (PS3.8 9.3.1, Table 9-11).
type Type byte

// The PDU types of PS3.8 section 9.3.
const (
	TypeAssociateRQ Type = 0x01 // A-ASSOCIATE-RQ, PS3.8 9.3.2
	TypeAssociateAC Type = 0x02 // A-ASSOCIATE-AC, PS3.8 9.3.3
	TypeAssociateRJ Type = 0x03 // A-ASSOCIATE-RJ, PS3.8 9.3.4
	TypePDataTF     Type = 0x04 // P-DATA-TF, PS3.8 9.3.5
	TypeReleaseRQ   Type = 0x05 // A-RELEASE-RQ, PS3.8 9.3.6
	TypeReleaseRP   Type = 0x06 // A-RELEASE-RP, PS3.8 9.3.7
	TypeAbort       Type = 0x07 // A-ABORT, PS3.8 9.3.8
)

// String returns the standard's name of the PDU type.
func (t Type) String() string {
	switch t {
	case TypeAssociateRQ:
		return "A-ASSOCIATE-RQ"
	case TypeAssociateAC:
		return "A-ASSOCIATE-AC"
	case TypeAssociateRJ:
		return "A-ASSOCIATE-RJ"
	case TypePDataTF:
		return "P-DATA-TF"
	case TypeReleaseRQ:
		return "A-RELEASE-RQ"
	case TypeReleaseRP:
		return "A-RELEASE-RP"
	case TypeAbort:
		return "A-ABORT"
	}
	return fmt.Sprintf("PDU type %02XH", byte(t))
}

// Item types of the variable fields of A-ASSOCIATE-RQ and -AC (PS3.8 9.3.2,
// 9.3.3) and of the User Information sub-items (PS3.8 D.1, PS3.7 D.3.3).
const (
	ItemApplicationContext     byte = 0x10 // PS3.8 9.3.2.1
	ItemPresentationContextRQ  byte = 0x20 // PS3.8 9.3.2.2
	ItemPresentationContextAC  byte = 0x21 // PS3.8 9.3.3.2
	ItemAbstractSyntax         byte = 0x30 // PS3.8 9.3.2.2.1
	ItemTransferSyntax         byte = 0x40 // PS3.8 9.3.2.2.2, 9.3.3.2.1
	ItemUserInformation        byte = 0x50 // PS3.8 9.3.2.3, 9.3.3.3
	ItemMaximumLength          byte = 0x51 // PS3.8 D.1
	ItemImplementationClassUID byte = 0x52 // PS3.7 D.3.3.2
	ItemAsyncOperationsWindow  byte = 0x53 // PS3.7 D.3.3.3
	ItemRoleSelection          byte = 0x54 // PS3.7 D.3.3.4
	ItemImplementationVersion  byte = 0x55 // PS3.7 D.3.3.2
	ItemExtendedNegotiation    byte = 0x56 // PS3.7 D.3.3.5
	ItemCommonExtNegotiation   byte = 0x57 // PS3.7 D.3.3.6
	ItemUserIdentityRQ         byte = 0x58 // PS3.7 D.3.3.7.1
	ItemUserIdentityAC         byte = 0x59 // PS3.7 D.3.3.7.2
)

// ProtocolVersion1 is the only DICOM UL protocol version: bit 0 of the
// Protocol-version field (PS3.8 9.3.2, Table 9-11).
const ProtocolVersion1 uint16 = 0x0001

// ApplicationContextName is the DICOM Application Context Name (PS3.7 A.2.1).
const ApplicationContextName = "1.2.840.10008.3.1.1.1"

// PDU is one of *AssociateRQ, *AssociateAC, *AssociateRJ, *PDataTF,
// *ReleaseRQ, *ReleaseRP and *Abort.
type PDU interface {
	// Type returns the PDU-type byte.
	Type() Type
	// appendBody appends everything after the 6-byte PDU header.
	appendBody(dst []byte) ([]byte, error)
}

// AssociateRQ is an A-ASSOCIATE-RQ PDU (PS3.8 9.3.2, Table 9-11).
type AssociateRQ struct {
	ProtocolVersion      uint16 // bit 0 set: ProtocolVersion1
	CalledAE             string // without padding
	CallingAE            string // without padding
	ApplicationContext   string // ApplicationContextName
	PresentationContexts []PresentationContextRQ
	UserInfo             UserInfo
	// Unknown holds variable items of a type this package does not know,
	// in the order received; they are written after the User Information item.
	Unknown []RawItem
}

// AssociateAC is an A-ASSOCIATE-AC PDU (PS3.8 9.3.3, Table 9-17).
type AssociateAC struct {
	ProtocolVersion uint16
	// CalledAE and CallingAE fill the reserved fields that the standard says
	// are sent back as received in the A-ASSOCIATE-RQ and not tested.
	CalledAE             string
	CallingAE            string
	ApplicationContext   string
	PresentationContexts []PresentationContextAC
	UserInfo             UserInfo
	Unknown              []RawItem
}

// PresentationContextRQ is a Presentation Context item of an A-ASSOCIATE-RQ
// (PS3.8 9.3.2.2, Table 9-13): one abstract syntax, one or more transfer
// syntaxes.
type PresentationContextRQ struct {
	ID               byte // odd, 1 to 255
	AbstractSyntax   string
	TransferSyntaxes []string
}

// Presentation context results of an A-ASSOCIATE-AC (PS3.8 9.3.3.2,
// Table 9-18, Result/Reason field).
const (
	ResultAcceptance                   byte = 0
	ResultUserRejection                byte = 1
	ResultNoReason                     byte = 2 // provider rejection
	ResultAbstractSyntaxNotSupported   byte = 3 // provider rejection
	ResultTransferSyntaxesNotSupported byte = 4 // provider rejection
)

// PresentationContextAC is a Presentation Context item of an A-ASSOCIATE-AC
// (PS3.8 9.3.3.2, Table 9-18). TransferSyntax is not significant unless
// Result is ResultAcceptance.
type PresentationContextAC struct {
	ID             byte
	Result         byte
	TransferSyntax string
}

// ResultString returns the standard's text for a presentation context result.
func ResultString(result byte) string {
	switch result {
	case ResultAcceptance:
		return "acceptance"
	case ResultUserRejection:
		return "user-rejection"
	case ResultNoReason:
		return "no-reason (provider rejection)"
	case ResultAbstractSyntaxNotSupported:
		return "abstract-syntax-not-supported (provider rejection)"
	case ResultTransferSyntaxesNotSupported:
		return "transfer-syntaxes-not-supported (provider rejection)"
	}
	return fmt.Sprintf("result %d", result)
}

// UserInfo is the User Information item (PS3.8 9.3.2.3, 9.3.3.3) with its
// sub-items. The Maximum Length sub-item is always written; zero means no
// maximum (PS3.8 D.1).
type UserInfo struct {
	MaxLength                 uint32 // PS3.8 D.1
	ImplementationClassUID    string // PS3.7 D.3.3.2
	ImplementationVersionName string // PS3.7 D.3.3.2, at most 16 characters
	AsyncOps                  *AsyncOps
	Roles                     []RoleSelection
	ExtNeg                    []ExtendedNegotiation
	CommonExtNeg              []CommonExtendedNegotiation
	UserIdentity              *UserIdentityRQ // A-ASSOCIATE-RQ only
	UserIdentityAC            *UserIdentityAC // A-ASSOCIATE-AC only
	// Unknown holds sub-items of a type this package does not know.
	Unknown []RawItem
}

// AsyncOps is the Asynchronous Operations Window sub-item (PS3.7 D.3.3.3).
// Zero means unlimited.
type AsyncOps struct {
	MaxInvoked   uint16
	MaxPerformed uint16
}

// RoleSelection is the SCP/SCU Role Selection sub-item (PS3.7 D.3.3.4).
type RoleSelection struct {
	SOPClassUID string
	SCU         bool
	SCP         bool
}

// ExtendedNegotiation is the SOP Class Extended Negotiation sub-item
// (PS3.7 D.3.3.5). Info is the Service-class-application-information field.
type ExtendedNegotiation struct {
	SOPClassUID string
	Info        []byte
}

// CommonExtendedNegotiation is the SOP Class Common Extended Negotiation
// sub-item (PS3.7 D.3.3.6, Table D.3-12), found in A-ASSOCIATE-RQ only.
type CommonExtendedNegotiation struct {
	SOPClassUID               string
	ServiceClassUID           string
	RelatedGeneralSOPClassUID []string
}

// User identity types of the User Identity sub-item (PS3.7 D.3.3.7.1,
// Table D.3-14).
const (
	UserIdentityUsername         byte = 1
	UserIdentityUsernamePasscode byte = 2
	UserIdentityKerberos         byte = 3
	UserIdentitySAML             byte = 4
	UserIdentityJWT              byte = 5
)

// UserIdentityRQ is the User Identity sub-item of an A-ASSOCIATE-RQ
// (PS3.7 D.3.3.7.1, Table D.3-14).
type UserIdentityRQ struct {
	Type                      byte
	PositiveResponseRequested bool
	PrimaryField              []byte // username, Kerberos ticket, SAML assertion or JWT
	SecondaryField            []byte // passcode, for UserIdentityUsernamePasscode only
}

// UserIdentityAC is the User Identity sub-item of an A-ASSOCIATE-AC
// (PS3.7 D.3.3.7.2, Table D.3-15).
type UserIdentityAC struct {
	ServerResponse []byte
}

// RawItem is an item or sub-item whose type this package does not know,
// kept so that it can be passed through.
type RawItem struct {
	Type byte
	// Reserved is the second byte of the item header; for most items
	// reserved, for some a sub-item version.
	Reserved byte
	Data     []byte
}

// AssociateRJ is an A-ASSOCIATE-RJ PDU (PS3.8 9.3.4, Table 9-21).
type AssociateRJ struct {
	Result RejectResult
	Source RejectSource
	Reason RejectReason
}

// RejectResult is the Result field of an A-ASSOCIATE-RJ.
type RejectResult byte

// Results of PS3.8 Table 9-21.
const (
	RejectedPermanent RejectResult = 1
	RejectedTransient RejectResult = 2
)

// RejectSource is the Source field of an A-ASSOCIATE-RJ.
type RejectSource byte

// Sources of PS3.8 Table 9-21.
const (
	SourceServiceUser                 RejectSource = 1 // DICOM UL service-user
	SourceServiceProviderACSE         RejectSource = 2 // DICOM UL service-provider (ACSE related function)
	SourceServiceProviderPresentation RejectSource = 3 // DICOM UL service-provider (Presentation related function)
)

// RejectReason is the Reason/Diag. field of an A-ASSOCIATE-RJ; its meaning
// depends on the Source.
type RejectReason byte

// Reasons of PS3.8 Table 9-21.
const (
	// Source SourceServiceUser.
	ReasonNoReasonGiven                  RejectReason = 1
	ReasonApplicationContextNotSupported RejectReason = 2
	ReasonCallingAETitleNotRecognized    RejectReason = 3
	ReasonCalledAETitleNotRecognized     RejectReason = 7
	ReasonProviderNoReasonGiven          RejectReason = 1 // source SourceServiceProviderACSE
	ReasonProtocolVersionNotSupported    RejectReason = 2 // source SourceServiceProviderACSE
	ReasonTemporaryCongestion            RejectReason = 1 // source SourceServiceProviderPresentation
	ReasonLocalLimitExceeded             RejectReason = 2 // source SourceServiceProviderPresentation
)

// String returns the human text of the result.
func (r RejectResult) String() string {
	switch r {
	case RejectedPermanent:
		return "rejected-permanent"
	case RejectedTransient:
		return "rejected-transient"
	}
	return fmt.Sprintf("result %d", byte(r))
}

// String returns the human text of the source.
func (s RejectSource) String() string {
	switch s {
	case SourceServiceUser:
		return "DICOM UL service-user"
	case SourceServiceProviderACSE:
		return "DICOM UL service-provider (ACSE related function)"
	case SourceServiceProviderPresentation:
		return "DICOM UL service-provider (presentation related function)"
	}
	return fmt.Sprintf("source %d", byte(s))
}

// ReasonString returns the human text of the reason, which depends on the
// source (PS3.8 Table 9-21).
func (rj AssociateRJ) ReasonString() string {
	switch rj.Source {
	case SourceServiceUser:
		switch rj.Reason {
		case ReasonNoReasonGiven:
			return "no reason given"
		case ReasonApplicationContextNotSupported:
			return "application context name not supported"
		case ReasonCallingAETitleNotRecognized:
			return "calling AE title not recognized"
		case ReasonCalledAETitleNotRecognized:
			return "called AE title not recognized"
		}
	case SourceServiceProviderACSE:
		switch rj.Reason {
		case ReasonProviderNoReasonGiven:
			return "no reason given"
		case ReasonProtocolVersionNotSupported:
			return "protocol version not supported"
		}
	case SourceServiceProviderPresentation:
		switch rj.Reason {
		case ReasonTemporaryCongestion:
			return "temporary congestion"
		case ReasonLocalLimitExceeded:
			return "local limit exceeded"
		}
	}
	return fmt.Sprintf("reason %d", byte(rj.Reason))
}

// String returns e.g. "rejected-permanent by DICOM UL service-user: called
// AE title not recognized".
func (rj AssociateRJ) String() string {
	return rj.Result.String() + " by " + rj.Source.String() + ": " + rj.ReasonString()
}

// PDataTF is a P-DATA-TF PDU (PS3.8 9.3.5, Table 9-22).
type PDataTF struct {
	Items []PDV
}

// PDV is a Presentation Data Value item (PS3.8 9.3.5.1, Table 9-23, and
// the Message Control Header of PS3.8 Annex E.2).
type PDV struct {
	ContextID byte
	Command   bool // bit 0 of the message control header: command (1) or data set (0)
	Last      bool // bit 1: last fragment of the command or data set
	Data      []byte
}

// ReleaseRQ is an A-RELEASE-RQ PDU (PS3.8 9.3.6).
type ReleaseRQ struct{}

// ReleaseRP is an A-RELEASE-RP PDU (PS3.8 9.3.7).
type ReleaseRP struct{}

// Abort is an A-ABORT PDU (PS3.8 9.3.8, Table 9-26).
type Abort struct {
	Source AbortSource
	Reason AbortReason // significant when Source is AbortServiceProvider
}

// AbortSource is the Source field of an A-ABORT.
type AbortSource byte

// Sources of PS3.8 Table 9-26.
const (
	AbortServiceUser     AbortSource = 0 // DICOM UL service-user (initiated abort)
	AbortReserved        AbortSource = 1
	AbortServiceProvider AbortSource = 2 // DICOM UL service-provider (initiated abort)
)

// String returns the human text of the source.
func (s AbortSource) String() string {
	switch s {
	case AbortServiceUser:
		return "DICOM UL service-user"
	case AbortReserved:
		return "reserved"
	case AbortServiceProvider:
		return "DICOM UL service-provider"
	}
	return fmt.Sprintf("source %d", byte(s))
}

// AbortReason is the Reason/Diag. field of an A-ABORT.
type AbortReason byte

// Reasons of PS3.8 Table 9-26, for source AbortServiceProvider.
const (
	AbortReasonNotSpecified       AbortReason = 0
	AbortUnrecognizedPDU          AbortReason = 1
	AbortUnexpectedPDU            AbortReason = 2
	AbortUnrecognizedPDUParameter AbortReason = 4
	AbortUnexpectedPDUParameter   AbortReason = 5
	AbortInvalidPDUParameterValue AbortReason = 6
)

// String returns the human text of the reason.
func (r AbortReason) String() string {
	switch r {
	case AbortReasonNotSpecified:
		return "reason not specified"
	case AbortUnrecognizedPDU:
		return "unrecognized PDU"
	case AbortUnexpectedPDU:
		return "unexpected PDU"
	case AbortUnrecognizedPDUParameter:
		return "unrecognized PDU parameter"
	case AbortUnexpectedPDUParameter:
		return "unexpected PDU parameter"
	case AbortInvalidPDUParameterValue:
		return "invalid PDU parameter value"
	}
	return fmt.Sprintf("reason %d", byte(r))
}

// String returns e.g. "A-ABORT by DICOM UL service-provider: unexpected PDU".
func (a Abort) String() string {
	if a.Source == AbortServiceProvider {
		return "A-ABORT by " + a.Source.String() + ": " + a.Reason.String()
	}
	return "A-ABORT by " + a.Source.String()
}

// Type implements PDU.
func (*AssociateRQ) Type() Type { return TypeAssociateRQ }

// Type implements PDU.
func (*AssociateAC) Type() Type { return TypeAssociateAC }

// Type implements PDU.
func (*AssociateRJ) Type() Type { return TypeAssociateRJ }

// Type implements PDU.
func (*PDataTF) Type() Type { return TypePDataTF }

// Type implements PDU.
func (*ReleaseRQ) Type() Type { return TypeReleaseRQ }

// Type implements PDU.
func (*ReleaseRP) Type() Type { return TypeReleaseRP }

// Type implements PDU.
func (*Abort) Type() Type { return TypeAbort }

// Errors reported by decoding and encoding; a *DecodeError wraps one of the
// first three.
var (
	// ErrMalformed: a length does not add up, or a field is out of range.
	ErrMalformed = errors.New("malformed PDU")
	// ErrUnknownType: the PDU-type byte is none of PS3.8 9.3.
	ErrUnknownType = errors.New("unrecognized PDU type")
	// ErrTooLarge: the PDU length, or a count of items, is beyond the Limits.
	ErrTooLarge = errors.New("PDU beyond limits")
	// ErrEncode: a value cannot be represented in the PDU (e.g. an AE title
	// longer than 16 bytes, an item longer than 65535 bytes).
	ErrEncode = errors.New("cannot encode PDU")
)

// DecodeError describes where a PDU failed to decode.
type DecodeError struct {
	PDU    Type   // the PDU-type byte
	Item   byte   // the item type, or 0 for the PDU itself
	Offset int    // offset from the first byte of the PDU
	Msg    string // what is wrong
	Err    error  // ErrMalformed, ErrUnknownType or ErrTooLarge
}

func (e *DecodeError) Error() string {
	if e.Item != 0 {
		return fmt.Sprintf("pdu: %s: item %02XH at offset %d: %s", e.PDU, e.Item, e.Offset, e.Msg)
	}
	return fmt.Sprintf("pdu: %s at offset %d: %s", e.PDU, e.Offset, e.Msg)
}

func (e *DecodeError) Unwrap() error { return e.Err }
