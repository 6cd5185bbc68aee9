//go:build cgo && !nocgocodecs

package openjph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/codec/openjpeg"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// htj2kSyntaxes are the HTJ2K transfer syntaxes (1.2.840.10008.1.2.4.20x).
var htj2kSyntaxes = []string{openjpeg.HTJ2KLossless, openjpeg.HTJ2KLosslessRPC, openjpeg.HTJ2K}

// TestCorpusDecode cross-checks the OpenJPH decoder on the corpus HTJ2K rows (the registered
// HTJ2K decoder is OpenJPEG's; see package openjpeg's tests).
func TestCorpusDecode(t *testing.T) {
	dir, rows := codectest.Rows(t, htj2kSyntaxes...)
	n := 0
	for _, r := range rows {
		t.Run(r.File(), func(t *testing.T) {
			frames, im, err := codectest.ReadFrames(corpustest.Path(dir, r.File()))
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			for _, d := range []struct {
				name string
				fn   codec.DecoderFunc
			}{{"openjph", Decode}, {"registered", DecodeHT}} {
				all, _, err := codectest.DecodeFrames(d.fn, frames, im)
				if err != nil {
					t.Fatalf("%s: decode: %v", d.name, err)
				}
				if err := codectest.PixelsMatch(r, all); err != nil {
					t.Fatalf("%s: pixels differ from the reference: %v", d.name, err)
				}
			}
			n++
		})
	}
	t.Logf("%d HTJ2K rows exact", n)
}

// TestRoundTrip encodes every native corpus frame the encoder takes and checks that OpenJPEG,
// OpenJPH and, when installed, ojph_expand decode it to the same bytes.
func TestRoundTrip(t *testing.T) {
	frames := codectest.RoundTripFrames(t, false)
	tool, toolErr := exec.LookPath("ojph_expand")
	if toolErr != nil {
		t.Logf("ojph_expand not installed: reference-tool check skipped")
	}
	tmp := t.TempDir()
	encoded, checked := 0, 0
	for _, nf := range frames {
		im, fr := nf.Image, nf.Data
		t.Run(nf.Name, func(t *testing.T) {
			cs, enc, err := Encode(nil, fr, im, codec.EncodeOptions{})
			if errors.Is(err, codec.ErrUnsupported) {
				t.Skipf("encoder does not take this frame: %v", err)
			}
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			checkRPCL(t, cs, im)
			want := codectest.Planar(fr[:im.FrameSize()], im, 0)
			for _, d := range []struct {
				name string
				fn   codec.DecoderFunc
			}{{"openjpeg", openjpeg.DecodeUnchecked}, {"openjph", Decode}} {
				got, _, err := d.fn(nil, cs, enc)
				if err != nil {
					t.Fatalf("%s decode: %v", d.name, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: round trip differs (%+v)", d.name, im)
				}
			}
			encoded++
			if toolErr != nil {
				return
			}
			p := filepath.Join(tmp, "f.j2c")
			if err := os.WriteFile(p, cs, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := expand(tool, p, im)
			if err != nil {
				t.Fatalf("ojph_expand: %v", err)
			}
			// ojph_expand writes unsigned samples only; signed frames compare clipped at 0
			// (OpenJPEG above decodes them in full).
			if !bytes.Equal(got, unsignedView(want, enc)) {
				t.Fatalf("ojph_expand decodes different pixels")
			}
			checked++
		})
	}
	t.Logf("%d frames encoded and decoded bit-exact by OpenJPEG and OpenJPH, %d also by ojph_expand", encoded, checked)
}

// checkRPCL checks the PS3.5 10.18 constraints: RPCL, a base resolution of at most 64 pixels,
// and a TLM marker segment.
func checkRPCL(t *testing.T, cs []byte, im codec.Image) {
	t.Helper()
	hasTLM, p := false, 2
	for p+4 <= len(cs) && cs[p+1] != 0x90 {
		m, l := cs[p+1], int(binary.BigEndian.Uint16(cs[p+2:]))
		switch m {
		case 0x55:
			hasTLM = true
		case 0x52: // COD: Scod, progression order, layers, MCT, decompositions
			if cs[p+5] != 2 {
				t.Errorf("progression order %d, want RPCL (2)", cs[p+5])
			}
			d := int(cs[p+9])
			if (im.Columns+(1<<d)-1)>>d > 64 || (im.Rows+(1<<d)-1)>>d > 64 {
				t.Errorf("%d decompositions leave a base resolution over 64", d)
			}
		}
		p += 2 + l
	}
	if !hasTLM {
		t.Errorf("no TLM marker segment")
	}
}

// expand decodes a codestream with ojph_expand and returns the pixels colour by pixel, little
// endian: grey images through a .raw file (little endian for more than 8 bits), colour images
// through a .ppm file (big endian for more than 8 bits).
func expand(tool, path string, im codec.Image) ([]byte, error) {
	out := path + ".raw"
	if im.SamplesPerPixel == 3 {
		out = path + ".ppm"
	}
	if b, err := exec.Command(tool, "-i", path, "-o", out).CombinedOutput(); err != nil {
		return nil, errors.New(err.Error() + ": " + string(b))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	if im.SamplesPerPixel == 1 {
		return b, nil
	}
	// P6, width, height, maxval, one whitespace byte, samples.
	for fields := 0; fields < 4; fields++ {
		b = bytes.TrimLeft(b, " \t\r\n")
		i := bytes.IndexAny(b, " \t\r\n")
		if i < 0 {
			return nil, errors.New("short PPM header")
		}
		b = b[i:]
	}
	b = b[1:]
	if im.BitsAllocated == 16 {
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	}
	return b, nil
}

// unsignedView returns what a tool that writes unsigned samples makes of a signed frame:
// negative samples clipped to 0.
func unsignedView(b []byte, im codec.Image) []byte {
	if im.PixelRepresentation == 0 {
		return b
	}
	out := bytes.Clone(b)
	for i := 0; i+1 < len(out) && im.BitsAllocated == 16; i += 2 {
		if out[i+1]&0x80 != 0 {
			out[i], out[i+1] = 0, 0
		}
	}
	for i := 0; i < len(out) && im.BitsAllocated == 8; i++ {
		if out[i]&0x80 != 0 {
			out[i] = 0
		}
	}
	return out
}

func TestDecompositions(t *testing.T) {
	tests := []struct{ w, h, want int }{
		{512, 512, 5}, {4096, 4096, 6}, {3, 3, 1}, {1, 1, 0}, {64, 64, 5}, {640, 480, 5}, {8192, 100, 7},
	}
	for _, tt := range tests {
		if got := Decompositions(tt.w, tt.h); got != tt.want {
			t.Errorf("Decompositions(%d, %d) = %d, want %d", tt.w, tt.h, got, tt.want)
		}
	}
}

// TestFallback checks that DecodeHT hands what OpenJPH does not read (a JP2 file) to OpenJPEG.
func TestFallback(t *testing.T) {
	dir := corpustest.Need(t)
	frames, im, err := codectest.ReadFrames(corpustest.Path(dir, "DICOMHTJ2K__CT1_JPH.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := Decode(nil, frames[0], im)
	if err != nil {
		t.Fatal(err)
	}
	jp2 := wrapJP2(frames[0], im)
	if _, _, err := Decode(nil, jp2, im); !errors.Is(err, codec.ErrUnsupported) {
		t.Fatalf("OpenJPH on a JP2 file: %v, want ErrUnsupported", err)
	}
	got, _, err := DecodeHT(nil, jp2, im)
	if err != nil {
		t.Fatalf("DecodeHT: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("JP2 decoded through OpenJPEG differs")
	}
}

// wrapJP2 wraps a grey codestream in a minimal JP2 file (ISO/IEC 15444-1 annex I).
func wrapJP2(cs []byte, im codec.Image) []byte {
	box := func(typ string, body ...[]byte) []byte {
		n := 8
		for _, b := range body {
			n += len(b)
		}
		out := binary.BigEndian.AppendUint32(nil, uint32(n))
		out = append(out, typ...)
		for _, b := range body {
			out = append(out, b...)
		}
		return out
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(im.Rows))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(im.Columns))
	ihdr = binary.BigEndian.AppendUint16(ihdr, 1)
	ihdr = append(ihdr, byte(im.BitsStored-1)|byte(im.PixelRepresentation<<7), 7, 0, 0)
	colr := []byte{1, 0, 0, 0, 0, 0, 17}
	out := []byte{0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A}
	out = append(out, box("ftyp", []byte("jp2 \x00\x00\x00\x00jp2 "))...)
	out = append(out, box("jp2h", box("ihdr", ihdr), box("colr", colr))...)
	return append(out, box("jp2c", cs)...)
}
