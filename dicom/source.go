package dicom

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// source is where the decoder takes bytes from: a byte slice (values alias it, nothing is copied)
// or a stream (values are copied into arena chunks, so a header costs a handful of allocations).
type source interface {
	// peek returns up to n (≤ 132) bytes without consuming them; fewer only at end of input.
	peek(n int) []byte
	// take consumes n bytes and returns them. The slice is only valid until the next call.
	take(n int) ([]byte, error)
	// value consumes n bytes and returns them in a slice the caller may keep. Memory grows with
	// the bytes actually read, never with n alone.
	value(n int64) ([]byte, error)
	// skip consumes n bytes without keeping them.
	skip(n int64) error
	// pos is the offset of the next byte, counted from the start of the input.
	pos() int64
	// remaining is the number of bytes left, or -1 when unknown.
	remaining() int64
	// stream returns a reader over the next n bytes, for bulk handlers; it must be drained or
	// abandoned before the next call.
	stream(n int64) io.Reader
}

type bytesSource struct {
	b    []byte
	off  int
	base int64 // offset of b[0] in the input
}

func (s *bytesSource) peek(n int) []byte {
	if s.off+n > len(s.b) {
		return s.b[s.off:]
	}
	return s.b[s.off : s.off+n]
}

func (s *bytesSource) take(n int) ([]byte, error) {
	if n > len(s.b)-s.off {
		s.off = len(s.b)
		return nil, io.ErrUnexpectedEOF
	}
	v := s.b[s.off : s.off+n : s.off+n]
	s.off += n
	return v, nil
}

func (s *bytesSource) value(n int64) ([]byte, error) {
	if n > int64(len(s.b)-s.off) {
		return nil, io.ErrUnexpectedEOF
	}
	return s.take(int(n))
}

func (s *bytesSource) skip(n int64) error {
	if n > int64(len(s.b)-s.off) {
		s.off = len(s.b)
		return io.ErrUnexpectedEOF
	}
	s.off += int(n)
	return nil
}

func (s *bytesSource) pos() int64       { return s.base + int64(s.off) }
func (s *bytesSource) remaining() int64 { return int64(len(s.b) - s.off) }
func (s *bytesSource) stream(n int64) io.Reader {
	end := s.off + int(n)
	if end > len(s.b) || n < 0 {
		end = len(s.b)
	}
	r := &bytesStream{s: s, end: end}
	return r
}

type bytesStream struct {
	s   *bytesSource
	end int
}

func (r *bytesStream) Read(p []byte) (int, error) {
	if r.s.off >= r.end {
		return 0, io.EOF
	}
	n := copy(p, r.s.b[r.s.off:r.end])
	r.s.off += n
	return n, nil
}

// arenaChunk is the size of the chunks small values are copied into when reading a stream.
const arenaChunk = 32 << 10

// growStep bounds how much a large value's buffer grows ahead of the bytes read, so that a
// hostile length cannot make us allocate memory the input does not back.
const growStep = 1 << 20

type streamSource struct {
	r       *bufio.Reader
	under   io.Reader // the reader under r, for seeking past skipped values
	off     int64
	size    int64 // total size when known (seekable input), else -1
	arena   []byte
	scratch [16]byte
	limit   int64 // maximum number of bytes to read (deflate bombs), 0 = none
	// bound, when positive, is the offset the input cannot go past (an inflated stream's limit):
	// longer values are refused at once.
	bound int64
}

func newStreamSource(r io.Reader, base int64, size int64) *streamSource {
	return &streamSource{r: bufio.NewReaderSize(r, 16<<10), under: r, off: base, size: size}
}

func (s *streamSource) peek(n int) []byte {
	b, _ := s.r.Peek(n)
	return b
}

func (s *streamSource) take(n int) ([]byte, error) {
	var buf []byte
	if n <= len(s.scratch) {
		buf = s.scratch[:n]
	} else {
		buf = make([]byte, n)
	}
	m, err := io.ReadFull(s.r, buf)
	s.off += int64(m)
	if err != nil {
		return nil, eofToUnexpected(err)
	}
	return buf, s.checkLimit()
}

func (s *streamSource) checkLimit() error {
	if s.limit > 0 && s.off > s.limit {
		return fmt.Errorf("%w: more than %d bytes after decompression", ErrLimit, s.limit)
	}
	return nil
}

func (s *streamSource) value(n int64) ([]byte, error) {
	if n <= arenaChunk/4 {
		if int64(cap(s.arena)-len(s.arena)) < n {
			s.arena = make([]byte, 0, arenaChunk)
		}
		start := len(s.arena)
		s.arena = s.arena[:start+int(n)]
		v := s.arena[start : start+int(n) : start+int(n)]
		m, err := io.ReadFull(s.r, v)
		s.off += int64(m)
		if err != nil {
			return nil, eofToUnexpected(err)
		}
		return v, s.checkLimit()
	}
	if s.size >= 0 && n > s.size-s.off {
		return nil, io.ErrUnexpectedEOF
	}
	if s.bound > 0 && n > s.bound-s.off {
		return nil, fmt.Errorf("%w: value of %d bytes past the inflated size limit", ErrLimit, n)
	}
	// Large value: grow with the data actually read, even under a bound: a few hundred deflated
	// bytes can declare a value as long as the bound, which inflates to nothing.
	initial := n
	if initial > growStep {
		initial = growStep
	}
	buf := make([]byte, 0, initial)
	for int64(len(buf)) < n {
		want := n - int64(len(buf))
		if free := int64(cap(buf) - len(buf)); free == 0 {
			grow := int64(len(buf))
			if grow > 64*growStep {
				grow = 64 * growStep
			}
			if grow > want {
				grow = want
			}
			buf = append(buf[:cap(buf)], make([]byte, grow)...)[:len(buf)]
		}
		free := int64(cap(buf) - len(buf))
		if free > want {
			free = want
		}
		m, err := io.ReadFull(s.r, buf[len(buf):len(buf)+int(free)])
		buf = buf[:len(buf)+m]
		s.off += int64(m)
		if err != nil {
			return nil, eofToUnexpected(err)
		}
		if err := s.checkLimit(); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func (s *streamSource) skip(n int64) error {
	if sk, ok := s.under.(io.Seeker); ok && s.size >= 0 && n > int64(s.r.Buffered()) {
		if n > s.size-s.off {
			return io.ErrUnexpectedEOF
		}
		ahead := n - int64(s.r.Buffered())
		if _, err := sk.Seek(ahead, io.SeekCurrent); err != nil {
			return fmt.Errorf("seek: %w", err)
		}
		s.r.Reset(s.under)
		s.off += n
		return nil
	}
	m, err := s.r.Discard(int(min(n, int64(^uint(0)>>1))))
	s.off += int64(m)
	if err != nil {
		return eofToUnexpected(err)
	}
	return s.checkLimit()
}

func (s *streamSource) pos() int64 { return s.off }

func (s *streamSource) remaining() int64 {
	if s.size < 0 {
		return -1
	}
	return s.size - s.off
}

func (s *streamSource) stream(n int64) io.Reader {
	return &countingReader{r: io.LimitReader(s.r, n), n: &s.off}
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	*c.n += int64(m)
	return m, err
}

func eofToUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// limitedReader fails once more than max bytes have been read: the guard against deflate bombs.
type limitedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n >= l.max {
		// Let a reader that is exactly at its end report EOF rather than an error.
		var one [1]byte
		if m, _ := l.r.Read(one[:]); m == 0 {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w: inflated data set larger than %d bytes", ErrLimit, l.max)
	}
	if int64(len(p)) > l.max-l.n {
		p = p[:l.max-l.n]
	}
	m, err := l.r.Read(p)
	l.n += int64(m)
	return m, err
}
