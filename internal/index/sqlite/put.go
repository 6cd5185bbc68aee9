package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// levelAttrs are index.LevelAttrs of each level (read only).
var levelAttrs = [...][]index.Attr{
	index.LevelAttrs(index.Patient), index.LevelAttrs(index.Study),
	index.LevelAttrs(index.Series), index.LevelAttrs(index.Instance),
}

// entity is the values a record gives one level: one per attribute of levelAttrs, one per
// extra attribute.
type entity struct {
	cols   []string
	extras []string
}

func (db *DB) extract(ds *dicom.Dataset) [4]entity {
	var ents [4]entity
	for l := range ents {
		ents[l].cols = make([]string, len(levelAttrs[l]))
		for i, a := range levelAttrs[l] {
			ents[l].cols[i] = strings.ToValidUTF8(ds.String(a.Tag), "\uFFFD")
		}
		ents[l].extras = make([]string, len(db.extras))
		for i, e := range db.extras {
			ents[l].extras[i] = strings.ToValidUTF8(ds.String(e.Tag), "\uFFFD")
		}
	}
	return ents
}

// col returns the value of the attribute with column c at level l.
func (e *entity) col(l index.Level, c string) string {
	for i, a := range levelAttrs[l] {
		if a.Column == c {
			return e.cols[i]
		}
	}
	return ""
}

// atoi reads the first value of an IS (or US) string, 0 if none.
func atoi(s string) int64 {
	s, _, _ = strings.Cut(s, `\`)
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Put indexes rec (see index.Index). Concurrent Puts are committed together.
func (db *DB) Put(ctx context.Context, rec *index.Record) (*index.Stored, error) {
	return db.putWith(ctx, rec, nil)
}

// putWith is Put, with also, when set, in the same savepoint after the put.
func (db *DB) putWith(ctx context.Context, rec *index.Record, also func(ctx context.Context, tx *wtx) error) (*index.Stored, error) {
	if rec == nil || rec.Header == nil {
		return nil, errors.New("sqlite index: put: no header")
	}
	ents := db.extract(rec.Header)
	var st *index.Stored
	err := db.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		st, err = db.put(ctx, tx, rec, &ents)
		if err == nil && also != nil {
			err = also(ctx, tx)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, index.ErrExists) {
			return st, err
		}
		return nil, err
	}
	return st, nil
}

// PutBatch indexes recs in one transaction, each in its own savepoint: it returns, for each
// record, the stored record and nil, or the error of that record alone (index.ErrExists with the
// stored record for an instance indexed already). The batch is durable when PutBatch returns.
func (db *DB) PutBatch(ctx context.Context, recs []*index.Record) ([]*index.Stored, []error) {
	out := make([]*index.Stored, len(recs))
	fns := make([]func(ctx context.Context, tx *wtx) error, len(recs))
	for i, rec := range recs {
		if rec == nil || rec.Header == nil {
			fns[i] = func(context.Context, *wtx) error { return errors.New("sqlite index: put: no header") }
			continue
		}
		ents := db.extract(rec.Header)
		fns[i] = func(ctx context.Context, tx *wtx) error {
			var err error
			out[i], err = db.put(ctx, tx, rec, &ents)
			return err
		}
	}
	errs := db.writeAll(ctx, fns)
	for i, err := range errs {
		if err != nil && !errors.Is(err, index.ErrExists) {
			out[i] = nil
		}
	}
	return out, errs
}

// Replace indexes rec in place of the instance with the same SOP Instance UID, in one
// transaction, and returns the record replaced (nil if there was none: then it is a Put).
func (db *DB) Replace(ctx context.Context, rec *index.Record) (*index.Stored, error) {
	if rec == nil || rec.Header == nil {
		return nil, errors.New("sqlite index: replace: no header")
	}
	ents := db.extract(rec.Header)
	var old *index.Stored
	err := db.write(ctx, func(ctx context.Context, tx *wtx) error {
		old = nil
		tx.cache.clear()
		prev, ref, err := db.storedByUID(ctx, tx, ents[index.Instance].col(index.Instance, "sop_uid"))
		switch {
		case errors.Is(err, index.ErrNotFound):
		case err != nil:
			return err
		default:
			if err := db.deleteInstance(ctx, tx, ref); err != nil {
				return err
			}
			// Remove the parents the old version leaves empty before putting the new one, so
			// that a replacement under another patient or study is filed there, not under the
			// old parents.
			if err := db.prune(ctx, tx, ref); err != nil {
				return err
			}
			old = prev
		}
		if _, err := db.put(ctx, tx, rec, &ents); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite index: replace: %w", err)
	}
	return old, nil
}

// ref locates an instance and its parents.
type ref struct {
	instance, series, study, patient int64
}

// exec runs a statement of the writer, prepared once per transaction.
func (db *DB) exec(ctx context.Context, tx *wtx, q string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	r, err := st.ExecContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("%.60s…: %w", q, err)
	}
	return r, nil
}

func (db *DB) queryRow(ctx context.Context, tx *wtx, q string, args []any, dest ...any) error {
	rows, err := db.txQuery(ctx, tx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// txQuery runs a query of the writer, prepared once per transaction.
func (db *DB) txQuery(ctx context.Context, tx *wtx, q string, args ...any) (*sql.Rows, error) {
	st, err := tx.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

const selectStored = `SELECT ` + storedCols + `, se.pk, st.pk, st.patient_pk FROM instances i
	JOIN series se ON se.pk = i.series_pk JOIN studies st ON st.pk = se.study_pk `

// storedByUID reads the instance uid within tx.
func (db *DB) storedByUID(ctx context.Context, tx *wtx, uid string) (*index.Stored, ref, error) {
	rows, err := db.txQuery(ctx, tx, selectStored+`WHERE i."sop_uid" = ?`, uid)
	if err != nil {
		return nil, ref{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, ref{}, err
		}
		return nil, ref{}, fmt.Errorf("%w: instance %s", index.ErrNotFound, uid)
	}
	s, r, err := scanStoredRef(rows)
	if err != nil {
		return nil, ref{}, err
	}
	return s, r, rows.Close()
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// storedDest returns scan destinations for storedCols and a function that finishes the record.
func storedDest(s *index.Stored, pk *int64) ([]any, func()) {
	var sha []byte
	var received sql.NullInt64
	var nframes, inum int64
	dest := []any{pk, &s.SeriesInstanceUID, &s.StudyInstanceUID, &s.SOPInstanceUID, &s.SOPClassUID,
		&s.TransferSyntaxUID, &s.BlobKey, &s.Size, &sha, &received, &s.SourceAE, &s.Metadata, &s.Frames,
		&nframes, &inum}
	return dest, func() {
		copy(s.SHA256[:], sha)
		if received.Valid {
			s.ReceivedAt = time.Unix(0, received.Int64).UTC()
		}
		s.NumberOfFrames, s.InstanceNumber = int(nframes), int(inum)
	}
}

func scanStoredRef(sc scanner) (*index.Stored, ref, error) {
	s := &index.Stored{}
	var r ref
	dest, finish := storedDest(s, &r.instance)
	if err := sc.Scan(append(dest, &r.series, &r.study, &r.patient)...); err != nil {
		return nil, ref{}, err
	}
	finish()
	return s, r, nil
}

// put indexes rec within tx.
func (db *DB) put(ctx context.Context, tx *wtx, rec *index.Record, ents *[4]entity) (*index.Stored, error) {
	inst := &ents[index.Instance]
	sop := inst.col(index.Instance, "sop_uid")
	// An instance indexed already fails the insert below (instances_uid is unique); the write
	// is then rolled back, with what parents changed.
	r, created, err := db.parents(ctx, tx, ents)
	if err != nil {
		return nil, fmt.Errorf("sqlite index: put %s: %w", sop, err)
	}
	s := &index.Stored{
		StudyInstanceUID:  ents[index.Study].col(index.Study, "study_uid"),
		SeriesInstanceUID: ents[index.Series].col(index.Series, "series_uid"),
		SOPInstanceUID:    sop,
		SOPClassUID:       inst.col(index.Instance, "sop_class_uid"),
		TransferSyntaxUID: rec.TransferSyntaxUID,
		BlobKey:           rec.BlobKey,
		Size:              rec.Size,
		SHA256:            rec.SHA256,
		ReceivedAt:        rec.ReceivedAt,
		SourceAE:          rec.SourceAE,
		Metadata:          rec.Metadata,
		Frames:            rec.Frames,
		NumberOfFrames:    int(atoi(inst.col(index.Instance, "number_of_frames"))),
		InstanceNumber:    int(atoi(inst.col(index.Instance, "instance_number"))),
	}
	var received any
	if !rec.ReceivedAt.IsZero() {
		received = rec.ReceivedAt.UnixNano()
	}
	cols := []string{"series_pk"}
	args := []any{r.series}
	for i, a := range levelAttrs[index.Instance] {
		cols = append(cols, quote(a.Column))
		args = append(args, inst.cols[i])
		if a.VR == vr.PN {
			cols = append(cols, quote(a.Column+"_upper"))
			args = append(args, strings.ToUpper(inst.cols[i]))
		}
	}
	cols = append(cols, "instance_number_int", "number_of_frames_int", "transfer_syntax_uid", "blob_key", "size",
		"sha256", "received_at", "source_ae", "metadata", "frames")
	args = append(args, s.InstanceNumber, s.NumberOfFrames, rec.TransferSyntaxUID, rec.BlobKey, rec.Size,
		rec.SHA256[:], received, rec.SourceAE, nonNil(rec.Metadata), nonNil(rec.Frames))
	q := "INSERT INTO instances (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) + ") RETURNING pk"
	if err := db.queryRow(ctx, tx, q, args, &r.instance); err != nil {
		if prev, _, perr := db.storedByUID(ctx, tx, sop); perr == nil {
			return prev, fmt.Errorf("%w: %s", index.ErrExists, sop)
		}
		return nil, fmt.Errorf("sqlite index: put %s: insert instance: %w", sop, err)
	}
	if err := db.insertValues(ctx, tx, index.Instance, r.instance, inst, nil); err != nil {
		return nil, fmt.Errorf("sqlite index: put %s: %w", sop, err)
	}
	// Counters of the computed attributes, in the same transaction.
	newSeries, newStudy := b2i(created[index.Series]), b2i(created[index.Study])
	if _, err := db.exec(ctx, tx, `UPDATE series SET num_instances = num_instances + 1 WHERE pk = ?`, r.series); err != nil {
		return nil, err
	}
	if _, err := db.exec(ctx, tx, `UPDATE studies SET num_instances = num_instances + 1, num_series = num_series + ? WHERE pk = ?`, newSeries, r.study); err != nil {
		return nil, err
	}
	if _, err := db.exec(ctx, tx, `UPDATE patients SET num_instances = num_instances + 1, num_series = num_series + ?, num_studies = num_studies + ? WHERE pk = ?`,
		newSeries, newStudy, r.patient); err != nil {
		return nil, err
	}
	se := tx.cache.study(r.study)
	if !se.computed {
		if err := db.queryRow(ctx, tx, `SELECT modalities_in_study, sop_classes_in_study FROM studies WHERE pk = ?`, []any{r.study}, &se.mods, &se.classes); err != nil {
			return nil, fmt.Errorf("sqlite index: put %s: %w", sop, err)
		}
		se.computed = true
	}
	modality := ents[index.Series].col(index.Series, "modality")
	if (modality != "" && !slices.Contains(strings.Split(se.mods, `\`), modality)) ||
		(s.SOPClassUID != "" && !slices.Contains(strings.Split(se.classes, `\`), s.SOPClassUID)) || created[index.Series] {
		if err := db.studyComputed(ctx, tx, r.study); err != nil {
			return nil, fmt.Errorf("sqlite index: put %s: %w", sop, err)
		}
	}
	return s, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// studyComputed recomputes ModalitiesInStudy and SOPClassesInStudy of study pk from its series
// and instances: the distinct non-empty values, sorted, joined with backslashes.
func (db *DB) studyComputed(ctx context.Context, tx *wtx, pk int64) error {
	q := `UPDATE studies SET
	modalities_in_study = COALESCE((SELECT ` + db.d.aggJoin("m", "m") + ` FROM
		(SELECT DISTINCT modality AS m FROM series WHERE study_pk = ? AND modality <> '') d), ''),
	sop_classes_in_study = COALESCE((SELECT ` + db.d.aggJoin("c", "c") + ` FROM
		(SELECT DISTINCT i."sop_class_uid" AS c FROM instances i JOIN series s ON s.pk = i.series_pk
		 WHERE s.study_pk = ? AND i."sop_class_uid" <> '') d), '')
	WHERE pk = ?`
	if _, err := db.exec(ctx, tx, q, pk, pk, pk); err != nil {
		return fmt.Errorf("computed attributes: %w", err)
	}
	tx.cache.study(pk).computed = false
	return nil
}

// parents finds or creates the patient, study and series of a record, updating their
// attributes, and reports which it created.
//
// The hierarchy already indexed wins: a series known under another study stays there, and a
// study known under another patient stays there (with a warning); the attributes of an entity
// are updated only from records that agree with it on the keys above it.
func (db *DB) parents(ctx context.Context, tx *wtx, ents *[4]entity) (ref, [4]bool, error) {
	var r ref
	var created [4]bool
	studyUID := ents[index.Study].col(index.Study, "study_uid")
	seriesUID := ents[index.Series].col(index.Series, "series_uid")
	pid := ents[index.Patient].col(index.Patient, "patient_id")
	issuer := ents[index.Patient].col(index.Patient, "issuer_of_patient_id")
	var curStudyUID, curPID, curIssuer string
	var err error
	cached := tx.cache.series[seriesUID]
	if cached != nil {
		r, curStudyUID, curPID, curIssuer = cached.r, cached.studyUID, cached.pid, cached.issue
	} else {
		err = db.queryRow(ctx, tx, `SELECT se.pk, st.pk, st."study_uid", p.pk, p."patient_id", p."issuer_of_patient_id"
		FROM series se JOIN studies st ON st.pk = se.study_pk JOIN patients p ON p.pk = st.patient_pk
		WHERE se."series_uid" = ?`, []any{seriesUID}, &r.series, &r.study, &curStudyUID, &r.patient, &curPID, &curIssuer)
	}
	switch {
	case err == nil:
		if curStudyUID != studyUID {
			db.log.Warn("series indexed under another study: kept there",
				"series_uid", seriesUID, "study_uid", studyUID, "indexed_study_uid", curStudyUID)
		}
	case errors.Is(err, sql.ErrNoRows):
		err = db.queryRow(ctx, tx, `SELECT st.pk, p.pk, p."patient_id", p."issuer_of_patient_id"
			FROM studies st JOIN patients p ON p.pk = st.patient_pk WHERE st."study_uid" = ?`,
			[]any{studyUID}, &r.study, &r.patient, &curPID, &curIssuer)
		curStudyUID = studyUID
		switch {
		case err == nil:
		case errors.Is(err, sql.ErrNoRows):
			err = db.queryRow(ctx, tx, `SELECT pk FROM patients WHERE "patient_id" = ? AND "issuer_of_patient_id" = ?`,
				[]any{pid, issuer}, &r.patient)
			curPID, curIssuer = pid, issuer
			switch {
			case err == nil:
			case errors.Is(err, sql.ErrNoRows):
				if r.patient, err = db.insertEntity(ctx, tx, index.Patient, 0, &ents[index.Patient]); err != nil {
					return r, created, err
				}
				created[index.Patient] = true
			default:
				return r, created, err
			}
			if r.study, err = db.insertEntity(ctx, tx, index.Study, r.patient, &ents[index.Study]); err != nil {
				return r, created, err
			}
			created[index.Study] = true
		default:
			return r, created, err
		}
		if r.series, err = db.insertEntity(ctx, tx, index.Series, r.study, &ents[index.Series]); err != nil {
			return r, created, err
		}
		created[index.Series] = true
	default:
		return r, created, err
	}
	if cached == nil {
		if len(tx.cache.series) >= maxCached {
			tx.cache.clear()
		}
		e := &seriesEntry{r: r, studyUID: curStudyUID, pid: curPID, issue: curIssuer}
		tx.cache.series[seriesUID] = e
		if created[index.Series] {
			e.cols = slices.Clone(ents[index.Series].cols)
		}
		if created[index.Study] {
			tx.cache.study(r.study).cols = slices.Clone(ents[index.Study].cols)
		}
		if created[index.Patient] {
			tx.cache.patient[r.patient] = slices.Clone(ents[index.Patient].cols)
		}
	}
	samePatient := curPID == pid && curIssuer == issuer
	if !samePatient && curStudyUID == studyUID {
		db.log.Warn("study indexed under another patient: kept there",
			"study_uid", studyUID, "patient_id", pid, "issuer", issuer, "indexed_patient_id", curPID, "indexed_issuer", curIssuer)
	}
	if !created[index.Series] {
		if err := db.updateEntity(ctx, tx, index.Series, r, &ents[index.Series]); err != nil {
			return r, created, err
		}
	}
	if !created[index.Study] && curStudyUID == studyUID {
		if err := db.updateEntity(ctx, tx, index.Study, r, &ents[index.Study]); err != nil {
			return r, created, err
		}
	}
	if !created[index.Patient] && samePatient && curStudyUID == studyUID {
		if err := db.updateEntity(ctx, tx, index.Patient, r, &ents[index.Patient]); err != nil {
			return r, created, err
		}
	}
	return r, created, nil
}

// insertEntity inserts the patient, study or series e under parent and returns its key.
func (db *DB) insertEntity(ctx context.Context, tx *wtx, l index.Level, parent int64, e *entity) (int64, error) {
	var cols []string
	var args []any
	if l > index.Patient {
		cols, args = append(cols, parents[l]), append(args, parent)
	}
	for i, a := range levelAttrs[l] {
		cols = append(cols, quote(a.Column))
		args = append(args, e.cols[i])
		if a.VR == vr.PN {
			cols = append(cols, quote(a.Column+"_upper"))
			args = append(args, strings.ToUpper(e.cols[i]))
		}
	}
	if l == index.Series {
		cols = append(cols, "series_number_int")
		args = append(args, atoi(e.col(l, "series_number")))
	}
	q := "INSERT INTO " + tables[l] + " (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) + ") RETURNING pk"
	var pk int64
	if err := db.queryRow(ctx, tx, q, args, &pk); err != nil {
		return 0, fmt.Errorf("insert into %s: %w", tables[l], err)
	}
	if err := db.insertValues(ctx, tx, l, pk, e, nil); err != nil {
		return 0, err
	}
	return pk, nil
}

// insertValues inserts the attr_values rows of entity pk at level l: its multi-valued
// attributes and extra attributes (only those of tags in only, if only is not nil).
func (db *DB) insertValues(ctx context.Context, tx *wtx, l index.Level, pk int64, e *entity, only map[tag.Tag]bool) error {
	ins := func(t tag.Tag, v vr.VR, value string) error {
		if value == "" || (only != nil && !only[t]) {
			return nil
		}
		values := []string{value}
		if index.MultiValued(t, v) {
			values = strings.Split(value, `\`)
		}
		for seq, s := range values {
			up := s
			if v == vr.PN {
				up = strings.ToUpper(s)
			}
			if _, err := db.exec(ctx, tx, `INSERT INTO attr_values (level, entity_pk, tag, seq, value, value_upper) VALUES (?, ?, ?, ?, ?, ?)`,
				int(l), pk, int64(t), seq, s, up); err != nil {
				return err
			}
		}
		return nil
	}
	for i, a := range levelAttrs[l] {
		if index.MultiValued(a.Tag, a.VR) {
			if err := ins(a.Tag, a.VR, e.cols[i]); err != nil {
				return err
			}
		}
	}
	for i, x := range db.extras {
		if err := ins(x.Tag, x.VR, e.extras[i]); err != nil {
			return err
		}
	}
	return nil
}

// updateEntity updates the attributes of the patient, study or series of r at level l with the
// non-empty values of e that differ from those indexed.
func (db *DB) updateEntity(ctx context.Context, tx *wtx, l index.Level, r ref, e *entity) error {
	pk := [...]int64{r.patient, r.study, r.series}[l]
	attrs := levelAttrs[l]
	sel := make([]string, len(attrs))
	for i, a := range attrs {
		sel[i] = quote(a.Column)
	}
	seriesUID := ""
	if l == index.Series {
		seriesUID = e.col(l, "series_uid")
	}
	cur := tx.cache.cols(int(l), r, seriesUID)
	if cur == nil {
		cur = make([]string, len(attrs))
		dest := make([]any, len(attrs))
		for i := range cur {
			dest[i] = &cur[i]
		}
		if err := db.queryRow(ctx, tx, "SELECT "+strings.Join(sel, ", ")+" FROM "+tables[l]+" WHERE pk = ?", []any{pk}, dest...); err != nil {
			return fmt.Errorf("read %s: %w", tables[l], err)
		}
		tx.cache.setCols(int(l), r, seriesUID, cur)
	}
	var set []string
	var args []any
	changed := map[tag.Tag]bool{}
	modality := false
	for i, a := range attrs {
		v := e.cols[i]
		if v == "" || v == cur[i] {
			continue
		}
		set = append(set, quote(a.Column)+" = ?")
		args = append(args, v)
		if a.VR == vr.PN {
			set = append(set, quote(a.Column+"_upper")+" = ?")
			args = append(args, strings.ToUpper(v))
		}
		if a.Column == "series_number" {
			set = append(set, "series_number_int = ?")
			args = append(args, atoi(v))
		}
		if a.Column == "modality" {
			modality = true
		}
		if index.MultiValued(a.Tag, a.VR) {
			changed[a.Tag] = true
		}
	}
	if len(set) > 0 {
		if _, err := db.exec(ctx, tx, "UPDATE "+tables[l]+" SET "+strings.Join(set, ", ")+" WHERE pk = ?", append(args, pk)...); err != nil {
			return fmt.Errorf("update %s: %w", tables[l], err)
		}
		now := slices.Clone(cur)
		for i, v := range e.cols {
			if v != "" {
				now[i] = v
			}
		}
		tx.cache.setCols(int(l), r, seriesUID, now)
	}
	if len(db.extras) > 0 {
		for i, x := range db.extras {
			if e.extras[i] == "" {
				continue
			}
			var v string
			err := db.queryRow(ctx, tx, `SELECT COALESCE((SELECT `+db.d.aggJoin("value", "seq")+` FROM attr_values
				WHERE level = ? AND entity_pk = ? AND tag = ?), '')`, []any{int(l), pk, int64(x.Tag)}, &v)
			if err != nil {
				return fmt.Errorf("read extra attributes: %w", err)
			}
			if v != e.extras[i] {
				changed[x.Tag] = true
			}
		}
	}
	if len(changed) > 0 {
		for t := range changed {
			if _, err := db.exec(ctx, tx, `DELETE FROM attr_values WHERE level = ? AND entity_pk = ? AND tag = ?`, int(l), pk, int64(t)); err != nil {
				return err
			}
		}
		if err := db.insertValues(ctx, tx, l, pk, e, changed); err != nil {
			return err
		}
	}
	if modality {
		return db.studyComputed(ctx, tx, r.study)
	}
	return nil
}

// deleteInstance removes instance r.instance and counts it off its parents (which prune then
// removes if empty).
func (db *DB) deleteInstance(ctx context.Context, tx *wtx, r ref) error {
	steps := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM attr_values WHERE level = 3 AND entity_pk = ?`, []any{r.instance}},
		{`DELETE FROM instances WHERE pk = ?`, []any{r.instance}},
		{`UPDATE series SET num_instances = num_instances - 1 WHERE pk = ?`, []any{r.series}},
		{`UPDATE studies SET num_instances = num_instances - 1 WHERE pk = ?`, []any{r.study}},
		{`UPDATE patients SET num_instances = num_instances - 1 WHERE pk = ?`, []any{r.patient}},
	}
	for _, s := range steps {
		if _, err := db.exec(ctx, tx, s.q, s.args...); err != nil {
			return fmt.Errorf("delete instance: %w", err)
		}
	}
	return nil
}

// prune removes the series, study and patient of r left without instances, adjusting the
// counters, and recomputes the computed attributes of the study if it remains.
func (db *DB) prune(ctx context.Context, tx *wtx, r ref) error {
	var n int64
	if err := db.queryRow(ctx, tx, `SELECT num_instances FROM series WHERE pk = ?`, []any{r.series}, &n); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("prune: %w", err)
	} else if err == nil && n <= 0 {
		for _, q := range []string{
			`DELETE FROM attr_values WHERE level = 2 AND entity_pk = ?`,
			`DELETE FROM series WHERE pk = ?`,
		} {
			if _, err := db.exec(ctx, tx, q, r.series); err != nil {
				return fmt.Errorf("prune: %w", err)
			}
		}
		if _, err := db.exec(ctx, tx, `UPDATE studies SET num_series = num_series - 1 WHERE pk = ?`, r.study); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		if _, err := db.exec(ctx, tx, `UPDATE patients SET num_series = num_series - 1 WHERE pk = ?`, r.patient); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	if err := db.queryRow(ctx, tx, `SELECT num_series FROM studies WHERE pk = ?`, []any{r.study}, &n); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("prune: %w", err)
	} else if err == nil {
		if n > 0 {
			return db.studyComputed(ctx, tx, r.study)
		}
		for _, q := range []string{
			`DELETE FROM attr_values WHERE level = 1 AND entity_pk = ?`,
			`DELETE FROM studies WHERE pk = ?`,
		} {
			if _, err := db.exec(ctx, tx, q, r.study); err != nil {
				return fmt.Errorf("prune: %w", err)
			}
		}
		if _, err := db.exec(ctx, tx, `UPDATE patients SET num_studies = num_studies - 1 WHERE pk = ?`, r.patient); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	if err := db.queryRow(ctx, tx, `SELECT num_studies FROM patients WHERE pk = ?`, []any{r.patient}, &n); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("prune: %w", err)
	} else if err == nil && n <= 0 {
		for _, q := range []string{
			`DELETE FROM attr_values WHERE level = 0 AND entity_pk = ?`,
			`DELETE FROM patients WHERE pk = ?`,
		} {
			if _, err := db.exec(ctx, tx, q, r.patient); err != nil {
				return fmt.Errorf("prune: %w", err)
			}
		}
	}
	return nil
}

// Delete removes the study, series or instance uid with everything under it, and the parents
// left empty; it returns the instances removed.
func (db *DB) Delete(ctx context.Context, level index.Level, uid string) ([]*index.Stored, error) {
	var where string
	switch level {
	case index.Study:
		where = `WHERE st."study_uid" = ?`
	case index.Series:
		where = `WHERE se."series_uid" = ?`
	case index.Instance:
		where = `WHERE i."sop_uid" = ?`
	default:
		return nil, fmt.Errorf("sqlite index: delete at the %s level: %w", level, index.ErrInvalidQuery)
	}
	var out []*index.Stored
	err := db.write(ctx, func(ctx context.Context, tx *wtx) error {
		out = nil
		tx.cache.clear()
		var refs []ref
		rows, err := db.txQuery(ctx, tx, selectStored+where+` ORDER BY se.pk, i.instance_number_int, i.pk`, uid)
		if err != nil {
			return err
		}
		for rows.Next() {
			s, r, err := scanStoredRef(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out, refs = append(out, s), append(refs, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(refs) == 0 {
			return fmt.Errorf("%w: %s %s", index.ErrNotFound, level, uid)
		}
		for _, st := range out[:len(refs)] {
			vs, err := db.txVersions(ctx, tx, st.SOPInstanceUID)
			if err != nil {
				return err
			}
			out = append(out, vs...)
			if _, err := db.exec(ctx, tx, `DELETE FROM instance_versions WHERE sop_uid = ?`, st.SOPInstanceUID); err != nil {
				return err
			}
		}
		for _, r := range refs {
			if err := db.deleteInstance(ctx, tx, r); err != nil {
				return err
			}
		}
		for i, r := range refs {
			if i > 0 && refs[i-1].series == r.series {
				continue
			}
			if err := db.prune(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite index: delete %s %s: %w", level, uid, err)
	}
	return out, nil
}

// KeepVersion records rec as a version kept aside for its SOP Instance UID.
func (db *DB) KeepVersion(ctx context.Context, rec *index.Record) error {
	if rec == nil || rec.Header == nil {
		return errors.New("sqlite index: keep version: no header")
	}
	sop := rec.Header.String(tag.SOPInstanceUID)
	err := db.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := db.exec(ctx, tx, `INSERT INTO instance_versions (sop_uid, transfer_syntax_uid, blob_key, size, sha256, received_at, source_ae)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, sop, rec.TransferSyntaxUID, rec.BlobKey, rec.Size, rec.SHA256[:], rec.ReceivedAt.UnixNano(), rec.SourceAE)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite index: keep version of %s: %w", sop, err)
	}
	return nil
}

const selectVersions = `SELECT sop_uid, transfer_syntax_uid, blob_key, size, sha256, received_at, source_ae
	FROM instance_versions WHERE sop_uid = ? ORDER BY pk`

func scanVersions(rows *sql.Rows) ([]*index.Stored, error) {
	defer rows.Close()
	var out []*index.Stored
	for rows.Next() {
		st := &index.Stored{}
		var sum []byte
		var at int64
		if err := rows.Scan(&st.SOPInstanceUID, &st.TransferSyntaxUID, &st.BlobKey, &st.Size, &sum, &at, &st.SourceAE); err != nil {
			return nil, err
		}
		copy(st.SHA256[:], sum)
		st.ReceivedAt = time.Unix(0, at).UTC()
		out = append(out, st)
	}
	return out, rows.Err()
}

func (db *DB) txVersions(ctx context.Context, tx *wtx, sop string) ([]*index.Stored, error) {
	rows, err := db.txQuery(ctx, tx, selectVersions, sop)
	if err != nil {
		return nil, err
	}
	return scanVersions(rows)
}

// Versions returns the versions kept aside for sop, oldest first.
func (db *DB) Versions(ctx context.Context, sop string) ([]*index.Stored, error) {
	rows, err := db.query(ctx, selectVersions, sop)
	if err != nil {
		return nil, fmt.Errorf("sqlite index: versions of %s: %w", sop, err)
	}
	vs, err := scanVersions(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite index: versions of %s: %w", sop, err)
	}
	return vs, nil
}
