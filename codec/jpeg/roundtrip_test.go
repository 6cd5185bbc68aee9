package jpeg

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// nativeSyntaxes are the uncompressed transfer syntaxes whose corpus frames feed the encoders.
var nativeSyntaxes = map[string]bool{
	dicom.ImplicitVRLittleEndian: true, dicom.ExplicitVRLittleEndian: true,
	dicom.ExplicitVRBigEndian: true, dicom.DeflatedExplicitVRLittleEndian: true,
}

// maxFramesPerFile bounds the frames taken from one multi-frame file, to keep the tests short.
const maxFramesPerFile = 2

// sample is one corpus frame in native layout, colour by pixel.
type sample struct {
	name  string
	ds    *dicom.Dataset
	im    codec.Image
	frame []byte
}

// interleave turns a colour-by-plane frame into colour by pixel.
func interleave(frame []byte, im codec.Image) []byte {
	if im.PlanarConfiguration != 1 || im.SamplesPerPixel == 1 {
		return frame
	}
	bps := im.BitsAllocated / 8
	n := im.Rows * im.Columns
	spp := im.SamplesPerPixel
	out := make([]byte, len(frame[:n*spp*bps]))
	for c := 0; c < spp; c++ {
		for i := 0; i < n; i++ {
			copy(out[(i*spp+c)*bps:][:bps], frame[(c*n+i)*bps:][:bps])
		}
	}
	return out
}

// encodableFrames collects frames the encoders accept: native corpus frames, and the frames of
// our transfer syntaxes as this package decodes them.
func encodableFrames(t *testing.T) []sample {
	cache.Lock()
	defer cache.Unlock()
	if cache.frames == nil {
		cache.frames = loadEncodableFrames(t)
	}
	return cache.frames
}

// cache keeps the frames between tests of one run.
var cache struct {
	sync.Mutex
	frames []sample
}

func loadEncodableFrames(t *testing.T) []sample {
	dir, rows := corpustest.Manifest(t)
	var out []sample
	for _, r := range rows {
		ts := r["transfer_syntax_uid"]
		if r.Malformed() || !strings.HasPrefix(r["ref_status"], "ok") || !(nativeSyntaxes[ts] || syntaxes[ts]) {
			continue
		}
		if r["bits_allocated"] != "8" && r["bits_allocated"] != "16" {
			continue // the encoders take 8- and 16-bit samples only
		}
		f, err := dicom.ReadFile(corpustest.Path(dir, r.File()), dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", r.File(), err)
		}
		im, _, err := codec.ImageOf(f.Dataset)
		if err != nil {
			continue // not an image the encoders can take (the manifest row says why)
		}
		if im.SamplesPerPixel != 1 && im.SamplesPerPixel != 3 || strings.HasPrefix(im.Photometric, "YBR_FULL_422") || strings.HasPrefix(im.Photometric, "YBR_PARTIAL") {
			continue // subsampled native colour is not an encoder input
		}
		frames, err := codec.Frames(f.Dataset)
		if err != nil {
			t.Fatalf("%s: frames: %v", r.File(), err)
		}
		for i, fr := range frames[:min(len(frames), maxFramesPerFile)] {
			fim := im
			if syntaxes[ts] {
				fr, fim, err = Decode(nil, fr, im)
				if err != nil {
					t.Fatalf("%s frame %d: %v", r.File(), i, err)
				}
			} else {
				fr = interleave(fr[:im.FrameSize()], im)
				fim.PlanarConfiguration = 0
			}
			out = append(out, sample{name: fmt.Sprintf("%s#%d", r.File(), i), ds: f.Dataset, im: fim, frame: fr})
		}
	}
	if len(out) == 0 {
		t.Fatal("no encodable frames in the corpus")
	}
	return out
}

func TestLosslessRoundTrip(t *testing.T) {
	frames := encodableFrames(t)
	n := 0
	for _, s := range frames {
		cs, out, err := EncodeLossless(nil, s.frame, s.im, codec.EncodeOptions{})
		if err != nil {
			t.Errorf("%s: encode: %v", s.name, err)
			continue
		}
		got, gim, err := Decode(nil, cs, out)
		if err != nil {
			t.Errorf("%s: decode: %v", s.name, err)
			continue
		}
		if !bytes.Equal(got, s.frame[:s.im.FrameSize()]) || gim.Photometric != s.im.Photometric {
			t.Errorf("%s: round trip differs", s.name)
		}
		n++
	}
	t.Logf("%d frames round-tripped bit-exact through JPEG lossless SV1", n)
}

// TestLosslessVariants covers the predictors, point transform 0 and restart intervals on a few
// frames: bit-exact round trips through our own encoder and decoder.
func TestLosslessVariants(t *testing.T) {
	frames := encodableFrames(t)
	picked := pickFrames(frames)
	for _, s := range picked {
		for psv := 1; psv <= 7; psv++ {
			for _, rr := range []int{0, 1, 7} {
				cs, out, err := encodeLossless(nil, s.frame, s.im, losslessParams{psv: psv, restartRows: rr})
				if err != nil {
					t.Fatalf("%s psv %d rst %d: encode: %v", s.name, psv, rr, err)
				}
				got, _, err := Decode(nil, cs, out)
				if err != nil {
					t.Fatalf("%s psv %d rst %d: decode: %v", s.name, psv, rr, err)
				}
				if !bytes.Equal(got, s.frame[:s.im.FrameSize()]) {
					t.Fatalf("%s psv %d rst %d: round trip differs", s.name, psv, rr)
				}
			}
		}
	}
}

// pickFrames chooses a small, varied set: grey 8-bit, grey 16-bit signed, 12-bit, RGB, odd sizes.
func pickFrames(all []sample) []sample {
	want := []string{"pydicom__CT_small.dcm#0", "debian-heudiconv__phantom.dcm#0", "orthanc-tests__ColorTestMalaterre.dcm#0",
		"pydicom__SC_rgb_small_odd.dcm#0", "debian-octave-dicom__simple-test.dcm#0", "pydicom__chrArab.dcm#0"}
	var out []sample
	for _, w := range want {
		for _, s := range all {
			if s.name == w {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestLossyRoundTrip(t *testing.T) {
	frames := pickFrames(encodableFrames(t))
	for _, s := range frames {
		enc := EncodeBaseline
		if s.im.BitsAllocated == 16 {
			enc = EncodeExtended
		}
		cs, out, err := enc(nil, s.frame, s.im, codec.EncodeOptions{Quality: 95})
		if s.im.PixelRepresentation == 1 {
			if err == nil {
				t.Errorf("%s: signed frame encoded lossy", s.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: encode: %v", s.name, err)
		}
		got, gim, err := Decode(nil, cs, out)
		if err != nil {
			t.Fatalf("%s: decode: %v", s.name, err)
		}
		want := s.frame
		if s.im.SamplesPerPixel == 3 && gim.Photometric != "RGB" {
			t.Fatalf("%s: decoded photometric %q", s.name, gim.Photometric)
		}
		maxAbs, mean := diffStats(got, want[:len(got)], s.im.BitsAllocated == 16)
		t.Logf("%s: %d → %d bytes, max |diff| %d, mean %.3f", s.name, len(s.frame), len(cs), maxAbs, mean)
		if mean > 2 || len(cs) >= len(s.frame) && len(s.frame) > 4096 {
			t.Errorf("%s: poor lossy round trip: mean |diff| %.3f, %d bytes", s.name, mean, len(cs))
		}
	}
}

// writeJPEGFile writes a DICOM file whose Pixel Data holds the codestreams, in syntax ts.
func writeJPEGFile(t *testing.T, path string, src *dicom.Dataset, frames [][]byte, im codec.Image, ts string) {
	t.Helper()
	ds := src.Clone()
	ds.Set(codec.Encapsulate(frames))
	if err := ds.SetString(tag.PhotometricInterpretation, vr.CS, im.Photometric); err != nil {
		t.Fatal(err)
	}
	if im.SamplesPerPixel > 1 {
		if err := ds.SetInts(tag.PlanarConfiguration, vr.US, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := ds.SetInts(tag.NumberOfFrames, vr.IS, int64(len(frames))); err != nil {
		t.Fatal(err)
	}
	if err := dicom.WriteFile(path, &dicom.File{Dataset: ds, Syntax: dicom.SyntaxOf(ts)}, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestDCMTKDecodesOurs writes files with our encoders and has DCMTK's dcmdjpeg decode them: lossless
// ones must give the original samples, lossy ones what our decoder gives (the IJG arithmetic).
func TestDCMTKDecodesOurs(t *testing.T) {
	if _, err := exec.LookPath("dcmdjpeg"); err != nil {
		t.Skip("dcmdjpeg (DCMTK) not installed: skipping the interoperability test")
	}
	frames := pickFrames(encodableFrames(t))
	type variant struct {
		name string
		ts   string
		enc  func(dst, frame []byte, in codec.Image) ([]byte, codec.Image, error)
	}
	variants := []variant{
		{"sv1", LosslessSV1, func(dst, f []byte, in codec.Image) ([]byte, codec.Image, error) {
			return EncodeLossless(dst, f, in, codec.EncodeOptions{})
		}},
		{"p14-psv7-restart", Lossless, func(dst, f []byte, in codec.Image) ([]byte, codec.Image, error) {
			return encodeLossless(dst, f, in, losslessParams{psv: 7, restartRows: 3})
		}},
		{"baseline", Baseline, func(dst, f []byte, in codec.Image) ([]byte, codec.Image, error) {
			return EncodeBaseline(dst, f, in, codec.EncodeOptions{Quality: 80})
		}},
		{"baseline-restart", Baseline, func(dst, f []byte, in codec.Image) ([]byte, codec.Image, error) {
			if in.BitsAllocated != 8 {
				return nil, in, codec.ErrUnsupported
			}
			return encodeDCT(dst, f, in, codec.EncodeOptions{Quality: 50}, 8, mSOF0, 5)
		}},
		{"extended", Extended, func(dst, f []byte, in codec.Image) ([]byte, codec.Image, error) {
			return EncodeExtended(dst, f, in, codec.EncodeOptions{})
		}},
	}
	dir := t.TempDir()
	for _, s := range frames {
		for _, v := range variants {
			cs, out, err := v.enc(nil, s.frame, s.im)
			if err != nil {
				continue // the variant does not take this frame (e.g. lossy of signed samples)
			}
			name := strings.NewReplacer("#", "_", ".dcm", "").Replace(s.name) + "_" + v.name
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, name+".dcm")
				writeJPEGFile(t, path, s.ds, [][]byte{cs}, out, v.ts)
				ref := dcmtkReference(t, path)
				want := s.frame
				if v.ts == Baseline || v.ts == Extended {
					want, _, err = Decode(nil, cs, out)
					if err != nil {
						t.Fatal(err)
					}
				}
				if len(ref) < len(want) {
					t.Fatalf("dcmdjpeg gave %d bytes, want %d", len(ref), len(want))
				}
				if !bytes.Equal(ref[:len(want)], want) {
					maxAbs, mean := diffStats(ref[:len(want)], want, out.BitsAllocated == 16)
					t.Fatalf("dcmdjpeg decodes differently: max |diff| %d, mean %.4f", maxAbs, mean)
				}
			})
		}
	}
}

// TestDCMTKVariants has DCMTK's dcmcjpeg encode corpus images with the processes and options it
// offers (progressive, spectral selection, 12-bit, all predictors, point transform, subsampling
// 4:2:2 and 4:1:1/4:2:0, RGB without colour transform) and checks that our decoder gives what
// dcmdjpeg gives: bit-exact for lossless, and (the IJG arithmetic being reproduced) for lossy too.
func TestDCMTKVariants(t *testing.T) {
	enc, err := exec.LookPath("dcmcjpeg")
	if err != nil {
		t.Skip("dcmcjpeg (DCMTK) not installed: skipping")
	}
	cdir := corpustest.Need(t)
	grey := []string{"+eb", "+ee", "+es", "+ep", "+e1", "+el +sv 2", "+el +sv 3", "+el +sv 4", "+el +sv 5", "+el +sv 6", "+el +sv 7", "+el +sv 1 +pt 2"}
	cases := map[string][]string{
		"debian-octave-dicom__simple-test.dcm": grey,
		"pydicom__chrArab.dcm":                 grey,
		"debian-heudiconv__phantom.dcm":        {"+ee", "+es", "+ep", "+e1", "+el +sv 4", "+el +sv 7 +pt 1"},
		"pydicom__CT_small.dcm":                {"+e1", "+el +sv 5", "+el +sv 6"},
		"pydicom-data__mlut_18.dcm":            {"+e1", "+el +sv 7"},
		"orthanc-tests__ColorTestMalaterre.dcm": {"+eb", "+eb +s4", "+eb +n2", "+eb +n1", "+eb +np", "+ep",
			"+es +n1", "+eb +cr", "+e1", "+el +sv 3"},
		"pydicom__SC_rgb_small_odd.dcm":              {"+eb", "+eb +n1", "+e1"},
		"pydicom__examples_rgb_color.dcm":            {"+eb +n1", "+ep +s4"},
		"pydicom-data__SC_ybr_full_uncompressed.dcm": {"+eb +s4"},
	}
	dir := t.TempDir()
	exact, total := 0, 0
	for file, variants := range cases {
		for _, v := range variants {
			name := strings.TrimSuffix(file, ".dcm") + strings.ReplaceAll(v, " ", "")
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, strings.ReplaceAll(name, "+", "_")+".dcm")
				args := append(strings.Fields(v), filepath.Join(cdir, file), path)
				if b, err := exec.Command(enc, args...).CombinedOutput(); err != nil {
					t.Skipf("dcmcjpeg %s refuses this input: %v: %s", v, err, b)
				}
				got, _, err := decodeFile(path)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				ref := dcmtkReference(t, path)
				if len(ref) < len(got) {
					t.Fatalf("dcmdjpeg gave %d bytes, we %d", len(ref), len(got))
				}
				total++
				if bytes.Equal(got, ref[:len(got)]) {
					exact++
					return
				}
				f, _ := dicom.ReadFile(path, dicom.ReadOptions{})
				im, _, _ := codec.ImageOf(f.Dataset)
				maxAbs, mean := diffStats(got, ref, im.BitsAllocated == 16)
				lossless := strings.Contains(v, "+e1") || strings.Contains(v, "+el")
				if lossless || maxAbs > maxAbsTol || mean > meanAbsTol {
					t.Fatalf("differs from dcmdjpeg: max |diff| %d, mean %.4f", maxAbs, mean)
				}
				t.Logf("within tolerance of dcmdjpeg: max |diff| %d, mean %.4f", maxAbs, mean)
			})
		}
	}
	t.Logf("%d of %d dcmcjpeg variants decode bit-exact to dcmdjpeg's output", exact, total)
}
