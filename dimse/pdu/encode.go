package pdu

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Fixed sizes of PS3.8 section 9.3.
const (
	// HeaderLen is the PDU header: PDU-type, reserved, 4-byte PDU-length
	// (PS3.8 9.3.1).
	HeaderLen = 6
	// PDVHeaderLen is the PDV item header: 4-byte item length, presentation
	// context ID and message control header (PS3.8 9.3.5.1, Annex E.2).
	PDVHeaderLen = 6
	// aeTitleLen is the size of the Called- and Calling-AE-title fields.
	aeTitleLen = 16
	// associateFixedLen is the size of the fixed fields of A-ASSOCIATE-RQ/AC
	// after the PDU header: protocol version, reserved, two AE titles,
	// 32 reserved bytes (PS3.8 Table 9-11, Table 9-17).
	associateFixedLen = 2 + 2 + aeTitleLen + aeTitleLen + 32
	// shortBodyLen is the PDU-length of A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and
	// A-ABORT.
	shortBodyLen = 4
)

// Encode writes p to w in one Write call.
//
// Encode allocates the PDU in memory; to stream a large data set use
// AppendPDataHeader and AppendPDVHeader and write the data after them.
func Encode(w io.Writer, p PDU) error {
	b, err := AppendPDU(nil, p)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("pdu: write %s: %w", p.Type(), err)
	}
	return nil
}

// AppendPDU appends the encoding of p to dst. On error dst is returned
// unchanged in length.
func AppendPDU(dst []byte, p PDU) ([]byte, error) {
	start := len(dst)
	dst = append(dst, byte(p.Type()), 0, 0, 0, 0, 0)
	out, err := p.appendBody(dst)
	if err != nil {
		return dst[:start], fmt.Errorf("pdu: encode %s: %w", p.Type(), err)
	}
	n := len(out) - start - HeaderLen
	if uint64(n) > math.MaxUint32 {
		return dst[:start], fmt.Errorf("pdu: encode %s: PDU-length %d: %w", p.Type(), n, ErrEncode)
	}
	binary.BigEndian.PutUint32(out[start+2:], uint32(n))
	return out, nil
}

// MessageControlHeader returns the message control header byte of a PDV
// (PS3.8 Annex E.2): bit 0 set for a command, bit 1 set for the last fragment.
func MessageControlHeader(command, last bool) byte {
	var h byte
	if command {
		h |= 0x01
	}
	if last {
		h |= 0x02
	}
	return h
}

// AppendPDataHeader appends the 6-byte header of a P-DATA-TF PDU whose PDV
// items, their headers included, take itemsLen bytes. It does not allocate
// when dst has room.
func AppendPDataHeader(dst []byte, itemsLen uint32) []byte {
	return append(dst, byte(TypePDataTF), 0,
		byte(itemsLen>>24), byte(itemsLen>>16), byte(itemsLen>>8), byte(itemsLen))
}

// AppendPDVHeader appends the 6-byte header of a PDV item that carries
// dataLen bytes of a command or data set fragment (PS3.8 9.3.5.1). The
// caller writes the dataLen bytes after it. dataLen must be at most
// math.MaxUint32-2.
func AppendPDVHeader(dst []byte, contextID byte, command, last bool, dataLen uint32) []byte {
	n := dataLen + 2
	return append(dst, byte(n>>24), byte(n>>16), byte(n>>8), byte(n),
		contextID, MessageControlHeader(command, last))
}

// AppendSinglePDV appends the PDU header and the PDV header of a P-DATA-TF
// holding one PDV of dataLen bytes: 12 bytes, after which the caller writes
// the data. This is the usual shape of a P-DATA-TF.
func AppendSinglePDV(dst []byte, contextID byte, command, last bool, dataLen uint32) []byte {
	dst = AppendPDataHeader(dst, dataLen+PDVHeaderLen)
	return AppendPDVHeader(dst, contextID, command, last, dataLen)
}

// MaxPDVData returns how many data bytes one PDV may carry in a P-DATA-TF
// sent to a peer whose Maximum Length sub-item said maxLength (PS3.8 D.1:
// the limit is on the PDU-length field, PDV headers included). A maxLength
// of zero means no limit and returns math.MaxUint32 - PDVHeaderLen.
func MaxPDVData(maxLength uint32) uint32 {
	if maxLength == 0 {
		return math.MaxUint32 - PDVHeaderLen
	}
	if maxLength <= PDVHeaderLen {
		return 0
	}
	return maxLength - PDVHeaderLen
}

func (p *PDataTF) appendBody(dst []byte) ([]byte, error) {
	for _, v := range p.Items {
		if uint64(len(v.Data)) > math.MaxUint32-2 {
			return dst, fmt.Errorf("PDV of %d bytes: %w", len(v.Data), ErrEncode)
		}
		dst = AppendPDVHeader(dst, v.ContextID, v.Command, v.Last, uint32(len(v.Data)))
		dst = append(dst, v.Data...)
	}
	return dst, nil
}

func (p *AssociateRJ) appendBody(dst []byte) ([]byte, error) {
	return append(dst, 0, byte(p.Result), byte(p.Source), byte(p.Reason)), nil
}

func (*ReleaseRQ) appendBody(dst []byte) ([]byte, error) { return append(dst, 0, 0, 0, 0), nil }

func (*ReleaseRP) appendBody(dst []byte) ([]byte, error) { return append(dst, 0, 0, 0, 0), nil }

func (p *Abort) appendBody(dst []byte) ([]byte, error) {
	return append(dst, 0, 0, byte(p.Source), byte(p.Reason)), nil
}

// enc appends items and remembers the first error, so that the item
// layouts below read like the standard's tables.
type enc struct {
	b   []byte
	err error
}

func (e *enc) u8(v byte)    { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

func (e *enc) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

func (e *enc) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf(format+": %w", append(args, ErrEncode)...)
	}
}

// lenPrefixed appends a 2-byte length and s, as in the UID-length fields of
// PS3.7 D.3.3.
func (e *enc) lenPrefixed(what string, s []byte) {
	if len(s) > math.MaxUint16 {
		e.fail("%s of %d bytes", what, len(s))
		return
	}
	e.u16(uint16(len(s)))
	e.b = append(e.b, s...)
}

// item appends an item header (type, reserved, 2-byte length), calls body,
// and sets the length (PS3.8 9.3.2.1 and following).
func (e *enc) item(typ, reserved byte, body func()) {
	e.b = append(e.b, typ, reserved, 0, 0)
	start := len(e.b)
	body()
	n := len(e.b) - start
	if n > math.MaxUint16 {
		e.fail("item %02XH of %d bytes", typ, n)
		return
	}
	binary.BigEndian.PutUint16(e.b[start-2:], uint16(n))
}

func (e *enc) stringItem(typ byte, s string) {
	e.item(typ, 0, func() { e.b = append(e.b, s...) })
}

func (e *enc) aeTitle(what, s string) {
	if len(s) > aeTitleLen {
		e.fail("%s %q longer than 16 bytes", what, s)
		s = s[:aeTitleLen]
	}
	e.b = append(e.b, s...)
	for range aeTitleLen - len(s) {
		e.b = append(e.b, ' ')
	}
}

// fixed appends the fixed fields common to A-ASSOCIATE-RQ and -AC
// (PS3.8 Table 9-11 and Table 9-17, bytes 7-74).
func (e *enc) fixed(version uint16, called, calling string) {
	e.u16(version)
	e.u16(0)
	e.aeTitle("called AE title", called)
	e.aeTitle("calling AE title", calling)
	e.b = append(e.b, make([]byte, 32)...)
}

func (e *enc) raw(items []RawItem) {
	for _, it := range items {
		e.item(it.Type, it.Reserved, func() { e.b = append(e.b, it.Data...) })
	}
}

func (p *AssociateRQ) appendBody(dst []byte) ([]byte, error) {
	e := enc{b: dst}
	e.fixed(p.ProtocolVersion, p.CalledAE, p.CallingAE)
	e.stringItem(ItemApplicationContext, p.ApplicationContext)
	for _, pc := range p.PresentationContexts {
		// PS3.8 9.3.2.2, Table 9-13.
		e.item(ItemPresentationContextRQ, 0, func() {
			e.b = append(e.b, pc.ID, 0, 0, 0)
			e.stringItem(ItemAbstractSyntax, pc.AbstractSyntax)
			for _, ts := range pc.TransferSyntaxes {
				e.stringItem(ItemTransferSyntax, ts)
			}
		})
	}
	e.userInfo(&p.UserInfo)
	e.raw(p.Unknown)
	return e.b, e.err
}

func (p *AssociateAC) appendBody(dst []byte) ([]byte, error) {
	e := enc{b: dst}
	e.fixed(p.ProtocolVersion, p.CalledAE, p.CallingAE)
	e.stringItem(ItemApplicationContext, p.ApplicationContext)
	for _, pc := range p.PresentationContexts {
		// PS3.8 9.3.3.2, Table 9-18: the Transfer Syntax sub-item is
		// present whatever the result.
		e.item(ItemPresentationContextAC, 0, func() {
			e.b = append(e.b, pc.ID, 0, pc.Result, 0)
			e.stringItem(ItemTransferSyntax, pc.TransferSyntax)
		})
	}
	e.userInfo(&p.UserInfo)
	e.raw(p.Unknown)
	return e.b, e.err
}

// userInfo appends the User Information item (PS3.8 9.3.2.3, 9.3.3.3).
func (e *enc) userInfo(u *UserInfo) {
	e.item(ItemUserInformation, 0, func() {
		// PS3.8 D.1, Table D.1-1.
		e.item(ItemMaximumLength, 0, func() { e.u32(u.MaxLength) })
		// PS3.7 D.3.3.2, Tables D.3-1 and D.3-3.
		if u.ImplementationClassUID != "" {
			e.stringItem(ItemImplementationClassUID, u.ImplementationClassUID)
		}
		if u.ImplementationVersionName != "" {
			e.stringItem(ItemImplementationVersion, u.ImplementationVersionName)
		}
		// PS3.7 D.3.3.3, Table D.3-7.
		if a := u.AsyncOps; a != nil {
			e.item(ItemAsyncOperationsWindow, 0, func() {
				e.u16(a.MaxInvoked)
				e.u16(a.MaxPerformed)
			})
		}
		// PS3.7 D.3.3.4, Table D.3-9.
		for _, r := range u.Roles {
			e.item(ItemRoleSelection, 0, func() {
				e.lenPrefixed("SOP class UID", []byte(r.SOPClassUID))
				e.bool(r.SCU)
				e.bool(r.SCP)
			})
		}
		// PS3.7 D.3.3.5, Table D.3-11.
		for _, x := range u.ExtNeg {
			e.item(ItemExtendedNegotiation, 0, func() {
				e.lenPrefixed("SOP class UID", []byte(x.SOPClassUID))
				e.b = append(e.b, x.Info...)
			})
		}
		// PS3.7 D.3.3.6, Table D.3-12: the second header byte is the
		// sub-item version, 0.
		for _, x := range u.CommonExtNeg {
			e.item(ItemCommonExtNegotiation, 0, func() {
				e.lenPrefixed("SOP class UID", []byte(x.SOPClassUID))
				e.lenPrefixed("service class UID", []byte(x.ServiceClassUID))
				lenAt := len(e.b)
				e.u16(0)
				for _, uid := range x.RelatedGeneralSOPClassUID {
					e.lenPrefixed("related general SOP class UID", []byte(uid))
				}
				n := len(e.b) - lenAt - 2
				if n > math.MaxUint16 {
					e.fail("related general SOP class identification of %d bytes", n)
					return
				}
				binary.BigEndian.PutUint16(e.b[lenAt:], uint16(n))
			})
		}
		// PS3.7 D.3.3.7.1, Table D.3-14.
		if id := u.UserIdentity; id != nil {
			e.item(ItemUserIdentityRQ, 0, func() {
				e.u8(id.Type)
				e.bool(id.PositiveResponseRequested)
				e.lenPrefixed("user identity primary field", id.PrimaryField)
				e.lenPrefixed("user identity secondary field", id.SecondaryField)
			})
		}
		// PS3.7 D.3.3.7.2, Table D.3-15.
		if id := u.UserIdentityAC; id != nil {
			e.item(ItemUserIdentityAC, 0, func() {
				e.lenPrefixed("user identity server response", id.ServerResponse)
			})
		}
		e.raw(u.Unknown)
	})
}
