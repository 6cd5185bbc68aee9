package pdu

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode checks that any input decodes without panicking, and that an
// accepted PDU encodes and decodes back to the same value.
func FuzzDecode(f *testing.F) {
	for _, tc := range goldenCases {
		f.Add(tc.bytes)
	}
	f.Add(hugeRQ(3, 5))
	f.Add([]byte{0x04, 0, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data, Limits{})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			return
		}
		b, err := AppendPDU(nil, p)
		if err != nil {
			// Encoding writes the Application Context, User Information
			// and Maximum Length items even when the input lacked them,
			// which can overflow a 16-bit item length only for an input
			// already near it.
			if !errors.Is(err, ErrEncode) || len(data) < 60000 {
				t.Fatalf("AppendPDU of a decoded PDU: %v", err)
			}
			return
		}
		// The same growth may cross the length limit: allow for it.
		p2, err := Decode(b, Limits{MaxAssociateLength: DefaultMaxAssociateLength + 64})
		if err != nil {
			t.Fatalf("decode of re-encoded PDU: %v\n in %x\nout %x", err, data, b)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip differs\nfirst  %+v\nsecond %+v", p, p2)
		}
		b2, err := AppendPDU(nil, p2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("second encoding differs: %v\n%x\n%x", err, b, b2)
		}
	})
}

// FuzzReader reads a stream of PDUs until an error: no panic, and the
// Reader never holds more than the limit.
func FuzzReader(f *testing.F) {
	var all []byte
	for _, tc := range goldenCases {
		f.Add(tc.bytes)
		all = append(all, tc.bytes...)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxPDataLength: 1 << 16, MaxAssociateLength: 1 << 16}
		r := NewReader(bytes.NewReader(data), lim)
		for range len(data) + 1 {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		if cap(r.buf) > 2*readChunk {
			t.Fatalf("buffer of %d bytes for a limit of %d", cap(r.buf), 1<<16)
		}
	})
}
