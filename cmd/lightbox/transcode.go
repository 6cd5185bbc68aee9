package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/transcode"
)

func runTranscode(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "transcode", "--ts SYNTAX IN OUT | --ts SYNTAX IN... DIR", `
Write DICOM files in another transfer syntax: every frame is decoded and encoded again, and
the attributes that describe the pixels follow (Photometric Interpretation, Planar
Configuration, Lossy Image Compression). SYNTAX is a transfer syntax UID or one of the names
below. Lossy targets need --lossy. With several inputs, or when OUT is a directory, each output
keeps its input's file name inside OUT.

Names: `+syntaxNamesHelp()+`

Run "lightbox transcode --list" to see which syntaxes this build decodes and encodes.`)
	ts := fs.String("ts", "", "target transfer syntax: a UID or a name (required)")
	lossy := fs.Bool("lossy", false, "allow a lossy target syntax")
	quality := fs.Int("quality", 0, "quality of lossy JPEG encoding, 1 to 100 (0: the codec's default)")
	near := fs.Int("near", 0, "JPEG-LS NEAR parameter for jpeg-ls-near (0: lossless)")
	list := fs.Bool("list", false, "list the transfer syntaxes this build decodes and encodes, then exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg := codecs.Registry()
	if *list {
		printCodecs(e, reg)
		return nil
	}
	if *ts == "" || fs.NArg() < 2 {
		fs.Usage()
		return exitError{2}
	}
	target, err := transcode.ParseSyntax(*ts)
	if err != nil {
		return err
	}
	if !dicom.IsNative(target) && !reg.CanEncode(target) {
		return fmt.Errorf("this build cannot encode %s (%s); run \"lightbox transcode --list\"", target, uid.Name(target))
	}
	opts := transcode.Options{Registry: reg, AllowLossy: *lossy, Encode: codec.EncodeOptions{Quality: *quality, NearLossless: *near}}
	ins, out := fs.Args()[:fs.NArg()-1], fs.Arg(fs.NArg()-1)
	st, err := os.Stat(out)
	toDir := err == nil && st.IsDir()
	if len(ins) > 1 && !toDir {
		return fmt.Errorf("%s: with several inputs the output must be an existing directory", out)
	}
	failed, lossyRefused := 0, 0
	for _, in := range ins {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dst := out
		if toDir {
			dst = filepath.Join(out, filepath.Base(in))
		}
		if err := transcodeFile(in, dst, target, opts); err != nil {
			fmt.Fprintf(e.stderr, "lightbox transcode: %s: %v\n", in, err)
			failed++
			if errors.Is(err, transcode.ErrLossy) {
				lossyRefused++
			}
		}
	}
	if failed > 0 {
		if lossyRefused > 1 {
			fmt.Fprintf(e.stderr, "lightbox transcode: %d files refused a lossy target: add --lossy to accept it\n", lossyRefused)
		}
		return exitError{1}
	}
	return nil
}

func transcodeFile(in, out, target string, opts transcode.Options) error {
	f, err := dicom.ReadFile(in, dicom.ReadOptions{})
	if err != nil {
		return err
	}
	res, err := transcode.File(f, target, opts)
	if err != nil {
		if errors.Is(err, transcode.ErrLossy) {
			return fmt.Errorf("%w (add --lossy to accept it)", err)
		}
		return err
	}
	return dicom.WriteFile(out, res, dicom.WriteOptions{})
}

func syntaxNamesHelp() string {
	var b strings.Builder
	for _, n := range transcode.SyntaxNames() {
		u, _ := transcode.ParseSyntax(n)
		fmt.Fprintf(&b, "\n  %-15s %s", n, u)
	}
	return b.String()
}

func printCodecs(e *env, reg *codec.Registry) {
	fmt.Fprintf(e.stdout, "%-24s %-7s %-7s %-32s %s\n", "TRANSFER SYNTAX", "DECODE", "ENCODE", "IMPLEMENTATION", "NAME")
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "-"
	}
	for _, c := range reg.Codecs() {
		fmt.Fprintf(e.stdout, "%-24s %-7s %-7s %-32s %s\n", c.TransferSyntax, yn(c.Decoder != nil), yn(c.Encoder != nil), c.Name, uid.Name(c.TransferSyntax))
	}
	if !codecs.CGO {
		fmt.Fprintln(e.stdout, "\nThis build has no cgo codecs: JPEG 2000, HTJ2K and JPEG-LS need a build with cgo and the OpenJPEG, CharLS and OpenJPH development packages (make build installs them).")
	}
}
