package sqlite

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// This file translates an index.Query into one SQL statement. It depends on SQLite only through
// the dialect, so that a PostgreSQL index can reuse it.
//
// Each key becomes a condition that agrees with index.MatchValue (the reference):
//
//   - Single: col = ?; PN keys with CaseInsensitivePN or FuzzyPN compare the upper-cased
//     copy of the column (upper-cased in Go, Unicode-aware, for both the stored value and the
//     key: SQL upper() is ASCII-only in SQLite).
//   - Wildcard: a case-sensitive pattern match. SQLite's LIKE ignores ASCII case, so the SQLite
//     dialect uses GLOB, with * and ? kept and the literal characters * ? [ quoted as [*] [?]
//     [[]; the PostgreSQL dialect uses LIKE … ESCAPE '\' (LIKE is case-sensitive there), with
//     * ? translated to % _ and literal % _ \ escaped. A pattern of stars only matches
//     everything, empty values included, and adds no condition.
//   - Range on DA, DT: col <> '' AND col >= lo AND col <= hi||U+10FFFF. MatchValue compares a
//     bound with the same-length prefix of the stored value; for the lower bound that is plain
//     lexical order, for the upper bound the suffix U+10FFFF (above every character of these
//     VRs) makes a longer value whose prefix equals the bound compare lower. TM compares with
//     colons removed on both sides. Comparisons are bytewise (SQLite BINARY; PostgreSQL must use
//     COLLATE "C").
//   - List: col IN (…) for single values, else the OR of the items' conditions.
//   - FuzzyPN: every component of the key (split at ^ and space) must start a component of the
//     name (split at ^, space and =): (' '||replace(replace(upper,'^',' '),'=',' ')) GLOB
//     '* '||component||'*', OR'ed with the key's ordinary condition.
//
// Multi-valued attributes (index.MultiValued) and extra attributes match when any value does:
// EXISTS over their rows in attr_values. ModalitiesInStudy matches a study IN the studies of the
// series with a matching modality; SOPClassesInStudy a study IN those of the instances with a matching
// SOP Class UID. Counters (NumberOf…) compare their decimal text.
//
// Keys on attributes the index does not keep (not in index.Attrs, index.Computed or the extra
// tags), on attributes of levels below the query's, and sequence keys add no condition: the
// caller filters on them (at the instance level, using the instance's Metadata).

// dialect holds what differs between SQL engines in the statements of the index.
type dialect struct {
	// match is the case-sensitive pattern-matching operator, written between the expression
	// and the pattern (e.g. "GLOB", "LIKE" plus an ESCAPE clause after the pattern).
	match, escape string
	// any is the pattern for any sequence of characters, one for any one character.
	any, one string
	// literal quotes s for use inside a pattern.
	literal func(s string) string
	// limitAll is the LIMIT value that means no limit (when only OFFSET is given).
	limitAll string
	// aggJoin aggregates expr, ordered by order, into one backslash-separated string.
	aggJoin func(expr, order string) string
	// text converts an integer expression to its decimal text.
	text func(expr string) string
}

// sqliteDialect: GLOB (case-sensitive) for wildcards, group_concat with ORDER BY (SQLite 3.44).
var sqliteDialect = dialect{
	match:  "GLOB",
	any:    "*",
	one:    "?",
	escape: "",
	literal: func(s string) string {
		return strings.NewReplacer(`[`, `[[]`, `*`, `[*]`, `?`, `[?]`).Replace(s)
	},
	limitAll: "-1",
	aggJoin: func(expr, order string) string {
		return "group_concat(" + expr + ", '\\' ORDER BY " + order + ")"
	},
	text: func(expr string) string { return "CAST(" + expr + " AS TEXT)" },
}

// pattern translates a DICOM wildcard pattern (* and ?) into d's pattern syntax.
func (d dialect) pattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(d.any)
		case '?':
			b.WriteString(d.one)
		default:
			b.WriteString(d.literal(string(r)))
		}
	}
	return b.String()
}

// Level tables, aliases and links to the parent level.
var (
	tables  = [...]string{"patients", "studies", "series", "instances"}
	aliases = [...]string{"p", "st", "se", "i"}
	parents = [...]string{"", "patient_pk", "study_pk", "series_pk"}
)

// from returns the FROM clause of level l joined with the levels above.
func from(l index.Level) string {
	var b strings.Builder
	b.WriteString(tables[l] + " " + aliases[l])
	for x := l; x > index.Patient; x-- {
		fmt.Fprintf(&b, " JOIN %s %s ON %s.pk = %s.%s", tables[x-1], aliases[x-1], aliases[x-1], aliases[x], parents[x])
	}
	return b.String()
}

func quote(col string) string { return `"` + col + `"` }

// intColumns are the integer copies of IS columns used for ordering.
var intColumns = map[string]string{
	"series_number":    "series_number_int",
	"instance_number":  "instance_number_int",
	"number_of_frames": "number_of_frames_int",
}

// counters are the columns behind the counting computed attributes.
var counters = map[tag.Tag]string{
	tag.NumberOfPatientRelatedStudies:   "num_studies",
	tag.NumberOfPatientRelatedSeries:    "num_series",
	tag.NumberOfPatientRelatedInstances: "num_instances",
	tag.NumberOfStudyRelatedSeries:      "num_series",
	tag.NumberOfStudyRelatedInstances:   "num_instances",
	tag.NumberOfSeriesRelatedInstances:  "num_instances",
}

type targetKind int

const (
	tColumn     targetKind = iota // a column (expr, upper for PN)
	tValues                       // rows of attr_values
	tModalities                   // ModalitiesInStudy: the studies' series
	tSOPClasses                   // SOPClassesInStudy: the studies' instances
)

// target is where the value of an attribute is, for a query at some level.
type target struct {
	kind  targetKind
	expr  string // column expression (tColumn)
	upper string // upper-cased copy (PN tColumn)
	order string // expression to order by, "" if not orderable
	level index.Level
	tag   tag.Tag
	vr    vr.VR
}

// resolve finds attribute t for a query at level l.
func (db *DB) resolve(t tag.Tag, l index.Level) (target, bool) {
	for _, a := range index.Attrs {
		if a.Tag != t {
			continue
		}
		if a.Level > l {
			return target{}, false
		}
		al := aliases[a.Level]
		tg := target{kind: tColumn, expr: al + "." + quote(a.Column), level: a.Level, tag: t, vr: a.VR}
		tg.order = tg.expr
		if ic, ok := intColumns[a.Column]; ok {
			tg.order = al + "." + ic
		}
		if a.VR == vr.PN {
			tg.upper = al + "." + quote(a.Column+"_upper")
		}
		if index.MultiValued(a.Tag, a.VR) {
			tg.kind = tValues
		}
		return tg, true
	}
	for _, a := range index.Computed {
		if a.Tag != t {
			continue
		}
		if a.Level > l {
			return target{}, false
		}
		al := aliases[a.Level]
		tg := target{level: a.Level, tag: t, vr: a.VR}
		switch t {
		case tag.ModalitiesInStudy:
			tg.kind, tg.order = tModalities, al+".modalities_in_study"
		case tag.SOPClassesInStudy:
			tg.kind, tg.order = tSOPClasses, al+".sop_classes_in_study"
		case tag.AvailableTransferSyntaxUID:
			tg.kind, tg.expr = tColumn, al+".transfer_syntax_uid"
			tg.order = tg.expr
		default:
			c, ok := counters[t]
			if !ok {
				return target{}, false
			}
			tg.kind, tg.expr, tg.order = tColumn, db.d.text(al+"."+c), al+"."+c
		}
		return tg, true
	}
	for _, e := range db.extras {
		if e.Tag == t {
			return target{kind: tValues, level: l, tag: t, vr: e.VR}, true
		}
	}
	return target{}, false
}

// builder accumulates a statement's arguments.
type builder struct {
	d    dialect
	args []any
	n    int // subquery aliases
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return "?"
}

// keyCond returns the condition for key k on target tg, or "" when it does not filter.
func (b *builder) keyCond(tg target, k index.Key, ci, fuzzy bool) string {
	k.VR = tg.vr
	switch tg.kind {
	case tColumn:
		return b.cond(tg.expr, tg.upper, k, ci, fuzzy)
	case tValues:
		b.n++
		a := "av" + strconv.Itoa(b.n)
		c := b.cond(a+".value", a+".value_upper", k, ci, fuzzy)
		if c == "" {
			return ""
		}
		return fmt.Sprintf("EXISTS (SELECT 1 FROM attr_values %[1]s WHERE %[1]s.level = %[2]d AND %[1]s.entity_pk = %[3]s.pk AND %[1]s.tag = %[4]d AND %[5]s)",
			a, tg.level, aliases[tg.level], uint32(tg.tag), c)
	case tModalities:
		b.n++
		a := "ms" + strconv.Itoa(b.n)
		c := b.cond(a+".modality", "", k, ci, fuzzy)
		if c == "" {
			return ""
		}
		// An IN over the series matching the modality, not a correlated EXISTS: SQLite's planner
		// then walks the modality index instead of every series of every study.
		return fmt.Sprintf("%[2]s.pk IN (SELECT %[1]s.study_pk FROM series %[1]s WHERE %[3]s)", a, aliases[index.Study], c)
	case tSOPClasses:
		b.n++
		a, s := "si"+strconv.Itoa(b.n), "ss"+strconv.Itoa(b.n)
		c := b.cond(a+".sop_class_uid", "", k, ci, fuzzy)
		if c == "" {
			return ""
		}
		return fmt.Sprintf("%[3]s.pk IN (SELECT %[1]s.study_pk FROM series %[1]s JOIN instances %[2]s ON %[2]s.series_pk = %[1]s.pk WHERE %[4]s)",
			s, a, aliases[index.Study], c)
	}
	return ""
}

// maxRune is above every character of the date and time VRs (see the range translation).
const maxRune = "\U0010FFFF"

// cond returns the condition that the value expr (upper: its upper-cased copy, for PN) matches
// k, or "" when k matches every value.
func (b *builder) cond(expr, upper string, k index.Key, ci, fuzzy bool) string {
	pn := k.VR == vr.PN && upper != ""
	ci = pn && (ci || fuzzy)
	fuzzy = pn && fuzzy
	switch index.KindOf(k) {
	case index.Universal:
		return ""
	case index.List:
		items := strings.Split(k.Value, `\`)
		var conds []string
		simple := !ci
		for _, it := range items {
			ik := index.Key{Tag: k.Tag, VR: k.VR, Value: it}
			if index.KindOf(ik) != index.Single {
				simple = false
			}
		}
		if simple {
			ph := make([]string, len(items))
			for i, it := range items {
				ph[i] = b.arg(it)
			}
			return expr + " IN (" + strings.Join(ph, ", ") + ")"
		}
		for _, it := range items {
			c := b.cond(expr, upper, index.Key{Tag: k.Tag, VR: k.VR, Value: it}, ci, fuzzy)
			if c == "" {
				return ""
			}
			conds = append(conds, c)
		}
		return "(" + strings.Join(conds, " OR ") + ")"
	case index.Range:
		lo, hi, _ := strings.Cut(k.Value, "-")
		e := expr
		if k.VR == vr.TM {
			e = "replace(" + expr + ", ':', '')"
			lo, hi = strings.ReplaceAll(lo, ":", ""), strings.ReplaceAll(hi, ":", "")
		}
		conds := []string{expr + " <> ''"}
		if lo != "" {
			conds = append(conds, e+" >= "+b.arg(lo))
		}
		if hi != "" {
			conds = append(conds, e+" <= "+b.arg(hi+maxRune))
		}
		return "(" + strings.Join(conds, " AND ") + ")"
	}
	var fz string
	if fuzzy {
		fz = b.fuzzy(upper, k.Value)
		if fz == "" {
			return ""
		}
	}
	e, v := expr, k.Value
	if ci {
		e, v = upper, strings.ToUpper(v)
	}
	var c string
	if index.KindOf(k) == index.Wildcard {
		if strings.Trim(v, "*") == "" {
			return ""
		}
		c = e + " " + b.d.match + " " + b.arg(b.d.pattern(v)) + b.d.escape
	} else {
		c = e + " = " + b.arg(v)
	}
	if fz != "" {
		return "(" + fz + " OR " + c + ")"
	}
	return c
}

// fuzzy returns the fuzzy-matching condition of PN key value v on the upper-cased column
// upper, "" if it matches everything (a key without components).
func (b *builder) fuzzy(upper, v string) string {
	want := strings.TrimRight(strings.ToUpper(v), "*")
	comps := strings.FieldsFunc(want, func(r rune) bool { return r == '^' || r == ' ' })
	if len(comps) == 0 {
		return ""
	}
	norm := "(' ' || replace(replace(" + upper + ", '^', ' '), '=', ' '))"
	conds := make([]string, len(comps))
	for i, w := range comps {
		conds[i] = norm + " " + b.d.match + " " + b.arg(b.d.any+" "+b.d.literal(w)+b.d.any) + b.d.escape
	}
	return "(" + strings.Join(conds, " AND ") + ")"
}

// where returns the WHERE clause of q ("" if none).
func (db *DB) where(b *builder, q *index.Query) string {
	var conds []string
	for _, k := range q.Keys {
		if k.VR == vr.SQ {
			continue
		}
		tg, ok := db.resolve(k.Tag, q.Level)
		if !ok {
			continue
		}
		if c := b.keyCond(tg, k, q.CaseInsensitivePN, q.FuzzyPN); c != "" {
			conds = append(conds, c)
		}
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// outKind says how a selected column goes into a Match.
type outKind int

const (
	oAttr   outKind = iota // a string attribute
	oCount                 // an integer counter (IS)
	oStored                // the instance's stored record (several columns)
)

// outCol is one selected attribute.
type outCol struct {
	kind outKind
	tag  tag.Tag
	vr   vr.VR
}

// storedCols are the columns of an instance's Stored record, in scan order.
const storedCols = `i.pk, se."series_uid", st."study_uid", i."sop_uid", i."sop_class_uid", i.transfer_syntax_uid,
	i.blob_key, i.size, i.sha256, i.received_at, i.source_ae, i.metadata, i.frames, i.number_of_frames_int,
	i.instance_number_int`

// searchSQL builds the statement of Search (count false) or Count (count true).
func (db *DB) searchSQL(q *index.Query, count bool) (string, []any, []outCol, error) {
	if q.Level < index.Patient || q.Level > index.Instance {
		return "", nil, nil, fmt.Errorf("%w: level %d", index.ErrInvalidQuery, q.Level)
	}
	if err := q.Validate(); err != nil {
		return "", nil, nil, err
	}
	b := &builder{d: db.d}
	l := q.Level
	var sel []string
	var outs []outCol
	if count {
		sel = []string{"COUNT(*)"}
	} else {
		for x := index.Patient; x <= l; x++ {
			al := aliases[x]
			for _, a := range index.LevelAttrs(x) {
				if !returned(q, a.Tag) {
					continue
				}
				sel = append(sel, al+"."+quote(a.Column))
				outs = append(outs, outCol{kind: oAttr, tag: a.Tag, vr: a.VR})
			}
			for _, e := range db.extras {
				sel = append(sel, fmt.Sprintf("COALESCE((SELECT %s FROM attr_values x WHERE x.level = %d AND x.entity_pk = %s.pk AND x.tag = %d), '')",
					db.d.aggJoin("x.value", "x.seq"), x, al, uint32(e.Tag)))
				outs = append(outs, outCol{kind: oAttr, tag: e.Tag, vr: e.VR})
			}
		}
		al := aliases[l]
		switch l {
		case index.Patient, index.Study, index.Series:
			for _, a := range index.Computed {
				if a.Level != l || !returned(q, a.Tag) {
					continue
				}
				switch a.Tag {
				case tag.ModalitiesInStudy:
					sel = append(sel, al+".modalities_in_study")
					outs = append(outs, outCol{kind: oAttr, tag: a.Tag, vr: a.VR})
				case tag.SOPClassesInStudy:
					sel = append(sel, al+".sop_classes_in_study")
					outs = append(outs, outCol{kind: oAttr, tag: a.Tag, vr: a.VR})
				default:
					sel = append(sel, al+"."+counters[a.Tag])
					outs = append(outs, outCol{kind: oCount, tag: a.Tag, vr: a.VR})
				}
			}
		case index.Instance:
			sel = append(sel, "i.transfer_syntax_uid")
			outs = append(outs, outCol{kind: oAttr, tag: tag.AvailableTransferSyntaxUID, vr: vr.UI})
			sel = append(sel, storedCols)
			outs = append(outs, outCol{kind: oStored})
		}
	}
	if !count {
		sel, outs = byTag(sel, outs)
	}
	var s strings.Builder
	s.WriteString("SELECT " + strings.Join(sel, ", ") + " FROM " + from(l))
	s.WriteString(db.where(b, q))
	if count {
		return s.String(), b.args, nil, nil
	}
	order, err := db.orderBy(q)
	if err != nil {
		return "", nil, nil, err
	}
	s.WriteString(" ORDER BY " + order)
	switch {
	case q.Limit > 0:
		s.WriteString(" LIMIT " + strconv.Itoa(q.Limit))
	case q.Offset > 0:
		s.WriteString(" LIMIT " + db.d.limitAll)
	}
	if q.Offset > 0 {
		s.WriteString(" OFFSET " + strconv.Itoa(q.Offset))
	}
	return s.String(), b.args, outs, nil
}

// returned reports whether the matches of q are to hold attribute t (index.Query.Return).
func returned(q *index.Query, t tag.Tag) bool {
	switch t {
	case tag.StudyInstanceUID, tag.SeriesInstanceUID, tag.SOPInstanceUID:
		return true
	}
	return q.Return == nil || slices.Contains(q.Return, t)
}

// byTag orders the selected attributes by tag, the stored record's columns last, so that a
// match's data set is built by appending.
func byTag(sel []string, outs []outCol) ([]string, []outCol) {
	idx := make([]int, len(outs))
	for i := range idx {
		idx[i] = i
	}
	key := func(o outCol) uint64 {
		if o.kind == oStored {
			return 1 << 32
		}
		return uint64(o.tag)
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(key(outs[a]), key(outs[b])) })
	s2, o2 := make([]string, len(sel)), make([]outCol, len(outs))
	for i, j := range idx {
		s2[i], o2[i] = sel[j], outs[j]
	}
	return s2, o2
}

// orderBy returns the ORDER BY terms of q: its own, or the level's default, then the level's
// primary key so that the order is total and paging stable.
//
// Defaults: patients by name then ID; studies newest first (study date, then time,
// descending); series by study, then series number; instances by series, then instance number.
func (db *DB) orderBy(q *index.Query) (string, error) {
	al := aliases[q.Level]
	if len(q.OrderBy) == 0 {
		switch q.Level {
		case index.Patient:
			return `p."patient_name", p."patient_id", p.pk`, nil
		case index.Study:
			return `st."study_date" DESC, st."study_time" DESC, st.pk DESC`, nil
		case index.Series:
			return "se.study_pk, se.series_number_int, se.pk", nil
		default:
			return "i.series_pk, i.instance_number_int, i.pk", nil
		}
	}
	var terms []string
	for _, o := range q.OrderBy {
		tg, ok := db.resolve(o.Tag, q.Level)
		if !ok || tg.order == "" {
			return "", fmt.Errorf("%w: cannot order by %s at the %s level", index.ErrInvalidQuery, o.Tag, q.Level)
		}
		e := tg.order
		if o.Desc {
			e += " DESC"
		}
		terms = append(terms, e)
	}
	return strings.Join(terms, ", ") + ", " + al + ".pk", nil
}
