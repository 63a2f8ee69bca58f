//go:build !linux

package kernel

import "fmt"

// Sysctls reads the MPTCP sysctls. It needs Linux.
func Sysctls() (*SysctlValues, error) { return nil, fmt.Errorf("sysctls: %w", ErrUnsupported) }

// SetSysctl writes an MPTCP sysctl. It needs Linux.
func SetSysctl(name, value string) error {
	return fmt.Errorf("sysctl %s: %w", name, ErrUnsupported)
}
