package deflate_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/codec/deflate"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// raw deflates b with the standard library.
func raw(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func mono(rows, cols, bits int) codec.Image {
	return codec.Image{Rows: rows, Columns: cols, SamplesPerPixel: 1, BitsAllocated: bits, BitsStored: bits, Photometric: "MONOCHROME2"}
}

func TestDecode(t *testing.T) {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}
	rgb := codec.Image{Rows: 3, Columns: 5, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, Photometric: "RGB", PlanarConfiguration: 1}
	tests := []struct {
		name string
		in   codec.Image
		src  []byte
		want []byte
		err  error
	}{
		{"8 bits", mono(4, 4, 8), raw(t, seq(16)), seq(16), nil},
		{"16 bits", mono(3, 3, 16), raw(t, seq(18)), seq(18), nil},
		{"RGB by plane stays by plane", rgb, raw(t, seq(45)), seq(45), nil},
		{"1 bit, 9 pixels in 2 bytes", mono(3, 3, 1), raw(t, []byte{0xFF, 1}), []byte{0xFF, 1}, nil},
		{"odd frame padded to even length", mono(3, 3, 8), raw(t, append(seq(9), 0)), seq(9), nil},
		{"odd frame with a non-zero extra byte", mono(3, 3, 8), raw(t, append(seq(9), 1)), nil, codec.ErrTooLarge},
		{"even frame with an extra byte", mono(2, 2, 8), raw(t, seq(5)), nil, codec.ErrTooLarge},
		{"odd frame with two extra bytes", mono(3, 3, 8), raw(t, make([]byte, 11)), nil, codec.ErrTooLarge},
		{"short", mono(4, 4, 8), raw(t, seq(15)), nil, codec.ErrCorrupt},
		{"truncated stream", mono(64, 64, 8), raw(t, seq(4096))[:20], nil, codec.ErrCorrupt},
		{"not deflate", mono(2, 2, 8), []byte{0xFF, 0xFF, 0xFF, 0xFF}, nil, codec.ErrCorrupt},
		{"empty", mono(2, 2, 8), nil, nil, codec.ErrCorrupt},
		{"65535×65535 16-bit", mono(65535, 65535, 16), make([]byte, 256), nil, codec.ErrTooLarge},
		{"16384² from 256 bytes", mono(16384, 16384, 8), make([]byte, 256), nil, codec.ErrCorrupt},
		{"bad image", codec.Image{}, nil, nil, codec.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, im, err := deflate.Decode(nil, tt.src, tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) || im != tt.in {
				t.Errorf("got % x %+v, want % x", got, im, tt.want)
			}
		})
	}
}

// TestBomb inflates a stream that expands far past its frame: the decoder stops after the frame
// size plus one byte, and allocates no more than that (plus the inflater's own state).
func TestBomb(t *testing.T) {
	bomb := raw(t, make([]byte, 32<<20))
	for _, in := range []codec.Image{mono(512, 512, 8), mono(2048, 2048, 16), mono(1, 1, 8)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := deflate.Decode(nil, bomb, in)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, codec.ErrTooLarge) {
			t.Errorf("%dx%d: error %v, want %v", in.Columns, in.Rows, err, codec.ErrTooLarge)
		}
		bound := uint64(2*in.FrameSize()) + 1<<20
		if raceEnabled {
			bound = uint64(3*in.FrameSize()) + 1<<20
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
			t.Errorf("%dx%d: allocated %d bytes for a frame of %d", in.Columns, in.Rows, alloc, in.FrameSize())
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	if _, _, err := deflate.Encode(nil, make([]byte, 3), mono(2, 2, 8), codec.EncodeOptions{}); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("short frame: %v", err)
	}
	if _, _, err := deflate.Encode(nil, nil, codec.Image{}, codec.EncodeOptions{}); !errors.Is(err, codec.ErrUnsupported) {
		t.Errorf("bad image: %v", err)
	}
}

// TestMalformed runs every malformed corpus file through frame extraction and the decoder: an
// error or a result, never a panic.
func TestMalformed(t *testing.T) {
	dir, rows := codectest.Rows(t)
	for _, r := range rows {
		if !r.Malformed() {
			continue
		}
		t.Run(r.File(), func(t *testing.T) {
			d, err := codectest.DecodeFileWith(corpustest.Path(dir, r.File()), codec.DecoderFunc(deflate.Decode))
			t.Logf("%d frames, error: %v", d.Frames, err)
		})
	}
}

// TestCorpusRoundTrip deflates every frame of every uncompressed corpus file, writes the file in
// Deflated Image Frame Compression, reads it back and decodes it through a registry: the pixels
// must hash to the file's reference.
func TestCorpusRoundTrip(t *testing.T) {
	dir, rows := codectest.NativeRows(t)
	reg := codec.NewRegistry(deflate.Codec())
	var files, frames int
	for _, r := range rows {
		t.Run(r.File(), func(t *testing.T) {
			src, im, f, err := codectest.NativeFrames(corpustest.Path(dir, r.File()))
			if err != nil {
				t.Skipf("no native frames: %v", err)
			}
			if codec.PixelData(f.Dataset).Tag != tag.PixelData {
				t.Skip("float pixel data has no encapsulated form")
			}
			var enc [][]byte
			var out codec.Image
			for i, fr := range src {
				e, o, err := reg.Encode(deflate.TransferSyntax, nil, fr, im, codec.EncodeOptions{})
				if err != nil {
					t.Fatalf("frame %d: encode: %v", i+1, err)
				}
				if o != im {
					t.Fatalf("frame %d: encoder changed the image to %+v", i+1, o)
				}
				enc, out = append(enc, e), o
			}
			path := filepath.Join(t.TempDir(), "deflated.dcm")
			if err := codectest.WriteEncapsulated(path, f, deflate.TransferSyntax, enc, out); err != nil {
				t.Fatal(err)
			}
			d, err := codectest.DecodeFile(path, reg)
			if err != nil {
				t.Fatal(err)
			}
			if err := codectest.PixelsMatch(r, d.Pixels); err != nil {
				t.Fatal(err)
			}
			files++
			frames += len(src)
		})
	}
	t.Logf("round trip through a written file: %d files, %d frames match their reference", files, frames)
}
