// Command gen writes the UID registry of package uid (registry_gen.go) from registry.tsv, the
// UIDs that DICOM PS3.6 Table A-1 registers.
//
// Usage, from the directory of package uid (as `go generate` runs it):
//
//	go run ./internal/gen [-in internal/gen/registry.tsv] [-out registry_gen.go]
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

// run parses the flags in args, reads the registry and writes the Go source.
func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "internal/gen/registry.tsv", "UID registry to read")
	out := fs.String("out", "registry_gen.go", "Go file to write")
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

// entry is one row of the registry.
type entry struct {
	uid, keyword, name, typ string
	retired                 bool
}

// header is the line naming the columns.
const header = "uid\tkeyword\tname\ttype\tretired"

// reserved are identifiers of package uid that a keyword constant must not take.
var reserved = []string{"Info", "Lookup", "ByKeyword", "All", "Name", "Validate", "IsValid", "New",
	"Generator", "ErrInvalid", "MaxLength", "MaxRootLength", "UUIDRoot"}

// parse reads the registry: '#' comment lines, the header line, then one UID a line.
func parse(r io.Reader) ([]entry, error) {
	var out []entry
	uids := map[string]int{}
	names := map[string]int{}
	sawHeader := false
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !sawHeader {
			if line != header {
				return nil, fmt.Errorf("line %d: want the header %q", n, header)
			}
			sawHeader = true
			continue
		}
		e, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if prev, ok := uids[e.uid]; ok {
			return nil, fmt.Errorf("line %d: UID %s repeats line %d", n, e.uid, prev)
		}
		if prev, ok := names[constName(e.keyword)]; ok {
			return nil, fmt.Errorf("line %d: keyword %s repeats line %d", n, e.keyword, prev)
		}
		uids[e.uid], names[constName(e.keyword)] = n, n
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no entries")
	}
	slices.SortFunc(out, func(a, b entry) int { return compareUIDs(a.uid, b.uid) })
	return out, nil
}

// parseLine parses "uid<TAB>keyword<TAB>name<TAB>type<TAB>retired".
func parseLine(line string) (entry, error) {
	f := strings.Split(line, "\t")
	if len(f) != 5 {
		return entry{}, fmt.Errorf("%d fields, want 5", len(f))
	}
	e := entry{uid: f[0], keyword: f[1], name: f[2], typ: f[3]}
	if err := checkUID(e.uid); err != nil {
		return entry{}, err
	}
	if !isIdent(e.keyword) {
		return entry{}, fmt.Errorf("keyword %q is not a Go identifier", e.keyword)
	}
	if slices.Contains(reserved, constName(e.keyword)) {
		return entry{}, fmt.Errorf("keyword %q collides with an identifier of package uid", e.keyword)
	}
	if e.name == "" || e.typ == "" {
		return entry{}, fmt.Errorf("UID %s: empty name or type", e.uid)
	}
	switch f[4] {
	case "":
	case "RET":
		e.retired = true
	default:
		return entry{}, fmt.Errorf("UID %s: retired is %q, want RET or empty", e.uid, f[4])
	}
	return e, nil
}

// checkUID checks the syntax of PS3.5 9.1; package uid's Validate is not imported so that the
// generator builds even when the package does not.
func checkUID(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("UID %q: length %d not in 1..64", s, len(s))
	}
	for c := range strings.SplitSeq(s, ".") {
		if c == "" || len(c) > 1 && c[0] == '0' || strings.Trim(c, "0123456789") != "" {
			return fmt.Errorf("UID %q: bad component %q", s, c)
		}
	}
	return nil
}

// compareUIDs orders UIDs component by component, numerically.
func compareUIDs(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if c := cmp.Compare(len(as[i]), len(bs[i])); c != 0 {
			return c
		}
		if c := cmp.Compare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

// isIdent reports whether s is made of ASCII letters, digits and underscores and starts with a
// letter.
func isIdent(s string) bool {
	if s == "" || !(s[0] >= 'A' && s[0] <= 'Z' || s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// constName is the name of the constant for keyword: the keyword with its first letter in upper
// case, so that it is exported (dicomDeviceName becomes DicomDeviceName).
func constName(keyword string) string {
	return strings.ToUpper(keyword[:1]) + keyword[1:]
}

func generate(entries []entry) ([]byte, error) {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("// Code generated by go generate; DO NOT EDIT.\n")
	p("// Source: internal/gen/registry.tsv, DICOM PS3.6 Table A-1.\n\n")
	p("package uid\n\n")

	p("// The UIDs of DICOM PS3.6 Table A-1, named by their keywords.\n")
	p("const (\n")
	for _, e := range entries {
		note := ""
		if e.retired {
			note = ", retired"
		}
		if constName(e.keyword) != e.keyword {
			note += ", keyword " + e.keyword
		}
		p("// %s is %s (%s%s).\n", constName(e.keyword), strconv.Quote(e.name), e.typ, note)
		p("%s = %q\n", constName(e.keyword), e.uid)
	}
	p(")\n\n")

	p("// entries is the registry in UID order.\n")
	p("var entries = [...]Info{\n")
	for _, e := range entries {
		p("{UID: %s, Keyword: %q, Name: %q, Type: %q", constName(e.keyword), e.keyword, e.name, e.typ)
		if e.retired {
			p(", Retired: true")
		}
		p("},\n")
	}
	p("}\n\n")

	p("// byUID indexes entries by UID.\n")
	p("var byUID = map[string]int{\n")
	for i, e := range entries {
		p("%s: %d,\n", constName(e.keyword), i)
	}
	p("}\n\n")

	p("// byKeyword indexes entries by keyword.\n")
	p("var byKeyword = map[string]int{\n")
	for i, e := range entries {
		p("%q: %d,\n", e.keyword, i)
	}
	p("}\n")

	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting generated source: %w", err)
	}
	return src, nil
}
