//go:build cgo && !nocgocodecs

package openjpeg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

var syntaxes = []string{JPEG2000Lossless, JPEG2000, HTJ2KLossless, HTJ2KLosslessRPC, HTJ2K}

// TestCorpus decodes every corpus row of a JPEG 2000 or HTJ2K syntax and compares the pixels
// with the manifest's reference hash.
func TestCorpus(t *testing.T) {
	dir, rows := codectest.Rows(t, syntaxes...)
	exact := map[string]int{}
	total := map[string]int{}
	for _, r := range rows {
		ts := r["transfer_syntax_uid"]
		dec := Decode
		if ts != JPEG2000Lossless && ts != JPEG2000 {
			dec = DecodeUnchecked // HTJ2K, which Decode refuses
		}
		t.Run(r.File(), func(t *testing.T) {
			frames, im, err := codectest.ReadFrames(corpustest.Path(dir, r.File()))
			if r.Malformed() || !strings.HasPrefix(r["ref_status"], "ok") {
				// Malformed: an error or a result, never a crash.
				if err == nil {
					_, _, err = codectest.DecodeFrames(dec, frames, im)
				}
				t.Logf("malformed/unreferenced row (%s): %v", r["ref_status"], err)
				if r["pixel_sha256"] == "" {
					return
				}
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			total[ts]++
			got, out, err := codectest.DecodeFrames(dec, frames, im)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if out.Photometric != r["ref_photometric"] {
				t.Errorf("photometric %s, reference %s", out.Photometric, r["ref_photometric"])
			}
			n, _ := strconv.Atoi(r["pixel_bytes"])
			if len(got) < n {
				t.Fatalf("decoded %d bytes, reference hashes %d", len(got), n)
			}
			if codectest.PixelsMatch(r, got) == nil {
				exact[ts]++
				return
			}
			if r["ref_exact"] == "yes" {
				t.Fatalf("pixels differ from the reference (lossless row)")
			}
			t.Errorf("lossy row: pixels differ from the reference made with the same library")
		})
	}
	for _, ts := range syntaxes {
		t.Logf("%s: %d of %d referenced rows exact", ts, exact[ts], total[ts])
	}
}

// TestRoundTrip encodes every native corpus frame the encoder takes, losslessly, and checks
// that decoding gives the same bytes; when opj_decompress is installed, it decodes the
// codestream too.
func TestRoundTrip(t *testing.T) {
	frames := codectest.RoundTripFrames(t, true)
	tool, toolErr := exec.LookPath("opj_decompress")
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
			encoded++
			dec, out, err := Decode(nil, cs, enc)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			want := fr[:im.FrameSize()]
			if im.PlanarConfiguration == 1 {
				want = codectest.Planar(want, im, 0)
			}
			if !bytes.Equal(dec, want) {
				t.Fatalf("round trip differs (image %+v → %+v)", im, out)
			}
			if toolErr != nil || im.BitsAllocated == 1 {
				return
			}
			p := filepath.Join(tmp, "f.j2k")
			if err := os.WriteFile(p, cs, 0o600); err != nil {
				t.Fatal(err)
			}
			raw, err := opjDecompress(tool, p, im)
			if err != nil {
				t.Fatalf("opj_decompress: %v", err)
			}
			if !bytes.Equal(raw, want) {
				t.Fatalf("opj_decompress decodes different pixels")
			}
			checked++
		})
	}
	if toolErr != nil {
		t.Logf("opj_decompress not installed: reference-tool check skipped")
	}
	t.Logf("%d frames encoded and decoded bit-exact, %d also by opj_decompress", encoded, checked)
}

// opjDecompress decodes a .j2k file with opj_decompress to a raw file and returns its bytes
// in the native layout (.rawl: little-endian planes).
func opjDecompress(tool, path string, im codec.Image) ([]byte, error) {
	out := path + ".rawl"
	cmd := exec.Command(tool, "-i", path, "-o", out, "-quiet")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.New(err.Error() + ": " + string(b))
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	// Planes to colour by pixel.
	return codectest.Planar(raw, codec.Image{Rows: im.Rows, Columns: im.Columns, SamplesPerPixel: im.SamplesPerPixel, BitsAllocated: im.BitsAllocated, PlanarConfiguration: 1}, 0), nil
}

// TestHostileSIZ checks that lying or broken headers fail fast with an error.
func TestHostileSIZ(t *testing.T) {
	mono := codec.Image{Rows: 64, Columns: 64, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	huge := codec.Image{Rows: 65535, Columns: 65535, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	tests := []struct {
		name string
		src  []byte
		im   codec.Image
		want error
	}{
		{"empty", nil, mono, codec.ErrCorrupt},
		{"no SOC", bytes.Repeat([]byte{0}, 256), mono, codec.ErrCorrupt},
		{"65535 square in 256 bytes", pad(sizMarker(65535, 65535, 1, 1, 16), 256), huge, codec.ErrTooLarge},
		{"65535 square, image says 64", pad(sizMarker(65535, 65535, 1, 1, 16), 256), mono, codec.ErrCorrupt},
		{"one-pixel tiles", pad(sizMarker(64, 64, 1, 1, 16), 256), mono, codec.ErrCorrupt},
		{"SIZ truncated", sizMarker(64, 64, 64, 1, 16)[:20], mono, codec.ErrCorrupt},
		{"precision over bits allocated", pad(sizMarker(64, 64, 64, 1, 24), 256), mono, codec.ErrCorrupt},
		{"components disagree", pad(sizMarker(64, 64, 64, 3, 16), 256), mono, codec.ErrCorrupt},
		{"header only", pad(sizMarker(64, 64, 64, 1, 16), 256), mono, codec.ErrCorrupt},
		{"jp2 without codestream", append(slices.Clone(jp2Signature), 0, 0, 0, 8, 'f', 't', 'y', 'p'), mono, codec.ErrCorrupt},
	}
	// One-pixel tiles: 4096 tiles would be fine; make it 65536+.
	tests[4].src = pad(sizMarker(512, 512, 1, 1, 16), 256)
	tests[4].im = codec.Image{Rows: 512, Columns: 512, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, Photometric: "MONOCHROME2"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(nil, tt.src, tt.im)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// sizMarker builds SOC and a SIZ marker segment for a w×h image of tiles of tile×tile.
func sizMarker(w, h, tile, comps, prec int) []byte {
	b := []byte{0xFF, 0x4F, 0xFF, 0x51}
	b = binary.BigEndian.AppendUint16(b, uint16(38+3*comps))
	b = binary.BigEndian.AppendUint16(b, 0)
	for _, v := range []int{w, h, 0, 0, tile, tile, 0, 0} {
		b = binary.BigEndian.AppendUint32(b, uint32(v))
	}
	b = binary.BigEndian.AppendUint16(b, uint16(comps))
	for range comps {
		b = append(b, byte(prec-1), 1, 1)
	}
	return b
}

func pad(b []byte, n int) []byte { return append(b, make([]byte, max(0, n-len(b)))...) }
