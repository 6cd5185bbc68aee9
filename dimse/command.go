package dimse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
)

// Field is a DIMSE command field (0000,0100), PS3.7 Annex E.
type Field uint16

// Command fields (PS3.7 Table E.1-1 and E.2-1).
const (
	CStoreRQ        Field = 0x0001
	CStoreRSP       Field = 0x8001
	CGetRQ          Field = 0x0010
	CGetRSP         Field = 0x8010
	CFindRQ         Field = 0x0020
	CFindRSP        Field = 0x8020
	CMoveRQ         Field = 0x0021
	CMoveRSP        Field = 0x8021
	CEchoRQ         Field = 0x0030
	CEchoRSP        Field = 0x8030
	NEventReportRQ  Field = 0x0100
	NEventReportRSP Field = 0x8100
	NGetRQ          Field = 0x0110
	NGetRSP         Field = 0x8110
	NSetRQ          Field = 0x0120
	NSetRSP         Field = 0x8120
	NActionRQ       Field = 0x0130
	NActionRSP      Field = 0x8130
	NCreateRQ       Field = 0x0140
	NCreateRSP      Field = 0x8140
	NDeleteRQ       Field = 0x0150
	NDeleteRSP      Field = 0x8150
	CCancelRQ       Field = 0x0FFF
)

var fieldNames = map[Field]string{
	CStoreRQ: "C-STORE-RQ", CStoreRSP: "C-STORE-RSP", CGetRQ: "C-GET-RQ", CGetRSP: "C-GET-RSP",
	CFindRQ: "C-FIND-RQ", CFindRSP: "C-FIND-RSP", CMoveRQ: "C-MOVE-RQ", CMoveRSP: "C-MOVE-RSP",
	CEchoRQ: "C-ECHO-RQ", CEchoRSP: "C-ECHO-RSP", NEventReportRQ: "N-EVENT-REPORT-RQ",
	NEventReportRSP: "N-EVENT-REPORT-RSP", NGetRQ: "N-GET-RQ", NGetRSP: "N-GET-RSP",
	NSetRQ: "N-SET-RQ", NSetRSP: "N-SET-RSP", NActionRQ: "N-ACTION-RQ", NActionRSP: "N-ACTION-RSP",
	NCreateRQ: "N-CREATE-RQ", NCreateRSP: "N-CREATE-RSP", NDeleteRQ: "N-DELETE-RQ",
	NDeleteRSP: "N-DELETE-RSP", CCancelRQ: "C-CANCEL-RQ",
}

func (f Field) String() string {
	if s, ok := fieldNames[f]; ok {
		return s
	}
	return fmt.Sprintf("command 0x%04X", uint16(f))
}

// IsResponse reports whether f is a response.
func (f Field) IsResponse() bool { return f&0x8000 != 0 }

// Response returns the response field for a request field.
func (f Field) Response() Field { return f | 0x8000 }

// Priority of a request (0000,0700).
type Priority uint16

// Priorities (PS3.7 E.1-1).
const (
	PriorityMedium Priority = 0x0000
	PriorityHigh   Priority = 0x0001
	PriorityLow    Priority = 0x0002
)

// noDataSet is the Command Data Set Type value meaning "no data set follows" (PS3.7 E.1-1).
const noDataSet = 0x0101

// SubOperations are the sub-operation counts of C-MOVE and C-GET responses.
type SubOperations struct {
	Remaining, Completed, Failed, Warning uint16
	// NoRemaining omits Number of Remaining Sub-operations, as final responses may.
	NoRemaining bool
}

// Command is a DIMSE command set (PS3.7 section 9.3 and 10.3, Annex E): the group 0000 elements
// of one message. Only the fields that apply to its Field are encoded.
type Command struct {
	Field                     Field
	MessageID                 uint16
	MessageIDBeingRespondedTo uint16
	AffectedSOPClassUID       string
	RequestedSOPClassUID      string
	AffectedSOPInstanceUID    string
	RequestedSOPInstanceUID   string
	MoveDestination           string
	Priority                  Priority
	// HasDataSet reports that a data set follows the command (Command Data Set Type ≠ 0x0101).
	HasDataSet bool
	Status     Status
	// SubOps are encoded when non-nil (C-MOVE and C-GET responses).
	SubOps *SubOperations
	// MoveOriginatorAE and MoveOriginatorMessageID identify the C-MOVE that caused a C-STORE.
	MoveOriginatorAE        string
	MoveOriginatorMessageID uint16
	ErrorComment            string
	ErrorID                 uint16
	OffendingElements       []tag.Tag
	EventTypeID             uint16
	ActionTypeID            uint16
	AttributeIdentifiers    []tag.Tag
}

// ErrCommand is wrapped by command set decoding errors.
var ErrCommand = errors.New("invalid command set")

func (c *Command) String() string {
	var b strings.Builder
	b.WriteString(c.Field.String())
	if c.Field.IsResponse() {
		fmt.Fprintf(&b, " to #%d status %s", c.MessageIDBeingRespondedTo, c.Status)
	} else {
		fmt.Fprintf(&b, " #%d", c.MessageID)
	}
	if c.AffectedSOPClassUID != "" {
		fmt.Fprintf(&b, " class %s", c.AffectedSOPClassUID)
	}
	return b.String()
}

type cmdEncoder struct{ b []byte }

func (e *cmdEncoder) header(t tag.Tag, n int) {
	e.b = binary.LittleEndian.AppendUint16(e.b, t.Group())
	e.b = binary.LittleEndian.AppendUint16(e.b, t.Element())
	e.b = binary.LittleEndian.AppendUint32(e.b, uint32(n))
}

func (e *cmdEncoder) u16(t tag.Tag, v uint16) {
	e.header(t, 2)
	e.b = binary.LittleEndian.AppendUint16(e.b, v)
}

func (e *cmdEncoder) uid(t tag.Tag, s string) {
	n := len(s) + len(s)&1
	e.header(t, n)
	e.b = append(e.b, s...)
	if len(s)&1 == 1 {
		e.b = append(e.b, 0)
	}
}

func (e *cmdEncoder) str(t tag.Tag, s string) {
	n := len(s) + len(s)&1
	e.header(t, n)
	e.b = append(e.b, s...)
	if len(s)&1 == 1 {
		e.b = append(e.b, ' ')
	}
}

func (e *cmdEncoder) tags(t tag.Tag, ts []tag.Tag) {
	e.header(t, 4*len(ts))
	for _, x := range ts {
		e.b = binary.LittleEndian.AppendUint16(e.b, x.Group())
		e.b = binary.LittleEndian.AppendUint16(e.b, x.Element())
	}
}

// AppendCommand appends the command set of c, encoded in Implicit VR Little Endian with its
// group length first (PS3.7 6.3.1), to dst.
func AppendCommand(dst []byte, c *Command) []byte {
	start := len(dst)
	e := cmdEncoder{b: append(dst, make([]byte, 12)...)}
	f := c.Field
	req := !f.IsResponse()
	if c.AffectedSOPClassUID != "" {
		e.uid(tag.AffectedSOPClassUID, c.AffectedSOPClassUID)
	}
	if c.RequestedSOPClassUID != "" {
		e.uid(tag.RequestedSOPClassUID, c.RequestedSOPClassUID)
	}
	e.u16(tag.CommandField, uint16(f))
	if req && f != CCancelRQ {
		e.u16(tag.MessageID, c.MessageID)
	} else {
		e.u16(tag.MessageIDBeingRespondedTo, c.MessageIDBeingRespondedTo)
	}
	if f == CMoveRQ {
		e.str(tag.MoveDestination, truncate(c.MoveDestination, 16))
	}
	if req && (f == CStoreRQ || f == CFindRQ || f == CMoveRQ || f == CGetRQ) {
		e.u16(tag.Priority, uint16(c.Priority))
	}
	dst2 := uint16(noDataSet)
	if c.HasDataSet {
		dst2 = 0x0000
	}
	e.u16(tag.CommandDataSetType, dst2)
	if !req {
		e.u16(tag.Status, uint16(c.Status))
	}
	if len(c.OffendingElements) > 0 {
		e.tags(tag.OffendingElement, c.OffendingElements)
	}
	if c.ErrorComment != "" {
		// LO: at most 64 characters (PS3.7 Table E.1-1).
		e.str(tag.ErrorComment, truncate(c.ErrorComment, 64))
	}
	if c.ErrorID != 0 {
		e.u16(tag.ErrorID, c.ErrorID)
	}
	if c.AffectedSOPInstanceUID != "" {
		e.uid(tag.AffectedSOPInstanceUID, c.AffectedSOPInstanceUID)
	}
	if c.RequestedSOPInstanceUID != "" {
		e.uid(tag.RequestedSOPInstanceUID, c.RequestedSOPInstanceUID)
	}
	if f == NEventReportRQ || f == NEventReportRSP {
		e.u16(tag.EventTypeID, c.EventTypeID)
	}
	if len(c.AttributeIdentifiers) > 0 {
		e.tags(tag.AttributeIdentifierList, c.AttributeIdentifiers)
	}
	if f == NActionRQ || f == NActionRSP {
		e.u16(tag.ActionTypeID, c.ActionTypeID)
	}
	if s := c.SubOps; s != nil {
		if !s.NoRemaining {
			e.u16(tag.NumberOfRemainingSuboperations, s.Remaining)
		}
		e.u16(tag.NumberOfCompletedSuboperations, s.Completed)
		e.u16(tag.NumberOfFailedSuboperations, s.Failed)
		e.u16(tag.NumberOfWarningSuboperations, s.Warning)
	}
	if c.MoveOriginatorAE != "" {
		e.str(tag.MoveOriginatorApplicationEntityTitle, truncate(c.MoveOriginatorAE, 16))
		e.u16(tag.MoveOriginatorMessageID, c.MoveOriginatorMessageID)
	}
	b := e.b
	// (0000,0000) UL group length: the bytes after it.
	binary.LittleEndian.PutUint32(b[start:], 0)
	binary.LittleEndian.PutUint32(b[start+4:], 4)
	binary.LittleEndian.PutUint32(b[start+8:], uint32(len(b)-start-12))
	return b
}

// maxCommandSize bounds a command set; real ones are a few hundred bytes.
const maxCommandSize = 64 << 10

// DecodeCommand parses a command set (Implicit VR Little Endian, group 0000). Unknown elements
// of group 0000 are ignored; elements of other groups are an error.
func DecodeCommand(b []byte) (*Command, error) {
	if len(b) > maxCommandSize {
		return nil, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrCommand, len(b), maxCommandSize)
	}
	c := &Command{}
	seen := false
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return nil, fmt.Errorf("%w: %d stray bytes at offset %d", ErrCommand, len(b)-off, off)
		}
		t := tag.New(binary.LittleEndian.Uint16(b[off:]), binary.LittleEndian.Uint16(b[off+2:]))
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if n < 0 || n > len(b)-off {
			return nil, fmt.Errorf("%w: element %s of %d bytes overruns the command set", ErrCommand, t, n)
		}
		v := b[off : off+n]
		off += n
		if t.Group() != 0x0000 {
			return nil, fmt.Errorf("%w: element %s outside group 0000", ErrCommand, t)
		}
		u16 := func() (uint16, error) {
			if len(v) != 2 {
				return 0, fmt.Errorf("%w: element %s has %d bytes, want 2", ErrCommand, t, len(v))
			}
			return binary.LittleEndian.Uint16(v), nil
		}
		str := func() string { return strings.TrimRight(string(v), " \x00") }
		// AE titles: leading and trailing spaces are insignificant (PS3.5 6.2); control
		// characters and NULs around them are trimmed in any order, so that decoding what was
		// encoded gives the same value.
		ae := func() string { return strings.Trim(string(v), " \x00\t\n\r\f\v") }
		tags := func() []tag.Tag {
			var out []tag.Tag
			for i := 0; i+4 <= len(v); i += 4 {
				out = append(out, tag.New(binary.LittleEndian.Uint16(v[i:]), binary.LittleEndian.Uint16(v[i+2:])))
			}
			return out
		}
		var err error
		var x uint16
		switch t {
		case tag.AffectedSOPClassUID:
			c.AffectedSOPClassUID = str()
		case tag.RequestedSOPClassUID:
			c.RequestedSOPClassUID = str()
		case tag.CommandField:
			x, err = u16()
			c.Field = Field(x)
			seen = true
		case tag.MessageID:
			c.MessageID, err = u16()
		case tag.MessageIDBeingRespondedTo:
			c.MessageIDBeingRespondedTo, err = u16()
		case tag.MoveDestination:
			c.MoveDestination = ae()
		case tag.Priority:
			x, err = u16()
			c.Priority = Priority(x)
		case tag.CommandDataSetType:
			x, err = u16()
			c.HasDataSet = x != noDataSet
		case tag.Status:
			x, err = u16()
			c.Status = Status(x)
		case tag.OffendingElement:
			c.OffendingElements = tags()
		case tag.ErrorComment:
			c.ErrorComment = str()
		case tag.ErrorID:
			c.ErrorID, err = u16()
		case tag.AffectedSOPInstanceUID:
			c.AffectedSOPInstanceUID = str()
		case tag.RequestedSOPInstanceUID:
			c.RequestedSOPInstanceUID = str()
		case tag.EventTypeID:
			c.EventTypeID, err = u16()
		case tag.AttributeIdentifierList:
			c.AttributeIdentifiers = tags()
		case tag.ActionTypeID:
			c.ActionTypeID, err = u16()
		case tag.NumberOfRemainingSuboperations, tag.NumberOfCompletedSuboperations,
			tag.NumberOfFailedSuboperations, tag.NumberOfWarningSuboperations:
			if c.SubOps == nil {
				c.SubOps = &SubOperations{NoRemaining: true}
			}
			x, err = u16()
			switch t {
			case tag.NumberOfRemainingSuboperations:
				c.SubOps.Remaining, c.SubOps.NoRemaining = x, false
			case tag.NumberOfCompletedSuboperations:
				c.SubOps.Completed = x
			case tag.NumberOfFailedSuboperations:
				c.SubOps.Failed = x
			case tag.NumberOfWarningSuboperations:
				c.SubOps.Warning = x
			}
		case tag.MoveOriginatorApplicationEntityTitle:
			c.MoveOriginatorAE = ae()
		case tag.MoveOriginatorMessageID:
			c.MoveOriginatorMessageID, err = u16()
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, fmt.Errorf("%w: no Command Field (0000,0100)", ErrCommand)
	}
	return c, nil
}

// truncate cuts s to the n characters its VR allows, and drops the padding a cut may expose,
// so that what is encoded decodes to itself.
func truncate(s string, n int) string {
	if len(s) > n {
		s = strings.Trim(s[:n], " \x00\t\n\r\f\v")
	}
	return s
}

// EncodeCommand returns the encoded command set of c.
func EncodeCommand(c *Command) []byte { return AppendCommand(make([]byte, 0, 256), c) }
