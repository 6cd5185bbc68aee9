package web

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"sync"
)

// metaCache keeps the metadata responses (PS3.18 10.4.1.1.2) assembled recently, keyed by the
// resource, the base URL their BulkDataURIs start with, and their entity tag: a study, series or
// instance that changes gets a new entity tag (metaETag), so a stale entry is never served, only
// left to age out. It holds at most max bytes, least recently used entries going first.
type metaCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	lru   *list.List // of *metaEntry, most recent first
	items map[string]*list.Element
}

// metaEntry is one response: its JSON, and the gzip encoding of it once a client asked for it.
type metaEntry struct {
	key  string
	json []byte
	gz   []byte
}

func (e *metaEntry) bytes() int64 { return int64(len(e.key) + len(e.json) + len(e.gz)) }

func newMetaCache(max int64) *metaCache {
	return &metaCache{max: max, lru: list.New(), items: map[string]*list.Element{}}
}

func metaKey(path, base, etag string) string { return path + "\x00" + base + "\x00" + etag }

// get returns the JSON kept under key, and its gzip encoding when gz is true (compressed and
// kept on first use).
func (c *metaCache) get(key string, gz bool) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	el, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*metaEntry)
	if !gz {
		c.mu.Unlock()
		return e.json, true
	}
	if e.gz != nil {
		c.mu.Unlock()
		return e.gz, true
	}
	raw := e.json
	c.mu.Unlock()
	z := gzipBytes(raw)
	c.mu.Lock()
	if el, ok := c.items[key]; ok && el.Value.(*metaEntry).gz == nil {
		el.Value.(*metaEntry).gz = z
		c.size += int64(len(z))
		c.evict()
	}
	c.mu.Unlock()
	return z, true
}

// put keeps b under key, unless it would take more than an eighth of the cache.
func (c *metaCache) put(key string, b []byte) {
	if c == nil || int64(len(b)) > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	e := &metaEntry{key: key, json: b}
	c.items[key] = c.lru.PushFront(e)
	c.size += e.bytes()
	c.evict()
}

// evict drops least recently used entries until the cache fits; c.mu is held.
func (c *metaCache) evict() {
	for c.size > c.max {
		el := c.lru.Back()
		if el == nil {
			return
		}
		e := c.lru.Remove(el).(*metaEntry)
		delete(c.items, e.key)
		c.size -= e.bytes()
	}
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b) / 4)
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(b) // writes to a bytes.Buffer do not fail
	zw.Close()
	return buf.Bytes()
}
