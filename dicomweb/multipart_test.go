package dicomweb_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/lightbox-pacs/lightbox/dicomweb"
)

type part struct {
	ctype string
	body  string
}

func build(t *testing.T, parts []part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := dicomweb.NewWriter(&buf, dicomweb.MediaDICOM)
	for _, p := range parts {
		pw, err := w.CreatePart(p.ctype, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(pw, p.body)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.ContentType(), buf.Bytes()
}

func readAll(r *dicomweb.Reader) ([]part, error) {
	var out []part
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return out, err
		}
		out = append(out, part{p.ContentType(), string(b)})
	}
}

func TestMultipartRoundTrip(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 20000)
	tests := []struct {
		name  string
		parts []part
	}{
		{"none", nil},
		{"one", []part{{"application/dicom", "DICM data"}}},
		{"empty part", []part{{"application/dicom", ""}}},
		{"several", []part{{"application/dicom", "a"}, {"application/dicom; transfer-syntax=1.2.840.10008.1.2.1", "bb"}, {"application/octet-stream", "ccc"}}},
		{"large", []part{{"application/dicom", big}, {"application/dicom", big[:1000]}}},
		{"CRLF and dashes in content", []part{{"application/dicom", "\r\n--\r\n--x\r\n\r\n--"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := build(t, tt.parts)
			for _, src := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", bytes.NewReader(body)},
				{"one byte", iotest.OneByteReader(bytes.NewReader(body))},
				{"half", iotest.HalfReader(bytes.NewReader(body))},
			} {
				r, err := dicomweb.NewReader(src.r, ct, dicomweb.ReaderLimits{})
				if err != nil {
					t.Fatal(err)
				}
				if r.Type() != dicomweb.MediaDICOM {
					t.Fatalf("type %q", r.Type())
				}
				got, err := readAll(r)
				if err != nil {
					t.Fatalf("%s: %v", src.name, err)
				}
				if len(got) != len(tt.parts) {
					t.Fatalf("%s: %d parts, want %d", src.name, len(got), len(tt.parts))
				}
				for i := range got {
					if got[i] != tt.parts[i] {
						t.Fatalf("%s: part %d: got %q (%d bytes), want %q", src.name, i, got[i].ctype, len(got[i].body), tt.parts[i].ctype)
					}
				}
			}
		})
	}
}

// A boundary that is a prefix of a line in the content does not end the part.
func TestMultipartBoundaryLookalike(t *testing.T) {
	body := "--b1\r\nContent-Type: application/dicom\r\n\r\nx\r\n--b1x\r\n--b1 \r\n\r\ny\r\n--b1--\r\nepilogue"
	r, err := dicomweb.NewReader(strings.NewReader(body), `multipart/related; type="application/dicom"; boundary="b1"`, dicomweb.ReaderLimits{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []part{{"application/dicom", "x\r\n--b1x"}, {"", "y"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMultipartErrors(t *testing.T) {
	good := "--b\r\nContent-Type: application/dicom\r\n\r\ndata\r\n--b--\r\n"
	tests := []struct {
		name   string
		ctype  string
		body   string
		limits dicomweb.ReaderLimits
		open   error // from NewReader
		read   error // from the parts
	}{
		{"not multipart", "application/dicom", good, dicomweb.ReaderLimits{}, dicomweb.ErrNotMultipart, nil},
		{"garbage type", ";;", good, dicomweb.ReaderLimits{}, dicomweb.ErrNotMultipart, nil},
		{"no boundary", `multipart/related; type="application/dicom"`, good, dicomweb.ReaderLimits{}, dicomweb.ErrNoBoundary, nil},
		{"empty boundary", `multipart/related; boundary=""`, good, dicomweb.ReaderLimits{}, dicomweb.ErrNoBoundary, nil},
		{"long boundary", "multipart/related; boundary=" + strings.Repeat("b", 71), good, dicomweb.ReaderLimits{}, dicomweb.ErrNoBoundary, nil},
		{"quoted boundary", `multipart/related; type="application/dicom"; boundary="b"`, good, dicomweb.ReaderLimits{}, nil, nil},
		{"empty body", "multipart/related; boundary=b", "", dicomweb.ReaderLimits{}, nil, dicomweb.ErrTruncated},
		{"no delimiter", "multipart/related; boundary=b", "just some bytes", dicomweb.ReaderLimits{}, nil, dicomweb.ErrTruncated},
		{"truncated content", "multipart/related; boundary=b", good[:40], dicomweb.ReaderLimits{}, nil, dicomweb.ErrTruncated},
		{"truncated header", "multipart/related; boundary=b", "--b\r\nContent-Ty", dicomweb.ReaderLimits{}, nil, dicomweb.ErrTruncated},
		{"no close delimiter", "multipart/related; boundary=b", strings.TrimSuffix(good, "--\r\n"), dicomweb.ReaderLimits{}, nil, dicomweb.ErrTruncated},
		{"header too large", "multipart/related; boundary=b", "--b\r\nX: " + strings.Repeat("a", 200) + "\r\n\r\n\r\n--b--", dicomweb.ReaderLimits{MaxHeaderBytes: 100}, nil, dicomweb.ErrHeaderTooLarge},
		{"preamble too large", "multipart/related; boundary=b", strings.Repeat("a\r\n", 100) + good, dicomweb.ReaderLimits{MaxHeaderBytes: 100}, nil, dicomweb.ErrHeaderTooLarge},
		{"too many parts", "multipart/related; boundary=b", "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--", dicomweb.ReaderLimits{MaxParts: 2}, nil, dicomweb.ErrTooManyParts},
		{"header without colon", "multipart/related; boundary=b", "--b\r\nbad header\r\n\r\nx\r\n--b--", dicomweb.ReaderLimits{}, nil, dicomweb.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := dicomweb.NewReader(strings.NewReader(tt.body), tt.ctype, tt.limits)
			if !errors.Is(err, tt.open) || (err == nil) != (tt.open == nil) {
				t.Fatalf("NewReader: %v, want %v", err, tt.open)
			}
			if err != nil {
				return
			}
			_, err = readAll(r)
			if !errors.Is(err, tt.read) || (err == nil) != (tt.read == nil) {
				t.Fatalf("read: %v, want %v", err, tt.read)
			}
		})
	}
}

// A part is streamed: reading it does not need the whole part to have arrived.
func TestMultipartStreams(t *testing.T) {
	pr, pw := io.Pipe()
	r, err := dicomweb.NewReader(pr, "multipart/related; boundary=b", dicomweb.ReaderLimits{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		io.WriteString(pw, "--b\r\n\r\n")
		io.WriteString(pw, strings.Repeat("x", 1000))
		// The rest is not sent until the reader has seen the first bytes.
	}()
	p, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(p, buf); err != nil || string(buf) != "xxxxxxxxxx" {
		t.Fatalf("read %q %v", buf, err)
	}
	pw.CloseWithError(io.ErrClosedPipe)
}

func TestParseAccept(t *testing.T) {
	got := dicomweb.ParseAccept([]string{`multipart/related; type="application/dicom"; transfer-syntax=*; q=0.5, application/dicom+json, image/*;q=0`})
	if len(got) != 2 || got[0].Type != dicomweb.MediaDICOMJSON || got[1].Params["type"] != dicomweb.MediaDICOM || got[1].Params["transfer-syntax"] != "*" {
		t.Fatalf("%+v", got)
	}
	if d := dicomweb.ParseAccept(nil); len(d) != 1 || !d[0].Matches("application/dicom") {
		t.Fatalf("default %+v", d)
	}
}

func FuzzMultipartReader(f *testing.F) {
	f.Add("--b\r\nContent-Type: application/dicom\r\n\r\ndata\r\n--b--\r\n", 0)
	f.Add("--b\r\n\r\nx\r\n--b\r\n\r\n\r\n--b \t\r\n\r\ny\r\n--b--", 3)
	f.Fuzz(func(t *testing.T, body string, chunk int) {
		var src io.Reader = strings.NewReader(body)
		if chunk%2 == 1 {
			src = iotest.OneByteReader(src)
		}
		r, err := dicomweb.NewReader(src, "multipart/related; boundary=b", dicomweb.ReaderLimits{MaxHeaderBytes: 256, MaxParts: 16})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for {
			p, err := r.NextPart()
			if err != nil {
				break
			}
			n, err := io.Copy(io.Discard, p)
			total += int(n)
			if err != nil {
				break
			}
		}
		if total > len(body) {
			t.Fatalf("read %d bytes of content from a %d-byte body", total, len(body))
		}
	})
}

// The bytes of a Framing payload are those of a Writer payload with the same boundary, and read
// back as written.
func TestFraming(t *testing.T) {
	f := dicomweb.NewFraming(dicomweb.MediaDICOM)
	contents := []string{"first\r\n--not a delimiter", "", "third"}
	var got bytes.Buffer
	for i, c := range contents {
		length := int64(len(c))
		if i == 1 {
			length = -1 // unknown: no Content-Length
		}
		got.Write(f.Part(i, dicomweb.MediaDICOM+"; transfer-syntax=1.2.840.10008.1.2.1", length))
		got.WriteString(c)
	}
	got.Write(f.End())

	_, params, err := mime.ParseMediaType(f.ContentType())
	if err != nil || params["type"] != dicomweb.MediaDICOM {
		t.Fatalf("Content-Type %q: %v", f.ContentType(), err)
	}
	var want bytes.Buffer
	mw := multipart.NewWriter(&want)
	if err := mw.SetBoundary(params["boundary"]); err != nil {
		t.Fatal(err)
	}
	for i, c := range contents {
		h := textproto.MIMEHeader{"Content-Type": {dicomweb.MediaDICOM + "; transfer-syntax=1.2.840.10008.1.2.1"}}
		if i != 1 {
			h.Set("Content-Length", strconv.Itoa(len(c)))
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(pw, c)
	}
	mw.Close()
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("framing:\n%q\nwant\n%q", got.Bytes(), want.Bytes())
	}

	r, err := dicomweb.NewReader(bytes.NewReader(got.Bytes()), f.ContentType(), dicomweb.ReaderLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range contents {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		b, err := io.ReadAll(p)
		if err != nil || string(b) != c {
			t.Fatalf("part %d: %q, %v; want %q", i, b, err, c)
		}
		if cl := p.Header.Get("Content-Length"); i != 1 && cl != strconv.Itoa(len(c)) {
			t.Errorf("part %d: Content-Length %q, want %d", i, cl, len(c))
		}
	}
	if _, err := r.NextPart(); err != io.EOF {
		t.Fatalf("after the last part: %v", err)
	}
}

// TestMultipartSmallReads: parts read a few bytes at a time (the reader then hands out content
// it has scanned already without scanning it again) come out whole, boundary lookalikes
// included, whatever the read size.
func TestMultipartSmallReads(t *testing.T) {
	big := strings.Repeat("\r\n--", 5000) + strings.Repeat("pixel data ", 20000)
	parts := []part{{dicomweb.MediaDICOM, big}, {dicomweb.MediaDICOM, "short"}, {dicomweb.MediaDICOM, big[:70000]}}
	ctype, body := build(t, parts)
	for _, size := range []int{1, 7, 4096, 100 << 10} {
		r, err := dicomweb.NewReader(bytes.NewReader(body), ctype, dicomweb.ReaderLimits{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range parts {
			p, err := r.NextPart()
			if err != nil {
				t.Fatalf("read size %d, part %d: %v", size, i, err)
			}
			var got bytes.Buffer
			buf := make([]byte, size)
			for {
				n, err := p.Read(buf)
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read size %d, part %d: %v", size, i, err)
				}
			}
			if got.String() != parts[i].body {
				t.Fatalf("read size %d, part %d: got %d bytes, want %d", size, i, got.Len(), len(parts[i].body))
			}
		}
		if _, err := r.NextPart(); err != io.EOF {
			t.Fatalf("read size %d: after the last part: %v", size, err)
		}
	}
}
