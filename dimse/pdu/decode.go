package pdu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Default limits, chosen so that a hostile peer cannot make a reader hold
// more than about 16 MiB, while every conformant association fits.
const (
	// DefaultMaxPDataLength bounds the PDU-length of a P-DATA-TF. Peers
	// are bound by the Maximum Length we advertise (PS3.8 D.1), commonly
	// 16 KiB to 1 MiB; 16 MiB leaves room for peers that overshoot it.
	DefaultMaxPDataLength = 16 << 20
	// DefaultMaxAssociateLength bounds the PDU-length of A-ASSOCIATE-RQ
	// and -AC. 128 presentation contexts with 64 transfer syntaxes each
	// and long UIDs take about 600 KiB.
	DefaultMaxAssociateLength = 1 << 20
	// DefaultMaxPresentationContexts is the number of distinct
	// presentation context IDs: the odd integers 1 to 255 (PS3.8 9.3.2.2).
	DefaultMaxPresentationContexts = 128
	// DefaultMaxTransferSyntaxes bounds the Transfer Syntax sub-items of
	// one presentation context.
	DefaultMaxTransferSyntaxes = 64
	// DefaultMaxUserInfoItems bounds the sub-items of the User Information
	// item (role selections and extended negotiations are per SOP class).
	DefaultMaxUserInfoItems = 1024
	// DefaultMaxPDVs bounds the PDV items of one P-DATA-TF.
	DefaultMaxPDVs = 4096
)

// Limits bound what a Reader or Decode accepts. A zero field takes its
// default.
type Limits struct {
	MaxPDataLength          uint32 // PDU-length of P-DATA-TF; DefaultMaxPDataLength
	MaxAssociateLength      uint32 // PDU-length of A-ASSOCIATE-RQ/AC; DefaultMaxAssociateLength
	MaxPresentationContexts int    // DefaultMaxPresentationContexts
	MaxTransferSyntaxes     int    // per presentation context; DefaultMaxTransferSyntaxes
	MaxUserInfoItems        int    // DefaultMaxUserInfoItems
	MaxPDVs                 int    // per P-DATA-TF; DefaultMaxPDVs
}

func (l Limits) withDefaults() Limits {
	if l.MaxPDataLength == 0 {
		l.MaxPDataLength = DefaultMaxPDataLength
	}
	if l.MaxAssociateLength == 0 {
		l.MaxAssociateLength = DefaultMaxAssociateLength
	}
	if l.MaxPresentationContexts <= 0 {
		l.MaxPresentationContexts = DefaultMaxPresentationContexts
	}
	if l.MaxTransferSyntaxes <= 0 {
		l.MaxTransferSyntaxes = DefaultMaxTransferSyntaxes
	}
	if l.MaxUserInfoItems <= 0 {
		l.MaxUserInfoItems = DefaultMaxUserInfoItems
	}
	if l.MaxPDVs <= 0 {
		l.MaxPDVs = DefaultMaxPDVs
	}
	return l
}

// checkHeader validates the PDU-type and PDU-length of a header against the
// limits, before anything is allocated for the body.
func (l Limits) checkHeader(t Type, n uint32) error {
	switch t {
	case TypeAssociateRQ, TypeAssociateAC:
		if n > l.MaxAssociateLength {
			return &DecodeError{PDU: t, Offset: 2, Err: ErrTooLarge,
				Msg: fmt.Sprintf("PDU-length %d beyond the limit of %d", n, l.MaxAssociateLength)}
		}
		if n < associateFixedLen {
			return &DecodeError{PDU: t, Offset: 2, Err: ErrMalformed,
				Msg: fmt.Sprintf("PDU-length %d shorter than the %d bytes of fixed fields", n, associateFixedLen)}
		}
	case TypePDataTF:
		if n > l.MaxPDataLength {
			return &DecodeError{PDU: t, Offset: 2, Err: ErrTooLarge,
				Msg: fmt.Sprintf("PDU-length %d beyond the limit of %d", n, l.MaxPDataLength)}
		}
		if n < PDVHeaderLen {
			return &DecodeError{PDU: t, Offset: 2, Err: ErrMalformed,
				Msg: fmt.Sprintf("PDU-length %d cannot hold a PDV item", n)}
		}
	case TypeAssociateRJ, TypeReleaseRQ, TypeReleaseRP, TypeAbort:
		if n != shortBodyLen {
			return &DecodeError{PDU: t, Offset: 2, Err: ErrMalformed,
				Msg: fmt.Sprintf("PDU-length %d, want %d", n, shortBodyLen)}
		}
	default:
		return &DecodeError{PDU: t, Offset: 0, Err: ErrUnknownType, Msg: "unrecognized PDU type"}
	}
	return nil
}

// Decode decodes the single PDU b, header included. Byte slices of a
// returned *PDataTF alias b; every other PDU is a copy.
func Decode(b []byte, lim Limits) (PDU, error) {
	if len(b) < HeaderLen {
		return nil, &DecodeError{Err: ErrMalformed, Msg: fmt.Sprintf("%d bytes, shorter than a PDU header", len(b))}
	}
	t := Type(b[0])
	n := binary.BigEndian.Uint32(b[2:])
	lim = lim.withDefaults()
	if err := lim.checkHeader(t, n); err != nil {
		return nil, err
	}
	if uint64(len(b)-HeaderLen) != uint64(n) {
		return nil, &DecodeError{PDU: t, Offset: 2, Err: ErrMalformed,
			Msg: fmt.Sprintf("PDU-length %d but %d bytes follow the header", n, len(b)-HeaderLen)}
	}
	var p *PDataTF
	if t == TypePDataTF {
		p = new(PDataTF)
	}
	return decodeBody(t, b[HeaderLen:], lim, p)
}

// decodeBody decodes the body of a PDU whose header was checked. P-DATA-TF
// is decoded into pd, reusing its Items.
func decodeBody(t Type, body []byte, lim Limits, pd *PDataTF) (PDU, error) {
	d := decoder{typ: t, lim: lim}
	switch t {
	case TypeAssociateRQ:
		return d.associateRQ(body)
	case TypeAssociateAC:
		return d.associateAC(body)
	case TypePDataTF:
		return d.pdata(body, pd)
	case TypeAssociateRJ:
		return &AssociateRJ{Result: RejectResult(body[1]), Source: RejectSource(body[2]), Reason: RejectReason(body[3])}, nil
	case TypeReleaseRQ:
		return &ReleaseRQ{}, nil
	case TypeReleaseRP:
		return &ReleaseRP{}, nil
	case TypeAbort:
		return &Abort{Source: AbortSource(body[2]), Reason: AbortReason(body[3])}, nil
	}
	return nil, &DecodeError{PDU: t, Err: ErrUnknownType, Msg: "unrecognized PDU type"}
}

// decoder reports errors at offsets counted from the first byte of the PDU.
type decoder struct {
	typ Type
	lim Limits
}

func (d *decoder) errorf(item byte, bodyOff int, err error, format string, args ...any) error {
	return &DecodeError{PDU: d.typ, Item: item, Offset: HeaderLen + bodyOff, Err: err, Msg: fmt.Sprintf(format, args...)}
}

// pdata decodes PDV items (PS3.8 9.3.5.1). Data aliases body.
func (d *decoder) pdata(body []byte, p *PDataTF) (PDU, error) {
	p.Items = p.Items[:0]
	for off := 0; off < len(body); {
		if len(body)-off < 4 {
			return nil, d.errorf(0, off, ErrMalformed, "%d bytes left, too few for a PDV item length", len(body)-off)
		}
		n := binary.BigEndian.Uint32(body[off:])
		if n < 2 {
			return nil, d.errorf(0, off, ErrMalformed, "PDV item length %d shorter than its context ID and message control header", n)
		}
		if uint64(n) > uint64(len(body)-off-4) {
			return nil, d.errorf(0, off, ErrMalformed, "PDV item length %d beyond the PDU (%d bytes left)", n, len(body)-off-4)
		}
		if len(p.Items) == d.lim.MaxPDVs {
			return nil, d.errorf(0, off, ErrTooLarge, "more than %d PDV items", d.lim.MaxPDVs)
		}
		mch := body[off+5]
		p.Items = append(p.Items, PDV{
			ContextID: body[off+4],
			Command:   mch&0x01 != 0,
			Last:      mch&0x02 != 0,
			Data:      body[off+6 : off+4+int(n) : off+4+int(n)],
		})
		off += 4 + int(n)
	}
	return p, nil
}

// item is one item or sub-item: type, reserved byte, data, and the body
// offset of its header for error messages.
type item struct {
	typ, reserved byte
	data          []byte
	off           int
}

// items splits b, found at body offset base, into items with 2-byte lengths
// (PS3.8 9.3.2.1 and following). It calls f for each; f may stop the walk
// by returning an error.
func (d *decoder) items(b []byte, base int, f func(item) error) error {
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return d.errorf(b[off], base+off, ErrMalformed, "%d bytes left, too few for an item header", len(b)-off)
		}
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if n > len(b)-off-4 {
			return d.errorf(b[off], base+off, ErrMalformed, "item length %d beyond its container (%d bytes left)", n, len(b)-off-4)
		}
		if err := f(item{typ: b[off], reserved: b[off+1], data: b[off+4 : off+4+n], off: base + off}); err != nil {
			return err
		}
		off += 4 + n
	}
	return nil
}

// cloneBytes copies b, returning nil for an empty field so that an absent
// and an empty field decode alike.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return slices.Clone(b)
}

// uid returns a UID field, lenient about the trailing NUL or spaces some
// implementations add.
func uid(b []byte) string { return strings.TrimRight(string(b), "\x00 ") }

// aeTitle returns an AE title without its non-significant spaces (and the
// NULs some implementations pad with).
func aeTitle(b []byte) string { return strings.TrimLeft(strings.TrimRight(string(b), "\x00 "), " ") }

type associateCommon struct {
	version          uint16
	called, calling  string
	appContext       string
	userInfo         UserInfo
	unknown          []RawItem
	contextItemCount int
}

// associate decodes the fixed fields and the items of A-ASSOCIATE-RQ and
// -AC (PS3.8 Table 9-11, Table 9-17); pc handles presentation context items
// of type pcType.
func (d *decoder) associate(body []byte, pcType byte, pc func(item) error) (associateCommon, error) {
	var c associateCommon
	c.version = binary.BigEndian.Uint16(body[0:])
	c.called = aeTitle(body[4:20])
	c.calling = aeTitle(body[20:36])
	seenAppContext := false
	err := d.items(body[associateFixedLen:], associateFixedLen, func(it item) error {
		switch it.typ {
		case ItemApplicationContext:
			if seenAppContext {
				return d.errorf(it.typ, it.off, ErrMalformed, "second application context item")
			}
			seenAppContext = true
			c.appContext = uid(it.data)
		case pcType:
			c.contextItemCount++
			if c.contextItemCount > d.lim.MaxPresentationContexts {
				return d.errorf(it.typ, it.off, ErrTooLarge, "more than %d presentation contexts", d.lim.MaxPresentationContexts)
			}
			if len(it.data) < 4 {
				return d.errorf(it.typ, it.off, ErrMalformed, "presentation context item length %d, shorter than 4", len(it.data))
			}
			return pc(it)
		case ItemPresentationContextRQ, ItemPresentationContextAC, ItemAbstractSyntax, ItemTransferSyntax:
			return d.errorf(it.typ, it.off, ErrMalformed, "item not allowed in %s", d.typ)
		case ItemUserInformation:
			return d.userInfo(it, &c.userInfo)
		default:
			c.unknown = append(c.unknown, RawItem{Type: it.typ, Reserved: it.reserved, Data: cloneBytes(it.data)})
		}
		return nil
	})
	return c, err
}

func (d *decoder) associateRQ(body []byte) (PDU, error) {
	var pcs []PresentationContextRQ
	c, err := d.associate(body, ItemPresentationContextRQ, func(it item) error {
		// PS3.8 9.3.2.2, Table 9-13.
		pc := PresentationContextRQ{ID: it.data[0]}
		seenAbstract := false
		err := d.items(it.data[4:], it.off+8, func(sub item) error {
			switch sub.typ {
			case ItemAbstractSyntax:
				if seenAbstract {
					return d.errorf(sub.typ, sub.off, ErrMalformed, "second abstract syntax in presentation context %d", pc.ID)
				}
				seenAbstract = true
				pc.AbstractSyntax = uid(sub.data)
			case ItemTransferSyntax:
				if len(pc.TransferSyntaxes) == d.lim.MaxTransferSyntaxes {
					return d.errorf(sub.typ, sub.off, ErrTooLarge, "more than %d transfer syntaxes in presentation context %d", d.lim.MaxTransferSyntaxes, pc.ID)
				}
				pc.TransferSyntaxes = append(pc.TransferSyntaxes, uid(sub.data))
			}
			// Other sub-item types are not defined for a presentation
			// context and are skipped.
			return nil
		})
		if err != nil {
			return err
		}
		if !seenAbstract {
			return d.errorf(it.typ, it.off, ErrMalformed, "presentation context %d without an abstract syntax", pc.ID)
		}
		pcs = append(pcs, pc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &AssociateRQ{
		ProtocolVersion:      c.version,
		CalledAE:             c.called,
		CallingAE:            c.calling,
		ApplicationContext:   c.appContext,
		PresentationContexts: pcs,
		UserInfo:             c.userInfo,
		Unknown:              c.unknown,
	}, nil
}

func (d *decoder) associateAC(body []byte) (PDU, error) {
	var pcs []PresentationContextAC
	c, err := d.associate(body, ItemPresentationContextAC, func(it item) error {
		// PS3.8 9.3.3.2, Table 9-18.
		pc := PresentationContextAC{ID: it.data[0], Result: it.data[2]}
		seenTS := false
		err := d.items(it.data[4:], it.off+8, func(sub item) error {
			if sub.typ == ItemTransferSyntax {
				if seenTS {
					return d.errorf(sub.typ, sub.off, ErrMalformed, "second transfer syntax in presentation context %d", pc.ID)
				}
				seenTS = true
				pc.TransferSyntax = uid(sub.data)
			}
			return nil
		})
		if err != nil {
			return err
		}
		pcs = append(pcs, pc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &AssociateAC{
		ProtocolVersion:      c.version,
		CalledAE:             c.called,
		CallingAE:            c.calling,
		ApplicationContext:   c.appContext,
		PresentationContexts: pcs,
		UserInfo:             c.userInfo,
		Unknown:              c.unknown,
	}, nil
}

// field reads the 2-byte length-prefixed fields of PS3.7 D.3.3.
type field struct {
	b   []byte
	off int
	bad bool
}

func (f *field) next() []byte {
	if f.bad || len(f.b)-f.off < 2 {
		f.bad = true
		return nil
	}
	n := int(binary.BigEndian.Uint16(f.b[f.off:]))
	if n > len(f.b)-f.off-2 {
		f.bad = true
		return nil
	}
	v := f.b[f.off+2 : f.off+2+n]
	f.off += 2 + n
	return v
}

func (f *field) rest() []byte { return f.b[f.off:] }

// userInfo decodes the sub-items of a User Information item (PS3.8 D.1,
// PS3.7 D.3.3), merging them into u.
func (d *decoder) userInfo(ui item, u *UserInfo) error {
	count := 0
	return d.items(ui.data, ui.off+4, func(it item) error {
		count++
		if count > d.lim.MaxUserInfoItems {
			return d.errorf(it.typ, it.off, ErrTooLarge, "more than %d user information sub-items", d.lim.MaxUserInfoItems)
		}
		bad := func(what string) error {
			return d.errorf(it.typ, it.off, ErrMalformed, "%s: item length %d does not add up", what, len(it.data))
		}
		switch it.typ {
		case ItemMaximumLength:
			if len(it.data) != 4 {
				return bad("maximum length")
			}
			u.MaxLength = binary.BigEndian.Uint32(it.data)
		case ItemImplementationClassUID:
			u.ImplementationClassUID = uid(it.data)
		case ItemImplementationVersion:
			u.ImplementationVersionName = strings.TrimRight(string(it.data), "\x00 ")
		case ItemAsyncOperationsWindow:
			if len(it.data) != 4 {
				return bad("asynchronous operations window")
			}
			u.AsyncOps = &AsyncOps{
				MaxInvoked:   binary.BigEndian.Uint16(it.data),
				MaxPerformed: binary.BigEndian.Uint16(it.data[2:]),
			}
		case ItemRoleSelection:
			f := field{b: it.data}
			sop := f.next()
			r := f.rest()
			if f.bad || len(r) != 2 {
				return bad("SCP/SCU role selection")
			}
			u.Roles = append(u.Roles, RoleSelection{SOPClassUID: uid(sop), SCU: r[0] != 0, SCP: r[1] != 0})
		case ItemExtendedNegotiation:
			f := field{b: it.data}
			sop := f.next()
			if f.bad {
				return bad("SOP class extended negotiation")
			}
			u.ExtNeg = append(u.ExtNeg, ExtendedNegotiation{SOPClassUID: uid(sop), Info: cloneBytes(f.rest())})
		case ItemCommonExtNegotiation:
			f := field{b: it.data}
			x := CommonExtendedNegotiation{SOPClassUID: uid(f.next()), ServiceClassUID: uid(f.next())}
			related := field{b: f.next()}
			if f.bad || len(f.rest()) != 0 {
				return bad("SOP class common extended negotiation")
			}
			for len(related.rest()) > 0 {
				v := related.next()
				if related.bad {
					return bad("related general SOP class identification")
				}
				x.RelatedGeneralSOPClassUID = append(x.RelatedGeneralSOPClassUID, uid(v))
			}
			u.CommonExtNeg = append(u.CommonExtNeg, x)
		case ItemUserIdentityRQ:
			if len(it.data) < 2 {
				return bad("user identity")
			}
			f := field{b: it.data, off: 2}
			id := &UserIdentityRQ{Type: it.data[0], PositiveResponseRequested: it.data[1] != 0}
			id.PrimaryField = cloneBytes(f.next())
			// Lenient: a missing Secondary-field-length reads as empty.
			if len(f.rest()) > 0 {
				id.SecondaryField = cloneBytes(f.next())
			}
			if f.bad || len(f.rest()) != 0 {
				return bad("user identity")
			}
			u.UserIdentity = id
		case ItemUserIdentityAC:
			f := field{b: it.data}
			resp := cloneBytes(f.next())
			if f.bad || len(f.rest()) != 0 {
				return bad("user identity server response")
			}
			u.UserIdentityAC = &UserIdentityAC{ServerResponse: resp}
		default:
			u.Unknown = append(u.Unknown, RawItem{Type: it.typ, Reserved: it.reserved, Data: cloneBytes(it.data)})
		}
		return nil
	})
}

// Reader reads PDUs from a stream, checking each PDU-length against its
// Limits before allocating.
//
// A *PDataTF returned by Next, and the Data of its items, belong to the
// Reader: they are valid until the next call to Next. Every other PDU is
// the caller's.
type Reader struct {
	r     io.Reader
	lim   Limits
	hdr   [HeaderLen]byte
	buf   []byte
	pdata PDataTF
}

// NewReader returns a Reader of r bounded by lim (zero fields take their
// defaults).
func NewReader(r io.Reader, lim Limits) *Reader {
	return &Reader{r: r, lim: lim.withDefaults()}
}

// Limits returns the limits in force, defaults filled in.
func (r *Reader) Limits() Limits { return r.lim }

// readChunk is the step by which the body buffer grows while a large PDU
// arrives, so that a peer announcing a large PDU-length and sending
// nothing does not make the Reader allocate it.
const readChunk = 64 << 10

// Next reads the next PDU. It returns io.EOF when the stream ends cleanly
// between PDUs, io.ErrUnexpectedEOF when it ends inside one, and a
// *DecodeError (wrapping ErrUnknownType, ErrTooLarge or ErrMalformed) when
// the PDU is not acceptable; after a *DecodeError the stream is not in sync
// and should be abandoned.
func (r *Reader) Next() (PDU, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return nil, err
	}
	t := Type(r.hdr[0])
	n := binary.BigEndian.Uint32(r.hdr[2:])
	if err := r.lim.checkHeader(t, n); err != nil {
		return nil, err
	}
	if err := r.readBody(int(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("pdu: read %s body of %d bytes: %w", t, n, err)
	}
	return decodeBody(t, r.buf, r.lim, &r.pdata)
}

func (r *Reader) readBody(n int) error {
	if cap(r.buf) >= n {
		r.buf = r.buf[:n]
		_, err := io.ReadFull(r.r, r.buf)
		return err
	}
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		step := min(n-len(r.buf), max(readChunk, len(r.buf)))
		r.buf = slices.Grow(r.buf, step)
		have := len(r.buf)
		r.buf = r.buf[:have+step]
		if _, err := io.ReadFull(r.r, r.buf[have:]); err != nil {
			return err
		}
	}
	return nil
}
