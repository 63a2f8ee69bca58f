//go:build linux

package kernel

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// DoInNetns runs f on an OS thread that has entered the network namespace
// at path (for example /run/netns/NAME, or /proc/PID/ns/net), then returns
// f's error. Sockets f creates stay in that namespace after it returns, and
// files under /proc/thread-self/net and /proc/sys/net that f opens are
// those of the namespace: ReadMIB, Sysctls and SetSysctl called from f act
// on it. f must not start goroutines that expect to be in the namespace.
//
// Entering a namespace needs CAP_SYS_ADMIN. If the thread cannot be moved
// back to its original namespace it is discarded rather than reused.
func DoInNetns(path string, f func() error) error {
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: entering %s: %w", path, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it ends with this goroutine
			// instead of running other goroutines in the wrong namespace.
			errc <- fmt.Errorf("netns: leaving %s: %w", path, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
