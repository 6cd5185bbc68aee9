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

// cgoCodecs lists the codecs built on C libraries: OpenJPEG decodes and encodes JPEG 2000;
// OpenJPH decodes HTJ2K (with OpenJPEG as its fallback, both in worker processes) and encodes
// HTJ2K Lossless RPCL; CharLS decodes and encodes JPEG-LS.
func cgoCodecs() []codec.Codec {
	var out []codec.Codec
	out = append(out, openjpeg.Codecs()...)
	out = append(out, openjph.Codecs()...)
	out = append(out, charls.Codecs()...)
	return out
}
