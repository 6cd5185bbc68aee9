// Command gen writes the data dictionary of package tag (dict_gen.go) from dicom.dic, DCMTK's
// plain-text copy of the registry of DICOM data elements (PS3.6 sections 6 to 8) and command
// elements (PS3.7 Annex E), including the non-private DICONDE and DICOS elements. DCMTK's licence
// is in DCMTK-COPYRIGHT beside it.
//
// Usage, from the directory of package tag (as `go generate` runs it):
//
//	go run ./internal/gen [-in internal/gen/dicom.dic] [-out dict_gen.go]
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// run parses the flags in args, reads the dictionary and writes the Go source.
func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "internal/gen/dicom.dic", "DCMTK data dictionary to read")
	out := fs.String("out", "dict_gen.go", "Go file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	src, err := generate(entries)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, src, 0o644)
}

// entry is one line of the dictionary.
type entry struct {
	tag, mask uint32
	vr, altVR string
	vm        string
	keyword   string
	retired   bool
}

// pseudoVRs maps DCMTK's lower-case pseudo VRs, which stand for a choice the standard leaves to
// the encoder, onto the VR used when nothing else decides it (first) and the alternative.
var pseudoVRs = map[string][2]string{
	"xs": {"US", "SS"}, // "US or SS": pixel values and LUT descriptors follow Pixel Representation.
	"ox": {"OB", "OW"}, // "OB or OW": overlay, curve, waveform and DICONDE count data.
	// Pixel Data (7FE0,0010) is "OB or OW": OW is its VR in Implicit VR Little Endian and for
	// native pixels of more than 8 bits; OB is used for encapsulated and 8-bit pixels.
	"px": {"OW", "OB"},
	"lt": {"US", "OW"}, // LUT data: "US or OW" or "US or SS or OW"; SS is never chosen alone.
	"up": {"UL", ""},   // Unsigned 32-bit offsets in the DICOMDIR (PS3.10): UL on the wire.
	"na": {"", ""},     // Items and delimiters have no VR.
}

// overrides corrects DCMTK pseudo VRs where PS3.6 gives a different pair: the waveform channel
// limits and padding value are "OB or SS" (DCMTK writes ox).
var overrides = map[uint32][2]string{
	0x54000110: {"OB", "SS"}, // ChannelMinimumValue
	0x54000112: {"OB", "SS"}, // ChannelMaximumValue
	0x5400100A: {"OB", "SS"}, // WaveformPaddingValue
}

// standardVRs are the VRs of PS3.5 Table 6.2-1.
var standardVRs = []string{"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO",
	"LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM",
	"UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"}

// reserved are identifiers of package tag that a keyword constant must not take.
var reserved = []string{"Tag", "Info", "New", "Lookup", "ByKeyword", "Parse", "Keyword"}

// parse reads the dictionary. Lines whose version is PRIVATE, ILLEGAL or GENERIC describe whole
// classes of tags (private creators, group lengths) that package tag handles in code; they are
// skipped.
func parse(r io.Reader) ([]entry, error) {
	var out []entry
	tags := map[uint32]int{}
	keywords := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, skip, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if skip {
			continue
		}
		if prev, ok := tags[e.tag]; ok {
			return nil, fmt.Errorf("line %d: tag %08X repeats line %d", n, e.tag, prev)
		}
		if prev, ok := keywords[constName(e.keyword)]; ok {
			return nil, fmt.Errorf("line %d: keyword %s repeats line %d", n, e.keyword, prev)
		}
		tags[e.tag], keywords[constName(e.keyword)] = n, n
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no entries")
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(a.tag, b.tag) })
	return out, nil
}

// parseLine parses "Tag<TAB>VR<TAB>Keyword<TAB>VM<TAB>Version".
func parseLine(line string) (e entry, skip bool, err error) {
	f := strings.Split(line, "\t")
	if len(f) != 5 {
		return e, false, fmt.Errorf("%d fields, want 5", len(f))
	}
	switch f[4] {
	case "PRIVATE", "ILLEGAL", "GENERIC":
		return e, true, nil
	}
	if !strings.HasPrefix(f[4], "DICOM") {
		return e, false, fmt.Errorf("unknown version %q", f[4])
	}
	e.retired = strings.Contains(f[4], "retired")
	if e.tag, e.mask, err = parseTag(f[0]); err != nil {
		return e, false, err
	}
	if e.vr, e.altVR, err = mapVR(f[1], e.tag); err != nil {
		return e, false, err
	}
	e.vm = f[3]
	if e.vm == "" {
		return e, false, errors.New("empty VM")
	}
	// DCMTK marks retired keywords with a prefix that the standard's keywords do not have.
	e.keyword = strings.TrimPrefix(f[2], "RETIRED_")
	if !isIdent(e.keyword) {
		return e, false, fmt.Errorf("keyword %q is not a Go identifier", f[2])
	}
	if slices.Contains(reserved, constName(e.keyword)) {
		return e, false, fmt.Errorf("keyword %q collides with an identifier of package tag", e.keyword)
	}
	return e, false, nil
}

// isIdent reports whether s is made of ASCII letters and digits and starts with a letter.
func isIdent(s string) bool {
	if s == "" || !(s[0] >= 'A' && s[0] <= 'Z' || s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// constName is the name of the constant for keyword: the keyword with its first letter in upper
// case, so that it is exported (dBdt becomes DBdt).
func constName(keyword string) string {
	return strings.ToUpper(keyword[:1]) + keyword[1:]
}

// mapVR maps a dictionary VR onto the VR and the alternative VR of the generated entry.
func mapVR(s string, tag uint32) (v, alt string, err error) {
	if p, ok := overrides[tag]; ok {
		return p[0], p[1], nil
	}
	if p, ok := pseudoVRs[s]; ok {
		return p[0], p[1], nil
	}
	if slices.Contains(standardVRs, s) {
		return s, "", nil
	}
	return "", "", fmt.Errorf("unknown VR %q", s)
}

// parseTag parses "(gggg,eeee)" where either half may be a range "lo-hi" (even numbers only),
// "lo-o-hi" (odd numbers only) or "lo-u-hi" (all numbers). It returns the base tag and the mask
// of the bits that vary: a tag t is in the range when t&^mask == tag. For even or odd ranges
// the lowest bit is fixed, so it stays out of the mask and the base carries the parity.
func parseTag(s string) (tag, mask uint32, err error) {
	inner, ok := strings.CutPrefix(s, "(")
	if ok {
		inner, ok = strings.CutSuffix(inner, ")")
	}
	g, el, ok2 := strings.Cut(inner, ",")
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("tag %q: want (gggg,eeee)", s)
	}
	gb, gm, err := parseRange(g)
	if err != nil {
		return 0, 0, fmt.Errorf("tag %q: group: %w", s, err)
	}
	eb, em, err := parseRange(el)
	if err != nil {
		return 0, 0, fmt.Errorf("tag %q: element: %w", s, err)
	}
	return gb<<16 | eb, gm<<16 | em, nil
}

func parseRange(s string) (base, mask uint32, err error) {
	parts := strings.Split(s, "-")
	var lo, hi, parity string // parity: "e" even, "o" odd, "u" unrestricted
	switch len(parts) {
	case 1:
		n, err := parseHex16(parts[0])
		return n, 0, err
	case 2:
		lo, hi, parity = parts[0], parts[1], "e"
	case 3:
		lo, parity, hi = parts[0], parts[1], parts[2]
		if parity != "o" && parity != "u" {
			return 0, 0, fmt.Errorf("range %q: restriction %q is neither o nor u", s, parity)
		}
	default:
		return 0, 0, fmt.Errorf("range %q: malformed", s)
	}
	l, err := parseHex16(lo)
	if err != nil {
		return 0, 0, err
	}
	h, err := parseHex16(hi)
	if err != nil {
		return 0, 0, err
	}
	if parity != "u" {
		// The lowest bit is fixed by the parity, so only the others have to span the block.
		l, h = l&^1, h|1
	}
	// Only ranges that a mask can express are supported: the low bits run through every value.
	v := l ^ h
	if l > h || l&v != 0 || v&(v+1) != 0 {
		return 0, 0, fmt.Errorf("range %q is not a block of 2^n aligned numbers", s)
	}
	switch parity {
	case "e":
		return l &^ 1, v &^ 1, nil
	case "o":
		return l | 1, v &^ 1, nil
	}
	return l, v, nil
}

func parseHex16(s string) (uint32, error) {
	if len(s) != 4 {
		return 0, fmt.Errorf("%q: want 4 hexadecimal digits", s)
	}
	n, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	return uint32(n), nil
}

// pattern writes t in the standard's notation, with x for each hexadecimal digit that varies.
func pattern(t, mask uint32) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteByte('(')
	for i := 7; i >= 0; i-- {
		if i == 3 {
			b.WriteByte(',')
		}
		shift := uint(4 * i)
		if (mask>>shift)&0xF >= 0xE {
			b.WriteByte('x')
		} else {
			b.WriteByte(hex[(t>>shift)&0xF])
		}
	}
	b.WriteByte(')')
	return b.String()
}

func generate(entries []entry) ([]byte, error) {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("// Code generated by go generate; DO NOT EDIT.\n")
	p("// Source: internal/gen/dicom.dic, DCMTK's copy of the DICOM PS3.6 and PS3.7 registries.\n\n")
	p("package tag\n\n")
	p("import \"github.com/lightbox-pacs/lightbox/dicom/vr\"\n\n")

	p("// entries is the data dictionary in ascending order of (base) tag.\n")
	p("var entries = []Info{\n")
	for _, e := range entries {
		p("{Tag: 0x%08X", e.tag)
		if e.vr != "" {
			p(", VR: vr.%s", e.vr)
		}
		if e.altVR != "" {
			p(", AltVR: vr.%s", e.altVR)
		}
		p(", VM: %q, Keyword: %q", e.vm, e.keyword)
		if e.retired {
			p(", Retired: true")
		}
		if e.mask != 0 {
			p(", Mask: 0x%08X", e.mask)
		}
		p("},\n")
	}
	p("}\n\n")

	p("// byTag indexes entries by tag, and repeating entries by the first tag of their range.\n")
	p("var byTag = map[Tag]int{\n")
	for i, e := range entries {
		p("0x%08X: %d,\n", e.tag, i)
	}
	p("}\n\n")

	p("// byKeyword indexes entries by keyword.\n")
	p("var byKeyword = map[string]int{\n")
	for i, e := range entries {
		p("%q: %d,\n", e.keyword, i)
	}
	p("}\n\n")

	var masks []uint32
	for _, e := range entries {
		if e.mask != 0 && !slices.Contains(masks, e.mask) {
			masks = append(masks, e.mask)
		}
	}
	slices.Sort(masks)
	p("// masks lists the distinct masks of the repeating entries.\n")
	p("var masks = []Tag{")
	for _, m := range masks {
		p("0x%08X, ", m)
	}
	p("}\n\n")

	p("// The tags of the dictionary, named by their keywords. A repeating entry's constant is the\n")
	p("// first tag of its range.\n")
	p("const (\n")
	for _, e := range entries {
		vrs := e.vr
		switch {
		case vrs == "":
			vrs = "no VR"
		case e.altVR != "":
			vrs = "VR " + e.vr + " or " + e.altVR
		default:
			vrs = "VR " + vrs
		}
		note := ""
		if e.mask != 0 {
			note = ", repeating"
		}
		if e.retired {
			note += ", retired"
		}
		name := constName(e.keyword)
		if name != e.keyword {
			note += ", keyword " + e.keyword
		}
		p("// %s is %s, %s, VM %s%s.\n", name, pattern(e.tag, e.mask), vrs, e.vm, note)
		p("%s Tag = 0x%08X\n", name, e.tag)
	}
	p(")\n")

	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated source: %w", err)
	}
	return src, nil
}
