package index

import (
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

// Attr is an attribute the index keeps as a column of a level, for matching and for return.
type Attr struct {
	Tag    tag.Tag
	VR     vr.VR
	Level  Level
	Column string
}

// Attrs are the attributes kept at each level: the keys of the Query/Retrieve information models
// (PS3.4 C.6.1.1 and C.6.2.1, required and optional keys) and those QIDO-RS must match or
// return (PS3.18 Tables 10.6.1-5 to 10.6.1-7). Strings are kept decoded to UTF-8.
var Attrs = []Attr{
	// Patient (PS3.4 Table C.6-1).
	{tag.PatientName, vr.PN, Patient, "patient_name"},
	{tag.PatientID, vr.LO, Patient, "patient_id"},
	{tag.IssuerOfPatientID, vr.LO, Patient, "issuer_of_patient_id"},
	{tag.PatientBirthDate, vr.DA, Patient, "patient_birth_date"},
	{tag.PatientBirthTime, vr.TM, Patient, "patient_birth_time"},
	{tag.PatientSex, vr.CS, Patient, "patient_sex"},
	{tag.OtherPatientIDs, vr.LO, Patient, "other_patient_ids"},
	{tag.EthnicGroup, vr.SH, Patient, "ethnic_group"},
	{tag.PatientComments, vr.LT, Patient, "patient_comments"},
	// Study (PS3.4 Table C.6-2 and C.6-5; PS3.18 Table 10.6.1-5).
	{tag.StudyInstanceUID, vr.UI, Study, "study_uid"},
	{tag.StudyDate, vr.DA, Study, "study_date"},
	{tag.StudyTime, vr.TM, Study, "study_time"},
	{tag.AccessionNumber, vr.SH, Study, "accession_number"},
	{tag.StudyID, vr.SH, Study, "study_id"},
	{tag.StudyDescription, vr.LO, Study, "study_description"},
	{tag.ReferringPhysicianName, vr.PN, Study, "referring_physician_name"},
	{tag.NameOfPhysiciansReadingStudy, vr.PN, Study, "physicians_reading_study"},
	{tag.AdmittingDiagnosesDescription, vr.LO, Study, "admitting_diagnoses"},
	{tag.PatientAge, vr.AS, Study, "patient_age"},
	{tag.PatientSize, vr.DS, Study, "patient_size"},
	{tag.PatientWeight, vr.DS, Study, "patient_weight"},
	{tag.Occupation, vr.SH, Study, "occupation"},
	{tag.AdditionalPatientHistory, vr.LT, Study, "additional_patient_history"},
	{tag.InstitutionName, vr.LO, Study, "institution_name"},
	// Series (PS3.4 Table C.6-3; PS3.18 Table 10.6.1-6).
	{tag.SeriesInstanceUID, vr.UI, Series, "series_uid"},
	{tag.Modality, vr.CS, Series, "modality"},
	{tag.SeriesNumber, vr.IS, Series, "series_number"},
	{tag.SeriesDescription, vr.LO, Series, "series_description"},
	{tag.SeriesDate, vr.DA, Series, "series_date"},
	{tag.SeriesTime, vr.TM, Series, "series_time"},
	{tag.BodyPartExamined, vr.CS, Series, "body_part_examined"},
	{tag.Laterality, vr.CS, Series, "laterality"},
	{tag.ProtocolName, vr.LO, Series, "protocol_name"},
	{tag.PerformedProcedureStepStartDate, vr.DA, Series, "pps_start_date"},
	{tag.PerformedProcedureStepStartTime, vr.TM, Series, "pps_start_time"},
	{tag.StationName, vr.SH, Series, "station_name"},
	{tag.Manufacturer, vr.LO, Series, "manufacturer"},
	{tag.OperatorsName, vr.PN, Series, "operators_name"},
	{tag.PerformingPhysicianName, vr.PN, Series, "performing_physician_name"},
	// Instance (PS3.4 Table C.6-4; PS3.18 Table 10.6.1-7).
	{tag.SOPInstanceUID, vr.UI, Instance, "sop_uid"},
	{tag.SOPClassUID, vr.UI, Instance, "sop_class_uid"},
	{tag.InstanceNumber, vr.IS, Instance, "instance_number"},
	{tag.Rows, vr.US, Instance, "rows"},
	{tag.Columns, vr.US, Instance, "columns"},
	{tag.BitsAllocated, vr.US, Instance, "bits_allocated"},
	{tag.NumberOfFrames, vr.IS, Instance, "number_of_frames"},
	{tag.ContentDate, vr.DA, Instance, "content_date"},
	{tag.ContentTime, vr.TM, Instance, "content_time"},
	{tag.AcquisitionDate, vr.DA, Instance, "acquisition_date"},
	{tag.AcquisitionTime, vr.TM, Instance, "acquisition_time"},
	{tag.ImageType, vr.CS, Instance, "image_type"},
	{tag.PhotometricInterpretation, vr.CS, Instance, "photometric"},
	{tag.CompletionFlag, vr.CS, Instance, "completion_flag"},
	{tag.VerificationFlag, vr.CS, Instance, "verification_flag"},
	{tag.ContentLabel, vr.CS, Instance, "content_label"},
	{tag.DocumentTitle, vr.ST, Instance, "document_title"},
}

// Computed attributes (PS3.4 C.6.1.1.5, C.6.2.1; PS3.18 10.6.3.3): derived from what is stored.
var Computed = []Attr{
	{tag.NumberOfPatientRelatedStudies, vr.IS, Patient, ""},
	{tag.NumberOfPatientRelatedSeries, vr.IS, Patient, ""},
	{tag.NumberOfPatientRelatedInstances, vr.IS, Patient, ""},
	{tag.ModalitiesInStudy, vr.CS, Study, ""},
	{tag.SOPClassesInStudy, vr.UI, Study, ""},
	{tag.NumberOfStudyRelatedSeries, vr.IS, Study, ""},
	{tag.NumberOfStudyRelatedInstances, vr.IS, Study, ""},
	{tag.NumberOfSeriesRelatedInstances, vr.IS, Series, ""},
	{tag.AvailableTransferSyntaxUID, vr.UI, Instance, ""},
}

// AttrOf returns the stored or computed attribute t, and whether there is one.
func AttrOf(t tag.Tag) (Attr, bool) {
	for _, a := range Attrs {
		if a.Tag == t {
			return a, true
		}
	}
	for _, a := range Computed {
		if a.Tag == t {
			return a, true
		}
	}
	return Attr{}, false
}

// LevelAttrs returns the stored attributes of level l.
func LevelAttrs(l Level) []Attr {
	var out []Attr
	for _, a := range Attrs {
		if a.Level == l {
			out = append(out, a)
		}
	}
	return out
}

// UniqueKey returns the unique key of level l (PS3.4 C.6.1.1).
func UniqueKey(l Level) tag.Tag {
	return [...]tag.Tag{tag.PatientID, tag.StudyInstanceUID, tag.SeriesInstanceUID, tag.SOPInstanceUID}[l]
}
