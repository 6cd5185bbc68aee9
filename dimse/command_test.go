package dimse

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
)

func TestCommandRoundTrip(t *testing.T) {
	cases := []*Command{
		{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: "1.2.840.10008.1.1"},
		{Field: CEchoRSP, MessageIDBeingRespondedTo: 1, AffectedSOPClassUID: "1.2.840.10008.1.1", Status: StatusSuccess},
		{Field: CStoreRQ, MessageID: 7, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2", AffectedSOPInstanceUID: "1.2.3.4.5", Priority: PriorityHigh, HasDataSet: true,
			MoveOriginatorAE: "MOVER", MoveOriginatorMessageID: 3},
		{Field: CStoreRSP, MessageIDBeingRespondedTo: 7, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2", AffectedSOPInstanceUID: "1.2.3.4.5", Status: StatusOutOfResources, ErrorComment: "disk full"},
		{Field: CFindRQ, MessageID: 2, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.2.2.1", HasDataSet: true},
		{Field: CMoveRQ, MessageID: 3, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.2.2.2", MoveDestination: "STORESCP", HasDataSet: true},
		{Field: CMoveRSP, MessageIDBeingRespondedTo: 3, Status: StatusPending, SubOps: &SubOperations{Remaining: 4, Completed: 1}},
		{Field: CGetRSP, MessageIDBeingRespondedTo: 3, Status: StatusSubOpsWithFailures, HasDataSet: true, SubOps: &SubOperations{Completed: 4, Failed: 1, NoRemaining: true}},
		{Field: CCancelRQ, MessageIDBeingRespondedTo: 2},
		{Field: NActionRQ, MessageID: 9, RequestedSOPClassUID: "1.2.840.10008.1.20.1", RequestedSOPInstanceUID: "1.2.840.10008.1.20.1.1", ActionTypeID: 1, HasDataSet: true},
		{Field: NEventReportRQ, MessageID: 10, AffectedSOPClassUID: "1.2.840.10008.1.20.1", AffectedSOPInstanceUID: "1.2.840.10008.1.20.1.1", EventTypeID: 2, HasDataSet: true},
		{Field: NGetRQ, MessageID: 11, RequestedSOPClassUID: "1.2.3", RequestedSOPInstanceUID: "1.2.3.4", AttributeIdentifiers: []tag.Tag{tag.PatientName, tag.PatientID}},
		{Field: NSetRSP, MessageIDBeingRespondedTo: 12, Status: StatusInvalidAttributeValue, OffendingElements: []tag.Tag{tag.PatientName}, ErrorID: 4},
	}
	for _, c := range cases {
		b := EncodeCommand(c)
		got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", c, got, c)
		}
		// The encoding is a valid Implicit VR Little Endian data set whose group length is right.
		ds, err := dicom.ParseDataset(b, dicom.ImplicitVRLittleEndian, dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: not a data set: %v", c, err)
		}
		if n, _ := ds.Int(0x00000000); int(n) != len(b)-12 {
			t.Errorf("%s: group length %d, want %d", c, n, len(b)-12)
		}
	}
}

// TestCommandGolden pins the bytes of a C-ECHO-RQ (PS3.7 9.3.5): group length, Affected SOP
// Class UID padded with NUL, Command Field, Message ID, Command Data Set Type 0x0101.
func TestCommandGolden(t *testing.T) {
	got := EncodeCommand(&Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: "1.2.840.10008.1.1"})
	want, err := hex.DecodeString("" +
		"000000000400000038000000" +
		"0000020012000000" + hex.EncodeToString([]byte("1.2.840.10008.1.1\x00")) +
		"00000001020000003000" +
		"00001001020000000100" +
		"00000008020000000101")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("C-ECHO-RQ:\n got %x\nwant %x", got, want)
	}
}

func TestDecodeCommandErrors(t *testing.T) {
	good := EncodeCommand(&Command{Field: CEchoRQ, MessageID: 1})
	for name, in := range map[string][]byte{
		"truncated header": good[:len(good)-3],
		"length overrun":   append(append([]byte{}, good[:12]...), 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0x7F),
		"no command field": EncodeCommand(&Command{Field: CEchoRQ})[:12],
		"group 0008":       {0x08, 0x00, 0x60, 0x00, 0x02, 0x00, 0x00, 0x00, 'C', 'T'},
		"short US":         {0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x30},
	} {
		if _, err := DecodeCommand(in); !errors.Is(err, ErrCommand) {
			t.Errorf("%s: err %v, want ErrCommand", name, err)
		}
	}
}

func TestStatusKind(t *testing.T) {
	for s, k := range map[Status]Kind{
		0x0000: KindSuccess, 0xFF00: KindPending, 0xFF01: KindPending, 0xFE00: KindCancel,
		0xB000: KindWarning, 0x0001: KindWarning, 0x0107: KindWarning, 0xA700: KindFailure,
		0xC000: KindFailure, 0x0122: KindFailure, 0xA801: KindFailure,
	} {
		if s.Kind() != k {
			t.Errorf("%s: kind %s, want %s", s, s.Kind(), k)
		}
	}
}
