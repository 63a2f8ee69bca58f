//go:build !linux

package kerneltest

import "testing"

// Require skips t: network namespaces need Linux.
func Require(t testing.TB) {
	t.Helper()
	t.Skip("kerneltest: network namespaces need Linux")
}

// RequireTool skips t: network namespaces need Linux.
func RequireTool(t testing.TB, name string) { Require(t) }
