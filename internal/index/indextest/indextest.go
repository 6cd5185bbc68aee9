package indextest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Run runs the conformance suite. open returns a new, empty index for each subtest; the index
// is closed by the caller's cleanup.
func Run(t *testing.T, open func(t *testing.T) index.Index) {
	tests := []struct {
		name string
		fn   func(t *testing.T, idx index.Index)
	}{
		{"RoundTrip", testRoundTrip},
		{"Duplicate", testDuplicate},
		{"Replace", testReplace},
		{"Upsert", testUpsert},
		{"StudyUnderOtherPatient", testStudyUnderOtherPatient},
		{"Matching", testMatching},
		{"Computed", testComputed},
		{"CountAndPaging", testPaging},
		{"OrderBy", testOrderBy},
		{"InvalidQuery", testInvalidQuery},
		{"Delete", testDelete},
		{"Instances", testInstances},
		{"Concurrency", testConcurrency},
		{"EarlyStop", testEarlyStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// expectStored is the Stored an index should hold for rec.
func expectStored(rec *index.Record, in Inst, instanceNumber, frames int) *index.Stored {
	class := in.SOPClass
	if class == "" {
		class = "1.2.840.10008.5.1.4.1.1.2"
	}
	return &index.Stored{
		StudyInstanceUID:  in.StudyUID,
		SeriesInstanceUID: in.SeriesUID,
		SOPInstanceUID:    in.SOPUID,
		SOPClassUID:       class,
		TransferSyntaxUID: rec.TransferSyntaxUID,
		BlobKey:           rec.BlobKey,
		Size:              rec.Size,
		SHA256:            rec.SHA256,
		ReceivedAt:        rec.ReceivedAt,
		SourceAE:          rec.SourceAE,
		Metadata:          rec.Metadata,
		Frames:            rec.Frames,
		NumberOfFrames:    frames,
		InstanceNumber:    instanceNumber,
	}
}

func sameStored(t *testing.T, what string, got, want *index.Stored) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil record", what)
	}
	g, w := *got, *want
	if !g.ReceivedAt.Equal(w.ReceivedAt) {
		t.Errorf("%s: ReceivedAt %v, want %v", what, g.ReceivedAt, w.ReceivedAt)
	}
	g.ReceivedAt, w.ReceivedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func testRoundTrip(t *testing.T, idx index.Index) {
	ctx := context.Background()
	in := Inst{PatientID: "P", StudyUID: "1.2", SeriesUID: "1.2.3", SOPUID: "1.2.3.4",
		Attrs: []A{{tag.InstanceNumber, "7"}, {tag.NumberOfFrames, "12"}}}
	rec := Record(t, in)
	want := expectStored(rec, in, 7, 12)
	got, err := idx.Put(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	sameStored(t, "Put", got, want)
	got, err = idx.Lookup(ctx, in.SOPUID)
	if err != nil {
		t.Fatal(err)
	}
	sameStored(t, "Lookup", got, want)
	ms := search(t, idx, &index.Query{Level: index.Instance, Keys: []index.Key{{Tag: tag.SOPInstanceUID, VR: vr.UI, Value: in.SOPUID}}})
	if len(ms) != 1 || ms[0].Instance == nil {
		t.Fatalf("instance search: %d matches", len(ms))
	}
	sameStored(t, "Search", ms[0].Instance, want)
	if got := ms[0].Attrs.String(tag.AvailableTransferSyntaxUID); got != rec.TransferSyntaxUID {
		t.Errorf("AvailableTransferSyntaxUID %q", got)
	}
	if _, err := idx.Lookup(ctx, "9.9.9"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("Lookup of an unknown instance: %v, want ErrNotFound", err)
	}
	var keys []string
	if err := idx.BlobKeys(ctx, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{rec.BlobKey}) {
		t.Errorf("BlobKeys %v", keys)
	}
	st, err := idx.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (index.Stats{Patients: 1, Studies: 1, Series: 1, Instances: 1, Bytes: rec.Size}); st != want {
		t.Errorf("Stats %+v, want %+v", st, want)
	}
}

func testDuplicate(t *testing.T, idx index.Index) {
	ctx := context.Background()
	in := Inst{PatientID: "P", StudyUID: "1.2", SeriesUID: "1.2.3", SOPUID: "1.2.3.4"}
	first := Record(t, in)
	if _, err := idx.Put(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := Record(t, in)
	second.BlobKey = "another-blob"
	got, err := idx.Put(ctx, second)
	if !errors.Is(err, index.ErrExists) {
		t.Fatalf("second Put: %v, want ErrExists", err)
	}
	sameStored(t, "stored record returned with ErrExists", got, expectStored(first, in, 0, 0))
	if n := count(t, idx, &index.Query{Level: index.Instance}); n != 1 {
		t.Errorf("%d instances after a duplicate", n)
	}
}

func testReplace(t *testing.T, idx index.Index) {
	ctx := context.Background()
	in := Inst{PatientID: "P", StudyUID: "1.2", SeriesUID: "1.2.3", SOPUID: "1.2.3.4", Attrs: []A{{tag.InstanceNumber, "1"}}}
	first := Record(t, in)
	if _, err := idx.Put(ctx, first); err != nil {
		t.Fatal(err)
	}
	// The new version moves to another series of the same study: the old series is left empty.
	moved := in
	moved.SeriesUID = "1.2.5"
	moved.Attrs = []A{{tag.InstanceNumber, "2"}, {tag.Modality, "MR"}}
	second := Record(t, moved)
	second.BlobKey = "blob-new"
	old, err := idx.Replace(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	sameStored(t, "Replace: old record", old, expectStored(first, in, 1, 0))
	got, err := idx.Lookup(ctx, in.SOPUID)
	if err != nil {
		t.Fatal(err)
	}
	sameStored(t, "Lookup after Replace", got, expectStored(second, moved, 2, 0))
	st, err := idx.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Patients != 1 || st.Studies != 1 || st.Series != 1 || st.Instances != 1 {
		t.Errorf("Stats after Replace: %+v", st)
	}
	s := one(t, idx, &index.Query{Level: index.Study})
	checkAttr(t, s, tag.NumberOfStudyRelatedSeries, "1")
	checkAttr(t, s, tag.NumberOfStudyRelatedInstances, "1")
	checkAttr(t, s, tag.ModalitiesInStudy, "MR")
}

func testUpsert(t *testing.T, idx index.Index) {
	ctx := context.Background()
	put := func(in Inst) {
		t.Helper()
		if _, err := idx.Put(ctx, Record(t, in)); err != nil {
			t.Fatal(err)
		}
	}
	put(Inst{PatientID: "P", StudyUID: "1.2", SeriesUID: "1.2.3", SOPUID: "1.2.3.1", Attrs: []A{{tag.Modality, "CT"}, {tag.PatientName, "Old^Name"}}})
	s := one(t, idx, &index.Query{Level: index.Study})
	checkAttr(t, s, tag.NumberOfStudyRelatedInstances, "1")
	checkAttr(t, s, tag.StudyDescription, "")
	// A second instance of the same series and study: counts grow, attributes update.
	put(Inst{PatientID: "P", StudyUID: "1.2", SeriesUID: "1.2.3", SOPUID: "1.2.3.2",
		Attrs: []A{{tag.Modality, "CT"}, {tag.StudyDescription, "Later"}, {tag.PatientName, "New^Name"}}})
	// A new series of the same study; no description: the one indexed stays.
	put(Inst{PatientID: "P", StudyUID: "1.2", SeriesUID: "1.2.4", SOPUID: "1.2.4.1", Attrs: []A{{tag.Modality, "PR"}}})
	st, err := idx.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Patients != 1 || st.Studies != 1 || st.Series != 2 || st.Instances != 3 {
		t.Errorf("Stats %+v", st)
	}
	s = one(t, idx, &index.Query{Level: index.Study})
	checkAttr(t, s, tag.NumberOfStudyRelatedInstances, "3")
	checkAttr(t, s, tag.NumberOfStudyRelatedSeries, "2")
	checkAttr(t, s, tag.StudyDescription, "Later")
	checkAttr(t, s, tag.PatientName, "New^Name")
	checkMulti(t, s, tag.ModalitiesInStudy, "CT", "PR")
	p := one(t, idx, &index.Query{Level: index.Patient})
	checkAttr(t, p, tag.NumberOfPatientRelatedStudies, "1")
	checkAttr(t, p, tag.NumberOfPatientRelatedSeries, "2")
	checkAttr(t, p, tag.NumberOfPatientRelatedInstances, "3")
	// The same Patient ID with another issuer is another patient.
	put(Inst{PatientID: "P", StudyUID: "1.3", SeriesUID: "1.3.1", SOPUID: "1.3.1.1", Attrs: []A{{tag.IssuerOfPatientID, "OTHER"}}})
	if n := count(t, idx, &index.Query{Level: index.Patient}); n != 2 {
		t.Errorf("%d patients, want 2 (same ID, two issuers)", n)
	}
}

func testStudyUnderOtherPatient(t *testing.T, idx index.Index) {
	ctx := context.Background()
	for _, in := range []Inst{
		{PatientID: "A", StudyUID: "1.2", SeriesUID: "1.2.3", SOPUID: "1.2.3.1", Attrs: []A{{tag.PatientName, "First"}}},
		{PatientID: "B", StudyUID: "1.2", SeriesUID: "1.2.4", SOPUID: "1.2.4.1", Attrs: []A{{tag.PatientName, "Second"}}},
	} {
		if _, err := idx.Put(ctx, Record(t, in)); err != nil {
			t.Fatal(err)
		}
	}
	ps := search(t, idx, &index.Query{Level: index.Patient})
	if len(ps) != 1 {
		t.Fatalf("%d patients, want 1 (the study keeps its first patient)", len(ps))
	}
	checkAttr(t, ps[0], tag.PatientID, "A")
	checkAttr(t, ps[0], tag.PatientName, "First")
	checkAttr(t, ps[0], tag.NumberOfPatientRelatedInstances, "2")
	s := one(t, idx, &index.Query{Level: index.Study})
	checkAttr(t, s, tag.PatientID, "A")
	checkAttr(t, s, tag.NumberOfStudyRelatedSeries, "2")
}

// matchCase is one query of testMatching and the unique keys it must return.
type matchCase struct {
	name  string
	level index.Level
	keys  []index.Key
	ci    bool
	fuzzy bool
	want  []string
}

func key(t tag.Tag, value string) index.Key {
	v := vrOf(t)
	return index.Key{Tag: t, VR: v, Value: value}
}

var matchCases = []matchCase{
	// Patient level.
	{"patient id exact", index.Patient, []index.Key{key(tag.PatientID, "PID1")}, false, false, []string{"PID1"}},
	{"patient id with % and _ exact", index.Patient, []index.Key{key(tag.PatientID, "PID_3%")}, false, false, []string{"PID_3%"}},
	{"literal _ is no wildcard", index.Patient, []index.Key{key(tag.PatientID, "PID_*")}, false, false, []string{"PID_3%"}},
	{"literal % is no wildcard", index.Patient, []index.Key{key(tag.PatientID, "*%")}, false, false, []string{"PID_3%"}},
	{"question mark is one character", index.Patient, []index.Key{key(tag.PatientID, "PID?")}, false, false, []string{"PID1", "PID2", "PID4"}},
	{"universal empty", index.Patient, []index.Key{key(tag.PatientID, "")}, false, false, []string{"", "PID1", "PID2", "PID4", "PID_3%"}},
	{"universal star", index.Patient, []index.Key{key(tag.PatientID, "*")}, false, false, []string{"", "PID1", "PID2", "PID4", "PID_3%"}},
	{"universal on absent values", index.Patient, []index.Key{key(tag.PatientBirthDate, "")}, false, false, []string{"", "PID1", "PID2", "PID4", "PID_3%"}},
	{"double star", index.Patient, []index.Key{key(tag.PatientSex, "**")}, false, false, []string{"", "PID1", "PID2", "PID4", "PID_3%"}},
	{"name exact is case-sensitive", index.Patient, []index.Key{key(tag.PatientName, "doe^john")}, false, false, nil},
	{"name exact", index.Patient, []index.Key{key(tag.PatientName, "Doe^John")}, false, false, []string{"PID1"}},
	{"name case-insensitive", index.Patient, []index.Key{key(tag.PatientName, "doe^john")}, true, false, []string{"PID1"}},
	{"name wildcard case-sensitive", index.Patient, []index.Key{key(tag.PatientName, "DOE*")}, false, false, nil},
	{"name wildcard case-insensitive", index.Patient, []index.Key{key(tag.PatientName, "DOE*")}, true, false, []string{"PID1"}},
	{"name wildcard", index.Patient, []index.Key{key(tag.PatientName, "Smith*")}, false, false, []string{"PID2"}},
	{"name fuzzy first name", index.Patient, []index.Key{key(tag.PatientName, "jan")}, false, true, []string{"PID2"}},
	{"name fuzzy two components", index.Patient, []index.Key{key(tag.PatientName, "smi jan")}, false, true, []string{"PID2"}},
	{"name fuzzy no match", index.Patient, []index.Key{key(tag.PatientName, "smi bob")}, false, true, nil},
	{"name fuzzy other group", index.Patient, []index.Key{key(tag.PatientName, "山田")}, false, true, []string{"PID4"}},
	{"name fuzzy trailing star", index.Patient, []index.Key{key(tag.PatientName, "tar*")}, false, true, []string{"PID4"}},
	{"latin-1 name exact", index.Patient, []index.Key{key(tag.PatientName, "O'Brien^Seán")}, false, false, []string{"PID_3%"}},
	{"latin-1 name wildcard", index.Patient, []index.Key{key(tag.PatientName, "*Se?n")}, false, false, []string{"PID_3%"}},
	{"latin-1 name case-insensitive", index.Patient, []index.Key{key(tag.PatientName, "O'BRIEN^SEÁN")}, true, false, []string{"PID_3%"}},
	{"japanese name exact", index.Patient, []index.Key{key(tag.PatientName, "Yamada^Tarou=山田^太郎=やまだ^たろう")}, false, false, []string{"PID4"}},
	{"japanese name wildcard", index.Patient, []index.Key{key(tag.PatientName, "*=山田*")}, false, false, []string{"PID4"}},
	{"birth date range closed", index.Patient, []index.Key{key(tag.PatientBirthDate, "19700101-19851231")}, false, false, []string{"PID1", "PID2"}},
	{"birth date range open start", index.Patient, []index.Key{key(tag.PatientBirthDate, "-19800101")}, false, false, []string{"PID1"}},
	{"birth date range open end", index.Patient, []index.Key{key(tag.PatientBirthDate, "20000101-")}, false, false, []string{"PID_3%"}},
	{"birth date range short bounds", index.Patient, []index.Key{key(tag.PatientBirthDate, "1985-2000")}, false, false, []string{"PID2", "PID_3%"}},
	{"sex list", index.Patient, []index.Key{key(tag.PatientSex, `M\F`)}, false, false, []string{"PID1", "PID2", "PID_3%"}},
	{"patient related studies", index.Patient, []index.Key{key(tag.NumberOfPatientRelatedStudies, "2")}, false, false, []string{"PID1"}},
	// Study level.
	{"study date exact", index.Study, []index.Key{key(tag.StudyDate, "20240115")}, false, false, []string{"1.1"}},
	{"study date range closed", index.Study, []index.Key{key(tag.StudyDate, "20240101-20240229")}, false, false, []string{"1.1", "3.1"}},
	{"study date range open end", index.Study, []index.Key{key(tag.StudyDate, "20240301-")}, false, false, []string{"1.2", "5.1"}},
	{"study date range open start", index.Study, []index.Key{key(tag.StudyDate, "-20231231")}, false, false, []string{"2.1"}},
	{"study date range of months", index.Study, []index.Key{key(tag.StudyDate, "202402-202403")}, false, false, []string{"1.2", "3.1", "5.1"}},
	{"study date list with a range", index.Study, []index.Key{key(tag.StudyDate, `20240115\20240301-`)}, false, false, []string{"1.1", "1.2", "5.1"}},
	{"study time range", index.Study, []index.Key{key(tag.StudyTime, "1000-1200")}, false, false, []string{"1.1", "3.1"}},
	{"study time range with colons", index.Study, []index.Key{key(tag.StudyTime, "10:00-12:00")}, false, false, []string{"1.1", "3.1"}},
	{"study time range open start", index.Study, []index.Key{key(tag.StudyTime, "-0900")}, false, false, []string{"2.1", "5.1"}},
	{"study time range with fraction", index.Study, []index.Key{key(tag.StudyTime, "235959.1-")}, false, false, []string{"1.2"}},
	{"accession exact with _", index.Study, []index.Key{key(tag.AccessionNumber, "ACC_2")}, false, false, []string{"1.2"}},
	{"accession wildcard literal _", index.Study, []index.Key{key(tag.AccessionNumber, "ACC_*")}, false, false, []string{"1.2"}},
	{"accession wildcard literal %", index.Study, []index.Key{key(tag.AccessionNumber, "%*")}, false, false, []string{"3.1"}},
	{"accession question mark", index.Study, []index.Key{key(tag.AccessionNumber, "ACC?")}, false, false, []string{"1.1", "2.1", "4.1"}},
	{"study uid list", index.Study, []index.Key{key(tag.StudyInstanceUID, `1.1\2.1\9.9`)}, false, false, []string{"1.1", "2.1"}},
	{"modalities in study CT", index.Study, []index.Key{key(tag.ModalitiesInStudy, "CT")}, false, false, []string{"1.1", "2.1", "4.1"}},
	{"modalities in study SR", index.Study, []index.Key{key(tag.ModalitiesInStudy, "SR")}, false, false, []string{"1.1"}},
	{"modalities in study wildcard", index.Study, []index.Key{key(tag.ModalitiesInStudy, "?R")}, false, false, []string{"1.1", "1.2", "3.1"}},
	{"modalities in study list", index.Study, []index.Key{key(tag.ModalitiesInStudy, `SR\OT`)}, false, false, []string{"1.1", "5.1"}},
	{"sop classes in study", index.Study, []index.Key{key(tag.SOPClassesInStudy, srClass)}, false, false, []string{"1.1"}},
	{"description wildcard across slash", index.Study, []index.Key{key(tag.StudyDescription, "CT*")}, false, false, []string{"1.1", "2.1"}},
	{"description slash", index.Study, []index.Key{key(tag.StudyDescription, "*/*")}, false, false, []string{"2.1"}},
	{"description literal %", index.Study, []index.Key{key(tag.StudyDescription, "*50%")}, false, false, []string{"1.2"}},
	{"description brackets exact", index.Study, []index.Key{key(tag.StudyDescription, "Knee [left]")}, false, false, []string{"3.1"}},
	{"description brackets wildcard", index.Study, []index.Key{key(tag.StudyDescription, "Knee [*]")}, false, false, []string{"3.1"}},
	{"description japanese wildcard", index.Study, []index.Key{key(tag.StudyDescription, "胸部*")}, false, false, []string{"4.1"}},
	{"referring exact", index.Study, []index.Key{key(tag.ReferringPhysicianName, "Ref^One")}, false, false, []string{"1.1"}},
	{"referring case-insensitive", index.Study, []index.Key{key(tag.ReferringPhysicianName, "REF^ONE")}, true, false, []string{"1.1", "1.2"}},
	{"referring umlaut case-insensitive", index.Study, []index.Key{key(tag.ReferringPhysicianName, "MÜLLER^JÜRGEN")}, true, false, []string{"4.1"}},
	{"referring umlaut fuzzy", index.Study, []index.Key{key(tag.ReferringPhysicianName, "jürg")}, false, true, []string{"4.1"}},
	{"multi-valued PN exact", index.Study, []index.Key{key(tag.NameOfPhysiciansReadingStudy, "Reader^Bob")}, false, false, []string{"1.1"}},
	{"multi-valued PN wildcard", index.Study, []index.Key{key(tag.NameOfPhysiciansReadingStudy, "Reader^B*")}, false, false, []string{"1.1"}},
	{"multi-valued PN fuzzy", index.Study, []index.Key{key(tag.NameOfPhysiciansReadingStudy, "bob")}, false, true, []string{"1.1"}},
	{"multi-valued PN no value spans", index.Study, []index.Key{key(tag.NameOfPhysiciansReadingStudy, "Reader^Anna*Bob")}, false, false, nil},
	{"patient key at study level", index.Study, []index.Key{key(tag.PatientID, "PID1")}, false, false, []string{"1.1", "1.2"}},
	{"patient name at study level", index.Study, []index.Key{key(tag.PatientName, "Smith*")}, false, false, []string{"2.1"}},
	{"two keys", index.Study, []index.Key{key(tag.PatientID, "PID1"), key(tag.StudyDate, "2024-202402")}, false, false, []string{"1.1"}},
	{"study related instances", index.Study, []index.Key{key(tag.NumberOfStudyRelatedInstances, "4")}, false, false, []string{"1.1"}},
	// Series level.
	{"modality", index.Series, []index.Key{key(tag.Modality, "CT")}, false, false, []string{"1.1.1", "2.1.1", "4.1.1"}},
	{"modality list", index.Series, []index.Key{key(tag.Modality, `SR\OT`)}, false, false, []string{"1.1.2", "5.1.1"}},
	{"series description with slash", index.Series, []index.Key{key(tag.SeriesDescription, "T?/*")}, false, false, []string{"1.2.1"}},
	{"literal star in value", index.Series, []index.Key{key(tag.SeriesDescription, "PD*FS")}, false, false, []string{"3.1.1"}},
	{"study key at series level", index.Series, []index.Key{key(tag.StudyInstanceUID, "1.1")}, false, false, []string{"1.1.1", "1.1.2"}},
	{"series related instances", index.Series, []index.Key{key(tag.NumberOfSeriesRelatedInstances, "3")}, false, false, []string{"1.1.1"}},
	// Instance level.
	{"image type one value", index.Instance, []index.Key{key(tag.ImageType, "AXIAL")}, false, false, []string{"1.1.1.1", "1.1.1.2"}},
	{"image type other value", index.Instance, []index.Key{key(tag.ImageType, "DERIVED")}, false, false, []string{"1.1.1.3"}},
	{"image type wildcard", index.Instance, []index.Key{key(tag.ImageType, "PRIM*")}, false, false, []string{"1.1.1.1", "1.1.1.2", "1.2.1.1"}},
	{"image type wildcard does not span values", index.Instance, []index.Key{key(tag.ImageType, "ORIG*AXIAL")}, false, false, nil},
	{"image type list", index.Instance, []index.Key{key(tag.ImageType, `AXIAL\DERIVED`)}, false, false, []string{"1.1.1.1", "1.1.1.2", "1.1.1.3"}},
	{"instance number", index.Instance, []index.Key{key(tag.InstanceNumber, "10")}, false, false, []string{"1.1.1.3"}},
	{"rows", index.Instance, []index.Key{key(tag.Rows, "512")}, false, false, []string{"1.1.1.1", "1.1.1.2"}},
	{"sop class list", index.Instance, []index.Key{key(tag.SOPClassUID, mrClass+`\`+srClass)}, false, false, []string{"1.1.2.1", "1.2.1.1", "3.1.1.1"}},
	{"patient name case-insensitive at instance level", index.Instance, []index.Key{key(tag.PatientName, "DOE^JOHN")}, true, false,
		[]string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.2.1", "1.2.1.1"}},
	{"series and modality", index.Instance, []index.Key{key(tag.SeriesInstanceUID, "1.1.1"), key(tag.Modality, "CT"), key(tag.InstanceNumber, `1\2`)}, false, false,
		[]string{"1.1.1.1", "1.1.1.2"}},
	{"sequence keys do not filter", index.Instance, []index.Key{{Tag: tag.New(0x0040, 0x0275), VR: vr.SQ}}, false, false,
		[]string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.2.1", "1.2.1.1", "2.1.1.1", "3.1.1.1", "4.1.1.1", "5.1.1.1"}},
}

// uidOf returns the unique key of a match.
func uidOf(m *index.Match) string {
	return m.Attrs.String(index.UniqueKey(m.Level))
}

func testMatching(t *testing.T, idx index.Index) {
	loadFixture(t, idx)
	all := map[index.Level][]*index.Match{}
	for l := index.Patient; l <= index.Instance; l++ {
		all[l] = search(t, idx, &index.Query{Level: l})
	}
	for _, c := range matchCases {
		t.Run(c.name, func(t *testing.T) {
			q := &index.Query{Level: c.level, Keys: c.keys, CaseInsensitivePN: c.ci, FuzzyPN: c.fuzzy}
			var got []string
			for _, m := range search(t, idx, q) {
				got = append(got, uidOf(m))
				// Each match satisfies every key by the reference.
				for _, k := range c.keys {
					if !index.MatchValue(k, m.Attrs.String(k.Tag), c.ci, c.fuzzy) {
						t.Errorf("%s returned, but MatchValue(%s=%q, %q) is false", uidOf(m), tag.Keyword(k.Tag), k.Value, m.Attrs.String(k.Tag))
					}
				}
			}
			sort.Strings(got)
			want := slices.Clone(c.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("Search: %q, want %q", got, want)
			}
			// The reference's verdict on every entity of the level.
			var ref []string
			for _, m := range all[c.level] {
				ok := true
				for _, k := range c.keys {
					if k.VR != vr.SQ && !index.MatchValue(k, m.Attrs.String(k.Tag), c.ci, c.fuzzy) {
						ok = false
					}
				}
				if ok {
					ref = append(ref, uidOf(m))
				}
			}
			sort.Strings(ref)
			if !slices.Equal(ref, want) {
				t.Errorf("MatchValue over all entities: %q, want %q", ref, want)
			}
			if n := count(t, idx, q); n != len(got) {
				t.Errorf("Count %d, Search %d", n, len(got))
			}
		})
	}
}

func testComputed(t *testing.T, idx index.Index) {
	loadFixture(t, idx)
	get := func(l index.Level, uid string) *index.Match {
		t.Helper()
		k := index.UniqueKey(l)
		return one(t, idx, &index.Query{Level: l, Keys: []index.Key{key(k, uid)}})
	}
	p := get(index.Patient, "PID1")
	checkAttr(t, p, tag.NumberOfPatientRelatedStudies, "2")
	checkAttr(t, p, tag.NumberOfPatientRelatedSeries, "3")
	checkAttr(t, p, tag.NumberOfPatientRelatedInstances, "5")
	s := get(index.Study, "1.1")
	checkAttr(t, s, tag.NumberOfStudyRelatedSeries, "2")
	checkAttr(t, s, tag.NumberOfStudyRelatedInstances, "4")
	checkMulti(t, s, tag.ModalitiesInStudy, "CT", "SR")
	checkMulti(t, s, tag.SOPClassesInStudy, ctClass, srClass)
	checkAttr(t, s, tag.PatientName, "Doe^John")
	checkMulti(t, s, tag.NameOfPhysiciansReadingStudy, "Reader^Anna", "Reader^Bob")
	se := get(index.Series, "1.1.1")
	checkAttr(t, se, tag.NumberOfSeriesRelatedInstances, "3")
	checkAttr(t, se, tag.StudyDate, "20240115")
	i := get(index.Instance, "1.1.1.3")
	checkAttr(t, i, tag.Rows, "256")
	checkAttr(t, i, tag.ImageType, `DERIVED\SECONDARY`)
	// Non-ASCII values come back as UTF-8 under ISO_IR 192; ASCII ones without a charset.
	j := get(index.Patient, "PID4")
	checkAttr(t, j, tag.SpecificCharacterSet, "ISO_IR 192")
	checkAttr(t, j, tag.PatientName, "Yamada^Tarou=山田^太郎=やまだ^たろう")
	if p.Attrs.Has(tag.SpecificCharacterSet) {
		t.Errorf("ASCII match with Specific Character Set %q", p.Attrs.String(tag.SpecificCharacterSet))
	}
}

func testPaging(t *testing.T, idx index.Index) {
	loadFixture(t, idx)
	for _, l := range []index.Level{index.Patient, index.Study, index.Instance} {
		full := uids(search(t, idx, &index.Query{Level: l}))
		var paged []string
		for off := 0; off < len(full)+2; off += 2 {
			q := &index.Query{Level: l, Limit: 2, Offset: off}
			paged = append(paged, uids(search(t, idx, q))...)
			if n := count(t, idx, q); n != len(full) {
				t.Errorf("%s: Count with Limit and Offset %d, want %d", l, n, len(full))
			}
		}
		if !slices.Equal(paged, full) {
			t.Errorf("%s: pages %q, whole %q", l, paged, full)
		}
		if got := uids(search(t, idx, &index.Query{Level: l, Offset: 3})); !slices.Equal(got, full[3:]) {
			t.Errorf("%s: Offset without Limit: %q, want %q", l, got, full[3:])
		}
	}
}

func testOrderBy(t *testing.T, idx index.Index) {
	loadFixture(t, idx)
	tests := []struct {
		level index.Level
		order []index.Order
		want  []string
	}{
		{index.Study, []index.Order{{Tag: tag.StudyDate}}, []string{"4.1", "2.1", "1.1", "3.1", "1.2", "5.1"}},
		{index.Study, []index.Order{{Tag: tag.StudyDate, Desc: true}}, []string{"5.1", "1.2", "3.1", "1.1", "2.1", "4.1"}},
		{index.Study, []index.Order{{Tag: tag.PatientID}, {Tag: tag.StudyDate, Desc: true}}, []string{"5.1", "1.2", "1.1", "2.1", "4.1", "3.1"}},
		{index.Patient, []index.Order{{Tag: tag.PatientName}}, []string{"", "PID1", "PID_3%", "PID2", "PID4"}},
		{index.Instance, []index.Order{{Tag: tag.InstanceNumber, Desc: true}, {Tag: tag.SOPInstanceUID}},
			[]string{"1.1.1.3", "2.1.1.1", "1.1.1.2", "1.1.1.1", "1.1.2.1", "1.2.1.1", "4.1.1.1", "3.1.1.1", "5.1.1.1"}},
	}
	for _, tt := range tests {
		got := uids(search(t, idx, &index.Query{Level: tt.level, OrderBy: tt.order}))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s order %v: %q, want %q", tt.level, tt.order, got, tt.want)
		}
	}
	// The default order is total: the same query twice gives the same order.
	for l := index.Patient; l <= index.Instance; l++ {
		a, b := uids(search(t, idx, &index.Query{Level: l})), uids(search(t, idx, &index.Query{Level: l}))
		if !slices.Equal(a, b) {
			t.Errorf("%s: default order not stable: %q, %q", l, a, b)
		}
	}
}

func testInvalidQuery(t *testing.T, idx index.Index) {
	loadFixture(t, idx)
	for _, q := range []*index.Query{
		{Level: index.Study, Keys: []index.Key{key(tag.StudyInstanceUID, "1.*")}},
		{Level: index.Study, OrderBy: []index.Order{{Tag: tag.New(0x0009, 0x1010)}}},
		{Level: index.Patient, OrderBy: []index.Order{{Tag: tag.StudyDate}}},
	} {
		var err error
		for _, e := range idx.Search(context.Background(), q) {
			if e != nil {
				err = e
				break
			}
		}
		if !errors.Is(err, index.ErrInvalidQuery) {
			t.Errorf("query %+v: %v, want ErrInvalidQuery", q, err)
		}
	}
}

func testDelete(t *testing.T, idx index.Index) {
	ctx := context.Background()
	loadFixture(t, idx)
	del := func(l index.Level, uid string, want ...string) {
		t.Helper()
		removed, err := idx.Delete(ctx, l, uid)
		if err != nil {
			t.Fatalf("Delete %s %s: %v", l, uid, err)
		}
		var got []string
		for _, s := range removed {
			got = append(got, s.SOPInstanceUID)
			if s.BlobKey != "blob-"+s.SOPInstanceUID {
				t.Errorf("removed %s with blob key %q", s.SOPInstanceUID, s.BlobKey)
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("Delete %s %s removed %q, want %q", l, uid, got, want)
		}
	}
	get := func(l index.Level, uid string) *index.Match {
		t.Helper()
		return one(t, idx, &index.Query{Level: l, Keys: []index.Key{key(index.UniqueKey(l), uid)}})
	}
	del(index.Instance, "1.1.1.3", "1.1.1.3")
	checkAttr(t, get(index.Series, "1.1.1"), tag.NumberOfSeriesRelatedInstances, "2")
	checkAttr(t, get(index.Study, "1.1"), tag.NumberOfStudyRelatedInstances, "3")
	checkAttr(t, get(index.Patient, "PID1"), tag.NumberOfPatientRelatedInstances, "4")
	del(index.Series, "1.1.2", "1.1.2.1")
	s := get(index.Study, "1.1")
	checkAttr(t, s, tag.NumberOfStudyRelatedSeries, "1")
	checkAttr(t, s, tag.ModalitiesInStudy, "CT")
	checkAttr(t, s, tag.SOPClassesInStudy, ctClass)
	if n := count(t, idx, &index.Query{Level: index.Study, Keys: []index.Key{key(tag.ModalitiesInStudy, "SR")}}); n != 0 {
		t.Errorf("ModalitiesInStudy=SR matches %d studies after the SR series is deleted", n)
	}
	del(index.Study, "1.2", "1.2.1.1")
	p := get(index.Patient, "PID1")
	checkAttr(t, p, tag.NumberOfPatientRelatedStudies, "1")
	checkAttr(t, p, tag.NumberOfPatientRelatedSeries, "1")
	checkAttr(t, p, tag.NumberOfPatientRelatedInstances, "2")
	// The last instance of the patient: series, study and patient go too.
	del(index.Instance, "2.1.1.1", "2.1.1.1")
	if n := count(t, idx, &index.Query{Level: index.Patient, Keys: []index.Key{key(tag.PatientID, "PID2")}}); n != 0 {
		t.Errorf("patient PID2 left after its last instance was deleted")
	}
	del(index.Study, "1.1", "1.1.1.1", "1.1.1.2")
	st, err := idx.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (index.Stats{Patients: 3, Studies: 3, Series: 3, Instances: 3}); st.Patients != want.Patients ||
		st.Studies != want.Studies || st.Series != want.Series || st.Instances != want.Instances {
		t.Errorf("Stats %+v, want %+v", st, want)
	}
	if _, err := idx.Delete(ctx, index.Study, "9.9"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("Delete of an unknown study: %v, want ErrNotFound", err)
	}
	if _, err := idx.Lookup(ctx, "1.1.1.1"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("Lookup of a deleted instance: %v", err)
	}
}

func testInstances(t *testing.T, idx index.Index) {
	ctx := context.Background()
	loadFixture(t, idx)
	tests := []struct {
		level index.Level
		uid   string
		want  []string
	}{
		{index.Study, "1.1", []string{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.2.1"}},
		{index.Series, "1.1.1", []string{"1.1.1.1", "1.1.1.2", "1.1.1.3"}},
		{index.Instance, "1.2.1.1", []string{"1.2.1.1"}},
	}
	for _, tt := range tests {
		got, err := idx.Instances(ctx, tt.level, tt.uid)
		if err != nil {
			t.Fatal(err)
		}
		var uids []string
		for _, s := range got {
			uids = append(uids, s.SOPInstanceUID)
		}
		if !slices.Equal(uids, tt.want) {
			t.Errorf("Instances(%s, %s) = %q, want %q", tt.level, tt.uid, uids, tt.want)
		}
	}
}

func testConcurrency(t *testing.T, idx index.Index) {
	ctx := context.Background()
	const goroutines, n = 20, 50
	var ins []Inst
	for i := range n {
		ins = append(ins, Inst{PatientID: "P", StudyUID: "1.9", SeriesUID: fmt.Sprintf("1.9.%d", i%3), SOPUID: fmt.Sprintf("1.9.%d.%d", i%3, i),
			Attrs: []A{{tag.InstanceNumber, fmt.Sprint(i)}, {tag.Modality, "CT"}, {tag.PatientName, "Same^Patient"}}})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored, exists := 0, 0
	errs := make(chan error, goroutines*n)
	for g := range goroutines {
		wg.Go(func() {
			for i := range n {
				in := ins[(i+g)%n]
				_, err := idx.Put(ctx, Record(t, in))
				mu.Lock()
				switch {
				case err == nil:
					stored++
				case errors.Is(err, index.ErrExists):
					exists++
				default:
					errs <- err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if stored != n || exists != n*(goroutines-1) {
		t.Errorf("%d stored, %d ErrExists; want %d and %d", stored, exists, n, n*(goroutines-1))
	}
	st, err := idx.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Patients != 1 || st.Studies != 1 || st.Series != 3 || st.Instances != n {
		t.Errorf("Stats %+v", st)
	}
	s := one(t, idx, &index.Query{Level: index.Study})
	checkAttr(t, s, tag.NumberOfStudyRelatedInstances, fmt.Sprint(n))
	checkAttr(t, s, tag.NumberOfStudyRelatedSeries, "3")
	p := one(t, idx, &index.Query{Level: index.Patient})
	checkAttr(t, p, tag.NumberOfPatientRelatedInstances, fmt.Sprint(n))
	checkAttr(t, p, tag.NumberOfPatientRelatedSeries, "3")
	checkAttr(t, p, tag.NumberOfPatientRelatedStudies, "1")
	var sum int
	for _, se := range search(t, idx, &index.Query{Level: index.Series}) {
		var k int
		fmt.Sscan(se.Attrs.String(tag.NumberOfSeriesRelatedInstances), &k)
		sum += k
	}
	if sum != n {
		t.Errorf("series counters sum to %d, want %d", sum, n)
	}
}

func testEarlyStop(t *testing.T, idx index.Index) {
	loadFixture(t, idx)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 100 {
		for m, err := range idx.Search(ctx, &index.Query{Level: index.Instance}) {
			if err != nil {
				t.Fatal(err)
			}
			_ = m
			break
		}
	}
	in := Inst{PatientID: "Z", StudyUID: "7.7", SeriesUID: "7.7.7", SOPUID: "7.7.7.7"}
	if _, err := idx.Put(ctx, Record(t, in)); err != nil {
		t.Fatalf("Put after early-stopped searches: %v", err)
	}
	if _, err := idx.Delete(ctx, index.Study, "7.7"); err != nil {
		t.Fatalf("Delete after early-stopped searches: %v", err)
	}
	if n, err := idx.Count(ctx, &index.Query{Level: index.Instance}); err != nil || n != len(fxInstances) {
		t.Fatalf("Count after early-stopped searches: %d, %v", n, err)
	}
}

// Helpers.

func search(t *testing.T, idx index.Index, q *index.Query) []*index.Match {
	t.Helper()
	var out []*index.Match
	for m, err := range idx.Search(context.Background(), q) {
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		if m.Level != q.Level {
			t.Fatalf("match of level %s for a %s query", m.Level, q.Level)
		}
		if (m.Instance != nil) != (q.Level == index.Instance) {
			t.Fatalf("%s match with Instance %v", m.Level, m.Instance)
		}
		out = append(out, m)
	}
	return out
}

func count(t *testing.T, idx index.Index, q *index.Query) int {
	t.Helper()
	n, err := idx.Count(context.Background(), q)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func one(t *testing.T, idx index.Index, q *index.Query) *index.Match {
	t.Helper()
	ms := search(t, idx, q)
	if len(ms) != 1 {
		t.Fatalf("%d matches, want 1", len(ms))
	}
	return ms[0]
}

func uids(ms []*index.Match) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = uidOf(m)
	}
	return out
}

func checkAttr(t *testing.T, m *index.Match, tg tag.Tag, want string) {
	t.Helper()
	if got := m.Attrs.String(tg); got != want {
		t.Errorf("%s %s: %s = %q, want %q", m.Level, uidOf(m), tag.Keyword(tg), got, want)
	}
}

// checkMulti checks a multi-valued attribute's values in any order.
func checkMulti(t *testing.T, m *index.Match, tg tag.Tag, want ...string) {
	t.Helper()
	got := strings.Split(m.Attrs.String(tg), `\`)
	sort.Strings(got)
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s %s: %s = %q, want %q", m.Level, uidOf(m), tag.Keyword(tg), got, want)
	}
}
