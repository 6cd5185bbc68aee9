// Package codecs assembles the codecs Lightbox ships into a codec.Registry: the pure Go ones
// always, and the ones built on C libraries (OpenJPEG, CharLS, OpenJPH) when cgo is enabled and
// the build tag nocgocodecs is not given. A CGO_ENABLED=0 build therefore still works; it serves
// what it can decode natively, and the registry says what is missing.
package codecs

import (
	"sync"

	"github.com/lightbox-pacs/lightbox/codec"
)

// Registry returns the registry of every codec this build has. It is built once and is
// immutable.
func Registry() *codec.Registry { return registry() }

var registry = sync.OnceValue(func() *codec.Registry {
	return codec.NewRegistry(append(native(), cgoCodecs()...)...)
})
