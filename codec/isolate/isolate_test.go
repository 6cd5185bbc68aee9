package isolate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
)

// testDecoder is served by this test binary when started as a worker: "abort" ends the
// process with a message on stderr, "sleep" outlasts the time limit, "corrupt" and
// "unsupported" return those errors, and anything else comes back reversed with the Image's
// rows doubled.
func testDecoder(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	switch string(src) {
	case "abort":
		fmt.Fprintln(os.Stderr, "decoder.c:42: assertion failed")
		os.Exit(134)
	case "sleep":
		time.Sleep(10 * time.Second)
	case "corrupt":
		return nil, in, fmt.Errorf("test: %w: bad marker", codec.ErrCorrupt)
	case "unsupported":
		return nil, in, fmt.Errorf("test: %w: no such thing", codec.ErrUnsupported)
	}
	dst = dst[:0]
	for i := len(src) - 1; i >= 0; i-- {
		dst = append(dst, src[i])
	}
	in.Rows *= 2
	return dst, in, nil
}

func init() { Serve("isolate-test", testDecoder) }

var testImage = codec.Image{Rows: 3, Columns: 4, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 12, PixelRepresentation: 1, Photometric: "MONOCHROME1"}

func TestDecode(t *testing.T) {
	p := NewPool("isolate-test")
	defer p.Close()
	src := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB, more than the pipe buffers
	want := make([]byte, len(src))
	for i := range src {
		want[i] = src[len(src)-1-i]
	}
	got, im, err := p.Decode(nil, src, testImage)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("decoded bytes differ")
	}
	wantIm := testImage
	wantIm.Rows = 6
	if im != wantIm {
		t.Errorf("image %+v, want %+v", im, wantIm)
	}
}

func TestErrors(t *testing.T) {
	p := NewPool("isolate-test")
	defer p.Close()
	for _, tt := range []struct {
		src  string
		want error
		text string
	}{
		{"corrupt", codec.ErrCorrupt, "test: codec: corrupt data: bad marker"},
		{"unsupported", codec.ErrUnsupported, "no such thing"},
		{"abort", codec.ErrCorrupt, "decoder.c:42: assertion failed"},
		{"sleep", codec.ErrCorrupt, "killed after"},
		{"fine", nil, ""},
	} {
		t.Run(tt.src, func(t *testing.T) {
			_, _, err := p.Decode(nil, []byte(tt.src), testImage)
			if !errors.Is(err, tt.want) || (err != nil && !strings.Contains(err.Error(), tt.text)) {
				t.Fatalf("error %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
}

// TestConcurrent decodes from several goroutines while some frames end their worker: every
// frame gets its own answer.
func TestConcurrent(t *testing.T) {
	p := NewPool("isolate-test")
	defer p.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				if (g+i)%10 == 0 {
					if _, _, err := p.Decode(nil, []byte("abort"), testImage); !errors.Is(err, codec.ErrCorrupt) {
						t.Errorf("abort: %v", err)
					}
					continue
				}
				src := []byte(fmt.Sprintf("frame %d of %d", i, g))
				got, _, err := p.Decode(nil, src, testImage)
				if err != nil || len(got) != len(src) || got[0] != src[len(src)-1] {
					t.Errorf("%s: %q, %v", src, got, err)
				}
			}
		}()
	}
	wg.Wait()
}
