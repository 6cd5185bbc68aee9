package indextest

import (
	"context"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// SOP Class UIDs of the fixture.
const (
	ctClass = "1.2.840.10008.5.1.4.1.1.2"
	mrClass = "1.2.840.10008.5.1.4.1.1.4"
	srClass = "1.2.840.10008.5.1.4.1.1.88.11"
)

type fxPatient struct {
	id    string
	attrs []A
}

type fxStudy struct {
	uid, patient string
	attrs        []A
}

type fxSeries struct {
	uid, study string
	attrs      []A
}

type fxInstance struct {
	uid, series, class string
	attrs              []A
}

// The fixture: five patients (one with an empty Patient ID, one with % and _ in it, one with a
// Latin-1 name, one with a Japanese name in three component groups), six studies, seven series,
// nine instances. UIDs are short: 1.1 is the first study of the first patient, 1.1.2 its
// second series, 1.1.2.1 that series' first instance.
var (
	fxPatients = []fxPatient{
		{"PID1", []A{{tag.PatientName, "Doe^John"}, {tag.PatientBirthDate, "19700101"}, {tag.PatientSex, "M"}}},
		{"PID2", []A{{tag.PatientName, "Smith^Jane^^Dr"}, {tag.IssuerOfPatientID, "HOSP"}, {tag.PatientBirthDate, "19851231"}, {tag.PatientSex, "F"}}},
		{"PID_3%", []A{{tag.PatientName, "O'Brien^Seán"}, {tag.PatientBirthDate, "20000229"}, {tag.PatientSex, "M"}}},
		{"PID4", []A{{tag.PatientName, "Yamada^Tarou=山田^太郎=やまだ^たろう"}}},
		{"", []A{{tag.PatientName, "Anonymous"}, {tag.PatientSex, "O"}}},
	}
	fxStudies = []fxStudy{
		{"1.1", "PID1", []A{{tag.StudyDate, "20240115"}, {tag.StudyTime, "101500"}, {tag.AccessionNumber, "ACC1"},
			{tag.StudyDescription, "CT Chest"}, {tag.ReferringPhysicianName, "Ref^One"}, {tag.StudyID, "S1"},
			{tag.NameOfPhysiciansReadingStudy, `Reader^Anna\Reader^Bob`}}},
		{"1.2", "PID1", []A{{tag.StudyDate, "20240301"}, {tag.StudyTime, "235959.123"}, {tag.AccessionNumber, "ACC_2"},
			{tag.StudyDescription, "MR Brain 50%"}, {tag.ReferringPhysicianName, "ref^one"}}},
		{"2.1", "PID2", []A{{tag.StudyDate, "20231231"}, {tag.StudyTime, "000000"}, {tag.AccessionNumber, "ACC3"},
			{tag.StudyDescription, "CT/Abdomen"}, {tag.ReferringPhysicianName, "Smith^Jane"}}},
		{"3.1", "PID_3%", []A{{tag.StudyDate, "20240229"}, {tag.StudyTime, "1200"}, {tag.AccessionNumber, "%ACC4"},
			{tag.StudyDescription, "Knee [left]"}}},
		{"4.1", "PID4", []A{{tag.AccessionNumber, "ACC5"}, {tag.StudyDescription, "胸部CT"},
			{tag.ReferringPhysicianName, "Müller^Jürgen"}}},
		{"5.1", "", []A{{tag.StudyDate, "20240315"}, {tag.StudyTime, "0830"}}},
	}
	fxSeriesList = []fxSeries{
		{"1.1.1", "1.1", []A{{tag.Modality, "CT"}, {tag.SeriesNumber, "1"}, {tag.SeriesDescription, "Axial"}, {tag.BodyPartExamined, "CHEST"}}},
		{"1.1.2", "1.1", []A{{tag.Modality, "SR"}, {tag.SeriesNumber, "2"}, {tag.SeriesDescription, "Report"}}},
		{"1.2.1", "1.2", []A{{tag.Modality, "MR"}, {tag.SeriesNumber, "1"}, {tag.SeriesDescription, "T1/T2"}}},
		{"2.1.1", "2.1", []A{{tag.Modality, "CT"}, {tag.SeriesNumber, "3"}, {tag.SeriesDescription, "Venous"}}},
		{"3.1.1", "3.1", []A{{tag.Modality, "MR"}, {tag.SeriesNumber, "1"}, {tag.SeriesDescription, "PD*FS"}}},
		{"4.1.1", "4.1", []A{{tag.Modality, "CT"}}},
		{"5.1.1", "5.1", []A{{tag.Modality, "OT"}}},
	}
	fxInstances = []fxInstance{
		{"1.1.1.1", "1.1.1", ctClass, []A{{tag.InstanceNumber, "1"}, {tag.ImageType, `ORIGINAL\PRIMARY\AXIAL`}, {tag.Rows, "512"}}},
		{"1.1.1.2", "1.1.1", ctClass, []A{{tag.InstanceNumber, "2"}, {tag.ImageType, `ORIGINAL\PRIMARY\AXIAL`}, {tag.Rows, "512"}}},
		{"1.1.1.3", "1.1.1", ctClass, []A{{tag.InstanceNumber, "10"}, {tag.ImageType, `DERIVED\SECONDARY`}, {tag.Rows, "256"}}},
		{"1.1.2.1", "1.1.2", srClass, []A{{tag.InstanceNumber, "1"}}},
		{"1.2.1.1", "1.2.1", mrClass, []A{{tag.InstanceNumber, "1"}, {tag.ImageType, `ORIGINAL\PRIMARY`}}},
		{"2.1.1.1", "2.1.1", ctClass, []A{{tag.InstanceNumber, "5"}}},
		{"3.1.1.1", "3.1.1", mrClass, nil},
		{"4.1.1.1", "4.1.1", ctClass, []A{{tag.InstanceNumber, "1"}}},
		{"5.1.1.1", "5.1.1", "1.2.840.10008.5.1.4.1.1.7", nil},
	}
)

// fixtureInsts returns the fixture's instances with the attributes of their series, study and
// patient.
func fixtureInsts() []Inst {
	var out []Inst
	for _, in := range fxInstances {
		var se fxSeries
		for _, s := range fxSeriesList {
			if s.uid == in.series {
				se = s
			}
		}
		var st fxStudy
		for _, s := range fxStudies {
			if s.uid == se.study {
				st = s
			}
		}
		var pa fxPatient
		for _, p := range fxPatients {
			if p.id == st.patient {
				pa = p
			}
		}
		var attrs []A
		attrs = append(attrs, pa.attrs...)
		attrs = append(attrs, st.attrs...)
		attrs = append(attrs, se.attrs...)
		attrs = append(attrs, in.attrs...)
		out = append(out, Inst{PatientID: pa.id, StudyUID: st.uid, SeriesUID: se.uid, SOPUID: in.uid, SOPClass: in.class, Attrs: attrs})
	}
	return out
}

// loadFixture puts the fixture into idx.
func loadFixture(t *testing.T, idx index.Index) {
	t.Helper()
	for _, in := range fixtureInsts() {
		if _, err := idx.Put(context.Background(), Record(t, in)); err != nil {
			t.Fatalf("put %s: %v", in.SOPUID, err)
		}
	}
}
