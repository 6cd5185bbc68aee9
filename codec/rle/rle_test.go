package rle_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/codec/rle"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// frame builds an RLE frame from raw segments (PS3.5 G.5).
func frame(segs ...[]byte) []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b, uint32(len(segs)))
	for i, s := range segs {
		binary.LittleEndian.PutUint32(b[4+4*i:], uint32(len(b)))
		b = append(b, s...)
	}
	return b
}

func mono(rows, cols, bits int) codec.Image {
	return codec.Image{Rows: rows, Columns: cols, SamplesPerPixel: 1, BitsAllocated: bits, BitsStored: bits, Photometric: "MONOCHROME2"}
}

func rgb(rows, cols, bits, planar int) codec.Image {
	return codec.Image{Rows: rows, Columns: cols, SamplesPerPixel: 3, BitsAllocated: bits, BitsStored: bits, Photometric: "RGB", PlanarConfiguration: planar}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   codec.Image
		src  []byte
		want []byte
	}{
		{"literal", mono(1, 4, 8), frame([]byte{3, 1, 2, 3, 4}), []byte{1, 2, 3, 4}},
		{"replicate", mono(1, 4, 8), frame([]byte{0xFD, 7}), []byte{7, 7, 7, 7}},
		{"no-op and padding", mono(1, 3, 8), frame([]byte{0x80, 0xFF, 9, 0, 5, 0}), []byte{9, 9, 5}},
		{"run past the row is cut", mono(1, 3, 8), frame([]byte{0xFB, 1}), []byte{1, 1, 1}},
		{"16 bits, high byte first", mono(1, 2, 16), frame([]byte{1, 0x12, 0x34}, []byte{1, 0x56, 0x78}), []byte{0x56, 0x12, 0x78, 0x34}},
		{"32 bits", mono(1, 1, 32), frame([]byte{0, 1}, []byte{0, 2}, []byte{0, 3}, []byte{0, 4}), []byte{4, 3, 2, 1}},
		{"RGB by pixel", rgb(1, 2, 8, 0), frame([]byte{1, 1, 2}, []byte{1, 3, 4}, []byte{1, 5, 6}), []byte{1, 3, 5, 2, 4, 6}},
		{"RGB by plane", rgb(1, 2, 8, 1), frame([]byte{1, 1, 2}, []byte{1, 3, 4}, []byte{1, 5, 6}), []byte{1, 2, 3, 4, 5, 6}},
		{"RGB 16 bits by plane", rgb(1, 1, 16, 1), frame([]byte{0, 1}, []byte{0, 2}, []byte{0, 3}, []byte{0, 4}, []byte{0, 5}, []byte{0, 6}), []byte{2, 1, 4, 3, 6, 5}},
		{"1 bit", mono(3, 3, 1), frame([]byte{1, 0xA5, 0x01}), []byte{0xA5, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, im, err := rle.Decode(make([]byte, 0, 1), tt.src, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got % x, want % x", got, tt.want)
			}
			if im != tt.in {
				t.Errorf("image %+v, want %+v", im, tt.in)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	big := codec.Image{Rows: 65535, Columns: 65535, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16}
	tests := []struct {
		name string
		in   codec.Image
		src  []byte
		want error
	}{
		{"empty", mono(2, 2, 8), nil, codec.ErrCorrupt},
		{"short header", mono(2, 2, 8), make([]byte, 63), codec.ErrCorrupt},
		{"no segments", mono(2, 2, 8), frame(), codec.ErrCorrupt},
		{"too many segments", mono(1, 1, 8), frame([]byte{0, 1}, []byte{0, 1}), codec.ErrCorrupt},
		{"short segment", mono(2, 2, 8), frame([]byte{1, 1, 2}), codec.ErrCorrupt},
		{"truncated literal", mono(1, 4, 8), frame([]byte{3, 1, 2}), codec.ErrCorrupt},
		{"replicate without value", mono(1, 4, 8), frame([]byte{0xFD}), codec.ErrCorrupt},
		{"offset past the end", mono(1, 1, 8), func() []byte { b := frame([]byte{0, 1}); b[4] = 200; return b }(), codec.ErrCorrupt},
		{"offset inside the header", mono(1, 1, 8), func() []byte { b := frame([]byte{0, 1}); b[4] = 8; return b }(), codec.ErrCorrupt},
		{"offsets decreasing", mono(1, 1, 16), func() []byte { b := frame([]byte{0, 1}, []byte{0, 1}); b[8] = 64; b[4] = 66; return b }(), codec.ErrCorrupt},
		{"65535×65535 16-bit from 256 bytes", big, frame(make([]byte, 192)), codec.ErrTooLarge},
		{"16384² from 256 bytes", mono(16384, 16384, 8), frame(bytes.Repeat([]byte{0x81, 0}, 96)), codec.ErrCorrupt},
		{"YBR_FULL_422", codec.Image{Rows: 2, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, Photometric: "YBR_FULL_422"}, frame(), codec.ErrUnsupported},
		{"1 bit RGB", codec.Image{Rows: 8, Columns: 8, SamplesPerPixel: 3, BitsAllocated: 1, BitsStored: 1, Photometric: "RGB"}, frame(), codec.ErrUnsupported},
		{"32-bit RGBA needs 16 segments", codec.Image{Rows: 1, Columns: 1, SamplesPerPixel: 4, BitsAllocated: 32, BitsStored: 32, Photometric: "ARGB"}, frame(), codec.ErrUnsupported},
		{"bad image", codec.Image{}, frame(), codec.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := rle.Decode(nil, tt.src, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestRoundTrip encodes synthetic frames of every supported layout and decodes them.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	images := []codec.Image{
		mono(1, 1, 8), mono(7, 13, 8), mono(64, 300, 16), mono(5, 5, 32), mono(3, 3, 64), mono(9, 7, 1),
		rgb(4, 5, 8, 0), rgb(4, 5, 8, 1), rgb(3, 2, 16, 0), rgb(6, 6, 32, 1),
	}
	fills := map[string]func([]byte){
		"random": func(b []byte) {
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
		},
		"runs": func(b []byte) {
			for i := range b {
				b[i] = byte(i / 200)
			}
		},
		"mixed": func(b []byte) {
			for i := range b {
				b[i] = byte(rng.IntN(3))
			}
		},
	}
	for _, im := range images {
		for name, fill := range fills {
			src := make([]byte, im.FrameSize())
			fill(src)
			enc, out, err := rle.Encode(nil, src, im, codec.EncodeOptions{})
			if err != nil {
				t.Fatalf("%+v %s: encode: %v", im, name, err)
			}
			if len(enc)%2 != 0 {
				t.Errorf("%+v %s: odd frame length %d", im, name, len(enc))
			}
			if im.SamplesPerPixel > 1 && out.PlanarConfiguration != 1 {
				t.Errorf("%+v %s: encoder says planar configuration %d", im, name, out.PlanarConfiguration)
			}
			dec, got, err := rle.Decode(nil, enc, out)
			if err != nil {
				t.Fatalf("%+v %s: decode: %v", im, name, err)
			}
			if got != out {
				t.Errorf("%+v %s: decoded image %+v", im, name, got)
			}
			if want := codectest.Planar(src, im, out.PlanarConfiguration); !bytes.Equal(dec, want) {
				t.Errorf("%+v %s: round trip differs", im, name)
			}
		}
	}
}

func TestPackRuns(t *testing.T) {
	// Runs never cross a row (PS3.5 G.3.1) and use at most 128 bytes.
	im := mono(2, 300, 8)
	src := make([]byte, im.FrameSize())
	enc, _, err := rle.Encode(nil, src, im, codec.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Each row of 300 zero bytes: runs of 128, 128 and 44.
	row := []byte{0x81, 0, 0x81, 0, 0xD5, 0}
	want := frame(append(append([]byte{}, row...), row...))
	if !bytes.Equal(enc, want) {
		t.Errorf("got % x\nwant % x", enc, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	if _, _, err := rle.Encode(nil, make([]byte, 3), mono(2, 2, 8), codec.EncodeOptions{}); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("short frame: %v", err)
	}
	ybr := codec.Image{Rows: 2, Columns: 2, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8, Photometric: "YBR_FULL_422"}
	if _, _, err := rle.Encode(nil, make([]byte, 8), ybr, codec.EncodeOptions{}); !errors.Is(err, codec.ErrUnsupported) {
		t.Errorf("YBR_FULL_422: %v", err)
	}
}

// TestCorpus decodes every RLE file of the corpus and compares it with the reference hash.
func TestCorpus(t *testing.T) {
	dir, rows := codectest.Rows(t, rle.TransferSyntax)
	reg := codec.NewRegistry(rle.Codec())
	exact := 0
	for _, r := range rows {
		t.Run(r.File(), func(t *testing.T) {
			d, err := codectest.DecodeFile(corpustest.Path(dir, r.File()), reg)
			if r.Malformed() || !codectest.HasReference(r) {
				t.Logf("no reference (%s): %v", r["ref_status"], err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := codectest.CheckLayout(r, d.Out); err != nil {
				t.Error(err)
			}
			if err := codectest.PixelsMatch(r, d.Pixels); err != nil {
				t.Fatal(err)
			}
			exact++
		})
	}
	t.Logf("%d of %d RLE files match their reference exactly", exact, len(rows))
	if len(rows) > 0 && exact != len(rows) {
		t.Errorf("%d of %d RLE files match", exact, len(rows))
	}
}

// TestMalformed runs every malformed corpus file, whatever its syntax, through frame extraction
// and the RLE decoder: an error or a result, never a panic.
func TestMalformed(t *testing.T) {
	dir, rows := codectest.Rows(t)
	for _, r := range rows {
		if !r.Malformed() {
			continue
		}
		t.Run(r.File(), func(t *testing.T) {
			d, err := codectest.DecodeFileWith(corpustest.Path(dir, r.File()), codec.DecoderFunc(rle.Decode))
			t.Logf("%d frames, error: %v", d.Frames, err)
		})
	}
}

// TestCorpusRoundTrip RLE-encodes every frame of every uncompressed corpus file and decodes it
// again, bit exact; then writes the file as RLE and has DCMTK's dcmdrle decode it.
func TestCorpusRoundTrip(t *testing.T) {
	dir, rows := codectest.NativeRows(t)
	var files, frames, tool, toolSkipped int
	for _, r := range rows {
		t.Run(r.File(), func(t *testing.T) {
			src, im, f, err := codectest.NativeFrames(corpustest.Path(dir, r.File()))
			if err != nil {
				t.Skipf("no native frames: %v", err)
			}
			var enc, want [][]byte
			var out codec.Image
			for i, fr := range src {
				e, o, err := rle.Encode(nil, fr, im, codec.EncodeOptions{})
				if errors.Is(err, codec.ErrUnsupported) {
					t.Skipf("not encodable as RLE: %v", err)
				}
				if err != nil {
					t.Fatalf("frame %d: encode: %v", i+1, err)
				}
				d, o2, err := rle.Decode(nil, e, o)
				if err != nil {
					t.Fatalf("frame %d: decode: %v", i+1, err)
				}
				w := codectest.Planar(fr, im, o.PlanarConfiguration)
				if o2 != o || !bytes.Equal(d, w) {
					t.Fatalf("frame %d: round trip differs", i+1)
				}
				enc, want, out = append(enc, e), append(want, w), o
			}
			files++
			frames += len(src)
			if im.BitsAllocated == 1 || codec.PixelData(f.Dataset).Tag != tag.PixelData {
				toolSkipped++
				return // dcmdrle refuses 1-bit RLE; float pixel data has no RLE form
			}
			path := filepath.Join(t.TempDir(), "rle.dcm")
			if err := codectest.WriteEncapsulated(path, f, rle.TransferSyntax, enc, out); err != nil {
				t.Fatal(err)
			}
			got, gim, err := codectest.ToolDecode(t, "dcmdrle", path)
			if err != nil {
				t.Fatal(err)
			}
			if gim.PlanarConfiguration != out.PlanarConfiguration && im.SamplesPerPixel > 1 {
				t.Errorf("dcmdrle output planar configuration %d, want %d", gim.PlanarConfiguration, out.PlanarConfiguration)
			}
			all := codectest.Join(want, out)
			if len(got) < len(all) || !bytes.Equal(got[:len(all)], all) {
				t.Fatalf("dcmdrle decodes our file to different pixels (%d bytes, want %d)", len(got), len(all))
			}
			tool++
		})
	}
	t.Logf("round trip: %d files, %d frames; dcmdrle agrees on %d files (%d not given to it)", files, frames, tool, toolSkipped)
}
