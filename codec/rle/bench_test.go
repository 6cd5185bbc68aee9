package rle_test

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codectest"
	"github.com/lightbox-pacs/lightbox/codec/rle"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

type benchFile struct {
	name   string
	in     codec.Image
	frames [][]byte
	size   int64 // decoded bytes of all frames
}

// benchFiles loads the frames of every RLE file of the corpus.
func benchFiles(b *testing.B) []benchFile {
	dir, rows := codectest.Rows(b, rle.TransferSyntax)
	var out []benchFile
	for _, r := range rows {
		f, err := codectest.ReadFile(corpustest.Path(dir, r.File()))
		if err != nil {
			b.Fatal(err)
		}
		in, _, err := codec.ImageOf(f.Dataset)
		if err != nil {
			b.Fatal(err)
		}
		frames, err := codec.Frames(f.Dataset)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, benchFile{r.File(), in, frames, in.FrameSize() * int64(len(frames))})
	}
	return out
}

// BenchmarkDecode decodes the frames of each RLE corpus file (MB/s of decoded pixels), and of
// all of them together ("all"), the figure bench/codec/rle.sh sets beside DCMTK's dcmdrle.
func BenchmarkDecode(b *testing.B) {
	files := benchFiles(b)
	run := func(b *testing.B, fs []benchFile) {
		var size int64
		for _, f := range fs {
			size += f.size
		}
		b.SetBytes(size)
		b.ReportAllocs()
		var dst []byte
		for b.Loop() {
			for _, f := range fs {
				for _, fr := range f.frames {
					var err error
					if dst, _, err = rle.Decode(dst, fr, f.in); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	b.Run("all", func(b *testing.B) { run(b, files) })
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) { run(b, []benchFile{f}) })
	}
}

// BenchmarkEncode encodes the decoded frames of all RLE corpus files (MB/s of native pixels).
func BenchmarkEncode(b *testing.B) {
	files := benchFiles(b)
	type native struct {
		in    codec.Image
		frame []byte
	}
	var frames []native
	var size int64
	for _, f := range files {
		for _, fr := range f.frames {
			d, _, err := rle.Decode(nil, fr, f.in)
			if err != nil {
				b.Fatal(err)
			}
			frames = append(frames, native{f.in, d})
			size += int64(len(d))
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var dst []byte
	for b.Loop() {
		for _, n := range frames {
			var err error
			if dst, _, err = rle.Encode(dst, n.frame, n.in, codec.EncodeOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecodeFile reads, parses and decodes every RLE corpus file from disk (MB/s of decoded
// pixels): the in-process work dcmdrle does, short of writing the result.
func BenchmarkDecodeFile(b *testing.B) {
	dir, rows := codectest.Rows(b, rle.TransferSyntax)
	reg := codec.NewRegistry(rle.Codec())
	var size int64
	for _, r := range rows {
		d, err := codectest.DecodeFile(corpustest.Path(dir, r.File()), reg)
		if err != nil {
			b.Fatal(err)
		}
		size += int64(len(d.Pixels))
	}
	b.SetBytes(size)
	for b.Loop() {
		for _, r := range rows {
			if _, err := codectest.DecodeFile(corpustest.Path(dir, r.File()), reg); err != nil {
				b.Fatal(err)
			}
		}
	}
}
