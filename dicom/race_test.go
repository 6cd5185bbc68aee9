//go:build race

package dicom_test

// raceSlowdown: the race detector makes the parser several times slower (TestDeflateBomb: 0.25 s
// without it, 3.1 s with it on the 2-core development machine), so the time budget of the
// hostile-input tests, set for a plain build, is scaled by it.
const raceSlowdown = 10
