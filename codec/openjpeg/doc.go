// Package openjpeg decodes JPEG 2000 (transfer syntaxes 1.2.840.10008.1.2.4.90 and .91) and
// HTJ2K (.201, .202, .203) frames, and encodes JPEG 2000 (.90 reversible, .91 irreversible), with
// the OpenJPEG library (Debian libopenjp2-7 2.5.0, pkg-config libopenjp2) through cgo.
//
// # Why cgo
//
// No usable pure Go JPEG 2000 codec exists: the candidates found are incomplete, and a pure Go
// attempt decoded the corpus to flat grey. OpenJPEG is the reference implementation of ISO/IEC
// 15444-1, is what GDCM (and so the corpus references) use, is fuzzed continuously upstream, and
// since 2.5 has a decoder for HTJ2K (Part 15) code-blocks.
//
// The package is built only with cgo and without the nocgocodecs tag; otherwise it is empty and
// the registry in codec/codecs does without it.
//
// # Decoding
//
// Before the library sees a frame, ParseSIZ reads the SIZ marker segment in Go (of the bare
// codestream, or of the Contiguous Codestream box of a JP2 file) and CheckSIZ compares it with
// the Image the data set declares: dimensions, number of components, no subsampling, precision
// within Bits Allocated, at most 65535 tiles, and the frame within codec.MaxFrameBytes. A
// 65535×65535 claim in 256 bytes thus fails at once. Library errors are collected through
// opj_set_error_handler and returned wrapped in codec.ErrCorrupt; warnings are dropped; all C
// memory is released before Decode returns. OpenJPEG runs in its default, tolerant mode: a
// truncated codestream yields the part it holds, as with GDCM.
//
// Output: little-endian stored values of Bits Allocated bits, colour by pixel. OpenJPEG undoes the
// reversible or irreversible colour transform itself when the COD marker says so, so YBR_RCT and
// YBR_ICT come back as RGB. Samples are written as the codestream's integers truncated to Bits
// Allocated, whatever the signedness of the codestream and Pixel Representation say (the corpus
// rows where they disagree are referenced that way). Bits Allocated 1 frames are packed, LSB
// first, 8 pixels a byte. JP2 files are decoded with the JP2 reader.
//
// # Encoding
//
// EncodeLossless writes a bare J2K codestream (no JP2 header): one layer, reversible 5/3
// wavelet, five decomposition levels (fewer for images smaller than 32 pixels), LRCP, and for
// RGB the reversible colour transform, returned as YBR_RCT. EncodeLossy uses the 9/7 wavelet
// and the irreversible transform (YBR_ICT), with EncodeOptions.Quality 1 to 100 mapped to
// compression ratios 50:1 to 2:1 (10:1 by default). Bits Allocated 1, 8 and 16 are taken, one
// or three samples. The codestream precision is Bits Stored unless samples use higher bits
// (unmasked high bits, signed values that are not sign-extended): then it is Bits Allocated and
// the returned Image says so, so that lossless coding never drops a bit (EncodePrecision).
//
// # Conformance and speed
//
// All 14 referenced .90 rows, 7 .91 rows, the .201 row and 3 .202 rows of the shared corpus decode
// to exactly the reference hashes (the .91 references were made with OpenJPEG too). Every native
// corpus frame the encoder takes (70) round-trips bit-exact, and opj_decompress decodes the
// codestreams to the same pixels.
//
// Decoding on one core of the 2-core development machine (Go benchmark, frame in memory; the
// machine was shared, so figures vary by ±30 %): .90 CT 512×512×16 18 MB/s, .91 MR 1024²×16
// 86 MB/s, .91 US 640×480 YBR_ICT 51 MB/s, .201 RGB 640×480×8 84 MB/s, .202 CT 512×512×16
// 188 MB/s; opj_decompress as a whole process runs at about 5.5, 17, 13, 12 and 24 MB/s on the
// same frames (bench/codec/cgo.sh). Reversible encoding of a 512×512 16-bit CT frame: 28
// frames/s. HTJ2K is registered with OpenJPH's decoder in front (package openjph), which is about
// twice as fast; this package is its fallback.
//
// # HT code-blocks
//
// The HT block decoder of OpenJPEG 2.5.0 (ht_dec.c, built with assertions) aborts the process
// on some malformed code-block data. Decode, registered for .90 and .91, therefore walks the
// marker segments first (HTCodeBlocks) and refuses a codestream that asks for HT code-blocks
// (a CAP marker, or code-block style bit 6 or 7 in a COD or COC of the main or any tile-part
// header); OpenJPEG's own decoder would otherwise decode them whatever the transfer syntax.
// HTJ2K frames are decoded only in worker processes (packages openjph and isolate), with
// DecodeUnchecked.
package openjpeg
