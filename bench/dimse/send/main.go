// Command send stores every DICOM file under a directory with C-STORE, over one association,
// using dimse.Client: the SCU side of bench/dimse/run.sh, beside DCMTK's storescu.
//
//	send [-aec SINK] [-aet BENCHSCU] [-maxpdu N] HOST:PORT DIR
//
// Each file's data set goes out byte for byte as stored. It prints one line: instances, bytes,
// seconds, instances per second and MB/s, and exits non-zero when any store failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/dimse/ul"
)

func main() {
	aec := flag.String("aec", "ANY-SCP", "called AE title")
	aet := flag.String("aet", "BENCHSCU", "calling AE title")
	maxPDU := flag.Uint("maxpdu", 0, "maximum PDU length to advertise (0: the library's default)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: send [-aec AE] [-aet AE] [-maxpdu N] HOST:PORT DIR")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), *aet, *aec, uint32(*maxPDU)); err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		os.Exit(1)
	}
}

func run(addr, dir, aet, aec string, maxPDU uint32) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".dcm") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		return fmt.Errorf("no .dcm file under %s", dir)
	}
	// Propose what the files need: their SOP classes in their transfer syntaxes.
	pairs := map[string][]string{}
	seen := map[string]bool{}
	for _, p := range paths {
		fi, err := dimse.OpenFile(p)
		if err != nil {
			return err
		}
		if k := fi.SOPClassUID + " " + fi.TransferSyntax; !seen[k] {
			seen[k] = true
			pairs[fi.SOPClassUID] = append(pairs[fi.SOPClassUID], fi.TransferSyntax)
		}
		fi.Close()
	}
	ctx := context.Background()
	start := time.Now()
	c, err := dimse.Dial(ctx, addr, dimse.DialOptions{CallingAE: aet, CalledAE: aec,
		Proposals: dimse.StorageProposals(pairs), Config: ul.Config{MaxPDULength: maxPDU}})
	if err != nil {
		return err
	}
	var sent, size int64
	var failed int
	for _, p := range paths {
		fi, err := dimse.OpenFile(p)
		if err != nil {
			c.Abort()
			return err
		}
		st, err := c.Store(ctx, fi.StoreRequest)
		fi.Close()
		if err != nil {
			failed++
			fmt.Fprintf(os.Stderr, "send: %s: %v\n", p, err)
			if st == 0 {
				// The association is gone.
				return err
			}
			continue
		}
		sent++
		size += fi.Size
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("instances=%d bytes=%d seconds=%.3f inst_per_s=%.1f mb_per_s=%.1f\n", sent, size, secs, float64(sent)/secs, float64(size)/1e6/secs)
	if failed > 0 {
		return fmt.Errorf("%d stores failed", failed)
	}
	return nil
}
