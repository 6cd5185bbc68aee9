package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/render"
	"github.com/lightbox-pacs/lightbox/transcode"
)

// Media types of RLE and JPEG-LS frames in earlier editions of PS3.18, still sent by clients.
const (
	rleAlias = "image/x-dicom-rle"
	jlsAlias = "image/x-jls"
)

// frameSyntaxes lists the transfer syntaxes of a media type of frames, its default first (PS3.18
// 8.7.3.3.2, Table 8.7.3-5); nil for a media type that is not one of frames.
func frameSyntaxes(mediaType string) []string {
	switch mediaType {
	case dicomweb.MediaOctetStream:
		return []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian, "1.2.840.10008.1.2.8.1"}
	case "image/jpeg":
		return []string{"1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57"}
	case "image/jls", jlsAlias:
		return []string{"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
	case "image/jp2":
		return []string{"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
	case "image/jpx":
		return []string{"1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93"}
	case "image/jphc":
		return []string{"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
	case "image/jxl":
		return []string{"1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112"}
	case "image/dicom-rle", rleAlias:
		return []string{"1.2.840.10008.1.2.5"}
	}
	return nil
}

// frameTarget is the encoding a /frames request is answered in.
type frameTarget struct {
	root string // the type parameter of the multipart payload
	part string // the media type of the parts
	ts   string // the transfer syntax of the frames
}

// frameProducible says whether frames stored in stored can be sent in ts: "" when they can,
// otherwise why not. Lossy syntaxes are produced only when named (explicit).
func frameProducible(reg *codec.Registry, stored, ts string, explicit bool) string {
	uncompressed := ts == dicom.ExplicitVRLittleEndian || ts == dicom.ImplicitVRLittleEndian
	switch {
	case dicom.IsNative(ts) && !uncompressed:
		return syntaxName(ts) + " is not a transfer syntax of frames"
	case ts == stored:
		return ""
	case !dicom.IsNative(stored) && !reg.CanDecode(stored):
		return "this build cannot decode " + syntaxName(stored)
	case uncompressed:
		return ""
	case !reg.CanEncode(ts):
		return "this build cannot encode " + syntaxName(ts)
	case transcode.IsLossy(reg, ts) && !explicit:
		return syntaxName(ts) + " is lossy and is sent only when asked for by its transfer-syntax"
	}
	return ""
}

// negotiateFrameTarget chooses, for frames stored in stored whose stored encoding the Accept
// header field does not take (see negotiateFrames), the first acceptable encoding this build can
// produce (PS3.18 8.7.3.5): a multipart/related range's type names the media type of the frames
// (application/octet-stream by default) and its transfer-syntax parameter the syntax; without
// the parameter, or with *, the media type's default syntax, else another lossless syntax of
// it. It returns the reasons for refusing each range when none fits.
func negotiateFrameTarget(r *http.Request, reg *codec.Registry, stored string) (frameTarget, []string) {
	natural := dicomweb.TransferSyntaxMediaType(stored)
	var reasons []string
	for _, m := range dicomweb.ParseAccept(r.Header.Values("Accept")) {
		if m.Type == "*/*" {
			if dicom.IsNative(stored) {
				return frameTarget{root: natural, part: natural, ts: dicom.ExplicitVRLittleEndian}, nil
			}
			return frameTarget{root: natural, part: natural, ts: stored}, nil
		}
		if m.Type != dicomweb.MultipartRelated && m.Type != "multipart/*" {
			reasons = append(reasons, fmt.Sprintf("%s: frames are sent as multipart/related", m.Type))
			continue
		}
		t := m.Params[dicomweb.ParamType]
		if t == "" {
			t = dicomweb.MediaOctetStream
		}
		syntaxes := frameSyntaxes(t)
		if syntaxes == nil {
			reasons = append(reasons, fmt.Sprintf("type %q is not a media type of frames", t))
			continue
		}
		want := m.Params[dicomweb.ParamTransfer]
		explicit := want != "" && want != dicomweb.AnyTransferSyntax
		candidates := syntaxes
		switch {
		case explicit && t != dicomweb.MediaOctetStream && !slices.Contains(syntaxes, want):
			reasons = append(reasons, fmt.Sprintf("%s is not a transfer syntax of %s", syntaxName(want), t))
			continue
		case explicit:
			candidates = []string{want}
		case slices.Contains(syntaxes, stored):
			candidates = []string{stored}
		case t == dicomweb.MediaOctetStream:
			candidates = syntaxes[:1]
		}
		for _, ts := range candidates {
			why := frameProducible(reg, stored, ts, explicit)
			if why != "" {
				reasons = append(reasons, why)
				continue
			}
			part := dicomweb.TransferSyntaxMediaType(ts)
			if t == rleAlias || t == jlsAlias {
				part = t
			}
			return frameTarget{root: t, part: part, ts: ts}, nil
		}
	}
	return frameTarget{}, slices.Compact(reasons)
}

// frameSource reads the frames of a stored instance: as stored, or decoded to native little
// endian (PS3.5 8.2) with the codec.Image that describes them.
type frameSource struct {
	s      *server
	st     *index.Stored
	reg    *codec.Registry
	im     codec.Image // as the metadata declare it
	frames []archive.Frame
	obj    blob.Object // opened on first use
}

// newFrameSource prepares to read frames of st, whose metadata data set is meta.
func (s *server) newFrameSource(st *index.Stored, meta *dicom.Dataset) (*frameSource, error) {
	frames, err := archive.DecodeFrames(st.Frames)
	if err != nil {
		return nil, fmt.Errorf("frame index of %s: %w", st.SOPInstanceUID, err)
	}
	im, _, err := codec.ImageOf(meta)
	if err != nil {
		return nil, fmt.Errorf("%w: image pixel attributes of %s: %w", render.ErrUnsupported, st.SOPInstanceUID, err)
	}
	return &frameSource{s: s, st: st, reg: s.codecs(), im: im, frames: frames}, nil
}

func (f *frameSource) Close() {
	if f.obj != nil {
		f.obj.Close()
	}
}

func (f *frameSource) open(ctx context.Context) (blob.Object, error) {
	if f.obj == nil {
		obj, err := f.s.arc.Open(ctx, f.st)
		if err != nil {
			return nil, err
		}
		f.obj = obj
	}
	return f.obj, nil
}

// frame returns the ranges of frame n (from 1).
func (f *frameSource) frame(n int) (archive.Frame, error) {
	if n < 1 || n > len(f.frames) {
		return archive.Frame{}, fmt.Errorf("%w: frame %d (the instance has %d)", archive.ErrNotFound, n, len(f.frames))
	}
	return f.frames[n-1], nil
}

// raw reads the bytes of frame n as stored: a native frame, or the fragments of a compressed
// frame concatenated.
func (f *frameSource) raw(ctx context.Context, n int) ([]byte, error) {
	fr, err := f.frame(n)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, rg := range fr.Ranges {
		total += rg.Length
	}
	if total > codec.MaxFrameBytes {
		return nil, fmt.Errorf("%w: frame %d of %s holds %d bytes", codec.ErrTooLarge, n, f.st.SOPInstanceUID, total)
	}
	obj, err := f.open(ctx)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, total)
	if _, err := newConcatReaderAt(obj, fr.Ranges).ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("%w: read frame %d of %s: %w", archive.ErrUnavailable, n, f.st.SOPInstanceUID, err)
	}
	return buf, nil
}

// native returns frame n in native little endian layout with the Image describing it: read as
// stored for the uncompressed syntaxes (swapped for Big Endian, inflated for a deflated data
// set), decoded by the registry for the others.
func (f *frameSource) native(ctx context.Context, n int) ([]byte, codec.Image, error) {
	ts := f.st.TransferSyntaxUID
	size := f.im.FrameSize()
	switch {
	case ts == dicom.DeflatedExplicitVRLittleEndian && len(f.frames) == 0:
		b, err := f.s.deflatedFrame(ctx, f.st, n, int(size))
		return b, f.im, err
	case dicom.IsNative(ts):
		fr, err := f.frame(n)
		if err != nil {
			return nil, f.im, err
		}
		var total int64
		for _, rg := range fr.Ranges {
			total += rg.Length
		}
		if total < size {
			return nil, f.im, fmt.Errorf("%w: frame %d holds %d bytes, %d expected", codec.ErrCorrupt, n, total, size)
		}
		obj, err := f.open(ctx)
		if err != nil {
			return nil, f.im, err
		}
		var ra io.ReaderAt = newConcatReaderAt(obj, fr.Ranges)
		if ts == bigEndian && f.im.BitsAllocated > 8 {
			ra = swapReaderAt{r: ra, w: int64(f.im.BitsAllocated / 8), size: total}
		}
		buf := make([]byte, size)
		if _, err := ra.ReadAt(buf, 0); err != nil {
			return nil, f.im, fmt.Errorf("%w: read frame %d of %s: %w", archive.ErrUnavailable, n, f.st.SOPInstanceUID, err)
		}
		return buf, f.im, nil
	case !f.reg.CanDecode(ts):
		return nil, f.im, errCannotDecode(ts)
	}
	src, err := f.raw(ctx, n)
	if err != nil {
		return nil, f.im, err
	}
	out, im, err := f.reg.Decode(ts, nil, src, f.im)
	if err != nil {
		return nil, f.im, fmt.Errorf("decode frame %d of %s (%s): %w", n, f.st.SOPInstanceUID, syntaxName(ts), err)
	}
	if want := im.FrameSize(); want > 0 && int64(len(out)) > want {
		out = out[:want]
	}
	return out, im, nil
}

// in returns frame n in transfer syntax ts: as stored, native, or decoded and encoded again.
func (f *frameSource) in(ctx context.Context, n int, ts string) ([]byte, error) {
	if ts == f.st.TransferSyntaxUID && !dicom.IsNative(ts) {
		return f.raw(ctx, n)
	}
	pix, im, err := f.native(ctx, n)
	if err != nil || dicom.IsNative(ts) {
		return pix, err
	}
	out, _, err := f.reg.Encode(ts, nil, pix, im, codec.EncodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("encode frame %d of %s in %s: %w", n, f.st.SOPInstanceUID, syntaxName(ts), err)
	}
	return out, nil
}

// errCannotDecode: the build has no decoder for a compressed transfer syntax.
func errCannotDecode(ts string) error {
	return fmt.Errorf("%w: transfer syntax %s is compressed and this build has no codec to decode it (%w)",
		render.ErrUnsupported, syntaxName(ts), codec.ErrUnsupported)
}

// convertFrames answers Retrieve Frames (PS3.18 10.4.1.1.3) when the Accept header field does not
// take the frames as stored: each requested frame is read alone (its byte ranges, or the inflated
// data set of a deflated instance), decoded when compressed, and encoded in the transfer
// syntax negotiateFrameTarget chose. Nothing is ever made lossy unless the request names a
// lossy transfer syntax.
func (s *server) convertFrames(w http.ResponseWriter, r *http.Request, st *index.Stored, nums []int) {
	reg := s.codecs()
	stored := st.TransferSyntaxUID
	target, reasons := negotiateFrameTarget(r, reg, stored)
	if target.ts == "" {
		s.framesNotAcceptable(w, reg, st, reasons)
		return
	}
	md, err := archive.DecodeMeta(st.Metadata)
	if err != nil {
		s.fail(w, r, fmt.Errorf("metadata of %s: %w", st.SOPInstanceUID, err))
		return
	}
	src, err := s.newFrameSource(st, md.Dataset)
	if err != nil {
		s.frameFailed(w, r, st, target.ts, err)
		return
	}
	defer src.Close()
	ctx := r.Context()
	// The first frame is made ready before the status is sent, so that a frame that cannot be
	// converted is answered with an error status.
	first, err := src.in(ctx, nums[0], target.ts)
	if err != nil {
		s.frameFailed(w, r, st, target.ts, err)
		return
	}
	partType := target.part + "; transfer-syntax=" + target.ts
	mw := dicomweb.NewWriter(w, target.root)
	w.Header().Set("Content-Type", mw.ContentType())
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	for i, n := range nums {
		b := first
		if i > 0 {
			if b, err = src.in(ctx, n, target.ts); err != nil {
				s.abort(r, "frames", err)
			}
		}
		pw, err := mw.CreatePart(partType, nil)
		if err == nil {
			_, err = pw.Write(b)
		}
		if err != nil {
			s.abort(r, "frames", err)
		}
	}
	if err := mw.Close(); err != nil {
		s.abort(r, "frames", err)
	}
}

// framesNotAcceptable answers 406 (PS3.18 8.7.3.5) naming what the frames of st are available in.
func (s *server) framesNotAcceptable(w http.ResponseWriter, reg *codec.Registry, st *index.Stored, reasons []string) {
	stored := st.TransferSyntaxUID
	offered := fmt.Sprintf("as stored (multipart/related; type=%q; transfer-syntax=*)", dicomweb.TransferSyntaxMediaType(stored))
	if dicom.IsNative(stored) || reg.CanDecode(stored) {
		var lossless []string
		for _, c := range reg.Codecs() {
			if c.Encoder != nil && !c.Lossy {
				lossless = append(lossless, c.TransferSyntax)
			}
		}
		offered += fmt.Sprintf(", uncompressed (type=%q; transfer-syntax=%s), or transcoded to %s (or a lossy syntax named by transfer-syntax)",
			dicomweb.MediaOctetStream, dicom.ExplicitVRLittleEndian, strings.Join(lossless, ", "))
	}
	why := ""
	if len(reasons) > 0 {
		why = ": " + strings.Join(reasons, "; ")
	}
	httpError(w, http.StatusNotAcceptable, "the frames of instance %s, stored in transfer syntax %s, cannot be sent as asked%s. They are available %s",
		st.SOPInstanceUID, syntaxName(stored), why, offered)
}

// frameFailed answers an error reading or converting frames: 404 for a missing frame, 406 for
// what this build cannot convert, 500 (logged) for pixel data the codecs find corrupt.
func (s *server) frameFailed(w http.ResponseWriter, r *http.Request, st *index.Stored, ts string, err error) {
	switch {
	case errors.Is(err, archive.ErrNotFound):
		httpError(w, http.StatusNotFound, "%s", notFoundText(err))
	case errors.Is(err, codec.ErrUnsupported), errors.Is(err, codec.ErrTooLarge), errors.Is(err, render.ErrUnsupported):
		httpError(w, http.StatusNotAcceptable, "the frames of instance %s cannot be sent in transfer syntax %s: %s", st.SOPInstanceUID, syntaxName(ts), err)
	case errors.Is(err, codec.ErrCorrupt):
		s.log.Warn("DICOMweb: frame cannot be converted", "path", r.URL.Path, "to", ts, "err", err)
		httpError(w, http.StatusInternalServerError, "the frames of instance %s cannot be converted to %s: %s", st.SOPInstanceUID, syntaxName(ts), err)
	default:
		s.fail(w, r, err)
	}
}
