package render_test

import (
	"bufio"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/render"
)

// dcmtkCase is one rendering compared with DCMTK's dcm2pnm: the same frame through the same VOI
// transformation, every pixel within ±1 per channel.
type dcmtkCase struct {
	file  string
	frame int // from 0
	// decompress names the DCMTK tool that makes a compressed file native first (dcmdjpeg,
	// dcmdrle, dcmdjpls); the native file is then described with DescribeDecoded, as a decoded
	// frame would be.
	decompress string
	// dcmtk are dcm2pnm's VOI options (+Ww c w, +Wi n, +Wl n, +Wm, +Piv …).
	dcmtk []string
	// opts are ours for the same rendering.
	opts render.Options
	// inverse sets Presentation LUT Shape INVERSE, as dcm2pnm +Piv does.
	inverse bool
	// what is said of the case in the table logged.
	what string
	// libjpeg compares, instead of dcm2pnm's own conversion of YBR, the RGB frame libjpeg (in
	// dcmdjpeg) converts a JPEG to, with the YBR frame dcmdjpeg +cn keeps rendered by us.
	libjpeg bool
	// tol is the largest difference allowed (1 when 0).
	tol int
}

var dcmtkCases = []dcmtkCase{
	{file: "pydicom__CT_small.dcm", dcmtk: []string{"+Ww", "40", "400"}, opts: winOpt(40, 400), what: "MONOCHROME2 16 signed, user window"},
	{file: "pydicom__MR_small.dcm", dcmtk: []string{"+Ww", "600", "1200"}, opts: winOpt(600, 1200), what: "MONOCHROME2 16 signed"},
	{file: "dicomParser__CT1_UNC.explicit_big_endian.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME2 16 signed big endian"},
	{file: "pydicom__examples_overlay.dcm", dcmtk: []string{"+Wi", "1"}, what: "data set window"},
	{file: "pydicom__examples_overlay.dcm", dcmtk: []string{"+Wi", "2"}, opts: render.Options{VOIIndex: 1}, what: "second data set window"},
	{file: "dicomParser__CT1_UNC.explicit_big_endian.dcm", dcmtk: []string{"+Ww", "40", "400", "+Wfs"}, opts: render.Options{Window: &render.Window{Center: 40, Width: 400, Function: render.Sigmoid}}, what: "SIGMOID"},
	{file: "dcm4che__test16signed.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME2 16 signed, range"},
	{file: "pydicom-data__MR-SIEMENS-DICOM-WithOverlays.dcm", dcmtk: []string{"+Wi", "1"}, what: "MONOCHROME2 12 in 16"},
	{file: "suyashkumar-dicom__3.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME2 12 in 16, range"},
	{file: "pydicom__CR1_6154.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME1 12 in 16"},
	{file: "fo-dicom__CR-MONO1-10-chest.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME1 10 in 16"},
	{file: "debian-octave-dicom__simple-test.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME1 8"},
	{file: "pydicom__chrH31.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME2 8"},
	{file: "pydicom__CT_small.dcm", dcmtk: []string{"+Ww", "40", "400", "+Piv"}, opts: winOpt(40, 400), inverse: true, what: "Presentation LUT Shape INVERSE"},
	{file: "pydicom-data__mlut_18.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "Modality LUT Sequence, 12 signed"},
	{file: "pydicom-data__mlut_18.dcm", dcmtk: []string{"+Ww", "1000", "1500"}, opts: winOpt(1000, 1500), what: "Modality LUT Sequence, window"},
	{file: "pydicom-data__vlut_04.dcm", dcmtk: []string{"+Wl", "1"}, what: "VOI LUT Sequence"},
	{file: "pydicom__liver_1frame.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME2 1 bit"},
	{file: "pydicom-data__liver_nonbyte_aligned.dcm", frame: 1, dcmtk: []string{"+Wm"}, opts: minMax, what: "1 bit, frame 2 not byte aligned"},
	{file: "pydicom__rtdose_1frame.dcm", dcmtk: []string{"+Wm"}, opts: minMax, what: "MONOCHROME2 32 unsigned"},
	{file: "dcm4che__NM-MONO2-16-13x-heart.dcm", frame: 5, dcmtk: []string{"+Wm"}, opts: minMax, what: "multi-frame, frame 6"},
	{file: "dicomParser__CT1_UNC.fragmented_bot_jpeg_ls.80.dcm", decompress: "dcmdjpls", dcmtk: []string{"+Ww", "40", "400"}, opts: winOpt(40, 400), what: "JPEG-LS, decoded"},
	{file: "pydicom__JPGExtended.dcm", decompress: "dcmdjpeg", dcmtk: []string{"+Wm"}, opts: minMax, what: "JPEG 12 bit, decoded"},
	{file: "pydicom__MR_small_RLE.dcm", decompress: "dcmdrle", dcmtk: []string{"+Wi", "1"}, what: "RLE, decoded"},
	{file: "pydicom-data__color-px.dcm", what: "RGB 8 by pixel"},
	{file: "pydicom-data__color-pl.dcm", what: "RGB 8 by plane"},
	{file: "pydicom__ExplVR_BigEnd.dcm", what: "RGB 8 by plane, big endian"},
	{file: "pydicom-data__SC_rgb_expb_16bit.dcm", what: "RGB 16"},
	{file: "pydicom__SC_rgb_rle_16bit.dcm", decompress: "dcmdrle", what: "RGB 16, RLE decoded"},
	// dcm2pnm converts 8-bit YBR_FULL with tables that offset chrominance by 127.5 and truncate
	// each term, which departs from PS3.3 C.7.6.3.1.2 by up to 2; libjpeg's conversion, which
	// rounds the exact equations, is the reference that holds to ±1.
	{file: "pydicom-data__SC_ybr_full_uncompressed.dcm", tol: 2, what: "YBR_FULL (dcm2pnm's approximation)"},
	{file: "dcm4che__YBR_FULL-RLE.dcm", decompress: "dcmdrle", tol: 2, what: "YBR_FULL by plane, RLE decoded (dcm2pnm's approximation)"},
	{file: "pydicom__SC_rgb_dcmtk_+eb+cy+n1.dcm", decompress: "dcmdjpeg", libjpeg: true, what: "YBR_FULL, against libjpeg"},
	{file: "pydicom__SC_rgb_jpeg_dcmtk.dcm", decompress: "dcmdjpeg", libjpeg: true, what: "YBR_FULL, against libjpeg"},
	{file: "dicomParser__IM00001.fragmented_no_bot_jpeg_baseline.50.dcm", decompress: "dcmdjpeg", libjpeg: true, what: "YBR_FULL, against libjpeg"},
	{file: "pydicom__SC_ybr_full_422_uncompressed.dcm", what: "YBR_FULL_422"},
	{file: "cornerstone3D__US-YBR_FULL_422-EVRLE.dcm", what: "YBR_FULL_422"},
	{file: "pydicom__SC_rgb_dcmtk_+eb+cy+np.dcm", decompress: "dcmdjpeg", what: "JPEG YBR_FULL_422, decoded to RGB"},
	{file: "cornerstone3D__TestPattern_Palette.dcm", what: "PALETTE COLOR, 8-bit LUT"},
	{file: "cornerstone3D__TestPattern_Palette_16.dcm", what: "PALETTE COLOR, 16-bit LUT"},
	{file: "pydicom__examples_palette.dcm", what: "PALETTE COLOR, 16-bit LUT"},
	{file: "dcm4che__US-PAL-8-10x-echo.dcm", decompress: "dcmdrle", frame: 3, what: "PALETTE COLOR, RLE decoded, frame 4"},
}

var minMax = render.Options{MinMax: true}

func winOpt(c, w float64) render.Options {
	return render.Options{Window: &render.Window{Center: c, Width: w}}
}

// TestDCMTK renders frames of corpus files and with dcm2pnm, and compares them.
func TestDCMTK(t *testing.T) {
	bin, err := exec.LookPath("dcm2pnm")
	if err != nil {
		t.Skip("dcm2pnm (DCMTK) is not installed: the comparison with DCMTK is skipped")
	}
	dir := corpustest.Need(t)
	var table strings.Builder
	for _, tc := range dcmtkCases {
		name := fmt.Sprintf("%s#%d %s", tc.file, tc.frame+1, strings.Join(tc.dcmtk, " "))
		t.Run(name, func(t *testing.T) {
			path := corpustest.Path(dir, tc.file)
			orig, err := dicom.ReadFile(path, dicom.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			native := path
			if tc.decompress != "" {
				tool, err := exec.LookPath(tc.decompress)
				if err != nil {
					t.Skipf("%s (DCMTK) is not installed", tc.decompress)
				}
				native = filepath.Join(t.TempDir(), "native.dcm")
				if b, err := exec.Command(tool, path, native).CombinedOutput(); err != nil {
					t.Fatalf("%s: %v: %s", tc.decompress, err, b)
				}
			}
			ref := runDcm2pnm(t, bin, native, tc)
			if tc.libjpeg {
				tool, _ := exec.LookPath(tc.decompress)
				native = filepath.Join(t.TempDir(), "ybr.dcm")
				if b, err := exec.Command(tool, "+cn", path, native).CombinedOutput(); err != nil {
					t.Fatalf("%s +cn: %v: %s", tc.decompress, err, b)
				}
			}
			f, err := dicom.ReadFile(native, dicom.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var l *render.Layout
			if tc.decompress != "" {
				im, _, err := codec.ImageOf(f.Dataset)
				if err != nil {
					t.Fatal(err)
				}
				l, err = render.DescribeDecoded(orig.Dataset, im)
				if err != nil {
					t.Fatal(err)
				}
			} else if l, err = render.Describe(f.Dataset); err != nil {
				t.Fatal(err)
			}
			if tc.inverse {
				l.Inverse = true
			}
			px := codec.PixelData(f.Dataset)
			img, err := l.FrameAt(px.Value, tc.frame, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			tol := max(tc.tol, 1)
			worst, bad := compare(t, img, ref, tol)
			refName := "dcm2pnm"
			if tc.libjpeg {
				refName = "libjpeg"
			}
			fmt.Fprintf(&table, "%-62s %-13s %-8s %-14s %d\n", tc.file+frameSuffix(tc.frame), l.Photometric, refName, strings.Join(tc.dcmtk, " "), worst)
			if bad > 0 {
				t.Errorf("%s: %d samples differ by more than %d (worst %d)", tc.what, bad, tol, worst)
			}
		})
	}
	t.Logf("file, photometric rendered, reference, dcm2pnm VOI options, largest difference:\n%s", table.String())
}

func frameSuffix(f int) string {
	if f == 0 {
		return ""
	}
	return fmt.Sprintf(" frame %d", f+1)
}

// runDcm2pnm renders frame tc.frame of path with dcm2pnm as a binary PGM or PPM, overlays off.
func runDcm2pnm(t *testing.T, bin, path string, tc dcmtkCase) image.Image {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.pnm")
	args := append([]string{"-O", "+op", "+F", fmt.Sprint(tc.frame + 1)}, tc.dcmtk...)
	args = append(args, path, out)
	if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("dcm2pnm %s: %v: %s", strings.Join(args, " "), err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := readPNM(bufio.NewReader(f))
	if err != nil {
		t.Fatalf("dcm2pnm output: %v", err)
	}
	return img
}

// readPNM reads a binary PGM (P5) or PPM (P6) of maxval 255 as *image.Gray or *image.RGBA.
func readPNM(r *bufio.Reader) (image.Image, error) {
	var tokens []int
	magic := ""
	for len(tokens) < 3 {
		var word []byte
		for {
			c, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			if c == '#' {
				if _, err := r.ReadString('\n'); err != nil {
					return nil, err
				}
				continue
			}
			if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				if len(word) > 0 {
					break
				}
				continue
			}
			word = append(word, c)
		}
		if magic == "" {
			magic = string(word)
			continue
		}
		var v int
		if _, err := fmt.Sscan(string(word), &v); err != nil {
			return nil, err
		}
		tokens = append(tokens, v)
	}
	w, h, maxval := tokens[0], tokens[1], tokens[2]
	if maxval != 255 {
		return nil, fmt.Errorf("maxval %d", maxval)
	}
	switch magic {
	case "P5":
		img := image.NewGray(image.Rect(0, 0, w, h))
		_, err := io.ReadFull(r, img.Pix)
		return img, err
	case "P6":
		buf := make([]byte, 3*w*h)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < w*h; i++ {
			copy(img.Pix[4*i:], buf[3*i:3*i+3])
			img.Pix[4*i+3] = 255
		}
		return img, nil
	}
	return nil, fmt.Errorf("PNM type %q", magic)
}

// compare returns the largest difference of a channel between img and ref, and the number of
// samples that differ by more than tol.
func compare(t *testing.T, img, ref image.Image, tol int) (worst, bad int) {
	t.Helper()
	if img.Bounds() != ref.Bounds() {
		t.Fatalf("bounds %v, DCMTK %v", img.Bounds(), ref.Bounds())
	}
	var a, b []uint8
	var c int
	switch m := img.(type) {
	case *image.Gray:
		r, ok := ref.(*image.Gray)
		if !ok {
			t.Fatalf("we render %T, DCMTK %T", img, ref)
		}
		a, b, c = m.Pix, r.Pix, 1
	case *image.RGBA:
		r, ok := ref.(*image.RGBA)
		if !ok {
			t.Fatalf("we render %T, DCMTK %T", img, ref)
		}
		a, b, c = m.Pix, r.Pix, 4
	default:
		t.Fatalf("rendered %T", img)
	}
	firstBad := -1
	for i := range a {
		if c == 4 && i%4 == 3 {
			continue
		}
		d := int(a[i]) - int(b[i])
		d = max(d, -d)
		worst = max(worst, d)
		if d > tol {
			if firstBad < 0 {
				firstBad = i
			}
			bad++
		}
	}
	if firstBad >= 0 {
		p := firstBad / c
		t.Logf("first difference at (%d, %d): ours %v, DCMTK %v", p%img.Bounds().Dx(), p/img.Bounds().Dx(),
			a[p*c:p*c+c], b[p*c:p*c+c])
	}
	return worst, bad
}
