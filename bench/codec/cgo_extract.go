//go:build ignore

// cgo_extract writes the first frame of a DICOM file for the reference tools of cgo.sh:
//
//	go run bench/codec/cgo_extract.go codestream IN.dcm OUT   # the frame's codestream
//	go run bench/codec/cgo_extract.go pgm IN.dcm OUT.pgm      # the decoded frame as 16-bit PGM
//
// It prints the native frame size in bytes.
package main

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/codecs"
	"github.com/lightbox-pacs/lightbox/dicom"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: cgo_extract codestream|pgm IN.dcm OUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "cgo_extract:", err)
		os.Exit(1)
	}
}

func run(mode, in, out string) error {
	f, err := dicom.ReadFile(in, dicom.ReadOptions{})
	if err != nil {
		return err
	}
	im, _, err := codec.ImageOf(f.Dataset)
	if err != nil {
		return err
	}
	frames, err := codec.Frames(f.Dataset)
	if err != nil {
		return err
	}
	fmt.Println(im.FrameSize())
	if mode == "codestream" {
		return os.WriteFile(out, frames[0], 0o644)
	}
	native, got, err := codecs.Registry().Decode(f.TransferSyntax(), nil, frames[0], im)
	if err != nil {
		return err
	}
	if got.SamplesPerPixel != 1 || got.BitsAllocated != 16 {
		return fmt.Errorf("pgm needs a 16-bit grey frame")
	}
	b := fmt.Appendf(nil, "P5\n%d %d\n65535\n", got.Columns, got.Rows)
	for i := 0; i+1 < len(native); i += 2 {
		b = binary.BigEndian.AppendUint16(b, binary.LittleEndian.Uint16(native[i:]))
	}
	return os.WriteFile(out, b, 0o644)
}
