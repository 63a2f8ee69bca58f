//go:build !linux

package netns

import (
	"errors"
	"fmt"
)

// Do runs f inside a network namespace. It needs Linux.
func Do(fd int, f func() error) error {
	return fmt.Errorf("netns: %w", errors.ErrUnsupported)
}

// DoPath runs f inside a network namespace. It needs Linux.
func DoPath(path string, f func() error) error {
	return fmt.Errorf("netns: %w", errors.ErrUnsupported)
}
