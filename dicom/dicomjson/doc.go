// Package dicomjson converts data sets to and from the DICOM JSON Model of PS3.18 Annex F
// (section F.2), the representation of DICOMweb (QIDO-RS results, WADO-RS metadata, STOW-RS
// requests).
//
// Encoding follows F.2: one JSON object per data set whose members are named by the tag as eight
// upper-case hexadecimal digits, in ascending order, each an object with "vr" and at most one of
// "Value", "InlineBinary" (base64, F.2.7) or "BulkDataURI" (F.2.6). Group length elements are left
// out (F.2.2). Strings are written in UTF-8, decoded through the data set's Specific Character
// Set; Person Names become objects with "Alphabetic", "Ideographic" and "Phonetic" members; empty
// values within a multi-valued attribute become null and an attribute without a value has no
// "Value" (F.2.5).
//
// Numbers follow Table F.2.3-1. IS and DS values are JSON numbers when their text is a valid JSON
// number and JSON strings otherwise ("+1.5", ".5", "01"), which the note to Table F.2.3-1 allows
// "to preserve the original format"; SV and UV values beyond ±2^53, which many JSON readers cannot
// hold exactly, are strings as the same note permits. JSON has no NaN or infinity: FL and FD values
// that are not finite are written as the strings "NaN", "Infinity" and "-Infinity", and read back.
//
// The encoder appends to a byte buffer without reflection; ArrayWriter streams a JSON array of
// data sets (a QIDO-RS or WADO-RS metadata response) one data set at a time.
//
// The decoder reads with a streaming tokenizer, bounds sequence nesting and input size, and names
// the attribute and value at fault in its errors ("00100010: Value[0]: PN object expected").
package dicomjson
