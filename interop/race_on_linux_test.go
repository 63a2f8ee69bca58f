//go:build race

package interop

// raceDetector reports whether the race detector is on: it slows our
// stack about tenfold, so the large transfers shrink to keep the package
// within its time budget.
const raceDetector = true
