module github.com/lightbox-pacs/lightbox

go 1.26.8

require (
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
