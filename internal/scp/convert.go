package scp

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/uid"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/transcode"
)

// DefaultMaxConvertBytes bounds the size of an instance converted to another transfer syntax
// for a C-MOVE or C-GET destination, unless Options.MaxConvertBytes says otherwise: conversion
// holds the data set and its frames in memory.
const DefaultMaxConvertBytes = 512 << 20

// fallbackSyntaxes are proposed to C-MOVE destinations beside each instance's stored syntax,
// so that a peer that takes no compressed data still gets every instance.
var fallbackSyntaxes = []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian}

// targetSyntax picks, among the syntaxes a peer accepted, the one to convert an instance stored
// in from into: the uncompressed syntaxes first, then lossless compressed ones this build can
// encode, in the peer's order. Lossy targets are never chosen. It returns "" when none fits.
func targetSyntax(reg *codec.Registry, from string, accepted []string) string {
	if !dicom.IsNative(from) && !reg.CanDecode(from) {
		return ""
	}
	for _, ts := range []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian, dicom.ExplicitVRBigEndian} {
		if slices.Contains(accepted, ts) {
			return ts
		}
	}
	for _, ts := range accepted {
		if reg.CanEncode(ts) && !transcode.IsLossy(reg, ts) {
			return ts
		}
	}
	return ""
}

// sendConverted sends st converted into a syntax the peer accepted, or fails with an error
// that names what the peer takes.
func (h *Handler) sendConverted(ctx context.Context, st *index.Stored, accepted []string, send func(dimse.StoreRequest) (dimse.Status, error)) (dimse.Status, error) {
	reg := h.codecs()
	target := targetSyntax(reg, st.TransferSyntaxUID, accepted)
	if target == "" {
		names := make([]string, len(accepted))
		for i, ts := range accepted {
			names[i] = uid.Name(ts)
		}
		return 0, fmt.Errorf("%w: the peer takes %s only in %s; %s is stored in %s and cannot be converted to those",
			dimse.ErrNoContext, uid.Name(st.SOPClassUID), strings.Join(names, ", "), st.SOPInstanceUID, uid.Name(st.TransferSyntaxUID))
	}
	limit := h.opts.MaxConvertBytes
	if limit <= 0 {
		limit = DefaultMaxConvertBytes
	}
	f, err := h.arc.Convert(ctx, st, target, limit, transcode.Options{Registry: reg})
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	if err := dicom.WriteDataset(&buf, f.Dataset, target, dicom.WriteOptions{}); err != nil {
		return 0, fmt.Errorf("encode %s in %s: %w", st.SOPInstanceUID, uid.Name(target), err)
	}
	h.log.Debug("sending converted", "sop_instance_uid", st.SOPInstanceUID, "from", st.TransferSyntaxUID, "to", target)
	return send(dimse.StoreRequest{SOPClassUID: st.SOPClassUID, SOPInstanceUID: st.SOPInstanceUID,
		TransferSyntax: target, Data: &buf})
}
