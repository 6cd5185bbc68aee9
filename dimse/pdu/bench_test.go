package pdu

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkEncodePData16K(b *testing.B) {
	p := &PDataTF{Items: []PDV{{ContextID: 1, Last: true, Data: make([]byte, 16<<10)}}}
	dst := make([]byte, 0, 17<<10)
	b.SetBytes(16 << 10)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendPDU(dst[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamPDV16K is the sender's hot path: a 12-byte header into a
// reused array, then the data, without building a PDU.
func BenchmarkStreamPDV16K(b *testing.B) {
	data := make([]byte, 16<<10)
	var hdr [HeaderLen + PDVHeaderLen]byte
	b.SetBytes(16 << 10)
	b.ReportAllocs()
	for b.Loop() {
		h := AppendSinglePDV(hdr[:0], 1, false, true, uint32(len(data)))
		if _, err := io.Discard.Write(h); err != nil {
			b.Fatal(err)
		}
		if _, err := io.Discard.Write(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePData16K(b *testing.B) {
	in, err := AppendPDU(nil, &PDataTF{Items: []PDV{{ContextID: 1, Last: true, Data: make([]byte, 16<<10)}}})
	if err != nil {
		b.Fatal(err)
	}
	br := bytes.NewReader(in)
	r := NewReader(br, Limits{})
	b.SetBytes(16 << 10)
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(in)
		p, err := r.Next()
		if err != nil {
			b.Fatal(err)
		}
		if len(p.(*PDataTF).Items[0].Data) != 16<<10 {
			b.Fatal("short PDV")
		}
	}
}

func BenchmarkEncodeAssociateRQ(b *testing.B) {
	rq := typicalRQ()
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendPDU(dst[:0], rq); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAssociateRQ(b *testing.B) {
	in := typicalRQBytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(in, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
