//go:build !unix

package cpuclock

import "time"

// Now falls back to the wall clock where the process's CPU time cannot be read.
func Now() time.Duration { return wall() }
