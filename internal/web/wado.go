package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/render"
)

// bigEndian is Explicit VR Big Endian (retired), whose values are swapped to little endian for
// frames and bulk data.
const (
	bigEndian       = "1.2.840.10008.1.2.2"
	explicitLittle  = "1.2.840.10008.1.2.1"
	transcodingHint = "transcoding is not available yet"
)

// instancesOf returns the stored instances a WADO-RS path names, or ErrNotFound.
func (s *server) instancesOf(ctx context.Context, study, series, instance string) ([]*index.Stored, error) {
	if instance != "" {
		st, err := s.arc.Lookup(ctx, instance)
		if err != nil {
			return nil, err
		}
		if st.StudyInstanceUID != study || st.SeriesInstanceUID != series {
			return nil, fmt.Errorf("%w: instance %s is not in series %s of study %s", archive.ErrNotFound, instance, series, study)
		}
		return []*index.Stored{st}, nil
	}
	level, uid := index.Study, study
	if series != "" {
		level, uid = index.Series, series
	}
	all, err := s.arc.Instances(ctx, level, uid)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return nil, err
	}
	var out []*index.Stored
	for _, st := range all {
		if st.StudyInstanceUID == study {
			out = append(out, st)
		}
	}
	if len(out) == 0 {
		if series != "" {
			return nil, fmt.Errorf("%w: series %s of study %s", archive.ErrNotFound, series, study)
		}
		return nil, fmt.Errorf("%w: study %s", archive.ErrNotFound, study)
	}
	return out, nil
}

// resolve reads the path and finds its instances, answering the error itself.
func (s *server) resolve(w http.ResponseWriter, r *http.Request) ([]*index.Stored, bool) {
	study, series, instance, err := pathUIDs(r)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%s", err)
		return nil, false
	}
	insts, err := s.instancesOf(r.Context(), study, series, instance)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return insts, true
}

// retrieve answers WADO-RS Retrieve Study, Series and Instance (PS3.18 10.4.1.1.1): the stored
// Part 10 files, streamed from their blobs.
func (s *server) retrieve(level index.Level) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		insts, ok := s.resolve(w, r)
		if !ok {
			return
		}
		multipart, ts, ok := negotiateInstances(r, level == index.Instance)
		if !ok {
			httpError(w, http.StatusNotAcceptable, `instances are available as multipart/related; type="application/dicom"`)
			return
		}
		if ts != "" && ts != dicomweb.AnyTransferSyntax && s.retrieveConverted(w, r, insts, multipart) {
			return // transcoded, or refused (convert.go)
		}
		ctx := r.Context()
		first, err := s.arc.Open(ctx, insts[0])
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h := w.Header()
		if !multipart {
			defer first.Close()
			h.Set("Content-Type", dicomweb.MediaDICOM+"; transfer-syntax="+insts[0].TransferSyntaxUID)
			h.Set("Content-Length", strconv.FormatInt(first.Size(), 10))
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodHead {
				return
			}
			if _, err := io.Copy(w, first); err != nil {
				s.abort(r, "retrieve", err)
			}
			return
		}
		// The payload's length is known from the index: with a Content-Length the response is not
		// chunked, and each file goes to the connection by sendfile.
		fr := dicomweb.NewFraming(dicomweb.MediaDICOM)
		heads := make([][]byte, len(insts))
		total := int64(len(fr.End()))
		for i, st := range insts {
			heads[i] = fr.Part(i, dicomweb.MediaDICOM+"; transfer-syntax="+st.TransferSyntaxUID, st.Size)
			total += int64(len(heads[i])) + st.Size
		}
		h.Set("Content-Type", fr.ContentType())
		h.Set("Content-Length", strconv.FormatInt(total, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			first.Close()
			return
		}
		for i, st := range insts {
			obj := first
			if i > 0 {
				if obj, err = s.arc.Open(ctx, st); err != nil {
					s.abort(r, "retrieve", err)
				}
			}
			err := copyPart(w, heads[i], obj, st.Size)
			obj.Close()
			if err != nil {
				s.abort(r, "retrieve", fmt.Errorf("instance %s: %w", st.SOPInstanceUID, err))
			}
		}
		if _, err := w.Write(fr.End()); err != nil {
			s.abort(r, "retrieve", err)
		}
	}
}

// errSize: a blob's size is not the one the index recorded.
var errSize = errors.New("blob size differs from the indexed size")

// copyPart writes a part's head, then the size bytes of obj from its current offset. When obj is
// a file and w a plain HTTP/1 connection whose length is declared, the bytes go by sendfile.
func copyPart(w io.Writer, head []byte, obj blob.Object, size int64) error {
	if obj.Size() != size {
		return fmt.Errorf("%w: %d bytes, %d indexed", errSize, obj.Size(), size)
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	n, err := io.Copy(w, &io.LimitedReader{R: obj, N: size})
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// negotiateInstances reads the Accept header of a retrieve of instances (PS3.18 8.7.3.5): a
// multipart/related range of type application/dicom, or, for a single instance,
// application/dicom itself. It returns the transfer-syntax parameter asked for.
func negotiateInstances(r *http.Request, single bool) (multipart bool, ts string, ok bool) {
	for _, m := range dicomweb.ParseAccept(r.Header.Values("Accept")) {
		switch {
		case m.Type == "*/*":
			return true, "", true
		case m.Type == dicomweb.MultipartRelated || m.Type == "multipart/*":
			if t := m.Params[dicomweb.ParamType]; t == "" || t == dicomweb.MediaDICOM {
				return true, m.Params[dicomweb.ParamTransfer], true
			}
		case single && (m.Type == dicomweb.MediaDICOM || m.Type == "application/*"):
			return false, m.Params[dicomweb.ParamTransfer], true
		}
	}
	return false, "", false
}

// metaETag is the entity tag of the metadata of insts: a digest of their SOP Instance UIDs and
// blob keys (a replaced instance has a new blob).
func metaETag(insts []*index.Stored) string {
	h := sha256.New()
	io.WriteString(h, "lightbox-metadata-v1\x00")
	for _, st := range insts {
		io.WriteString(h, st.SOPInstanceUID+"\x00"+st.BlobKey+"\x00")
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// noneMatch reports whether an If-None-Match header field matches etag (RFC 9110 13.1.2, weak
// comparison).
func noneMatch(r *http.Request, etag string) bool {
	for _, v := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag {
				return true
			}
		}
	}
	return false
}

// instanceURL is the WADO-RS URL of a stored instance.
func instanceURL(base string, st *index.Stored) string {
	return base + "/studies/" + st.StudyInstanceUID + "/series/" + st.SeriesInstanceUID + "/instances/" + st.SOPInstanceUID
}

// metadata answers WADO-RS Retrieve Metadata (PS3.18 10.4.1.1.2) from the metadata the archive
// kept at ingest: the blobs are not opened. Bulk values are referenced by BulkDataURI. The
// assembled response is kept (metaCache) under the entity tag of the instances it covers, and
// served again, with its gzip encoding, until they change.
func (s *server) metadata(_ index.Level) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		insts, ok := s.resolve(w, r)
		if !ok {
			return
		}
		if !acceptsJSON(r) {
			httpError(w, http.StatusNotAcceptable, "metadata is available as application/dicom+json only")
			return
		}
		h := w.Header()
		etag := metaETag(insts)
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		h.Add("Vary", "Accept-Encoding")
		if noneMatch(r, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		base := s.opts.BaseURL(r)
		key := metaKey(r.URL.Path, base, etag)
		gz := acceptsGzip(r)
		body, ok := s.meta.get(key, gz)
		if !ok {
			raw, err := assembleMetadata(base, insts)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			s.meta.put(key, raw)
			body = raw
			if gz {
				if body, ok = s.meta.get(key, true); !ok {
					body = gzipBytes(raw)
				}
			}
		}
		h.Set("Content-Type", dicomweb.MediaDICOMJSON)
		if gz {
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		if _, err := w.Write(body); err != nil {
			s.abort(r, "metadata", err)
		}
	}
}

// assembleMetadata encodes the metadata of insts as a JSON array, with the BulkDataURIs of
// their bulk values under base.
func assembleMetadata(base string, insts []*index.Stored) ([]byte, error) {
	var cur *index.Stored
	opts := dicomjson.Options{
		// Values kept in the metadata are small: inline. Bulk values left in the blob are
		// referenced.
		BulkThreshold: 1 << 30,
		BulkDataURI: func(path dicomjson.Path, e *dicom.Element) string {
			if len(path) > 0 || !e.Bulk {
				return ""
			}
			return fmt.Sprintf("%s/bulkdata/%08X", instanceURL(base, cur), uint32(e.Tag))
		},
	}
	var buf bytes.Buffer
	buf.Grow(len(insts) * 4096)
	aw := dicomjson.NewArrayWriter(&buf, opts)
	for _, st := range insts {
		cur = st
		ds, err := metaDataset(st)
		if err != nil {
			return nil, err
		}
		if err := aw.Write(ds); err != nil {
			return nil, fmt.Errorf("metadata of %s: %w", st.SOPInstanceUID, err)
		}
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return buf.Bytes(), nil
}

// metaDataset is the data set of the metadata of st, with its bulk values as elements left in
// the source (Bulk) and its Available Transfer Syntax UID.
func metaDataset(st *index.Stored) (*dicom.Dataset, error) {
	md, err := archive.DecodeMeta(st.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", st.SOPInstanceUID, err)
	}
	ds := md.Dataset
	for _, b := range md.Bulk {
		if b.Offset < 0 {
			continue // not addressable in the blob (deflated data set)
		}
		v := b.VR
		if b.Encapsulated {
			v = vr.OB
		}
		ds.Set(dicom.Element{Tag: b.Tag, VR: v, Bulk: true, Offset: b.Offset, Length: uint32(b.Length)})
	}
	if !ds.Has(tag.AvailableTransferSyntaxUID) {
		ds.SetString(tag.AvailableTransferSyntaxUID, vr.UI, st.TransferSyntaxUID)
	}
	return ds, nil
}

// lookupOne resolves the path of a single instance.
func (s *server) lookupOne(w http.ResponseWriter, r *http.Request) (*index.Stored, bool) {
	insts, ok := s.resolve(w, r)
	if !ok {
		return nil, false
	}
	return insts[0], true
}

// parseFrameList reads "1,3,5" (PS3.18 8.4.1.4: frame numbers from 1).
func parseFrameList(s string, n int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		k, err := strconv.Atoi(f)
		if err != nil || k < 1 {
			return nil, fmt.Errorf("frame list %q: %q is not a frame number (1, 2, …)", s, f)
		}
		if k > n {
			return nil, fmt.Errorf("%w: frame %d (the instance has %d)", archive.ErrNotFound, k, n)
		}
		out = append(out, k)
	}
	return out, nil
}

// negotiateFrames chooses the media type of frames stored in ts (PS3.18 8.7.3.5, Table
// 8.7.3-4/-5): the payload's type parameter and the parts' media type. Without transcoding,
// only the stored encoding can be sent.
func negotiateFrames(r *http.Request, ts string) (root, part string, ok bool) {
	natural := dicomweb.TransferSyntaxMediaType(ts)
	for _, m := range dicomweb.ParseAccept(r.Header.Values("Accept")) {
		if m.Type == "*/*" {
			return natural, natural, true
		}
		if m.Type != dicomweb.MultipartRelated && m.Type != "multipart/*" {
			continue
		}
		t := m.Params[dicomweb.ParamType]
		if t == "" {
			t = dicomweb.MediaOctetStream
		}
		switch want := m.Params[dicomweb.ParamTransfer]; {
		case want == dicomweb.AnyTransferSyntax && (t == natural || t == dicomweb.MediaOctetStream):
			return t, natural, true
		case want == ts && (t == natural || t == dicomweb.MediaOctetStream):
			return t, natural, true
		case want == "" && t == natural:
			return t, natural, true
		}
	}
	return "", "", false
}

// frames answers WADO-RS Retrieve Frames (PS3.18 10.4.1.1.3): each frame's bytes read from their
// ranges in the blob; the fragments of an encapsulated frame are concatenated.
func (s *server) frames(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookupOne(w, r)
	if !ok {
		return
	}
	frames, err := archive.DecodeFrames(st.Frames)
	if err != nil {
		s.fail(w, r, fmt.Errorf("frame index of %s: %w", st.SOPInstanceUID, err))
		return
	}
	if len(frames) == 0 && st.TransferSyntaxUID == dicom.DeflatedExplicitVRLittleEndian {
		s.deflatedFrames(w, r, st)
		return
	}
	if len(frames) == 0 {
		httpError(w, http.StatusNotFound, "instance %s has no frames that can be retrieved (no pixel data)", st.SOPInstanceUID)
		return
	}
	nums, err := parseFrameList(r.PathValue("frames"), len(frames))
	if err != nil {
		if errors.Is(err, archive.ErrNotFound) {
			httpError(w, http.StatusNotFound, "%s", notFoundText(err))
		} else {
			httpError(w, http.StatusBadRequest, "%s", err)
		}
		return
	}
	ts := st.TransferSyntaxUID
	swap := 1
	if ts == bigEndian {
		md, err := archive.DecodeMeta(st.Metadata)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if bits, _ := md.Dataset.Int(tag.BitsAllocated); bits > 8 {
			swap = int(bits / 8)
		}
		ts = explicitLittle
	}
	root, partType, ok := negotiateFrames(r, ts)
	if !ok {
		s.convertFrames(w, r, st, nums) // frames_convert.go
		return
	}
	obj, err := s.arc.Open(r.Context(), st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer obj.Close()
	if swap == 1 {
		s.framesDirect(w, r, obj, frames, nums, root, partType+"; transfer-syntax="+ts)
		return
	}
	mw := dicomweb.NewWriter(w, root)
	w.Header().Set("Content-Type", mw.ContentType())
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	for _, n := range nums {
		pw, err := mw.CreatePart(partType+"; transfer-syntax="+ts, nil)
		if err != nil {
			s.abort(r, "frames", err)
		}
		for _, rg := range frames[n-1].Ranges {
			src := io.NewSectionReader(swapReaderAt{r: io.NewSectionReader(obj, rg.Offset, rg.Length), w: int64(swap), size: rg.Length}, 0, rg.Length)
			if _, err := io.Copy(pw, src); err != nil {
				s.abort(r, "frames", err)
			}
		}
	}
	if err := mw.Close(); err != nil {
		s.abort(r, "frames", err)
	}
}

// framesDirect sends frames stored as they are to be sent, with a Content-Length: each byte
// range goes from the blob to the connection by one sendfile when the blob is a file.
func (s *server) framesDirect(w http.ResponseWriter, r *http.Request, obj blob.Object, frames []archive.Frame, nums []int, root, partType string) {
	fr := dicomweb.NewFraming(root)
	total := int64(len(fr.End()))
	heads := make([][]byte, len(nums))
	for i, n := range nums {
		var length int64
		for _, rg := range frames[n-1].Ranges {
			if rg.Offset < 0 || rg.Length < 0 || rg.Offset+rg.Length > obj.Size() {
				s.fail(w, r, fmt.Errorf("%w: frame %d lies beyond the blob's %d bytes", archive.ErrUnavailable, n, obj.Size()))
				return
			}
			length += rg.Length
		}
		heads[i] = fr.Part(i, partType, length)
		total += int64(len(heads[i])) + length
	}
	w.Header().Set("Content-Type", fr.ContentType())
	w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	for i, n := range nums {
		if _, err := w.Write(heads[i]); err != nil {
			s.abort(r, "frames", err)
		}
		for _, rg := range frames[n-1].Ranges {
			if err := copyRange(w, obj, rg.Offset, rg.Length); err != nil {
				s.abort(r, "frames", err)
			}
		}
	}
	if _, err := w.Write(fr.End()); err != nil {
		s.abort(r, "frames", err)
	}
}

// copyRange copies the length bytes at off of obj to w.
func copyRange(w io.Writer, obj blob.Object, off, length int64) error {
	if _, err := obj.Seek(off, io.SeekStart); err != nil {
		return err
	}
	n, err := io.Copy(w, &io.LimitedReader{R: obj, N: length})
	if err == nil && n < length {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// deflatedFrames answers /frames for a Deflated Explicit VR Little Endian instance, whose frames
// have no byte ranges in the blob: each is read from the inflated data set and sent as native
// little endian data.
func (s *server) deflatedFrames(w http.ResponseWriter, r *http.Request, st *index.Stored) {
	md, err := archive.DecodeMeta(st.Metadata)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	layout, err := render.Describe(md.Dataset)
	if err != nil {
		httpError(w, http.StatusNotFound, "instance %s has no frames that can be retrieved: %s", st.SOPInstanceUID, err)
		return
	}
	nums, err := parseFrameList(r.PathValue("frames"), frameCount(st))
	if err != nil {
		if errors.Is(err, archive.ErrNotFound) {
			httpError(w, http.StatusNotFound, "%s", notFoundText(err))
		} else {
			httpError(w, http.StatusBadRequest, "%s", err)
		}
		return
	}
	ts := explicitLittle
	root, partType, ok := negotiateFrames(r, ts)
	if !ok {
		s.convertFrames(w, r, st, nums) // frames_convert.go
		return
	}
	bufs := make([][]byte, 0, len(nums))
	for _, n := range nums {
		b, err := s.deflatedFrame(r.Context(), st, n, layout.FrameSize())
		if err != nil {
			if errors.Is(err, archive.ErrNotFound) {
				httpError(w, http.StatusNotFound, "%s", notFoundText(err))
				return
			}
			s.fail(w, r, err)
			return
		}
		bufs = append(bufs, b)
	}
	mw := dicomweb.NewWriter(w, root)
	w.Header().Set("Content-Type", mw.ContentType())
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	for _, b := range bufs {
		pw, err := mw.CreatePart(partType+"; transfer-syntax="+ts, nil)
		if err != nil {
			s.abort(r, "frames", err)
		}
		if _, err := pw.Write(b); err != nil {
			s.abort(r, "frames", err)
		}
	}
	if err := mw.Close(); err != nil {
		s.abort(r, "frames", err)
	}
}

// bulkdata answers WADO-RS Retrieve Bulkdata (PS3.18 10.4.1.1.4) for a BulkDataURI of the
// metadata: the value's bytes read by range from the blob, as application/octet-stream with
// HTTP Range support, or as a one-part multipart/related payload when the Accept header asks for
// one. Encapsulated Pixel Data gives its fragments' bytes concatenated (the frames as stored).
func (s *server) bulkdata(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookupOne(w, r)
	if !ok {
		return
	}
	ts := r.PathValue("tag")
	n, err := strconv.ParseUint(ts, 16, 32)
	if err != nil || len(ts) != 8 {
		httpError(w, http.StatusBadRequest, "bulk data %q: want a tag as eight hexadecimal digits", ts)
		return
	}
	t := tag.Tag(n)
	md, err := archive.DecodeMeta(st.Metadata)
	if err != nil {
		s.fail(w, r, fmt.Errorf("metadata of %s: %w", st.SOPInstanceUID, err))
		return
	}
	var ref *archive.BulkRef
	for i := range md.Bulk {
		if md.Bulk[i].Tag == t && md.Bulk[i].Offset >= 0 {
			ref = &md.Bulk[i]
		}
	}
	if ref == nil {
		httpError(w, http.StatusNotFound, "instance %s has no bulk data %08X", st.SOPInstanceUID, uint32(t))
		return
	}
	syntax := st.TransferSyntaxUID
	partType := dicomweb.MediaOctetStream
	if ref.Encapsulated {
		partType = dicomweb.TransferSyntaxMediaType(syntax)
	} else if syntax == bigEndian {
		syntax = explicitLittle
	}
	multipart, ok := negotiateBulk(r, partType, syntax)
	if !ok {
		httpError(w, http.StatusNotAcceptable, "bulk data %08X is available as %s in transfer syntax %s; %s", uint32(t), partType, syntax, transcodingHint)
		return
	}
	obj, err := s.arc.Open(r.Context(), st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer obj.Close()
	var ra io.ReaderAt = obj
	size := ref.Length
	switch {
	case ref.Encapsulated:
		frames, err := archive.DecodeFrames(st.Frames)
		if err != nil || len(frames) == 0 {
			ra = io.NewSectionReader(obj, ref.Offset, ref.Length)
		} else {
			var segs []archive.Range
			for _, f := range frames {
				segs = append(segs, f.Ranges...)
			}
			cat := newConcatReaderAt(obj, segs)
			ra, size = cat, cat.size
		}
	case st.TransferSyntaxUID == bigEndian && ref.VR.SwapWidth() > 1:
		ra = swapReaderAt{r: io.NewSectionReader(obj, ref.Offset, ref.Length), w: int64(ref.VR.SwapWidth()), size: ref.Length}
	default:
		ra = io.NewSectionReader(obj, ref.Offset, ref.Length)
	}
	body := io.NewSectionReader(ra, 0, size)
	h := w.Header()
	if !multipart {
		h.Set("Content-Type", partType)
		h.Set("ETag", fmt.Sprintf(`"%s-%08X"`, metaETag([]*index.Stored{st})[1:33], uint32(t)))
		http.ServeContent(w, r, "", time.Time{}, body)
		return
	}
	mw := dicomweb.NewWriter(w, partType)
	h.Set("Content-Type", mw.ContentType())
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	ct := partType
	if ref.Encapsulated || ref.Tag == tag.PixelData {
		ct += "; transfer-syntax=" + syntax
	}
	pw, err := mw.CreatePart(ct, nil)
	if err == nil {
		_, err = io.Copy(pw, body)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		s.abort(r, "bulkdata", err)
	}
}

// negotiateBulk chooses between a single-part response (application/octet-stream, or the
// image type of encapsulated pixel data) and a multipart one.
func negotiateBulk(r *http.Request, partType, ts string) (multipart, ok bool) {
	for _, m := range dicomweb.ParseAccept(r.Header.Values("Accept")) {
		want := m.Params[dicomweb.ParamTransfer]
		tsOK := want == "" || want == dicomweb.AnyTransferSyntax || want == ts
		switch {
		case m.Type == dicomweb.MultipartRelated || m.Type == "multipart/*":
			t := m.Params[dicomweb.ParamType]
			if (t == "" || t == dicomweb.MediaOctetStream || t == partType) && tsOK {
				return true, true
			}
		case m.Matches(partType) && tsOK:
			return false, true
		}
	}
	return false, false
}

// swapReaderAt reads little endian values from big endian ones of w bytes each.
type swapReaderAt struct {
	r    io.ReaderAt
	w    int64
	size int64
}

func (s swapReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), s.size)
	start := off - off%s.w
	aligned := min(end+(s.w-end%s.w)%s.w, s.size)
	buf := make([]byte, aligned-start)
	n, err := s.r.ReadAt(buf, start)
	if n < len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	for i := 0; i+int(s.w) <= len(buf); i += int(s.w) {
		for a, b := i, i+int(s.w)-1; a < b; a, b = a+1, b-1 {
			buf[a], buf[b] = buf[b], buf[a]
		}
	}
	k := copy(p, buf[off-start:end-start])
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// concatReaderAt reads byte ranges of r as one stream.
type concatReaderAt struct {
	r     io.ReaderAt
	segs  []archive.Range
	start []int64 // offset of each segment in the stream
	size  int64
}

func newConcatReaderAt(r io.ReaderAt, segs []archive.Range) *concatReaderAt {
	c := &concatReaderAt{r: r, segs: segs}
	for _, s := range segs {
		c.start = append(c.start, c.size)
		c.size += s.Length
	}
	return c
}

func (c *concatReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= c.size {
		return 0, io.EOF
	}
	i := sort.Search(len(c.start), func(i int) bool { return c.start[i] > off }) - 1
	total := 0
	for ; i < len(c.segs) && total < len(p); i++ {
		in := off - c.start[i]
		n := min(int64(len(p)-total), c.segs[i].Length-in)
		m, err := c.r.ReadAt(p[total:total+int(n)], c.segs[i].Offset+in)
		total += m
		off += int64(m)
		if int64(m) < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
	}
	if total < len(p) {
		return total, io.EOF
	}
	return total, nil
}
