// Package index is the catalog port of the archive: what is stored, at the patient, study,
// series and instance levels (PS3.3 A.1.2 information model), and the matching of C-FIND and
// QIDO-RS queries against it (PS3.4 C.2.2.2, C.6; PS3.18 10.6).
//
// Implementations: sqlite (embedded, the default) and, later, postgres. They share this
// package's attribute table (attrs.go), query model (query.go) and the conformance suite in
// indextest, so that they answer every query alike.
package index

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Errors of an Index.
var (
	ErrNotFound = errors.New("index: not found")
	// ErrExists: an instance with the same SOP Instance UID is indexed already.
	ErrExists = errors.New("index: instance exists")
	// ErrInvalidQuery: a query key cannot be matched (e.g. a wildcard in a UID).
	ErrInvalidQuery = errors.New("index: invalid query")
)

// Level is a query/retrieve level.
type Level int

// Levels, top to bottom.
const (
	Patient Level = iota
	Study
	Series
	Instance
)

// String returns the Query/Retrieve Level value (0008,0052).
func (l Level) String() string {
	return [...]string{"PATIENT", "STUDY", "SERIES", "IMAGE"}[l]
}

// ParseLevel reads a Query/Retrieve Level value.
func ParseLevel(s string) (Level, bool) {
	switch s {
	case "PATIENT":
		return Patient, true
	case "STUDY":
		return Study, true
	case "SERIES":
		return Series, true
	case "IMAGE", "INSTANCE":
		return Instance, true
	}
	return 0, false
}

// Record is what the archive indexes for one stored instance. Header is the instance's data set
// without bulk data; the index takes the attributes of attrs.go (and the configured extra ones)
// from it. The identifying UIDs must be present and valid: the archive checks them first.
type Record struct {
	Header            *dicom.Dataset
	TransferSyntaxUID string
	BlobKey           string
	Size              int64
	SHA256            [32]byte
	ReceivedAt        time.Time
	// SourceAE is who sent it (calling AE title, or user for DICOMweb).
	SourceAE string
	// Metadata is the header as the archive encodes it for metadata readers, kept verbatim.
	Metadata []byte
	// Frames is the frame index (byte ranges of each frame in the blob), kept verbatim.
	Frames []byte
}

// Stored is an indexed instance.
type Stored struct {
	StudyInstanceUID  string
	SeriesInstanceUID string
	SOPInstanceUID    string
	SOPClassUID       string
	TransferSyntaxUID string
	BlobKey           string
	Size              int64
	SHA256            [32]byte
	ReceivedAt        time.Time
	SourceAE          string
	Metadata          []byte
	Frames            []byte
	// NumberOfFrames and InstanceNumber are kept for ordering and for viewers.
	NumberOfFrames int
	InstanceNumber int
}

// Match is one query result: the attributes of the matched entity's level and of the levels
// above it, plus the computed attributes of its level (ModalitiesInStudy, NumberOf…Related…),
// as a data set whose strings are UTF-8 with Specific Character Set ISO_IR 192. At the instance
// level Instance is the stored record (its Metadata can answer other return keys).
type Match struct {
	Level    Level
	Attrs    *dicom.Dataset
	Instance *Stored
}

// Stats are counts of what the index holds.
type Stats struct {
	Patients, Studies, Series, Instances int64
	Bytes                                int64
}

// Index is the catalog. Every method is safe for concurrent use.
type Index interface {
	// Put indexes rec in one transaction with its patient, study and series, whose
	// attributes it creates or updates. An instance with the same SOP Instance UID gives
	// ErrExists and the stored record. Implementations may commit concurrent Puts together
	// (group commit); Put returns once rec is durable.
	Put(ctx context.Context, rec *Record) (*Stored, error)
	// Replace indexes rec in place of the instance with the same SOP Instance UID and returns
	// the record it replaced (whose blob the caller then deletes).
	Replace(ctx context.Context, rec *Record) (old *Stored, err error)
	// KeepVersion records rec as a version of the indexed instance with the same SOP Instance
	// UID, kept aside (its blob is not served in its place): the "keep both" duplicate policy.
	KeepVersion(ctx context.Context, rec *Record) error
	// Versions returns the versions kept aside for sopInstanceUID, oldest first.
	Versions(ctx context.Context, sopInstanceUID string) ([]*Stored, error)
	// Lookup returns the instance sopInstanceUID, or ErrNotFound.
	Lookup(ctx context.Context, sopInstanceUID string) (*Stored, error)
	// Instances returns every instance of the study, series or instance uid at level (Study,
	// Series or Instance), ordered by series, then instance number.
	Instances(ctx context.Context, level Level, uid string) ([]*Stored, error)
	// Search yields the matches of q in the order q asks for.
	Search(ctx context.Context, q *Query) iter.Seq2[*Match, error]
	// Count returns how many entities match q, ignoring its Limit and Offset.
	Count(ctx context.Context, q *Query) (int, error)
	// Delete removes the study, series or instance uid and everything under it, and returns
	// the instances removed, with the versions kept aside for them (so that the caller deletes
	// their blobs after the commit). Patients, studies and series left empty are removed too.
	Delete(ctx context.Context, level Level, uid string) ([]*Stored, error)
	// BlobKeys calls fn for the blob key of every indexed instance and kept version (integrity
	// checks, the startup sweep).
	BlobKeys(ctx context.Context, fn func(key string) error) error
	// Stats counts what is indexed.
	Stats(ctx context.Context) (Stats, error)
	Close() error
}

// EarlyPutter is implemented by indexes that can index an instance while its blob is still being
// made durable, so that the two overlap: the caller acknowledges the instance only once both are
// durable, and the index remembers the blob as unsettled until told otherwise, so that after a
// crash the instances whose blob may not have reached stable storage are checked (Unsettled)
// and those whose blob is missing or incomplete removed before anything is served.
type EarlyPutter interface {
	// PutUnsettled is Put, with rec.BlobKey marked unsettled in the same transaction.
	PutUnsettled(ctx context.Context, rec *Record) (*Stored, error)
	// Settle says that key's blob is durable; the mark may be removed lazily (with a later
	// transaction), since a mark left behind only costs a check at the next start.
	Settle(key string)
	// Unsettled returns the marked blob keys, each with the instance that refers to it (nil when
	// none does).
	Unsettled(ctx context.Context) (map[string]*Stored, error)
	// ClearUnsettled removes the marks of keys, durably.
	ClearUnsettled(ctx context.Context, keys []string) error
}

// BatchPutter is implemented by indexes that can index many records in one transaction (bulk
// import). PutBatch returns, for each record, what Put would have returned for it alone; the
// records that succeeded are durable when it returns.
type BatchPutter interface {
	PutBatch(ctx context.Context, recs []*Record) ([]*Stored, []error)
}
