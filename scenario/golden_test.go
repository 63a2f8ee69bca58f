package scenario_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the results of this run")
	long   = flag.Bool("scenario.long", false, "run the larger sweeps (more seeds, larger transfers)")
)

// golden compares got with testdata/name, or writes it there with -update.
// The files hold simulator results, which are reproducible bit for bit:
// any change in the numbers (of the TCP engine, the stack, the simulator
// or this package) shows up as a diff, to be reviewed and accepted with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got); if the change is intended, run go test ./scenario -update:\n%s", path, diff)
	}
}

// skipUnderRace skips a long simulation when the race detector is on:
// the simulator and the stacks run on one goroutine, so the detector has
// nothing to find there, and it makes these runs ten times slower. CI runs
// them without -race (go test ./...) before the -race pass.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("long single-goroutine simulation: run without -race")
	}
}
