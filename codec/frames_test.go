package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

// imageDataset returns a data set of frames rows×cols 8-bit monochrome frames (Number of Frames
// omitted when frames is 0) with px as its Pixel Data.
func imageDataset(t testing.TB, rows, cols, frames int, px dicom.Element) *dicom.Dataset {
	t.Helper()
	ds := dicom.NewDataset()
	for _, a := range []struct {
		t tag.Tag
		v int64
	}{{tag.Rows, int64(rows)}, {tag.Columns, int64(cols)}, {tag.SamplesPerPixel, 1}, {tag.BitsAllocated, 8}, {tag.BitsStored, 8}, {tag.PixelRepresentation, 0}} {
		if err := ds.SetInts(a.t, vr.US, a.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := ds.SetString(tag.PhotometricInterpretation, vr.CS, "MONOCHROME2"); err != nil {
		t.Fatal(err)
	}
	if frames > 0 {
		if err := ds.SetString(tag.NumberOfFrames, vr.IS, strconv.Itoa(frames)); err != nil {
			t.Fatal(err)
		}
	}
	ds.Set(px)
	return ds
}

// encapsulated builds encapsulated Pixel Data from an offset table (nil: empty) and fragments.
func encapsulated(bot []uint32, frags ...[]byte) dicom.Element {
	table := []byte{}
	for _, o := range bot {
		table = binary.LittleEndian.AppendUint32(table, o)
	}
	fs := []dicom.Fragment{{Offset: -1, Length: uint32(len(table)), Data: table}}
	for _, f := range frags {
		fs = append(fs, dicom.Fragment{Offset: -1, Length: uint32(len(f)), Data: f})
	}
	return dicom.Element{Tag: tag.PixelData, VR: vr.OB, Fragments: fs, Offset: -1, Length: dicom.UndefinedLength}
}

// offsets returns the Basic Offset Table of frames made of the fragments with the given lengths.
func offsets(frameFrags [][]int) []uint32 {
	var out []uint32
	var off uint32
	for _, ff := range frameFrags {
		out = append(out, off)
		for _, n := range ff {
			off += 8 + uint32(n)
		}
	}
	return out
}

func eot(offs []uint32) dicom.Element {
	var b []byte
	for _, o := range offs {
		b = binary.LittleEndian.AppendUint64(b, uint64(o))
	}
	return dicom.NewElement(tag.ExtendedOffsetTable, vr.OV, b)
}

var (
	jpegA  = []byte{0xFF, 0xD8, 0xFF, 0xDB, 1, 2}
	jpegA2 = []byte{3, 4, 0xFF, 0xD9}
	jpegB  = []byte{0xFF, 0xD8, 0xFF, 0xC4, 5, 6}
	jpegB2 = []byte{7, 8}
	jpegB3 = []byte{9, 10, 0xFF, 0xD9}
	rleA   = append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 1), 64), make([]byte, 58)...)
	rleB   = append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 3), 64), make([]byte, 60)...)
	opaque = [][]byte{{0x11, 0x22}, {0x33, 0x44}, {0x55, 0x66}, {0x77, 0x88}}
	cat    = func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
)

func TestFramesEncapsulated(t *testing.T) {
	jpegFrames := [][]byte{cat(jpegA, jpegA2), cat(jpegB, jpegB2, jpegB3)}
	tests := []struct {
		name   string
		frames int
		px     dicom.Element
		eot    []uint32
		want   [][]byte
	}{
		{"BOT, one fragment per frame", 2, encapsulated(offsets([][]int{{10}, {12}}), jpegFrames...), nil, jpegFrames},
		{"BOT, several fragments per frame", 2, encapsulated(offsets([][]int{{6, 4}, {6, 2, 4}}), jpegA, jpegA2, jpegB, jpegB2, jpegB3), nil, jpegFrames},
		{"BOT of opaque fragments", 2, encapsulated(offsets([][]int{{2}, {2, 2, 2}}), opaque...), nil, [][]byte{opaque[0], cat(opaque[1:]...)}},
		{"no BOT, one fragment per frame", 2, encapsulated(nil, jpegFrames...), nil, jpegFrames},
		{"no BOT, JPEG fragments scanned", 2, encapsulated(nil, jpegA, jpegA2, jpegB, jpegB2, jpegB3), nil, jpegFrames},
		{"no BOT, RLE fragments scanned", 2, encapsulated(nil, rleA[:32], rleA[32:], rleB[:30], rleB[30:]), nil, [][]byte{rleA, rleB}},
		{"EOT of opaque fragments", 2, encapsulated(nil, opaque...), offsets([][]int{{2, 2, 2}, {2}}), [][]byte{cat(opaque[:3]...), opaque[3]}},
		{"EOT wins over BOT", 2, encapsulated(offsets([][]int{{2}, {2, 2, 2}}), opaque...), offsets([][]int{{2, 2, 2}, {2}}), [][]byte{cat(opaque[:3]...), opaque[3]}},
		{"EOT off fragment boundaries, BOT used", 2, encapsulated(offsets([][]int{{2}, {2, 2, 2}}), opaque...), []uint32{0, 4}, [][]byte{opaque[0], cat(opaque[1:]...)}},
		{"BOT off fragment boundaries, scan used", 2, encapsulated([]uint32{0, 7}, jpegA, jpegA2, jpegB, jpegB2, jpegB3), nil, jpegFrames},
		{"BOT not starting at 0, one fragment per frame", 2, encapsulated([]uint32{8, 0}, jpegFrames...), nil, jpegFrames},
		{"single frame of many fragments", 1, encapsulated(nil, opaque...), nil, [][]byte{cat(opaque...)}},
		{"no Number of Frames", 0, encapsulated(nil, jpegA, jpegA2), nil, [][]byte{cat(jpegA, jpegA2)}},
		{"short BOT ignored", 4, encapsulated([]uint32{0}, opaque...), nil, opaque},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := imageDataset(t, 1, 2, tt.frames, tt.px)
			if tt.eot != nil {
				ds.Set(eot(tt.eot))
			}
			got, err := codec.Frames(ds)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d frames, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tt.want[i]) {
					t.Errorf("frame %d: % x, want % x", i+1, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestFramesErrors(t *testing.T) {
	bulk := encapsulated(nil, jpegA)
	bulk.Fragments[1] = dicom.Fragment{Offset: 100, Length: 6, Bulk: true}
	nativeBulk := dicom.Element{Tag: tag.PixelData, VR: vr.OB, Offset: 100, Length: 4, Bulk: true}
	tests := []struct {
		name   string
		frames int
		px     *dicom.Element
		want   error
	}{
		{"no Pixel Data", 1, nil, codec.ErrUnsupported},
		{"no items", 1, &dicom.Element{Tag: tag.PixelData, VR: vr.OB, Fragments: []dicom.Fragment{}, Length: dicom.UndefinedLength}, codec.ErrCorrupt},
		{"offset table only", 1, ptr(encapsulated(nil)), codec.ErrCorrupt},
		{"more frames than fragments", 3, ptr(encapsulated(nil, jpegA, jpegB)), codec.ErrCorrupt},
		{"absurd Number of Frames", 1 << 62, ptr(encapsulated(nil, jpegA, jpegB)), codec.ErrCorrupt},
		{"frames cannot be told apart", 2, ptr(encapsulated(nil, opaque[:3]...)), codec.ErrCorrupt},
		{"fragments left in the source", 1, &bulk, codec.ErrUnsupported},
		{"native left in the source", 1, &nativeBulk, codec.ErrUnsupported},
		{"native too short", 2, ptr(dicom.NewElement(tag.PixelData, vr.OB, make([]byte, 3))), codec.ErrCorrupt},
		{"native, absurd Number of Frames", 1 << 62, ptr(dicom.NewElement(tag.PixelData, vr.OB, make([]byte, 4))), codec.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := imageDataset(t, 1, 2, tt.frames, dicom.NewElement(tag.PixelData, vr.OB, nil))
			ds.Remove(tag.PixelData)
			if tt.px != nil {
				ds.Set(*tt.px)
			}
			if _, err := codec.Frames(ds); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestFramesNative(t *testing.T) {
	px := []byte{1, 2, 3, 4, 5, 6, 7}
	ds := imageDataset(t, 1, 2, 3, dicom.NewElement(tag.PixelData, vr.OB, px))
	got, err := codec.Frames(ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !bytes.Equal(got[0], []byte{1, 2}) || !bytes.Equal(got[2], []byte{5, 6}) || cap(got[0]) != 2 {
		t.Errorf("frames % x", got)
	}

	// Bits Allocated 1: 3 frames of 3×3 pixels take 27 bits, packed back to back.
	bits := imageDataset(t, 3, 3, 3, dicom.NewElement(tag.PixelData, vr.OB, make([]byte, 4)))
	bits.SetInts(tag.BitsAllocated, vr.US, 1)
	bits.SetInts(tag.BitsStored, vr.US, 1)
	if got, err := codec.Frames(bits); err != nil || len(got) != 1 || len(got[0]) != 4 {
		t.Errorf("1-bit frames: %d, %v", len(got), err)
	}
	bits.Set(dicom.NewElement(tag.PixelData, vr.OB, make([]byte, 3)))
	if _, err := codec.Frames(bits); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("1-bit frames too short: %v", err)
	}

	// Float Pixel Data: 32-bit samples.
	fl := imageDataset(t, 1, 2, 0, dicom.NewElement(tag.FloatPixelData, vr.OF, make([]byte, 8)))
	fl.SetInts(tag.BitsAllocated, vr.US, 32)
	fl.SetInts(tag.BitsStored, vr.US, 32)
	if got, err := codec.Frames(fl); err != nil || len(got) != 1 || len(got[0]) != 8 {
		t.Errorf("float frames: %d, %v", len(got), err)
	}
}

// TestFramesNativeCorpus checks the frames of every uncompressed corpus file against the
// reference hash: native frames are the stored bytes.
func TestFramesNativeCorpus(t *testing.T) {
	dir, rows := codectest.Rows(t, dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian, dicom.DeflatedExplicitVRLittleEndian, "")
	n := 0
	for _, r := range rows {
		if r.Malformed() || !codectest.HasReference(r) {
			continue
		}
		t.Run(r.File(), func(t *testing.T) {
			f, err := codectest.ReadFile(corpustest.Path(dir, r.File()))
			if err != nil {
				t.Fatal(err)
			}
			frames, err := codec.Frames(f.Dataset)
			if errors.Is(err, codec.ErrUnsupported) && r["bits_allocated"] == "12" {
				t.Skipf("packed 12-bit ACR-NEMA pixels are not a frame layout of PS3.5: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			im, nf, _ := codec.ImageOf(f.Dataset)
			if want := strconv.Itoa(nf); r["ref_frames"] != want {
				t.Errorf("%d frames, the manifest %s", nf, r["ref_frames"])
			}
			if im.BitsAllocated != 1 && len(frames) != nf {
				t.Errorf("%d frames returned, %d declared", len(frames), nf)
			}
			if err := codectest.PixelsMatch(r, bytes.Join(frames, nil)); err != nil {
				t.Fatal(err)
			}
			n++
		})
	}
	t.Logf("%d uncompressed files: frames match the reference", n)
}

// startsCodestream reports whether b starts like a frame of the corpus's encapsulated syntaxes
// (JPEG family, JPEG 2000 codestream or JP2 file, JPEG XL, RLE header).
func startsCodestream(b []byte) bool {
	switch {
	case len(b) >= 2 && b[0] == 0xFF && (b[1] == 0xD8 || b[1] == 0x4F || b[1] == 0x0A):
		return true
	case len(b) >= 12 && (string(b[4:8]) == "jP  " || string(b[4:8]) == "JXL "):
		return true
	case len(b) >= 8:
		n := binary.LittleEndian.Uint32(b)
		return n >= 1 && n <= 15 && binary.LittleEndian.Uint32(b[4:]) == 64
	}
	return false
}

// refragment cuts each frame into up to pieces fragments of even length, none of which but the
// first looks like the start of a codestream, and returns the Pixel Data, its Basic Offset Table
// and the fragment lengths per frame.
func refragment(frames [][]byte, pieces int) (frags [][]byte, layout [][]int) {
	for _, f := range frames {
		var lens []int
		step := max(2, (len(f)/pieces)&^1)
		for start := 0; start < len(f); {
			end := min(len(f), start+step)
			for end < len(f) && startsCodestream(f[end:]) {
				end += 2
			}
			end = min(end, len(f))
			frags = append(frags, f[start:end])
			lens = append(lens, end-start)
			start = end
		}
		layout = append(layout, lens)
	}
	return frags, layout
}

// TestFramesEncapsulatedCorpus extracts the frames of every encapsulated corpus file, then
// rebuilds its Pixel Data in each layout PS3.5 A.4 allows (Basic Offset Table or none, one or
// several fragments per frame, Extended Offset Table) and extracts the same frames again.
func TestFramesEncapsulatedCorpus(t *testing.T) {
	dir, all := codectest.Rows(t)
	files, multi := 0, 0
	for _, r := range all {
		if r.Malformed() || r["transfer_syntax_uid"] == "" || dicom.IsNative(r["transfer_syntax_uid"]) || r["pixel_data_elements"] == "" {
			continue
		}
		t.Run(r.File(), func(t *testing.T) {
			f, err := codectest.ReadFile(corpustest.Path(dir, r.File()))
			if err != nil {
				t.Fatal(err)
			}
			frames, err := codec.Frames(f.Dataset)
			if err != nil {
				t.Fatal(err)
			}
			if want := r["frames"]; strconv.Itoa(len(frames)) != want {
				t.Fatalf("%d frames, the manifest %s", len(frames), want)
			}
			for i, fr := range frames {
				if !startsCodestream(fr) {
					t.Errorf("frame %d does not start a codestream: % x", i+1, fr[:min(8, len(fr))])
				}
			}
			files++
			if len(frames) > 1 {
				multi++
			}
			one := make([][]int, len(frames))
			for i, fr := range frames {
				one[i] = []int{len(fr)}
			}
			split, layout := refragment(frames, 3)
			variants := []struct {
				name string
				px   dicom.Element
				eot  []uint32
			}{
				{"one fragment per frame, BOT", encapsulated(offsets(one), frames...), nil},
				{"one fragment per frame, no BOT", encapsulated(nil, frames...), nil},
				{"several fragments per frame, BOT", encapsulated(offsets(layout), split...), nil},
				{"several fragments per frame, no BOT", encapsulated(nil, split...), nil},
				{"several fragments per frame, EOT", encapsulated(nil, split...), offsets(layout)},
			}
			for _, v := range variants {
				ds := f.Dataset.Clone()
				ds.Set(v.px)
				if v.eot != nil {
					ds.Set(eot(v.eot))
				}
				got, err := codec.Frames(ds)
				if err != nil {
					t.Errorf("%s: %v", v.name, err)
					continue
				}
				if len(got) != len(frames) {
					t.Errorf("%s: %d frames, want %d", v.name, len(got), len(frames))
					continue
				}
				for i := range got {
					if !bytes.Equal(got[i], frames[i]) {
						t.Errorf("%s: frame %d differs", v.name, i+1)
					}
				}
			}
		})
	}
	t.Logf("%d encapsulated files (%d multi-frame) through every layout", files, multi)
}

// TestFramesMalformed runs every malformed corpus file that parses through Frames: an error or
// frames, never a panic.
func TestFramesMalformed(t *testing.T) {
	dir, rows := codectest.Rows(t)
	for _, r := range rows {
		if !r.Malformed() {
			continue
		}
		t.Run(r.File(), func(t *testing.T) {
			f, err := codectest.ReadFile(corpustest.Path(dir, r.File()))
			if err != nil {
				t.Skipf("not parsed: %v", err)
			}
			frames, err := codec.Frames(f.Dataset)
			t.Logf("%d frames, error: %v", len(frames), err)
		})
	}
}

// FuzzFrames parses arbitrary input and extracts its frames: an error or frames, within the fuzz
// budget; encapsulated frames are as many as the data set declares.
func FuzzFrames(f *testing.F) {
	fuzzbudget.SeedFiles(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		file, err := dicom.Parse(in, dicom.ReadOptions{Limits: dicom.Limits{MaxInflated: 32 << 20}})
		if err != nil {
			return
		}
		var frames [][]byte
		fuzzbudget.Check(t, in, func() {
			frames, err = codec.Frames(file.Dataset)
		})
		if err != nil {
			return
		}
		_, n, _ := codec.ImageOf(file.Dataset)
		if px := codec.PixelData(file.Dataset); px.IsEncapsulated() && len(frames) != n {
			t.Fatalf("%d frames of %d declared", len(frames), n)
		}
	})
}
