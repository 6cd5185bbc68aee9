//go:build cgo && !nocgocodecs

package codecs

import (
	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/charls"
	"github.com/lightbox-pacs/lightbox/codec/openjpeg"
	"github.com/lightbox-pacs/lightbox/codec/openjph"
)

// CGO reports whether the codecs built on C libraries are part of this build.
const CGO = true

// cgoCodecs lists the codecs built on C libraries: OpenJPEG decodes JPEG 2000 and HTJ2K and
// encodes JPEG 2000; OpenJPH, listed after it, adds the HTJ2K Lossless RPCL encoder; CharLS
// decodes and encodes JPEG-LS.
func cgoCodecs() []codec.Codec {
	var out []codec.Codec
	out = append(out, openjpeg.Codecs()...)
	out = append(out, openjph.Codecs()...)
	out = append(out, charls.Codecs()...)
	return out
}
