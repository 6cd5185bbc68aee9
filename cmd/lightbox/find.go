package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dimse"
)

func runFind(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "find", "[flags] AE@host:port [-k KEY=VALUE]...", `
Query a peer with C-FIND (PS3.4 C) and print the matches as a table, or with --json as a DICOM
JSON array (PS3.18 F.2).

The query asks at --level for the level's usual keys (e.g. at STUDY: StudyInstanceUID,
StudyDate, StudyTime, AccessionNumber, PatientID, PatientName, StudyDescription,
ModalitiesInStudy, NumberOfStudyRelatedSeries, NumberOfStudyRelatedInstances) plus the -k keys.
A key with a value matches on it (wildcards * and ?, ranges such as StudyDate=20240101-,
UID lists separated by backslashes); a key with an empty value is returned. Values beyond ASCII
are sent in UTF-8 (Specific Character Set ISO_IR 192).

  lightbox find ARCHIVE@pacs:104 -k PatientName='DOE*' -k StudyDate=20240101-
  lightbox find --level SERIES ARCHIVE@pacs:104 -k StudyInstanceUID=1.2.3 --json`)
	nf := addNetFlags(fs)
	qf := addQueryFlags(fs)
	asJSON := fs.Bool("json", false, "print the matches as a DICOM JSON array")
	p, rest, err := parseNetCommand(e, fs, nf, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "lightbox find: unexpected argument %q (query keys go with -k)\n", rest[0])
		return exitError{2}
	}
	level, err := qf.normLevel()
	if err != nil {
		return err
	}
	model, err := qf.sopClass(dimse.CFindRQ)
	if err != nil {
		return err
	}
	query, cols, err := buildQuery(level, defaultReturnKeys(level), qf.keys)
	if err != nil {
		return err
	}
	opts, err := nf.dialOptions(e, "find", p, dimse.Proposals(model))
	if err != nil {
		return err
	}
	c, err := dimse.Dial(ctx, p.Addr(), opts)
	if err != nil {
		return err
	}
	defer c.Close()

	var out matchWriter
	if *asJSON {
		out = &jsonMatches{w: dicomjson.NewArrayWriter(e.stdout, dicomjson.Options{})}
	} else {
		out = newTableMatches(e, cols)
	}
	n := 0
	for ds, err := range c.Find(ctx, model, query) {
		if err != nil {
			out.close()
			return err
		}
		n++
		if err := out.write(ds); err != nil {
			return err
		}
	}
	if err := out.close(); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(e.stderr, "%d %s\n", n, plural(n, "match", "matches"))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// matchWriter prints C-FIND matches.
type matchWriter interface {
	write(ds *dicom.Dataset) error
	close() error
}

type jsonMatches struct{ w *dicomjson.ArrayWriter }

func (j *jsonMatches) write(ds *dicom.Dataset) error { return j.w.Write(ds) }

func (j *jsonMatches) close() error {
	if err := j.w.Close(); err != nil {
		return err
	}
	return nil
}

// tableMatches prints one row per match under a header of keywords, columns aligned.
type tableMatches struct {
	tw     *tabwriter.Writer
	e      *env
	cols   []tag.Tag
	header bool
}

func newTableMatches(e *env, cols []tag.Tag) *tableMatches {
	return &tableMatches{tw: tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0), e: e, cols: cols}
}

func (t *tableMatches) write(ds *dicom.Dataset) error {
	if !t.header {
		t.header = true
		names := make([]string, len(t.cols))
		for i, c := range t.cols {
			names[i] = tag.Keyword(c)
			if names[i] == "" {
				names[i] = c.String()
			}
		}
		fmt.Fprintln(t.tw, strings.Join(names, "\t"))
	}
	vals := make([]string, len(t.cols))
	for i, c := range t.cols {
		vals[i] = cell(ds, c)
	}
	_, err := fmt.Fprintln(t.tw, strings.Join(vals, "\t"))
	return err
}

func (t *tableMatches) close() error { return t.tw.Flush() }

// cell renders one value for the table: multiple values joined by backslashes, tabs and line
// breaks flattened, sequences as their item count.
func cell(ds *dicom.Dataset, t tag.Tag) string {
	e := ds.Element(t)
	if e == nil {
		return "-"
	}
	if e.IsSequence() {
		return fmt.Sprintf("(%d items)", len(e.Items))
	}
	s := strings.Join(ds.Strings(t), `\`)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	return s
}
