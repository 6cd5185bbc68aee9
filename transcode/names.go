package transcode

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
)

// Names are the short names of transfer syntaxes that the command line and the configuration
// accept besides UIDs.
var names = map[string]string{
	"implicit":       dicom.ImplicitVRLittleEndian,
	"explicit":       dicom.ExplicitVRLittleEndian,
	"big-endian":     dicom.ExplicitVRBigEndian,
	"deflated":       dicom.DeflatedExplicitVRLittleEndian,
	"jpeg":           "1.2.840.10008.1.2.4.50",
	"jpeg-12":        "1.2.840.10008.1.2.4.51",
	"jpeg-lossless":  "1.2.840.10008.1.2.4.70",
	"jpeg-ls":        "1.2.840.10008.1.2.4.80",
	"jpeg-ls-near":   "1.2.840.10008.1.2.4.81",
	"j2k":            "1.2.840.10008.1.2.4.90",
	"j2k-lossy":      "1.2.840.10008.1.2.4.91",
	"htj2k":          "1.2.840.10008.1.2.4.202",
	"htj2k-lossy":    "1.2.840.10008.1.2.4.203",
	"rle":            "1.2.840.10008.1.2.5",
	"deflate-frames": "1.2.840.10008.1.2.8.1",
}

// ParseSyntax returns the transfer syntax UID named by s: a UID, or one of SyntaxNames.
func ParseSyntax(s string) (string, error) {
	s = strings.TrimSpace(s)
	if u, ok := names[strings.ToLower(s)]; ok {
		return u, nil
	}
	if err := uid.Validate(s); err != nil {
		return "", fmt.Errorf("transfer syntax %q: not a UID nor one of %s", s, strings.Join(SyntaxNames(), ", "))
	}
	return s, nil
}

// SyntaxNames lists the short names ParseSyntax accepts, sorted.
func SyntaxNames() []string {
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
