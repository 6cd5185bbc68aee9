package dicom_test

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/cpuclock"
)

// le builds Explicit VR Little Endian bytes.
type le struct{ bytes.Buffer }

func (b *le) short(t tag.Tag, v string, val []byte) *le {
	binary.Write(&b.Buffer, binary.LittleEndian, [2]uint16{t.Group(), t.Element()})
	b.WriteString(v)
	binary.Write(&b.Buffer, binary.LittleEndian, uint16(len(val)))
	b.Write(val)
	return b
}

func (b *le) long(t tag.Tag, v string, length uint32, val []byte) *le {
	binary.Write(&b.Buffer, binary.LittleEndian, [2]uint16{t.Group(), t.Element()})
	b.WriteString(v)
	b.Write([]byte{0, 0})
	binary.Write(&b.Buffer, binary.LittleEndian, length)
	b.Write(val)
	return b
}

func (b *le) item(t tag.Tag, length uint32) *le {
	binary.Write(&b.Buffer, binary.LittleEndian, [2]uint16{t.Group(), t.Element()})
	binary.Write(&b.Buffer, binary.LittleEndian, length)
	return b
}

// part10 wraps a data set in a preamble and a File Meta naming syntax.
func part10(syntax string, body []byte) []byte {
	var meta le
	ts := []byte(syntax)
	if len(ts)%2 == 1 {
		ts = append(ts, 0)
	}
	meta.short(tag.TransferSyntaxUID, "UI", ts)
	var out le
	out.Write(make([]byte, 128))
	out.WriteString("DICM")
	gl := make([]byte, 4)
	binary.LittleEndian.PutUint32(gl, uint32(meta.Len()))
	out.short(0x00020000, "UL", gl)
	out.Write(meta.Bytes())
	out.Write(body)
	return out.Bytes()
}

// bounded runs fn and fails the test when it takes over a second of CPU time (the hostile-input
// budget of a plain build; raceSlowdown seconds under the race detector) or allocates more than
// max bytes.
func bounded(t *testing.T, max uint64, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := cpuclock.Now()
	fn()
	took := cpuclock.Since(start)
	runtime.ReadMemStats(&after)
	if limit := raceSlowdown * time.Second; took > limit {
		t.Errorf("took %v of CPU time (limit %v)", took, limit)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > max {
		t.Errorf("allocated %d bytes (limit %d)", alloc, max)
	}
}

func wantErr(t *testing.T, err error, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error wrapping %v, got none", target)
	}
	var pe *dicom.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *ParseError", err)
	}
	if !errors.Is(err, target) {
		t.Fatalf("error %v does not wrap %v", err, target)
	}
}

// unsized hides the size and Seek of a reader, as a network stream would.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestHostile(t *testing.T) {
	const mib = 1 << 20
	// A 1 KiB file whose only element claims 0xFFFFFFFE bytes.
	var hugeVL le
	hugeVL.short(tag.PatientName, "PN", []byte("A^B "))
	hugeVL.long(tag.PixelData, "OB", 0xFFFFFFFE, make([]byte, 1024))
	hugeVLFile := part10(dicom.ExplicitVRLittleEndian, hugeVL.Bytes())

	var openSeq le
	openSeq.long(tag.ReferencedImageSequence, "SQ", dicom.UndefinedLength, nil)
	openSeq.item(tag.Item, dicom.UndefinedLength)
	openSeq.short(tag.ReferencedSOPInstanceUID, "UI", []byte("1.2\x00"))

	var seqOverrun le
	seqOverrun.long(tag.ReferencedImageSequence, "SQ", 8, nil)
	seqOverrun.item(tag.Item, 100)
	seqOverrun.short(tag.ReferencedSOPInstanceUID, "UI", []byte("1.2\x00"))

	var fragNoDelim le
	fragNoDelim.long(tag.PixelData, "OB", dicom.UndefinedLength, nil)
	fragNoDelim.item(tag.Item, 0)
	fragNoDelim.item(tag.Item, 4)
	fragNoDelim.Write([]byte{1, 2})

	var fragUndef le
	fragUndef.long(tag.PixelData, "OB", dicom.UndefinedLength, nil)
	fragUndef.item(tag.Item, dicom.UndefinedLength)

	var notItem le
	notItem.long(tag.ReferencedImageSequence, "SQ", dicom.UndefinedLength, nil)
	notItem.short(tag.PatientName, "PN", []byte("AB"))

	cases := []struct {
		name  string
		in    []byte
		want  error
		limit uint64
	}{
		{"value length 0xFFFFFFFE in a 1 KiB file", hugeVLFile, dicom.ErrTruncated, mib},
		{"undefined-length sequence without delimiters", part10(dicom.ExplicitVRLittleEndian, openSeq.Bytes()), dicom.ErrTruncated, mib},
		{"item longer than its sequence", part10(dicom.ExplicitVRLittleEndian, seqOverrun.Bytes()), dicom.ErrTruncated, mib},
		{"pixel data fragment cut short", part10(dicom.ExplicitVRLittleEndian, fragNoDelim.Bytes()), dicom.ErrTruncated, mib},
		{"fragment of undefined length", part10(dicom.ExplicitVRLittleEndian, fragUndef.Bytes()), dicom.ErrMalformed, mib},
		{"sequence holding an element instead of an item", part10(dicom.ExplicitVRLittleEndian, notItem.Bytes()), dicom.ErrMalformed, mib},
		{"random bytes", bytes.Repeat([]byte{0xA5, 0x17, 0x3C}, 400), dicom.ErrNotDICOM, mib},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bounded(t, c.limit, func() {
				_, err := dicom.Parse(c.in, dicom.ReadOptions{})
				wantErr(t, err, c.want)
			})
			bounded(t, c.limit+mib, func() {
				_, err := dicom.Read(unsized{bytes.NewReader(c.in)}, dicom.ReadOptions{})
				wantErr(t, err, c.want)
			})
		})
	}
}

// nested returns a data set nesting n undefined-length sequences.
func nested(n int) []byte {
	var b le
	for i := 0; i < n; i++ {
		b.long(tag.ReferencedImageSequence, "SQ", dicom.UndefinedLength, nil)
		b.item(tag.Item, dicom.UndefinedLength)
	}
	for i := 0; i < n; i++ {
		b.item(tag.ItemDelimitationItem, 0)
		b.item(tag.SequenceDelimitationItem, 0)
	}
	return b.Bytes()
}

func TestDepthLadder(t *testing.T) {
	for _, depth := range []int{10, 100, 1000, 100000} {
		in := part10(dicom.ExplicitVRLittleEndian, nested(depth))
		bounded(t, uint64(16<<20), func() {
			_, err := dicom.Parse(in, dicom.ReadOptions{})
			if depth <= 64 {
				if err != nil {
					t.Fatalf("depth %d: %v", depth, err)
				}
				return
			}
			wantErr(t, err, dicom.ErrLimit)
		})
	}
	// The limit is configurable.
	if _, err := dicom.Parse(part10(dicom.ExplicitVRLittleEndian, nested(100)), dicom.ReadOptions{Limits: dicom.Limits{MaxDepth: 200}}); err != nil {
		t.Fatalf("depth 100 with MaxDepth 200: %v", err)
	}
}

// deflateBomb returns a deflated data set of n copies of one OB element of 4 MiB of zeros
// (4n MiB inflated). It compresses a few elements and repeats the steady-state blocks, which are
// byte-identical once the window holds only zeros, so that building 2 GiB takes milliseconds.
func deflateBomb(t *testing.T, n int) []byte {
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	var units [][]byte
	for i := 0; i < 4; i++ {
		var hdr le
		hdr.long(tag.New(0x0009, 0x1000), "OB", 4<<20, nil)
		fw.Write(hdr.Bytes())
		fw.Write(make([]byte, 4<<20))
		fw.Flush()
		units = append(units, append([]byte(nil), z.Bytes()...))
		z.Reset()
	}
	if !bytes.Equal(units[2], units[3]) {
		t.Fatal("deflate blocks are not repeatable with this compressor: build the bomb another way")
	}
	fw.Close()
	tail := z.Bytes()
	var out bytes.Buffer
	out.Write(units[0])
	out.Write(units[1])
	for i := 2; i < n; i++ {
		out.Write(units[2])
	}
	out.Write(tail)
	return out.Bytes()
}

func TestDeflateBomb(t *testing.T) {
	const limit = 16 << 20
	// One element declaring 2 GiB: refused before inflating anything.
	var hdr le
	hdr.long(tag.PixelData, "OB", 2<<30, nil)
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	fw.Write(hdr.Bytes())
	fw.Write(make([]byte, 1<<20))
	fw.Close()
	bounded(t, 16<<20, func() {
		_, err := dicom.Parse(part10(dicom.DeflatedExplicitVRLittleEndian, z.Bytes()), dicom.ReadOptions{Limits: dicom.Limits{MaxInflated: limit}})
		wantErr(t, err, dicom.ErrLimit)
	})
	// 2 GiB of 4 MiB elements, over 1000:1: stopped at the limit, memory bounded by it.
	in := part10(dicom.DeflatedExplicitVRLittleEndian, deflateBomb(t, 512))
	if ratio := (2 << 30) / len(in); ratio < 1000 {
		t.Fatalf("bomb ratio %d:1 is too small for the test", ratio)
	}
	bounded(t, limit+64<<20, func() {
		_, err := dicom.Parse(in, dicom.ReadOptions{Limits: dicom.Limits{MaxInflated: limit}})
		wantErr(t, err, dicom.ErrLimit)
	})
}

// TestDeflatedValueClaim: a deflated data set of a few hundred bytes whose element declares a
// value just under the inflated size limit must cost memory for the bytes it inflates to, not
// for the claim (it allocated the whole limit: over FuzzParse's 32 MiB budget).
func TestDeflatedValueClaim(t *testing.T) {
	for _, limit := range []int64{32 << 20, 0} {
		max := limit
		if max == 0 {
			max = 256 << 20 // the default
		}
		var hdr le
		hdr.long(tag.New(0x0009, 0x1010), "OB", uint32(max-100), make([]byte, 100))
		var z bytes.Buffer
		fw, _ := flate.NewWriter(&z, flate.BestCompression)
		fw.Write(hdr.Bytes())
		fw.Close()
		in := part10(dicom.DeflatedExplicitVRLittleEndian, z.Bytes())
		bounded(t, 4<<20, func() {
			_, err := dicom.Parse(in, dicom.ReadOptions{Limits: dicom.Limits{MaxInflated: limit}})
			wantErr(t, err, dicom.ErrTruncated)
		})
	}
}

func TestTruncatedHugeValueStream(t *testing.T) {
	// dcm4che's truncated file declares 3 GiB of Pixel Data in a 100,000-byte file. Over a stream
	// of unknown size, memory must follow the bytes read, not the declared length.
	dir := corpustest.Need(t)
	b, err := os.ReadFile(corpustest.Path(dir, "dcm4che__3gb-bulk-data-truncated.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	bounded(t, 16<<20, func() {
		_, err := dicom.Read(unsized{bytes.NewReader(b)}, dicom.ReadOptions{})
		wantErr(t, err, dicom.ErrTruncated)
	})
}

func TestDeeplyNestedCorpusFile(t *testing.T) {
	dir := corpustest.Need(t)
	bounded(t, 64<<20, func() {
		_, err := dicom.ReadFile(corpustest.Path(dir, "orthanc-tests__2026-05-06-Deeply-Nested-Sequence.dcm"), dicom.ReadOptions{})
		wantErr(t, err, dicom.ErrLimit)
	})
}

func TestTolerated(t *testing.T) {
	// Duplicate tags: the first is kept, with a warning.
	var dup le
	dup.short(tag.PatientID, "LO", []byte("FIRST "))
	dup.short(tag.PatientID, "LO", []byte("SECOND"))
	f, err := dicom.Parse(part10(dicom.ExplicitVRLittleEndian, dup.Bytes()), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Dataset.String(tag.PatientID); got != "FIRST" || len(f.Warnings) == 0 {
		t.Errorf("duplicate: PatientID %q, warnings %v", got, f.Warnings)
	}
	// Out of order: sorted, with a warning.
	var ooo le
	ooo.short(tag.PatientName, "PN", []byte("B^A "))
	ooo.short(tag.Modality, "CS", []byte("CT"))
	f, err = dicom.Parse(part10(dicom.ExplicitVRLittleEndian, ooo.Bytes()), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Dataset.Elements[0].Tag != tag.Modality || len(f.Warnings) == 0 {
		t.Errorf("out of order: first %s, warnings %v", f.Dataset.Elements[0].Tag, f.Warnings)
	}
	// Wrong File Meta group length.
	in := part10(dicom.ExplicitVRLittleEndian, dup.Bytes())
	binary.LittleEndian.PutUint32(in[132+8:], 7)
	f, err = dicom.Parse(in, dicom.ReadOptions{})
	if err != nil || len(f.Warnings) == 0 {
		t.Errorf("wrong meta group length: err %v, warnings %v", err, f.Warnings)
	}
	// No File Meta at all: the encoding is detected.
	f, err = dicom.Parse(ooo.Bytes(), dicom.ReadOptions{})
	if err != nil || f.Syntax.UID != dicom.ExplicitVRLittleEndian || f.Meta != nil {
		t.Errorf("bare data set: err %v, syntax %q", err, f.Syntax.UID)
	}
	// Encapsulated Pixel Data ending after a complete fragment, without its delimiter.
	var noDelim le
	noDelim.long(tag.PixelData, "OB", dicom.UndefinedLength, nil)
	noDelim.item(tag.Item, 0)
	noDelim.item(tag.Item, 4)
	noDelim.Write([]byte{1, 2, 3, 4})
	f, err = dicom.Parse(part10("1.2.840.10008.1.2.5", noDelim.Bytes()), dicom.ReadOptions{})
	if err != nil || len(f.Warnings) == 0 || len(f.Dataset.Element(tag.PixelData).Fragments) != 2 {
		t.Errorf("pixel data without delimiter: err %v, warnings %v", err, f.Warnings)
	}
	// Odd-length value: read as is, written padded.
	var odd le
	odd.short(tag.PatientID, "LO", []byte("ABC"))
	f, err = dicom.Parse(part10(dicom.ExplicitVRLittleEndian, odd.Bytes()), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := dicom.Write(&out, f, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	g, err := dicom.Parse(out.Bytes(), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := g.Dataset.Element(tag.PatientID); string(e.Value) != "ABC " {
		t.Errorf("odd value written as %q, want padded %q", e.Value, "ABC ")
	}
}
