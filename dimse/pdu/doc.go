// Package pdu encodes and decodes the DICOM Upper Layer protocol data units of
// PS3.8 section 9.3, byte for byte:
//
//   - A-ASSOCIATE-RQ (PS3.8 9.3.2), A-ASSOCIATE-AC (9.3.3), A-ASSOCIATE-RJ (9.3.4),
//   - P-DATA-TF (9.3.5) with its Presentation Data Value items (9.3.5.1),
//   - A-RELEASE-RQ (9.3.6), A-RELEASE-RP (9.3.7) and A-ABORT (9.3.8),
//
// together with the variable items of the association PDUs: Application Context
// (9.3.2.1), Presentation Context (9.3.2.2, 9.3.3.2) with its Abstract Syntax and
// Transfer Syntax sub-items (9.3.2.2.1, 9.3.2.2.2), and User Information
// (9.3.2.3, 9.3.3.3) with the sub-items of PS3.8 Annex D.1 (Maximum Length) and
// PS3.7 Annex D.3.3: Implementation Class UID and Version Name (D.3.3.2),
// Asynchronous Operations Window (D.3.3.3), SCP/SCU Role Selection (D.3.3.4),
// SOP Class Extended Negotiation (D.3.3.5), SOP Class Common Extended
// Negotiation (D.3.3.6) and User Identity Negotiation (D.3.3.7).
//
// All multi-byte integers are big endian (PS3.8 9.3.1). UIDs are written
// without padding (PS3.8 Annex F, "shall not be padded"); on input a trailing
// NUL or space, which some implementations add, is removed. AE titles are
// 16 bytes padded with spaces, leading and trailing spaces being
// non-significant (PS3.8 9.3.2).
//
// Decoding is lenient where the standard says a field is "not tested when
// received" and on item types it does not know (they are kept as [RawItem]
// and written back unchanged), and strict on lengths: a length that does not
// add up is a [*DecodeError] naming the PDU type, the item type and the
// offset. A [Reader] bounds every PDU length against [Limits] before it
// allocates anything.
//
// The P-DATA-TF path does not allocate: [AppendPDataHeader] and
// [AppendPDVHeader] let a sender stream a data set as PDVs straight from its
// source, and [Reader] reuses one buffer and one [PDataTF] value for every
// P-DATA-TF it returns.
package pdu
