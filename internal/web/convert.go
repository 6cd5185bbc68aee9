package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/transcode"
)

// DefaultMaxConvertBytes bounds the size of a stored instance converted to another transfer
// syntax for a WADO-RS or WADO-URI retrieve, unless Options.MaxConvertBytes says otherwise:
// conversion holds the data set and its frames in memory.
const DefaultMaxConvertBytes = 512 << 20

// errConvertTooLarge: an instance is larger than conversion may hold.
var errConvertTooLarge = archive.ErrConvertTooLarge

// codecs is the registry that decodes and encodes frames.
func (s *server) codecs() *codec.Registry {
	if s.opts.Codecs != nil {
		return s.opts.Codecs
	}
	return codecs.Registry()
}

func (s *server) maxConvertBytes() int64 {
	if s.opts.MaxConvertBytes > 0 {
		return s.opts.MaxConvertBytes
	}
	return DefaultMaxConvertBytes
}

// syntaxName names a transfer syntax by UID and, when known, by name.
func syntaxName(ts string) string {
	if n := uid.Name(ts); n != ts && n != "" {
		return ts + " (" + n + ")"
	}
	return ts
}

// acceptedSyntaxes lists the transfer syntaxes an Accept header field takes instances in (PS3.18
// 8.7.3.5): the transfer-syntax parameters of its application/dicom ranges, multipart or not,
// best first. A range without the parameter, with transfer-syntax=*, or */* takes the stored
// syntax: then asStored is true.
func acceptedSyntaxes(r *http.Request) (syntaxes []string, asStored bool) {
	for _, m := range dicomweb.ParseAccept(r.Header.Values("Accept")) {
		t := m.Type
		switch t {
		case "*/*":
			return syntaxes, true
		case dicomweb.MultipartRelated, "multipart/*":
			if t = m.Params[dicomweb.ParamType]; t == "" {
				t = dicomweb.MediaDICOM
			}
		}
		if t != dicomweb.MediaDICOM && t != "application/*" {
			continue
		}
		switch ts := m.Params[dicomweb.ParamTransfer]; ts {
		case "", dicomweb.AnyTransferSyntax:
			asStored = true
		default:
			if !slices.Contains(syntaxes, ts) {
				syntaxes = append(syntaxes, ts)
			}
		}
	}
	return syntaxes, asStored
}

// instanceSyntax chooses the transfer syntax st is sent in, among the acceptable ones: the stored
// syntax when it is acceptable, else the first one it can be converted to without loss, else
// the first lossy one (each was named in the request). An instance without pixel data asked for
// in a compressed syntax this build can encode goes in Explicit VR Little Endian, the default of
// application/dicom (PS3.18 8.7.3). It returns "" and the reason when none can be produced.
func instanceSyntax(reg *codec.Registry, st *index.Stored, accepted []string) (string, string) {
	stored := st.TransferSyntaxUID
	if slices.Contains(accepted, stored) {
		return stored, ""
	}
	var lossy string
	var reasons []string
	for _, ts := range accepted {
		switch {
		case !transcode.Possible(reg, stored, ts):
			if !dicom.IsNative(stored) && !reg.CanDecode(stored) {
				reasons = append(reasons, "this build cannot decode "+syntaxName(stored))
			} else {
				reasons = append(reasons, "this build cannot encode "+syntaxName(ts))
			}
		case !hasPixels(st) && stored != dicom.DeflatedExplicitVRLittleEndian && !dicom.IsNative(ts):
			return dicom.ExplicitVRLittleEndian, ""
		case !dicom.IsNative(ts) && transcode.IsLossy(reg, ts):
			if lossy == "" {
				lossy = ts
			}
		default:
			return ts, ""
		}
	}
	if lossy != "" {
		return lossy, ""
	}
	return "", strings.Join(slices.Compact(reasons), "; ")
}

// retrieveConverted answers a retrieve of instances (PS3.18 10.4.1.1.1) whose Accept header
// field names transfer syntaxes: each instance goes as stored when its syntax is acceptable,
// otherwise converted (transcode.Dataset) and written as a Part 10 file whose File Meta names
// the new syntax. It reports false when every instance goes as stored and nothing was
// answered; the caller then streams the stored files.
func (s *server) retrieveConverted(w http.ResponseWriter, r *http.Request, insts []*index.Stored, multipart bool) bool {
	accepted, asStored := acceptedSyntaxes(r)
	if asStored || len(accepted) == 0 {
		return false
	}
	reg := s.codecs()
	targets := make([]string, len(insts))
	convert := false
	for i, st := range insts {
		ts, why := instanceSyntax(reg, st, accepted)
		if ts == "" {
			httpError(w, http.StatusNotAcceptable, "instance %s is stored in transfer syntax %s and transcoding it to %s is not possible: %s; ask for transfer-syntax=* (as stored)",
				st.SOPInstanceUID, syntaxName(st.TransferSyntaxUID), strings.Join(accepted, ", "), why)
			return true
		}
		if ts != st.TransferSyntaxUID && st.Size > s.maxConvertBytes() {
			httpError(w, http.StatusNotAcceptable, "instance %s is stored in transfer syntax %s and is %d bytes, more than the %d bytes transcoding may hold; ask for transfer-syntax=* (as stored)",
				st.SOPInstanceUID, syntaxName(st.TransferSyntaxUID), st.Size, s.maxConvertBytes())
			return true
		}
		targets[i] = ts
		convert = convert || ts != st.TransferSyntaxUID
	}
	if !convert {
		return false
	}
	ctx := r.Context()
	// The first instance is made ready before the status is sent, so that a failure to
	// convert a single instance is answered with an error status.
	first, err := s.instanceBody(ctx, insts[0], targets[0])
	if err != nil {
		s.convertFailed(w, r, insts[0], targets[0], err)
		return true
	}
	h := w.Header()
	if !multipart {
		defer first.Close()
		h.Set("Content-Type", dicomweb.MediaDICOM+"; transfer-syntax="+first.syntax)
		h.Set("Content-Length", strconv.FormatInt(first.size, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return true
		}
		if _, err := io.Copy(w, first); err != nil {
			s.abort(r, "retrieve", err)
		}
		return true
	}
	mw := dicomweb.NewWriter(w, dicomweb.MediaDICOM)
	h.Set("Content-Type", mw.ContentType())
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		first.Close()
		return true
	}
	for i, st := range insts {
		body := first
		if i > 0 {
			if body, err = s.instanceBody(ctx, st, targets[i]); err != nil {
				s.abort(r, "retrieve", fmt.Errorf("instance %s in %s: %w", st.SOPInstanceUID, targets[i], err))
			}
		}
		pw, err := mw.CreatePart(dicomweb.MediaDICOM+"; transfer-syntax="+body.syntax, nil)
		if err == nil {
			_, err = io.Copy(pw, body)
		}
		body.Close()
		if err != nil {
			s.abort(r, "retrieve", fmt.Errorf("instance %s: %w", st.SOPInstanceUID, err))
		}
	}
	if err := mw.Close(); err != nil {
		s.abort(r, "retrieve", err)
	}
	return true
}

// instanceData is a Part 10 file to send: a stored blob or a converted file in memory.
type instanceData struct {
	io.Reader
	size   int64
	syntax string // its transfer syntax
	close  func() error
}

func (d *instanceData) Close() error {
	if d.close != nil {
		return d.close()
	}
	return nil
}

// instanceBody opens st as stored when ts is its stored syntax, otherwise converts it.
func (s *server) instanceBody(ctx context.Context, st *index.Stored, ts string) (*instanceData, error) {
	if ts == st.TransferSyntaxUID {
		obj, err := s.arc.Open(ctx, st)
		if err != nil {
			return nil, err
		}
		return &instanceData{Reader: io.NewSectionReader(obj, 0, obj.Size()), size: obj.Size(), syntax: ts, close: obj.Close}, nil
	}
	b, ts, err := s.convertInstance(ctx, st, ts)
	if err != nil {
		return nil, err
	}
	return &instanceData{Reader: bytes.NewReader(b), size: int64(len(b)), syntax: ts}, nil
}

// convertInstance reads st whole, converts its data set to transfer syntax to and returns it as
// a Part 10 file, with the syntax it is in: Explicit VR Little Endian when to is compressed and
// st has no pixel data after all. Lossy targets are allowed: the caller chose one only because
// the request named it.
func (s *server) convertInstance(ctx context.Context, st *index.Stored, to string) ([]byte, string, error) {
	limit := s.maxConvertBytes()
	out, err := s.arc.Convert(ctx, st, to, limit, transcode.Options{Registry: s.codecs(), AllowLossy: true})
	if errors.Is(err, transcode.ErrNoPixels) {
		to = dicom.ExplicitVRLittleEndian
		out, err = s.arc.Convert(ctx, st, to, limit, transcode.Options{Registry: s.codecs()})
	}
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	buf.Grow(int(min(st.Size, limit)))
	if err := dicom.Write(&buf, out, dicom.WriteOptions{}); err != nil {
		return nil, "", fmt.Errorf("write %s in %s: %w", st.SOPInstanceUID, to, err)
	}
	s.log.Debug("DICOMweb: instance transcoded", "sop_instance_uid", st.SOPInstanceUID, "from", st.TransferSyntaxUID, "to", to, "bytes", buf.Len())
	return buf.Bytes(), to, nil
}

// convertFailed answers a conversion error: 406 for what this build cannot convert, 500 (logged)
// for pixel data the codecs find corrupt, otherwise as fail does.
func (s *server) convertFailed(w http.ResponseWriter, r *http.Request, st *index.Stored, to string, err error) {
	switch {
	case errors.Is(err, errConvertTooLarge), errors.Is(err, codec.ErrTooLarge),
		errors.Is(err, codec.ErrUnsupported), errors.Is(err, transcode.ErrLossy), errors.Is(err, transcode.ErrNoPixels):
		httpError(w, http.StatusNotAcceptable, "instance %s (stored in %s) cannot be transcoded to %s: %s; ask for transfer-syntax=* (as stored)",
			st.SOPInstanceUID, syntaxName(st.TransferSyntaxUID), syntaxName(to), err)
	case errors.Is(err, codec.ErrCorrupt), errors.Is(err, dicom.ErrUnsupportedSyntax):
		s.log.Warn("DICOMweb: instance cannot be transcoded", "path", r.URL.Path, "to", to, "err", err)
		httpError(w, http.StatusInternalServerError, "instance %s cannot be transcoded to %s: %s", st.SOPInstanceUID, syntaxName(to), err)
	default:
		s.fail(w, r, err)
	}
}
