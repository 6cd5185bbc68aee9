//go:build race

package deflate_test

// raceEnabled: the race detector changes what the runtime allocates, so allocation bounds
// get more room.
const raceEnabled = true
