//go:build cgo && !nocgocodecs

package openjpeg

import (
	"errors"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// TestHTCodeBlocks checks the HT detection on every JPEG 2000 and HTJ2K frame of the corpus and
// on a reversible codestream of this package with HT set in a tile-part COD, which Decode must
// refuse.
func TestHTCodeBlocks(t *testing.T) {
	dir, rows := codectest.Rows(t, JPEG2000Lossless, JPEG2000, HTJ2KLossless, HTJ2KLosslessRPC, HTJ2K)
	n := 0
	for _, r := range rows {
		frames, _, err := codectest.ReadFrames(corpustest.Path(dir, r.File()))
		if err != nil {
			continue
		}
		if _, err := ParseSIZ(frames[0]); err != nil {
			continue // a malformed row, which Decode refuses before HTCodeBlocks matters
		}
		want := r["transfer_syntax_uid"] != JPEG2000Lossless && r["transfer_syntax_uid"] != JPEG2000
		got, err := HTCodeBlocks(frames[0])
		if err != nil || got != want {
			t.Errorf("%s: HTCodeBlocks %v, %v; want %v", r.File(), got, err, want)
		}
		n++
	}
	t.Logf("%d corpus frames", n)

	im := codec.Image{Rows: 8, Columns: 8, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, Photometric: "MONOCHROME2"}
	frame := make([]byte, 64)
	cs, _, err := EncodeLossless(nil, frame, im, codec.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ht, err := HTCodeBlocks(cs); ht || err != nil {
		t.Fatalf("our codestream: %v, %v", ht, err)
	}
	// Insert a tile-part COD (Lcod 12) with code-block style 0x40 after the first SOT segment.
	sot := -1
	for i := 0; i+1 < len(cs); i++ {
		if cs[i] == 0xFF && cs[i+1] == 0x90 {
			sot = i
			break
		}
	}
	if sot < 0 {
		t.Fatal("no SOT")
	}
	cod := []byte{0xFF, 0x52, 0, 12, 0, 0, 0, 1, 0, 0, 4, 4, 0x40, 1}
	ht := append(append(append([]byte{}, cs[:sot+12]...), cod...), cs[sot+12:]...)
	// Psot grows by the inserted bytes, unless it is 0 (to the end).
	if p := uint32(ht[sot+6])<<24 | uint32(ht[sot+7])<<16 | uint32(ht[sot+8])<<8 | uint32(ht[sot+9]); p != 0 {
		p += uint32(len(cod))
		ht[sot+6], ht[sot+7], ht[sot+8], ht[sot+9] = byte(p>>24), byte(p>>16), byte(p>>8), byte(p)
	}
	if got, err := HTCodeBlocks(ht); !got || err != nil {
		t.Fatalf("tile-part COD with HT: %v, %v", got, err)
	}
	if _, _, err := Decode(nil, ht, im); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("Decode: %v, want ErrCorrupt", err)
	}
	if _, err := HTCodeBlocks(cs[:sot-3]); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("truncated main header: %v", err)
	}
}
