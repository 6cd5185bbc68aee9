package uid

import (
	"errors"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		uid, keyword, name, typ string
		retired                 bool
	}{
		{ImplicitVRLittleEndian, "ImplicitVRLittleEndian", "Implicit VR Little Endian", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.1", "ExplicitVRLittleEndian", "Explicit VR Little Endian", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.2", "ExplicitVRBigEndian", "Explicit VR Big Endian", TypeTransferSyntax, true},
		{"1.2.840.10008.1.2.1.99", "DeflatedExplicitVRLittleEndian", "Deflated Explicit VR Little Endian", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.4.50", "JPEGBaseline8Bit", "JPEG Baseline (Process 1)", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.4.70", "JPEGLosslessSV1", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.4.110", "JPEGXLLossless", "JPEG XL Lossless", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.4.111", "JPEGXLJPEGRecompression", "JPEG XL JPEG Recompression", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.4.112", "JPEGXL", "JPEG XL", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.4.201", "HTJ2KLossless", "High-Throughput JPEG 2000 Image Compression (Lossless Only)", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.4.202", "HTJ2KLosslessRPCL", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.4.203", "HTJ2K", "High-Throughput JPEG 2000 Image Compression", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.5", "RLELossless", "RLE Lossless", TypeTransferSyntax, false},
		{"1.2.840.10008.1.2.8.1", "DeflatedImageFrameCompression", "Deflated Image Frame Compression", TypeTransferSyntax, false},
		{"1.2.840.10008.1.1", "Verification", "Verification SOP Class", TypeSOPClass, false},
		{"1.2.840.10008.5.1.4.1.1.2", "CTImageStorage", "CT Image Storage", TypeSOPClass, false},
		{"1.2.840.10008.5.1.4.1.1.5", "NuclearMedicineImageStorageRetired", "Nuclear Medicine Image Storage", TypeSOPClass, true},
		{"1.2.840.10008.5.1.4.1.2.2.1", "StudyRootQueryRetrieveInformationModelFind", "Study Root Query/Retrieve Information Model - FIND", TypeSOPClass, false},
		{"1.2.840.10008.5.1.4.1.2.2.3", "StudyRootQueryRetrieveInformationModelGet", "Study Root Query/Retrieve Information Model - GET", TypeSOPClass, false},
		{"1.2.840.10008.5.1.4.31", "ModalityWorklistInformationModelFind", "Modality Worklist Information Model - FIND", TypeSOPClass, false},
		{"1.2.840.10008.1.20.1", "StorageCommitmentPushModel", "Storage Commitment Push Model SOP Class", TypeSOPClass, false},
		{"1.2.840.10008.1.20.1.1", "StorageCommitmentPushModelInstance", "Storage Commitment Push Model SOP Instance", TypeWellKnownSOPInstance, false},
		{"1.2.840.10008.5.1.1.9", "BasicGrayscalePrintManagementMeta", "Basic Grayscale Print Management Meta SOP Class", TypeMetaSOPClass, false},
		{"1.2.840.10008.3.1.1.1", "DICOMApplicationContext", "DICOM Application Context Name", TypeApplicationContextName, false},
		{"1.2.840.10008.15.0.3.1", "dicomDeviceName", "dicomDeviceName", "LDAP OID", false},
	}
	for _, tt := range tests {
		t.Run(tt.keyword, func(t *testing.T) {
			want := Info{UID: tt.uid, Keyword: tt.keyword, Name: tt.name, Type: tt.typ, Retired: tt.retired}
			if got, ok := Lookup(tt.uid); !ok || got != want {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v", tt.uid, got, ok, want)
			}
			if got, ok := ByKeyword(tt.keyword); !ok || got != want {
				t.Errorf("ByKeyword(%q) = %+v, %v; want %+v", tt.keyword, got, ok, want)
			}
			if got := Name(tt.uid); got != tt.name {
				t.Errorf("Name(%q) = %q, want %q", tt.uid, got, tt.name)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, s := range []string{"", "1.2.3", "1.2.840.10008.1.2.", " 1.2.840.10008.1.2"} {
		if info, ok := Lookup(s); ok {
			t.Errorf("Lookup(%q) = %+v, want none", s, info)
		}
		if got := Name(s); got != s {
			t.Errorf("Name(%q) = %q, want the UID itself", s, got)
		}
	}
	if _, ok := ByKeyword("NoSuchKeyword"); ok {
		t.Error("ByKeyword found an unknown keyword")
	}
}

// TestRegistry checks the generated tables against each other and the UID syntax.
func TestRegistry(t *testing.T) {
	all := All()
	if len(all) != len(entries) || len(byUID) != len(all) || len(byKeyword) != len(all) {
		t.Fatalf("All %d, byUID %d, byKeyword %d", len(all), len(byUID), len(byKeyword))
	}
	types := map[string]int{}
	for i, e := range all {
		types[e.Type]++
		if err := Validate(e.UID); err != nil {
			t.Error(err)
		}
		if got, ok := Lookup(e.UID); !ok || got != e {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", e.UID, got, ok, e)
		}
		if e.Name == "" || e.Keyword == "" || e.Type == "" {
			t.Errorf("entry %d is incomplete: %+v", i, e)
		}
	}
	all[0].Name = "changed"
	if entries[0].Name == "changed" {
		t.Error("All returned the registry itself, not a copy")
	}
	for typ, least := range map[string]int{TypeTransferSyntax: 60, TypeSOPClass: 300, TypeWellKnownSOPInstance: 10, TypeMetaSOPClass: 5, TypeApplicationContextName: 1, TypeServiceClass: 1} {
		if types[typ] < least {
			t.Errorf("%d entries of type %q, want at least %d", types[typ], typ, least)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		s          string
		wantErrSub string
	}{
		{s: "1.2.840.10008.1.2.1"},
		{s: "0"},
		{s: "1.0.2"},
		{s: "2.25.329800735698586629295641978511506172918"},
		{s: "1." + strings.Repeat("9", 62)},
		{s: "", wantErrSub: "empty"},
		{s: "1." + strings.Repeat("9", 63), wantErrSub: "65 characters long"},
		{s: ".1.2", wantErrSub: "component 1 is empty"},
		{s: "1.2.", wantErrSub: "component 3 is empty"},
		{s: "1..2", wantErrSub: "component 2 is empty"},
		{s: "1.02", wantErrSub: `component 2 "02" has a leading zero`},
		{s: "00", wantErrSub: "leading zero"},
		{s: "1.2a", wantErrSub: "other than digits"},
		{s: "1.2.3 ", wantErrSub: "other than digits"},
		{s: "1.2.3\x00", wantErrSub: "other than digits"},
		{s: "1.-2", wantErrSub: "other than digits"},
	}
	for _, tt := range tests {
		err := Validate(tt.s)
		if tt.wantErrSub == "" {
			if err != nil {
				t.Errorf("Validate(%q) = %v, want nil", tt.s, err)
			}
			if !IsValid(tt.s) {
				t.Errorf("IsValid(%q) = false", tt.s)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
			t.Errorf("Validate(%q) = %v, want an error containing %q", tt.s, err, tt.wantErrSub)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) error %v does not wrap ErrInvalid", tt.s, err)
		}
		if IsValid(tt.s) {
			t.Errorf("IsValid(%q) = true", tt.s)
		}
	}
}

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := New()
		if err := Validate(u); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, "2.25.") || len(u) > 44 {
			t.Fatalf("New() = %q: want 2.25.<at most 39 digits>", u)
		}
		if seen[u] {
			t.Fatalf("New() repeated %q", u)
		}
		seen[u] = true
	}
}

func TestGenerator(t *testing.T) {
	tests := []struct {
		name       string
		root       string
		wantErrSub string
		wantPrefix string
		maxLen     int
	}{
		{name: "empty root", root: "", wantPrefix: "2.25.", maxLen: 44},
		{name: "short root", root: "1.2.3", wantPrefix: "1.2.3.", maxLen: 5 + 1 + 39},
		{name: "typical root", root: "1.2.826.0.1.3680043.9.1234", wantPrefix: "1.2.826.0.1.3680043.9.1234.", maxLen: 64},
		{name: "longest root", root: "1." + strings.Repeat("1", 38), wantPrefix: "1." + strings.Repeat("1", 38) + ".", maxLen: 64},
		{name: "too long", root: "1." + strings.Repeat("1", 39), wantErrSub: "more than 40"},
		{name: "invalid", root: "1.02", wantErrSub: "leading zero"},
		{name: "trailing dot", root: "1.2.", wantErrSub: "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Generator{Root: tt.root}
			err := g.Validate()
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Validate() = %v, want an error wrapping ErrInvalid containing %q", err, tt.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for range 500 {
				u := g.New()
				if err := Validate(u); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(u, tt.wantPrefix) || len(u) > tt.maxLen {
					t.Fatalf("New() = %q (%d characters), want prefix %q and at most %d", u, len(u), tt.wantPrefix, tt.maxLen)
				}
				if seen[u] {
					t.Fatalf("New() repeated %q", u)
				}
				seen[u] = true
			}
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	for b.Loop() {
		if _, ok := Lookup(CTImageStorage); !ok {
			b.Fatal("not found")
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		_ = New()
	}
}
