package dicomweb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"strings"
)

// Errors of the multipart/related reader. Callers map them to HTTP statuses: all but a read
// error of the underlying stream are the sender's fault (400).
var (
	// ErrNotMultipart: the Content-Type is not multipart/related.
	ErrNotMultipart = errors.New("dicomweb: not a multipart/related payload")
	// ErrNoBoundary: the Content-Type has no (or an invalid) boundary parameter.
	ErrNoBoundary = errors.New("dicomweb: multipart/related payload without a valid boundary parameter")
	// ErrTruncated: the body ends before the closing delimiter.
	ErrTruncated = errors.New("dicomweb: multipart body truncated")
	// ErrHeaderTooLarge: a part's header block (or the preamble) exceeds the limit.
	ErrHeaderTooLarge = errors.New("dicomweb: multipart part header too large")
	// ErrTooManyParts: the payload holds more parts than the limit.
	ErrTooManyParts = errors.New("dicomweb: too many parts in the multipart payload")
	// ErrMalformed: the body does not follow RFC 2046 5.1.1.
	ErrMalformed = errors.New("dicomweb: malformed multipart body")
)

// ReaderLimits bound what a Reader accepts. Zero values select the defaults.
type ReaderLimits struct {
	// MaxHeaderBytes bounds each part's header block, and the preamble (default 16 KiB).
	MaxHeaderBytes int
	// MaxParts bounds the number of parts (default 10,000).
	MaxParts int
}

func (l ReaderLimits) withDefaults() ReaderLimits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 16 << 10
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 10000
	}
	return l
}

// maxPadding bounds the transport padding (spaces and tabs) after a boundary delimiter.
const maxPadding = 64

// Reader reads the parts of a multipart/related body (RFC 2387; PS3.18 8.6 and 8.7) one after
// the other, each as a stream: a part is never held whole in memory, and the reader's buffer
// is fixed.
type Reader struct {
	br       *bufio.Reader
	params   map[string]string
	delim    []byte // CRLF "--" boundary
	limits   ReaderLimits
	parts    int
	cur      *Part
	started  bool
	done     bool
	err      error // sticky
	consumed int64
	// clean is how many of the next unread bytes are known to be the current part's content
	// (scanned already, no delimiter among them), so that a Read given less than a scan found
	// does not scan them again.
	clean int
}

// NewReader returns a reader of the body r whose Content-Type is contentType. It fails with
// ErrNotMultipart when the type is not multipart/related, and ErrNoBoundary when the boundary
// parameter is missing or not a valid RFC 2046 boundary (1 to 70 characters). Quoted
// parameters and the type, start and start-info parameters are accepted.
func NewReader(r io.Reader, contentType string, limits ReaderLimits) (*Reader, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if mt == "" && err != nil {
		return nil, fmt.Errorf("%w: Content-Type %q: %w", ErrNotMultipart, contentType, err)
	}
	if mt != MultipartRelated {
		return nil, fmt.Errorf("%w: Content-Type is %s", ErrNotMultipart, mt)
	}
	if err != nil {
		// A media type with a malformed parameter list: the boundary cannot be trusted.
		return nil, fmt.Errorf("%w: %w", ErrNoBoundary, err)
	}
	b, ok := params[ParamBoundary]
	if !ok || !validBoundary(b) {
		return nil, ErrNoBoundary
	}
	limits = limits.withDefaults()
	size := 64 << 10
	if limits.MaxHeaderBytes+1024 > size {
		size = limits.MaxHeaderBytes + 1024
	}
	return &Reader{
		br:     bufio.NewReaderSize(r, size),
		params: params,
		delim:  []byte("\r\n--" + b),
		limits: limits,
	}, nil
}

// validBoundary checks the boundary against RFC 2046 5.1.1: 1 to 70 characters of bcharsnospace
// or space, not ending with a space.
func validBoundary(b string) bool {
	if len(b) == 0 || len(b) > 70 || b[len(b)-1] == ' ' {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("'()+_,-./:=? ", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Type returns the type parameter of the payload (the media type of its root part), or "".
func (r *Reader) Type() string { return r.params[ParamType] }

// Param returns a parameter of the payload's Content-Type ("start", "start-info", …).
func (r *Reader) Param(name string) string { return r.params[name] }

// Part is one part of a multipart payload: its header fields and its content, read as a stream.
// Its content ends at the next boundary delimiter; reading after the Reader moved on to the next
// part returns io.EOF.
type Part struct {
	Header textproto.MIMEHeader
	r      *Reader
	eof    bool
}

// ContentType returns the part's Content-Type header field, or "" when there is none.
func (p *Part) ContentType() string { return p.Header.Get("Content-Type") }

// NextPart returns the next part, after skipping what was not read of the current one. It
// returns io.EOF after the closing delimiter, ErrTruncated when the body ends before it,
// ErrTooManyParts past the limit.
func (r *Reader) NextPart() (*Part, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		r.started = true
		if err := r.skipPreamble(); err != nil {
			return nil, r.fail(err)
		}
	} else if r.cur != nil && !r.cur.eof {
		if _, err := io.Copy(io.Discard, r.cur); err != nil {
			return nil, r.fail(err)
		}
	}
	r.cur = nil
	r.clean = 0
	if r.done {
		return nil, io.EOF
	}
	r.parts++
	if r.parts > r.limits.MaxParts {
		return nil, r.fail(fmt.Errorf("%w (limit %d)", ErrTooManyParts, r.limits.MaxParts))
	}
	h, err := r.readHeader()
	if err != nil {
		return nil, r.fail(err)
	}
	r.cur = &Part{Header: h, r: r}
	return r.cur, nil
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// readLine reads one line (up to and including LF), counting it against budget.
func (r *Reader) readLine(budget *int) ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	*budget -= len(line)
	r.consumed += int64(len(line))
	if *budget < 0 || errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w (limit %d bytes)", ErrHeaderTooLarge, r.limits.MaxHeaderBytes)
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w after %d bytes", ErrTruncated, r.consumed)
		}
		return nil, err
	}
	return line, nil
}

// skipPreamble reads up to and including the first delimiter line.
func (r *Reader) skipPreamble() error {
	first := r.delim[2:] // "--" boundary: the body may begin with it, without a CRLF before
	budget := r.limits.MaxHeaderBytes
	for {
		line, err := r.readLine(&budget)
		if err != nil {
			if errors.Is(err, ErrTruncated) {
				return fmt.Errorf("%w: no boundary delimiter in the body", ErrTruncated)
			}
			return err
		}
		rest, ok := bytes.CutPrefix(line, first)
		if !ok {
			continue
		}
		rest = bytes.TrimRight(rest, " \t\r\n")
		switch {
		case len(rest) == 0:
			return nil
		case string(rest) == "--":
			r.done = true
			return nil
		}
	}
}

// readHeader reads a part's header fields up to the empty line that ends them.
func (r *Reader) readHeader() (textproto.MIMEHeader, error) {
	h := textproto.MIMEHeader{}
	budget := r.limits.MaxHeaderBytes
	var lastKey string
	for {
		line, err := r.readLine(&budget)
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return h, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// Obsolete line folding: a continuation of the previous field.
			if lastKey == "" {
				return nil, fmt.Errorf("%w: header continuation without a field", ErrMalformed)
			}
			vs := h[lastKey]
			vs[len(vs)-1] += " " + strings.TrimSpace(string(line))
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(bytes.TrimSpace(k)) == 0 {
			return nil, fmt.Errorf("%w: part header line without a colon", ErrMalformed)
		}
		lastKey = textproto.CanonicalMIMEHeaderKey(string(bytes.TrimSpace(k)))
		h.Add(lastKey, string(bytes.TrimSpace(v)))
	}
}

// delimiter kinds seen at a candidate position.
const (
	notDelimiter = iota
	isDelimiter
	undetermined
)

// classify says whether the bytes after a delimiter candidate make it one: "--" (the close
// delimiter) or transport padding then CRLF (RFC 2046 5.1.1). It returns the number of bytes
// after the candidate that belong to the delimiter line, and whether it closes the body.
func classify(rest []byte, eof bool) (kind, n int, final bool) {
	if len(rest) >= 2 && rest[0] == '-' && rest[1] == '-' {
		return isDelimiter, 2, true
	}
	j := 0
	for j < len(rest) && j <= maxPadding && (rest[j] == ' ' || rest[j] == '\t') {
		j++
	}
	switch {
	case j > maxPadding:
		return notDelimiter, 0, false
	case j == len(rest):
		if eof {
			return notDelimiter, 0, false
		}
		return undetermined, 0, false
	case rest[j] == '\n':
		return isDelimiter, j + 1, false
	case rest[j] == '\r':
		if j+1 < len(rest) {
			if rest[j+1] == '\n' {
				return isDelimiter, j + 2, false
			}
			return notDelimiter, 0, false
		}
		if eof {
			return notDelimiter, 0, false
		}
		return undetermined, 0, false
	case rest[j] == '-' && j == 0 && len(rest) == 1 && !eof:
		return undetermined, 0, false
	}
	return notDelimiter, 0, false
}

// Read reads the part's content.
func (p *Part) Read(b []byte) (int, error) {
	if p.eof {
		return 0, io.EOF
	}
	r := p.r
	if r.err != nil {
		return 0, r.err
	}
	if r.cur != p {
		return 0, io.EOF
	}
	if len(b) == 0 {
		return 0, nil
	}
	if r.clean > 0 {
		buf, _ := r.br.Peek(min(len(b), r.clean)) // buffered already: no error
		n := copy(b, buf)
		r.discard(n)
		r.clean -= n
		return n, nil
	}
	need := len(r.delim) + 2 + maxPadding + 2
	buf, perr := r.br.Peek(need)
	if n := r.br.Buffered(); n > len(buf) {
		buf, _ = r.br.Peek(n)
	}
	eof := perr != nil
	if perr != nil && !errors.Is(perr, io.EOF) && !errors.Is(perr, bufio.ErrBufferFull) {
		if len(buf) == 0 {
			return 0, r.fail(perr)
		}
	}
	limit := len(buf)
	for pos := 0; ; {
		i := bytes.Index(buf[pos:], r.delim)
		if i < 0 {
			if !eof {
				limit = max(pos, len(buf)-len(r.delim)+1)
			}
			break
		}
		i += pos
		kind, n, final := classify(buf[i+len(r.delim):], eof)
		if kind == notDelimiter {
			pos = i + 1
			continue
		}
		if kind == isDelimiter && i == 0 {
			r.discard(len(r.delim) + n)
			p.eof = true
			r.done = final
			return 0, io.EOF
		}
		if kind == undetermined && i == 0 {
			return 0, r.fail(fmt.Errorf("%w: boundary delimiter followed by too much padding", ErrMalformed))
		}
		limit = i
		break
	}
	if limit == 0 {
		if eof {
			if errors.Is(perr, io.EOF) {
				return 0, r.fail(fmt.Errorf("%w after %d bytes", ErrTruncated, r.consumed))
			}
			return 0, r.fail(perr)
		}
		return 0, r.fail(fmt.Errorf("%w: cannot find the boundary delimiter", ErrMalformed))
	}
	n := copy(b, buf[:limit])
	r.discard(n)
	r.clean = limit - n
	return n, nil
}

func (r *Reader) discard(n int) {
	d, _ := r.br.Discard(n)
	r.consumed += int64(d)
}

// Writer writes a multipart/related payload (PS3.18 8.6, 8.7) part by part, as a stream.
type Writer struct {
	mw       *multipart.Writer
	partType string
}

// NewWriter returns a writer of a multipart/related payload to w whose parts are of media type
// partType (the type parameter), with a random boundary.
func NewWriter(w io.Writer, partType string) *Writer {
	return &Writer{mw: multipart.NewWriter(w), partType: partType}
}

// Boundary returns the boundary.
func (w *Writer) Boundary() string { return w.mw.Boundary() }

// ContentType returns the Content-Type of the payload: multipart/related; type=…; boundary=….
func (w *Writer) ContentType() string { return MultipartType(w.partType, w.mw.Boundary()) }

// CreatePart starts a part of the given Content-Type (with its parameters) and other header
// fields; its content is then written to the returned writer, until the next CreatePart or
// Close.
func (w *Writer) CreatePart(contentType string, header textproto.MIMEHeader) (io.Writer, error) {
	h := textproto.MIMEHeader{}
	for k, v := range header {
		h[k] = v
	}
	h.Set("Content-Type", contentType)
	pw, err := w.mw.CreatePart(h)
	if err != nil {
		return nil, fmt.Errorf("dicomweb: multipart part: %w", err)
	}
	return pw, nil
}

// Close writes the closing delimiter. It does not close the underlying writer.
func (w *Writer) Close() error {
	if err := w.mw.Close(); err != nil {
		return fmt.Errorf("dicomweb: multipart close: %w", err)
	}
	return nil
}

// Framing makes the delimiters and part headers of a multipart/related payload whose parts'
// contents the caller copies to the destination itself: the payload's length can then be known
// before it is written (an HTTP Content-Length), and a file's content can go from the file to
// the connection without passing through a buffer (sendfile). The bytes are those Writer
// writes.
type Framing struct {
	boundary string
	partType string
}

// NewFraming returns the framing of a payload whose parts are of media type partType (the type
// parameter), with a random boundary.
func NewFraming(partType string) *Framing {
	return &Framing{boundary: multipart.NewWriter(io.Discard).Boundary(), partType: partType}
}

// ContentType returns the Content-Type of the payload: multipart/related; type=…; boundary=….
func (f *Framing) ContentType() string { return MultipartType(f.partType, f.boundary) }

// Part returns what precedes the content of part i (from 0): its delimiter line, after a CRLF
// unless it is the first part, and its header fields: Content-Length when length is not
// negative, then Content-Type (in the order Writer writes them). A Content-Length lets a reader
// take the content without searching it for the delimiter (RFC 2045 allows further header
// fields in a part; readers that do not know one ignore it).
func (f *Framing) Part(i int, contentType string, length int64) []byte {
	b := make([]byte, 0, 2+2+len(f.boundary)+2+len("Content-Length: ")+20+2+len("Content-Type: ")+len(contentType)+4)
	if i > 0 {
		b = append(b, "\r\n"...)
	}
	b = append(b, "--"...)
	b = append(b, f.boundary...)
	b = append(b, "\r\n"...)
	if length >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, length, 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Type: "...)
	b = append(b, contentType...)
	return append(b, "\r\n\r\n"...)
}

// End returns the close delimiter, which follows the last part's content.
func (f *Framing) End() []byte { return []byte("\r\n--" + f.boundary + "--\r\n") }
