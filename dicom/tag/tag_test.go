package tag

import (
	"slices"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/vr"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		tag     Tag
		ok      bool
		keyword string
		vr      vr.VR
		altVR   vr.VR
		vm      string
		retired bool
	}{
		{name: "patient name", tag: 0x00100010, ok: true, keyword: "PatientName", vr: vr.PN, vm: "1"},
		{name: "pixel data", tag: 0x7FE00010, ok: true, keyword: "PixelData", vr: vr.OW, altVR: vr.OB, vm: "1"},
		{name: "transfer syntax", tag: 0x00020010, ok: true, keyword: "TransferSyntaxUID", vr: vr.UI, vm: "1"},
		{name: "command group length", tag: 0x00000000, ok: true, keyword: "CommandGroupLength", vr: vr.UL, vm: "1"},
		{name: "meta group length", tag: 0x00020000, ok: true, keyword: "FileMetaInformationGroupLength", vr: vr.UL, vm: "1"},
		{name: "group length", tag: 0x00100000, ok: true, keyword: "GenericGroupLength", vr: vr.UL, vm: "1", retired: true},
		{name: "overlay rows base", tag: 0x60000010, ok: true, keyword: "OverlayRows", vr: vr.US, vm: "1"},
		{name: "overlay rows repeat", tag: 0x60020010, ok: true, keyword: "OverlayRows", vr: vr.US, vm: "1"},
		{name: "overlay data", tag: 0x601E3000, ok: true, keyword: "OverlayData", vr: vr.OB, altVR: vr.OW, vm: "1"},
		{name: "odd overlay group is private creator", tag: 0x60010010, ok: true, keyword: "PrivateCreator", vr: vr.LO, vm: "1"},
		{name: "odd overlay group data", tag: 0x60013000, ok: false},
		{name: "curve data", tag: 0x50043000, ok: true, keyword: "CurveData", vr: vr.OB, altVR: vr.OW, vm: "1", retired: true},
		{name: "element range", tag: 0x00203102, ok: true, keyword: "SourceImageIDs", vr: vr.CS, vm: "1-n", retired: true},
		{name: "odd element of even range", tag: 0x00203101, ok: false},
		{name: "palette data", tag: 0x00281201, ok: true, keyword: "RedPaletteColorLookupTableData", vr: vr.OW, vm: "1"},
		{name: "palette descriptor", tag: 0x00281101, ok: true, keyword: "RedPaletteColorLookupTableDescriptor", vr: vr.US, altVR: vr.SS, vm: "3"},
		{name: "LUT data", tag: 0x00283006, ok: true, keyword: "LUTData", vr: vr.US, altVR: vr.OW, vm: "1-n"},
		{name: "waveform padding", tag: 0x5400100A, ok: true, keyword: "WaveformPaddingValue", vr: vr.OB, altVR: vr.SS, vm: "1"},
		{name: "directory offset", tag: 0x00041400, ok: true, keyword: "OffsetOfTheNextDirectoryRecord", vr: vr.UL, vm: "1"},
		{name: "item", tag: Item, ok: true, keyword: "Item", vm: "1"},
		{name: "retired", tag: 0x00080010, ok: true, keyword: "RecognitionCode", vr: vr.SH, vm: "1", retired: true},
		{name: "lower-case keyword", tag: DBdt, ok: true, keyword: "dBdt", vr: vr.DS, vm: "1"},
		{name: "private creator", tag: 0x00090010, ok: true, keyword: "PrivateCreator", vr: vr.LO, vm: "1"},
		{name: "private data", tag: 0x00091001, ok: false},
		{name: "unknown", tag: 0x00100001, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, ok := Lookup(tt.tag)
			if ok != tt.ok {
				t.Fatalf("Lookup(%v) ok = %v, want %v", tt.tag, ok, tt.ok)
			}
			if !ok {
				return
			}
			if info.Tag != tt.tag || info.Keyword != tt.keyword || info.VR != tt.vr ||
				info.AltVR != tt.altVR || info.VM != tt.vm || info.Retired != tt.retired {
				t.Errorf("Lookup(%v) = %+v, want %s %v/%v VM %s retired %v",
					tt.tag, info, tt.keyword, tt.vr, tt.altVR, tt.vm, tt.retired)
			}
			if got := Keyword(tt.tag); got != tt.keyword {
				t.Errorf("Keyword(%v) = %q, want %q", tt.tag, got, tt.keyword)
			}
		})
	}
}

func TestByKeyword(t *testing.T) {
	tests := []struct {
		kw   string
		tag  Tag
		mask Tag
		ok   bool
	}{
		{kw: "PatientName", tag: PatientName, ok: true},
		{kw: "OverlayRows", tag: 0x60000010, mask: 0x00FE0000, ok: true},
		{kw: "SourceImageIDs", tag: 0x00203100, mask: 0x000000FE, ok: true},
		{kw: "dBdt", tag: 0x00181318, ok: true},
		{kw: "DBdt", ok: false},
		{kw: "RETIRED_RecognitionCode", ok: false},
		{kw: "NoSuchKeyword", ok: false},
	}
	for _, tt := range tests {
		info, ok := ByKeyword(tt.kw)
		if ok != tt.ok || info.Tag != tt.tag || info.Mask != tt.mask {
			t.Errorf("ByKeyword(%q) = %v %08X %v, want %v %08X %v", tt.kw, info.Tag, uint32(info.Mask), ok, tt.tag, uint32(tt.mask), tt.ok)
		}
	}
}

// TestDictionaryConsistent checks the generated tables against each other.
func TestDictionaryConsistent(t *testing.T) {
	if len(entries) < 4000 {
		t.Errorf("only %d entries", len(entries))
	}
	if len(byKeyword) != len(entries) || len(byTag) != len(entries) {
		t.Errorf("entries %d, byKeyword %d, byTag %d", len(entries), len(byKeyword), len(byTag))
	}
	for i, e := range entries {
		if i > 0 && entries[i-1].Tag >= e.Tag {
			t.Errorf("entries out of order at %d: %v after %v", i, e.Tag, entries[i-1].Tag)
		}
		if e.Tag&e.Mask != 0 {
			t.Errorf("%s: tag %v has bits of its mask %08X", e.Keyword, e.Tag, uint32(e.Mask))
		}
		if byKeyword[e.Keyword] != i {
			t.Errorf("byKeyword[%s] = %d, want %d", e.Keyword, byKeyword[e.Keyword], i)
		}
		if j, ok := byTag[e.Tag]; !ok || j != i {
			t.Errorf("byTag[%v] = %d, %v; want %d", e.Tag, j, ok, i)
		}
		if e.Mask != 0 && !slices.Contains(masks, e.Mask) {
			t.Errorf("%s: mask %08X not in masks", e.Keyword, uint32(e.Mask))
		}
		if e.VR != 0 && !e.VR.Valid() || e.AltVR != 0 && !e.AltVR.Valid() {
			t.Errorf("%s: invalid VR %v/%v", e.Keyword, e.VR, e.AltVR)
		}
		if got, ok := Lookup(e.Tag); !ok || got != e {
			t.Errorf("Lookup(%v) = %+v, %v; want %+v", e.Tag, got, ok, e)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		tag  Tag
		want string
	}{
		{PatientName, "(0010,0010)"},
		{PixelData, "(7FE0,0010)"},
		{SequenceDelimitationItem, "(FFFE,E0DD)"},
		{0, "(0000,0000)"},
		{New(0x0abc, 0xdef1), "(0ABC,DEF1)"},
	}
	for _, tt := range tests {
		if got := tt.tag.String(); got != tt.want {
			t.Errorf("%08X.String() = %q, want %q", uint32(tt.tag), got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Tag
		wantErr bool
	}{
		{in: "(0010,0010)", want: PatientName},
		{in: "0010,0010", want: PatientName},
		{in: "00100010", want: PatientName},
		{in: " (7fe0,0010) ", want: PixelData},
		{in: "PatientName", want: PatientName},
		{in: "OverlayRows", want: 0x60000010},
		{in: "dBdt", want: DBdt},
		{in: "", wantErr: true},
		{in: "(0010,001)", wantErr: true},
		{in: "(0010,001G)", wantErr: true},
		{in: "Patient Name", wantErr: true},
		{in: "patientname", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "tag:") {
			t.Errorf("Parse(%q) error %q lacks the package prefix", tt.in, err)
		}
	}
}

func TestTagParts(t *testing.T) {
	tests := []struct {
		tag                                 Tag
		group, element                      uint16
		private, creator, groupLength, meta bool
	}{
		{tag: PatientName, group: 0x0010, element: 0x0010},
		{tag: TransferSyntaxUID, group: 0x0002, element: 0x0010, meta: true},
		{tag: 0x00090010, group: 0x0009, element: 0x0010, private: true, creator: true},
		{tag: 0x00091010, group: 0x0009, element: 0x1010, private: true},
		{tag: 0x00080000, group: 0x0008, groupLength: true},
		{tag: 0x00030010, group: 0x0003, element: 0x0010},
	}
	for _, tt := range tests {
		if tt.tag.Group() != tt.group || tt.tag.Element() != tt.element || tt.tag.IsPrivate() != tt.private ||
			tt.tag.IsPrivateCreator() != tt.creator || tt.tag.IsGroupLength() != tt.groupLength || tt.tag.IsMeta() != tt.meta {
			t.Errorf("%v: parts or predicates wrong", tt.tag)
		}
	}
	if c, ok := Tag(0x00291023).PrivateCreator(); !ok || c != 0x00290010 {
		t.Errorf("(0029,1023).PrivateCreator() = %v, %v", c, ok)
	}
	if _, ok := PatientName.PrivateCreator(); ok {
		t.Error("PatientName has a private creator")
	}
}

var sink Info

func BenchmarkLookup(b *testing.B) {
	benches := []struct {
		name string
		tag  Tag
	}{
		{"exact", PatientName},
		{"repeating", 0x60020010},
		{"private", 0x00091001},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				sink, _ = Lookup(bb.tag)
			}
		})
	}
}
