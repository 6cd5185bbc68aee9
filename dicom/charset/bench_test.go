package charset

import (
	"strings"
	"testing"
)

func BenchmarkDecodeASCII(b *testing.B) {
	s := mustNew(b, "ISO_IR 100")
	v := []byte(strings.Repeat("Doe^John^^Dr^PhD", 4))
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.DecodePN(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeASCII(b *testing.B) {
	s := mustNew(b, "ISO_IR 100")
	v := strings.Repeat("Doe^John^^Dr^PhD", 4)
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.EncodePN(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeLatin1(b *testing.B) {
	s := mustNew(b, "ISO_IR 100")
	v := []byte(strings.Repeat("Buc^J\xe9r\xf4me=M\xfcller^J\xfcrgen ", 4))
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.DecodePN(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJapanese(b *testing.B) {
	s := mustNew(b, "", "ISO 2022 IR 87")
	v := []byte("Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B")
	_, _ = s.DecodePN(v) // build the table outside the timing
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.DecodePN(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeJapanese(b *testing.B) {
	s := mustNew(b, "", "ISO 2022 IR 87")
	v := "Yamada^Tarou=山田^太郎=やまだ^たろう"
	_, _ = s.EncodePN(v)
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.EncodePN(v); err != nil {
			b.Fatal(err)
		}
	}
}
