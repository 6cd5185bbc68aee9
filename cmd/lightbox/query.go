package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
)

// keyList collects repeated -k KEY=VALUE flags.
type keyList []string

func (k *keyList) String() string { return strings.Join(*k, " ") }

func (k *keyList) Set(s string) error {
	*k = append(*k, s)
	return nil
}

// queryFlags are the flags of find, move and get.
type queryFlags struct {
	level, model string
	keys         keyList
}

func addQueryFlags(fs *flag.FlagSet) *queryFlags {
	q := &queryFlags{}
	fs.StringVar(&q.level, "level", "STUDY", "query/retrieve level: PATIENT, STUDY, SERIES or IMAGE")
	fs.StringVar(&q.model, "model", "study", "information model: study (Study Root) or patient (Patient Root)")
	fs.Var(&q.keys, "k", "`KEY=VALUE` query key, by keyword or tag (PatientName=DOE*, 0010,0020=123, ModalitiesInStudy=CT\\MR); an empty value asks for the key to be returned; repeatable")
	return q
}

// normLevel checks the level against the model and returns it in upper case.
func (q *queryFlags) normLevel() (string, error) {
	level := strings.ToUpper(q.level)
	if level == "INSTANCE" {
		level = "IMAGE"
	}
	switch level {
	case "PATIENT":
		if q.patientRoot() {
			return level, nil
		}
		return "", errors.New("--level PATIENT needs --model patient: the Study Root model has no patient level")
	case "STUDY", "SERIES", "IMAGE":
		return level, nil
	}
	return "", fmt.Errorf("--level %q: want PATIENT, STUDY, SERIES or IMAGE", q.level)
}

func (q *queryFlags) patientRoot() bool { return strings.EqualFold(q.model, "patient") }

// sopClass returns the information model's SOP class for C-FIND, C-MOVE or C-GET.
func (q *queryFlags) sopClass(op dimse.Field) (string, error) {
	var study, patient string
	switch op {
	case dimse.CFindRQ:
		study, patient = dimse.StudyRootFind, dimse.PatientRootFind
	case dimse.CMoveRQ:
		study, patient = dimse.StudyRootMove, dimse.PatientRootMove
	default:
		study, patient = dimse.StudyRootGet, dimse.PatientRootGet
	}
	switch strings.ToLower(q.model) {
	case "study":
		return study, nil
	case "patient":
		return patient, nil
	}
	return "", fmt.Errorf("--model %q: want study or patient", q.model)
}

// queryKey is one parsed -k.
type queryKey struct {
	tag   tag.Tag
	vr    vr.VR
	value string
}

// parseKey reads KEY=VALUE (or KEY alone, for an empty value); KEY is a dictionary keyword or a
// tag as gggg,eeee.
func parseKey(s string) (queryKey, error) {
	name, value, _ := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	t, err := tag.Parse(name)
	if err != nil {
		return queryKey{}, fmt.Errorf("-k %q: unknown attribute %q: give a dictionary keyword (PatientName) or a tag (0010,0010)", s, name)
	}
	info, ok := tag.Lookup(t)
	if !ok || info.VR == 0 {
		return queryKey{}, fmt.Errorf("-k %q: %s is not in the data dictionary, so its VR is unknown", s, t)
	}
	if t.Group() == 0x0002 || t.Group() == 0x0000 {
		return queryKey{}, fmt.Errorf("-k %q: command and File Meta elements have no place in a query", s)
	}
	if !utf8.ValidString(value) {
		return queryKey{}, fmt.Errorf("-k %q: the value is not valid UTF-8", s)
	}
	return queryKey{tag: t, vr: info.VR, value: value}, nil
}

// set puts the key into ds, encoded for its VR.
func (k queryKey) set(ds *dicom.Dataset) error {
	switch {
	case k.vr == vr.SQ:
		if k.value != "" {
			return fmt.Errorf("%s is a sequence: give it without a value to have it returned", k.name())
		}
		ds.Set(dicom.NewSequence(k.tag))
		return nil
	case k.value == "":
		ds.Set(dicom.NewElement(k.tag, k.vr, nil))
		return nil
	case k.vr == vr.FL || k.vr == vr.FD:
		var fs []float64
		for _, s := range strings.Split(k.value, `\`) {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not a number", k.name(), s)
			}
			fs = append(fs, f)
		}
		return ds.SetFloats(k.tag, k.vr, fs...)
	case k.vr == vr.US || k.vr == vr.SS || k.vr == vr.UL || k.vr == vr.SL || k.vr == vr.SV || k.vr == vr.UV:
		var ns []int64
		for _, s := range strings.Split(k.value, `\`) {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not an integer", k.name(), s)
			}
			ns = append(ns, n)
		}
		return ds.SetInts(k.tag, k.vr, ns...)
	case k.vr.IsString():
		return ds.SetString(k.tag, k.vr, k.value)
	}
	return fmt.Errorf("%s has VR %s, which a query cannot match on: give it without a value", k.name(), k.vr)
}

func (k queryKey) name() string {
	if kw := tag.Keyword(k.tag); kw != "" {
		return kw
	}
	return k.tag.String()
}

// defaultReturnKeys are the keys find asks for at each level.
func defaultReturnKeys(level string) []tag.Tag {
	switch level {
	case "PATIENT":
		return []tag.Tag{tag.PatientID, tag.PatientName, tag.PatientBirthDate, tag.PatientSex, tag.NumberOfPatientRelatedStudies}
	case "STUDY":
		return []tag.Tag{tag.StudyInstanceUID, tag.StudyDate, tag.StudyTime, tag.AccessionNumber, tag.PatientID, tag.PatientName,
			tag.StudyDescription, tag.ModalitiesInStudy, tag.NumberOfStudyRelatedSeries, tag.NumberOfStudyRelatedInstances}
	case "SERIES":
		return []tag.Tag{tag.StudyInstanceUID, tag.SeriesInstanceUID, tag.Modality, tag.SeriesNumber, tag.SeriesDescription,
			tag.NumberOfSeriesRelatedInstances}
	default:
		return []tag.Tag{tag.StudyInstanceUID, tag.SeriesInstanceUID, tag.SOPInstanceUID, tag.SOPClassUID, tag.InstanceNumber}
	}
}

// buildQuery returns the identifier for level with the given return keys (empty values) and the
// -k keys, and the keys in column order. Values beyond ASCII make the identifier UTF-8
// (Specific Character Set ISO_IR 192) unless a -k sets the character set.
func buildQuery(level string, returnKeys []tag.Tag, keys []string) (*dicom.Dataset, []tag.Tag, error) {
	var parsed []queryKey
	nonASCII, charsetGiven := false, false
	for _, s := range keys {
		k, err := parseKey(s)
		if err != nil {
			return nil, nil, err
		}
		for i := 0; i < len(k.value); i++ {
			if k.value[i] >= utf8.RuneSelf {
				nonASCII = true
			}
		}
		if k.tag == tag.SpecificCharacterSet {
			charsetGiven = true
		}
		parsed = append(parsed, k)
	}
	ds := dicom.NewDataset()
	// The character set first: it applies to the values set after it.
	for _, k := range parsed {
		if k.tag == tag.SpecificCharacterSet {
			if err := k.set(ds); err != nil {
				return nil, nil, err
			}
		}
	}
	if nonASCII && !charsetGiven {
		if err := ds.SetString(tag.SpecificCharacterSet, vr.CS, "ISO_IR 192"); err != nil {
			return nil, nil, err
		}
	}
	if err := ds.SetString(tag.QueryRetrieveLevel, vr.CS, level); err != nil {
		return nil, nil, err
	}
	cols := append([]tag.Tag(nil), returnKeys...)
	for _, t := range returnKeys {
		info, _ := tag.Lookup(t)
		if err := (queryKey{tag: t, vr: info.VR}).set(ds); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range parsed {
		if k.tag == tag.SpecificCharacterSet {
			continue
		}
		if err := k.set(ds); err != nil {
			return nil, nil, fmt.Errorf("-k %s: %w", k.name(), err)
		}
		if k.tag != tag.QueryRetrieveLevel && !containsTag(cols, k.tag) {
			cols = append(cols, k.tag)
		}
	}
	return ds, cols, nil
}

func containsTag(ts []tag.Tag, t tag.Tag) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// hasMatchingKey reports whether the identifier restricts the match: a key other than the level
// and the character set with a value.
func hasMatchingKey(ds *dicom.Dataset) bool {
	for i := range ds.Elements {
		e := &ds.Elements[i]
		if e.Tag != tag.QueryRetrieveLevel && e.Tag != tag.SpecificCharacterSet && len(strings.TrimRight(string(e.Value), " \x00")) > 0 {
			return true
		}
	}
	return false
}
