// Package archive is the core of Lightbox: the one service every front end (DIMSE, DICOMweb,
// the command line, the viewer) goes through to store, find, read and delete instances. It owns
// the invariants: an instance is acknowledged only once its blob is durable and its index row
// committed, in that order; a failed or interrupted store leaves neither; duplicates follow the
// configured policy; what later readers need (metadata without bulk data, frame offsets) is kept
// at ingest. Front ends map its errors to their own status codes.
package archive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Errors of the archive; front ends map them to statuses (see internal/scp and internal/web).
var (
	// ErrInvalid: the instance cannot be stored as sent (not a data set, UIDs missing or
	// invalid, a data set that contradicts its command).
	ErrInvalid = errors.New("archive: invalid instance")
	// ErrMismatch: the data set does not match what the request says (SOP Instance or Class UID).
	ErrMismatch = errors.New("archive: data set does not match the request")
	// ErrConflict: an instance with the same SOP Instance UID but other content is stored, and
	// the duplicate policy keeps the stored one.
	ErrConflict = errors.New("archive: a different instance with this SOP Instance UID is stored")
	// ErrNoSpace: storage is full.
	ErrNoSpace = errors.New("archive: storage full")
	// ErrUnavailable: storage or index cannot be used.
	ErrUnavailable = errors.New("archive: storage unavailable")
	// ErrNotFound: no such instance, series or study.
	ErrNotFound = errors.New("archive: not found")
)

// DuplicatePolicy says what to do with an instance whose SOP Instance UID is stored already
// with other content. An identical re-send is always an idempotent success.
type DuplicatePolicy int

// Duplicate policies.
const (
	// Reject keeps the stored instance and answers ErrConflict (a warning to the sender).
	Reject DuplicatePolicy = iota
	// Overwrite replaces the stored instance with the new one.
	Overwrite
	// Keep keeps both: the stored instance goes on being served, the new one is stored aside as
	// a version of it (index.Versions) and the sender is warned (ErrConflict).
	Keep
)

// ParseDuplicatePolicy reads "reject", "keep" or "overwrite".
func ParseDuplicatePolicy(s string) (DuplicatePolicy, error) {
	switch strings.ToLower(s) {
	case "", "reject":
		return Reject, nil
	case "overwrite":
		return Overwrite, nil
	case "keep":
		return Keep, nil
	}
	return 0, fmt.Errorf("unknown duplicate policy %q (want reject, keep or overwrite)", s)
}

func (p DuplicatePolicy) String() string { return [...]string{"reject", "overwrite", "keep"}[p] }

// Options configure a Service. The zero value is valid.
type Options struct {
	Duplicates DuplicatePolicy
	// BulkThreshold: values longer than this are bulk data, left out of the metadata kept at
	// ingest (default 16 KiB).
	BulkThreshold int64
	// Compress is the optional ingest policy that stores uncompressed pixel data in a lossless
	// compressed syntax (off by default).
	Compress CompressPolicy
	Logger   *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the archive.
type Service struct {
	idx   index.Index
	blobs blob.Store
	opts  Options
	log   *slog.Logger
	locks [64]sync.Mutex // serialise stores of the same SOP Instance UID
	keys  blob.Keys      // blob keys: consecutive stores share key directories
	bufs  sync.Pool      // *bufio.Writer of 256 KiB, reused by stores
}

// New returns the archive over an index and a blob store.
func New(idx index.Index, blobs blob.Store, opts Options) *Service {
	if opts.BulkThreshold <= 0 {
		opts.BulkThreshold = 16 << 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{idx: idx, blobs: blobs, opts: opts, log: log}
}

// StoreRequest is one instance to store: its data set as received, in TransferSyntax.
type StoreRequest struct {
	SOPClassUID    string
	SOPInstanceUID string
	TransferSyntax string
	Data           io.Reader
	// Source names the sender for the record (calling AE title, or user).
	Source string
}

// Outcome says what Store did.
type Outcome int

// Outcomes of Store.
const (
	Stored Outcome = iota
	// Duplicate: an identical instance was stored already; nothing changed.
	Duplicate
	// Replaced: the instance replaced a different one with the same SOP Instance UID.
	Replaced
)

func (o Outcome) String() string { return [...]string{"stored", "duplicate", "replaced"}[o] }

// StoreResult is what Store did and the stored record.
type StoreResult struct {
	Outcome  Outcome
	Instance *index.Stored
}

func (s *Service) lock(sop string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(sop))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// countingWriter counts and hashes what goes to the blob.
type countingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// Store streams an instance into a temporary blob while reading its header, checks it, makes the
// blob durable, and indexes it in one transaction. It returns only when the instance is durable:
// then, and only then, may the sender be told so. On any error nothing is left behind. The data
// set bytes are kept exactly as received, after a File Meta naming its transfer syntax.
func (s *Service) Store(ctx context.Context, req StoreRequest) (*StoreResult, error) {
	wr, err := s.write(ctx, req, false)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			wr.w.Abort()
		}
	}()
	rec := wr.rec
	mu := s.lock(req.SOPInstanceUID)
	mu.Lock()
	defer mu.Unlock()
	if ep, ok := s.idx.(index.EarlyPutter); ok && wr.inPlace {
		// A new instance, the common case, costs no lookup first: the index refuses a SOP
		// Instance UID it holds (index.ErrExists with the stored instance), and the duplicate
		// policy is applied then, with the new blob durable.
		committed = true // by storeEarly, whatever it returns
		res, old, err := s.storeEarly(ctx, ep, wr)
		if old == nil {
			return res, err
		}
		return s.storeExisting(ctx, rec, old)
	}
	old, err := s.idx.Lookup(ctx, req.SOPInstanceUID)
	switch {
	case err == nil:
		if old.SHA256 == rec.SHA256 {
			return &StoreResult{Outcome: Duplicate, Instance: old}, nil
		}
		if s.opts.Duplicates == Reject {
			s.log.Warn("duplicate SOP Instance UID with different content: kept the stored instance",
				"sop_uid", req.SOPInstanceUID, "calling_ae", req.Source)
			return &StoreResult{Outcome: Duplicate, Instance: old}, ErrConflict
		}
	case !errors.Is(err, index.ErrNotFound):
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := wr.w.Commit(ctx, wr.key); err != nil {
		return nil, s.storageErr(err)
	}
	committed = true
	rec.BlobKey = wr.key
	if old != nil {
		return s.storeOver(ctx, rec, old)
	}
	st, err := s.idx.Put(ctx, rec)
	if err != nil {
		s.deleteBlob(rec.BlobKey)
		if errors.Is(err, index.ErrExists) && st != nil && st.SHA256 == rec.SHA256 {
			return &StoreResult{Outcome: Duplicate, Instance: st}, nil
		}
		return nil, fmt.Errorf("%w: index: %w", ErrUnavailable, err)
	}
	return &StoreResult{Outcome: Stored, Instance: st}, nil
}

// storeEarly makes a new instance's blob durable and indexes it at the same time: the index
// transaction (statements, WAL write and sync) runs while the blob is synced, and the instance is
// acknowledged only once both are durable. The index marks the blob unsettled in the same
// transaction until it is durable, so that a crash in between leaves a row the startup check
// (Sweep) verifies against its blob and removes if the blob is not whole; if the blob cannot be
// made durable, the row is removed at once. If the index holds the SOP Instance UID already, it
// returns that instance instead, the new blob durable and not indexed, for the caller's duplicate
// policy. The caller holds the SOP Instance UID's lock.
func (s *Service) storeEarly(ctx context.Context, ep index.EarlyPutter, wr *written) (*StoreResult, *index.Stored, error) {
	rec := wr.rec
	rec.BlobKey = wr.key
	synced := make(chan error, 1)
	go func() { synced <- wr.w.Commit(ctx, wr.key) }()
	st, err := ep.PutUnsettled(ctx, rec)
	if berr := <-synced; berr != nil {
		if err == nil {
			// Indexed, never acknowledged: remove the row (its mark stays until the next start,
			// which removes the row if this fails).
			if _, derr := s.idx.Delete(context.WithoutCancel(ctx), index.Instance, rec.Header.String(tag.SOPInstanceUID)); derr != nil {
				s.log.Error("row of a blob that could not be made durable left for the startup check", "blob", wr.key, "err", derr)
			}
		}
		s.deleteBlob(wr.key)
		return nil, nil, s.storageErr(berr)
	}
	if err != nil {
		if errors.Is(err, index.ErrExists) && st != nil {
			return nil, st, err // the blob is durable: the caller applies the duplicate policy
		}
		s.deleteBlob(wr.key)
		return nil, nil, fmt.Errorf("%w: index: %w", ErrUnavailable, err)
	}
	ep.Settle(wr.key)
	return &StoreResult{Outcome: Stored, Instance: st}, nil, nil
}

// storeExisting applies the duplicate policy to rec, whose blob is durable but not indexed, when
// old holds its SOP Instance UID: an identical re-send is a Duplicate (the new blob removed);
// other content goes by the policy (storeOver). The caller holds the SOP Instance UID's lock.
func (s *Service) storeExisting(ctx context.Context, rec *index.Record, old *index.Stored) (*StoreResult, error) {
	if old.SHA256 == rec.SHA256 {
		s.deleteBlob(rec.BlobKey)
		return &StoreResult{Outcome: Duplicate, Instance: old}, nil
	}
	return s.storeOver(ctx, rec, old)
}

// storeOver indexes rec, whose blob is durable, when old, an instance with its SOP Instance UID
// and other content, is stored: by the duplicate policy, it is kept aside as a version (Keep),
// replaces old (Overwrite) or is dropped (Reject). The caller holds the SOP Instance UID's lock.
func (s *Service) storeOver(ctx context.Context, rec *index.Record, old *index.Stored) (*StoreResult, error) {
	sop := old.SOPInstanceUID
	switch s.opts.Duplicates {
	case Reject:
		s.deleteBlob(rec.BlobKey)
		s.log.Warn("duplicate SOP Instance UID with different content: kept the stored instance",
			"sop_uid", sop, "calling_ae", rec.SourceAE)
		return &StoreResult{Outcome: Duplicate, Instance: old}, ErrConflict
	case Keep:
		if err := s.idx.KeepVersion(ctx, rec); err != nil {
			s.deleteBlob(rec.BlobKey)
			return nil, fmt.Errorf("%w: index: %w", ErrUnavailable, err)
		}
		s.log.Warn("duplicate SOP Instance UID with different content: stored aside as a version, the first one is served",
			"sop_uid", sop, "calling_ae", rec.SourceAE, "blob", rec.BlobKey)
		return &StoreResult{Outcome: Duplicate, Instance: old}, ErrConflict
	}
	replaced, err := s.idx.Replace(ctx, rec)
	if err != nil {
		s.deleteBlob(rec.BlobKey)
		return nil, fmt.Errorf("%w: index: %w", ErrUnavailable, err)
	}
	if replaced != nil {
		s.deleteBlob(replaced.BlobKey)
	}
	st, _ := s.idx.Lookup(ctx, sop)
	return &StoreResult{Outcome: Replaced, Instance: st}, nil
}

// written is an instance written to a blob that is neither durable nor committed yet.
type written struct {
	w       blob.Writer
	key     string // the key the blob is committed under
	inPlace bool   // written under key (blob.InPlaceCreator)
	// deferred: Commit does not make the blob durable; blob.BulkSyncer.SyncAll does (batches)
	deferred bool
	rec      *index.Record
}

// create starts a blob: in place under a new key where the store can (no link or rename to
// make durable after the data), else a temporary one. With deferred (batches), a store that
// syncs many blobs at once (blob.BulkSyncer) writes one whose Commit does not sync it: the
// batch's SyncAll does; the written's deferred says whether that happened.
func (s *Service) create(ctx context.Context, deferred bool) (w blob.Writer, key string, inPlace, isDeferred bool, err error) {
	key = s.keys.New()
	if bs, ok := s.blobs.(blob.BulkSyncer); ok && deferred {
		w, err := bs.CreateDeferred(ctx, key)
		if !errors.Is(err, errors.ErrUnsupported) {
			return w, key, true, true, err
		}
	}
	if ip, ok := s.blobs.(blob.InPlaceCreator); ok {
		w, err := ip.CreateAt(ctx, key)
		return w, key, true, false, err
	}
	w, err = s.blobs.Create(ctx)
	return w, key, false, false, err
}

// write checks req, streams it into a new blob while reading its header, and builds its index
// record (without the blob key). On error nothing is left behind; otherwise the caller commits
// or aborts the blob.
func (s *Service) write(ctx context.Context, req StoreRequest, deferred bool) (*written, error) {
	if err := uid.Validate(req.SOPInstanceUID); err != nil {
		return nil, fmt.Errorf("%w: SOP Instance UID: %w", ErrInvalid, err)
	}
	if err := uid.Validate(req.SOPClassUID); err != nil {
		return nil, fmt.Errorf("%w: SOP Class UID: %w", ErrInvalid, err)
	}
	if err := uid.Validate(req.TransferSyntax); err != nil {
		return nil, fmt.Errorf("%w: transfer syntax: %w", ErrInvalid, err)
	}
	req = s.compress(ctx, req)
	w, key, inPlace, isDeferred, err := s.create(ctx, deferred)
	if err != nil {
		return nil, s.storageErr(err)
	}
	ok := false
	defer func() {
		if !ok {
			w.Abort()
		}
	}()
	// Large writes: bulk data arrives in the reader's small chunks. The buffers are reused:
	// allocating (and zeroing) one per store costs more than the rest of a small store.
	bw, _ := s.bufs.Get().(*bufio.Writer)
	if bw == nil {
		bw = bufio.NewWriterSize(w, 128<<10)
	} else {
		bw.Reset(w)
	}
	defer func() {
		bw.Reset(nil)
		s.bufs.Put(bw)
	}()
	cw := &countingWriter{w: bw, h: sha256.New()}
	// File Meta first: the blob is a self-describing Part 10 file.
	meta := dicom.NewDataset()
	meta.Set(dicom.NewElement(tag.FileMetaInformationVersion, vr.OB, []byte{0, 1}))
	meta.SetString(tag.MediaStorageSOPClassUID, vr.UI, req.SOPClassUID)
	meta.SetString(tag.MediaStorageSOPInstanceUID, vr.UI, req.SOPInstanceUID)
	meta.SetString(tag.TransferSyntaxUID, vr.UI, req.TransferSyntax)
	meta.SetString(tag.ImplementationClassUID, vr.UI, dicom.ImplementationClassUID)
	meta.SetString(tag.ImplementationVersionName, vr.SH, dicom.ImplementationVersionName)
	if req.Source != "" && len(req.Source) <= 16 {
		meta.SetString(tag.SourceApplicationEntityTitle, vr.AE, req.Source)
	}
	var prefix bytes.Buffer
	if err := dicom.WriteHeader(&prefix, nil, meta); err != nil {
		return nil, fmt.Errorf("archive: file meta: %w", err)
	}
	if _, err := cw.Write(prefix.Bytes()); err != nil {
		return nil, s.storageErr(err)
	}
	base := cw.n
	// Read the header from what is being written: bulk values pass through to the blob unread.
	tee := io.TeeReader(req.Data, cw)
	// The first bytes of each pixel data fragment left unread tell where frames begin when
	// there is no offset table.
	prefixes := map[int64][]byte{}
	header, err := dicom.ReadDataset(tee, req.TransferSyntax, dicom.ReadOptions{
		BulkThreshold: s.opts.BulkThreshold,
		KeepInline:    keepInline,
		BulkHandler: func(e *dicom.Element, r io.Reader) error {
			if e.Tag == tag.PixelData && len(prefixes) < 1<<16 {
				p := make([]byte, 8)
				n, _ := io.ReadFull(r, p)
				prefixes[e.Offset] = p[:n]
			}
			return nil
		},
	})
	if err != nil {
		var pe *dicom.ParseError
		if errors.As(err, &pe) {
			if errors.Is(err, blob.ErrNoSpace) || errors.Is(err, blob.ErrUnavailable) {
				return nil, s.storageErr(err)
			}
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return nil, s.storageErr(err)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return nil, s.storageErr(err)
	}
	if err := bw.Flush(); err != nil {
		return nil, s.storageErr(err)
	}
	rec, err := s.record(req, header, base, prefixes)
	if err != nil {
		return nil, err
	}
	rec.Size = cw.n
	copy(rec.SHA256[:], cw.h.Sum(nil))
	ok = true
	return &written{w: w, key: key, inPlace: inPlace, deferred: isDeferred, rec: rec}, nil
}

func (s *Service) deleteBlob(key string) {
	if err := s.blobs.Delete(context.Background(), key); err != nil && !errors.Is(err, blob.ErrNotFound) {
		s.log.Error("blob left behind; the startup sweep will remove it", "blob", key, "err", err)
	}
}

func (s *Service) storageErr(err error) error {
	switch {
	case errors.Is(err, blob.ErrNoSpace):
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	case errors.Is(err, blob.ErrUnavailable):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("archive: store: %w", err)
}

// record checks the header against the request and builds the index record.
func (s *Service) record(req StoreRequest, header *dicom.Dataset, base int64, prefixes map[int64][]byte) (*index.Record, error) {
	if got := header.String(tag.SOPInstanceUID); got != req.SOPInstanceUID {
		return nil, fmt.Errorf("%w: SOP Instance UID %q in the data set, %q in the request", ErrMismatch, got, req.SOPInstanceUID)
	}
	if got := header.String(tag.SOPClassUID); got != req.SOPClassUID {
		return nil, fmt.Errorf("%w: SOP Class UID %q in the data set, %q in the request", ErrMismatch, got, req.SOPClassUID)
	}
	for _, t := range []tag.Tag{tag.StudyInstanceUID, tag.SeriesInstanceUID} {
		if err := uid.Validate(header.String(t)); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, tag.Keyword(t), err)
		}
	}
	metadata, err := encodeMeta(header, base)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return &index.Record{
		Header:            header,
		TransferSyntaxUID: req.TransferSyntax,
		ReceivedAt:        s.opts.Now().UTC(),
		SourceAE:          req.Source,
		Metadata:          metadata,
		Frames:            encodeFrames(frameIndex(header, base, prefixes)),
	}, nil
}

// StoreFile stores a Part 10 file read from r (DICOMweb STOW, import): its File Meta gives the
// transfer syntax and UIDs; the data set bytes are kept as they are in the file.
func (s *Service) StoreFile(ctx context.Context, r io.Reader, source string) (*StoreResult, error) {
	req, err := fileRequest(r, source)
	if err != nil {
		return nil, err
	}
	return s.Store(ctx, req)
}

// fileRequest reads the File Meta of the Part 10 file r into a store request whose data is the
// rest of r.
func fileRequest(r io.Reader, source string) (StoreRequest, error) {
	br := &prefixReader{r: r}
	f, err := dicom.Read(br, dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0019)})
	if err != nil {
		return StoreRequest{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if f.Meta == nil {
		return StoreRequest{}, fmt.Errorf("%w: no File Meta Information", ErrInvalid)
	}
	// A File Meta without its Media Storage UIDs: the data set's own identify the instance.
	class := strings.TrimRight(f.Meta.String(tag.MediaStorageSOPClassUID), "\x00 ")
	if class == "" {
		class = f.Dataset.String(tag.SOPClassUID)
	}
	inst := strings.TrimRight(f.Meta.String(tag.MediaStorageSOPInstanceUID), "\x00 ")
	if inst == "" {
		inst = f.Dataset.String(tag.SOPInstanceUID)
	}
	req := StoreRequest{
		SOPClassUID:    class,
		SOPInstanceUID: inst,
		TransferSyntax: f.Syntax.UID,
		Source:         source,
	}
	// What the reader consumed past the data set's start is replayed before the rest of r.
	consumed := br.buf.Bytes()
	if int64(len(consumed)) < f.DatasetOffset {
		return StoreRequest{}, fmt.Errorf("%w: truncated file", ErrInvalid)
	}
	req.Data = io.MultiReader(bytes.NewReader(consumed[f.DatasetOffset:]), r)
	return req, nil
}

// prefixReader records what is read through it (the file's first bytes, up to the data set).
type prefixReader struct {
	r   io.Reader
	buf bytes.Buffer
}

func (p *prefixReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.buf.Write(b[:n])
	return n, err
}

// Lookup returns the instance sopInstanceUID.
func (s *Service) Lookup(ctx context.Context, sopInstanceUID string) (*index.Stored, error) {
	st, err := s.idx.Lookup(ctx, sopInstanceUID)
	if errors.Is(err, index.ErrNotFound) {
		return nil, fmt.Errorf("%w: instance %s", ErrNotFound, sopInstanceUID)
	}
	return st, err
}

// Open opens the blob of a stored instance: a Part 10 file. DataOffset of the result locates the
// data set.
func (s *Service) Open(ctx context.Context, st *index.Stored) (blob.Object, error) {
	o, err := s.blobs.Open(ctx, st.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		// The index says it exists: a missing blob is damage, not absence.
		return nil, fmt.Errorf("%w: blob of instance %s is missing", ErrUnavailable, st.SOPInstanceUID)
	}
	return o, err
}

// DatasetReader opens the data set of a stored instance, positioned after its File Meta, with
// its length.
func (s *Service) DatasetReader(ctx context.Context, st *index.Stored) (io.ReadCloser, int64, error) {
	o, err := s.Open(ctx, st)
	if err != nil {
		return nil, 0, err
	}
	f, err := dicom.Read(io.NewSectionReader(o, 0, o.Size()), dicom.ReadOptions{StopAt: tag.New(0x0008, 0x0000)})
	if err != nil {
		o.Close()
		return nil, 0, fmt.Errorf("%w: blob of %s: %w", ErrUnavailable, st.SOPInstanceUID, err)
	}
	if _, err := o.Seek(f.DatasetOffset, io.SeekStart); err != nil {
		o.Close()
		return nil, 0, err
	}
	return o, o.Size() - f.DatasetOffset, nil
}

// Search yields the matches of q.
func (s *Service) Search(ctx context.Context, q *index.Query) iter.Seq2[*index.Match, error] {
	return s.idx.Search(ctx, q)
}

// Count counts the matches of q.
func (s *Service) Count(ctx context.Context, q *index.Query) (int, error) { return s.idx.Count(ctx, q) }

// Instances returns the instances under a study, series or instance.
func (s *Service) Instances(ctx context.Context, level index.Level, uid string) ([]*index.Stored, error) {
	return s.idx.Instances(ctx, level, uid)
}

// Delete removes a study, series or instance: index rows first, in one transaction, then the
// blobs. It returns the number of instances removed.
func (s *Service) Delete(ctx context.Context, level index.Level, uid string) (int, error) {
	removed, err := s.idx.Delete(ctx, level, uid)
	if err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return 0, fmt.Errorf("%w: %s %s", ErrNotFound, strings.ToLower(level.String()), uid)
		}
		return 0, err
	}
	for _, st := range removed {
		s.deleteBlob(st.BlobKey)
	}
	s.log.Info("deleted", "level", level.String(), "uid", uid, "instances", len(removed))
	return len(removed), nil
}

// Versions returns the versions of an instance kept aside under the keep policy.
func (s *Service) Versions(ctx context.Context, sopInstanceUID string) ([]*index.Stored, error) {
	return s.idx.Versions(ctx, sopInstanceUID)
}

// Stats counts what the archive holds.
func (s *Service) Stats(ctx context.Context) (index.Stats, error) { return s.idx.Stats(ctx) }

// SweepReport is what the startup sweep removed.
type SweepReport struct {
	TempFiles   int
	OrphanBlobs int
	// Unsettled is how many instances indexed before their blob was durable were checked;
	// Incomplete how many of them were removed (their blob missing or not whole).
	Unsettled, Incomplete int
}

// Sweep removes what interrupted stores left: temporary blobs, and committed blobs that no index
// row refers to (a crash between the blob's commit and the index's). It must run before the
// archive accepts stores.
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	var r SweepReport
	n, err := s.blobs.Sweep(ctx, 0)
	if err != nil {
		return r, fmt.Errorf("sweep temporary blobs: %w", err)
	}
	r.TempFiles = n
	if ep, ok := s.idx.(index.EarlyPutter); ok {
		if err := s.checkUnsettled(ctx, ep, &r); err != nil {
			return r, err
		}
	}
	known := make(map[string]struct{})
	if err := s.idx.BlobKeys(ctx, func(k string) error { known[k] = struct{}{}; return nil }); err != nil {
		return r, fmt.Errorf("sweep: list indexed blobs: %w", err)
	}
	var orphans []string
	if err := s.blobs.Walk(ctx, func(k string, _ int64) error {
		if _, ok := known[k]; !ok {
			orphans = append(orphans, k)
		}
		return nil
	}); err != nil {
		return r, fmt.Errorf("sweep: list blobs: %w", err)
	}
	for _, k := range orphans {
		if err := s.blobs.Delete(ctx, k); err == nil {
			r.OrphanBlobs++
		}
	}
	if r.TempFiles+r.OrphanBlobs+r.Incomplete > 0 {
		s.log.Info("startup sweep removed leftovers of interrupted stores", "temp_files", r.TempFiles, "orphan_blobs", r.OrphanBlobs,
			"unsettled_checked", r.Unsettled, "incomplete_removed", r.Incomplete)
	}
	return r, nil
}

// checkUnsettled checks the instances indexed while their blob was being made durable that an
// interrupted process left marked (see storeEarly): an instance whose blob is whole (its size
// and SHA-256 those indexed) is kept, and its blob synced (after a process crash its data may
// still be only in the page cache); any other was never acknowledged, and its row is removed
// (the orphan sweep then removes what is left of its blob).
func (s *Service) checkUnsettled(ctx context.Context, ep index.EarlyPutter, r *SweepReport) error {
	marks, err := ep.Unsettled(ctx)
	if err != nil {
		return fmt.Errorf("sweep: unsettled blobs: %w", err)
	}
	keys := make([]string, 0, len(marks))
	for key, st := range marks {
		keys = append(keys, key)
		if st == nil {
			continue
		}
		r.Unsettled++
		whole, err := s.blobWhole(ctx, st)
		if err != nil {
			return fmt.Errorf("sweep: check blob %s: %w", key, err)
		}
		if whole {
			if sy, ok := s.blobs.(blob.Syncer); ok {
				if err := sy.Sync(ctx, key); err != nil {
					return fmt.Errorf("sweep: sync blob %s: %w", key, err)
				}
			}
			continue
		}
		if _, err := s.idx.Delete(ctx, index.Instance, st.SOPInstanceUID); err != nil && !errors.Is(err, index.ErrNotFound) {
			return fmt.Errorf("sweep: remove the row of incomplete blob %s: %w", key, err)
		}
		r.Incomplete++
		s.log.Warn("startup sweep: removed an instance whose blob was not whole after an interruption (it had not been acknowledged)",
			"sop_uid", st.SOPInstanceUID, "blob", key)
	}
	if err := ep.ClearUnsettled(ctx, keys); err != nil {
		return fmt.Errorf("sweep: clear unsettled blobs: %w", err)
	}
	return nil
}

// blobWhole reports whether st's blob holds exactly what was indexed. The error is a failure to
// read it (not its absence, which is false).
func (s *Service) blobWhole(ctx context.Context, st *index.Stored) (bool, error) {
	o, err := s.blobs.Open(ctx, st.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer o.Close()
	if o.Size() != st.Size {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, o); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), st.SHA256[:]), nil
}
