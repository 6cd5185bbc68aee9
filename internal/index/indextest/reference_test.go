package indextest

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// TestMatchValue pins the reference semantics the suite compares implementations with.
func TestMatchValue(t *testing.T) {
	tests := []struct {
		name      string
		key       index.Key
		stored    string
		ci, fuzzy bool
		want      bool
	}{
		{"star crosses a slash", index.Key{Tag: tag.StudyDescription, VR: vr.LO, Value: "CT*"}, "CT/Abdomen", false, false, true},
		{"question mark matches a slash", index.Key{Tag: tag.StudyDescription, VR: vr.LO, Value: "CT?A"}, "CT/A", false, false, true},
		{"backslash in a single value is literal", index.Key{Tag: tag.StudyDescription, VR: vr.LT, Value: `a\b*`}, `a\bc`, false, false, false},
		{"brackets are literal", index.Key{Tag: tag.StudyDescription, VR: vr.LO, Value: "[ab]*"}, "[ab]x", false, false, true},
		{"brackets are no class", index.Key{Tag: tag.StudyDescription, VR: vr.LO, Value: "[ab]*"}, "ax", false, false, false},
		{"multi-valued PN any value", index.Key{Tag: tag.NameOfPhysiciansReadingStudy, VR: vr.PN, Value: "B^C"}, `A^B\B^C`, false, false, true},
		{"multi-valued PN wildcard per value", index.Key{Tag: tag.NameOfPhysiciansReadingStudy, VR: vr.PN, Value: "A*C"}, `A^B\B^C`, false, false, false},
		{"single-valued PN whole", index.Key{Tag: tag.PatientName, VR: vr.PN, Value: "B^C"}, `A^B\B^C`, false, false, false},
		{"single-valued LO whole", index.Key{Tag: tag.PatientID, VR: vr.LO, Value: "A"}, `A\B`, false, false, false},
		{"multi-valued CS any value", index.Key{Tag: tag.ImageType, VR: vr.CS, Value: "AXIAL"}, `ORIGINAL\PRIMARY\AXIAL`, false, false, true},
		{"wildcard per value", index.Key{Tag: tag.ImageType, VR: vr.CS, Value: "O*L"}, `ORIGINAL\PRIMARY\AXIAL`, false, false, true},
		{"wildcard does not span values", index.Key{Tag: tag.ImageType, VR: vr.CS, Value: "ORIG*AXIAL"}, `ORIGINAL\PRIMARY\AXIAL`, false, false, false},
		{"stars match empty", index.Key{Tag: tag.PatientSex, VR: vr.CS, Value: "**"}, "", false, false, true},
		{"unicode question mark", index.Key{Tag: tag.PatientName, VR: vr.PN, Value: "Se?n"}, "Seán", false, false, true},
		{"case-insensitive unicode", index.Key{Tag: tag.PatientName, VR: vr.PN, Value: "SEÁN"}, "Seán", true, false, true},
		{"fuzzy prefix of component", index.Key{Tag: tag.PatientName, VR: vr.PN, Value: "jo"}, "Doe^John", false, true, true},
		{"range upper bound prefix", index.Key{Tag: tag.StudyDate, VR: vr.DA, Value: "-202403"}, "20240331", false, false, true},
		{"range upper bound excluded", index.Key{Tag: tag.StudyDate, VR: vr.DA, Value: "-202403"}, "20240401", false, false, false},
		{"range empty value", index.Key{Tag: tag.StudyDate, VR: vr.DA, Value: "-20240101"}, "", false, false, false},
		{"time range colons", index.Key{Tag: tag.StudyTime, VR: vr.TM, Value: "10:00-11:00"}, "103000", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := index.MatchValue(tt.key, tt.stored, tt.ci, tt.fuzzy); got != tt.want {
				t.Errorf("MatchValue(%q, %q) = %v, want %v", tt.key.Value, tt.stored, got, tt.want)
			}
		})
	}
}

func TestMultiValued(t *testing.T) {
	tests := []struct {
		tag  tag.Tag
		vr   vr.VR
		want bool
	}{
		{tag.PatientName, vr.PN, false},
		{tag.NameOfPhysiciansReadingStudy, vr.PN, true},
		{tag.ImageType, vr.CS, true},
		{tag.PatientComments, vr.LT, false},
		{tag.New(0x0009, 0x1010), vr.LO, true},
	}
	for _, tt := range tests {
		if got := index.MultiValued(tt.tag, tt.vr); got != tt.want {
			t.Errorf("MultiValued(%s, %s) = %v, want %v", tag.Keyword(tt.tag), tt.vr, got, tt.want)
		}
	}
}
