package cpuclock

import (
	"testing"
	"time"
)

// TestCountsWorkNotSleep: spinning for 50 ms of wall time adds CPU time, and sleeping does not
// add nearly as much.
func TestCountsWorkNotSleep(t *testing.T) {
	start := Now()
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	spun := Since(start)
	if spun <= 0 {
		t.Fatalf("50 ms of spinning counted %v of CPU time", spun)
	}
	start = Now()
	time.Sleep(200 * time.Millisecond)
	if slept := Since(start); slept >= 150*time.Millisecond {
		t.Errorf("200 ms of sleep counted %v of CPU time", slept)
	}
	t.Logf("spin: %v of CPU", spun)
}
