// Package memconn is an in-memory net.Conn for tests and fuzz targets of network code: the
// local end of a connection to a peer that sends fixed bytes, then closes its side, and reads
// whatever it is sent. Unlike net.Pipe, its reads and writes never block and no goroutine of
// the peer runs, so what the code under test does depends less on scheduling (a fuzzer then finds
// less coverage that is only another interleaving, which it would spend seconds minimising).
package memconn

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// Conn is the local end of the connection. It is safe for concurrent use.
type Conn struct {
	mu     sync.Mutex
	r      *bytes.Reader
	closed bool
	done   chan struct{}
}

// New returns a connection whose reads return in, then io.EOF.
func New(in []byte) *Conn {
	return &Conn{r: bytes.NewReader(in), done: make(chan struct{})}
}

// Done is closed once the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Read reads what the peer sent; after Close it fails with net.ErrClosed.
func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.r.Read(p)
}

// Write discards p; after Close it fails with net.ErrClosed.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return len(p), nil
}

// Close closes the connection (once; later calls do nothing).
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	return nil
}

func (c *Conn) LocalAddr() net.Addr              { return addr{} }
func (c *Conn) RemoteAddr() net.Addr             { return addr{} }
func (c *Conn) SetDeadline(time.Time) error      { return nil }
func (c *Conn) SetReadDeadline(time.Time) error  { return nil }
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

type addr struct{}

func (addr) Network() string { return "memconn" }
func (addr) String() string  { return "memconn" }
