// Package jpeg is Lightbox's pure Go codec for the JPEG transfer syntaxes of DICOM (PS3.5 8.2.1,
// A.4.1; ITU-T T.81).
//
// # Why our own
//
// Go's image/jpeg and libjpeg-turbo decode only 8-bit DCT JPEG: they refuse 12-bit extended and
// progressive frames and lossless JPEG (process 14), which DICOM uses for most CT, MR and CR
// archives. This package decodes all of them with one decoder written from T.81, and needs no cgo.
//
// # Decoding
//
// Decode (the Decoder of every codec Codecs returns) follows the frame header of the codestream:
//
//   - SOF0 baseline and SOF1 extended sequential DCT, 8 and 12-bit (1.2.840.10008.1.2.4.50, .51);
//   - SOF2 progressive DCT, 8 and 12-bit, spectral selection and successive approximation
//     (.55; spectral-selection-only streams, as of the retired .53, decode too);
//   - SOF3 lossless, 2 to 16-bit precision, predictors 1 to 7, point transform (.57, .70);
//   - Huffman coding only (arithmetic coding and hierarchical frames fail with ErrUnsupported);
//   - 1 to 4 components, interleaved and non-interleaved scans, any number of scans, any integral
//     sampling factors (4:4:4, 4:2:2, 4:2:0, 4:1:1, ...), restart intervals, DNL markers (the
//     height then comes from the data set and the DNL must agree).
//
// The output is what DCMTK's `dcmdjpeg +px` writes, bit for bit: samples of Bits Allocated bits,
// little endian, colour by pixel. Three-component lossy frames of a YBR_* Photometric
// Interpretation are converted to RGB unless the codestream says its components are RGB (Adobe
// APP14 transform 0, or component identifiers 'R' 'G' 'B'); the returned Image then says RGB. To
// be bit-exact with the IJG library inside DCMTK the decoder reproduces its arithmetic: the
// accurate integer inverse DCT ("islow", with IJG's range-limit wrap), its "fancy" triangular
// upsampling for 2×1 and 2×2 chroma (replication for other factors and for chroma at most 2
// samples wide) and its fixed-point YCbCr→RGB tables. Lossless frames keep their colour as coded.
// Signed samples come out as their stored bit pattern.
//
// The decoder checks the frame header against the Image before allocating: dimensions, samples
// per pixel, precision against Bits Allocated, and that the codestream is long enough to hold the
// frame at all (every data unit costs at least one bit), so a lying header costs an error, not
// memory. Truncated or inconsistent data give errors wrapping codec.ErrCorrupt, never a panic.
// One leniency follows dcmdjpeg: a frame smaller than the data set declares (seen in a
// multi-frame ultrasound object) is decoded with its lines packed at the start of the native
// frame and the rest zero; a larger one is refused.
//
// # Encoding
//
//   - EncodeLossless: process 14, selection value 1, precision Bits Stored (or Bits Allocated when
//     sample bits lie above Bits Stored, e.g. sign extension), optimal Huffman tables; grey and
//     colour; bit-exact round trip. Used for .70 and .57.
//   - EncodeBaseline: 8-bit baseline (.50); RGB is converted to YCbCr without subsampling and the
//     returned Image says YBR_FULL; EncodeOptions.Quality scales the T.81 Annex K tables as IJG does
//     (default 90).
//   - EncodeExtended: 12-bit extended sequential (.51) for Bits Allocated 16 and Bits Stored ≤ 12.
//
// The lossy encoders refuse signed samples. DCMTK's dcmdjpeg decodes what the encoders write (see
// TestDCMTKDecodesOurs).
//
// # Measurements
//
// Against the shared test corpus (tests in this package): all 35 rows of the five transfer
// syntaxes that have a reference decode bit-exact to the reference hashes, lossy rows included
// (.50: 20, .51: 3, .55: 1, .57: 1, .70: 10), and 49 of 49 further images that DCMTK's dcmcjpeg
// encodes with every process and option it offers (progressive, spectral selection, 12-bit,
// predictors 1 to 7, point transform, 4:2:2, 4:1:1, RGB without transform) decode to exactly what
// dcmdjpeg gives.
//
// Decode throughput on the corpus frames (native output MB/s, `bench/codec/jpeg.sh 5`, one run
// on a 2-core machine shared with other jobs, so only indicative; dcmdjpeg's figure includes
// process start-up, DICOM parsing and writing its output file):
//
//	syntax   codec/jpeg   dcmdjpeg +px
//	.50         138           65
//	.51         313          107
//	.55          73           16
//	.57         201           34
//	.70          62           30
package jpeg
