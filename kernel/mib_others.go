//go:build !linux

package kernel

import "fmt"

// ReadMIB reads the MPTcpExt counters. It needs Linux.
func ReadMIB() (MIB, error) { return nil, fmt.Errorf("MPTcpExt counters: %w", ErrUnsupported) }

// ReadMIBNetns reads the MPTcpExt counters of a network namespace. It needs
// Linux.
func ReadMIBNetns(path string) (MIB, error) {
	return nil, fmt.Errorf("MPTcpExt counters: %w", ErrUnsupported)
}

// ReadMIBPid reads the MPTcpExt counters of a process. It needs Linux.
func ReadMIBPid(pid int) (MIB, error) {
	return nil, fmt.Errorf("MPTcpExt counters: %w", ErrUnsupported)
}
