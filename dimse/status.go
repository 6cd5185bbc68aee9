package dimse

import "fmt"

// Status is a DIMSE status code (0000,0900), PS3.7 Annex C.
type Status uint16

// Common status codes (PS3.7 Annex C and the service class annexes of PS3.4).
const (
	StatusSuccess                   Status = 0x0000
	StatusWarning                   Status = 0x0001
	StatusCancel                    Status = 0xFE00
	StatusPending                   Status = 0xFF00
	StatusPendingWarning            Status = 0xFF01 // optional keys not supported (C-FIND)
	StatusOutOfResources            Status = 0xA700 // C-STORE, C-FIND
	StatusOutOfResourcesMatches     Status = 0xA701 // C-MOVE/C-GET: unable to calculate number of matches
	StatusOutOfResourcesSubOps      Status = 0xA702 // C-MOVE/C-GET: unable to perform sub-operations
	StatusMoveDestinationUnknown    Status = 0xA801
	StatusDataSetMismatch           Status = 0xA900 // data set / identifier does not match SOP class
	StatusCannotUnderstand          Status = 0xC000
	StatusSubOpsWithFailures        Status = 0xB000 // C-MOVE/C-GET; for C-STORE: coercion of data elements
	StatusElementsDiscarded         Status = 0xB006
	StatusDataSetMismatchWarning    Status = 0xB007
	StatusDuplicateSOPInstance      Status = 0x0111
	StatusNoSuchSOPClass            Status = 0x0118
	StatusSOPClassNotSupported      Status = 0x0122
	StatusNotAuthorized             Status = 0x0124
	StatusProcessingFailure         Status = 0x0110
	StatusNoSuchSOPInstance         Status = 0x0112
	StatusNoSuchAttribute           Status = 0x0105
	StatusInvalidAttributeValue     Status = 0x0106
	StatusMissingAttribute          Status = 0x0120
	StatusInvalidArgumentValue      Status = 0x0115
	StatusUnrecognizedOperation     Status = 0x0211
	StatusDuplicateInvocation       Status = 0x0210
	StatusMistypedArgument          Status = 0x0212
	StatusResourceLimitation        Status = 0x0213
	StatusInvalidObjectInstance     Status = 0x0117
	StatusClassInstanceConflict     Status = 0x0119
	StatusMissingAttributeValue     Status = 0x0121
	StatusNoSuchAction              Status = 0x0123
	StatusNoSuchEventType           Status = 0x0113
	StatusAttributeListError        Status = 0x0107
	StatusAttributeValueOutOfRange  Status = 0x0116
	StatusUnableToProcess           Status = 0xC001 // generic failure code used by this implementation
	StatusSOPClassNotSupportedStore Status = 0x0122
)

// Kind is a status category (PS3.7 C.1).
type Kind int

// Status categories.
const (
	KindSuccess Kind = iota
	KindPending
	KindCancel
	KindWarning
	KindFailure
)

func (k Kind) String() string {
	return [...]string{"success", "pending", "cancel", "warning", "failure"}[k]
}

// Kind returns the category of s.
func (s Status) Kind() Kind {
	switch {
	case s == StatusSuccess:
		return KindSuccess
	case s == StatusPending || s == StatusPendingWarning:
		return KindPending
	case s == StatusCancel:
		return KindCancel
	case s == StatusWarning || s == StatusAttributeListError || s == StatusAttributeValueOutOfRange ||
		(s >= 0xB000 && s <= 0xBFFF):
		return KindWarning
	}
	return KindFailure
}

// IsPending reports whether more responses follow.
func (s Status) IsPending() bool { return s.Kind() == KindPending }

var statusNames = map[Status]string{
	StatusSuccess: "success", StatusWarning: "warning", StatusCancel: "canceled",
	StatusPending: "pending", StatusPendingWarning: "pending (optional keys not supported)",
	StatusOutOfResources: "refused: out of resources", StatusOutOfResourcesMatches: "refused: out of resources (unable to calculate number of matches)",
	StatusOutOfResourcesSubOps:   "refused: out of resources (unable to perform sub-operations)",
	StatusMoveDestinationUnknown: "refused: move destination unknown",
	StatusDataSetMismatch:        "error: data set does not match SOP class", StatusCannotUnderstand: "error: cannot understand",
	StatusSubOpsWithFailures: "warning: sub-operations complete, one or more failures (C-STORE: coercion of data elements)",
	StatusElementsDiscarded:  "warning: elements discarded", StatusDataSetMismatchWarning: "warning: data set does not match SOP class",
	StatusDuplicateSOPInstance: "duplicate SOP instance", StatusNoSuchSOPClass: "no such SOP class",
	StatusSOPClassNotSupported: "SOP class not supported", StatusNotAuthorized: "not authorized",
	StatusProcessingFailure: "processing failure", StatusNoSuchSOPInstance: "no such SOP instance",
	StatusNoSuchAttribute: "no such attribute", StatusInvalidAttributeValue: "invalid attribute value",
	StatusMissingAttribute: "missing attribute", StatusInvalidArgumentValue: "invalid argument value",
	StatusUnrecognizedOperation: "unrecognized operation", StatusDuplicateInvocation: "duplicate invocation",
	StatusMistypedArgument: "mistyped argument", StatusResourceLimitation: "resource limitation",
	StatusInvalidObjectInstance: "invalid object instance", StatusClassInstanceConflict: "class-instance conflict",
	StatusMissingAttributeValue: "missing attribute value", StatusNoSuchAction: "no such action",
	StatusNoSuchEventType: "no such event type", StatusAttributeListError: "attribute list error",
	StatusAttributeValueOutOfRange: "attribute value out of range", StatusUnableToProcess: "error: unable to process",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("0x%04X (%s)", uint16(s), n)
	}
	return fmt.Sprintf("0x%04X (%s)", uint16(s), s.Kind())
}
