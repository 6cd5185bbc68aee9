package codectest

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/fuzzbudget"
)

// ReadFrames reads the file at path and returns the frames of its Pixel Data (codec.Frames) with
// the Image the data set declares.
func ReadFrames(path string) ([][]byte, codec.Image, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, codec.Image{}, err
	}
	im, _, err := codec.ImageOf(f.Dataset)
	if err != nil {
		return nil, im, err
	}
	frames, err := codec.Frames(f.Dataset)
	return frames, im, err
}

// DecodeFrames decodes frames, described by im, one after the other with dec (reusing its output
// buffer) and concatenates them. It returns the Image dec returned for the last frame.
func DecodeFrames(dec codec.DecoderFunc, frames [][]byte, im codec.Image) ([]byte, codec.Image, error) {
	var all, buf []byte
	out := im
	for i, fr := range frames {
		var err error
		buf, out, err = dec(buf, fr, im)
		if err != nil {
			return nil, out, fmt.Errorf("frame %d: %w", i, err)
		}
		all = append(all, buf...)
	}
	return all, out, nil
}

// Frame is a native frame to encode, named file#index.
type Frame struct {
	Name  string
	Data  []byte
	Image codec.Image
}

// RoundTripFrames returns up to three native frames of every uncompressed, well-formed corpus
// row, with their Image. Files of Bits Allocated 1 are left out unless bitmaps is set; then the
// first frame of a single-frame file whose frames are byte aligned is returned.
func RoundTripFrames(tb testing.TB, bitmaps bool) []Frame {
	tb.Helper()
	dir, rows := corpustest.Manifest(tb)
	var out []Frame
	for _, r := range rows {
		if r.Malformed() {
			continue
		}
		f, err := ReadFile(corpustest.Path(dir, r.File()))
		if err != nil || !dicom.IsNative(f.TransferSyntax()) {
			continue
		}
		im, _, err := codec.ImageOf(f.Dataset)
		if err != nil || (im.BitsAllocated == 1 && !bitmaps) {
			continue
		}
		fs, err := codec.Frames(f.Dataset)
		if err != nil {
			continue
		}
		if im.BitsAllocated == 1 {
			// All 1-bit frames come as one slice; take the first when frames are byte aligned.
			if len(fs) != 1 || (im.Rows*im.Columns)%8 != 0 {
				continue
			}
			fs = [][]byte{fs[0][:im.FrameSize()]}
		}
		for i, fr := range fs[:min(len(fs), 3)] {
			out = append(out, Frame{Name: r.File() + "#" + strconv.Itoa(i), Data: fr, Image: im})
		}
	}
	return out
}

// SeedFuzz adds to f the first frame of every corpus file whose transfer syntax is one of ts,
// when the corpus is present and the frame is at most fuzzbudget.MaxSeed bytes (larger seeds make Go's fuzzer spend its time minimising them).
func SeedFuzz(f *testing.F, ts ...string) {
	f.Helper()
	if _, ok := corpustest.Dir(); !ok {
		return
	}
	dir, rows := Rows(f, ts...)
	for _, r := range rows {
		if frames, _, err := ReadFrames(corpustest.Path(dir, r.File())); err == nil && len(frames[0]) <= fuzzbudget.MaxSeed {
			f.Add(frames[0])
		}
	}
}

// BenchFile is a corpus file a benchmark decodes, with the name of its sub-benchmark.
type BenchFile struct{ Name, File string }

// BenchFrames reads the corpus file named file and returns its frames and Image, failing the
// benchmark on error. It skips the benchmark when the corpus is absent.
func BenchFrames(b *testing.B, file string) ([][]byte, codec.Image) {
	b.Helper()
	frames, im, err := ReadFrames(corpustest.Path(corpustest.Need(b), file))
	if err != nil {
		b.Fatal(err)
	}
	return frames, im
}

// BenchDecode measures the decoding of the first frame of each file with dec, in MB/s of native
// output, one sub-benchmark a file.
func BenchDecode(b *testing.B, dec codec.DecoderFunc, files ...BenchFile) {
	corpustest.Need(b)
	for _, bf := range files {
		b.Run(bf.Name, func(b *testing.B) {
			frames, im := BenchFrames(b, bf.File)
			b.SetBytes(im.FrameSize())
			var dst []byte
			var err error
			for b.Loop() {
				if dst, _, err = dec(dst, frames[0], im); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchEncode measures the encoding with enc of the first frame of file, decoded with dec, in
// MB/s of native input and frames/s.
func BenchEncode(b *testing.B, file string, dec codec.DecoderFunc, enc codec.EncoderFunc) {
	frames, im := BenchFrames(b, file)
	frame, out, err := dec(nil, frames[0], im)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(out.FrameSize())
	var dst []byte
	for b.Loop() {
		if dst, _, err = enc(dst, frame, out, codec.EncodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
