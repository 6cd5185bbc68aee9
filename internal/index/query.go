package index

import (
	"fmt"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Query is a C-FIND or QIDO-RS query.
type Query struct {
	Level Level
	// Keys are the matching keys. Keys with an empty Value match everything (universal
	// matching) and only ask for the attribute to be returned.
	Keys []Key
	// CaseInsensitivePN matches Person Names ignoring case (PS3.4 C.2.2.2.1 allows it).
	CaseInsensitivePN bool
	// FuzzyPN matches a name component that starts with the value, ignoring case (QIDO-RS
	// fuzzymatching=true, PS3.18 8.3.4.6).
	FuzzyPN bool
	// Limit and Offset page the results (0: no limit).
	Limit, Offset int
	// OrderBy sorts the results; by default by the level's natural order (dates then UIDs for
	// studies, series number for series, instance number for instances).
	OrderBy []Order
	// Return, when not nil, lists the attributes the caller reads from the matches:
	// implementations may leave the others out of Match.Attrs. The Study, Series and SOP
	// Instance UIDs of the matched levels are always there.
	Return []tag.Tag
}

// Key is one matching key.
type Key struct {
	Tag tag.Tag
	VR  vr.VR
	// Value is the key's value decoded to UTF-8, as in the query: it may hold wildcards (* ?),
	// a range (a-b, a-, -b) for dates and times, or a backslash-separated list of UIDs or
	// values.
	Value string
}

// Order sorts by an attribute.
type Order struct {
	Tag  tag.Tag
	Desc bool
}

// Kind is the kind of matching a key asks for (PS3.4 C.2.2.2).
type Kind int

// Matching kinds.
const (
	Universal Kind = iota
	Single
	Wildcard
	Range
	List
)

// KindOf classifies k.
func KindOf(k Key) Kind {
	v := k.Value
	switch {
	case v == "" || v == "*":
		return Universal
	case k.VR == vr.UI || strings.Contains(v, `\`):
		if strings.Contains(v, `\`) {
			return List
		}
		return Single
	case (k.VR == vr.DA || k.VR == vr.TM || k.VR == vr.DT) && strings.Contains(v, "-") &&
		!(k.VR == vr.DT && strings.LastIndexAny(v, "+-") > 8 && strings.Count(v, "-") == 1 && !strings.HasPrefix(v, "-")):
		return Range
	case strings.ContainsAny(v, "*?") && wildcardVR(k.VR):
		return Wildcard
	}
	return Single
}

func wildcardVR(v vr.VR) bool {
	switch v {
	case vr.AE, vr.CS, vr.LO, vr.LT, vr.PN, vr.SH, vr.ST, vr.UC, vr.UR, vr.UT, vr.AS:
		return true
	}
	return false
}

// Validate checks the keys: level keys must exist, wildcards only where PS3.4 allows them.
func (q *Query) Validate() error {
	for _, k := range q.Keys {
		if strings.ContainsAny(k.Value, "*?") && !wildcardVR(k.VR) && k.Value != "*" {
			return fmt.Errorf("%w: wildcard in %s (VR %s)", ErrInvalidQuery, tag.Keyword(k.Tag), k.VR)
		}
		if KindOf(k) == Range {
			lo, hi, _ := strings.Cut(k.Value, "-")
			if lo == "" && hi == "" {
				return fmt.Errorf("%w: empty range in %s", ErrInvalidQuery, tag.Keyword(k.Tag))
			}
		}
	}
	return nil
}

// FromDataset builds a query from a C-FIND identifier: every element except Query/Retrieve Level
// and Specific Character Set is a key. Strings are decoded through the identifier's character
// set. Sequence keys are kept with an empty value (returned, not matched).
func FromDataset(ds *dicom.Dataset, level Level) *Query {
	q := &Query{Level: level}
	for i := range ds.Elements {
		e := &ds.Elements[i]
		switch {
		case e.Tag == tag.QueryRetrieveLevel, e.Tag == tag.SpecificCharacterSet, e.Tag.IsGroupLength():
			continue
		case e.Items != nil:
			q.Keys = append(q.Keys, Key{Tag: e.Tag, VR: vr.SQ})
			continue
		}
		v := e.ValueVR()
		val := ""
		if v.IsString() {
			val = strings.Join(ds.ElementStrings(e), `\`)
		} else {
			val = ds.ElementString(e)
		}
		q.Keys = append(q.Keys, Key{Tag: e.Tag, VR: v, Value: val})
	}
	return q
}

// Key returns the key for t, if the query has one.
func (q *Query) Key(t tag.Tag) (Key, bool) {
	for _, k := range q.Keys {
		if k.Tag == t {
			return k, true
		}
	}
	return Key{}, false
}

// MatchValue reports whether a stored value (UTF-8; multi-valued attributes backslash-separated)
// matches k under PS3.4 C.2.2.2. It is the reference the implementations' SQL must agree with,
// and the matcher for keys the index does not keep as columns.
func MatchValue(k Key, stored string, caseInsensitivePN, fuzzyPN bool) bool {
	switch KindOf(k) {
	case Universal:
		return true
	case List:
		for _, want := range strings.Split(k.Value, `\`) {
			if MatchValue(Key{Tag: k.Tag, VR: k.VR, Value: want}, stored, caseInsensitivePN, fuzzyPN) {
				return true
			}
		}
		return false
	case Range:
		lo, hi, _ := strings.Cut(k.Value, "-")
		if stored == "" {
			return false
		}
		return (lo == "" || compareDT(stored, lo, k.VR) >= 0) && (hi == "" || compareDT(stored, hi, k.VR) <= 0)
	}
	values := []string{stored}
	if MultiValued(k.Tag, k.VR) {
		values = strings.Split(stored, `\`)
	}
	want := k.Value
	ci := k.VR == vr.PN && (caseInsensitivePN || fuzzyPN)
	for _, v := range values {
		if ci {
			v, want = strings.ToUpper(v), strings.ToUpper(k.Value)
		}
		if k.VR == vr.PN && fuzzyPN && fuzzyName(want, v) {
			return true
		}
		if KindOf(k) == Wildcard {
			if wildcardMatch(want, v) {
				return true
			}
			continue
		}
		if v == want {
			return true
		}
	}
	return false
}

// fuzzyName reports whether each component of want starts a component of the stored name.
func fuzzyName(want, stored string) bool {
	parts := strings.FieldsFunc(stored, func(r rune) bool { return r == '^' || r == ' ' || r == '=' })
	for _, w := range strings.FieldsFunc(strings.TrimRight(want, "*"), func(r rune) bool { return r == '^' || r == ' ' }) {
		found := false
		for _, p := range parts {
			if strings.HasPrefix(p, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// MultiValued reports whether a stored value of t is matched value by value (PS3.4 C.2.2.2: a
// multi-valued attribute matches when any of its values does): the VR separates values with
// backslashes and the data dictionary allows more than one value. Attributes of value
// multiplicity 1 are matched whole, so that implementations can match them on an indexed column.
// Tags the dictionary does not know follow their VR.
func MultiValued(t tag.Tag, v vr.VR) bool {
	if !v.MultiValued() {
		return false
	}
	if info, ok := tag.Lookup(t); ok && info.VM != "" {
		return info.VM != "1"
	}
	return true
}

// wildcardMatch reports whether s matches pattern, where * matches any sequence of characters
// (including none) and ? exactly one character; every other character matches itself
// (PS3.4 C.2.2.2.4).
func wildcardMatch(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	// Iterative matching with backtracking to the last star.
	pi, vi, star, mark := 0, 0, -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// compareDT compares a stored date/time with a range bound of possibly lower precision: the
// bound is compared with the same-length prefix of the stored value (PS3.4 C.2.2.2.5).
func compareDT(stored, bound string, v vr.VR) int {
	if v == vr.TM {
		stored = strings.ReplaceAll(stored, ":", "")
		bound = strings.ReplaceAll(bound, ":", "")
	}
	if len(stored) > len(bound) {
		s := stored[:len(bound)]
		if s == bound {
			return 0
		}
		return strings.Compare(s, bound)
	}
	return strings.Compare(stored, bound)
}
