// Package dicomweb holds the parts of DICOMweb (PS3.18) that servers and clients share: the media
// types of the services (PS3.18 8.7.3), a streaming multipart/related reader and writer for the
// payloads of WADO-RS and STOW-RS (PS3.18 8.6 and 8.7, after RFC 2387), the parsing of
// Accept media ranges with their type and transfer-syntax parameters (PS3.18 8.7.3.5), and the
// parsing of QIDO-RS query parameters (PS3.18 8.3.4).
//
// Nothing here holds a whole part or a whole payload in memory: parts are read and written as
// streams, so that instances of several gigabytes pass through with a small, bounded buffer.
package dicomweb
