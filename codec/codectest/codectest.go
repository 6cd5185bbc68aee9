// Package codectest holds test helpers shared by the codec packages: the corpus rows of given
// transfer syntaxes, decoding a whole file through a codec.Registry or a codec.Decoder,
// comparison with the manifest's reference pixel hash, native frames to encode, and DCMTK
// tools run on files a test wrote.
//
// The reference hashes of the corpus (see its README, "How the reference pixel hashes were
// made") cover the first pixel_bytes bytes of the decoded Pixel Data: frames concatenated, little
// endian, colour by pixel unless ref_planar is 1, and frames of Bits Allocated 1 packed back to
// back without byte alignment. Join and PixelsMatch follow those rules.
package codectest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// Native transfer syntaxes of the corpus rows NativeRows returns.
var nativeSyntaxes = []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian}

// Rows returns the corpus directory and the manifest rows whose transfer syntax is one of ts
// (every row when ts is empty). It skips the test when the corpus is absent.
func Rows(tb testing.TB, ts ...string) (dir string, rows []corpustest.Row) {
	tb.Helper()
	dir, all := corpustest.Manifest(tb)
	for _, r := range all {
		if len(ts) == 0 || contains(ts, r["transfer_syntax_uid"]) {
			rows = append(rows, r)
		}
	}
	return dir, rows
}

// NativeRows returns the rows of uncompressed files (Implicit and Explicit VR Little Endian,
// Explicit VR Big Endian) that are not malformed and have a reference hash.
func NativeRows(tb testing.TB) (dir string, rows []corpustest.Row) {
	tb.Helper()
	dir, all := Rows(tb, nativeSyntaxes...)
	for _, r := range all {
		if !r.Malformed() && HasReference(r) {
			rows = append(rows, r)
		}
	}
	return dir, rows
}

// HasReference reports whether the row has a usable reference hash (ref_status ok).
func HasReference(r corpustest.Row) bool {
	return strings.HasPrefix(r["ref_status"], "ok") && r["pixel_sha256"] != ""
}

// Exact reports whether a correct decoder must reproduce the row's reference bit for bit.
func Exact(r corpustest.Row) bool { return r["ref_exact"] == "yes" }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Decoded is a file decoded frame by frame.
type Decoded struct {
	// In is the Image the data set declares, Out the one the decoder returned for its frames.
	In, Out codec.Image
	// Frames is the number of frames.
	Frames int
	// Pixels holds the decoded frames joined as the reference hashes expect (see Join).
	Pixels []byte
}

// ReadFile reads a whole file into memory.
func ReadFile(path string) (*dicom.File, error) {
	return dicom.ReadFile(path, dicom.ReadOptions{})
}

// DecodeFile reads path and decodes every frame of its Pixel Data with the codec r registers for
// the file's transfer syntax.
func DecodeFile(path string, r *codec.Registry) (Decoded, error) {
	f, err := ReadFile(path)
	if err != nil {
		return Decoded{}, err
	}
	ts := f.TransferSyntax()
	return DecodeDataset(f.Dataset, codec.DecoderFunc(func(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
		return r.Decode(ts, dst, src, in)
	}))
}

// DecodeFileWith reads path and decodes every frame of its Pixel Data with dec.
func DecodeFileWith(path string, dec codec.Decoder) (Decoded, error) {
	f, err := ReadFile(path)
	if err != nil {
		return Decoded{}, err
	}
	return DecodeDataset(f.Dataset, dec)
}

// DecodeDataset decodes every frame of the encapsulated Pixel Data of ds with dec (found with
// codec.Frames) and joins them.
func DecodeDataset(ds *dicom.Dataset, dec codec.Decoder) (Decoded, error) {
	in, _, err := codec.ImageOf(ds)
	if err != nil {
		return Decoded{}, err
	}
	frames, err := codec.Frames(ds)
	if err != nil {
		return Decoded{}, err
	}
	d := Decoded{In: in, Out: in, Frames: len(frames)}
	out := make([][]byte, len(frames))
	for i, src := range frames {
		b, im, err := dec.Decode(nil, src, in)
		if err != nil {
			return d, fmt.Errorf("frame %d: %w", i+1, err)
		}
		if i > 0 && im != d.Out {
			return d, fmt.Errorf("frame %d decodes as %+v, frame 1 as %+v", i+1, im, d.Out)
		}
		d.Out = im
		out[i] = b
	}
	d.Pixels = Join(out, d.Out)
	return d, nil
}

// Join concatenates frames described by im. Frames of Bits Allocated 1, each starting on a byte
// boundary, are packed back to back as native Pixel Data holds them (PS3.5 8.1.1).
func Join(frames [][]byte, im codec.Image) []byte {
	if im.BitsAllocated != 1 {
		return bytes.Join(frames, nil)
	}
	bits := int64(im.Rows) * int64(im.Columns) * int64(im.SamplesPerPixel)
	out := make([]byte, (bits*int64(len(frames))+7)/8)
	var pos int64
	for _, f := range frames {
		for i := range bits {
			if i/8 < int64(len(f)) && f[i/8]&(1<<(i%8)) != 0 {
				out[pos/8] |= 1 << (pos % 8)
			}
			pos++
		}
	}
	return out
}

// Split cuts native Pixel Data holding n frames of Bits Allocated 1, packed back to back, into
// n frames that each start on a byte boundary (the form a codec takes and returns).
func Split(packed []byte, im codec.Image, n int) [][]byte {
	bits := int64(im.Rows) * int64(im.Columns) * int64(im.SamplesPerPixel)
	out := make([][]byte, n)
	var pos int64
	for k := range out {
		f := make([]byte, (bits+7)/8)
		for i := range bits {
			if pos/8 < int64(len(packed)) && packed[pos/8]&(1<<(pos%8)) != 0 {
				f[i/8] |= 1 << (i % 8)
			}
			pos++
		}
		out[k] = f
	}
	return out
}

// NativeFrames reads the uncompressed file at path and returns its frames, each on its own (Bits
// Allocated 1 frames byte aligned, see Split), with the Image they have and the data set.
func NativeFrames(path string) ([][]byte, codec.Image, *dicom.File, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, codec.Image{}, nil, err
	}
	im, n, err := codec.ImageOf(f.Dataset)
	if err != nil {
		return nil, im, f, err
	}
	frames, err := codec.Frames(f.Dataset)
	if err != nil {
		return nil, im, f, err
	}
	if im.BitsAllocated == 1 {
		frames = Split(frames[0], im, n)
	}
	return frames, im, f, nil
}

// PixelsMatch compares pixels, decoded frames joined (see Join), with the row's reference: the
// SHA-256 of its first pixel_bytes bytes must be pixel_sha256.
func PixelsMatch(r corpustest.Row, pixels []byte) error {
	n, err := strconv.Atoi(r["pixel_bytes"])
	if err != nil {
		return fmt.Errorf("manifest pixel_bytes %q: %w", r["pixel_bytes"], err)
	}
	if len(pixels) < n {
		return fmt.Errorf("decoded %d bytes, the reference hashes %d", len(pixels), n)
	}
	sum := sha256.Sum256(pixels[:n])
	if got := hex.EncodeToString(sum[:]); got != r["pixel_sha256"] {
		if len(pixels) != n {
			return fmt.Errorf("SHA-256 of the first %d of %d bytes is %s, the reference %s", n, len(pixels), got, r["pixel_sha256"])
		}
		return fmt.Errorf("SHA-256 of %d bytes is %s, the reference %s", n, got, r["pixel_sha256"])
	}
	return nil
}

// CheckLayout compares the Image a decoder returned with the layout of the row's reference
// (ref_photometric, ref_planar, ref_bits_allocated).
func CheckLayout(r corpustest.Row, out codec.Image) error {
	if p := r["ref_photometric"]; p != "" && p != out.Photometric {
		return fmt.Errorf("photometric %s, the reference %s", out.Photometric, p)
	}
	planar := 0
	if r["ref_planar"] == "1" {
		planar = 1
	}
	if out.SamplesPerPixel > 1 && out.PlanarConfiguration != planar {
		return fmt.Errorf("planar configuration %d, the reference %d", out.PlanarConfiguration, planar)
	}
	if b := r["ref_bits_allocated"]; b != "" && b != strconv.Itoa(out.BitsAllocated) {
		return fmt.Errorf("bits allocated %d, the reference %s", out.BitsAllocated, b)
	}
	return nil
}

// Planar returns frame, described by im, with its samples rearranged to the planar
// configuration planar (0 colour by pixel, 1 colour by plane). Frames of one sample, or already
// in that configuration, are returned as they are.
func Planar(frame []byte, im codec.Image, planar int) []byte {
	if im.SamplesPerPixel < 2 || im.PlanarConfiguration == planar || im.BitsAllocated < 8 {
		return frame
	}
	bps := im.BitsAllocated / 8
	spp := im.SamplesPerPixel
	px := im.Rows * im.Columns
	out := make([]byte, px*spp*bps)
	for p := range px {
		for s := range spp {
			byPixel := (p*spp + s) * bps
			byPlane := (s*px + p) * bps
			if planar == 1 {
				copy(out[byPlane:byPlane+bps], frame[byPixel:byPixel+bps])
			} else {
				copy(out[byPixel:byPixel+bps], frame[byPlane:byPlane+bps])
			}
		}
	}
	return out
}

// WriteEncapsulated writes a copy of the data set of f to path in transfer syntax ts, with frames
// as its encapsulated Pixel Data (codec.Encapsulate) and the Image Pixel Module attributes of out
// (the Image the encoder returned), all of them set, since decoders such as DCMTK's need them.
func WriteEncapsulated(path string, f *dicom.File, ts string, frames [][]byte, out codec.Image) error {
	ds := f.Dataset.Clone()
	for _, t := range []tag.Tag{tag.FloatPixelData, tag.DoubleFloatPixelData, tag.ExtendedOffsetTable, tag.ExtendedOffsetTableLengths} {
		ds.Remove(t)
	}
	ds.Set(codec.Encapsulate(frames))
	if err := ds.SetString(tag.PhotometricInterpretation, vr.CS, out.Photometric); err != nil {
		return err
	}
	for _, a := range []struct {
		t tag.Tag
		v int
	}{
		{tag.Rows, out.Rows}, {tag.Columns, out.Columns}, {tag.SamplesPerPixel, out.SamplesPerPixel},
		{tag.BitsAllocated, out.BitsAllocated}, {tag.BitsStored, out.BitsStored},
		{tag.HighBit, out.BitsStored - 1}, {tag.PixelRepresentation, out.PixelRepresentation},
	} {
		if err := ds.SetInts(a.t, vr.US, int64(a.v)); err != nil {
			return err
		}
	}
	if out.SamplesPerPixel > 1 {
		if err := ds.SetInts(tag.PlanarConfiguration, vr.US, int64(out.PlanarConfiguration)); err != nil {
			return err
		}
	}
	nf := &dicom.File{Dataset: ds, Syntax: dicom.SyntaxOf(ts)}
	if f.Meta != nil {
		nf.Meta = f.Meta.Clone()
	}
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := dicom.Write(w, nf, dicom.WriteOptions{}); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// NeedTool returns the path of an external tool, or skips the test with a clear message.
func NeedTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Skipf("%s not found in PATH (install dcmtk): skipping the cross-check", name)
	}
	return p
}

// ToolDecode runs an external decoder on the file at in, as `name args... in out` (for example
// dcmdrle), and returns the native Pixel Data value of the file it wrote. It skips the test when
// the tool is missing.
func ToolDecode(tb testing.TB, name string, in string, args ...string) ([]byte, codec.Image, error) {
	tb.Helper()
	p := NeedTool(tb, name)
	out := filepath.Join(tb.TempDir(), "out.dcm")
	cmd := exec.Command(p, append(args, in, out)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, codec.Image{}, fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(msg))
	}
	f, err := ReadFile(out)
	if err != nil {
		return nil, codec.Image{}, err
	}
	defer os.Remove(out)
	im, _, err := codec.ImageOf(f.Dataset)
	if err != nil {
		return nil, im, err
	}
	px := f.Dataset.Element(tag.PixelData)
	if px == nil || px.IsEncapsulated() {
		return nil, im, fmt.Errorf("%s wrote no native Pixel Data", name)
	}
	return px.Value, im, nil
}
