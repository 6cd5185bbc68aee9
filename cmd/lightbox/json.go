package main

import (
	"io"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
)

// writeJSON prints ds as DICOM JSON with every value inline (encapsulated pixel data, which has
// no inline form, is left out), followed by a newline.
func writeJSON(w io.Writer, ds *dicom.Dataset) error {
	b, err := dicomjson.Marshal(ds, dicomjson.Options{})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}
