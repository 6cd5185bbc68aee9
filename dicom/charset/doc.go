// Package charset converts DICOM character string values between the
// encoding named by Specific Character Set (0008,0005) and UTF-8.
//
// It implements:
//
//   - PS3.3 C.12.1.1.2 (Specific Character Set): the Defined Terms of
//     Tables C.12-2 (single-byte character sets without code extensions),
//     C.12-3 (single-byte character sets with code extensions), C.12-4
//     (multi-byte character sets with code extensions) and C.12-5
//     (multi-byte character sets without code extensions: ISO_IR 192,
//     GB18030, GBK).
//   - PS3.5 6.1 (Support of Character Repertoires): the default repertoire
//     ISO-IR 6 (6.1.2.1), replacement of the default repertoire by value 1
//     (6.1.2.3), and the ISO/IEC 2022 code extension techniques of 6.1.2.4
//     and 6.1.2.5: the G0 and G1 code elements, designation by escape
//     sequences, and the return to the initial designation at each
//     delimiter (6.1.2.5.3).
//   - The worked examples of PS3.5 Annex H (Japanese), Annex I (Korean),
//     Annex J (UTF-8, GB18030) and Annex K (GB2312 with code extensions),
//     which the tests reproduce byte for byte.
//
// # Model
//
// A [Set] is built from the values of (0008,0005) by [New] (strict) or
// [Lenient] (which repairs common misspellings and reports each repair).
// Every set except ISO_IR 192, GB18030 and GBK is decoded by one ISO/IEC
// 2022 state machine: G0 holds ISO-IR 6 (or ISO-IR 14 for the ISO_IR 13
// terms) and G1 holds the upper half named by value 1, if any. With code
// extensions (terms "ISO 2022 IR n"), escape sequences designate other
// code elements into G0 or G1:
//
//	ESC ( B    ISO-IR 6    (ASCII)           G0
//	ESC ( J    ISO-IR 14   (JIS X 0201 romaji)   G0
//	ESC ) I    ISO-IR 13   (JIS X 0201 katakana) G1
//	ESC $ B    ISO-IR 87   (JIS X 0208)      G0, two bytes
//	ESC $ ( D  ISO-IR 159  (JIS X 0212)      G0, two bytes
//	ESC $ ) C  ISO-IR 149  (KS X 1001)       G1, two bytes
//	ESC $ ) A  ISO-IR 58   (GB 2312)         G1, two bytes
//	ESC - A .. ESC - b     ISO 8859 upper halves (ISO-IR 100 ... 203) G1
//
// The designations return to their initial state at every delimiter that
// PS3.5 6.1.2.5.3 lists for the value's kind (see [Kind]): control
// characters (CR, LF, FF, TAB ...) for all text, the value delimiter
// BACKSLASH for multi-valued strings, and additionally "^" and "=" for
// person names.
//
// # Whole values
//
// Decode the whole Value Field and split the resulting string on "\"
// afterwards. Splitting the raw bytes first is wrong: in GB18030 and GBK,
// and inside a two-byte G0 set such as JIS X 0208, the byte 0x5C can be part
// of a character.
//
// # Errors
//
// Decoding never discards a value: on error the returned string is still a
// best-effort decoding (undecodable bytes become U+FFFD; bytes above 0x7F in
// the default repertoire are read as ISO 8859-1) and the error, a
// *[DecodeError], reports the first problem. Encoding fails with an
// *[EncodeError] naming the first character the set cannot represent.
//
// # Known deviations
//
//   - ISO-IR 14 (JIS X 0201 romaji) is treated as ASCII: 0x5C decodes to
//     "\" rather than YEN SIGN and 0x7E to "~" rather than OVERLINE, as
//     pydicom does, so that 0x5C keeps its role as the value delimiter.
//   - The two-byte tables come from golang.org/x/text, which follows the
//     WHATWG Encoding Standard: JIS X 0208 decoding also accepts the NEC and
//     IBM extension rows (encoding uses the standard rows 1-8 and 16-84
//     only), and GB 2312 uses the GBK mapping (for example 0xA1A4 is U+00B7
//     MIDDLE DOT). Private-use code points are rejected in both directions.
package charset
