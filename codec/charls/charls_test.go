//go:build cgo && !nocgocodecs

package charls

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func readFrames(t testing.TB, path string) ([][]byte, codec.Image, error) {
	t.Helper()
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		return nil, codec.Image{}, err
	}
	im, _, err := codec.ImageOf(f.Dataset)
	if err != nil {
		return nil, im, err
	}
	frames, err := codec.Frames(f.Dataset)
	return frames, im, err
}

// TestCorpus decodes every JPEG-LS corpus row and compares the pixels with the reference hash.
func TestCorpus(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	syntaxes := []string{JPEGLSLossless, JPEGLSNearLossless}
	exact, total := map[string]int{}, map[string]int{}
	for _, r := range rows {
		ts := r["transfer_syntax_uid"]
		if !slices.Contains(syntaxes, ts) {
			continue
		}
		t.Run(r.File(), func(t *testing.T) {
			frames, im, err := readFrames(t, corpustest.Path(dir, r.File()))
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			total[ts]++
			var all, buf []byte
			for i, fr := range frames {
				var out codec.Image
				buf, out, err = Decode(buf, fr, im)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if out.Photometric != r["ref_photometric"] {
					t.Errorf("photometric %s, reference %s", out.Photometric, r["ref_photometric"])
				}
				all = append(all, buf...)
			}
			n, _ := strconv.Atoi(r["pixel_bytes"])
			if len(all) < n || sha(all[:n]) != r["pixel_sha256"] {
				t.Fatalf("pixels differ from the reference")
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

// TestRoundTrip encodes every native corpus frame the encoder takes, lossless and near-lossless
// (NEAR 2), and checks that decoding gives the same bytes (within NEAR); when dcmdjpls is
// installed, it decodes a DICOM file of each lossless frame too.
func TestRoundTrip(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	tool, toolErr := exec.LookPath("dcmdjpls")
	if toolErr != nil {
		t.Logf("dcmdjpls not installed: reference-tool check skipped")
	}
	tmp := t.TempDir()
	encoded, checked := 0, 0
	for _, r := range rows {
		if r.Malformed() {
			continue
		}
		f, err := dicom.ReadFile(corpustest.Path(dir, r.File()), dicom.ReadOptions{})
		if err != nil || !dicom.IsNative(f.TransferSyntax()) {
			continue
		}
		im, _, err := codec.ImageOf(f.Dataset)
		if err != nil || im.BitsAllocated == 1 {
			continue
		}
		frames, err := codec.Frames(f.Dataset)
		if err != nil {
			continue
		}
		for i, fr := range frames[:min(len(frames), 3)] {
			t.Run(r.File()+"#"+strconv.Itoa(i), func(t *testing.T) {
				cs, enc, err := EncodeLossless(nil, fr, im, codec.EncodeOptions{})
				if errors.Is(err, codec.ErrUnsupported) {
					t.Skipf("encoder does not take this frame: %v", err)
				}
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				want := interleave(fr[:im.FrameSize()], im)
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

// interleave turns a colour-by-plane frame into colour by pixel.
func interleave(b []byte, im codec.Image) []byte {
	if im.SamplesPerPixel == 1 || im.PlanarConfiguration == 0 {
		return b
	}
	bps := im.BitsAllocated / 8
	px := im.Rows * im.Columns
	out := make([]byte, px*im.SamplesPerPixel*bps)
	for c := range im.SamplesPerPixel {
		for i := range px {
			copy(out[(i*im.SamplesPerPixel+c)*bps:][:bps], b[(c*px+i)*bps:][:bps])
		}
	}
	return out
}
