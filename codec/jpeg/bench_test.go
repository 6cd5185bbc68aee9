package jpeg

import (
	"sort"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
)

// BenchmarkDecode decodes every frame of the corpus files of each transfer syntax (the files
// bench/codec/jpeg.sh times DCMTK's dcmdjpeg on) and reports native output bytes per second.
func BenchmarkDecode(b *testing.B) {
	dir, rows := corpustest.Manifest(b)
	type job struct {
		frames [][]byte
		im     codec.Image
	}
	jobs := map[string][]job{}
	for _, r := range rows {
		ts := r["transfer_syntax_uid"]
		if !syntaxes[ts] || r.Malformed() || !strings.HasPrefix(r["ref_status"], "ok") {
			continue
		}
		ds, err := readDICOM(corpustest.Path(dir, r.File()))
		if err != nil {
			b.Fatal(err)
		}
		im, _, err := codec.ImageOf(ds)
		if err != nil {
			b.Fatal(err)
		}
		frames, err := codec.Frames(ds)
		if err != nil {
			b.Fatal(err)
		}
		jobs[ts] = append(jobs[ts], job{frames, im})
	}
	keys := make([]string, 0, len(jobs))
	for k := range jobs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, ts := range keys {
		b.Run(ts, func(b *testing.B) {
			var total int64
			for _, j := range jobs[ts] {
				total += int64(len(j.frames)) * j.im.FrameSize()
			}
			b.SetBytes(total)
			var buf []byte
			var err error
			for b.Loop() {
				for _, j := range jobs[ts] {
					for _, f := range j.frames {
						if buf, _, err = Decode(buf, f, j.im); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
		})
	}
}

// BenchmarkEncode encodes a 512×512 16-bit frame losslessly and an RGB frame as baseline.
func BenchmarkEncode(b *testing.B) {
	g16, gim := testImage(512, 512, 1, 16, 12)
	rgb, rim := testImage(512, 512, 3, 8, 8)
	b.Run("lossless-16", func(b *testing.B) {
		b.SetBytes(int64(len(g16)))
		var buf []byte
		for b.Loop() {
			buf, _, _ = EncodeLossless(buf, g16, gim, codec.EncodeOptions{})
		}
	})
	b.Run("baseline-rgb", func(b *testing.B) {
		b.SetBytes(int64(len(rgb)))
		var buf []byte
		for b.Loop() {
			buf, _, _ = EncodeBaseline(buf, rgb, rim, codec.EncodeOptions{})
		}
	})
}
