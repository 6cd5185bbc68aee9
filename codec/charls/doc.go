// Package charls decodes and encodes JPEG-LS lossless and near-lossless frames (transfer syntaxes
// 1.2.840.10008.1.2.4.80 and .81) with the CharLS library (Debian libcharls2 2.4.1, pkg-config
// charls) through cgo and its C API, which reports errors as codes (no exceptions).
//
// It is built only with cgo and without the nocgocodecs tag; otherwise the package is empty.
//
// Decoding checks the frame header (SOF55) in Go against the Image, then CharLS's own reading
// of the header (which may take dimensions from an LSE segment) again, before any pixel buffer
// is allocated. Output: little-endian samples of Bits Allocated bits, colour by pixel whatever
// the scan's interleave mode, as DCMTK's dcmdjpls +px writes them; no sign extension (the
// reference does none). 8-bit streams in 16 bits allocated are widened.
//
// Encoding codes each sample's stored bits as an unsigned JPEG-LS sample of Bits Stored bits,
// or of Bits Allocated bits when samples use bits above Bits Stored (negative values of signed
// images, unmasked high bits), and says so in the returned Image: no bit is lost. Colour by
// pixel is coded sample-interleaved, colour by plane as separate scans (ILV 0); the returned
// Image has Planar Configuration 0 either way. The NEAR parameter of .81 is
// EncodeOptions.NearLossless (0 codes losslessly).
//
// All 11 .80 and 5 .81 corpus rows decode to the reference hashes; every native corpus frame the
// encoder takes (66) round-trips bit-exact, NEAR 2 stays within 2, and dcmdjpls decodes DICOM
// files of the lossless codestreams to the same pixels.
//
// Speed on one core of the 2-core development machine (Go benchmark, frame in memory, machine
// shared with other work, so ±30 %): .80 CT 512×512×16 65 MB/s, .80 RGB 640×400×8 131 MB/s,
// .81 CT 512×512×16 96 MB/s; dcmdjpls as a whole process about 11, 18 and 11 MB/s on the same
// files (bench/codec/cgo.sh). Lossless encoding of a 512×512 16-bit CT frame: 94 frames/s.
package charls
