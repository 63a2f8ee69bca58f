//go:build race

package main

// raceEnabled: the race detector slows the simulator down tenfold, with
// nothing to find in its single goroutine.
const raceEnabled = true
