package dicomweb_test

import (
	"errors"
	"net/url"
	"reflect"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dicomweb"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want *dicomweb.Query
		err  bool
	}{
		{"", &dicomweb.Query{}, false},
		{"PatientName=Doe*&00100020=123", &dicomweb.Query{Match: []dicomweb.MatchKey{
			{Tag: tag.PatientName, VR: vr.PN, Value: "Doe*"}, {Tag: tag.PatientID, VR: vr.LO, Value: "123"}}}, false},
		{"StudyInstanceUID=1.2,1.3", &dicomweb.Query{Match: []dicomweb.MatchKey{{Tag: tag.StudyInstanceUID, VR: vr.UI, Value: `1.2\1.3`}}}, false},
		{"StudyDate=20200101-", &dicomweb.Query{Match: []dicomweb.MatchKey{{Tag: tag.StudyDate, VR: vr.DA, Value: "20200101-"}}}, false},
		{"00091010=x", &dicomweb.Query{Match: []dicomweb.MatchKey{{Tag: tag.New(0x0009, 0x1010), Value: "x"}}}, false},
		{"includefield=PatientAge,00081030&includefield=all&includefield=PatientAge", &dicomweb.Query{
			IncludeFields: []tag.Tag{tag.PatientAge, tag.StudyDescription}, IncludeAll: true}, false},
		{"limit=10&offset=5&fuzzymatching=true", &dicomweb.Query{Limit: 10, Offset: 5, FuzzyMatching: true}, false},
		{"orderby=-StudyDate,PatientName&orderby=%2BStudyTime", &dicomweb.Query{OrderBy: []dicomweb.Order{
			{Tag: tag.StudyDate, Desc: true}, {Tag: tag.PatientName}, {Tag: tag.StudyTime}}}, false},
		{"emptyvaluematching=true", &dicomweb.Query{Ignored: []string{"emptyvaluematching"}}, false},
		{"limit=-1", nil, true},
		{"limit=x", nil, true},
		{"limit=1&limit=2", nil, true},
		{"offset=99999999999999999999", nil, true},
		{"fuzzymatching=yes", nil, true},
		{"NoSuchKeyword=1", nil, true},
		{"0010002=1", nil, true},
		{"00400275.00321060=x", nil, true},
		{"RequestAttributesSequence=x", nil, true},
		{"PatientID=1&00100020=2", nil, true},
		{"PatientID=1&PatientID=2", nil, true},
		{"includefield=Bogus", nil, true},
		{"orderby=-", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			v, err := url.ParseQuery(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dicomweb.ParseQuery(v)
			if tt.err {
				if !errors.Is(err, dicomweb.ErrQuery) {
					t.Fatalf("got %+v, %v; want an ErrQuery", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"PatientName=Doe*&limit=10", "includefield=all,00100010&orderby=-StudyDate",
		"StudyInstanceUID=1.2,3&fuzzymatching=true&offset=3", "00400275.00321060=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := dicomweb.ParseQuery(v)
		if err != nil {
			if !errors.Is(err, dicomweb.ErrQuery) {
				t.Fatalf("error not wrapping ErrQuery: %v", err)
			}
			return
		}
		if q.Limit < 0 || q.Offset < 0 || q.Limit > dicomweb.MaxLimit {
			t.Fatalf("limit %d offset %d", q.Limit, q.Offset)
		}
		for i := 1; i < len(q.Match); i++ {
			if q.Match[i-1].Tag >= q.Match[i].Tag {
				t.Fatalf("match keys not sorted or repeated: %+v", q.Match)
			}
		}
		for _, k := range q.Match {
			if k.VR == vr.SQ {
				t.Fatalf("sequence key %v", k.Tag)
			}
		}
	})
}
