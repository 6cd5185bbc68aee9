package ul

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// BenchmarkStream sends a 4 MiB data set from requestor to acceptor over
// loopback TCP with 256 KiB PDUs, streamed on both ends.
func BenchmarkStream(b *testing.B) {
	client, server := tcpPair(b)
	ch := acceptAsync(server, Config{}, testPolicy())
	req, err := Request(context.Background(), client, testRQ(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	res := <-ch
	if res.err != nil {
		b.Fatal(res.err)
	}
	acc := res.a
	data := make([]byte, 4<<20)
	src := bytes.NewReader(data)
	ctx := context.Background()
	errc := make(chan error, 1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(data)
		go func() { errc <- req.WriteStream(ctx, 1, false, src) }()
		s, err := acc.ReadStream(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, s)
		if err != nil || n != int64(len(data)) {
			b.Fatal(n, err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	done := make(chan error, 1)
	go func() { _, _ = acc.ReadStream(ctx); done <- acc.Release(ctx) }()
	if err := req.Release(ctx); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
