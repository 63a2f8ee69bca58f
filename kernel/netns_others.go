//go:build !linux

package kernel

import "fmt"

// DoInNetns runs f inside a network namespace. It needs Linux.
func DoInNetns(path string, f func() error) error {
	return fmt.Errorf("netns: %w", ErrUnsupported)
}
