package web_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/web"
	"github.com/lightbox-pacs/lightbox/render"
)

// imageCorpus: images of the kinds rendering meets, each its own study.
var imageCorpus = []string{
	"pydicom__CT_small.dcm",                     // 16 bits signed, Explicit VR Little Endian
	"pydicom__MR_small_bigendian.dcm",           // Explicit VR Big Endian
	"pydicom-data__emri_small.dcm",              // 10 frames, 12 of 16 bits
	"pydicom__CR1_6154.dcm",                     // MONOCHROME1
	"pydicom-data__color-pl.dcm",                // RGB by plane
	"pydicom__image_dfl.dcm",                    // Deflated, 8 bits
	"orthanc-tests__1.2.840.10008.1.2.4.50.dcm", // JPEG Baseline
	"pydicom__examples_palette.dcm",             // PALETTE COLOR
	"orthanc-tests__sample-pdf.dcm",             // no pixel data
	"dcm4che__will-jxl.dcm",                     // JPEG XL: no decoder in any build
}

type imageFixture struct {
	arc   *archive.Service
	base  string // the DICOMweb root
	root  string // the server root (WADO-URI at /wado)
	files map[string]*original
}

// newImageFixture stores imageCorpus and serves it as serve.go does: DICOMweb under /dicom-web,
// the same handler at /wado.
func newImageFixture(t *testing.T) *imageFixture {
	t.Helper()
	arc := openArchive(t)
	h := web.New(arc, web.Options{})
	mux := http.NewServeMux()
	mux.Handle("/dicom-web/", http.StripPrefix("/dicom-web", h))
	mux.Handle("/wado", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	fx := &imageFixture{arc: arc, base: srv.URL + "/dicom-web", root: srv.URL, files: map[string]*original{}}
	for _, name := range imageCorpus {
		o := readCorpusFile(t, name)
		f, err := dicom.Parse(o.raw, dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		o.file = f
		if _, err := arc.StoreFile(context.Background(), bytes.NewReader(o.raw), "TEST"); err != nil {
			t.Fatalf("store %s: %v", name, err)
		}
		fx.files[name] = o
	}
	return fx
}

func instancePath(o *original) string {
	return "/studies/" + o.uid(tag.StudyInstanceUID) + "/series/" + o.uid(tag.SeriesInstanceUID) + "/instances/" + o.uid(tag.SOPInstanceUID)
}

// reference renders frame n (from 1) of a corpus file read whole.
func reference(t *testing.T, o *original, n int, opts render.Options) image.Image {
	t.Helper()
	ds := o.file.Dataset
	px := ds.Element(tag.PixelData)
	l, err := render.Describe(ds)
	if err != nil {
		t.Fatal(err)
	}
	size := l.FrameSize()
	img, err := l.Frame(px.Value[(n-1)*size:n*size], opts)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func decodeImage(t *testing.T, media string, b []byte) image.Image {
	t.Helper()
	var (
		img image.Image
		err error
	)
	switch media {
	case render.PNG:
		img, err = png.Decode(bytes.NewReader(b))
	case render.JPEG:
		img, err = jpeg.Decode(bytes.NewReader(b))
	default:
		t.Fatalf("media type %q", media)
	}
	if err != nil {
		t.Fatalf("decode %s: %v", media, err)
	}
	return img
}

// samePixels compares a decoded PNG with a rendering.
func samePixels(t *testing.T, got, want image.Image) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				t.Fatalf("pixel (%d,%d): %v, want %v", x, y, got.At(x, y), want.At(x, y))
			}
		}
	}
}

func TestRendered(t *testing.T) {
	fx := newImageFixture(t)
	ct := fx.files["pydicom__CT_small.dcm"]
	mrBE := fx.files["pydicom__MR_small_bigendian.dcm"]
	emri := fx.files["pydicom-data__emri_small.dcm"]
	cr := fx.files["pydicom__CR1_6154.dcm"]
	rgb := fx.files["pydicom-data__color-pl.dcm"]
	dfl := fx.files["pydicom__image_dfl.dcm"]
	jpg := fx.files["orthanc-tests__1.2.840.10008.1.2.4.50.dcm"]
	pal := fx.files["pydicom__examples_palette.dcm"]
	pdf := fx.files["orthanc-tests__sample-pdf.dcm"]
	jxl := fx.files["dcm4che__will-jxl.dcm"]
	win := &render.Window{Center: 40, Width: 400}
	tests := []struct {
		name   string
		path   string
		accept string
		status int
		media  string
		size   image.Point
		want   image.Image // exact pixels (PNG only)
		parts  int         // multipart: number of images
		text   string      // in an error message
	}{
		{name: "instance, JPEG by default", path: instancePath(ct) + "/rendered", status: 200, media: render.JPEG, size: image.Pt(128, 128)},
		{name: "instance, PNG, window", path: instancePath(ct) + "/rendered?window=40,400,linear", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, ct, 1, render.Options{Window: win})},
		{name: "accept query parameter", path: instancePath(ct) + "/rendered?accept=image/png", accept: "image/jpeg", status: 200, media: render.PNG, size: image.Pt(128, 128)},
		{name: "image/* prefers JPEG", path: instancePath(ct) + "/rendered", accept: "image/*", status: 200, media: render.JPEG},
		{name: "big endian frame, swapped", path: instancePath(mrBE) + "/rendered", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, mrBE, 1, render.Options{})},
		{name: "frame 5 of 10", path: instancePath(emri) + "/frames/5/rendered?window=600,1200,sigmoid", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, emri, 5, render.Options{Window: &render.Window{Center: 600, Width: 1200, Function: render.Sigmoid}})},
		{name: "two frames, multipart", path: instancePath(emri) + "/frames/1,10/rendered", accept: `multipart/related; type="image/png"`, status: 200, media: render.PNG, parts: 2},
		{name: "MONOCHROME1", path: instancePath(cr) + "/rendered", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, cr, 1, render.Options{})},
		{name: "RGB by plane", path: instancePath(rgb) + "/rendered", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, rgb, 1, render.Options{})},
		{name: "deflated", path: instancePath(dfl) + "/rendered?viewport=100,50", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, dfl, 1, render.Options{Size: image.Pt(100, 50)})},
		{name: "viewport", path: instancePath(ct) + "/rendered?viewport=32,64&quality=50", status: 200, media: render.JPEG, size: image.Pt(32, 32)},
		{name: "instance thumbnail", path: instancePath(emri) + "/thumbnail", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, emri, 5, render.Options{Size: image.Pt(128, 128)})},
		{name: "frame thumbnail", path: instancePath(emri) + "/frames/2/thumbnail?viewport=16,16", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, emri, 2, render.Options{Size: image.Pt(16, 16)})},
		{name: "series thumbnail", path: "/studies/" + rgb.uid(tag.StudyInstanceUID) + "/series/" + rgb.uid(tag.SeriesInstanceUID) + "/thumbnail", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, rgb, 1, render.Options{Size: image.Pt(128, 128)})},
		{name: "study thumbnail", path: "/studies/" + emri.uid(tag.StudyInstanceUID) + "/thumbnail", status: 200, media: render.JPEG, size: image.Pt(128, 128)},
		{name: "JPEG Baseline, decoded", path: instancePath(jpg) + "/rendered", accept: "image/png", status: 200, media: render.PNG,
			want: referenceDecoded(t, jpg, 1, render.Options{})},
		{name: "study thumbnail of JPEG Baseline", path: "/studies/" + jpg.uid(tag.StudyInstanceUID) + "/thumbnail", status: 200, media: render.JPEG, size: image.Pt(128, 96)},
		{name: "JPEG XL cannot be decoded", path: instancePath(jxl) + "/rendered", status: 406, text: "1.2.840.10008.1.2.4.111"},
		{name: "study thumbnail of JPEG XL", path: "/studies/" + jxl.uid(tag.StudyInstanceUID) + "/thumbnail", status: 406, text: "codec"},
		{name: "palette", path: instancePath(pal) + "/rendered", accept: "image/png", status: 200, media: render.PNG,
			want: reference(t, pal, 1, render.Options{})},
		{name: "no pixel data", path: instancePath(pdf) + "/rendered", status: 406, text: "no pixel data"},
		{name: "study thumbnail without images", path: "/studies/" + pdf.uid(tag.StudyInstanceUID) + "/thumbnail", status: 404},
		{name: "frame out of range", path: instancePath(emri) + "/frames/11/rendered", status: 404},
		{name: "thumbnail of two frames", path: instancePath(emri) + "/frames/1,2/thumbnail", status: 400},
		{name: "GIF not available", path: instancePath(ct) + "/rendered", accept: "image/gif", status: 406},
		{name: "bad window", path: instancePath(ct) + "/rendered?window=40,0", status: 400, text: "LINEAR"},
		{name: "bad window function", path: instancePath(ct) + "/rendered?window=40,400,cubic", status: 400},
		{name: "bad viewport", path: instancePath(ct) + "/rendered?viewport=0,10", status: 400},
		{name: "cropping viewport", path: instancePath(ct) + "/rendered?viewport=10,10,0,0,5,5", status: 400, text: "cropping"},
		{name: "bad quality", path: instancePath(ct) + "/rendered?quality=101", status: 400},
		{name: "unknown instance", path: "/studies/1.2.3/series/4.5/instances/6.7/rendered", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.accept != "" {
				hdr = []string{"Accept", tt.accept}
			}
			r := doURL(t, "GET", fx.base+tt.path, nil, hdr...)
			if r.StatusCode != tt.status {
				t.Fatalf("%s, want %d: %s", r.Status, tt.status, r.body)
			}
			if tt.status != http.StatusOK {
				if !strings.Contains(string(r.body), tt.text) {
					t.Fatalf("message %q does not name %q", r.body, tt.text)
				}
				return
			}
			if tt.parts > 0 {
				types, bodies := parts(t, r)
				if len(bodies) != tt.parts {
					t.Fatalf("%d parts, want %d", len(bodies), tt.parts)
				}
				for i, b := range bodies {
					if types[i] != tt.media {
						t.Fatalf("part of type %q", types[i])
					}
					decodeImage(t, tt.media, b)
				}
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != tt.media {
				t.Fatalf("Content-Type %q, want %q", ct, tt.media)
			}
			img := decodeImage(t, tt.media, r.body)
			if tt.size != (image.Point{}) && img.Bounds().Size() != tt.size {
				t.Fatalf("size %v, want %v", img.Bounds().Size(), tt.size)
			}
			if tt.want != nil {
				samePixels(t, img, tt.want)
			}
		})
	}
}

func TestWADOURI(t *testing.T) {
	fx := newImageFixture(t)
	ct := fx.files["pydicom__CT_small.dcm"]
	emri := fx.files["pydicom-data__emri_small.dcm"]
	pdf := fx.files["orthanc-tests__sample-pdf.dcm"]
	q := func(o *original, extra ...string) string {
		v := url.Values{"requestType": {"WADO"}, "studyUID": {o.uid(tag.StudyInstanceUID)},
			"seriesUID": {o.uid(tag.SeriesInstanceUID)}, "objectUID": {o.uid(tag.SOPInstanceUID)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/wado?" + v.Encode()
	}
	tests := []struct {
		name   string
		path   string
		status int
		media  string
		raw    []byte      // the whole body
		want   image.Image // exact pixels (PNG)
		size   image.Point
	}{
		{name: "Part 10 file", path: q(ct, "contentType", "application/dicom"), status: 200, media: dicomweb.MediaDICOM, raw: ct.raw},
		{name: "Part 10 file in its own syntax", path: q(ct, "contentType", "application/dicom", "transferSyntax", ct.file.TransferSyntax()), status: 200, media: dicomweb.MediaDICOM, raw: ct.raw},
		{name: "image by default", path: q(ct), status: 200, media: render.JPEG, size: image.Pt(128, 128)},
		{name: "non-image by default", path: q(pdf), status: 200, media: dicomweb.MediaDICOM, raw: pdf.raw},
		{name: "JPEG", path: q(ct, "contentType", "image/jpeg", "imageQuality", "70"), status: 200, media: render.JPEG},
		{name: "PNG frame 3, window, rows", path: q(emri, "contentType", "image/png", "frameNumber", "3", "windowCenter", "600", "windowWidth", "1200", "rows", "32"),
			status: 200, media: render.PNG, want: reference(t, emri, 3, render.Options{Window: &render.Window{Center: 600, Width: 1200}, Size: image.Pt(0, 32)})},
		{name: "list of content types", path: q(ct, "contentType", "image/gif,image/png"), status: 200, media: render.PNG},
		{name: "no requestType", path: "/wado?studyUID=1&seriesUID=2&objectUID=3", status: 400},
		{name: "missing UID", path: "/wado?requestType=WADO&studyUID=1&objectUID=3", status: 400},
		{name: "invalid UID", path: "/wado?requestType=WADO&studyUID=1&seriesUID=x.y&objectUID=3", status: 400},
		{name: "unknown object", path: "/wado?requestType=WADO&studyUID=1.2&seriesUID=1.3&objectUID=1.4", status: 404},
		{name: "object of another series", path: strings.Replace(q(ct), "seriesUID=", "seriesUID=9", 1), status: 404},
		{name: "unavailable content type", path: q(ct, "contentType", "image/gif"), status: 406},
		{name: "transcoding", path: q(ct, "contentType", "application/dicom", "transferSyntax", "1.2.840.10008.1.2.4.50"), status: 406},
		{name: "half a window", path: q(ct, "windowCenter", "40"), status: 400},
		{name: "frame out of range", path: q(emri, "frameNumber", "11"), status: 404},
		{name: "anonymize", path: q(ct, "anonymize", "yes"), status: 400},
		{name: "region", path: q(ct, "region", "0,0,0.5,0.5"), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := doURL(t, "GET", fx.root+tt.path, nil)
			if r.StatusCode != tt.status {
				t.Fatalf("%s, want %d: %s", r.Status, tt.status, r.body)
			}
			if tt.status != http.StatusOK {
				return
			}
			if got := r.Header.Get("Content-Type"); got != tt.media {
				t.Fatalf("Content-Type %q, want %q", got, tt.media)
			}
			if tt.raw != nil {
				if !bytes.Equal(dataset(t, r.body), dataset(t, tt.raw)) {
					t.Fatalf("data set of the %d bytes sent differs from the original's", len(r.body))
				}
				return
			}
			img := decodeImage(t, tt.media, r.body)
			if tt.size != (image.Point{}) && img.Bounds().Size() != tt.size {
				t.Fatalf("size %v", img.Bounds().Size())
			}
			if tt.want != nil {
				samePixels(t, img, tt.want)
			}
		})
	}
}

// jsonPayload builds a STOW-RS payload of metadata and bulk data from Part 10 files: the bulk
// values are referenced by BulkDataURI and sent as parts named by Content-Location, pixel data
// with the transfer syntax of the file.
func jsonPayload(t *testing.T, files ...*original) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := dicomweb.NewWriter(&buf, dicomweb.MediaDICOMJSON)
	type bulk struct {
		uri, ctype string
		data       []byte
	}
	var (
		bulks []bulk
		arr   [][]byte
	)
	for i, o := range files {
		ts := o.file.TransferSyntax()
		b, err := dicomjson.Marshal(o.file.Dataset, dicomjson.Options{BulkThreshold: 1024, BulkDataURI: func(path dicomjson.Path, e *dicom.Element) string {
			uri := "http://client.example/bulk/" + strconv.Itoa(i) + "/" + path.String() + e.Tag.String()
			b := bulk{uri: uri, ctype: dicomweb.MediaOctetStream, data: e.Value}
			switch {
			case e.Fragments != nil:
				b.ctype = dicomweb.TransferSyntaxMediaType(ts) + "; transfer-syntax=" + ts
				b.data = nil
				for _, f := range e.Fragments[1:] {
					b.data = append(b.data, f.Data...)
				}
			case e.Tag == tag.PixelData:
				b.ctype += "; transfer-syntax=" + dicom.ExplicitVRLittleEndian
			}
			bulks = append(bulks, b)
			return uri
		}})
		if err != nil {
			t.Fatal(err)
		}
		arr = append(arr, b)
	}
	pw, err := w.CreatePart(dicomweb.MediaDICOMJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write([]byte("[" + string(bytes.Join(arr, []byte(","))) + "]"))
	for _, b := range bulks {
		pw, err := w.CreatePart(b.ctype, textproto.MIMEHeader{"Content-Location": {b.uri}})
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(b.data)
	}
	w.Close()
	return w.ContentType(), buf.Bytes()
}

// rawPayload builds a multipart/related payload of application/dicom+json from parts given as
// content type and body.
func rawPayload(t *testing.T, parts ...string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := dicomweb.NewWriter(&buf, dicomweb.MediaDICOMJSON)
	for i := 0; i+1 < len(parts); i += 2 {
		pw, err := w.CreatePart(parts[i], textproto.MIMEHeader{"Content-Location": {"bulk" + strconv.Itoa(i/2)}})
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(parts[i+1]))
	}
	w.Close()
	return w.ContentType(), buf.Bytes()
}

func TestSTOWJSON(t *testing.T) {
	files := map[string]*original{}
	for _, name := range []string{"pydicom__CT_small.dcm", "pydicom__MR_small_bigendian.dcm", "orthanc-tests__1.2.840.10008.1.2.4.50.dcm", "pydicom-data__emri_small.dcm"} {
		o := readCorpusFile(t, name)
		f, err := dicom.Parse(o.raw, dicom.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		o.file = f
		files[name] = o
	}
	ct := files["pydicom__CT_small.dcm"]
	mr := files["pydicom__MR_small_bigendian.dcm"]
	jpg := files["orthanc-tests__1.2.840.10008.1.2.4.50.dcm"]
	emri := files["pydicom-data__emri_small.dcm"]
	ctJSON, err := dicomjson.Marshal(ct.file.Dataset, dicomjson.Options{})
	if err != nil {
		t.Fatal(err)
	}
	deep := "[" + strings.Repeat(`{"00081115":{"vr":"SQ","Value":[`, 10000) + strings.Repeat("]}}", 10000) + "]"
	tests := []struct {
		name    string
		path    string
		build   func() (string, []byte)
		status  int
		stored  []*original // instances stored, their pixel data compared with the original's
		reasons []int
	}{
		{name: "native and big endian pixel data", path: "/studies", build: func() (string, []byte) { return jsonPayload(t, ct, mr, emri) },
			status: 200, stored: []*original{ct, mr, emri}},
		{name: "JPEG Baseline frame", path: "/studies", build: func() (string, []byte) { return jsonPayload(t, jpg) }, status: 200, stored: []*original{jpg}},
		{name: "inline values, no multipart", path: "/studies", build: func() (string, []byte) {
			return dicomweb.MediaDICOMJSON, []byte("[" + string(ctJSON) + "]")
		}, status: 200, stored: []*original{ct}},
		{name: "study scoped, other study", path: "/studies/1.2.3", build: func() (string, []byte) { return jsonPayload(t, ct) },
			status: 409, reasons: []int{0xA900}},
		{name: "unresolved BulkDataURI", path: "/studies", build: func() (string, []byte) {
			return rawPayload(t, dicomweb.MediaDICOMJSON, `[{"00080016":{"vr":"UI","Value":["1.2.840.10008.5.1.4.1.1.7"]},"00080018":{"vr":"UI","Value":["1.2.3.4"]},`+
				`"7FE00010":{"vr":"OB","BulkDataURI":"http://elsewhere.example/x"}}]`)
		}, status: 409, reasons: []int{0xC000}},
		{name: "10,000 levels deep", path: "/studies", build: func() (string, []byte) { return rawPayload(t, dicomweb.MediaDICOMJSON, deep) }, status: 400},
		{name: "10,000 arrays deep", path: "/studies", build: func() (string, []byte) {
			return rawPayload(t, dicomweb.MediaDICOMJSON, strings.Repeat("[", 10000)+strings.Repeat("]", 10000))
		}, status: 400},
		{name: "malformed JSON", path: "/studies", build: func() (string, []byte) {
			return rawPayload(t, dicomweb.MediaDICOMJSON, `[{"00100010":{"vr":"PN","Value":[`)
		}, status: 400},
		{name: "malformed JSON, no multipart", path: "/studies", build: func() (string, []byte) { return dicomweb.MediaDICOMJSON, []byte(`[{"0010`) }, status: 400},
		{name: "not an array", path: "/studies", build: func() (string, []byte) { return rawPayload(t, dicomweb.MediaDICOMJSON, `{}`) }, status: 400},
		{name: "first part not JSON", path: "/studies", build: func() (string, []byte) { return rawPayload(t, dicomweb.MediaOctetStream, `[]`) }, status: 400},
		{name: "empty array", path: "/studies", build: func() (string, []byte) { return rawPayload(t, dicomweb.MediaDICOMJSON, `[]`) }, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arc := openArchive(t)
			srv := serve(t, arc, web.Options{})
			ctype, body := tt.build()
			start := time.Now()
			r := doURL(t, "POST", srv.URL+"/dicom-web"+tt.path, body, "Content-Type", ctype)
			if r.StatusCode != tt.status {
				t.Fatalf("%s, want %d: %s", r.Status, tt.status, r.body)
			}
			if d := time.Since(start); tt.status == http.StatusBadRequest && d > 2*time.Second {
				t.Fatalf("refused after %v", d)
			}
			if n := instances(t, arc); n != int64(len(tt.stored)) {
				t.Fatalf("%d instances stored, want %d", n, len(tt.stored))
			}
			if tt.reasons != nil {
				ds, err := dicomjson.Decode(bytes.NewReader(r.body), dicomjson.DecodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var reasons []int
				for _, it := range ds.Sequence(tag.FailedSOPSequence) {
					n, _ := it.Int(tag.FailureReason)
					reasons = append(reasons, int(n))
				}
				if len(reasons) != len(tt.reasons) || reasons[0] != tt.reasons[0] {
					t.Fatalf("failure reasons %04X, want %04X", reasons, tt.reasons)
				}
			}
			for _, o := range tt.stored {
				st, err := arc.Lookup(context.Background(), o.uid(tag.SOPInstanceUID))
				if err != nil {
					t.Fatal(err)
				}
				obj, err := arc.Open(context.Background(), st)
				if err != nil {
					t.Fatal(err)
				}
				got, err := dicom.Read(bytes.NewReader(readAll(t, obj)), dicom.ReadOptions{})
				obj.Close()
				if err != nil {
					t.Fatal(err)
				}
				want := o.file.Dataset.Element(tag.PixelData)
				px := got.Dataset.Element(tag.PixelData)
				if want.Fragments != nil {
					if got.TransferSyntax() != o.file.TransferSyntax() || px.Fragments == nil || !bytes.Equal(px.Fragments[1].Data, want.Fragments[1].Data) {
						t.Fatalf("stored in %s, pixel data differ", got.TransferSyntax())
					}
				} else if !bytes.Equal(px.Value, want.Value) {
					t.Fatalf("pixel data differ (%d bytes, want %d)", len(px.Value), len(want.Value))
				}
				if got.Dataset.String(tag.PatientName) != o.file.Dataset.String(tag.PatientName) {
					t.Fatalf("Patient's Name %q", got.Dataset.String(tag.PatientName))
				}
			}
		})
	}
}

func readAll(t *testing.T, obj interface{ Size() int64 }) []byte {
	t.Helper()
	ra, ok := obj.(interface {
		ReadAt([]byte, int64) (int, error)
	})
	if !ok {
		t.Fatal("blob is not a ReaderAt")
	}
	b := make([]byte, obj.Size())
	if _, err := ra.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}
