// Package cpuclock reads the CPU time the process has used, for tests that hold work to a
// budget of time. The TESTPLAN's budgets (a hostile input is refused in under a second) are
// about the work the code does: measured by the wall clock, they also count the time other
// processes take from a loaded two-core CI machine, and fail for reasons that are not ours.
// CPU time counts only this process's threads, the garbage collector's included.
package cpuclock

import "time"

// Since returns the CPU time the process has used since start, a value from Now.
func Since(start time.Duration) time.Duration { return Now() - start }
