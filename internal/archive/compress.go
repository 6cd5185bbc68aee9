package archive

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/tag"
	"github.com/lightbox-pacs/lightbox/transcode"
)

// DefaultMaxCompressBytes bounds the instances the compression policy converts: larger ones
// are stored as received, since conversion holds the instance in memory.
const DefaultMaxCompressBytes = 256 << 20

// CompressPolicy is the optional ingest policy that stores the pixel data of uncompressed
// instances in a lossless compressed transfer syntax. Pixels are kept exactly: each converted
// instance is decoded again and compared with what was received before it is stored, and an
// instance that does not compare equal, cannot be converted or is larger than MaxBytes is stored
// as received. With the policy on, the stored bytes are no longer the received bytes (the data
// set's other elements are unchanged); it is off by default.
type CompressPolicy struct {
	// TransferSyntax is the lossless target ("" turns the policy off).
	TransferSyntax string
	// Codecs encodes and decodes; required when TransferSyntax is set.
	Codecs *codec.Registry
	// MaxBytes bounds the instances converted (default DefaultMaxCompressBytes).
	MaxBytes int64
}

// Check reports whether the policy can work: a lossless syntax this build encodes and decodes.
func (p CompressPolicy) Check() error {
	if p.TransferSyntax == "" {
		return nil
	}
	switch {
	case p.Codecs == nil:
		return fmt.Errorf("compression policy: no codecs")
	case dicom.IsNative(p.TransferSyntax):
		return fmt.Errorf("compression policy: %s is not a compressed transfer syntax", p.TransferSyntax)
	case transcode.IsLossy(p.Codecs, p.TransferSyntax):
		return fmt.Errorf("compression policy: %s is lossy; only lossless syntaxes keep the pixels", p.TransferSyntax)
	case !p.Codecs.CanEncode(p.TransferSyntax) || !p.Codecs.CanDecode(p.TransferSyntax):
		return fmt.Errorf("compression policy: this build cannot encode and decode %s (see lightbox transcode --list)", p.TransferSyntax)
	}
	return nil
}

// compress applies the compression policy to req: it returns req unchanged (its data still
// readable from the start) or converted to the policy's syntax.
func (s *Service) compress(ctx context.Context, req StoreRequest) StoreRequest {
	p := s.opts.Compress
	if p.TransferSyntax == "" || p.Codecs == nil || !dicom.IsNative(req.TransferSyntax) || ctx.Err() != nil {
		return req
	}
	limit := p.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxCompressBytes
	}
	buf, err := io.ReadAll(io.LimitReader(req.Data, limit+1))
	if err != nil || int64(len(buf)) > limit {
		// Too large, or the stream failed: the normal path stores it or reports the failure.
		req.Data = io.MultiReader(bytes.NewReader(buf), req.Data)
		return req
	}
	req.Data = bytes.NewReader(buf)
	out, err := s.convert(buf, req.TransferSyntax, p)
	if err != nil {
		s.log.Debug("compression policy: stored as received", "sop_uid", req.SOPInstanceUID, "reason", err)
		return req
	}
	req.TransferSyntax = p.TransferSyntax
	req.Data = bytes.NewReader(out)
	return req
}

// convert encodes the data set in buf in the policy's syntax and checks that it decodes to the
// same pixels.
func (s *Service) convert(buf []byte, from string, p CompressPolicy) ([]byte, error) {
	ds, err := dicom.ParseDataset(buf, from, dicom.ReadOptions{})
	if err != nil {
		return nil, err
	}
	px := ds.Element(tag.PixelData)
	if px == nil || px.IsEncapsulated() {
		return nil, fmt.Errorf("no native Pixel Data")
	}
	opts := transcode.Options{Registry: p.Codecs}
	enc, err := transcode.Dataset(ds, from, p.TransferSyntax, opts)
	if err != nil {
		return nil, err
	}
	back, err := transcode.Dataset(enc, p.TransferSyntax, dicom.ExplicitVRLittleEndian, opts)
	if err != nil {
		return nil, fmt.Errorf("decode again: %w", err)
	}
	im, frames, err := codec.ImageOf(ds)
	if err != nil {
		return nil, err
	}
	n := im.FrameSize() * int64(frames)
	if im.BitsAllocated == 1 {
		n = (int64(im.Rows)*int64(im.Columns)*int64(frames) + 7) / 8
	}
	got := back.Element(tag.PixelData)
	if n <= 0 || int64(len(px.Value)) < n || got == nil || int64(len(got.Value)) < n ||
		!bytes.Equal(got.Value[:n], px.Value[:n]) || back.String(tag.PhotometricInterpretation) != ds.String(tag.PhotometricInterpretation) ||
		back.String(tag.PlanarConfiguration) != ds.String(tag.PlanarConfiguration) {
		return nil, fmt.Errorf("the pixels do not come back identical from %s", p.TransferSyntax)
	}
	var w bytes.Buffer
	if err := dicom.WriteDataset(&w, enc, p.TransferSyntax, dicom.WriteOptions{}); err != nil {
		return nil, err
	}
	if w.Len() >= len(buf) {
		return nil, fmt.Errorf("no smaller in %s (%d bytes, %d received)", p.TransferSyntax, w.Len(), len(buf))
	}
	return w.Bytes(), nil
}
