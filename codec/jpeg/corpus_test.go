package jpeg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// syntaxes are the transfer syntaxes of this package.
var syntaxes = map[string]bool{Baseline: true, Extended: true, FullProgression: true, Lossless: true, LosslessSV1: true}

// Tolerance on lossy rows, against IJG libjpeg's output as dcmdjpeg writes it.
const (
	maxAbsTol  = 2
	meanAbsTol = 0.5
)

// decodeFile decodes every frame of a DICOM file with Decode and concatenates them.
func decodeFile(path string) ([]byte, codec.Image, error) {
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		return nil, codec.Image{}, err
	}
	im, _, err := codec.ImageOf(f.Dataset)
	if err != nil {
		return nil, im, err
	}
	frames, err := codec.Frames(f.Dataset)
	if err != nil {
		return nil, im, err
	}
	var all []byte
	var out codec.Image
	var buf []byte
	for i, fr := range frames {
		buf, out, err = Decode(buf, fr, im)
		if err != nil {
			return nil, im, fmt.Errorf("frame %d: %w", i, err)
		}
		all = append(all, buf...)
	}
	return all, out, nil
}

// dcmtkReference decodes path with DCMTK's `dcmdjpeg +px` and returns the native Pixel Data.
func dcmtkReference(t testing.TB, path string) []byte {
	t.Helper()
	tool, err := exec.LookPath("dcmdjpeg")
	if err != nil {
		t.Skip("dcmdjpeg (DCMTK) not installed: cannot make the lossy reference; skipping")
	}
	out := filepath.Join(t.TempDir(), "ref.dcm")
	if b, err := exec.Command(tool, "+px", path, out).CombinedOutput(); err != nil {
		t.Fatalf("dcmdjpeg: %v\n%s", err, b)
	}
	f, err := dicom.ReadFile(out, dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("read dcmdjpeg output: %v", err)
	}
	px := codec.PixelData(f.Dataset)
	if px == nil {
		t.Fatalf("dcmdjpeg output has no Pixel Data")
	}
	return px.Value
}

// diffStats compares two sample buffers of the given byte width.
func diffStats(a, b []byte, wide bool) (maxAbs int, mean float64) {
	n, sum := 0, 0
	step := 1
	if wide {
		step = 2
	}
	for i := 0; i+step <= len(a) && i+step <= len(b); i += step {
		x, y := int(a[i]), int(b[i])
		if wide {
			x |= int(a[i+1]) << 8
			y |= int(b[i+1]) << 8
		}
		d := x - y
		if d < 0 {
			d = -d
		}
		maxAbs = max(maxAbs, d)
		sum += d
		n++
	}
	if n > 0 {
		mean = float64(sum) / float64(n)
	}
	return maxAbs, mean
}

func TestCorpus(t *testing.T) {
	dir, rows := corpustest.Manifest(t)
	type tally struct{ rows, exact, tolerant int }
	var mu sync.Mutex
	counts := map[string]*tally{}
	worst := map[string][2]float64{}
	for _, r := range rows {
		ts := r["transfer_syntax_uid"]
		if !syntaxes[ts] {
			continue
		}
		t.Run(r.File(), func(t *testing.T) {
			path := corpustest.Path(dir, r.File())
			got, out, err := decodeFile(path)
			if r.Malformed() {
				// Malformed files: any error or result is acceptable, a panic is not. Where the
				// manifest still has a reference, say whether we match it.
				n, _ := strconv.Atoi(r["pixel_bytes"])
				match := false
				if err == nil && n > 0 && len(got) >= n {
					sum := sha256.Sum256(got[:n])
					match = hex.EncodeToString(sum[:]) == r["pixel_sha256"]
				}
				t.Logf("malformed file: err=%v, %d bytes, matches reference: %v", err, len(got), match)
				return
			}
			if !strings.HasPrefix(r["ref_status"], "ok") {
				// No reference pixels (e.g. no Pixel Data): decoding must fail cleanly.
				if err == nil {
					t.Fatalf("ref_status %q but decoding succeeded", r["ref_status"])
				}
				t.Logf("ref_status %q: %v", r["ref_status"], err)
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			n, _ := strconv.Atoi(r["pixel_bytes"])
			if len(got) < n {
				t.Fatalf("decoded %d bytes, manifest hashes %d", len(got), n)
			}
			if out.Photometric != r["ref_photometric"] {
				t.Errorf("photometric %q, reference %q", out.Photometric, r["ref_photometric"])
			}
			sum := sha256.Sum256(got[:n])
			exact := hex.EncodeToString(sum[:]) == r["pixel_sha256"]
			mu.Lock()
			c := counts[ts]
			if c == nil {
				c = &tally{}
				counts[ts] = c
			}
			c.rows++
			if exact {
				c.exact++
				c.tolerant++
			}
			mu.Unlock()
			if exact {
				return
			}
			if r["ref_exact"] == "yes" {
				t.Fatalf("lossless row: SHA-256 %x differs from the reference", sum)
			}
			ref := dcmtkReference(t, path)
			if len(ref) < n {
				t.Fatalf("dcmdjpeg gave %d bytes, want %d", len(ref), n)
			}
			maxAbs, mean := diffStats(got[:n], ref[:n], r["ref_bits_allocated"] == "16")
			t.Logf("lossy row: max |diff| %d, mean %.4f against dcmdjpeg", maxAbs, mean)
			mu.Lock()
			w := worst[ts]
			worst[ts] = [2]float64{max(w[0], float64(maxAbs)), max(w[1], mean)}
			if maxAbs <= maxAbsTol && mean <= meanAbsTol {
				c.tolerant++
			}
			mu.Unlock()
			if maxAbs > maxAbsTol || mean > meanAbsTol {
				t.Fatalf("lossy row beyond tolerance: max |diff| %d (≤ %d), mean %.4f (≤ %.2f)", maxAbs, maxAbsTol, mean, meanAbsTol)
			}
		})
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := counts[k]
		t.Logf("%s: %d rows with reference, %d bit-exact, %d within tolerance (worst max %v, mean %.4f)",
			k, c.rows, c.exact, c.tolerant, worst[k][0], worst[k][1])
	}
}

// readDICOM reads the data set of a DICOM file.
func readDICOM(path string) (*dicom.Dataset, error) {
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		return nil, err
	}
	return f.Dataset, nil
}
