package dicom_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// enc builds element encodings in either byte order, explicit or implicit VR, element by element.
type enc struct {
	bytes.Buffer
	order binary.ByteOrder
}

func newEnc(bigEndian bool) *enc {
	if bigEndian {
		return &enc{order: binary.BigEndian}
	}
	return &enc{order: binary.LittleEndian}
}

func (b *enc) tag(t tag.Tag) *enc {
	binary.Write(&b.Buffer, b.order, [2]uint16{t.Group(), t.Element()})
	return b
}

// short writes an explicit VR header with a 16-bit length, then val.
func (b *enc) short(t tag.Tag, v string, val []byte) *enc {
	b.tag(t).WriteString(v)
	binary.Write(&b.Buffer, b.order, uint16(len(val)))
	b.Write(val)
	return b
}

// long writes an explicit VR header with a 32-bit length, then val.
func (b *enc) long(t tag.Tag, v string, length uint32, val []byte) *enc {
	b.tag(t).WriteString(v)
	b.Write([]byte{0, 0})
	binary.Write(&b.Buffer, b.order, length)
	b.Write(val)
	return b
}

// implicit writes an implicit VR header (also items and delimiters), then val.
func (b *enc) implicit(t tag.Tag, length uint32, val []byte) *enc {
	b.tag(t)
	binary.Write(&b.Buffer, b.order, length)
	b.Write(val)
	return b
}

// rewrite parses in, writes the file back and parses that: the steps of FuzzParse's round trip.
func rewrite(t *testing.T, in []byte) (first, again *dicom.File, writeErr error) {
	t.Helper()
	first, err := dicom.Parse(in, dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var out bytes.Buffer
	if err := dicom.Write(&out, first, dicom.WriteOptions{}); err != nil {
		return first, nil, err
	}
	again, err = dicom.Parse(out.Bytes(), dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("re-reading what was written: %v", err)
	}
	return first, again, nil
}

// TestWriteReadsBack holds inputs, most of them found by fuzzing, whose write and re-read once
// changed the data set.
func TestWriteReadsBack(t *testing.T) {
	private := tag.New(0x0009, 0x1010)

	// A group length given VR SH: written as UL (PS3.5 7.2).
	glSH := newEnc(false).short(tag.New(0x0030, 0x3030), "LO", []byte("00000000")).short(tag.New(0x3030, 0), "SH", []byte("0000"))

	// A group length given a VR with a 32-bit length, inside an item of defined length: the
	// item's length must count it as the 12 bytes of a UL.
	glInner := newEnc(false).long(tag.New(0x0011, 0), "OB", 4, []byte{1, 0, 0, 0}).short(tag.New(0x0011, 0x0010), "LO", []byte("AB"))
	glItem := newEnc(false).implicit(tag.Item, uint32(glInner.Len()), glInner.Bytes())
	glOB := newEnc(false).long(tag.ReferencedImageSequence, "SQ", uint32(glItem.Len()), glItem.Bytes())

	// Odd-length values of multi-byte binary VRs in Explicit VR Big Endian.
	oddBE := newEnc(true).short(tag.New(0x0028, 0x0010), "US", []byte{0, 1, 2}).short(tag.New(0x0028, 0x1050), "UL", []byte{1, 2, 3, 4, 5, 6, 7})

	// An element of group FFFE that is neither an item nor a delimiter.
	groupFFFE := newEnc(false).short(tag.PatientID, "LO", []byte("ID")).short(tag.New(0xFFFE, 0x0010), "LO", []byte("AB"))

	// An element with invalid VR bytes (read with an implicit header) of undefined length: its
	// items are in the data set's syntax, so it is a sequence, not a UN whose items would be
	// written in Implicit VR.
	badVRSeq := newEnc(false).implicit(private, dicom.UndefinedLength, nil).
		implicit(tag.Item, dicom.UndefinedLength, nil).short(tag.New(0x0009, 0x1011), "LO", []byte("XY")).
		implicit(tag.ItemDelimitationItem, 0, nil).implicit(tag.SequenceDelimitationItem, 0, nil)

	// A sequence given VR SV (found by fuzzing).
	svSeq := newEnc(false).long(tag.New(0x0008, 0x9215), "SV", dicom.UndefinedLength, nil).
		implicit(tag.Item, dicom.UndefinedLength, nil).short(tag.New(0x0008, 0x0100), "SH", []byte("113040")).
		implicit(tag.ItemDelimitationItem, 0, nil).implicit(tag.SequenceDelimitationItem, 0, nil)

	// Encapsulated Pixel Data given a VR other than OB or OW.
	pixUT := newEnc(false).long(tag.PixelData, "UT", dicom.UndefinedLength, nil).
		implicit(tag.Item, 0, nil).implicit(tag.Item, 2, []byte{1, 2}).implicit(tag.SequenceDelimitationItem, 0, nil)

	// Values too long for the 16-bit length of their VR, behind invalid VR bytes (so read with
	// a 32-bit length): written as UN.
	long := make([]byte, 0x10000)
	for i := range long {
		long[i] = byte('A' + i%26)
	}
	longLE := newEnc(false).short(tag.SpecificCharacterSet, "CS", []byte("ISO_IR 192")).implicit(tag.PatientID, 0x10000, long)
	longBE := newEnc(true).short(tag.SpecificCharacterSet, "CS", []byte("ISO_IR 192")).implicit(tag.New(0x0028, 0x0010), 0x10000, long)

	cases := []struct {
		name   string
		syntax string
		body   []byte
	}{
		{"group length with VR SH", dicom.ExplicitVRLittleEndian, glSH.Bytes()},
		{"group length with VR OB in an item", dicom.ExplicitVRLittleEndian, glOB.Bytes()},
		{"odd binary values, big endian", dicom.ExplicitVRBigEndian, oddBE.Bytes()},
		{"element of group FFFE", dicom.ExplicitVRLittleEndian, groupFFFE.Bytes()},
		{"sequence behind invalid VR bytes", dicom.ExplicitVRLittleEndian, badVRSeq.Bytes()},
		{"sequence with VR SV", dicom.ExplicitVRLittleEndian, svSeq.Bytes()},
		{"sequence with VR SV, big endian", dicom.ExplicitVRBigEndian, newEnc(true).long(tag.New(0x0008, 0x9215), "SV", dicom.UndefinedLength, nil).
			implicit(tag.Item, 0, nil).implicit(tag.SequenceDelimitationItem, 0, nil).Bytes()},
		{"encapsulated pixel data with VR UT", "1.2.840.10008.1.2.4.50", pixUT.Bytes()},
		{"LO value of 64 KiB", dicom.ExplicitVRLittleEndian, longLE.Bytes()},
		{"US value of 64 KiB, big endian", dicom.ExplicitVRBigEndian, longBE.Bytes()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first, again, err := rewrite(t, part10(c.syntax, c.body))
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if d := dicom.Diff(first.Dataset, again.Dataset); d != "" {
				t.Errorf("write/read changed the data set: %s", d)
			}
			// The same with the values left in the source and copied from it by the writer.
			in := part10(c.syntax, c.body)
			lazy, err := dicom.Parse(in, dicom.ReadOptions{BulkThreshold: 2})
			if err != nil {
				t.Fatalf("parse with bulk values: %v", err)
			}
			var out bytes.Buffer
			if err := dicom.Write(&out, lazy, dicom.WriteOptions{BulkSource: bytes.NewReader(in)}); err != nil {
				t.Fatalf("write with bulk values: %v", err)
			}
			again, err = dicom.Parse(out.Bytes(), dicom.ReadOptions{})
			if err != nil {
				t.Fatalf("re-reading what was written from bulk values: %v", err)
			}
			if d := dicom.Diff(first.Dataset, again.Dataset); d != "" {
				t.Errorf("write/read from bulk values changed the data set: %s", d)
			}
			ds, err := dicom.ParseDataset(c.body, c.syntax, dicom.ReadOptions{})
			if err != nil || !dicom.IsNative(c.syntax) {
				return
			}
			out.Reset()
			if err := dicom.WriteDataset(&out, ds, c.syntax, dicom.WriteOptions{}); err != nil {
				t.Fatalf("write data set: %v", err)
			}
			ds2, err := dicom.ParseDataset(out.Bytes(), c.syntax, dicom.ReadOptions{})
			if err != nil {
				t.Fatalf("re-reading the data set: %v", err)
			}
			if d := dicom.Diff(ds, ds2); d != "" {
				t.Errorf("data set write/read changed it: %s", d)
			}
		})
	}
}

// TestMetaInDataset: group 0002 elements in the data set are read with a warning, and Write
// refuses them, since a reader would take them for File Meta (found by fuzzing: "top level: 3
// elements vs 2").
func TestMetaInDataset(t *testing.T) {
	body := newEnc(false).short(tag.PatientID, "LO", []byte("ID")).short(tag.New(0x0002, 0x3030), "LO", []byte("AB"))
	f, err := dicom.Parse(part10(dicom.ExplicitVRLittleEndian, body.Bytes()), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Dataset.Element(tag.New(0x0002, 0x3030)) == nil {
		t.Fatal("the group 0002 element is not kept in the data set")
	}
	if !strings.Contains(strings.Join(f.Warnings, "\n"), "File Meta element (0002,3030) in the data set") {
		t.Errorf("no warning about the group 0002 element: %q", f.Warnings)
	}
	var out bytes.Buffer
	if err := dicom.Write(&out, f, dicom.WriteOptions{}); !errors.Is(err, dicom.ErrMetaInDataset) {
		t.Errorf("Write: %v, want ErrMetaInDataset", err)
	}
	// The reverse: an element of another group in the File Meta.
	f.Dataset.Remove(tag.New(0x0002, 0x3030))
	f.Meta.Set(dicom.NewElement(tag.PatientID, vr.LO, []byte("ID")))
	if err := dicom.Write(&out, f, dicom.WriteOptions{}); !errors.Is(err, dicom.ErrMetaInDataset) {
		t.Errorf("Write with (0010,0020) in the File Meta: %v, want ErrMetaInDataset", err)
	}
	if err := dicom.WriteHeader(&out, nil, f.Meta); !errors.Is(err, dicom.ErrMetaInDataset) {
		t.Errorf("WriteHeader with (0010,0020) in the File Meta: %v, want ErrMetaInDataset", err)
	}
}

// TestMetaNeverBulk: BulkThreshold leaves data set values in the source, never File Meta ones,
// which the reader needs (a Transfer Syntax UID left in the source made it guess the syntax).
func TestMetaNeverBulk(t *testing.T) {
	body := newEnc(true).short(tag.PatientID, "LO", []byte("PATIENT1"))
	in := part10(dicom.ExplicitVRBigEndian, body.Bytes())
	for _, threshold := range []int64{1, 2, 7} {
		for name, read := range map[string]func() (*dicom.File, error){
			"Parse": func() (*dicom.File, error) { return dicom.Parse(in, dicom.ReadOptions{BulkThreshold: threshold}) },
			"Read": func() (*dicom.File, error) {
				return dicom.Read(unsized{bytes.NewReader(in)}, dicom.ReadOptions{BulkThreshold: threshold})
			},
		} {
			f, err := read()
			if err != nil {
				t.Fatalf("%s, threshold %d: %v", name, threshold, err)
			}
			if f.Syntax.UID != dicom.ExplicitVRBigEndian || len(f.Warnings) != 0 {
				t.Errorf("%s, threshold %d: syntax %s, warnings %q", name, threshold, f.Syntax.UID, f.Warnings)
			}
			for _, e := range f.Meta.Elements {
				if e.Bulk {
					t.Errorf("%s, threshold %d: File Meta element %s left in the source", name, threshold, e.Tag)
				}
			}
			if e := f.Dataset.Element(tag.PatientID); e == nil || !e.Bulk {
				t.Errorf("%s, threshold %d: PatientID not left in the source", name, threshold)
			}
		}
	}
}
