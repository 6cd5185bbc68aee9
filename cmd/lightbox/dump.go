package main

import (
	"context"
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dump"
)

func runDump(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "dump", "[--json] FILE...", `
Print the elements of each DICOM file (Part 10, or a bare data set) in a dcmdump-like listing,
or with --json the data set as DICOM JSON (PS3.18 Annex F; bulk data inline as base64).

A file that cannot be read gets one line on standard error saying what is wrong and where
(byte offset and tag), and the exit status is 1.`)
	asJSON := fs.Bool("json", false, "print the data set as DICOM JSON")
	maxValue := fs.Int("max-value", 64, "characters of a value shown in the listing (-1: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError{2}
	}
	failed := false
	for i, path := range fs.Args() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f, err := dicom.ReadFile(path, dicom.ReadOptions{})
		if err != nil {
			fmt.Fprintf(e.stderr, "lightbox dump: %s: %v\n", path, err)
			failed = true
			continue
		}
		for _, w := range f.Warnings {
			fmt.Fprintf(e.stderr, "lightbox dump: %s: warning: %s\n", path, w)
		}
		if *asJSON {
			if err := writeJSON(e.stdout, f.Dataset); err != nil {
				return err
			}
			continue
		}
		if fs.NArg() > 1 {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			fmt.Fprintf(e.stdout, "# %s\n", path)
		}
		if err := dump.File(e.stdout, f, dump.Options{MaxValue: *maxValue}); err != nil {
			return err
		}
	}
	if failed {
		return exitError{1}
	}
	return nil
}
