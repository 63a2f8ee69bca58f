//go:build linux

package netns

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// setns enters the namespace fd; tests replace it to make leaving fail.
var setns = func(fd int) error { return unix.Setns(fd, unix.CLONE_NEWNET) }

// Do runs f on an OS thread that has entered the network namespace that
// the open file descriptor fd refers to (a file under /run/netns or
// /proc/PID/ns/net), and returns f's error. If the thread cannot return to
// its original namespace afterwards, the error wraps ErrNotRestored, and
// f's error too if f failed.
func Do(fd int, f func() error) error {
	return run(fd, "network namespace", f)
}

// DoPath is Do for the namespace at path, for example /run/netns/NAME or
// /proc/PID/ns/net.
func DoPath(path string, f func() error) error {
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	defer target.Close()
	return run(int(target.Fd()), path, f)
}

// run is Do; what names the namespace in errors.
func run(fd int, what string, f func() error) error {
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
		if err := setns(fd); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: entering %s: %w", what, err)
			return
		}
		ferr := f()
		if err := setns(int(orig.Fd())); err != nil {
			// Leave the thread locked: it ends with this goroutine
			// instead of running other goroutines in the wrong
			// namespace.
			errc <- errors.Join(ferr, fmt.Errorf("%w: leaving %s: %w", ErrNotRestored, what, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
