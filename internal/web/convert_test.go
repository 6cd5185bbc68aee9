package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/web"
	"github.com/lightbox-pacs/lightbox/render"
)

const explicitLE = dicom.ExplicitVRLittleEndian

// codecCorpus: one file per compressed transfer syntax, and uncompressed ones to compress.
var codecCorpus = []struct {
	file, ts string
}{
	{"pydicom-data__emri_small_RLE.dcm", "1.2.840.10008.1.2.5"},                              // RLE, 10 frames
	{"fo-dicom__GH064.dcm", "1.2.840.10008.1.2.4.90"},                                        // JPEG 2000 lossless
	{"cornerstone3D__TestPattern_JPEG-LS-Lossless.dcm", "1.2.840.10008.1.2.4.80"},            // JPEG-LS lossless, RGB
	{"DICOMHTJ2K__CT1_JPH.dcm", "1.2.840.10008.1.2.4.202"},                                   // HTJ2K lossless RPCL
	{"pydicom-data__HTJ2KLossless_08_RGB.dcm", "1.2.840.10008.1.2.4.201"},                    // HTJ2K lossless, RGB
	{"dcm4che__MR-JPEGLosslessSV1.dcm", "1.2.840.10008.1.2.4.70"},                            // JPEG lossless SV1
	{"dicomParser__CT0012.fragmented_no_bot_jpeg_lossless.57.dcm", "1.2.840.10008.1.2.4.57"}, // 2 frames, no BOT
	{"pylibjpeg-data__JPEGBaseline_1s_1f_u_08_08.dcm", "1.2.840.10008.1.2.4.50"},             // JPEG baseline (lossy)
	{"cornerstone3D__TestPattern_JPEG-Baseline_YBR422.dcm", "1.2.840.10008.1.2.4.50"},        // YBR_FULL_422, decoded to RGB
	{"pydicom__MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"},                               // Explicit VR Big Endian
	{"cornerstone3D__CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm", "1.2.840.10008.1.2.1.99"},
	{"dcm4che__will-jxl.dcm", "1.2.840.10008.1.2.4.111"}, // JPEG XL: no decoder
}

// losslessTargets are tried in order for the round trip through another syntax.
var losslessTargets = []string{"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.70"}

type codecFixture struct {
	base  string
	files map[string]*original
	rows  map[string]corpustest.Row
}

func newCodecFixture(t *testing.T, opts web.Options) *codecFixture {
	t.Helper()
	_, rows := corpustest.Manifest(t)
	arc := openArchive(t)
	srv := serve(t, arc, opts)
	fx := &codecFixture{base: srv.URL + "/dicom-web", files: map[string]*original{}, rows: map[string]corpustest.Row{}}
	for _, r := range rows {
		fx.rows[r.File()] = r
	}
	for _, c := range codecCorpus {
		o := readCorpusFile(t, c.file)
		f, err := dicom.Parse(o.raw, dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if f.Syntax.UID != c.ts {
			t.Fatalf("%s is in %s, not %s", c.file, f.Syntax.UID, c.ts)
		}
		if f.Dataset.String(tag.StudyInstanceUID) == "" {
			// The archive needs study and series: give them to a file that has none.
			f.Dataset.SetString(tag.StudyInstanceUID, vr.UI, "2.25.1001")
			f.Dataset.SetString(tag.SeriesInstanceUID, vr.UI, "2.25.1002")
			var buf bytes.Buffer
			if err := dicom.Write(&buf, f, dicom.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			o.raw = buf.Bytes()
			if f, err = dicom.Parse(o.raw, dicom.ReadOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		o.file = f
		if _, err := arc.StoreFile(context.Background(), bytes.NewReader(o.raw), "TEST"); err != nil {
			t.Fatalf("store %s: %v", c.file, err)
		}
		fx.files[c.file] = o
	}
	return fx
}

// decodedFrames decodes every frame of a corpus file read whole, through the registry (native
// frames are returned as they are), with the Image describing them.
func decodedFrames(t *testing.T, o *original) ([][]byte, codec.Image) {
	t.Helper()
	ds := o.file.Dataset
	im, _, err := codec.ImageOf(ds)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := codec.Frames(ds)
	if err != nil {
		t.Fatal(err)
	}
	ts := o.file.Syntax.UID
	if dicom.IsNative(ts) {
		return frames, im
	}
	out := make([][]byte, len(frames))
	var oim codec.Image
	for i, f := range frames {
		b, dim, err := codecs.Registry().Decode(ts, nil, f, im)
		if err != nil {
			t.Fatalf("decode frame %d: %v", i+1, err)
		}
		out[i], oim = b[:dim.FrameSize()], dim
	}
	return out, oim
}

// referenceDecoded renders frame n (from 1) of a compressed corpus file read whole and decoded
// through the registry.
func referenceDecoded(t *testing.T, o *original, n int, opts render.Options) image.Image {
	t.Helper()
	frames, im := decodedFrames(t, o)
	l, err := render.DescribeFrame(o.file.Dataset, &im, n-1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := l.Frame(frames[n-1], opts)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func frameList(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = strconv.Itoa(i + 1)
	}
	return strings.Join(s, ",")
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestConvertedFrames fetches the frames of each file uncompressed and compares them with the
// manifest's reference, fetches frame 1 in another lossless syntax and decodes it back, and
// compares the rendered frame with the frame decoded directly.
func TestConvertedFrames(t *testing.T) {
	fx := newCodecFixture(t, web.Options{})
	reg := codecs.Registry()
	for _, c := range codecCorpus {
		o := fx.files[c.file]
		row := fx.rows[c.file]
		path := fx.base + instancePath(o)
		t.Run(c.file, func(t *testing.T) {
			if !dicom.IsNative(c.ts) && !reg.CanDecode(c.ts) {
				r := doURL(t, "GET", path+"/frames/1", nil, "Accept", `multipart/related; type="application/octet-stream"; transfer-syntax=`+explicitLE)
				if r.StatusCode != http.StatusNotAcceptable || !strings.Contains(string(r.body), c.ts) {
					t.Fatalf("undecodable %s: %s %s", c.ts, r.Status, r.body)
				}
				r = doURL(t, "GET", path+"/rendered", nil)
				if r.StatusCode != http.StatusNotAcceptable || !strings.Contains(string(r.body), c.ts) {
					t.Fatalf("undecodable %s rendered: %s %s", c.ts, r.Status, r.body)
				}
				t.Skipf("this build cannot decode %s: answered 406", c.ts)
			}
			want, im := decodedFrames(t, o)
			n := len(want)

			// Every frame, uncompressed.
			r := doURL(t, "GET", path+"/frames/"+frameList(n), nil, "Accept", `multipart/related; type="application/octet-stream"; transfer-syntax=`+explicitLE)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("uncompressed: %s %s", r.Status, r.body)
			}
			types, bodies := parts(t, r)
			if len(bodies) != n {
				t.Fatalf("%d parts, want %d", len(bodies), n)
			}
			var all []byte
			for i, b := range bodies {
				if types[i] != "application/octet-stream; transfer-syntax="+explicitLE {
					t.Fatalf("part type %q", types[i])
				}
				if !bytes.Equal(b, want[i]) {
					t.Fatalf("frame %d: %d bytes differ from the registry's decoding (%d bytes)", i+1, len(b), len(want[i]))
				}
				all = append(all, b...)
			}
			size, err := strconv.Atoi(row["pixel_bytes"])
			switch {
			case err != nil || size > len(all):
				t.Logf("no reference of %q bytes: compared with the registry's decoding", row["pixel_bytes"])
			case sha(all[:size]) == row["pixel_sha256"]:
				t.Logf("%s: the frames match the manifest's SHA-256", c.ts)
			case row["ref_exact"] == "yes":
				t.Fatalf("SHA-256 of the frames %s, manifest %s", sha(all[:size]), row["pixel_sha256"])
			default:
				t.Logf("%s: lossy reference (ref_exact=%q) differs: compared with the registry's decoding", c.ts, row["ref_exact"])
			}

			// Frame 1 in another lossless syntax, decoded back.
			target := ""
			for _, ts := range losslessTargets {
				if ts != c.ts && reg.CanEncode(ts) {
					target = ts
					break
				}
			}
			if target == "" {
				t.Logf("no lossless encoder in this build")
			} else {
				media := dicomweb.TransferSyntaxMediaType(target)
				r = doURL(t, "GET", path+"/frames/1", nil, "Accept", `multipart/related; type="`+media+`"; transfer-syntax=`+target)
				if r.StatusCode != http.StatusOK {
					t.Fatalf("%s: %s %s", target, r.Status, r.body)
				}
				types, bodies = parts(t, r)
				if len(bodies) != 1 || types[0] != media+"; transfer-syntax="+target {
					t.Fatalf("%s: %d parts %q", target, len(bodies), types)
				}
				back, bim, err := reg.Decode(target, nil, bodies[0], im)
				if err != nil {
					t.Fatalf("decode the %s frame: %v", target, err)
				}
				if !bytes.Equal(back[:bim.FrameSize()], want[0]) {
					t.Fatalf("frame 1 through %s differs", target)
				}
			}

			// Rendered: identical to rendering the frame decoded directly.
			r = doURL(t, "GET", path+"/rendered", nil, "Accept", "image/png")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("rendered: %s %s", r.Status, r.body)
			}
			samePixels(t, decodeImage(t, render.PNG, r.body), referenceDecoded(t, o, 1, render.Options{}))
			mid := (n + 1) / 2
			r = doURL(t, "GET", path+"/thumbnail", nil, "Accept", "image/png")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("thumbnail: %s %s", r.Status, r.body)
			}
			samePixels(t, decodeImage(t, render.PNG, r.body), referenceDecoded(t, o, mid, render.Options{Size: image.Pt(128, 128)}))
		})
	}
}

// TestFramesNegotiation checks the choice of the frames' encoding (PS3.18 8.7.3.5, Table
// 8.7.3-5).
func TestFramesNegotiation(t *testing.T) {
	fx := newCodecFixture(t, web.Options{})
	reg := codecs.Registry()
	rle := fx.files["pydicom-data__emri_small_RLE.dcm"]
	j2k := fx.files["fo-dicom__GH064.dcm"]
	jls := fx.files["cornerstone3D__TestPattern_JPEG-LS-Lossless.dcm"]
	tests := []struct {
		name   string
		o      *original
		accept string
		status int
		part   string   // the parts' Content-Type
		needs  []string // transfer syntaxes the build must decode (the stored one) and encode (the target)
	}{
		{name: "as stored", o: rle, accept: `multipart/related; type="application/octet-stream"; transfer-syntax=*`, status: 200,
			part: "image/dicom-rle; transfer-syntax=1.2.840.10008.1.2.5"},
		{name: "uncompressed by default", o: rle, accept: `multipart/related; type="application/octet-stream"`, status: 200,
			part: "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", needs: []string{"1.2.840.10008.1.2.5", ""}},
		{name: "implicit VR little endian", o: j2k, accept: `multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2`, status: 200,
			part: "application/octet-stream; transfer-syntax=1.2.840.10008.1.2", needs: []string{"1.2.840.10008.1.2.4.90", ""}},
		{name: "image/jpeg: the lossless default", o: rle, accept: `multipart/related; type="image/jpeg"`, status: 200,
			part: "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.70", needs: []string{"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.70"}},
		{name: "image/jp2 with *", o: rle, accept: `multipart/related; type="image/jp2"; transfer-syntax=*`, status: 200,
			part: "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90", needs: []string{"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.90"}},
		{name: "lossy when named", o: jls, accept: `multipart/related; type="image/jls"; transfer-syntax=1.2.840.10008.1.2.4.81`, status: 200,
			part: "image/jls; transfer-syntax=1.2.840.10008.1.2.4.81", needs: []string{"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}},
		{name: "image/x-dicom-rle", o: j2k, accept: `multipart/related; type="image/x-dicom-rle"`, status: 200,
			part: "image/x-dicom-rle; transfer-syntax=1.2.840.10008.1.2.5", needs: []string{"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5"}},
		{name: "stored preferred among several", o: j2k, accept: `multipart/related; type="image/jls", multipart/related; type="image/jp2"`, status: 200,
			part: "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90"},
		{name: "syntax of another media type", o: j2k, accept: `multipart/related; type="image/jp2"; transfer-syntax=1.2.840.10008.1.2.4.80`, status: 406},
		{name: "no encoder", o: j2k, accept: `multipart/related; type="image/jphc"; transfer-syntax=1.2.840.10008.1.2.4.201`, status: 406},
		{name: "big endian is not a syntax of frames", o: j2k, accept: `multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.2`, status: 406},
		{name: "unknown media type", o: j2k, accept: `multipart/related; type="image/gif"`, status: 406},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.needs) == 2 && (!reg.CanDecode(tt.needs[0]) || tt.needs[1] != "" && !reg.CanEncode(tt.needs[1])) {
				t.Skipf("this build cannot convert %s to %s", tt.needs[0], tt.needs[1])
			}
			if tt.name == "no encoder" && reg.CanEncode("1.2.840.10008.1.2.4.201") {
				t.Skip("this build encodes HTJ2K lossless")
			}
			r := doURL(t, "GET", fx.base+instancePath(tt.o)+"/frames/1", nil, "Accept", tt.accept)
			if r.StatusCode != tt.status {
				t.Fatalf("%s, want %d: %s", r.Status, tt.status, r.body)
			}
			if tt.status != http.StatusOK {
				if !strings.Contains(string(r.body), "available") {
					t.Fatalf("message %q does not say what is available", r.body)
				}
				return
			}
			types, bodies := parts(t, r)
			if len(bodies) != 1 || types[0] != tt.part {
				t.Fatalf("%d parts %q, want %q", len(bodies), types, tt.part)
			}
		})
	}
}

// TestConvertedInstances retrieves instances in another transfer syntax than the stored one.
func TestConvertedInstances(t *testing.T) {
	fx := newCodecFixture(t, web.Options{})
	reg := codecs.Registry()
	j2k := fx.files["fo-dicom__GH064.dcm"]
	be := fx.files["pydicom__MR_small_bigendian.dcm"]
	if !reg.CanDecode(j2k.file.Syntax.UID) || !reg.CanEncode(j2k.file.Syntax.UID) {
		t.Skipf("this build has no JPEG 2000 codec")
	}
	// check parses a Part 10 file sent in ts and compares its pixels with the original's.
	check := func(t *testing.T, b []byte, o *original, ts string) {
		t.Helper()
		f, err := dicom.Parse(b, dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if f.Syntax.UID != ts || f.Meta.String(tag.TransferSyntaxUID) != ts {
			t.Fatalf("syntax %s, File Meta %q, want %s", f.Syntax.UID, f.Meta.String(tag.TransferSyntaxUID), ts)
		}
		if f.Dataset.String(tag.SOPInstanceUID) != o.uid(tag.SOPInstanceUID) {
			t.Fatalf("SOP Instance UID %q", f.Dataset.String(tag.SOPInstanceUID))
		}
		want, _ := decodedFrames(t, o)
		got, _ := decodedFrames(t, &original{file: f})
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("frame %d differs", i+1)
			}
		}
	}
	dcm := func(ts string) string { return `multipart/related; type="application/dicom"; transfer-syntax=` + ts }
	t.Run("JPEG 2000 as Explicit VR Little Endian", func(t *testing.T) {
		for _, p := range []string{instancePath(j2k), "/studies/" + j2k.uid(tag.StudyInstanceUID), "/studies/" + j2k.uid(tag.StudyInstanceUID) + "/series/" + j2k.uid(tag.SeriesInstanceUID)} {
			r := doURL(t, "GET", fx.base+p, nil, "Accept", dcm(explicitLE))
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s %s", p, r.Status, r.body)
			}
			types, bodies := parts(t, r)
			if len(bodies) != 1 || types[0] != "application/dicom; transfer-syntax="+explicitLE {
				t.Fatalf("%s: %d parts %q", p, len(bodies), types)
			}
			check(t, bodies[0], j2k, explicitLE)
		}
	})
	t.Run("single part", func(t *testing.T) {
		r := doURL(t, "GET", fx.base+instancePath(j2k), nil, "Accept", "application/dicom; transfer-syntax="+explicitLE)
		if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/dicom; transfer-syntax="+explicitLE {
			t.Fatalf("%s %q", r.Status, r.Header.Get("Content-Type"))
		}
		check(t, r.body, j2k, explicitLE)
	})
	t.Run("big endian to JPEG 2000", func(t *testing.T) {
		ts := "1.2.840.10008.1.2.4.90"
		r := doURL(t, "GET", fx.base+instancePath(be), nil, "Accept", dcm(ts))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s %s", r.Status, r.body)
		}
		_, bodies := parts(t, r)
		check(t, bodies[0], be, ts)
	})
	t.Run("stored syntax preferred", func(t *testing.T) {
		r := doURL(t, "GET", fx.base+instancePath(j2k), nil, "Accept", dcm(explicitLE)+", "+dcm(j2k.file.Syntax.UID))
		types, bodies := parts(t, r)
		if r.StatusCode != http.StatusOK || len(bodies) != 1 || types[0] != "application/dicom; transfer-syntax="+j2k.file.Syntax.UID ||
			!bytes.Equal(dataset(t, bodies[0]), j2k.raw[j2k.file.DatasetOffset:]) {
			t.Fatalf("%s %q: not the stored file", r.Status, types)
		}
	})
	t.Run("no encoder", func(t *testing.T) {
		if reg.CanEncode("1.2.840.10008.1.2.4.201") {
			t.Skip("this build encodes HTJ2K lossless")
		}
		r := doURL(t, "GET", fx.base+instancePath(j2k), nil, "Accept", dcm("1.2.840.10008.1.2.4.201"))
		if r.StatusCode != http.StatusNotAcceptable || !strings.Contains(string(r.body), "1.2.840.10008.1.2.4.201") {
			t.Fatalf("%s %s", r.Status, r.body)
		}
	})
	t.Run("WADO-URI", func(t *testing.T) {
		v := url.Values{"requestType": {"WADO"}, "studyUID": {j2k.uid(tag.StudyInstanceUID)}, "seriesUID": {j2k.uid(tag.SeriesInstanceUID)},
			"objectUID": {j2k.uid(tag.SOPInstanceUID)}, "contentType": {"application/dicom"}, "transferSyntax": {explicitLE}}
		r := doURL(t, "GET", fx.base+"/wado?"+v.Encode(), nil)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s %s", r.Status, r.body)
		}
		check(t, r.body, j2k, explicitLE)
	})
	t.Run("size bound", func(t *testing.T) {
		small := newCodecFixture(t, web.Options{MaxConvertBytes: 1024})
		r := doURL(t, "GET", small.base+instancePath(j2k), nil, "Accept", dcm(explicitLE))
		if r.StatusCode != http.StatusNotAcceptable || !strings.Contains(string(r.body), "1024 bytes") {
			t.Fatalf("%s %s", r.Status, r.body)
		}
		// As stored, the size does not matter.
		if r := doURL(t, "GET", small.base+instancePath(j2k), nil, "Accept", dcm("*")); r.StatusCode != http.StatusOK {
			t.Fatalf("as stored: %s", r.Status)
		}
	})
}
