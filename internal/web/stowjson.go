package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dicomweb"
)

// maxJSONBulk bounds the bulk data parts of a STOW-RS request of metadata and bulk data, held
// in memory until the instances are built.
const maxJSONBulk = 1 << 30

// maxJSONMeta bounds the JSON metadata part.
const maxJSONMeta = 64 << 20

// bulkPart is a bulk data part of a STOW-RS request: its bytes, media type and transfer syntax.
type bulkPart struct {
	data      []byte
	mediaType string
	syntax    string // transfer-syntax parameter, or the default of the media type
}

// defaultSyntax is the transfer syntax a bulk data media type implies without a transfer-syntax
// parameter (PS3.18 Table 8.7.3-4 and Table 8.7.3-5: the first syntax listed for the type).
func defaultSyntax(mediaType string) string {
	switch mediaType {
	case dicomweb.MediaOctetStream, "":
		return dicom.ExplicitVRLittleEndian
	case "image/jpeg":
		return "1.2.840.10008.1.2.4.50"
	case "image/jls":
		return "1.2.840.10008.1.2.4.80"
	case "image/jp2":
		return "1.2.840.10008.1.2.4.90"
	case "image/jpx":
		return "1.2.840.10008.1.2.4.92"
	case "image/jphc":
		return "1.2.840.10008.1.2.4.201"
	case "image/dicom-rle":
		return "1.2.840.10008.1.2.5"
	}
	return ""
}

// bulkMarker marks an element whose BulkDataURI is to be resolved: its Offset is −2 − the
// URI's index. The decoder keeps such elements with Bulk set and no value.
func bulkMarker(i int) int64             { return -2 - int64(i) }
func markerIndex(off int64) int          { return int(-2 - off) }
func isBulkMarker(e *dicom.Element) bool { return e.Bulk && e.Offset <= -2 }

// storeJSON answers Store Instances of metadata and bulk data (PS3.18 10.5.1.2): a
// multipart/related payload whose first part is an application/dicom+json array of data sets
// and whose other parts are the bulk data their BulkDataURIs name by Content-Location (or
// Content-ID). A single application/dicom+json body carries data sets with inline values only.
// The whole request is read and checked before anything is stored: malformed JSON or a
// malformed payload stores nothing. Each data set is then written as a Part 10 file, in
// Explicit VR Little Endian for native pixel data, or in the transfer syntax of its compressed
// pixel data part, and stored.
func (s *server) storeJSON(w http.ResponseWriter, r *http.Request, study, ct string, multipart bool) {
	if r.ContentLength > s.opts.MaxUploadBytes {
		httpError(w, http.StatusRequestEntityTooLarge, "the request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, s.opts.MaxUploadBytes)
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes)
	var (
		meta io.Reader = body
		mr   *dicomweb.Reader
		err  error
	)
	if multipart {
		if mr, err = dicomweb.NewReader(body, ct, dicomweb.ReaderLimits{}); err != nil {
			httpError(w, http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "dicomweb: "))
			return
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			httpError(w, http.StatusBadRequest, "the request holds no instances")
			return
		}
		if err != nil {
			s.bodyFailed(w, r, nil, err)
			return
		}
		if pt := p.ContentType(); pt != "" {
			if mt, _, err := mime.ParseMediaType(pt); err != nil || mt != dicomweb.MediaDICOMJSON {
				httpError(w, http.StatusBadRequest, "the first part must be the application/dicom+json metadata, not %q", pt)
				return
			}
		}
		meta = p
	}
	var uris []string
	opts := dicomjson.DecodeOptions{
		MaxSize: min(maxJSONMeta, s.opts.MaxUploadBytes),
		BulkData: func(_ dicomjson.Path, uri string, e *dicom.Element) error {
			e.Offset = bulkMarker(len(uris))
			uris = append(uris, uri)
			return nil
		},
	}
	dss, err := dicomjson.DecodeArray(meta, opts)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			httpError(w, http.StatusRequestEntityTooLarge, "the request body exceeds the limit of %d bytes", mbe.Limit)
		case errors.Is(err, dicomjson.ErrInvalid), errors.Is(err, dicomjson.ErrLimit):
			httpError(w, http.StatusBadRequest, "metadata: %s", strings.TrimPrefix(err.Error(), "dicomjson: "))
		default:
			s.bodyFailed(w, r, nil, err)
		}
		return
	}
	parts := map[string]bulkPart{}
	if multipart {
		var total int64
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				s.bodyFailed(w, r, nil, err)
				return
			}
			b, err := io.ReadAll(io.LimitReader(p, maxJSONBulk-total+1))
			if err != nil {
				s.bodyFailed(w, r, nil, err)
				return
			}
			if total += int64(len(b)); total > maxJSONBulk {
				httpError(w, http.StatusRequestEntityTooLarge, "the bulk data exceed %d bytes", int64(maxJSONBulk))
				return
			}
			bp := bulkPart{data: b, mediaType: dicomweb.MediaOctetStream}
			if pt := p.ContentType(); pt != "" {
				mt, params, err := mime.ParseMediaType(pt)
				if err != nil {
					httpError(w, http.StatusBadRequest, "bulk data part of Content-Type %q: %s", pt, err)
					return
				}
				bp.mediaType, bp.syntax = mt, params[dicomweb.ParamTransfer]
			}
			if bp.syntax == "" {
				bp.syntax = defaultSyntax(bp.mediaType)
			}
			if loc := p.Header.Get("Content-Location"); loc != "" {
				parts[loc] = bp
			}
			if id := strings.Trim(p.Header.Get("Content-ID"), "<> "); id != "" {
				parts["cid:"+id] = bp
			}
		}
	}
	if len(dss) == 0 {
		httpError(w, http.StatusBadRequest, "the request holds no instances")
		return
	}
	items := make([]storeItem, 0, len(dss))
	for _, ds := range dss {
		items = append(items, s.storeJSONDataset(r, ds, study, uris, parts))
	}
	s.storeResponse(w, r, study, items)
}

// storeJSONDataset resolves the bulk data of one data set, writes it as a Part 10 file and
// stores it.
func (s *server) storeJSONDataset(r *http.Request, ds *dicom.Dataset, study string, uris []string, parts map[string]bulkPart) storeItem {
	item := storeItem{classUID: ds.String(tag.SOPClassUID), instanceUID: ds.String(tag.SOPInstanceUID)}
	refuse := func(reason uint16, msg string, args ...any) storeItem {
		item.reason = reason
		s.log.Info("DICOMweb: STOW-RS data set refused", "sop_uid", item.instanceUID, "why", fmt.Sprintf(msg, args...))
		return item
	}
	if uid.Validate(item.classUID) != nil || uid.Validate(item.instanceUID) != nil {
		return refuse(reasonCannotUnderstand, "no valid SOP Class and SOP Instance UIDs")
	}
	if study != "" && ds.String(tag.StudyInstanceUID) != study {
		return refuse(reasonMismatch, "Study Instance UID %q, the request's is %s", ds.String(tag.StudyInstanceUID), study)
	}
	// File Meta elements have no place in the data set; a Transfer Syntax UID among them is
	// taken as the client's word for the pixel data.
	syntax := ""
	var meta []tag.Tag
	for _, e := range ds.Elements {
		if e.Tag.Group() == 0x0002 {
			meta = append(meta, e.Tag)
		}
	}
	if len(meta) > 0 {
		syntax = strings.TrimRight(ds.String(tag.TransferSyntaxUID), "\x00 ")
		for _, t := range meta {
			ds.Remove(t)
		}
	}
	var failure string
	ds.Walk(func(path []tag.Tag, e *dicom.Element) bool {
		if failure != "" || !isBulkMarker(e) {
			return failure == ""
		}
		uri := uris[markerIndex(e.Offset)]
		p, ok := parts[uri]
		if !ok {
			failure = fmt.Sprintf("BulkDataURI %q of %s is not among the parts of the request", uri, e.Tag)
			return false
		}
		native := !dicom.SyntaxOf(p.syntax).Encapsulated
		if len(path) > 0 || e.Tag != tag.PixelData {
			if !native || p.mediaType != dicomweb.MediaOctetStream {
				failure = fmt.Sprintf("bulk data of %s is %s: application/octet-stream expected", e.Tag, p.mediaType)
				return false
			}
			*e = dicom.NewElement(e.Tag, e.VR, p.data)
			return true
		}
		if p.syntax == "" {
			failure = fmt.Sprintf("pixel data of media type %s without a transfer-syntax parameter", p.mediaType)
			return false
		}
		if syntax != "" && syntax != p.syntax && !(native && dicom.IsNative(syntax)) {
			failure = fmt.Sprintf("pixel data in %s, and the metadata says %s", p.syntax, syntax)
			return false
		}
		if native {
			*e = dicom.NewElement(e.Tag, e.VR, p.data)
			if syntax == "" || dicom.SyntaxOf(syntax).Encapsulated {
				syntax = dicom.ExplicitVRLittleEndian
			}
			return true
		}
		if n, ok := ds.Int(tag.NumberOfFrames); ok && n > 1 {
			failure = fmt.Sprintf("compressed pixel data of %d frames in one part: send single-frame instances, or Part 10 files", n)
			return false
		}
		*e = dicom.Element{Tag: e.Tag, VR: vr.OB, Length: dicom.UndefinedLength, Offset: -1,
			Fragments: []dicom.Fragment{{Offset: -1}, {Offset: -1, Length: uint32(len(p.data)), Data: p.data}}}
		syntax = p.syntax
		return true
	})
	if failure != "" {
		return refuse(reasonCannotUnderstand, "%s", failure)
	}
	if syntax == "" {
		syntax = dicom.ExplicitVRLittleEndian
	}
	if px := ds.Element(tag.PixelData); px != nil && px.Fragments == nil && dicom.SyntaxOf(syntax).Encapsulated {
		return refuse(reasonCannotUnderstand, "native pixel data and transfer syntax %s", syntax)
	}
	pr, pw := io.Pipe()
	go func() {
		f := &dicom.File{Dataset: ds, Syntax: dicom.SyntaxOf(syntax)}
		pw.CloseWithError(dicom.Write(pw, f, dicom.WriteOptions{}))
	}()
	res, err := s.arc.StoreFile(r.Context(), pr, s.opts.Source)
	pr.CloseWithError(io.ErrClosedPipe) // ends the writer if the archive stopped reading early
	return s.storeOutcome(item, res, err)
}
