//go:build race

package plot

const raceEnabled = true
