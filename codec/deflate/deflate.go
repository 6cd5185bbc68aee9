// Package deflate implements the Deflated Image Frame Compression transfer syntax
// (1.2.840.10008.1.2.8.1, PS3.5 8.2.16 and A.4.13) in Go.
//
// Each frame is the native frame (the layout of Explicit VR Little Endian Pixel Data, any Bits
// Allocated, either Planar Configuration; PS3.5 8.2.16 puts no restriction on the pixel
// attributes) compressed on its own as a raw deflate stream (RFC 1951, no zlib or gzip wrapper),
// in exactly one fragment, followed by a zero byte when the stream has odd length (PS3.5 A.4.13);
// that byte lies past the end of the stream and is ignored. A frame of Bits Allocated 1 is taken
// as its own byte stream: ceil(pixels × samples / 8) bytes starting on a byte boundary, as the
// codec package passes such frames. Decoding leaves the pixels as they are: the Image returned is
// the Image given.
//
// The decoder never produces more than the frame size plus one byte, so a small stream that
// inflates to gigabytes (a deflate bomb) costs an error, not memory. Deflate is in Go's standard
// library, so Lightbox needs no other library for this syntax.
package deflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"slices"

	"github.com/lightbox-pacs/lightbox/codec"
)

// TransferSyntax is the UID of Deflated Image Frame Compression.
const TransferSyntax = "1.2.840.10008.1.2.8.1"

// Codec returns the Deflated Image Frame Compression codec.
func Codec() codec.Codec {
	return codec.Codec{
		TransferSyntax: TransferSyntax,
		Name:           "Deflated Image Frame Compression (Go)",
		Decoder:        codec.DecoderFunc(Decode),
		Encoder:        codec.EncoderFunc(Encode),
	}
}

// Decode inflates one frame described by in, appending the native frame to dst[:0]. The stream
// must inflate to exactly in.FrameSize() bytes; for a frame of odd size one more zero byte (an
// encoder that padded the native frame to even length before compressing it) is tolerated and
// dropped. It takes at most
// in.FrameSize()+1 bytes of output from the stream (and, after such a padding byte, looks at one
// more to see that the stream ends there).
func Decode(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	if err := in.Check(); err != nil {
		return nil, in, fmt.Errorf("deflate: %w", err)
	}
	size := int(in.FrameSize())
	// A deflate stream expands at most about 1032 times: refuse before allocating the frame when
	// src is far too small to fill it.
	if int64(size) > 1100*int64(len(src))+1024 {
		return nil, in, fmt.Errorf("deflate: %w: %d bytes cannot inflate to a frame of %d bytes", codec.ErrCorrupt, len(src), size)
	}
	// The output grows with what the stream actually produces, up to size+1 bytes, so that a
	// stream that stops early costs what it produced, not the declared frame.
	limit := size + 1
	out := slices.Grow(dst[:0], min(limit, 4*len(src)+64<<10))
	out = out[:cap(out)]
	zr := flate.NewReader(bytes.NewReader(src))
	defer zr.Close()
	n := 0
	var err error
	for n < limit && err == nil {
		if n == len(out) {
			out = slices.Grow(out[:n], min(limit, 4*n)-n)
			out = out[:cap(out)]
		}
		var m int
		m, err = zr.Read(out[n:min(len(out), limit)])
		n += m
	}
	out = out[:n]
	if n == limit {
		// One byte more than the frame: acceptable only as the zero padding of an odd-sized
		// frame at the very end of the stream.
		padded := size%2 == 1 && out[size] == 0
		if padded && err == nil {
			// Look for the end of the stream: one byte more means a stream too long.
			var one [1]byte
			m, rerr := zr.Read(one[:])
			err = rerr
			if m != 0 {
				err = nil
			}
		}
		if !padded || err != io.EOF {
			return nil, in, fmt.Errorf("deflate: %w: stream inflates to more than the frame's %d bytes", codec.ErrTooLarge, size)
		}
		return out[:size], in, nil
	}
	if err != io.EOF {
		return nil, in, fmt.Errorf("deflate: %w: %w", codec.ErrCorrupt, err)
	}
	if n != size {
		return nil, in, fmt.Errorf("deflate: %w: stream inflates to %d bytes, the frame has %d", codec.ErrCorrupt, n, size)
	}
	return out[:size], in, nil
}

// Encode deflates the native frame described by in, appending the raw deflate stream to dst[:0].
// The Image returned is in: the syntax keeps the native layout.
func Encode(dst, frame []byte, in codec.Image, _ codec.EncodeOptions) ([]byte, codec.Image, error) {
	if err := in.Check(); err != nil {
		return nil, in, fmt.Errorf("deflate: %w", err)
	}
	size := int(in.FrameSize())
	if len(frame) < size {
		return nil, in, fmt.Errorf("deflate: %w: frame of %d bytes, %d expected", codec.ErrCorrupt, len(frame), size)
	}
	buf := bytes.NewBuffer(dst[:0])
	zw, err := flate.NewWriter(buf, flate.DefaultCompression)
	if err != nil {
		return nil, in, fmt.Errorf("deflate: %w", err)
	}
	if _, err := zw.Write(frame[:size]); err != nil {
		return nil, in, fmt.Errorf("deflate: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, in, fmt.Errorf("deflate: %w", err)
	}
	return buf.Bytes(), in, nil
}
