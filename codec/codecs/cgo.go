//go:build cgo && !nocgocodecs

package codecs

import "github.com/lightbox-pacs/lightbox/codec"

// CGO reports whether the codecs built on C libraries are part of this build.
const CGO = true

// cgoCodecs lists the codecs built on C libraries.
func cgoCodecs() []codec.Codec {
	return nil
}
