package transcode_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/transcode"
)

// lossless lists the lossless compressed syntaxes a round trip is tried in.
var lossless = []string{
	"1.2.840.10008.1.2.5",     // RLE
	"1.2.840.10008.1.2.4.70",  // JPEG lossless SV1
	"1.2.840.10008.1.2.4.80",  // JPEG-LS lossless
	"1.2.840.10008.1.2.4.90",  // JPEG 2000 lossless
	"1.2.840.10008.1.2.4.202", // HTJ2K lossless RPCL
	"1.2.840.10008.1.2.8.1",   // Deflated Image Frame Compression
}

// nativePixels decodes every frame of f to native and returns the first n bytes of its Pixel
// Data, colour by pixel (the round trip may change the Planar Configuration; the pixels stay).
func nativePixels(t *testing.T, f *dicom.File, n int) []byte {
	t.Helper()
	back, err := transcode.File(f, dicom.ExplicitVRLittleEndian, transcode.Options{Registry: codecs.Registry()})
	if err != nil {
		t.Fatalf("to native: %v", err)
	}
	px := back.Dataset.Element(tag.PixelData)
	if px == nil || len(px.Value) < n {
		t.Fatalf("native Pixel Data missing or short")
	}
	im, frames, err := codec.ImageOf(back.Dataset)
	if err != nil {
		t.Fatal(err)
	}
	b := px.Value[:n]
	if im.SamplesPerPixel == 3 && im.PlanarConfiguration == 1 && im.BitsAllocated >= 8 {
		b = interleave(b, im, frames)
	}
	return b
}

// interleave turns colour-by-plane frames into colour-by-pixel ones.
func interleave(b []byte, im codec.Image, frames int) []byte {
	bps := im.BitsAllocated / 8
	px := im.Rows * im.Columns
	out := make([]byte, len(b))
	for f := 0; f < frames; f++ {
		base := f * px * 3 * bps
		if base+px*3*bps > len(b) {
			break
		}
		for i := 0; i < px; i++ {
			for s := 0; s < 3; s++ {
				copy(out[base+(i*3+s)*bps:base+(i*3+s+1)*bps], b[base+(s*px+i)*bps:base+(s*px+i+1)*bps])
			}
		}
	}
	return out
}

// TestRoundTripCorpus transcodes uncompressed corpus images into every lossless syntax this
// build can encode, writes and reads the file back, decodes it to native, and compares the
// pixels with the manifest's reference hash.
func TestRoundTripCorpus(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	reg := codecs.Registry()
	var tried, passed int
	for _, ts := range lossless {
		if !reg.CanEncode(ts) || !reg.CanDecode(ts) {
			t.Logf("%s: this build cannot encode and decode it: not tried", ts)
			continue
		}
		for _, r := range rows {
			if r.Malformed() || r["ref_exact"] != "yes" || r["pixel_element"] != "(7FE0,0010)" ||
				!dicom.IsNative(r["transfer_syntax_uid"]) || r["transfer_syntax_uid"] == "" {
				continue
			}
			if r["photometric"] == "YBR_FULL_422" || r["bits_allocated"] == "1" {
				continue // native 4:2:2 and 1-bit frames are not input the encoders take
			}
			n, err := strconv.Atoi(r["pixel_bytes"])
			if err != nil {
				continue
			}
			t.Run(ts+"/"+r.File(), func(t *testing.T) {
				f, err := dicom.ReadFile(filepath.Join(dir, r.File()), dicom.ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				tried++
				enc, err := transcode.File(f, ts, transcode.Options{Registry: reg})
				if errors.Is(err, codec.ErrUnsupported) {
					t.Skipf("encoder does not take this image: %v", err)
				}
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				var buf bytes.Buffer
				if err := dicom.Write(&buf, enc, dicom.WriteOptions{}); err != nil {
					t.Fatalf("write: %v", err)
				}
				back, err := dicom.Parse(buf.Bytes(), dicom.ReadOptions{})
				if err != nil {
					t.Fatalf("read back: %v", err)
				}
				if back.Syntax.UID != ts {
					t.Fatalf("syntax read back %s, want %s", back.Syntax.UID, ts)
				}
				want := nativePixels(t, f, n)
				if sum := sha256.Sum256(px(f, n)); hex.EncodeToString(sum[:]) != r["pixel_sha256"] {
					t.Fatalf("the source's pixels do not match the manifest")
				}
				if got := nativePixels(t, back, n); !bytes.Equal(got, want) {
					t.Fatalf("pixels changed in a %s round trip", ts)
				}
				passed++
			})
		}
	}
	t.Logf("%d round trips tried, %d bit-exact", tried, passed)
}

func TestLossyRefused(t *testing.T) {
	dir := corpustest.Need(t)
	f, err := dicom.ReadFile(filepath.Join(dir, "pydicom__CT_small.dcm"), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = transcode.File(f, "1.2.840.10008.1.2.4.50", transcode.Options{Registry: codecs.Registry()})
	if !errors.Is(err, transcode.ErrLossy) {
		t.Fatalf("lossy target without AllowLossy: got %v, want ErrLossy", err)
	}
}

func TestNativeToNativeKeepsPixels(t *testing.T) {
	dir := corpustest.Need(t)
	f, err := dicom.ReadFile(filepath.Join(dir, "pydicom__CT_small.dcm"), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRBigEndian, dicom.DeflatedExplicitVRLittleEndian} {
		out, err := transcode.File(f, ts, transcode.Options{Registry: codecs.Registry()})
		if err != nil {
			t.Fatalf("%s: %v", ts, err)
		}
		var buf bytes.Buffer
		if err := dicom.Write(&buf, out, dicom.WriteOptions{}); err != nil {
			t.Fatalf("%s: write: %v", ts, err)
		}
		back, err := dicom.Parse(buf.Bytes(), dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: read: %v", ts, err)
		}
		if d := dicom.DiffValues(f.Dataset, back.Dataset); d != "" {
			t.Fatalf("%s: data set changed: %s", ts, d)
		}
	}
}

// px returns the first n bytes of f's Pixel Data value.
func px(f *dicom.File, n int) []byte {
	e := f.Dataset.Element(tag.PixelData)
	if e == nil || len(e.Value) < n {
		return nil
	}
	return e.Value[:n]
}

// TestFileDropsMetaInDataset: File Meta elements a sender left in the data set are dropped from
// the converted file (which then writes and reads back), and the caller's data set keeps them.
func TestFileDropsMetaInDataset(t *testing.T) {
	ds := dicom.NewDataset()
	ds.SetString(tag.ImplementationVersionName, vr.SH, "SENDER")
	ds.SetString(tag.SOPClassUID, vr.UI, "1.2.840.10008.5.1.4.1.1.7")
	ds.SetString(tag.SOPInstanceUID, vr.UI, "1.2.3.4")
	ds.SetString(tag.PatientID, vr.LO, "P1")
	f := &dicom.File{Dataset: ds, Syntax: dicom.SyntaxOf(dicom.ImplicitVRLittleEndian)}
	for _, to := range []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian} {
		out, err := transcode.File(f, to, transcode.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := dicom.Write(&buf, out, dicom.WriteOptions{}); err != nil {
			t.Fatalf("to %s: %v", to, err)
		}
		back, err := dicom.Parse(buf.Bytes(), dicom.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if back.Dataset.Has(tag.ImplementationVersionName) || back.Dataset.String(tag.PatientID) != "P1" {
			t.Fatalf("to %s: data set read back: %v", to, back.Dataset.Elements)
		}
	}
	if !ds.Has(tag.ImplementationVersionName) {
		t.Fatal("the caller's data set lost its group 0002 element")
	}
}
