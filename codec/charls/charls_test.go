//go:build cgo && !nocgocodecs

package charls

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/cpuclock"
)

// TestCorpus decodes every JPEG-LS corpus row and compares the pixels with the reference hash.
func TestCorpus(t *testing.T) {
	syntaxes := []string{JPEGLSLossless, JPEGLSNearLossless}
	dir, rows := codectest.Rows(t, syntaxes...)
	exact, total := map[string]int{}, map[string]int{}
	for _, r := range rows {
		ts := r["transfer_syntax_uid"]
		t.Run(r.File(), func(t *testing.T) {
			frames, im, err := codectest.ReadFrames(corpustest.Path(dir, r.File()))
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			total[ts]++
			all, out, err := codectest.DecodeFrames(Decode, frames, im)
			if err != nil {
				t.Fatal(err)
			}
			if out.Photometric != r["ref_photometric"] {
				t.Errorf("photometric %s, reference %s", out.Photometric, r["ref_photometric"])
			}
			if err := codectest.PixelsMatch(r, all); err != nil {
				t.Fatalf("pixels differ from the reference: %v", err)
			}
			exact[ts]++
		})
	}
	for _, ts := range syntaxes {
		t.Logf("%s: %d of %d rows exact", ts, exact[ts], total[ts])
	}
}

// TestHostile checks that broken or lying headers fail with an error.
func TestHostile(t *testing.T) {
	im := codec.Image{Rows: 64, Columns: 64, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	sof := func(bits, h, w, comps int) []byte {
		return []byte{0xFF, 0xD8, 0xFF, 0xF7, 0, 11, byte(bits), byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps), 1, 0x11, 0}
	}
	tests := []struct {
		name string
		src  []byte
	}{
		{"empty", nil},
		{"no SOI", make([]byte, 64)},
		{"65535 square", append(sof(16, 65535, 65535, 1), make([]byte, 240)...)},
		{"17 bits", append(sof(17, 64, 64, 1), make([]byte, 240)...)},
		{"3 components", append(sof(16, 64, 64, 3), make([]byte, 240)...)},
		{"segment past the end", []byte{0xFF, 0xD8, 0xFF, 0xF7, 0xFF, 0xFF, 8}},
		{"header only", sof(16, 64, 64, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Decode(nil, tt.src, im); !errors.Is(err, codec.ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestScanRunsOut decodes a 64×64 16-bit stream whose scan data stops without a marker where a
// corrupt code has left CharLS's bit reader owing bits: it fails at once, where CharLS 2.4 alone
// counts down the int32 range (seconds) at the end of the buffer (fuzz input 581fac6b378af91b).
func TestScanRunsOut(t *testing.T) {
	src := []byte{
		0xff, 0xd8, 0xff, 0xf7, 0x00, 0x0b, 0x10, 0x00, 0x40, 0x00, 0x40, 0x01, 0x01, 0x11, 0x00, // SOI, SOF55
		0xff, 0xf8, 0x00, 0x0d, 0x01, 0xff, 0xff, 0x00, 0x12, 0x00, 0x43, 0x01, 0x14, 0x00, 0x40, // LSE
		0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, // SOS
		0x43, 0xd8, 0x5d, 0x1a, 0xe1, 0x2c, 0x68, 0x9c, 0x63, 0x4d, 0x05, 0x35, 0x40, 0x32, 0x59, 0xa4,
		0x08, 0x87, 0x75, 0xf3, 0xf8, 0x3c, 0x0a, 0x29, 0x41, 0x8e, 0xc8, 0xda, 0xc4, 0xca, 0x40, 0xc9,
		0x5f, 0x4d, 0x40, 0x44, 0xcb, 0xcb, 0x67,
	}
	im := codec.Image{Rows: 64, Columns: 64, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	start := cpuclock.Now()
	if _, _, err := Decode(nil, src, im); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
	if took := cpuclock.Since(start); took > 250*time.Millisecond {
		t.Fatalf("took %v of CPU time", took)
	}
}

// TestEndWithEOI: a stream that ends with EOI, padded or not, is decoded in place; any other
// gets one.
func TestEndWithEOI(t *testing.T) {
	for _, src := range [][]byte{{0xFF, 0xD8, 1, 0xFF, 0xD9}, {0xFF, 0xD8, 1, 0xFF, 0xD9, 0}} {
		if got := endWithEOI(src); &got[0] != &src[0] || len(got) != len(src) {
			t.Errorf("% x was copied", src)
		}
	}
	for _, src := range [][]byte{nil, {0xD9}, {0xFF, 0xD8, 1, 2}, {0xFF, 0xD8, 0xFF, 0xD9, 1}, {0xFF, 0xD9, 0, 0}} {
		if got := endWithEOI(src); !bytes.Equal(got, append(bytes.Clone(src), 0xFF, 0xD9)) {
			t.Errorf("% x: got % x", src, got)
		}
	}
}

// TestRoundTrip encodes every native corpus frame the encoder takes, lossless and near-lossless
// (NEAR 2), and checks that decoding gives the same bytes (within NEAR); when dcmdjpls is
// installed, it decodes a DICOM file of each lossless frame too.
func TestRoundTrip(t *testing.T) {
	frames := codectest.RoundTripFrames(t, false)
	tool, toolErr := exec.LookPath("dcmdjpls")
	if toolErr != nil {
		t.Logf("dcmdjpls not installed: reference-tool check skipped")
	}
	tmp := t.TempDir()
	encoded, checked := 0, 0
	for _, nf := range frames {
		im, fr := nf.Image, nf.Data
		t.Run(nf.Name, func(t *testing.T) {
			cs, enc, err := EncodeLossless(nil, fr, im, codec.EncodeOptions{})
			if errors.Is(err, codec.ErrUnsupported) {
				t.Skipf("encoder does not take this frame: %v", err)
			}
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			want := codectest.Planar(fr[:im.FrameSize()], im, 0)
			got, _, err := Decode(nil, cs, enc)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("lossless round trip differs (%+v)", im)
			}
			encoded++
			near, nenc, err := EncodeNearLossless(nil, fr, im, codec.EncodeOptions{NearLossless: 2})
			if err != nil {
				t.Fatalf("near-lossless encode: %v", err)
			}
			if got, _, err = Decode(nil, near, nenc); err != nil {
				t.Fatalf("near-lossless decode: %v", err)
			}
			if d := maxDiff(got, want, im.BitsAllocated); d > 2 {
				t.Fatalf("near-lossless (NEAR 2) differs by %d", d)
			}
			if toolErr != nil {
				return
			}
			got, err = dcmdjpls(tool, filepath.Join(tmp, "f"), cs, enc)
			if err != nil {
				t.Fatalf("dcmdjpls: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("dcmdjpls decodes different pixels")
			}
			checked++
		})
	}
	t.Logf("%d frames encoded and decoded bit-exact, %d also by dcmdjpls", encoded, checked)
}

func maxDiff(a, b []byte, bitsAllocated int) int {
	d := 0
	for i := 0; i < len(a) && i < len(b); i += bitsAllocated / 8 {
		x, y := int(a[i]), int(b[i])
		if bitsAllocated == 16 {
			x, y = x|int(a[i+1])<<8, y|int(b[i+1])<<8
		}
		d = max(d, x-y, y-x)
	}
	return d
}

// dcmdjpls writes a single-frame JPEG-LS DICOM file of cs, decodes it with dcmdjpls and
// returns the Pixel Data of the result.
func dcmdjpls(tool, base string, cs []byte, im codec.Image) ([]byte, error) {
	ds := dicom.NewDataset()
	set := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	set(ds.SetString(tag.SOPClassUID, vr.UI, "1.2.840.10008.5.1.4.1.1.7"))
	set(ds.SetString(tag.SOPInstanceUID, vr.UI, "1.2.826.0.1.3680043.10.1471.99.1"))
	set(ds.SetString(tag.Modality, vr.CS, "OT"))
	set(ds.SetInts(tag.SamplesPerPixel, vr.US, int64(im.SamplesPerPixel)))
	set(ds.SetString(tag.PhotometricInterpretation, vr.CS, im.Photometric))
	if im.SamplesPerPixel > 1 {
		set(ds.SetInts(tag.PlanarConfiguration, vr.US, 0))
	}
	set(ds.SetInts(tag.Rows, vr.US, int64(im.Rows)))
	set(ds.SetInts(tag.Columns, vr.US, int64(im.Columns)))
	set(ds.SetInts(tag.BitsAllocated, vr.US, int64(im.BitsAllocated)))
	set(ds.SetInts(tag.BitsStored, vr.US, int64(im.BitsStored)))
	set(ds.SetInts(tag.HighBit, vr.US, int64(im.BitsStored-1)))
	set(ds.SetInts(tag.PixelRepresentation, vr.US, int64(im.PixelRepresentation)))
	ds.Set(codec.Encapsulate([][]byte{cs}))
	in, out := base+".jls.dcm", base+".raw.dcm"
	f := &dicom.File{Dataset: ds, Syntax: dicom.SyntaxOf(JPEGLSLossless)}
	if err := dicom.WriteFile(in, f, dicom.WriteOptions{}); err != nil {
		return nil, err
	}
	if b, err := exec.Command(tool, in, out).CombinedOutput(); err != nil {
		return nil, errors.New(err.Error() + ": " + strings.TrimSpace(string(b)))
	}
	res, err := dicom.ReadFile(out, dicom.ReadOptions{})
	if err != nil {
		return nil, err
	}
	px := res.Dataset.Element(tag.PixelData)
	if px == nil {
		return nil, errors.New("no Pixel Data in the decoded file")
	}
	return px.Value[:min(len(px.Value), int(im.FrameSize()))], nil
}
