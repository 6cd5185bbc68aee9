// Package toolkit holds side-by-side benchmarks of Lightbox's DICOM toolkit (package
// github.com/lightbox-pacs/lightbox/dicom) and github.com/suyashkumar/dicom on the same files of
// the shared corpus, and a cross-check of the identifiers both read. It is a module of its own so
// that the main module never depends on the library it is compared with. run.sh runs the
// benchmarks, times DCMTK's dcmdump on the same files and prints one table; docs/performance.md
// records the results.
package toolkit
