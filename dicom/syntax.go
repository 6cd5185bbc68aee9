package dicom

import "strings"

// Transfer syntax UIDs the reader and writer handle natively (PS3.5 section 10, PS3.6 Table A-1).
const (
	ImplicitVRLittleEndian         = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian         = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian            = "1.2.840.10008.1.2.2"
)

// Syntax says how a transfer syntax encodes a data set: VR explicit or implicit, byte order,
// deflate, and whether Pixel Data is encapsulated (PS3.5 sections 7, 8 and 10).
type Syntax struct {
	UID          string
	Implicit     bool
	BigEndian    bool
	Deflated     bool
	Encapsulated bool
}

// Known reports whether uid is a transfer syntax this package recognises by name; unknown UIDs
// are still readable, see SyntaxOf.
var nativeSyntaxes = map[string]Syntax{
	ImplicitVRLittleEndian:         {UID: ImplicitVRLittleEndian, Implicit: true},
	ExplicitVRLittleEndian:         {UID: ExplicitVRLittleEndian},
	DeflatedExplicitVRLittleEndian: {UID: DeflatedExplicitVRLittleEndian, Deflated: true},
	ExplicitVRBigEndian:            {UID: ExplicitVRBigEndian, BigEndian: true},
	// Deflated Image Frame Compression keeps native layout but deflates each frame.
	"1.2.840.10008.1.2.8.1": {UID: "1.2.840.10008.1.2.8.1", Encapsulated: true},
}

// SyntaxOf describes the transfer syntax uid. Every transfer syntax other than the uncompressed
// and deflated ones encodes the data set in Explicit VR Little Endian with encapsulated Pixel Data
// (PS3.5 section 8.2 and Annex A.4), so an unknown UID is taken to be one of those.
func SyntaxOf(uid string) Syntax {
	uid = trimUID(uid)
	if s, ok := nativeSyntaxes[uid]; ok {
		return s
	}
	return Syntax{UID: uid, Encapsulated: true}
}

// IsNative reports whether uid is one of the uncompressed or deflated transfer syntaxes.
func IsNative(uid string) bool {
	s := SyntaxOf(uid)
	return !s.Encapsulated
}

func trimUID(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), "\x00 ")
}
