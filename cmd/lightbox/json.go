package main

import (
	"errors"
	"io"

	"github.com/lightbox-pacs/lightbox/dicom"
)

func writeJSON(w io.Writer, ds *dicom.Dataset) error {
	return errors.New("DICOM JSON output is not available in this build")
}
