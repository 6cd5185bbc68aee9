// Package openjph encodes HTJ2K Lossless RPCL (transfer syntax 1.2.840.10008.1.2.4.202) and
// decodes HTJ2K (.201, .202, .203) with the OpenJPH library (Debian libopenjph 0.9.0, a C++
// library) through cgo and a small extern "C" shim (shim.cpp). It is built only with cgo and
// without the nocgocodecs tag; otherwise the package is empty.
//
// The pkg-config file Debian ships for OpenJPH 0.9.0 is empty (no Libs), so the package links
// -lopenjph itself. OpenJPH reports errors by calling a reporter and throwing a C++ exception;
// the shim installs a quiet reporter that keeps the message, catches every exception at the C
// boundary and returns the text, which Go wraps in codec.ErrCorrupt. No exception crosses into Go.
//
// # Encoding
//
// Encode writes what PS3.5 10.18 asks of HTJ2K Lossless RPCL: reversible 5/3 wavelet, RPCL
// progression, enough decompositions for the lowest resolution to be at most 64 pixels wide and
// high (five at least, when the image is large enough), and a TLM marker segment, which
// OpenJPH 0.9 does not write: withTLM inserts one listing every tile-part. RGB is coded with the
// reversible colour transform and returned as YBR_RCT; 64×64 code-blocks, one tile. The
// codestream precision follows the rule of package openjpeg's EncodePrecision. Bits Allocated 8
// and 16, one or three samples.
//
// Speed: a 512×512 16-bit CT frame encodes at 250 frames/s (the target is 50) on one core of the
// 2-core development machine; ojph_compress as a process manages about 60 frames/s on the same
// frame, start-up and file I/O included (bench/codec/cgo.sh).
//
// # Decoding
//
// Measured on the corpus HTJ2K files, OpenJPH decodes about twice as fast as OpenJPEG 2.5.0:
// CT 512×512×16 390 MB/s against 192, XA 1024×1024×16 375 against 172, RGB 640×480×8 204
// against 90 (ojph_expand as a process: 77 and 94 MB/s on the grey ones). So DecodeHT tries
// OpenJPH first and hands a frame to OpenJPEG when OpenJPH
// cannot read it (JP2 wrapper, Bits Allocated other than 8 or 16, more than three components,
// or a codestream OpenJPH rejects). Both check the SIZ marker segment in Go first (package
// openjpeg's ParseSIZ and CheckSIZ). OpenJPH runs in resilient mode; irreversibly coded samples
// are clamped to their range. The three .202 rows and the .201 row of the corpus decode to the
// reference hashes with either library; every native corpus frame the encoder takes (66)
// round-trips bit-exact through OpenJPEG, OpenJPH and ojph_expand (which writes unsigned samples
// only, so signed frames are compared clipped at 0 there).
//
// # Hostile input
//
// Both libraries, as Debian builds them, stop the process on some malformed HT code-block
// data: random changes to a small valid codestream reach failed assertions within seconds
// (OpenJPH: param_qcd::irrev_get_delta, param_qcd::get_Kmax, tile::parse_tile_header;
// OpenJPEG: mel_init in ht_dec.c), and a few hundred bytes can keep OpenJPH busy for seconds.
// Header checks in Go cannot rule that out. So the decoders Codecs registers run DecodeHT in
// worker processes (package isolate): such a frame ends one worker, or is killed after its
// time, and comes back as codec.ErrCorrupt; the server goes on. Package openjpeg in turn refuses
// HT code-blocks in the JPEG 2000 syntaxes. The inputs that stopped a process are kept under
// testdata/fuzz/FuzzDecode, and TestWorkerAbortIsAnError checks they still do.
package openjph
