package codecs

import "github.com/lightbox-pacs/lightbox/codec"

// native lists the pure Go codecs.
func native() []codec.Codec {
	return nil
}
