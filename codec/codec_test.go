package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
)

func TestFrameSize(t *testing.T) {
	tests := []struct {
		name string
		im   codec.Image
		want int64
	}{
		{"8-bit mono", codec.Image{Rows: 2, Columns: 3, SamplesPerPixel: 1, BitsAllocated: 8}, 6},
		{"16-bit RGB", codec.Image{Rows: 2, Columns: 3, SamplesPerPixel: 3, BitsAllocated: 16}, 36},
		{"32-bit", codec.Image{Rows: 10, Columns: 10, SamplesPerPixel: 1, BitsAllocated: 32}, 400},
		{"64-bit", codec.Image{Rows: 1, Columns: 1, SamplesPerPixel: 1, BitsAllocated: 64}, 8},
		{"1-bit rounded up", codec.Image{Rows: 3, Columns: 3, SamplesPerPixel: 1, BitsAllocated: 1}, 2},
		{"1-bit aligned", codec.Image{Rows: 512, Columns: 512, SamplesPerPixel: 1, BitsAllocated: 1}, 32768},
		{"YBR_FULL_422 native", codec.Image{Rows: 2, Columns: 4, SamplesPerPixel: 3, BitsAllocated: 8, Photometric: "YBR_FULL_422"}, 16},
		{"largest", codec.Image{Rows: 65535, Columns: 65535, SamplesPerPixel: 1, BitsAllocated: 16}, 2 * 65535 * 65535},
		{"12 bits packed", codec.Image{Rows: 2, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 12}, -1},
		{"no rows", codec.Image{Columns: 2, SamplesPerPixel: 1, BitsAllocated: 8}, -1},
		{"negative", codec.Image{Rows: -1, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 8}, -1},
		{"too many rows", codec.Image{Rows: 65536, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 8}, -1},
		{"no samples", codec.Image{Rows: 2, Columns: 2, BitsAllocated: 8}, -1},
		{"absurd samples", codec.Image{Rows: 65535, Columns: 65535, SamplesPerPixel: 1 << 50, BitsAllocated: 64}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.im.FrameSize(); got != tt.want {
				t.Errorf("FrameSize() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ok := codec.Image{Rows: 2, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 12}
	tests := []struct {
		name string
		edit func(*codec.Image)
		want error
	}{
		{"valid", func(*codec.Image) {}, nil},
		{"bits stored 0", func(im *codec.Image) { im.BitsStored = 0 }, codec.ErrCorrupt},
		{"bits stored above allocated", func(im *codec.Image) { im.BitsStored = 17 }, codec.ErrCorrupt},
		{"bits allocated 12", func(im *codec.Image) { im.BitsAllocated = 12 }, codec.ErrUnsupported},
		{"too large", func(im *codec.Image) { im.Rows, im.Columns = 65535, 65535 }, codec.ErrTooLarge},
		{"just below the limit", func(im *codec.Image) { im.Rows, im.Columns = 16384, 32768 }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := ok
			tt.edit(&im)
			if err := im.Check(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Check() = %v, want %v", err, tt.want)
			}
		})
	}
}

// tagged returns a decoder and an encoder that prefix their output with name.
func tagged(name string) (codec.Decoder, codec.Encoder) {
	dec := codec.DecoderFunc(func(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
		return append(append(dst[:0], name...), src...), in, nil
	})
	enc := codec.EncoderFunc(func(dst, frame []byte, in codec.Image, _ codec.EncodeOptions) ([]byte, codec.Image, error) {
		return append(append(dst[:0], name...), frame...), in, nil
	})
	return dec, enc
}

func TestRegistry(t *testing.T) {
	goDec, goEnc := tagged("go:")
	cDec, _ := tagged("c:")
	r := codec.NewRegistry(
		codec.Codec{TransferSyntax: "1.2.3", Name: "Go", Decoder: goDec, Encoder: goEnc},
		codec.Codec{TransferSyntax: "1.2.1", Name: "decode only", Decoder: goDec},
		codec.Codec{TransferSyntax: "1.2.3", Name: "C", Decoder: cDec},
	)
	im := codec.Image{Rows: 1, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8}

	c, ok := r.Lookup("1.2.3")
	if !ok || c.Name != "Go, C" {
		t.Errorf("Lookup(1.2.3) = %+v, %v", c, ok)
	}
	if got, _, err := r.Decode("1.2.3", nil, []byte("x"), im); err != nil || string(got) != "c:x" {
		t.Errorf("later decoder should win: %q, %v", got, err)
	}
	if got, _, err := r.Encode("1.2.3", nil, []byte("xy"), im, codec.EncodeOptions{}); err != nil || string(got) != "go:xy" {
		t.Errorf("earlier encoder should remain: %q, %v", got, err)
	}
	if !r.CanDecode("1.2.1") || r.CanEncode("1.2.1") || r.CanDecode("9.9") {
		t.Error("CanDecode/CanEncode disagree with the codecs given")
	}
	if cs := r.Codecs(); len(cs) != 2 || cs[0].TransferSyntax != "1.2.1" || cs[1].TransferSyntax != "1.2.3" {
		t.Errorf("Codecs() = %+v", cs)
	}

	errs := []struct {
		name string
		err  error
		want error
	}{
		{"no decoder", second(r.Decode("9.9", nil, nil, im)), codec.ErrUnsupported},
		{"no encoder", second(r.Encode("1.2.1", nil, []byte("xy"), im, codec.EncodeOptions{})), codec.ErrUnsupported},
		{"bad image on decode", second(r.Decode("1.2.3", nil, nil, codec.Image{})), codec.ErrUnsupported},
		{"too large on decode", second(r.Decode("1.2.3", nil, nil, codec.Image{Rows: 65535, Columns: 65535, SamplesPerPixel: 3, BitsAllocated: 8, BitsStored: 8})), codec.ErrTooLarge},
		{"short frame on encode", second(r.Encode("1.2.3", nil, []byte("x"), im, codec.EncodeOptions{})), codec.ErrCorrupt},
	}
	for _, e := range errs {
		if !errors.Is(e.err, e.want) {
			t.Errorf("%s: %v, want %v", e.name, e.err, e.want)
		}
	}

	var nilReg *codec.Registry
	if _, ok := nilReg.Lookup("1.2.3"); ok || nilReg.CanDecode("1.2.3") || nilReg.Codecs() != nil {
		t.Error("a nil registry should be empty")
	}
}

func second(_ []byte, _ codec.Image, err error) error { return err }

func TestEncapsulate(t *testing.T) {
	tests := []struct {
		name    string
		frames  [][]byte
		bot     []uint32
		lengths []int
	}{
		{"one frame, no table", [][]byte{{1, 2, 3}}, nil, []int{4}},
		{"odd frames padded", [][]byte{{1, 2, 3}, {4}, {5, 6}}, []uint32{0, 12, 22}, []int{4, 2, 2}},
		{"empty frame", [][]byte{{}, {1, 2}}, []uint32{0, 8}, []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := make([][]byte, len(tt.frames))
			for i, f := range tt.frames {
				orig[i] = bytes.Clone(f)
			}
			e := codec.Encapsulate(tt.frames)
			if !e.IsEncapsulated() || len(e.Fragments) != len(tt.frames)+1 {
				t.Fatalf("%d fragments", len(e.Fragments))
			}
			bot := e.Fragments[0].Data
			if bot == nil || len(bot) != 4*len(tt.bot) {
				t.Fatalf("offset table of %d bytes", len(bot))
			}
			for i, off := range tt.bot {
				if got := binary.LittleEndian.Uint32(bot[4*i:]); got != off {
					t.Errorf("offset %d = %d, want %d", i, got, off)
				}
			}
			for i, f := range e.Fragments[1:] {
				if len(f.Data) != tt.lengths[i] || int(f.Length) != len(f.Data) || !bytes.HasPrefix(f.Data, orig[i]) {
					t.Errorf("fragment %d: % x (length %d)", i, f.Data, f.Length)
				}
			}
			for i, f := range tt.frames {
				if !bytes.Equal(f, orig[i]) {
					t.Errorf("frame %d was modified", i)
				}
			}
		})
	}
}
