package cpuclock

import "time"

var epoch = time.Now()

// wall is the time since the package was loaded, by the monotonic clock.
func wall() time.Duration { return time.Since(epoch) }
