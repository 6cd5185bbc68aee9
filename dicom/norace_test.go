//go:build !race

package dicom_test

// raceSlowdown: see race_test.go.
const raceSlowdown = 1
