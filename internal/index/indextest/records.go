// Package indextest is the conformance suite of index.Index implementations: Run checks
// storage, the patient/study/series hierarchy and its counters, deletion, concurrency, and that
// every kind of matching agrees with index.MatchValue, the reference semantics of PS3.4
// C.2.2.2.
package indextest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// A is one attribute of a test header: tag and value (multiple values backslash-separated).
type A struct {
	Tag   tag.Tag
	Value string
}

// vrOf returns the VR of t: the index's, else the dictionary's, else LO.
func vrOf(t tag.Tag) vr.VR {
	if a, ok := index.AttrOf(t); ok {
		return a.VR
	}
	if info, ok := tag.Lookup(t); ok && info.VR != 0 {
		return info.VR
	}
	return vr.LO
}

// Header returns a data set holding attrs, with Specific Character Set ISO_IR 192 when a value
// is not ASCII. US values are set as binary integers.
func Header(tb testing.TB, attrs ...A) *dicom.Dataset {
	tb.Helper()
	ds := dicom.NewDataset()
	for _, a := range attrs {
		for _, r := range a.Value {
			if r >= 0x80 {
				if err := ds.SetString(tag.SpecificCharacterSet, vr.CS, "ISO_IR 192"); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	for _, a := range attrs {
		v := vrOf(a.Tag)
		var err error
		if v == vr.US {
			var n int64
			fmt.Sscan(a.Value, &n)
			err = ds.SetInts(a.Tag, v, n)
		} else {
			err = ds.SetString(a.Tag, v, a.Value)
		}
		if err != nil {
			tb.Fatalf("set %s: %v", a.Tag, err)
		}
	}
	return ds
}

// Inst describes a test instance: its identifying attributes and any others.
type Inst struct {
	PatientID, StudyUID, SeriesUID, SOPUID string
	SOPClass                               string
	Attrs                                  []A
}

// Received is the reception time of the records Record builds.
var received = time.Date(2024, 3, 15, 10, 30, 0, 123456789, time.UTC)

// Record returns the index record of in: blob key, hash, metadata and frames are derived from
// its SOP Instance UID.
func Record(tb testing.TB, in Inst) *index.Record {
	tb.Helper()
	class := in.SOPClass
	if class == "" {
		class = "1.2.840.10008.5.1.4.1.1.2"
	}
	attrs := append([]A{
		{tag.PatientID, in.PatientID},
		{tag.StudyInstanceUID, in.StudyUID},
		{tag.SeriesInstanceUID, in.SeriesUID},
		{tag.SOPInstanceUID, in.SOPUID},
		{tag.SOPClassUID, class},
	}, in.Attrs...)
	return &index.Record{
		Header:            Header(tb, attrs...),
		TransferSyntaxUID: "1.2.840.10008.1.2.1",
		BlobKey:           "blob-" + in.SOPUID,
		Size:              int64(1000 + len(in.SOPUID)),
		SHA256:            sha256.Sum256([]byte(in.SOPUID)),
		ReceivedAt:        received,
		SourceAE:          "MODALITY1",
		Metadata:          []byte("metadata of " + in.SOPUID),
		Frames:            []byte{1, 2, 3, byte(len(in.SOPUID))},
	}
}
