package scp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/dicom/vr"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob/fileblob"
	"github.com/lightbox-pacs/lightbox/internal/corpustest"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/scp"
)

// start serves an archive in t.TempDir() over DIMSE on 127.0.0.1.
func start(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	idx, err := sqlite.Open(ctx, filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := fileblob.Open(filepath.Join(dir, "instances"), fileblob.Options{Init: true})
	if err != nil {
		t.Fatal(err)
	}
	h := scp.New(archive.New(idx, blobs, archive.Options{}), scp.Options{AETitle: "LIGHTBOX"})
	srv := &dimse.Server{AETitle: "LIGHTBOX", Handler: h.Mux(), Authorize: h.Authorize}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
		idx.Close()
		blobs.Close()
	})
	return ln.Addr().String()
}

func TestSequenceMatching(t *testing.T) {
	dir := corpustest.Need(t)
	addr := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pairs := map[string][]string{}
	var files []*dimse.FileInstance
	for _, name := range []string{"orthanc-tests__SignedCT.dcm", "pydicom__CT_small.dcm"} {
		fi, err := dimse.OpenFile(corpustest.Path(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer fi.Close()
		files = append(files, fi)
		pairs[fi.SOPClassUID] = append(pairs[fi.SOPClassUID], fi.TransferSyntax)
	}
	c, err := dimse.Dial(ctx, addr, dimse.DialOptions{CalledAE: "LIGHTBOX",
		Proposals: append(dimse.StorageProposals(pairs), dimse.Proposals(dimse.StudyRootFind)...)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, fi := range files {
		if _, err := c.Store(ctx, fi.StoreRequest); err != nil {
			t.Fatal(err)
		}
	}
	find := func(refSOP string) []string {
		q := dicom.NewDataset()
		q.SetString(tag.QueryRetrieveLevel, vr.CS, "IMAGE")
		q.SetString(tag.SOPInstanceUID, vr.UI, "")
		item := dicom.NewItem()
		item.SetString(tag.ReferencedSOPInstanceUID, vr.UI, refSOP)
		q.Set(dicom.NewSequence(tag.ReferencedImageSequence, item))
		var got []string
		for ds, err := range c.Find(ctx, dimse.StudyRootFind, q) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ds.String(tag.SOPInstanceUID))
			if !ds.Has(tag.ReferencedImageSequence) {
				t.Errorf("match without the sequence returned")
			}
		}
		return got
	}
	ref := "1.2.840.113619.2.278.3.262930758.589.1354512768.117.2" // SignedCT's ReferencedImageSequence item
	if got := find(ref); len(got) != 1 || got[0] != files[0].SOPInstanceUID {
		t.Fatalf("sequence key %s matched %v, want only %s", ref, got, files[0].SOPInstanceUID)
	}
	if got := find("1.2.3.4"); len(got) != 0 {
		t.Fatalf("sequence key with another UID matched %v", got)
	}
	// An empty item only asks for the sequence to be returned: universal matching.
	if got := find(""); len(got) != 2 {
		t.Fatalf("universal sequence key matched %v, want both instances", got)
	}
}

func TestStatusMapping(t *testing.T) {
	for _, c := range []struct {
		err  error
		want dimse.Status
	}{
		{nil, dimse.StatusSuccess},
		{fmt.Errorf("x: %w", archive.ErrConflict), dimse.StatusSubOpsWithFailures},
		{fmt.Errorf("x: %w", archive.ErrMismatch), dimse.StatusDataSetMismatch},
		{fmt.Errorf("x: %w", archive.ErrInvalid), dimse.StatusCannotUnderstand},
		{fmt.Errorf("x: %w", archive.ErrNoSpace), dimse.StatusOutOfResources},
		{fmt.Errorf("x: %w", archive.ErrUnavailable), dimse.StatusOutOfResources},
		{errors.New("other"), dimse.StatusProcessingFailure},
	} {
		if got, _ := scp.StatusOf(c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}
