package codecs_test

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/codec/deflate"
	"github.com/lightbox-pacs/lightbox/codec/rle"
)

// TestNative checks that every build, with or without cgo, decodes and encodes the transfer
// syntaxes the pure Go codecs handle.
func TestNative(t *testing.T) {
	r := codecs.Registry()
	for _, ts := range []string{rle.TransferSyntax, deflate.TransferSyntax} {
		c, ok := r.Lookup(ts)
		if !ok || !r.CanDecode(ts) || !r.CanEncode(ts) {
			t.Errorf("%s: registered %v, decode %v, encode %v", ts, ok, r.CanDecode(ts), r.CanEncode(ts))
			continue
		}
		if c.Lossy || c.Name == "" {
			t.Errorf("%s: %+v", ts, c)
		}
	}
	if r != codecs.Registry() {
		t.Error("the registry is built more than once")
	}
}
