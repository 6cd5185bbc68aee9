package pdu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// Helpers that build bytes field by field, following the standard's tables,
// independently of the encoder under test.

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
func b8(v byte) []byte           { return []byte{v} }
func b16(v int) []byte           { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func b32(v int) []byte           { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
func str(s string) []byte        { return []byte(s) }
func zeros(n int) []byte         { return make([]byte, n) }

func ae(s string) []byte { return []byte(s + strings.Repeat(" ", 16-len(s))) }

// pduBytes is a PDU: type, reserved, 4-byte length, body (PS3.8 9.3.1).
func pduBytes(t byte, body ...[]byte) []byte {
	b := cat(body...)
	return cat(b8(t), b8(0), b32(len(b)), b)
}

// itemBytes is an item: type, reserved, 2-byte length, data.
func itemBytes(t byte, data ...[]byte) []byte {
	b := cat(data...)
	return cat(b8(t), b8(0), b16(len(b)), b)
}

func lp(s string) []byte { return cat(b16(len(s)), str(s)) }

const (
	ctImage   = "1.2.840.10008.5.1.4.1.1.2"
	explicit  = "1.2.840.10008.1.2.1"
	implicit  = "1.2.840.10008.1.2"
	verifySOP = "1.2.840.10008.1.1"
	storage   = "1.2.840.10008.4.2"
	enhSR     = "1.2.840.10008.5.1.4.1.1.88.22"
	implUID   = "1.2.826.0.1.3680043.10.1"
)

func typicalRQ() *AssociateRQ {
	return &AssociateRQ{
		ProtocolVersion:    ProtocolVersion1,
		CalledAE:           "LIGHTBOX",
		CallingAE:          "MODALITY",
		ApplicationContext: ApplicationContextName,
		PresentationContexts: []PresentationContextRQ{
			{ID: 1, AbstractSyntax: ctImage, TransferSyntaxes: []string{explicit, implicit}},
			{ID: 3, AbstractSyntax: verifySOP, TransferSyntaxes: []string{implicit}},
		},
		UserInfo: UserInfo{
			MaxLength:                 16384,
			ImplementationClassUID:    implUID,
			ImplementationVersionName: "LIGHTBOX_01",
			AsyncOps:                  &AsyncOps{MaxInvoked: 1, MaxPerformed: 1},
			Roles:                     []RoleSelection{{SOPClassUID: ctImage, SCU: false, SCP: true}},
			ExtNeg:                    []ExtendedNegotiation{{SOPClassUID: ctImage, Info: []byte{1, 0, 1}}},
			CommonExtNeg: []CommonExtendedNegotiation{{
				SOPClassUID: ctImage, ServiceClassUID: storage, RelatedGeneralSOPClassUID: []string{enhSR},
			}},
			UserIdentity: &UserIdentityRQ{
				Type: UserIdentityUsernamePasscode, PositiveResponseRequested: true,
				PrimaryField: []byte("alice"), SecondaryField: []byte("secret"),
			},
			Unknown: []RawItem{{Type: 0x5F, Reserved: 0, Data: []byte{0xCA, 0xFE}}},
		},
	}
}

// typicalRQBytes is typicalRQ laid out by hand per PS3.8 Table 9-11,
// 9-12, 9-13, 9-14, 9-15, 9-16, D.1-1 and PS3.7 Tables D.3-1 to D.3-14.
func typicalRQBytes() []byte {
	return pduBytes(0x01,
		b16(1), zeros(2), ae("LIGHTBOX"), ae("MODALITY"), zeros(32),
		itemBytes(0x10, str(ApplicationContextName)),
		itemBytes(0x20, b8(1), zeros(3),
			itemBytes(0x30, str(ctImage)),
			itemBytes(0x40, str(explicit)),
			itemBytes(0x40, str(implicit))),
		itemBytes(0x20, b8(3), zeros(3),
			itemBytes(0x30, str(verifySOP)),
			itemBytes(0x40, str(implicit))),
		itemBytes(0x50,
			itemBytes(0x51, b32(16384)),
			itemBytes(0x52, str(implUID)),
			itemBytes(0x55, str("LIGHTBOX_01")),
			itemBytes(0x53, b16(1), b16(1)),
			itemBytes(0x54, lp(ctImage), b8(0), b8(1)),
			itemBytes(0x56, lp(ctImage), []byte{1, 0, 1}),
			itemBytes(0x57, lp(ctImage), lp(storage), b16(2+len(enhSR)), lp(enhSR)),
			itemBytes(0x58, b8(2), b8(1), lp("alice"), lp("secret")),
			itemBytes(0x5F, []byte{0xCA, 0xFE}),
		),
	)
}

func typicalAC() *AssociateAC {
	return &AssociateAC{
		ProtocolVersion:    ProtocolVersion1,
		CalledAE:           "LIGHTBOX",
		CallingAE:          "MODALITY",
		ApplicationContext: ApplicationContextName,
		PresentationContexts: []PresentationContextAC{
			{ID: 1, Result: ResultAcceptance, TransferSyntax: explicit},
			{ID: 3, Result: ResultAbstractSyntaxNotSupported, TransferSyntax: ""},
		},
		UserInfo: UserInfo{
			MaxLength:              1 << 20,
			ImplementationClassUID: implUID,
			AsyncOps:               &AsyncOps{MaxInvoked: 1, MaxPerformed: 1},
			Roles:                  []RoleSelection{{SOPClassUID: ctImage, SCU: false, SCP: true}},
			UserIdentityAC:         &UserIdentityAC{ServerResponse: []byte("token")},
		},
	}
}

func typicalACBytes() []byte {
	return pduBytes(0x02,
		b16(1), zeros(2), ae("LIGHTBOX"), ae("MODALITY"), zeros(32),
		itemBytes(0x10, str(ApplicationContextName)),
		itemBytes(0x21, b8(1), b8(0), b8(0), b8(0), itemBytes(0x40, str(explicit))),
		itemBytes(0x21, b8(3), b8(0), b8(3), b8(0), itemBytes(0x40)),
		itemBytes(0x50,
			itemBytes(0x51, b32(1<<20)),
			itemBytes(0x52, str(implUID)),
			itemBytes(0x53, b16(1), b16(1)),
			itemBytes(0x54, lp(ctImage), b8(0), b8(1)),
			itemBytes(0x59, lp("token")),
		),
	)
}

func pdataBytes() []byte {
	return pduBytes(0x04,
		b32(2+3), b8(1), b8(0x03), []byte{0xAA, 0xBB, 0xCC}, // command, last
		b32(2+2), b8(1), b8(0x00), []byte{0x01, 0x02}, // data set, more to come
	)
}

func typicalPData() *PDataTF {
	return &PDataTF{Items: []PDV{
		{ContextID: 1, Command: true, Last: true, Data: []byte{0xAA, 0xBB, 0xCC}},
		{ContextID: 1, Command: false, Last: false, Data: []byte{0x01, 0x02}},
	}}
}

var goldenCases = []struct {
	name  string
	pdu   PDU
	bytes []byte
}{
	{"A-ASSOCIATE-RQ", typicalRQ(), typicalRQBytes()},
	{"A-ASSOCIATE-AC", typicalAC(), typicalACBytes()},
	{"A-ASSOCIATE-RJ", &AssociateRJ{Result: RejectedPermanent, Source: SourceServiceUser, Reason: ReasonCalledAETitleNotRecognized},
		pduBytes(0x03, b8(0), b8(1), b8(1), b8(7))},
	{"P-DATA-TF", typicalPData(), pdataBytes()},
	{"P-DATA-TF empty last fragment", &PDataTF{Items: []PDV{{ContextID: 5, Last: true, Data: []byte{}}}},
		pduBytes(0x04, b32(2), b8(5), b8(0x02))},
	{"A-RELEASE-RQ", &ReleaseRQ{}, pduBytes(0x05, zeros(4))},
	{"A-RELEASE-RP", &ReleaseRP{}, pduBytes(0x06, zeros(4))},
	{"A-ABORT", &Abort{Source: AbortServiceProvider, Reason: AbortUnexpectedPDU},
		pduBytes(0x07, b8(0), b8(0), b8(2), b8(2))},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendPDU(nil, tc.pdu)
			if err != nil {
				t.Fatalf("AppendPDU: %v", err)
			}
			if !bytes.Equal(got, tc.bytes) {
				t.Fatalf("encoding differs\n got %x\nwant %x", got, tc.bytes)
			}
			var w bytes.Buffer
			if err := Encode(&w, tc.pdu); err != nil || !bytes.Equal(w.Bytes(), tc.bytes) {
				t.Fatalf("Encode = %x, %v", w.Bytes(), err)
			}
			p, err := Decode(tc.bytes, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(p, tc.pdu) {
				t.Fatalf("Decode\n got %+v\nwant %+v", p, tc.pdu)
			}
			if p.Type() != Type(tc.bytes[0]) {
				t.Errorf("Type() = %v, want %02X", p.Type(), tc.bytes[0])
			}
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name  string
		bytes []byte
		want  PDU
	}{
		{
			name: "UIDs padded with NUL or space, AE titles with leading spaces and NULs, unknown item",
			bytes: pduBytes(0x01,
				b16(3), b16(0xFFFF), []byte("  CALLED\x00\x00\x00\x00\x00\x00\x00\x00"), ae(" CALLING"), bytes.Repeat([]byte{0xEE}, 32),
				itemBytes(0x10, str(ApplicationContextName+"\x00")),
				itemBytes(0x20, b8(1), []byte{9, 9, 9},
					itemBytes(0x30, str(verifySOP+"\x00")),
					itemBytes(0x7E, str("ignored")),
					itemBytes(0x40, str(implicit+" "))),
				itemBytes(0x60, str("unknown top-level item")),
				itemBytes(0x50, itemBytes(0x52, str(implUID+"\x00"))),
			),
			want: &AssociateRQ{
				ProtocolVersion: 3, CalledAE: "CALLED", CallingAE: "CALLING",
				ApplicationContext: ApplicationContextName,
				PresentationContexts: []PresentationContextRQ{
					{ID: 1, AbstractSyntax: verifySOP, TransferSyntaxes: []string{implicit}},
				},
				UserInfo: UserInfo{ImplementationClassUID: implUID},
				Unknown:  []RawItem{{Type: 0x60, Data: []byte("unknown top-level item")}},
			},
		},
		{
			name: "user identity without a secondary field length",
			bytes: pduBytes(0x01,
				b16(1), zeros(2), ae("A"), ae("B"), zeros(32),
				itemBytes(0x50, itemBytes(0x58, b8(1), b8(0), lp("bob"))),
			),
			want: &AssociateRQ{
				ProtocolVersion: 1, CalledAE: "A", CallingAE: "B",
				UserInfo: UserInfo{UserIdentity: &UserIdentityRQ{Type: 1, PrimaryField: []byte("bob")}},
			},
		},
		{
			name:  "reserved bytes and message control header bits not tested",
			bytes: []byte{0x04, 0xFF, 0, 0, 0, 7, 0, 0, 0, 3, 1, 0xFD, 0x42},
			want:  &PDataTF{Items: []PDV{{ContextID: 1, Command: true, Last: false, Data: []byte{0x42}}}},
		},
		{
			name:  "A-ABORT with reserved source and unknown reason",
			bytes: pduBytes(0x07, []byte{9, 9, 1, 0xFF}),
			want:  &Abort{Source: AbortReserved, Reason: 0xFF},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode(tc.bytes, Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(p, tc.want) {
				t.Fatalf("Decode\n got %+v\nwant %+v", p, tc.want)
			}
		})
	}
}

// hugeRQ builds an A-ASSOCIATE-RQ with contexts presentation contexts of
// tsPerContext transfer syntax sub-items each.
func hugeRQ(contexts, tsPerContext int) []byte {
	var items [][]byte
	for i := range contexts {
		var pc [][]byte
		pc = append(pc, b8(byte(2*i+1)), zeros(3), itemBytes(0x30, str(ctImage)))
		ts := itemBytes(0x40)
		for range tsPerContext {
			pc = append(pc, ts)
		}
		items = append(items, itemBytes(0x20, pc...))
	}
	return pduBytes(0x01, b16(1), zeros(2), ae("A"), ae("B"), zeros(32), cat(items...))
}

func TestDecodeHostile(t *testing.T) {
	huge := hugeRQ(128, 16000)
	tests := []struct {
		name    string
		bytes   []byte
		lim     Limits
		wantErr error
		msg     string // substring of the error text
	}{
		{"P-DATA-TF length 0xFFFFFFFF", []byte{0x04, 0, 0xFF, 0xFF, 0xFF, 0xFF}, Limits{}, ErrTooLarge, "P-DATA-TF at offset 2: PDU-length 4294967295 beyond the limit of 16777216"},
		{"A-ASSOCIATE-RQ length 0xFFFFFFFF", []byte{0x01, 0, 0xFF, 0xFF, 0xFF, 0xFF}, Limits{}, ErrTooLarge, "beyond the limit of 1048576"},
		{"A-RELEASE-RQ length 0xFFFFFFFF", []byte{0x05, 0, 0xFF, 0xFF, 0xFF, 0xFF}, Limits{}, ErrMalformed, "PDU-length 4294967295, want 4"},
		{"unknown PDU type 08H", pduBytes(0x08, zeros(4)), Limits{}, ErrUnknownType, "PDU type 08H"},
		{"unknown PDU type FFH", pduBytes(0xFF), Limits{}, ErrUnknownType, "unrecognized"},
		{"PDV length 0", pduBytes(0x04, b32(0), b8(1), b8(3)), Limits{}, ErrMalformed, "PDV item length 0 shorter"},
		{"PDV length 1", pduBytes(0x04, b32(1), b8(1), b8(3)), Limits{}, ErrMalformed, "PDV item length 1 shorter"},
		{"PDV length beyond PDU", pduBytes(0x04, b32(100), b8(1), b8(3), zeros(10)), Limits{}, ErrMalformed, "PDV item length 100 beyond the PDU (12 bytes left)"},
		{"PDV length beyond PDU, second item", pduBytes(0x04, b32(3), b8(1), b8(3), b8(0), b32(3), b8(1), b8(3)), Limits{}, ErrMalformed, "at offset 13"},
		{"P-DATA-TF with no PDV", pduBytes(0x04), Limits{}, ErrMalformed, "cannot hold a PDV"},
		{"P-DATA-TF trailing bytes", pduBytes(0x04, b32(2), b8(1), b8(3), zeros(3)), Limits{}, ErrMalformed, "too few for a PDV item length"},
		{"too many PDVs", pduBytes(0x04, bytes.Repeat(cat(b32(2), b8(1), b8(0)), 3)), Limits{MaxPDVs: 2}, ErrTooLarge, "more than 2 PDV items"},
		{"16,000 TS x 128 contexts, default limits", huge, Limits{}, ErrTooLarge, "beyond the limit of 1048576"},
		{"16,000 TS x 128 contexts, length limit raised", huge, Limits{MaxAssociateLength: 16 << 20}, ErrTooLarge, "more than 64 transfer syntaxes in presentation context 1"},
		{"129 contexts", hugeRQ(129, 1), Limits{}, ErrTooLarge, "more than 128 presentation contexts"},
		{"A-ASSOCIATE-RQ shorter than fixed fields", pduBytes(0x01, zeros(67)), Limits{}, ErrMalformed, "shorter than the 68 bytes"},
		{"item length beyond PDU", pduBytes(0x01, b16(1), zeros(2), ae("A"), ae("B"), zeros(32), b8(0x20), b8(0), b16(50), zeros(10)),
			Limits{}, ErrMalformed, "A-ASSOCIATE-RQ: item 20H at offset 74: item length 50 beyond its container (10 bytes left)"},
		{"sub-item length beyond item", pduBytes(0x01, b16(1), zeros(2), ae("A"), ae("B"), zeros(32), itemBytes(0x20, b8(1), zeros(3), b8(0x30), b8(0), b16(9))),
			Limits{}, ErrMalformed, "item 30H at offset 82"},
		{"truncated item header", pduBytes(0x01, b16(1), zeros(2), ae("A"), ae("B"), zeros(32), b8(0x50), b8(0)), Limits{}, ErrMalformed, "too few for an item header"},
		{"presentation context without abstract syntax", pduBytes(0x01, b16(1), zeros(2), ae("A"), ae("B"), zeros(32), itemBytes(0x20, b8(1), zeros(3), itemBytes(0x40, str(implicit)))),
			Limits{}, ErrMalformed, "without an abstract syntax"},
		{"AC presentation context in RQ", pduBytes(0x01, b16(1), zeros(2), ae("A"), ae("B"), zeros(32), itemBytes(0x21, b8(1), zeros(3))),
			Limits{}, ErrMalformed, "not allowed in A-ASSOCIATE-RQ"},
		{"maximum length sub-item of 3 bytes", pduBytes(0x02, b16(1), zeros(2), ae("A"), ae("B"), zeros(32), itemBytes(0x50, itemBytes(0x51, zeros(3)))),
			Limits{}, ErrMalformed, "A-ASSOCIATE-AC: item 51H at offset 78: maximum length: item length 3 does not add up"},
		{"role selection UID length beyond item", pduBytes(0x01, b16(1), zeros(2), ae("A"), ae("B"), zeros(32), itemBytes(0x50, itemBytes(0x54, b16(40), str("1.2"), b8(1), b8(1)))),
			Limits{}, ErrMalformed, "SCP/SCU role selection"},
		{"A-ASSOCIATE-RJ length 5", pduBytes(0x03, zeros(5)), Limits{}, ErrMalformed, "PDU-length 5, want 4"},
		{"PDU-length and data disagree", []byte{0x06, 0, 0, 0, 0, 4, 0, 0}, Limits{}, ErrMalformed, "2 bytes follow"},
		{"shorter than a header", []byte{0x04, 0}, Limits{}, ErrMalformed, "shorter than a PDU header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode(tc.bytes, tc.lim)
			if err == nil {
				t.Fatalf("Decode = %+v, want an error", p)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tc.wantErr)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("error %T is not a *DecodeError", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if len(tc.bytes) >= HeaderLen {
				// The Reader rejects the same input the same way, except
				// that, reading a stream, it sees a short PDU as truncated.
				_, rerr := NewReader(bytes.NewReader(tc.bytes), tc.lim).Next()
				if errors.Is(rerr, io.ErrUnexpectedEOF) && errors.Is(err, ErrMalformed) && strings.Contains(tc.msg, "follow") {
					return
				}
				if !errors.Is(rerr, tc.wantErr) {
					t.Errorf("Reader: error %v does not wrap %v", rerr, tc.wantErr)
				}
			}
		})
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReaderRejectsBeforeReadingBody(t *testing.T) {
	huge := hugeRQ(128, 16000)
	cr := &countingReader{r: bytes.NewReader(huge)}
	r := NewReader(cr, Limits{})
	if _, err := r.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Next: %v, want ErrTooLarge", err)
	}
	if cr.n != HeaderLen {
		t.Errorf("read %d bytes, want only the %d-byte header", cr.n, HeaderLen)
	}
	if cap(r.buf) != 0 {
		t.Errorf("buffer of %d bytes allocated", cap(r.buf))
	}
}

func TestReaderGrowsWithData(t *testing.T) {
	// A peer announces a 10 MiB P-DATA-TF and sends 100 bytes: the Reader
	// must not have allocated 10 MiB.
	in := cat(b8(0x04), b8(0), b32(10<<20), zeros(100))
	r := NewReader(bytes.NewReader(in), Limits{})
	_, err := r.Next()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Next: %v, want io.ErrUnexpectedEOF", err)
	}
	if cap(r.buf) > 2*readChunk {
		t.Errorf("buffer of %d bytes allocated for 100 bytes received", cap(r.buf))
	}
}

func TestReaderStream(t *testing.T) {
	var stream []byte
	for _, tc := range goldenCases {
		stream = append(stream, tc.bytes...)
	}
	// A large P-DATA-TF, read in several chunks.
	big := bytes.Repeat([]byte{0x5A}, 3*readChunk+17)
	stream = append(stream, AppendSinglePDV(nil, 7, false, true, uint32(len(big)))...)
	stream = append(stream, big...)

	r := NewReader(bytes.NewReader(stream), Limits{})
	for _, tc := range goldenCases {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("%s: Next: %v", tc.name, err)
		}
		if !reflect.DeepEqual(p, tc.pdu) {
			t.Fatalf("%s: got %+v, want %+v", tc.name, p, tc.pdu)
		}
	}
	p, err := r.Next()
	if err != nil {
		t.Fatalf("large P-DATA-TF: %v", err)
	}
	pd := p.(*PDataTF)
	if len(pd.Items) != 1 || !bytes.Equal(pd.Items[0].Data, big) || pd.Items[0].ContextID != 7 || !pd.Items[0].Last || pd.Items[0].Command {
		t.Fatalf("large P-DATA-TF decoded wrong: %d items", len(pd.Items))
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next at end: %v, want io.EOF", err)
	}

	// Truncated inside a PDU.
	r = NewReader(bytes.NewReader(pdataBytes()[:9]), Limits{})
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body: %v, want io.ErrUnexpectedEOF", err)
	}
	r = NewReader(bytes.NewReader(pdataBytes()[:3]), Limits{})
	if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated header: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestSinglePDVHelpers(t *testing.T) {
	data := []byte("0123456789")
	var b []byte
	b = AppendSinglePDV(b, 3, true, true, uint32(len(data)))
	b = append(b, data...)
	want, err := AppendPDU(nil, &PDataTF{Items: []PDV{{ContextID: 3, Command: true, Last: true, Data: data}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("AppendSinglePDV\n got %x\nwant %x", b, want)
	}
	for _, tc := range []struct {
		max, want uint32
	}{{0, 1<<32 - 1 - 6}, {6, 0}, {16384, 16378}, {7, 1}} {
		if got := MaxPDVData(tc.max); got != tc.want {
			t.Errorf("MaxPDVData(%d) = %d, want %d", tc.max, got, tc.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	long := strings.Repeat("1", 70000)
	tests := []struct {
		name string
		pdu  PDU
	}{
		{"called AE title of 17 bytes", &AssociateRQ{CalledAE: strings.Repeat("A", 17)}},
		{"calling AE title of 17 bytes", &AssociateAC{CallingAE: strings.Repeat("A", 17)}},
		{"abstract syntax of 70000 bytes", &AssociateRQ{PresentationContexts: []PresentationContextRQ{{ID: 1, AbstractSyntax: long}}}},
		{"role selection UID of 70000 bytes", &AssociateRQ{UserInfo: UserInfo{Roles: []RoleSelection{{SOPClassUID: long}}}}},
		{"user identity of 70000 bytes", &AssociateRQ{UserInfo: UserInfo{UserIdentity: &UserIdentityRQ{PrimaryField: []byte(long)}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte{1, 2, 3}
			out, err := AppendPDU(dst, tc.pdu)
			if !errors.Is(err, ErrEncode) {
				t.Fatalf("AppendPDU error = %v, want ErrEncode", err)
			}
			if len(out) != 3 {
				t.Errorf("dst grew to %d bytes on error", len(out))
			}
			if err := Encode(io.Discard, tc.pdu); !errors.Is(err, ErrEncode) {
				t.Errorf("Encode error = %v, want ErrEncode", err)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonCalledAETitleNotRecognized}.String(),
			"rejected-permanent by DICOM UL service-user: called AE title not recognized"},
		{AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonCallingAETitleNotRecognized}.String(),
			"rejected-permanent by DICOM UL service-user: calling AE title not recognized"},
		{AssociateRJ{RejectedPermanent, SourceServiceUser, ReasonApplicationContextNotSupported}.ReasonString(),
			"application context name not supported"},
		{AssociateRJ{RejectedTransient, SourceServiceProviderACSE, ReasonProtocolVersionNotSupported}.String(),
			"rejected-transient by DICOM UL service-provider (ACSE related function): protocol version not supported"},
		{AssociateRJ{RejectedTransient, SourceServiceProviderPresentation, ReasonTemporaryCongestion}.ReasonString(), "temporary congestion"},
		{AssociateRJ{RejectedTransient, SourceServiceProviderPresentation, ReasonLocalLimitExceeded}.ReasonString(), "local limit exceeded"},
		{AssociateRJ{9, 9, 9}.String(), "result 9 by source 9: reason 9"},
		{Abort{Source: AbortServiceProvider, Reason: AbortUnrecognizedPDU}.String(), "A-ABORT by DICOM UL service-provider: unrecognized PDU"},
		{Abort{Source: AbortServiceUser, Reason: 3}.String(), "A-ABORT by DICOM UL service-user"},
		{AbortInvalidPDUParameterValue.String(), "invalid PDU parameter value"},
		{TypeAbort.String(), "A-ABORT"},
		{Type(0x42).String(), "PDU type 42H"},
		{ResultString(ResultTransferSyntaxesNotSupported), "transfer-syntaxes-not-supported (provider rejection)"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
