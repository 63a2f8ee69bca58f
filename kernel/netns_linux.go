//go:build linux

package kernel

import "github.com/gomptcp/mptcp/internal/netns"

// DoInNetns runs f on an OS thread that has entered the network namespace
// at path (for example /run/netns/NAME, or /proc/PID/ns/net), then returns
// f's error. Sockets f creates stay in that namespace after it returns, and
// files under /proc/thread-self/net and /proc/sys/net that f opens are
// those of the namespace: ReadMIB, Sysctls and SetSysctl called from f act
// on it. f must not start goroutines that expect to be in the namespace.
//
// Entering a namespace needs CAP_SYS_ADMIN. If the thread cannot be moved
// back to its original namespace it is discarded rather than reused, and
// the error says so (with f's error, if any).
func DoInNetns(path string, f func() error) error {
	return netns.DoPath(path, f)
}
