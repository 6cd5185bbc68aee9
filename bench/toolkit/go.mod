module github.com/lightbox-pacs/lightbox/bench/toolkit

go 1.26.8

require (
	github.com/lightbox-pacs/lightbox v0.0.0
	github.com/suyashkumar/dicom v1.0.7
)

require golang.org/x/text v0.43.0 // indirect

replace github.com/lightbox-pacs/lightbox => ../..
