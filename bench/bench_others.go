//go:build !linux

package bench

import "errors"

// errUnsupported: the end-to-end benchmarks need Linux (network
// namespaces, TUN devices, the kernel's MPTCP).
var errUnsupported = errors.New("bench: the end-to-end benchmarks run on Linux only")

// PathCase is a set of emulated paths a benchmark runs on.
type PathCase struct {
	Name  string
	Paths []PathSpec
}

// FailoverCase is a failover scenario.
type FailoverCase struct {
	Name   string
	Paths  []PathSpec
	Backup bool
}

// MemoryCase is a configuration of RunMemory.
type MemoryCase struct {
	Name    string
	Pairing Pairing
	Paths   int
}

// TUNSubject is a userspace stack measured by RunTUN.
type TUNSubject string

// TUNGVisorTCP is the reference of the TUN benchmark.
const TUNGVisorTCP TUNSubject = "gvisor tcp"

func Available() error                                                 { return errUnsupported }
func CloseAll() error                                                  { return nil }
func DefaultAggregationCases() []PathCase                              { return nil }
func CeilingCases() []PathCase                                         { return nil }
func DefaultFailoverCases() []FailoverCase                             { return nil }
func DefaultMemoryCases() []MemoryCase                                 { return nil }
func DefaultTUNSubjects() []TUNSubject                                 { return nil }
func RunAggregation(Options, []PathCase, []Pairing) ([]Sample, error)  { return nil, errUnsupported }
func RunCeiling(Options, []Pairing) ([]Sample, error)                  { return nil, errUnsupported }
func RunFailover(Options, []FailoverCase, []Pairing) ([]Sample, error) { return nil, errUnsupported }
func RunTUN(Options, []TUNSubject) ([]Sample, error)                   { return nil, errUnsupported }
func RunSetup(Options, []Pairing, int) ([]Sample, error)               { return nil, errUnsupported }
func RunMemory(Options, []MemoryCase, int) ([]Sample, error)           { return nil, errUnsupported }
