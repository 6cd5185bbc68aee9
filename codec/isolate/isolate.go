// Package isolate runs a frame decoder in worker processes, so that a C library which stops its
// process on hostile input (a failed assertion, a crash) ends one worker, not the server. The
// caller gets codec.ErrCorrupt for that frame, the next frame gets a fresh worker.
//
// Why: the HTJ2K block decoders of the C libraries Debian ships (OpenJPEG 2.5.0 and OpenJPH
// 0.9.0) are built with assertions on, and random changes to a small valid HTJ2K codestream
// make either abort within seconds. Neither can be made safe by checking headers in Go, since
// the failing checks are on code-block data. Decoding in a process of its own is what browsers
// do with image decoders for the same reason.
//
// A worker is this same executable, started with the environment variable LIGHTBOX_ISOLATE_WORKER
// set to a decoder name. The package that defines the decoder calls Serve with that name from
// its init function: in a worker, Serve answers requests on stdin and stdout and exits when
// stdin closes (also when the parent dies); anywhere else it returns at once. So it works in
// the lightbox binary and in every test binary that links the decoder, with no extra program
// to install.
//
// Cost, measured on the 2-core development machine (BenchmarkDecode in package openjph, one
// frame at a time): OpenJPH takes 1.47 ms for a 512×512 16-bit HTJ2K CT frame in process and
// 1.88 ms in a worker, 5.9 and 7.4 ms for a 1024×1024 XA frame; both stay ahead of OpenJPEG
// in process (2.75 and 12.2 ms). Pipes are grown to 1 MiB where Linux allows it, which took
// a third off the overhead of 64 KiB pipes. Workers are started when needed, at most
// GOMAXPROCS per pool, and kept while idle.
package isolate

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
)

// EnvWorker is the environment variable that makes a process a worker for the decoder it names.
const EnvWorker = "LIGHTBOX_ISOLATE_WORKER"

// maxFrame bounds what a worker accepts or returns (a frame of 65535×65535×3×16 bits is 24 GiB,
// far past any real one; the decoders check sizes against the data set before this).
const maxFrame = 1 << 32

// A worker may take BaseTimeout plus PerMBTimeout for each MB of decoded frame before it is
// killed. The libraries decode 170–390 MB/s on the development machine, so a real frame
// needs a small part of that; some hostile codestreams of a few hundred bytes keep OpenJPH
// busy for seconds.
const (
	BaseTimeout  = 500 * time.Millisecond
	PerMBTimeout = 100 * time.Millisecond
)

// timeout is the time a worker gets for a frame of im.
func timeout(im codec.Image) time.Duration {
	return BaseTimeout + time.Duration(max(im.FrameSize(), 0)>>20)*PerMBTimeout
}

// Serve makes this process a worker for the decoder name when EnvWorker says so: it decodes
// requests from stdin with dec, answers on stdout, and exits when stdin closes. Otherwise it
// returns at once. Call it from the init function of the package that defines dec.
func Serve(name string, dec codec.DecoderFunc) {
	if os.Getenv(EnvWorker) != name {
		return
	}
	r := bufio.NewReaderSize(os.Stdin, 1<<16)
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	var dst []byte
	for {
		in, src, err := readRequest(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				os.Exit(0)
			}
			fmt.Fprintf(os.Stderr, "isolate: %v\n", err)
			os.Exit(2)
		}
		out, im, derr := dec(dst[:0], src, in)
		if derr == nil {
			dst = out
		}
		if err := writeResponse(w, out, im, derr); err != nil {
			os.Exit(2)
		}
	}
}

// Pool starts and keeps the workers of one decoder.
type Pool struct {
	name string
	sem  chan struct{}

	mu   sync.Mutex
	idle []*worker
}

// NewPool returns a pool of at most GOMAXPROCS workers for the decoder name. No process is
// started until the first Decode.
func NewPool(name string) *Pool {
	return &Pool{name: name, sem: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
}

// Decode decodes src in a worker; it has the signature of codec.DecoderFunc. The errors of the
// decoder keep their codec sentinels (codec.ErrCorrupt, codec.ErrUnsupported,
// codec.ErrTooLarge). A worker that dies or runs out of time gives codec.ErrCorrupt, with
// the last line it wrote to stderr (an assertion message, say).
func (p *Pool) Decode(dst, src []byte, in codec.Image) ([]byte, codec.Image, error) {
	p.sem <- struct{}{}
	defer func() { <-p.sem }()
	w, err := p.get()
	if err != nil {
		return nil, in, err
	}
	out, im, derr, werr := w.decode(dst, src, in)
	if werr != nil {
		w.kill()
		return nil, in, fmt.Errorf("isolate: the %s decoder process ended on this frame (%v%s): %w", p.name, werr, w.lastLine(), codec.ErrCorrupt)
	}
	p.put(w)
	return out, im, derr
}

// Close ends the idle workers. A worker busy at the time goes back to the pool when its frame
// is done, and ends with the process (its stdin closes).
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, w := range idle {
		w.stop()
	}
}

func (p *Pool) get() (*worker, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return w, nil
	}
	p.mu.Unlock()
	return start(p.name)
}

func (p *Pool) put(w *worker) {
	p.mu.Lock()
	p.idle = append(p.idle, w)
	p.mu.Unlock()
}

// worker is one worker process.
type worker struct {
	cmd    *exec.Cmd
	in     *os.File
	out    *os.File
	w      *bufio.Writer
	r      *bufio.Reader
	stderr *tail
}

func start(name string) (*worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("isolate: find this executable to start a %s worker: %w", name, err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), EnvWorker+"="+name)
	t := &tail{}
	cmd.Stderr = t
	inR, in, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("isolate: %w", err)
	}
	out, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		in.Close()
		return nil, fmt.Errorf("isolate: %w", err)
	}
	growPipe(in)
	growPipe(out)
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	// The worker holds its own copies of these ends now.
	inR.Close()
	outW.Close()
	if err != nil {
		in.Close()
		out.Close()
		return nil, fmt.Errorf("isolate: start a %s worker: %w", name, err)
	}
	return &worker{cmd: cmd, in: in, out: out, w: bufio.NewWriterSize(in, 1<<16), r: bufio.NewReaderSize(out, 1<<16), stderr: t}, nil
}

// decode sends one request and reads its answer; werr reports a worker that failed.
func (w *worker) decode(dst, src []byte, in codec.Image) (out []byte, im codec.Image, derr, werr error) {
	var late atomic.Bool
	limit := timeout(in)
	timer := time.AfterFunc(limit, func() { late.Store(true); _ = w.cmd.Process.Kill() })
	defer timer.Stop()
	if err := writeRequest(w.w, src, in); err != nil {
		werr = err
	} else {
		out, im, derr, werr = readResponse(w.r, dst)
	}
	if werr != nil && late.Load() {
		werr = fmt.Errorf("killed after %v", limit)
	}
	return out, im, derr, werr
}

func (w *worker) kill() {
	_ = w.cmd.Process.Kill()
	_ = w.cmd.Wait()
	_ = w.in.Close()
	_ = w.out.Close()
}

func (w *worker) stop() {
	_ = w.in.Close()
	done := make(chan struct{})
	go func() { _ = w.cmd.Wait(); close(done) }()
	select {
	case <-done:
		_ = w.out.Close()
	case <-time.After(5 * time.Second):
		w.kill()
	}
}

// lastLine is the last line the worker wrote to stderr, as ": line", or "".
func (w *worker) lastLine() string {
	s := strings.TrimSpace(w.stderr.String())
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return ""
	}
	return ": " + s
}

// tail keeps the last 4 KiB written to it.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = append(t.b[:0], t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// The wire format, little endian. A request: the Image, then a 4-byte length and the encoded
// frame. A response: a status byte; 0 then the Image, a 4-byte length and the decoded frame;
// or an error kind (errKinds) then a 2-byte length and the message.

var errKinds = []error{nil, codec.ErrCorrupt, codec.ErrUnsupported, codec.ErrTooLarge}

func writeImage(w *bufio.Writer, im codec.Image) {
	var b [7 * 4]byte
	for i, v := range []int{im.Rows, im.Columns, im.SamplesPerPixel, im.BitsAllocated, im.BitsStored, im.PixelRepresentation, im.PlanarConfiguration} {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(v)))
	}
	_, _ = w.Write(b[:])
	_ = w.WriteByte(byte(min(len(im.Photometric), 255)))
	_, _ = w.WriteString(im.Photometric[:min(len(im.Photometric), 255)])
}

func readImage(r *bufio.Reader) (codec.Image, error) {
	var b [7*4 + 1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return codec.Image{}, err
	}
	v := func(i int) int { return int(int32(binary.LittleEndian.Uint32(b[4*i:]))) }
	im := codec.Image{Rows: v(0), Columns: v(1), SamplesPerPixel: v(2), BitsAllocated: v(3), BitsStored: v(4),
		PixelRepresentation: v(5), PlanarConfiguration: v(6)}
	ph := make([]byte, b[28])
	if _, err := io.ReadFull(r, ph); err != nil {
		return im, unexpected(err)
	}
	im.Photometric = string(ph)
	return im, nil
}

func writeBytes(w *bufio.Writer, p []byte) {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(p)))
	_, _ = w.Write(n[:])
	_, _ = w.Write(p)
}

// readBytes reads a length and that many bytes into dst's storage when it is large enough.
func readBytes(r *bufio.Reader, dst []byte) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, unexpected(err)
	}
	size := uint64(binary.LittleEndian.Uint32(n[:]))
	if size > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes", size)
	}
	if uint64(cap(dst)) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	if _, err := io.ReadFull(r, dst); err != nil {
		return nil, unexpected(err)
	}
	return dst, nil
}

func writeRequest(w *bufio.Writer, src []byte, in codec.Image) error {
	if uint64(len(src)) > maxFrame-1 {
		return fmt.Errorf("encoded frame of %d bytes", len(src))
	}
	writeImage(w, in)
	writeBytes(w, src)
	return w.Flush()
}

func readRequest(r *bufio.Reader) (codec.Image, []byte, error) {
	im, err := readImage(r)
	if err != nil {
		return im, nil, err
	}
	src, err := readBytes(r, nil)
	return im, src, err
}

func writeResponse(w *bufio.Writer, out []byte, im codec.Image, derr error) error {
	if derr == nil {
		_ = w.WriteByte(0)
		writeImage(w, im)
		writeBytes(w, out)
		return w.Flush()
	}
	kind := byte(1)
	for i, e := range errKinds[1:] {
		if errors.Is(derr, e) {
			kind = byte(i + 1)
			break
		}
	}
	msg := derr.Error()
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	_ = w.WriteByte(kind)
	var n [2]byte
	binary.LittleEndian.PutUint16(n[:], uint16(len(msg)))
	_, _ = w.Write(n[:])
	_, _ = w.WriteString(msg)
	return w.Flush()
}

// readResponse reads one answer: the decoded frame, or the decoder's error as derr; werr is a
// broken worker.
func readResponse(r *bufio.Reader, dst []byte) (out []byte, im codec.Image, derr, werr error) {
	status, err := r.ReadByte()
	if err != nil {
		return nil, im, nil, unexpected(err)
	}
	if status == 0 {
		if im, err = readImage(r); err != nil {
			return nil, im, nil, unexpected(err)
		}
		out, err := readBytes(r, dst)
		return out, im, nil, err
	}
	if int(status) >= len(errKinds) {
		return nil, im, nil, fmt.Errorf("status %d", status)
	}
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, im, nil, unexpected(err)
	}
	msg := make([]byte, binary.LittleEndian.Uint16(n[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, im, nil, unexpected(err)
	}
	return nil, im, &remoteError{msg: string(msg), kind: errKinds[status]}, nil
}

// remoteError is an error a worker's decoder returned: its text, and the codec sentinel it wrapped.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
