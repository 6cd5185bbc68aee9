package web

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/render"
)

// thumbnailSize is the box thumbnails fit into unless a viewport is given.
var thumbnailSize = image.Pt(128, 128)

// maxViewport bounds each side of a viewport.
const maxViewport = 8192

// maxRepresentativeTries bounds the instances examined for a study or series thumbnail.
const maxRepresentativeTries = 32

// renderParams are the query parameters of the rendered resources (PS3.18 8.3.5.1).
type renderParams struct {
	window  *render.Window
	size    image.Point
	quality int
}

// parseWindow reads window=center,width,function (PS3.18 8.3.5.1.3); the function is linear,
// linear-exact or sigmoid (PS3.3 C.11.2.1.3), LINEAR by default.
func parseWindow(s string) (*render.Window, error) {
	f := strings.Split(s, ",")
	if len(f) < 2 || len(f) > 3 {
		return nil, fmt.Errorf("window %q: want center,width[,function]", s)
	}
	c, err1 := strconv.ParseFloat(strings.TrimSpace(f[0]), 64)
	w, err2 := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("window %q: center and width are numbers", s)
	}
	win := &render.Window{Center: c, Width: w}
	if len(f) == 3 {
		win.Function = strings.TrimSpace(f[2])
	}
	if err := win.Validate(); err != nil {
		return nil, fmt.Errorf("window %q: %s", s, strings.TrimPrefix(err.Error(), "render: invalid pixel data or options: "))
	}
	return win, nil
}

// parseSize reads a width and a height, either of which may be empty (free).
func parseSize(name, w, h string) (image.Point, error) {
	var p image.Point
	for _, v := range []struct {
		s   string
		dst *int
	}{{w, &p.X}, {h, &p.Y}} {
		s := strings.TrimSpace(v.s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxViewport {
			return p, fmt.Errorf("%s %q: want a size from 1 to %d", name, s, maxViewport)
		}
		*v.dst = n
	}
	if p == (image.Point{}) {
		return p, fmt.Errorf("%s: give a width, a height or both", name)
	}
	return p, nil
}

func parseQuality(name, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 100 {
		return 0, fmt.Errorf("%s %q: want a number from 1 to 100", name, s)
	}
	return n, nil
}

// parseRenderParams reads window, viewport and quality; annotation, charset and iccprofile are
// accepted and ignored (no annotation is burnt in, no ICC profile is embedded).
func parseRenderParams(q url.Values, thumbnail bool) (renderParams, error) {
	var p renderParams
	if thumbnail {
		p.size = thumbnailSize
	}
	if v := q.Get("window"); v != "" {
		w, err := parseWindow(v)
		if err != nil {
			return p, err
		}
		p.window = w
	}
	if v := q.Get("viewport"); v != "" {
		f := strings.Split(v, ",")
		switch len(f) {
		case 2:
		case 6:
			return p, fmt.Errorf("viewport %q: cropping (sx,sy,sw,sh) is not supported; give vw,vh", v)
		default:
			return p, fmt.Errorf("viewport %q: want vw,vh", v)
		}
		size, err := parseSize("viewport", f[0], f[1])
		if err != nil {
			return p, err
		}
		p.size = size
	}
	if v := q.Get("quality"); v != "" {
		n, err := parseQuality("quality", v)
		if err != nil {
			return p, err
		}
		p.quality = n
	}
	return p, nil
}

// negotiateImage chooses image/jpeg or image/png from the accept query parameter (PS3.18
// 8.3.3.1) or the Accept header field; image/jpeg when both are acceptable or nothing is asked.
func negotiateImage(r *http.Request) (string, bool) {
	values := r.Header.Values("Accept")
	if v := r.URL.Query()["accept"]; len(v) > 0 {
		values = v
	}
	for _, m := range dicomweb.ParseAccept(values) {
		t := m.Type
		if t == dicomweb.MultipartRelated {
			if t = m.Params[dicomweb.ParamType]; t == "" {
				t = render.JPEG
			}
			m = dicomweb.MediaRange{Type: t}
		}
		switch {
		case m.Matches(render.JPEG):
			return render.JPEG, true
		case m.Matches(render.PNG):
			return render.PNG, true
		}
	}
	return "", false
}

// renderRequest is what a rendered or thumbnail request asks for.
type renderRequest struct {
	media  string
	params renderParams
}

// begin reads the media type and the query parameters, answering errors itself.
func (s *server) beginRender(w http.ResponseWriter, r *http.Request, thumbnail bool) (renderRequest, bool) {
	media, ok := negotiateImage(r)
	if !ok {
		httpError(w, http.StatusNotAcceptable, "rendered images are available as image/jpeg and image/png")
		return renderRequest{}, false
	}
	p, err := parseRenderParams(r.URL.Query(), thumbnail)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%s", err)
		return renderRequest{}, false
	}
	return renderRequest{media: media, params: p}, true
}

func (rq renderRequest) options() render.Options {
	return render.Options{Window: rq.params.window, Size: rq.params.size, Quality: rq.params.quality}
}

// renderedInstance answers Retrieve Rendered Instance (PS3.18 10.4): the first frame,
// and the instance thumbnail: its middle frame fitted into 128×128 by default.
func (s *server) renderedInstance(thumbnail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq, ok := s.beginRender(w, r, thumbnail)
		if !ok {
			return
		}
		st, ok := s.lookupOne(w, r)
		if !ok {
			return
		}
		n := 1
		if thumbnail {
			n = middleFrame(st)
		}
		img, err := s.renderFrame(r.Context(), st, n, rq.options())
		if err != nil {
			s.renderFailed(w, r, st, err)
			return
		}
		s.writeImage(w, r, img, rq)
	}
}

// renderedFrames answers Retrieve Rendered Frames and the frame thumbnail: one frame as an
// image, several as multipart/related of images.
func (s *server) renderedFrames(thumbnail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq, ok := s.beginRender(w, r, thumbnail)
		if !ok {
			return
		}
		st, ok := s.lookupOne(w, r)
		if !ok {
			return
		}
		nums, err := parseFrameList(r.PathValue("frames"), frameCount(st))
		if err == nil && thumbnail && len(nums) > 1 {
			err = fmt.Errorf("a thumbnail is of one frame, not %d", len(nums))
		}
		if err != nil {
			if errors.Is(err, archive.ErrNotFound) {
				httpError(w, http.StatusNotFound, "%s", notFoundText(err))
			} else {
				httpError(w, http.StatusBadRequest, "%s", err)
			}
			return
		}
		imgs := make([]image.Image, 0, len(nums))
		for _, n := range nums {
			img, err := s.renderFrame(r.Context(), st, n, rq.options())
			if err != nil {
				s.renderFailed(w, r, st, err)
				return
			}
			imgs = append(imgs, img)
		}
		if len(imgs) == 1 {
			s.writeImage(w, r, imgs[0], rq)
			return
		}
		mw := dicomweb.NewWriter(w, rq.media)
		w.Header().Set("Content-Type", mw.ContentType())
		w.Header().Add("Vary", "Accept")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return
		}
		for _, img := range imgs {
			pw, err := mw.CreatePart(rq.media, nil)
			if err == nil {
				err = render.Encode(pw, img, rq.media, rq.params.quality)
			}
			if err != nil {
				s.abort(r, "rendered frames", err)
			}
		}
		if err := mw.Close(); err != nil {
			s.abort(r, "rendered frames", err)
		}
	}
}

// thumbnailOf answers the study and series thumbnails: the middle frame of a representative
// instance (see representative).
func (s *server) thumbnailOf(w http.ResponseWriter, r *http.Request) {
	rq, ok := s.beginRender(w, r, true)
	if !ok {
		return
	}
	insts, ok := s.resolve(w, r)
	if !ok {
		return
	}
	st, err := s.representative(insts)
	if err != nil {
		s.renderFailed(w, r, nil, err)
		return
	}
	img, err := s.renderFrame(r.Context(), st, middleFrame(st), rq.options())
	if err != nil {
		s.renderFailed(w, r, st, err)
		return
	}
	s.writeImage(w, r, img, rq)
}

// errNoImage: a study or series without any instance holding pixel data.
var errNoImage = errors.New("no image")

// representative picks the instance a study or series thumbnail shows: in the series with the
// most instances holding pixel data, the middle one by Instance Number; when that one cannot be
// rendered, the nearest one that can.
func (s *server) representative(insts []*index.Stored) (*index.Stored, error) {
	bySeries := map[string][]*index.Stored{}
	var order []string
	for _, st := range insts {
		if !hasPixels(st) {
			continue
		}
		if _, ok := bySeries[st.SeriesInstanceUID]; !ok {
			order = append(order, st.SeriesInstanceUID)
		}
		bySeries[st.SeriesInstanceUID] = append(bySeries[st.SeriesInstanceUID], st)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: none of the %d instances holds pixel data", errNoImage, len(insts))
	}
	best := order[0]
	for _, k := range order[1:] {
		if len(bySeries[k]) > len(bySeries[best]) {
			best = k
		}
	}
	series := bySeries[best]
	sort.SliceStable(series, func(i, j int) bool {
		if series[i].InstanceNumber != series[j].InstanceNumber {
			return series[i].InstanceNumber < series[j].InstanceNumber
		}
		return series[i].SOPInstanceUID < series[j].SOPInstanceUID
	})
	mid := (len(series) - 1) / 2
	var first error
	for k := 0; k < len(series) && k < maxRepresentativeTries; k++ {
		// mid, mid+1, mid-1, mid+2, …
		i := mid + (k+1)/2
		if k%2 == 0 {
			i = mid - k/2
		}
		if i < 0 || i >= len(series) {
			continue
		}
		st := series[i]
		err := renderable(s.codecs(), st)
		if err == nil {
			return st, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// hasPixels reports whether an instance has frames to render, as far as the index tells.
func hasPixels(st *index.Stored) bool {
	return len(st.Frames) > 0 || (st.TransferSyntaxUID == dicom.DeflatedExplicitVRLittleEndian && st.NumberOfFrames > 0)
}

// renderable checks an instance's transfer syntax and image attributes without reading its
// blob: a compressed syntax needs a decoder in reg, and its frames are described once decoded.
func renderable(reg *codec.Registry, st *index.Stored) error {
	md, err := archive.DecodeMeta(st.Metadata)
	if err != nil {
		return fmt.Errorf("metadata of %s: %w", st.SOPInstanceUID, err)
	}
	if ts := st.TransferSyntaxUID; !dicom.IsNative(ts) {
		if !reg.CanDecode(ts) {
			return errCannotDecode(ts)
		}
		if _, _, err := codec.ImageOf(md.Dataset); err != nil {
			return fmt.Errorf("%w: image pixel attributes of %s: %w", render.ErrUnsupported, st.SOPInstanceUID, err)
		}
		return nil
	}
	_, err = render.Describe(md.Dataset)
	return err
}

// frameCount is the number of frames of an instance.
func frameCount(st *index.Stored) int {
	if frames, err := archive.DecodeFrames(st.Frames); err == nil && len(frames) > 0 {
		return len(frames)
	}
	return max(st.NumberOfFrames, 1)
}

// middleFrame is the frame number (from 1) in the middle of an instance.
func middleFrame(st *index.Stored) int {
	return (frameCount(st) + 1) / 2
}

// renderFrame reads frame n (from 1) of st by byte range, as Retrieve Frames does, and renders
// it; a frame in a compressed transfer syntax is decoded first (see renderDecoded).
// Unsupported images, and compressed syntaxes this build cannot decode, give errors wrapping
// render.ErrUnsupported.
func (s *server) renderFrame(ctx context.Context, st *index.Stored, n int, opts render.Options) (image.Image, error) {
	md, err := archive.DecodeMeta(st.Metadata)
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", st.SOPInstanceUID, err)
	}
	if !dicom.IsNative(st.TransferSyntaxUID) {
		return s.renderDecoded(ctx, st, md.Dataset, n, opts)
	}
	layout, err := render.DescribeFrame(md.Dataset, nil, n-1)
	if err != nil {
		return nil, err
	}
	if err := checkPixels(layout.Rows, layout.Columns, opts); err != nil {
		return nil, err
	}
	size := layout.FrameSize()
	var buf []byte
	if st.TransferSyntaxUID == dicom.DeflatedExplicitVRLittleEndian {
		buf, err = s.deflatedFrame(ctx, st, n, size)
	} else {
		buf, err = s.nativeFrame(ctx, st, n, size, layout.BitsAllocated)
	}
	if err != nil {
		return nil, err
	}
	return layout.Frame(buf, opts)
}

// renderDecoded renders frame n (from 1) of st, stored in a compressed transfer syntax: only
// that frame's bytes are read (its byte ranges in the blob), decoded by the registry, and
// described by render.DescribeFrame from the Image the decoder returns (which may differ from
// the metadata: a YBR_FULL_422 JPEG decodes to RGB) and the metadata's LUTs and windows.
func (s *server) renderDecoded(ctx context.Context, st *index.Stored, meta *dicom.Dataset, n int, opts render.Options) (image.Image, error) {
	if ts := st.TransferSyntaxUID; !s.codecs().CanDecode(ts) {
		return nil, errCannotDecode(ts)
	}
	src, err := s.newFrameSource(st, meta)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if err := checkPixels(src.im.Rows, src.im.Columns, opts); err != nil {
		return nil, err
	}
	pix, im, err := src.native(ctx, n)
	if err != nil {
		return nil, err
	}
	layout, err := render.DescribeFrame(meta, &im, n-1)
	if err != nil {
		return nil, err
	}
	return layout.Frame(pix, opts)
}

// checkPixels refuses, before anything is read, an image of more pixels than opts allow.
func checkPixels(rows, columns int, opts render.Options) error {
	maxPixels := opts.MaxPixels
	if maxPixels <= 0 {
		maxPixels = render.DefaultMaxPixels
	}
	if int64(rows)*int64(columns) > maxPixels {
		return fmt.Errorf("%w: %d×%d pixels (the limit is %d)", render.ErrTooLarge, columns, rows, maxPixels)
	}
	return nil
}

// nativeFrame reads the size bytes of frame n from the ranges of the frame index, swapped to
// little endian for Explicit VR Big Endian.
func (s *server) nativeFrame(ctx context.Context, st *index.Stored, n, size, bitsAllocated int) ([]byte, error) {
	frames, err := archive.DecodeFrames(st.Frames)
	if err != nil {
		return nil, fmt.Errorf("frame index of %s: %w", st.SOPInstanceUID, err)
	}
	if n < 1 || n > len(frames) {
		return nil, fmt.Errorf("%w: frame %d (the instance has %d)", archive.ErrNotFound, n, len(frames))
	}
	var total int64
	for _, rg := range frames[n-1].Ranges {
		total += rg.Length
	}
	if total < int64(size) {
		return nil, fmt.Errorf("%w: frame %d holds %d bytes, %d expected", render.ErrInvalid, n, total, size)
	}
	obj, err := s.arc.Open(ctx, st)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	var ra io.ReaderAt = newConcatReaderAt(obj, frames[n-1].Ranges)
	if st.TransferSyntaxUID == bigEndian && bitsAllocated > 8 {
		ra = swapReaderAt{r: ra, w: int64(bitsAllocated / 8), size: total}
	}
	buf := make([]byte, size)
	if _, err := ra.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("%w: read frame %d of %s: %w", archive.ErrUnavailable, n, st.SOPInstanceUID, err)
	}
	return buf, nil
}

// maxDeflated bounds the blob of a deflated instance read whole to render it.
const maxDeflated = 256 << 20

// deflatedFrame reads frame n of a Deflated Explicit VR Little Endian instance, whose frames
// cannot be located in the blob: the data set is inflated and read.
func (s *server) deflatedFrame(ctx context.Context, st *index.Stored, n, size int) ([]byte, error) {
	if st.Size > maxDeflated {
		return nil, fmt.Errorf("%w: deflated instance of %d bytes", render.ErrTooLarge, st.Size)
	}
	obj, err := s.arc.Open(ctx, st)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	f, err := dicom.Read(io.NewSectionReader(obj, 0, obj.Size()), dicom.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", archive.ErrUnavailable, st.SOPInstanceUID, err)
	}
	px := f.Dataset.Element(tag.PixelData)
	if px == nil || px.Value == nil {
		return nil, fmt.Errorf("%w: instance %s has no native pixel data", render.ErrUnsupported, st.SOPInstanceUID)
	}
	if n < 1 || int64(n)*int64(size) > int64(len(px.Value)) {
		return nil, fmt.Errorf("%w: frame %d of %s", archive.ErrNotFound, n, st.SOPInstanceUID)
	}
	return px.Value[(n-1)*size : n*size], nil
}

// renderFailed answers a rendering error: 406 for what cannot be rendered, naming the transfer
// syntax (one this build has no decoder for) or photometric interpretation; 404 for a missing
// frame or image; 500 (logged) for pixel data that cannot be read or decoded.
func (s *server) renderFailed(w http.ResponseWriter, r *http.Request, st *index.Stored, err error) {
	what := "the request"
	if st != nil {
		what = "instance " + st.SOPInstanceUID
	}
	switch {
	case errors.Is(err, render.ErrUnsupported), errors.Is(err, render.ErrTooLarge),
		errors.Is(err, codec.ErrUnsupported), errors.Is(err, codec.ErrTooLarge):
		msg := strings.TrimPrefix(err.Error(), "render: ")
		httpError(w, http.StatusNotAcceptable, "%s cannot be rendered: %s", what, msg)
	case errors.Is(err, errNoImage):
		httpError(w, http.StatusNotFound, "%s", err)
	case errors.Is(err, archive.ErrNotFound):
		httpError(w, http.StatusNotFound, "%s", notFoundText(err))
	case errors.Is(err, render.ErrInvalid), errors.Is(err, codec.ErrCorrupt):
		s.log.Warn("DICOMweb: pixel data cannot be rendered", "path", r.URL.Path, "err", err)
		httpError(w, http.StatusInternalServerError, "%s cannot be rendered: %s", what, strings.TrimPrefix(err.Error(), "render: "))
	default:
		s.fail(w, r, err)
	}
}

// writeImage encodes and sends one image.
func (s *server) writeImage(w http.ResponseWriter, r *http.Request, img image.Image, rq renderRequest) {
	h := w.Header()
	h.Set("Content-Type", rq.media)
	h.Add("Vary", "Accept")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := render.Encode(w, img, rq.media, rq.params.quality); err != nil {
		s.abort(r, "rendered", err)
	}
}

// wadoURI answers WADO-URI (PS3.18 chapter 9): GET /wado?requestType=WADO&studyUID=…&seriesUID=…
// &objectUID=…, with contentType application/dicom (the stored Part 10 file), image/jpeg or
// image/png (a rendered frame: frameNumber, rows, columns, windowCenter, windowWidth,
// imageQuality).
func (s *server) wadoURI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if rt := q.Get("requestType"); rt != "WADO" {
		httpError(w, http.StatusBadRequest, "requestType %q: want WADO", rt)
		return
	}
	for _, p := range []string{"anonymize", "region", "presentationUID", "presentationSeriesUID"} {
		if q.Has(p) {
			httpError(w, http.StatusBadRequest, "parameter %s is not supported", p)
			return
		}
	}
	study, series, object := q.Get("studyUID"), q.Get("seriesUID"), q.Get("objectUID")
	if study == "" || series == "" || object == "" {
		httpError(w, http.StatusBadRequest, "studyUID, seriesUID and objectUID are required")
		return
	}
	r.SetPathValue("study", study)
	r.SetPathValue("series", series)
	r.SetPathValue("instance", object)
	st, ok := s.lookupOne(w, r)
	if !ok {
		return
	}
	media := ""
	if ct := q.Get("contentType"); ct != "" {
		for _, m := range dicomweb.ParseAccept([]string{ct}) {
			switch {
			case m.Type == dicomweb.MediaDICOM:
				media = m.Type
			case m.Matches(render.JPEG):
				media = render.JPEG
			case m.Matches(render.PNG):
				media = render.PNG
			}
			if media != "" {
				break
			}
		}
		if media == "" {
			httpError(w, http.StatusNotAcceptable, "contentType %q: application/dicom, image/jpeg and image/png are available", ct)
			return
		}
	} else if hasPixels(st) {
		media = render.JPEG
	} else {
		media = dicomweb.MediaDICOM
	}
	if media == dicomweb.MediaDICOM {
		s.wadoURIFile(w, r, st)
		return
	}
	rq := renderRequest{media: media}
	n := 1
	if v := q.Get("frameNumber"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 {
			httpError(w, http.StatusBadRequest, "frameNumber %q: want a frame number from 1", v)
			return
		}
		n = k
	}
	if q.Has("rows") || q.Has("columns") {
		size, err := parseSize("rows and columns", q.Get("columns"), q.Get("rows"))
		if err != nil {
			httpError(w, http.StatusBadRequest, "%s", err)
			return
		}
		rq.params.size = size
	}
	if c, wd := q.Get("windowCenter"), q.Get("windowWidth"); c != "" || wd != "" {
		if c == "" || wd == "" {
			httpError(w, http.StatusBadRequest, "windowCenter and windowWidth go together")
			return
		}
		win, err := parseWindow(c + "," + wd)
		if err != nil {
			httpError(w, http.StatusBadRequest, "%s", err)
			return
		}
		rq.params.window = win
	}
	if v := q.Get("imageQuality"); v != "" {
		k, err := parseQuality("imageQuality", v)
		if err != nil {
			httpError(w, http.StatusBadRequest, "%s", err)
			return
		}
		rq.params.quality = k
	}
	if n > frameCount(st) {
		httpError(w, http.StatusNotFound, "frame %d (the instance has %d)", n, frameCount(st))
		return
	}
	img, err := s.renderFrame(r.Context(), st, n, rq.options())
	if err != nil {
		s.renderFailed(w, r, st, err)
		return
	}
	s.writeImage(w, r, img, rq)
}

// wadoURIFile sends the stored Part 10 file or, when the transferSyntax parameter (PS3.18
// chapter 9) names another syntax, the instance transcoded to it (see instanceSyntax).
func (s *server) wadoURIFile(w http.ResponseWriter, r *http.Request, st *index.Stored) {
	ts := st.TransferSyntaxUID
	if want := r.URL.Query().Get("transferSyntax"); want != "" && want != ts && want != dicomweb.AnyTransferSyntax {
		target, why := instanceSyntax(s.codecs(), st, []string{want})
		if target == "" {
			httpError(w, http.StatusNotAcceptable, "instance %s is stored in transfer syntax %s and transcoding it to %s is not possible: %s",
				st.SOPInstanceUID, syntaxName(ts), want, why)
			return
		}
		ts = target
	}
	obj, err := s.instanceBody(r.Context(), st, ts)
	if err != nil {
		s.convertFailed(w, r, st, ts, err)
		return
	}
	defer obj.Close()
	h := w.Header()
	h.Set("Content-Type", dicomweb.MediaDICOM)
	h.Set("Content-Length", strconv.FormatInt(obj.size, 10))
	h.Set("Content-Disposition", `attachment; filename="`+st.SOPInstanceUID+`.dcm"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, obj); err != nil {
		s.abort(r, "WADO-URI", err)
	}
}
