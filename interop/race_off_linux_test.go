//go:build !race

package interop

// raceDetector reports whether the race detector is on.
const raceDetector = false
