//go:build !linux

package kerneltest

import "testing"

// Require skips t: network namespaces need Linux.
func Require(t testing.TB) {
	t.Helper()
	t.Skip("kerneltest: network namespaces need Linux")
}

// RequireNetns skips t: network namespaces need Linux.
func RequireNetns(t testing.TB) {
	t.Helper()
	Require(t)
}

// RequireTool skips t: network namespaces need Linux.
func RequireTool(t testing.TB, name string) {
	t.Helper()
	Require(t)
}
