package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Failure Reason (0008,1197) values of STOW-RS (PS3.18 10.5.3, after the C-STORE statuses of
// PS3.4 B.2.3).
const (
	reasonProcessing       = 0x0110 // Processing failure
	reasonDuplicate        = 0x0111 // Duplicate SOP Instance: another instance with this UID is kept
	reasonOutOfResources   = 0xA700 // Refused: out of resources
	reasonMismatch         = 0xA900 // Error: data set does not match SOP Class (or the request)
	reasonCannotUnderstand = 0xC000 // Error: cannot understand
)

// maxBufferedPart bounds the parts read whole into memory, to be stored in parallel with the
// next ones; a larger part is streamed into the archive as it arrives. It also bounds what is
// read of a part to check its Study Instance UID against the request's before storing it.
const maxBufferedPart = 16 << 20

// defaultStoreParallelism is how many instances of one STOW-RS request are stored at once:
// each store waits mostly for its blob and index to be made durable, which concurrent stores
// share (group commit).
const defaultStoreParallelism = 4

// storeItem is the outcome of one part.
type storeItem struct {
	classUID, instanceUID string
	stored                *index.Stored
	reason                uint16
	unavailable           bool
}

// store answers STOW-RS Store Instances (PS3.18 10.5): a multipart/related payload of Part 10
// instances, each streamed into the archive.
func (s *server) store(w http.ResponseWriter, r *http.Request) {
	study, _, _, err := pathUIDs(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%s", err)
		return
	}
	for _, ce := range strings.Split(strings.Join(r.Header.Values("Content-Encoding"), ","), ",") {
		if ce = strings.TrimSpace(ce); ce != "" && !strings.EqualFold(ce, "identity") {
			w.Header().Set("Accept-Encoding", "identity") // RFC 9110 15.5.16
			httpError(w, http.StatusUnsupportedMediaType, "request bodies with Content-Encoding %q are not supported: send them uncompressed", ce)
			return
		}
	}
	ct := r.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	switch {
	case mt == dicomweb.MediaDICOMJSON || (mt == dicomweb.MultipartRelated && params[dicomweb.ParamType] == dicomweb.MediaDICOMJSON):
		s.storeJSON(w, r, study, ct, mt == dicomweb.MultipartRelated)
		return
	case mt == dicomweb.MediaJSON || mt == dicomweb.MediaDICOMXML || (mt == dicomweb.MultipartRelated && params[dicomweb.ParamType] == dicomweb.MediaDICOMXML):
		httpError(w, http.StatusUnsupportedMediaType, `storing %s is not supported: send multipart/related; type="application/dicom" with Part 10 instances, or multipart/related; type="application/dicom+json" with metadata and bulk data`, ct)
		return
	case mt != dicomweb.MultipartRelated:
		httpError(w, http.StatusUnsupportedMediaType, `the request body must be multipart/related; type="application/dicom" (got %q)`, ct)
		return
	case params[dicomweb.ParamType] != "" && params[dicomweb.ParamType] != dicomweb.MediaDICOM:
		httpError(w, http.StatusUnsupportedMediaType, "multipart/related of type %q is not supported: want application/dicom", params[dicomweb.ParamType])
		return
	}
	if r.ContentLength > s.opts.MaxUploadBytes {
		httpError(w, http.StatusRequestEntityTooLarge, "the request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, s.opts.MaxUploadBytes)
		return
	}
	body := &idleReader{r: http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes), rc: http.NewResponseController(w), idle: bodyIdleTimeout}
	mr, err := dicomweb.NewReader(body, ct, dicomweb.ReaderLimits{})
	if err != nil {
		httpError(w, http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "dicomweb: "))
		return
	}
	items, bodyErr := s.storeParts(r, mr, study)
	if bodyErr != nil {
		s.bodyFailed(w, r, items, bodyErr)
		return
	}
	if len(items) == 0 {
		httpError(w, http.StatusBadRequest, "the request holds no instances")
		return
	}
	s.storeResponse(w, r, study, items)
}

// stowBatchParts and stowBatchBytes bound the instances of one STOW-RS request made durable
// together (and so the blobs held open between their write and their commit).
const (
	stowBatchParts = 64
	stowBatchBytes = 256 << 20
)

// stowBatch is the batch of a STOW-RS request being written: the parts added, by their
// position in the batch.
type stowBatch struct {
	b     *archive.Batch
	mu    sync.Mutex
	items map[int]*storeItem
}

func (sb *stowBatch) add(pos int, item *storeItem) {
	sb.mu.Lock()
	sb.items[pos] = item
	sb.mu.Unlock()
}

// storeParts stores the parts of a STOW-RS payload and returns their outcomes in the order of
// the parts. The instances are made durable together: each part's blob is written (not yet
// synced) into an archive batch, and the batch is committed (blobs synced together, then one
// index transaction) every stowBatchParts parts or stowBatchBytes bytes, and at the end. A part
// of at most maxBufferedPart bytes is read whole, then written by a goroutine of its own while
// the next parts are read, up to the server's store parallelism; a larger part is streamed into
// the batch by the calling goroutine. The error is the request body's: the outcomes then are
// those of the parts read before it failed, all of them finished (and those written, committed).
func (s *server) storeParts(r *http.Request, mr *dicomweb.Reader, study string) ([]storeItem, error) {
	var (
		out  []*storeItem
		wg   sync.WaitGroup
		sem  = make(chan struct{}, s.opts.StoreParallelism)
		fail error
		sb   = &stowBatch{b: s.arc.NewStoreBatch(), items: map[int]*storeItem{}}
	)
	ctx := r.Context()
	commit := func() {
		wg.Wait()
		res := sb.b.Commit(ctx)
		for pos, item := range sb.items {
			*item = s.storeOutcome(*item, res[pos].Result, res[pos].Err)
		}
		clear(sb.items)
	}
	for {
		if n, size := sb.b.Len(); n >= stowBatchParts || size >= stowBatchBytes {
			commit()
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail = err
			break
		}
		item := &storeItem{}
		out = append(out, item)
		if ct := p.ContentType(); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != dicomweb.MediaDICOM {
				item.reason = reasonCannotUnderstand
				s.log.Info("DICOMweb: STOW-RS part refused", "content_type", ct)
				continue
			}
		}
		buf := s.bufs.Get().(*bytes.Buffer)
		buf.Reset()
		src := &errRecorder{r: p}
		n, err := buf.ReadFrom(io.LimitReader(src, maxBufferedPart+1))
		if err != nil {
			// The part being read when the body failed is not stored.
			s.bufs.Put(buf)
			out, fail = out[:len(out)-1], err
			break
		}
		if n <= maxBufferedPart {
			pos := sb.b.Reserve() // indexed in the order of the parts
			sem <- struct{}{}
			wg.Go(func() {
				*item = s.addBuffered(ctx, sb, pos, item, buf.Bytes(), study)
				s.bufs.Put(buf)
				<-sem
			})
			continue
		}
		*item, err = s.addStream(ctx, sb, item, buf.Bytes(), src, study)
		s.bufs.Put(buf)
		if err != nil {
			out, fail = out[:len(out)-1], err
			break
		}
	}
	commit()
	items := make([]storeItem, len(out))
	for i, it := range out {
		items[i] = *it
	}
	return items, fail
}

// bodyFailed answers a request whose body could not be read to its end. Instances stored before
// the failure stay stored (each was complete); the one being read when it failed was not.
func (s *server) bodyFailed(w http.ResponseWriter, r *http.Request, items []storeItem, err error) {
	stored := 0
	for _, it := range items {
		if it.stored != nil {
			stored++
		}
	}
	s.log.Warn("DICOMweb: STOW-RS body failed", "remote", r.RemoteAddr, "stored_before", stored, "err", err)
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		httpError(w, http.StatusRequestTimeout, "the request body stalled for more than %v (%d instances stored before)", bodyIdleTimeout, stored)
	case errors.As(err, &mbe):
		httpError(w, http.StatusRequestEntityTooLarge, "the request body exceeds the limit of %d bytes (%d instances stored before)", mbe.Limit, stored)
	case errors.Is(err, dicomweb.ErrTruncated), errors.Is(err, io.ErrUnexpectedEOF):
		httpError(w, http.StatusBadRequest, "the request body is truncated (%d instances stored before)", stored)
	case errors.Is(err, dicomweb.ErrMalformed), errors.Is(err, dicomweb.ErrHeaderTooLarge), errors.Is(err, dicomweb.ErrTooManyParts):
		httpError(w, http.StatusBadRequest, "%s (%d instances stored before)", strings.TrimPrefix(err.Error(), "dicomweb: "), stored)
	default:
		httpError(w, http.StatusBadRequest, "the request body could not be read (%d instances stored before)", stored)
	}
}

// bodyIdleTimeout ends an upload whose body stops arriving: a client cannot hold a connection
// by promising gigabytes and sending nothing (TESTPLAN P-4).
const bodyIdleTimeout = 30 * time.Second

// idleReader moves the connection's read deadline forward on each read, so that a steady upload
// of any size goes through while a stalled one fails.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	i.rc.SetReadDeadline(time.Now().Add(i.idle))
	n, err := i.r.Read(p)
	if errors.Is(err, io.EOF) {
		// Clear it: net/http's background read would otherwise cancel the request's context
		// while the last instance is being stored.
		i.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// errRecorder remembers the error of the reader it wraps, to tell a failure of the request
// body from one of the instance's content.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
	}
	return n, err
}

// peek reads the File Meta of a part from its first bytes (and, for a study-scoped request, the
// header up to the Study Instance UID): the UIDs answer a failure, and an instance of another
// study is not stored. It reports false, with the item's failure reason set, when the part is
// not to be stored.
func (s *server) peek(head []byte, study string) (storeItem, bool) {
	var item storeItem
	stop := tag.New(0x0008, 0x0019)
	if study != "" {
		stop = tag.New(0x0020, 0x000E)
	}
	f, err := dicom.Parse(head, dicom.ReadOptions{StopAt: stop})
	if err != nil || f.Meta == nil {
		item.reason = reasonCannotUnderstand
		if err == nil {
			err = errors.New("no File Meta Information")
		}
		s.log.Info("DICOMweb: STOW-RS part is not a Part 10 instance", "err", err)
		return item, false
	}
	item.classUID = firstNonEmpty(strings.TrimRight(f.Meta.String(tag.MediaStorageSOPClassUID), "\x00 "), f.Dataset.String(tag.SOPClassUID))
	item.instanceUID = firstNonEmpty(strings.TrimRight(f.Meta.String(tag.MediaStorageSOPInstanceUID), "\x00 "), f.Dataset.String(tag.SOPInstanceUID))
	if study != "" {
		if got := f.Dataset.String(tag.StudyInstanceUID); got != study {
			item.reason = reasonMismatch
			s.log.Info("DICOMweb: STOW-RS instance of another study refused", "sop_uid", item.instanceUID, "study_uid", got, "want", study)
			return item, false
		}
	}
	return item, true
}

// addBuffered writes a part read whole into the request's batch, at position pos. It returns
// the part's outcome when it failed, else its identification (the outcome comes with the
// batch's commit).
func (s *server) addBuffered(ctx context.Context, sb *stowBatch, pos int, dst *storeItem, b []byte, study string) storeItem {
	item, ok := s.peek(b, study)
	if !ok {
		return item
	}
	if err := sb.b.AddFileAt(ctx, pos, bytes.NewReader(b), s.opts.Source); err != nil {
		return s.storeOutcome(item, nil, err)
	}
	sb.add(pos, dst)
	return item
}

// addStream writes a part larger than maxBufferedPart, whose first bytes are head and the rest
// is read from src, into the request's batch. It returns an error only when the request body
// failed.
func (s *server) addStream(ctx context.Context, sb *stowBatch, dst *storeItem, head []byte, src *errRecorder, study string) (storeItem, error) {
	item, ok := s.peek(head, study)
	if !ok {
		return item, nil
	}
	pos, err := sb.b.AddFile(ctx, io.MultiReader(bytes.NewReader(head), src), s.opts.Source)
	if src.err != nil {
		if err == nil {
			// Complete as far as the parser could tell, but the body failed: not stored.
			sb.b.Remove(pos)
		}
		return item, src.err
	}
	if err != nil {
		return s.storeOutcome(item, nil, err), nil
	}
	sb.add(pos, dst)
	return item, nil
}

// storeOutcome completes item with what the archive did.
func (s *server) storeOutcome(item storeItem, res *archive.StoreResult, err error) storeItem {
	switch {
	case err == nil:
		item.stored = res.Instance
		item.classUID, item.instanceUID = res.Instance.SOPClassUID, res.Instance.SOPInstanceUID
		return item
	case errors.Is(err, archive.ErrConflict):
		item.reason = reasonDuplicate
	case errors.Is(err, archive.ErrMismatch):
		item.reason = reasonMismatch
	case errors.Is(err, archive.ErrInvalid):
		item.reason = reasonCannotUnderstand
	case errors.Is(err, archive.ErrNoSpace):
		item.reason = reasonOutOfResources
	case errors.Is(err, archive.ErrUnavailable):
		item.reason, item.unavailable = reasonOutOfResources, true
	default:
		item.reason = reasonProcessing
	}
	s.log.Warn("DICOMweb: STOW-RS instance not stored", "sop_uid", item.instanceUID, "reason", fmt.Sprintf("%04X", item.reason), "err", err)
	return item
}

// storeResponse writes the Store Instances response (PS3.18 10.5.3): 200 when every instance
// was stored, 202 when some were, 409 when none was (503 when the archive is unavailable).
func (s *server) storeResponse(w http.ResponseWriter, r *http.Request, study string, items []storeItem) {
	base := s.opts.BaseURL(r)
	out := dicom.NewDataset()
	var refs, failed []*dicom.Dataset
	allUnavailable := true
	for _, it := range items {
		d := dicom.NewItem()
		if it.classUID != "" {
			d.SetString(tag.ReferencedSOPClassUID, vr.UI, it.classUID)
		}
		if it.instanceUID != "" {
			d.SetString(tag.ReferencedSOPInstanceUID, vr.UI, it.instanceUID)
		}
		if it.stored != nil {
			d.SetString(tag.RetrieveURL, vr.UR, instanceURL(base, it.stored))
			refs = append(refs, d)
			continue
		}
		allUnavailable = allUnavailable && it.unavailable
		d.SetInts(tag.FailureReason, vr.US, int64(it.reason))
		failed = append(failed, d)
	}
	if study != "" {
		out.SetString(tag.RetrieveURL, vr.UR, base+"/studies/"+study)
	}
	if len(failed) > 0 {
		out.Set(dicom.NewSequence(tag.FailedSOPSequence, failed...))
	}
	if len(refs) > 0 {
		out.Set(dicom.NewSequence(tag.ReferencedSOPSequence, refs...))
	}
	status := http.StatusOK
	switch {
	case len(refs) == 0 && allUnavailable:
		status = http.StatusServiceUnavailable
	case len(refs) == 0:
		status = http.StatusConflict
	case len(failed) > 0:
		status = http.StatusAccepted
	}
	b, err := dicomjson.Marshal(out, dicomjson.Options{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", dicomweb.MediaDICOMJSON)
	w.WriteHeader(status)
	w.Write(b)
}

func firstNonEmpty(v ...string) string {
	for _, x := range v {
		if x != "" {
			return x
		}
	}
	return ""
}
