package charset

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors that the package's errors wrap; test with errors.Is.
var (
	// ErrUnknownTerm: a value of (0008,0005) is not a Defined Term.
	ErrUnknownTerm = errors.New("unknown Specific Character Set term")
	// ErrInvalidTerms: known terms combined in a way PS3.3 C.12.1.1.2 forbids.
	ErrInvalidTerms = errors.New("invalid Specific Character Set")
	// ErrDecode: a value is not valid in its character set.
	ErrDecode = errors.New("value not valid in its character set")
	// ErrEncode: a string holds a character its character set cannot represent.
	ErrEncode = errors.New("character not representable in the character set")
)

// TermError reports a problem with one value of Specific Character Set.
type TermError struct {
	Index  int    // 0-based index of the value
	Term   string // the value as given
	Reason string
	Err    error // ErrUnknownTerm or ErrInvalidTerms
}

func (e *TermError) Error() string {
	return fmt.Sprintf("charset: Specific Character Set value %d %q: %s", e.Index+1, e.Term, e.Reason)
}

func (e *TermError) Unwrap() error { return e.Err }

// DecodeError reports the first problem found while decoding a value.
type DecodeError struct {
	Set    string // the set, as String returns it
	Offset int    // byte offset of the problem in the value
	Reason string
	Err    error // underlying error, if any
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("charset: decoding in %s: byte offset %d: %s", describe(e.Set), e.Offset, e.Reason)
}

func (e *DecodeError) Unwrap() []error { return wrapped(ErrDecode, e.Err) }

// EncodeError reports the first character a set cannot encode.
type EncodeError struct {
	Set    string // the set, as String returns it
	Rune   rune   // utf8.RuneError for invalid UTF-8
	Offset int    // byte offset of the character in the string
	Reason string // empty when the character is simply not in the repertoire
	Err    error  // underlying error, if any
}

func (e *EncodeError) Error() string {
	what := fmt.Sprintf("%q (U+%04X)", e.Rune, e.Rune)
	reason := e.Reason
	if reason == "" {
		reason = "not in the character repertoire"
	}
	return fmt.Sprintf("charset: cannot encode %s at offset %d in %s: %s", what, e.Offset, describe(e.Set), reason)
}

// describe names a set in messages.
func describe(name string) string {
	if name == "" {
		return "the default repertoire ISO-IR 6"
	}
	return "`" + name + "`"
}

func (e *EncodeError) Unwrap() []error { return wrapped(ErrEncode, e.Err) }

func wrapped(sentinel, err error) []error {
	if err == nil {
		return []error{sentinel}
	}
	return []error{sentinel, err}
}

// Kind says which delimiters end a code extension (PS3.5 6.1.2.5.3): after
// each of them the G0 and G1 designations return to those of value 1 of
// Specific Character Set (the default repertoire when value 1 is empty).
type Kind uint8

const (
	// Text is for the multi-valued string VRs SH, LO and UC: control
	// characters (CR, LF, FF, TAB ...) and the value delimiter "\" reset
	// the designations.
	Text Kind = iota
	// LongText is for the single-valued VRs ST, LT and UT: only control
	// characters reset the designations; "\" is an ordinary character.
	LongText
	// PN is for person names: control characters, "\" and the component
	// delimiters "^" and "=" reset the designations.
	PN
)

// KindForVR returns the Kind for a two-letter Value Representation: PN for
// "PN", LongText for "ST", "LT" and "UT", and Text otherwise.
func KindForVR(vr string) Kind {
	switch vr {
	case "PN":
		return PN
	case "ST", "LT", "UT":
		return LongText
	}
	return Text
}

// delimiter reports whether the graphic character c resets the designations.
func (k Kind) delimiter(c byte) bool {
	switch c {
	case '\\':
		return k != LongText
	case '^', '=':
		return k == PN
	}
	return false
}

func (k Kind) String() string {
	switch k {
	case Text:
		return "Text"
	case LongText:
		return "LongText"
	case PN:
		return "PN"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Set is a character set named by the values of Specific Character Set
// (0008,0005). It is immutable and safe for concurrent use.
type Set struct {
	terms    []string // canonical values; nil for the default repertoire
	name     string   // terms joined with "\"
	kind     setKind
	ext      bool     // code extensions (escape sequences) permitted
	g0, g1   elemID   // designations at the start of a value and after each delimiter
	order    []elemID // elements tried when encoding, in term order
	allowed  uint32   // bit i: escape sequences may designate element i
	fallback elemID   // G1 element used to read upper-half bytes when none is designated
}

// Default returns the default repertoire ISO-IR 6, the set of a Data Set
// without Specific Character Set.
func Default() *Set {
	s, _ := build(nil)
	return s
}

// New returns the Set named by the values of Specific Character Set
// (0008,0005), already split on "\". Surrounding spaces are ignored. No
// values, or a single empty value, name the default repertoire. Value 1 may
// be empty when further values follow (for example `\ISO 2022 IR 87`); it
// then stands for ISO 2022 IR 6.
//
// New accepts exactly the Defined Terms of PS3.3 C.12.1.1.2 (plus ISO_IR 6
// for the default repertoire). An unknown term yields a *TermError wrapping
// ErrUnknownTerm that names it; a forbidden combination (ISO_IR 192, GB18030
// or GBK with other values, a term without code extensions among several
// values, a two-byte G0 set as value 1, an empty value after value 1) yields
// a *TermError wrapping ErrInvalidTerms. [Lenient] repairs both.
func New(values []string) (*Set, error) {
	canon := make([]string, len(values))
	for i, v := range values {
		t := strings.TrimSpace(v)
		if _, ok := terms[t]; !ok && t != "" {
			reason := "not a Defined Term of PS3.3 C.12.1.1.2"
			if c := canonicalTerm(t); c != "" {
				reason += fmt.Sprintf(" (did you mean %q?)", c)
			}
			return nil, &TermError{Index: i, Term: v, Reason: reason, Err: ErrUnknownTerm}
		}
		canon[i] = t
	}
	return build(canon)
}

// Parse is New applied to the raw value of Specific Character Set, split on
// "\" and stripped of trailing padding.
func Parse(value string) (*Set, error) {
	value = strings.TrimRight(value, " \x00")
	if value == "" {
		return New(nil)
	}
	return New(strings.Split(value, `\`))
}

// build makes a Set from canonical terms (value 1 may be ""), checking
// their combination.
func build(canon []string) (*Set, error) {
	if len(canon) == 1 && canon[0] == "" {
		canon = nil
	}
	s := &Set{terms: slices.Clone(canon), name: strings.Join(canon, `\`), g0: elemASCII}
	if len(canon) == 0 {
		s.order = []elemID{elemASCII}
		s.allowed = 1 << elemASCII
		return s, nil
	}
	bad := func(i int, reason string) (*Set, error) {
		return nil, &TermError{Index: i, Term: canon[i], Reason: reason, Err: ErrInvalidTerms}
	}
	first := terms[canon[0]] // zero termInfo (ASCII G0 via s.g0) for ""
	if canon[0] == "" {
		first = termInfo{ext: true, g0: elemASCII}
	}
	if first.kind != kindISO2022 {
		if len(canon) > 1 {
			return bad(1, fmt.Sprintf("%s does not permit code extensions (PS3.5 6.1.2.4), so it must be the only value", canon[0]))
		}
		s.kind = first.kind
		return s, nil
	}
	switch first.g0 {
	case elemJIS0208, elemJIS0212:
		return bad(0, "a two-byte G0 set cannot be value 1: the delimiters need ISO-IR 6 in G0; leave value 1 empty")
	case elemNone: // ISO 2022 IR 149 or 58 as value 1: ASCII stays in G0
	default:
		s.g0 = first.g0
	}
	s.g1 = first.g1
	s.ext = first.ext
	s.allowed = 1 << elemASCII
	add := func(id elemID) {
		if id != elemNone && !slices.Contains(s.order, id) {
			s.order = append(s.order, id)
			s.allowed |= 1 << id
		}
		if elements[id].g1 && s.fallback == elemNone {
			s.fallback = id
		}
	}
	add(s.g0)
	add(first.g1)
	for i, t := range canon[1:] {
		i++
		info, ok := terms[t]
		switch {
		case t == "":
			return bad(i, "only value 1 may be empty")
		case !ok:
			return bad(i, "not a Defined Term")
		case info.kind != kindISO2022:
			return bad(i, fmt.Sprintf("%s cannot be used as a code extension (PS3.5 6.1.2.4)", t))
		case !info.ext:
			return bad(i, fmt.Sprintf("with several values every term must permit code extensions; use %q", extended(t)))
		case !first.ext:
			return bad(0, fmt.Sprintf("with several values every term must permit code extensions; use %q", extended(canon[0])))
		}
		add(info.g0)
		add(info.g1)
	}
	return s, nil
}

// A Fix records one repair that Lenient made.
type Fix struct {
	Index   int    // 0-based index of the value as given
	Term    string // the value as given
	Used    string // the Defined Term used instead (meaningless when Dropped)
	Dropped bool   // the value was ignored
	Reason  string
}

func (f Fix) String() string {
	if f.Dropped {
		return fmt.Sprintf("value %d %q ignored: %s", f.Index+1, f.Term, f.Reason)
	}
	return fmt.Sprintf("value %d %q read as %q: %s", f.Index+1, f.Term, f.Used, f.Reason)
}

// Lenient returns a Set for the values of Specific Character Set whatever
// they hold, and the repairs it made to get there:
//
//   - case, spacing and punctuation errors ("ISO-IR 100", "ISO_IR100",
//     "iso_ir 100", "ISO IR 100", "ISO 2022 IR100") map to the Defined Term;
//   - common aliases map too: "UTF-8" to ISO_IR 192, "ISO-8859-n" and
//     "LATINn" to the matching ISO_IR term, "GB2312" and "EUC-CN" to
//     ISO 2022 IR 58, "EUC-KR" to ISO 2022 IR 149, "ISO 2022 GBK" to GBK;
//   - an unknown value 1 is read as ISO_IR 100 (ISO 8859-1, a superset of
//     the default repertoire); an unknown later value is dropped;
//   - ISO_IR 192, GB18030 or GBK as value 1 drops the other values, and
//     after value 1 is dropped;
//   - among several values, ISO_IR n is read as ISO 2022 IR n;
//   - a two-byte G0 set as value 1 (ISO 2022 IR 87 or 159) gets an empty
//     value 1 inserted before it;
//   - empty values after value 1 are dropped.
//
// A single "ISO 2022 IR n" is a Defined Term and needs no repair: it reads
// exactly like "ISO_IR n".
func Lenient(values []string) (*Set, []Fix) {
	var fixes []Fix
	type term struct {
		index int
		t     string
	}
	var ts []term
	for i, v := range values {
		t := strings.Trim(v, " \x00")
		if t == "" {
			if i == 0 {
				ts = append(ts, term{i, ""})
			} else {
				fixes = append(fixes, Fix{Index: i, Term: v, Dropped: true, Reason: "only value 1 may be empty"})
			}
			continue
		}
		if _, ok := terms[t]; ok {
			ts = append(ts, term{i, t})
			continue
		}
		c := canonicalTerm(t)
		switch {
		case c != "":
			fixes = append(fixes, Fix{Index: i, Term: v, Used: c, Reason: "misspelled Defined Term"})
			ts = append(ts, term{i, c})
		case i == 0:
			fixes = append(fixes, Fix{Index: i, Term: v, Used: "ISO_IR 100", Reason: "unknown term; reading as ISO 8859-1"})
			ts = append(ts, term{i, "ISO_IR 100"})
		default:
			fixes = append(fixes, Fix{Index: i, Term: v, Dropped: true, Reason: "unknown term"})
		}
	}
	if len(ts) == 1 && ts[0].t == "" {
		ts = nil
	}
	// Stand-alone sets: value 1 wins; elsewhere they are dropped.
	if len(ts) > 0 && terms[ts[0].t].kind != kindISO2022 && ts[0].t != "" {
		for _, x := range ts[1:] {
			fixes = append(fixes, Fix{Index: x.index, Term: values[x.index], Dropped: true,
				Reason: ts[0].t + " does not permit code extensions"})
		}
		ts = ts[:1]
	}
	kept := ts[:0]
	for j, x := range ts {
		if j > 0 && terms[x.t].kind != kindISO2022 {
			fixes = append(fixes, Fix{Index: x.index, Term: values[x.index], Dropped: true,
				Reason: x.t + " cannot be used as a code extension"})
			continue
		}
		kept = append(kept, x)
	}
	ts = kept
	if len(ts) > 0 {
		if g0 := terms[ts[0].t].g0; g0 == elemJIS0208 || g0 == elemJIS0212 {
			fixes = append(fixes, Fix{Index: ts[0].index, Term: values[ts[0].index], Used: ts[0].t,
				Reason: "a two-byte G0 set cannot be value 1; inserted an empty value 1 before it"})
			ts = append([]term{{ts[0].index, ""}}, ts...)
		}
	}
	if len(ts) > 1 {
		for j := range ts {
			if e := extended(ts[j].t); e != "" {
				fixes = append(fixes, Fix{Index: ts[j].index, Term: values[ts[j].index], Used: e,
					Reason: "several values need terms that permit code extensions"})
				ts[j].t = e
			}
		}
	}
	canon := make([]string, len(ts))
	for j, x := range ts {
		canon[j] = x.t
	}
	s, err := build(canon)
	if err != nil {
		// Unreachable: the repairs above leave only valid combinations.
		s = Default()
		fixes = append(fixes, Fix{Index: 0, Used: "", Reason: fmt.Sprintf("using the default repertoire: %v", err)})
	}
	return s, fixes
}

// Terms returns the values of Specific Character Set that name the set, in
// canonical spelling: what to write back to (0008,0005). It returns nil for
// the default repertoire.
func (s *Set) Terms() []string { return slices.Clone(s.terms) }

// String returns the terms joined with "\", as (0008,0005) holds them.
func (s *Set) String() string { return s.name }

// IsDefault reports whether the set is the default repertoire ISO-IR 6 alone.
func (s *Set) IsDefault() bool {
	return s.kind == kindISO2022 && s.g0 == elemASCII && s.g1 == elemNone && len(s.order) == 1
}

// IsUTF8 reports whether the set is ISO_IR 192, in which values are UTF-8.
func (s *Set) IsUTF8() bool { return s.kind == kindUTF8 }

// Extensions reports whether the set permits ISO/IEC 2022 code extensions
// (escape sequences), that is whether any of its terms is "ISO 2022 ...".
func (s *Set) Extensions() bool { return s.ext }
