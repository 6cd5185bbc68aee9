package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// dcmtkUnknown are the transfer syntaxes of the corpus DCMTK 3.6.7 does not know.
var dcmtkUnknown = map[string]bool{
	"1.2.840.10008.1.2.4.110": true, "1.2.840.10008.1.2.4.111": true, "1.2.840.10008.1.2.4.112": true, // JPEG XL
	"1.2.840.10008.1.2.4.201": true, "1.2.840.10008.1.2.4.202": true, "1.2.840.10008.1.2.4.203": true, // HTJ2K
}

// corpusInst is a corpus file to send: its name, path, SOP class and transfer syntax, and its
// manifest row.
type corpusInst struct {
	name, path, class, ts string
	row                   corpustest.Row
}

// dcmtkCorpus returns the corpus files DCMTK reads cleanly, one per SOP Instance UID, whose SOP
// class is a storage class Lightbox serves and whose transfer syntax DCMTK knows, by name.
func dcmtkCorpus(t *testing.T) []corpusInst {
	t.Helper()
	storable := map[string]bool{}
	for _, c := range dimse.StorageSOPClasses() {
		storable[c] = true
	}
	_, rows := corpustest.Manifest(t)
	byName := map[string]corpustest.Row{}
	for _, r := range rows {
		byName[r.File()] = r
	}
	var out []corpusInst
	for path := range corpusFiles(t, nil) {
		fi, err := dimse.OpenFile(path)
		if err != nil {
			continue
		}
		fi.Close()
		if !storable[fi.SOPClassUID] || dcmtkUnknown[fi.TransferSyntax] {
			continue
		}
		out = append(out, corpusInst{name: filepath.Base(path), path: path, class: fi.SOPClassUID, ts: fi.TransferSyntax, row: byName[filepath.Base(path)]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// storescpProfile writes a storescp association profile "Files" accepting every class of files
// in every syntax they use (and the native ones).
func storescpProfile(t *testing.T, files []corpusInst) string {
	t.Helper()
	tss := []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian, dicom.ExplicitVRBigEndian}
	var classes []string
	for _, f := range files {
		if !slices.Contains(tss, f.ts) {
			tss = append(tss, f.ts)
		}
		if !slices.Contains(classes, f.class) {
			classes = append(classes, f.class)
		}
	}
	var b strings.Builder
	b.WriteString("[[TransferSyntaxes]]\n[All]\n")
	for i, ts := range tss {
		fmt.Fprintf(&b, "TransferSyntax%d = %s\n", i+1, ts)
	}
	b.WriteString("[[PresentationContexts]]\n[Files]\n")
	for i, c := range classes {
		fmt.Fprintf(&b, "PresentationContext%d = %s\\All\n", i+1, c)
	}
	b.WriteString("[[Profiles]]\n[Files]\nPresentationContexts = Files\n")
	p := filepath.Join(t.TempDir(), "storescp.cfg")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// storescuProfile writes a storescu association profile "Files" proposing each (class, syntax)
// pair of files in a context of its own, so that every file goes as stored, in one association.
func storescuProfile(t *testing.T, files []corpusInst) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("[[TransferSyntaxes]]\n")
	tsIndex := map[string]int{}
	for _, f := range files {
		if _, ok := tsIndex[f.ts]; !ok {
			tsIndex[f.ts] = len(tsIndex)
			fmt.Fprintf(&b, "[TS%d]\nTransferSyntax1 = %s\n", tsIndex[f.ts], f.ts)
		}
	}
	b.WriteString("[[PresentationContexts]]\n[Files]\n")
	seen := map[string]bool{}
	for _, f := range files {
		k := f.class + "\\TS" + strconv.Itoa(tsIndex[f.ts])
		if !seen[k] {
			seen[k] = true
			fmt.Fprintf(&b, "PresentationContext%d = %s\n", len(seen), k)
		}
	}
	if len(seen) > 128 {
		t.Fatalf("%d presentation contexts needed, more than one association holds", len(seen))
	}
	b.WriteString("[[Profiles]]\n[Files]\nPresentationContexts = Files\n")
	p := filepath.Join(t.TempDir(), "storescu.cfg")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// refInst is an instance as storescp recorded it, with the attributes the queries use.
type refInst struct {
	received
	sop, class, patientID, issuer, study, series, date, modality string
	order                                                        int
}

// parseRef reads the attributes of the instances storescp recorded; order is the send order.
func parseRef(t *testing.T, ref map[string]received, files []corpusInst) map[string]*refInst {
	t.Helper()
	order := map[string]int{}
	for i, f := range files {
		order[f.row["SOPInstanceUID"]] = i
	}
	out := map[string]*refInst{}
	for sop, r := range ref {
		ds, err := dicom.ParseDataset(r.data, r.ts, dicom.ReadOptions{StopAt: tag.PixelData})
		if err != nil {
			t.Fatalf("%s: %v", r.file, err)
		}
		out[sop] = &refInst{received: r, sop: sop, class: ds.String(tag.SOPClassUID), patientID: ds.String(tag.PatientID),
			issuer: ds.String(tag.IssuerOfPatientID), study: ds.String(tag.StudyInstanceUID), series: ds.String(tag.SeriesInstanceUID),
			date: ds.String(tag.StudyDate), modality: ds.String(tag.Modality), order: order[sop]}
	}
	return out
}

// TestDCMTK runs Lightbox against DCMTK end to end: storescu sends the corpus in one association;
// what Lightbox then serves (lightbox get, getscu, movescu to storescp) must be byte for byte
// what storescp recorded of the same send in bit-preserving mode; findscu's matches at each
// level and with each kind of matching must be the corpus's counts; a C-MOVE to an unknown AE
// is refused with 0xA801.
func TestDCMTK(t *testing.T) {
	needTool(t, "storescu")
	needTool(t, "storescp")
	if !isolate(t, 5*time.Minute) {
		return
	}
	files := dcmtkCorpus(t)
	refPort, refDir, refLog := startStorescp(t, "-xf", storescpProfile(t, files), "Files")
	// The move destination accepts what the reference does (storescp +xa leaves out syntaxes
	// of the corpus, such as JPEG processes 10/12 and 14).
	movePort, moveDir, _ := startStorescp(t, "-xf", storescpProfile(t, files), "Files")
	s := startServer(t, "", "--peer", "STORESCP=127.0.0.1:"+strconv.Itoa(movePort))

	send := func(ae string, port int) string {
		args := []string{"-v", "-nh", "-aec", ae, "-xf", storescuProfile(t, files), "Files", "127.0.0.1", strconv.Itoa(port)}
		for _, f := range files {
			args = append(args, f.path)
		}
		out, err := toolCmd(t, 2*time.Minute, "storescu", args...).CombinedOutput()
		if err != nil {
			t.Logf("storescu to %s exited with %v: %s", ae, err, errorLines(string(out)))
		}
		return string(out)
	}
	t0 := time.Now()
	send("STORESCP", refPort)
	t1 := time.Now()
	lbOut := send("LIGHTBOX", s.dicomPort)
	t.Logf("storescu: %d files to storescp in %v, to Lightbox in %v", len(files), t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	ref := readPart10Dir(t, refDir)
	if len(ref) < len(files)*9/10 {
		t.Fatalf("storescp recorded %d of %d files: %s", len(ref), len(files), errorLines(refLog.String()))
	}
	// Lightbox refuses (0xC000) instances without a valid Study or Series Instance UID, which
	// storescp takes: the log says so for each.
	insts := parseRef(t, ref, files)
	for sop, in := range insts {
		if uid.IsValid(in.study) && uid.IsValid(in.series) {
			continue
		}
		delete(insts, sop)
		if line := logLine(s.log.String(), "sop_uid="+sop); !strings.Contains(line, "C-STORE failed") || !strings.Contains(line, "0xC000") {
			t.Errorf("%s has no valid Study or Series Instance UID: the server log does not show it refused with 0xC000 (%q)", sop, line)
		}
	}
	t.Logf("storescp recorded %d of %d files; %d have the UIDs an archive needs", len(ref), len(files), len(insts))
	if n := s.mustHealth(); n != len(insts) {
		t.Errorf("Lightbox holds %d instances, want %d; storescu said: %s", n, len(insts), errorLines(lbOut))
	}

	// Everything back with lightbox get, in groups of studies whose classes and syntaxes fit
	// one association.
	got := lightboxGetAll(t, s, insts)
	verbatim := compareToRef(t, "lightbox get", got, insts, files)
	t.Logf("lightbox get: %d instances retrieved; %d identical to their file (the others as storescu re-encoded them)", len(got), verbatim)

	t.Run("findscu", func(t *testing.T) { findscuMatrix(t, s, insts) })
	t.Run("movescu", func(t *testing.T) {
		var studies []string
		for _, in := range insts {
			if !slices.Contains(studies, in.study) {
				studies = append(studies, in.study)
			}
		}
		out, err := toolCmd(t, 2*time.Minute, "movescu", "-v", "-S", "-aet", "MOVESCU", "-aem", "STORESCP", "-aec", "LIGHTBOX",
			"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+strings.Join(studies, `\`), "127.0.0.1", strconv.Itoa(s.dicomPort)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Received Final Move Response (Success)") {
			t.Errorf("movescu: %v\n%s", err, out)
		}
		moved := readPart10Dir(t, moveDir)
		compareToRef(t, "movescu to storescp", moved, insts, files)
	})
	t.Run("move-unknown-destination", func(t *testing.T) {
		var study string
		for _, in := range insts {
			study = in.study
			break
		}
		out, _ := toolCmd(t, time.Minute, "movescu", "-v", "-S", "-aem", "NOSUCHAE", "-aec", "LIGHTBOX",
			"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+study, "127.0.0.1", strconv.Itoa(s.dicomPort)).CombinedOutput()
		if !strings.Contains(strings.ToLower(string(out)), "0xa801") && !strings.Contains(string(out), "MoveDestinationUnknown") {
			t.Errorf("movescu to an unknown destination: no 0xA801 in its output:\n%s", out)
		}
		lout, err := lightbox(t, true, "move", "LIGHTBOX@"+s.dicomAddr(), "--dest", "NOSUCHAE", "-k", "StudyInstanceUID="+study)
		if ee, ok := err.(interface{ ExitCode() int }); !ok || ee.ExitCode() != 1 {
			t.Errorf("lightbox move to an unknown destination: %v, want exit status 1\n%s", err, lout)
		}
		if !strings.Contains(strings.ToLower(lout), "a801") || !strings.Contains(lout, "NOSUCHAE") {
			t.Errorf("lightbox move to an unknown destination does not report 0xA801 and the AE title:\n%s", lout)
		}
		if line := logLine(s.log.String(), "unknown move destination"); !strings.Contains(line, "NOSUCHAE") {
			t.Errorf("the server log does not name the unknown destination")
		}
	})
	t.Run("getscu", func(t *testing.T) {
		// getscu proposes one syntax per class (Explicit VR Little Endian by default): a study
		// whose instances are all in it.
		byStudy := map[string][]*refInst{}
		for _, in := range insts {
			byStudy[in.study] = append(byStudy[in.study], in)
		}
		var study string
		best := 0
		for u, ins := range byStudy {
			ok := true
			for _, in := range ins {
				ok = ok && in.ts == dicom.ExplicitVRLittleEndian
			}
			if ok && (len(ins) > best || len(ins) == best && u < study) {
				study, best = u, len(ins)
			}
		}
		if study == "" {
			t.Skip("no study entirely in Explicit VR Little Endian")
		}
		dir := t.TempDir()
		out, err := toolCmd(t, time.Minute, "getscu", "-v", "-S", "+B", "-od", dir, "-aec", "LIGHTBOX",
			"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+study, "127.0.0.1", strconv.Itoa(s.dicomPort)).CombinedOutput()
		if err != nil {
			t.Fatalf("getscu: %v\n%s", err, out)
		}
		got := readPart10Dir(t, dir)
		if len(got) != best {
			t.Errorf("getscu received %d instances of study %s, want %d", len(got), study, best)
		}
		want := map[string]*refInst{}
		for _, in := range byStudy[study] {
			want[in.sop] = in
		}
		compareToRef(t, "getscu", got, want, files)
	})
}

// lightboxGetAll retrieves every instance of insts with `lightbox get`, by groups of studies.
func lightboxGetAll(t *testing.T, s *server, insts map[string]*refInst) map[string]received {
	t.Helper()
	type group struct {
		studies, classes, syntaxes []string
	}
	byStudy := map[string][]*refInst{}
	for _, in := range insts {
		byStudy[in.study] = append(byStudy[in.study], in)
	}
	var studyUIDs []string
	for u := range byStudy {
		studyUIDs = append(studyUIDs, u)
	}
	sort.Strings(studyUIDs)
	var groups []group
	var g group
	for _, u := range studyUIDs {
		next := group{studies: append(slices.Clone(g.studies), u), classes: slices.Clone(g.classes), syntaxes: slices.Clone(g.syntaxes)}
		for _, in := range byStudy[u] {
			if !slices.Contains(next.classes, in.class) {
				next.classes = append(next.classes, in.class)
			}
			if !slices.Contains(next.syntaxes, in.ts) {
				next.syntaxes = append(next.syntaxes, in.ts)
			}
		}
		if len(g.studies) > 0 && (len(next.classes)*len(next.syntaxes) > 100 || len(next.studies) > 40) {
			groups = append(groups, g)
			g = group{}
			next = group{studies: []string{u}}
			for _, in := range byStudy[u] {
				if !slices.Contains(next.classes, in.class) {
					next.classes = append(next.classes, in.class)
				}
				if !slices.Contains(next.syntaxes, in.ts) {
					next.syntaxes = append(next.syntaxes, in.ts)
				}
			}
		}
		g = next
	}
	if len(g.studies) > 0 {
		groups = append(groups, g)
	}
	out := map[string]received{}
	for _, g := range groups {
		dir := t.TempDir()
		lout, err := lightbox(t, true, "get", "LIGHTBOX@"+s.dicomAddr(), "--out", dir, "--classes", strings.Join(g.classes, ","),
			"--syntaxes", strings.Join(g.syntaxes, ","), "-k", "StudyInstanceUID="+strings.Join(g.studies, `\`))
		if err != nil {
			t.Errorf("lightbox get of %d studies (%d classes, %d syntaxes): %v\n%s", len(g.studies), len(g.classes), len(g.syntaxes), err, lout)
		}
		for k, v := range readPart10Dir(t, dir) {
			out[k] = v
		}
	}
	t.Logf("lightbox get: %d instances in %d runs", len(out), len(groups))
	return out
}

// compareToRef checks that got holds exactly the instances of want, each in the syntax and with
// the data set bytes storescp recorded, and returns how many are also the file's own bytes.
func compareToRef(t *testing.T, what string, got map[string]received, want map[string]*refInst, files []corpusInst) int {
	t.Helper()
	filePath := map[string]string{}
	for _, f := range files {
		filePath[f.row["SOPInstanceUID"]] = f.path
	}
	verbatim := 0
	for sop, in := range want {
		r, ok := got[sop]
		switch {
		case !ok:
			t.Errorf("%s: %s (%s, %s) missing", what, sop, uid.Name(in.class), uid.Name(in.ts))
		case r.ts != in.ts:
			t.Errorf("%s: %s came in %s, stored in %s", what, sop, uid.Name(r.ts), uid.Name(in.ts))
		case !bytes.Equal(r.data, in.data):
			t.Errorf("%s: %s (%s): %d bytes differ from the %d storescp recorded at byte %d (% x… / % x…)", what, sop, uid.Name(in.ts), len(r.data), len(in.data),
				firstDiff(r.data, in.data), r.data[:min(24, len(r.data))], in.data[:min(24, len(in.data))])
		default:
			if p, ok := filePath[sop]; ok && bytes.Equal(r.data, datasetOf(t, p)) {
				verbatim++
			}
		}
	}
	for sop := range got {
		if want[sop] == nil {
			t.Errorf("%s: unexpected instance %s", what, sop)
		}
	}
	return verbatim
}

// findscu runs a C-FIND with DCMTK's findscu and returns the matches.
func findscu(t *testing.T, s *server, model string, keys ...string) []*dicom.Dataset {
	t.Helper()
	dir := t.TempDir()
	args := []string{model, "-X", "-od", dir, "-aec", s.ae}
	for _, k := range keys {
		args = append(args, "-k", k)
	}
	out, err := toolCmd(t, time.Minute, "findscu", append(args, "127.0.0.1", strconv.Itoa(s.dicomPort))...).CombinedOutput()
	if err != nil {
		t.Errorf("findscu %v: %v\n%s", keys, err, out)
		return nil
	}
	ents, _ := os.ReadDir(dir)
	var res []*dicom.Dataset
	for _, e := range ents {
		f, err := dicom.ReadFile(filepath.Join(dir, e.Name()), dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("findscu response %s: %v", e.Name(), err)
		}
		res = append(res, f.Dataset)
	}
	return res
}

// wildcard matches s against a DICOM wildcard pattern (* and ?).
func wildcard(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcard(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcard(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && wildcard(p[1:], s[1:])
}

// findscuMatrix queries every level with each kind of matching and compares the number of
// matches with what was stored. The hierarchy is the index's: a study belongs to the patient of
// its first instance stored, a series to the study of its first.
func findscuMatrix(t *testing.T, s *server, insts map[string]*refInst) {
	needTool(t, "findscu")
	ordered := make([]*refInst, 0, len(insts))
	for _, in := range insts {
		ordered = append(ordered, in)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].order < ordered[j].order })
	type patient struct{ id, issuer string }
	studyPatient := map[string]patient{}
	studyDates := map[string][]string{}
	seriesStudy := map[string]string{}
	seriesModality := map[string]string{}
	for _, in := range ordered {
		if _, ok := studyPatient[in.study]; !ok {
			studyPatient[in.study] = patient{in.patientID, in.issuer}
		}
		if in.date != "" {
			studyDates[in.study] = append(studyDates[in.study], in.date)
		}
		if _, ok := seriesStudy[in.series]; !ok {
			seriesStudy[in.series] = in.study
			seriesModality[in.series] = in.modality
		}
	}
	patients := map[patient]bool{}
	for _, p := range studyPatient {
		patients[p] = true
	}
	var studies, seriesList []string
	for u := range studyPatient {
		studies = append(studies, u)
	}
	for u := range seriesStudy {
		seriesList = append(seriesList, u)
	}
	sort.Strings(studies)
	sort.Strings(seriesList)
	countPatients := func(f func(patient) bool) int {
		n := 0
		for p := range patients {
			if f(p) {
				n++
			}
		}
		return n
	}
	// A study's date may differ between its instances: accept a count between the studies
	// all of whose dates match and those any of whose dates do.
	dateRange := func(lo, hi string) (int, int) {
		all, any := 0, 0
		for _, u := range studies {
			a, y := len(studyDates[u]) > 0, false
			for _, d := range studyDates[u] {
				in := (lo == "" || d >= lo) && (hi == "" || d <= hi)
				a = a && in
				y = y || in
			}
			if a {
				all++
			}
			if y {
				any++
			}
		}
		return all, any
	}
	// Pick the patient ID, study and series used for single values, wildcards and lists.
	var pid string
	for p := range patients {
		if len(p.id) >= 3 && !strings.ContainsAny(p.id, `*?\ `) && (pid == "" || p.id < pid) {
			pid = p.id
		}
	}
	pidPrefix := pid[:2] + "*"
	pidQ := pid[:1] + "?" + pid[2:]
	var dates []string
	for _, ds := range studyDates {
		dates = append(dates, ds...)
	}
	sort.Strings(dates)
	if len(dates) < 4 {
		t.Fatalf("only %d study dates in the corpus", len(dates))
	}
	loD, midD, hiD := dates[len(dates)/4], dates[len(dates)/2], dates[3*len(dates)/4]
	studyOf := func(u string) int {
		n := 0
		for _, in := range insts {
			if in.study == u {
				n++
			}
		}
		return n
	}
	var bigStudy string
	for _, u := range studies {
		if bigStudy == "" || studyOf(u) > studyOf(bigStudy) {
			bigStudy = u
		}
	}
	seriesOf := func(study string) int {
		n := 0
		for _, st := range seriesStudy {
			if st == study {
				n++
			}
		}
		return n
	}
	countSeries := func(f func(string) bool) int {
		n := 0
		for _, u := range seriesList {
			if f(u) {
				n++
			}
		}
		return n
	}
	var sops []string
	for _, in := range ordered {
		sops = append(sops, in.sop)
	}

	type check struct {
		name     string
		model    string
		keys     []string
		min, max int
	}
	exact := func(name, model string, n int, keys ...string) check { return check{name, model, keys, n, n} }
	lo1, hi1 := dateRange(loD, hiD)
	lo2, hi2 := dateRange("", midD)
	lo3, hi3 := dateRange(midD, "")
	checks := []check{
		exact("PATIENT universal", "-P", len(patients), "QueryRetrieveLevel=PATIENT", "PatientID=", "PatientName="),
		exact("PATIENT single value", "-P", countPatients(func(p patient) bool { return p.id == pid }), "QueryRetrieveLevel=PATIENT", "PatientID="+pid),
		exact("PATIENT wildcard *", "-P", countPatients(func(p patient) bool { return wildcard(pidPrefix, p.id) }), "QueryRetrieveLevel=PATIENT", "PatientID="+pidPrefix),
		exact("PATIENT wildcard ?", "-P", countPatients(func(p patient) bool { return wildcard(pidQ, p.id) }), "QueryRetrieveLevel=PATIENT", "PatientID="+pidQ),
		exact("STUDY universal", "-S", len(studies), "QueryRetrieveLevel=STUDY", "StudyInstanceUID="),
		exact("STUDY single value", "-S", 1, "QueryRetrieveLevel=STUDY", "StudyInstanceUID="+bigStudy),
		exact("STUDY UID list", "-S", 3, "QueryRetrieveLevel=STUDY", "StudyInstanceUID="+strings.Join(studies[:3], `\`)),
		exact("STUDY patient wildcard", "-S", len(filterStudies(studies, func(u string) bool { return wildcard(pidPrefix, studyPatient[u].id) })),
			"QueryRetrieveLevel=STUDY", "StudyInstanceUID=", "PatientID="+pidPrefix),
		{"STUDY date range", "-S", []string{"QueryRetrieveLevel=STUDY", "StudyInstanceUID=", "StudyDate=" + loD + "-" + hiD}, lo1, hi1},
		{"STUDY date open start", "-S", []string{"QueryRetrieveLevel=STUDY", "StudyInstanceUID=", "StudyDate=-" + midD}, lo2, hi2},
		{"STUDY date open end", "-S", []string{"QueryRetrieveLevel=STUDY", "StudyInstanceUID=", "StudyDate=" + midD + "-"}, lo3, hi3},
		exact("PATIENT-root STUDY single value", "-P", len(filterStudies(studies, func(u string) bool { return studyPatient[u].id == pid })),
			"QueryRetrieveLevel=STUDY", "PatientID="+pid, "StudyInstanceUID="),
		exact("SERIES universal in a study", "-S", seriesOf(bigStudy), "QueryRetrieveLevel=SERIES", "StudyInstanceUID="+bigStudy, "SeriesInstanceUID="),
		exact("SERIES single value", "-S", countSeries(func(u string) bool { return seriesModality[u] == "MR" }), "QueryRetrieveLevel=SERIES", "SeriesInstanceUID=", "Modality=MR"),
		exact("SERIES wildcard", "-S", countSeries(func(u string) bool { return wildcard("C?", seriesModality[u]) }), "QueryRetrieveLevel=SERIES", "SeriesInstanceUID=", "Modality=C?"),
		exact("SERIES UID list", "-S", 2, "QueryRetrieveLevel=SERIES", "SeriesInstanceUID="+seriesList[0]+`\`+seriesList[1]),
		exact("IMAGE universal", "-S", len(insts), "QueryRetrieveLevel=IMAGE", "SOPInstanceUID="),
		exact("IMAGE in a study", "-S", studyOf(bigStudy), "QueryRetrieveLevel=IMAGE", "StudyInstanceUID="+bigStudy, "SOPInstanceUID="),
		exact("IMAGE single value", "-S", 1, "QueryRetrieveLevel=IMAGE", "SOPInstanceUID="+sops[0]),
		exact("IMAGE UID list", "-S", 3, "QueryRetrieveLevel=IMAGE", "SOPInstanceUID="+strings.Join(sops[:3], `\`)),
	}
	for _, c := range checks {
		got := len(findscu(t, s, c.model, c.keys...))
		if got < c.min || got > c.max {
			t.Errorf("%s (%s %v): %d matches, want %d..%d", c.name, c.model, c.keys, got, c.min, c.max)
		} else {
			t.Logf("%s: %d matches", c.name, got)
		}
	}
}

func filterStudies(studies []string, f func(string) bool) []string {
	var out []string
	for _, u := range studies {
		if f(u) {
			out = append(out, u)
		}
	}
	return out
}
