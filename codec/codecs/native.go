package codecs

import (
	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/deflate"
	"github.com/lightbox-pacs/lightbox/codec/jpeg"
	"github.com/lightbox-pacs/lightbox/codec/rle"
)

// native lists the pure Go codecs. They come before the codecs built on C libraries (see
// cgoCodecs), so that for a transfer syntax both handle, the C implementation wins where it has
// a decoder or encoder and the Go one remains where it has not (codec.NewRegistry).
func native() []codec.Codec {
	return append([]codec.Codec{
		rle.Codec(),     // RLE Lossless, PS3.5 annex G
		deflate.Codec(), // Deflated Image Frame Compression, PS3.5 8.2.16
	}, jpeg.Codecs()...) // JPEG baseline, extended, full progression and lossless (T.81)
}
