package dicomweb

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// ErrQuery is wrapped by every error of ParseQuery: the request's query is at fault (400).
var ErrQuery = errors.New("dicomweb: invalid query parameter")

// Query is a parsed QIDO-RS query (PS3.18 8.3.4).
type Query struct {
	// Match holds the {attributeID}={value} matching parameters (8.3.4.1), in the order of
	// their tags.
	Match []MatchKey
	// IncludeFields are the attributes asked for with includefield (8.3.4.3); IncludeAll is set
	// by includefield=all.
	IncludeFields []tag.Tag
	IncludeAll    bool
	// FuzzyMatching is fuzzymatching=true (8.3.4.4).
	FuzzyMatching bool
	// Limit and Offset page the results (8.3.4.4); Limit 0 means no limit.
	Limit, Offset int
	// OrderBy sorts the results (orderby=attribute or -attribute, repeated or comma-separated),
	// an extension that several origin servers share.
	OrderBy []Order
	// Ignored lists parameters that were recognised but have no effect (emptyvaluematching,
	// accept, charset), for a Warning header.
	Ignored []string
}

// MatchKey is one matching parameter: an attribute of the top-level data set, its VR from the
// data dictionary (0 for attributes it does not know, such as private ones), and the value as
// given (UID lists joined with backslashes).
type MatchKey struct {
	Tag   tag.Tag
	VR    vr.VR
	Value string
}

// Order sorts by an attribute.
type Order struct {
	Tag  tag.Tag
	Desc bool
}

// MaxLimit bounds the limit parameter: a larger value is refused rather than trusted.
const MaxLimit = 1 << 30

// ParseQuery reads the query parameters of a QIDO-RS request. An attribute is named by its
// keyword or by its tag as eight hexadecimal digits (8.3.4.1); sequence paths
// (00400275.00321060) are refused. Every error wraps ErrQuery and names the parameter.
func ParseQuery(values url.Values) (*Query, error) {
	q := &Query{}
	seen := map[tag.Tag]bool{}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		vs := values[name]
		switch strings.ToLower(name) {
		case "includefield":
			for _, v := range vs {
				for _, f := range strings.Split(v, ",") {
					f = strings.TrimSpace(f)
					if f == "" {
						continue
					}
					if f == "all" {
						q.IncludeAll = true
						continue
					}
					t, err := ParseAttribute(f)
					if err != nil {
						return nil, fmt.Errorf("%w: includefield: %w", ErrQuery, err)
					}
					if !containsTag(q.IncludeFields, t) {
						q.IncludeFields = append(q.IncludeFields, t)
					}
				}
			}
		case "limit", "offset":
			v, err := single(name, vs)
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > MaxLimit {
				return nil, fmt.Errorf("%w: %s=%q is not a non-negative integer up to %d", ErrQuery, name, v, MaxLimit)
			}
			if strings.ToLower(name) == "limit" {
				q.Limit = n
			} else {
				q.Offset = n
			}
		case "fuzzymatching":
			v, err := single(name, vs)
			if err != nil {
				return nil, err
			}
			switch v {
			case "true":
				q.FuzzyMatching = true
			case "false":
			default:
				return nil, fmt.Errorf("%w: fuzzymatching=%q (want true or false)", ErrQuery, v)
			}
		case "orderby":
			for _, v := range vs {
				for _, f := range strings.Split(v, ",") {
					f = strings.TrimSpace(f)
					if f == "" {
						continue
					}
					o := Order{}
					if rest, ok := strings.CutPrefix(f, "-"); ok {
						o.Desc, f = true, rest
					} else {
						f = strings.TrimPrefix(f, "+")
					}
					t, err := ParseAttribute(f)
					if err != nil {
						return nil, fmt.Errorf("%w: orderby: %w", ErrQuery, err)
					}
					o.Tag = t
					q.OrderBy = append(q.OrderBy, o)
				}
			}
		case "emptyvaluematching", "accept", "charset", "_":
			q.Ignored = append(q.Ignored, name)
		default:
			t, err := ParseAttribute(name)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrQuery, err)
			}
			if seen[t] {
				return nil, fmt.Errorf("%w: %s given more than once", ErrQuery, name)
			}
			seen[t] = true
			v, err := single(name, vs)
			if err != nil {
				return nil, err
			}
			k := MatchKey{Tag: t, Value: v}
			if info, ok := tag.Lookup(t); ok {
				k.VR = info.VR
			}
			if k.VR == vr.SQ {
				return nil, fmt.Errorf("%w: %s is a sequence: sequence matching is not supported", ErrQuery, name)
			}
			if k.VR == vr.UI {
				// A list of UIDs may be separated by commas or backslashes (8.3.4.1).
				k.Value = strings.ReplaceAll(k.Value, ",", `\`)
			}
			q.Match = append(q.Match, k)
		}
	}
	sort.Slice(q.Match, func(i, j int) bool { return q.Match[i].Tag < q.Match[j].Tag })
	return q, nil
}

func single(name string, vs []string) (string, error) {
	if len(vs) != 1 {
		return "", fmt.Errorf("%w: %s given %d times", ErrQuery, name, len(vs))
	}
	return vs[0], nil
}

func containsTag(ts []tag.Tag, t tag.Tag) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// ParseAttribute reads an attribute ID of the top-level data set: a dictionary keyword or a tag
// as eight hexadecimal digits (PS3.18 8.3.4.1). Sequence paths (with dots) are refused.
func ParseAttribute(s string) (tag.Tag, error) {
	if strings.Contains(s, ".") {
		return 0, fmt.Errorf("attribute %q: sequence paths are not supported", s)
	}
	if len(s) == 8 {
		if n, err := strconv.ParseUint(s, 16, 32); err == nil {
			return tag.Tag(n), nil
		}
	}
	if info, ok := tag.ByKeyword(s); ok && info.Mask == 0 {
		return info.Tag, nil
	}
	return 0, fmt.Errorf("attribute %q is neither a keyword of the data dictionary nor a tag of eight hexadecimal digits", s)
}
