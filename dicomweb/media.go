package dicomweb

import (
	"mime"
	"sort"
	"strconv"
	"strings"
)

// Media types of DICOMweb (PS3.18 8.7.3).
const (
	MediaDICOM         = "application/dicom"
	MediaDICOMJSON     = "application/dicom+json"
	MediaDICOMXML      = "application/dicom+xml"
	MediaOctetStream   = "application/octet-stream"
	MediaJSON          = "application/json"
	MultipartRelated   = "multipart/related"
	ParamType          = "type"
	ParamTransfer      = "transfer-syntax"
	ParamBoundary      = "boundary"
	AnyTransferSyntax  = "*"
	defaultAcceptRange = "*/*"
)

// MediaRange is one element of an Accept header field: a media type (possibly with wildcards),
// its parameters other than q, and its quality.
type MediaRange struct {
	Type   string
	Params map[string]string
	Q      float64
}

// Matches reports whether the media type t (no wildcard) falls in the range.
func (m MediaRange) Matches(t string) bool {
	switch {
	case m.Type == "*/*":
		return true
	case strings.HasSuffix(m.Type, "/*"):
		return strings.HasPrefix(t, strings.TrimSuffix(m.Type, "*"))
	}
	return m.Type == t
}

// ParseAccept reads Accept header field values into media ranges, best first (by quality, in
// the order given for equal qualities). Ranges that cannot be parsed and ranges of quality 0 are
// left out. No value at all gives the range */*.
func ParseAccept(values []string) []MediaRange {
	var out []MediaRange
	seen := false
	for _, v := range values {
		for _, item := range splitOutsideQuotes(v, ',') {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			seen = true
			t, params, err := mime.ParseMediaType(item)
			if err != nil {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil || f < 0 || f > 1 {
					continue
				}
				q = f
				delete(params, "q")
			}
			if q == 0 {
				continue
			}
			out = append(out, MediaRange{Type: t, Params: params, Q: q})
		}
	}
	if !seen {
		return []MediaRange{{Type: defaultAcceptRange, Params: map[string]string{}, Q: 1}}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Q > out[j].Q })
	return out
}

// splitOutsideQuotes splits s at sep where sep is not inside a quoted string.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\' && quoted:
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// MultipartType returns the Content-Type of a multipart/related payload whose root (and parts)
// are of media type partType (PS3.18 8.6, 8.7): multipart/related; type="…"; boundary=….
func MultipartType(partType, boundary string) string {
	return mime.FormatMediaType(MultipartRelated, map[string]string{ParamType: partType, ParamBoundary: boundary})
}

// TransferSyntaxMediaType returns the media type of a frame or bulk data value encoded in the
// transfer syntax ts (PS3.18 Table 8.7.3-4 and Table 8.7.3-5): the image media type of a
// compressed syntax, application/octet-stream for native and unknown ones.
func TransferSyntaxMediaType(ts string) string {
	switch ts {
	case "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70":
		return "image/jpeg"
	case "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81":
		return "image/jls"
	case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91":
		return "image/jp2"
	case "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93":
		return "image/jpx"
	case "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203":
		return "image/jphc"
	case "1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112":
		return "image/jxl"
	case "1.2.840.10008.1.2.5":
		return "image/dicom-rle"
	case "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.100.1", "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.101.1":
		return "video/mpeg"
	case "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.102.1", "1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.103.1",
		"1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.104.1", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.105.1",
		"1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.106.1", "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108":
		return "video/mp4"
	}
	return MediaOctetStream
}
