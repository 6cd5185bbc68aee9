// Package vr describes DICOM Value Representations (PS3.5 section 6.2): their two-letter codes,
// how they are encoded in explicit VR transfer syntaxes (PS3.5 7.1.2), their padding, and the
// byte width used when swapping between little and big endian.
package vr

// VR is a Value Representation, stored as its two ASCII letters ('P'<<8 | 'N' for PN).
// The zero VR means "unknown"; it is never written.
type VR uint16

// The standard's VRs (PS3.5 Table 6.2-1).
const (
	AE VR = 'A'<<8 | 'E'
	AS VR = 'A'<<8 | 'S'
	AT VR = 'A'<<8 | 'T'
	CS VR = 'C'<<8 | 'S'
	DA VR = 'D'<<8 | 'A'
	DS VR = 'D'<<8 | 'S'
	DT VR = 'D'<<8 | 'T'
	FD VR = 'F'<<8 | 'D'
	FL VR = 'F'<<8 | 'L'
	IS VR = 'I'<<8 | 'S'
	LO VR = 'L'<<8 | 'O'
	LT VR = 'L'<<8 | 'T'
	OB VR = 'O'<<8 | 'B'
	OD VR = 'O'<<8 | 'D'
	OF VR = 'O'<<8 | 'F'
	OL VR = 'O'<<8 | 'L'
	OV VR = 'O'<<8 | 'V'
	OW VR = 'O'<<8 | 'W'
	PN VR = 'P'<<8 | 'N'
	SH VR = 'S'<<8 | 'H'
	SL VR = 'S'<<8 | 'L'
	SQ VR = 'S'<<8 | 'Q'
	SS VR = 'S'<<8 | 'S'
	ST VR = 'S'<<8 | 'T'
	SV VR = 'S'<<8 | 'V'
	TM VR = 'T'<<8 | 'M'
	UC VR = 'U'<<8 | 'C'
	UI VR = 'U'<<8 | 'I'
	UL VR = 'U'<<8 | 'L'
	UN VR = 'U'<<8 | 'N'
	UR VR = 'U'<<8 | 'R'
	US VR = 'U'<<8 | 'S'
	UT VR = 'U'<<8 | 'T'
	UV VR = 'U'<<8 | 'V'
)

// All lists every standard VR in alphabetical order.
var All = [...]VR{AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN,
	SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV}

// Parse returns the VR for two ASCII letters, and whether they name a standard VR.
func Parse(b0, b1 byte) (VR, bool) {
	v := VR(b0)<<8 | VR(b1)
	return v, v.Valid()
}

// FromString returns the VR named by s ("PN"), and whether it is a standard VR.
func FromString(s string) (VR, bool) {
	if len(s) != 2 {
		return 0, false
	}
	return Parse(s[0], s[1])
}

// Valid reports whether v is one of the standard VRs.
func (v VR) Valid() bool {
	switch v {
	case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN,
		SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV:
		return true
	}
	return false
}

// String returns the two-letter code, or "??" for an unknown VR.
func (v VR) String() string {
	if v == 0 {
		return "??"
	}
	return string([]byte{byte(v >> 8), byte(v)})
}

// LongLength reports whether explicit VR encoding uses the 12-byte header (2 reserved bytes and a
// 32-bit length) for v, per PS3.5 Table 7.1-1.
func (v VR) LongLength() bool {
	switch v {
	case OB, OD, OF, OL, OV, OW, SQ, SV, UC, UN, UR, UT, UV:
		return true
	}
	return false
}

// IsString reports whether values of v are character strings.
func (v VR) IsString() bool {
	switch v {
	case AE, AS, CS, DA, DS, DT, IS, LO, LT, PN, SH, ST, TM, UC, UI, UR, UT:
		return true
	}
	return false
}

// IsText reports whether v is a string VR whose value is decoded through the Specific Character
// Set (PS3.5 6.1.2.3): SH, LO, UC, ST, LT, UT and PN. The other string VRs hold only the default
// repertoire.
func (v VR) IsText() bool {
	switch v {
	case SH, LO, UC, ST, LT, UT, PN:
		return true
	}
	return false
}

// MultiValued reports whether a backslash separates values of v. LT, ST, UT and UR hold one value
// that may contain backslashes.
func (v VR) MultiValued() bool {
	return v.IsString() && v != LT && v != ST && v != UT && v != UR
}

// IsBinary reports whether v holds binary numbers or bytes (not strings, not sequences).
func (v VR) IsBinary() bool {
	return !v.IsString() && v != SQ && v != 0
}

// IsBulk reports whether v is an "other" byte or word type that may hold bulk data.
func (v VR) IsBulk() bool {
	switch v {
	case OB, OD, OF, OL, OV, OW, UN:
		return true
	}
	return false
}

// Padding is the byte that pads odd-length values of v to even length: a space for strings
// (PS3.5 6.2), NUL for UI and the binary VRs.
func (v VR) Padding() byte {
	if v.IsString() && v != UI {
		return ' '
	}
	return 0
}

// SwapWidth is the size in bytes of each number in a value of v, which must be byte-swapped when
// the value moves between little and big endian; 1 means no swap. AT is two 16-bit numbers.
func (v VR) SwapWidth() int {
	switch v {
	case US, SS, OW, AT:
		return 2
	case UL, SL, FL, OF, OL:
		return 4
	case FD, OD, SV, UV, OV:
		return 8
	}
	return 1
}

// FixedWidth returns the size of one value of a fixed-width binary VR, or 0.
func (v VR) FixedWidth() int {
	switch v {
	case US, SS:
		return 2
	case UL, SL, FL, AT:
		return 4
	case FD, SV, UV:
		return 8
	}
	return 0
}

// MaxLength returns the maximum length in bytes (or characters, for UC/LO-like VRs measured in
// characters the standard's figure) of one value of v, or 0 when the standard sets no limit
// beyond the length field. Used for validation warnings, never to reject input.
func (v VR) MaxLength() int {
	switch v {
	case AE:
		return 16
	case AS:
		return 4
	case CS:
		return 16
	case DA:
		return 8
	case DS:
		return 16
	case DT:
		return 26
	case IS:
		return 12
	case LO:
		return 64
	case LT:
		return 10240
	case PN:
		return 64 * 3
	case SH:
		return 16
	case ST:
		return 1024
	case TM:
		return 14
	case UI:
		return 64
	}
	return 0
}
