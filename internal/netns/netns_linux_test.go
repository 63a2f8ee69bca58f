//go:build linux

package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// newNetns creates an anonymous network namespace and returns a file that
// refers to it. The thread that creates it does so inside Do, entering the
// process's own namespace, so it returns to that namespace afterwards and
// only the file holds the new one: the namespace goes away when the file is
// closed at the end of the test. The test is skipped unless it may create
// namespaces.
func newNetns(t *testing.T) *os.File {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netns: creating a network namespace needs root")
	}
	self, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	var f *os.File
	err = Do(int(self.Fd()), func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		var err error
		f, err = os.Open("/proc/thread-self/ns/net")
		return err
	})
	if errors.Is(err, unix.EPERM) {
		t.Skipf("netns: may not create a network namespace here: %v", err)
	}
	if err != nil {
		t.Fatalf("creating a network namespace: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// inode identifies the namespace an open namespace file refers to.
func inode(t testing.TB, f *os.File) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// threadNetns returns the namespace of the calling thread; the caller has
// locked its goroutine to the thread.
func threadNetns() (uint64, error) {
	var st unix.Stat_t
	err := unix.Stat("/proc/thread-self/ns/net", &st)
	return st.Ino, err
}

// processNetns returns the namespaces of all the threads of the process.
func processNetns(t *testing.T) map[uint64]int {
	t.Helper()
	links, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil || len(links) == 0 {
		t.Fatalf("threads: %v", err)
	}
	m := map[uint64]int{}
	for _, l := range links {
		var st unix.Stat_t
		if err := unix.Stat(l, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // the thread has just ended
			}
			t.Fatal(err)
		}
		m[st.Ino]++
	}
	return m
}

func TestDo(t *testing.T) {
	target := newNetns(t)
	want := inode(t, target)
	self, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	orig := inode(t, self)
	if orig == want {
		t.Fatal("the new namespace is the process's own")
	}

	var inside uint64
	var sock int
	err = Do(int(target.Fd()), func() error {
		var err error
		if inside, err = threadNetns(); err != nil {
			return err
		}
		sock, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer unix.Close(sock)
	if inside != want {
		t.Errorf("f ran in namespace %d, want %d", inside, want)
	}
	// The socket stays in the namespace it was opened in (SIOCGSKNS opens
	// a socket's namespace).
	nsfd, err := unix.IoctlRetInt(sock, unix.SIOCGSKNS)
	if err != nil {
		t.Fatalf("SIOCGSKNS: %v", err)
	}
	skns := os.NewFile(uintptr(nsfd), "socket netns")
	defer skns.Close()
	if got := inode(t, skns); got != want {
		t.Errorf("socket in namespace %d, want %d", got, want)
	}
	errF := errors.New("f failed")
	if err := Do(int(target.Fd()), func() error { return errF }); err != errF {
		t.Errorf("Do = %v, want f's error itself", err)
	}
	// Every thread is back in the process's namespace.
	if m := processNetns(t); len(m) != 1 || m[orig] == 0 {
		t.Errorf("threads by namespace %v, want all in %d", m, orig)
	}
}

func TestDoPath(t *testing.T) {
	target := newNetns(t)
	want := inode(t, target)
	var inside uint64
	err := DoPath(fmt.Sprintf("/proc/self/fd/%d", target.Fd()), func() (err error) {
		inside, err = threadNetns()
		return err
	})
	if err != nil || inside != want {
		t.Fatalf("DoPath: f ran in namespace %d, %v; want %d", inside, err, want)
	}
}

// TestDoConcurrent enters a namespace from several goroutines at once and
// checks that each call runs inside it and that no thread stays there.
func TestDoConcurrent(t *testing.T) {
	target := newNetns(t)
	want := inode(t, target)
	before := processNetns(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				errs <- Do(int(target.Fd()), func() error {
					got, err := threadNetns()
					if err == nil && got != want {
						err = fmt.Errorf("in namespace %d, want %d", got, want)
					}
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	after := processNetns(t)
	if after[want] != 0 || len(after) != len(before) {
		t.Errorf("threads by namespace %v after, %v before: none may stay in %d", after, before, want)
	}
}

// TestDoErrors checks that a file that is no namespace is refused before
// f runs; it needs no privileges.
func TestDoErrors(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	dir := t.TempDir()
	notNetns := filepath.Join(dir, "file")
	if err := os.WriteFile(notNetns, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		do   func(f func() error) error
		want error
	}{
		{"fd of /dev/null", func(f func() error) error { return Do(int(devNull.Fd()), f) }, unix.EINVAL},
		{"closed fd", func(f func() error) error { return Do(1<<20, f) }, unix.EBADF},
		{"missing path", func(f func() error) error { return DoPath(filepath.Join(dir, "missing"), f) }, fs.ErrNotExist},
		{"regular file", func(f func() error) error { return DoPath(notNetns, f) }, unix.EINVAL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			err := tt.do(func() error { called = true; return nil })
			if !errors.Is(err, tt.want) || called {
				t.Errorf("error %v, f called %v; want an error wrapping %v and f not called", err, called, tt.want)
			}
		})
	}
}

// TestNotRestored makes the return to the original namespace fail. The
// namespace "entered" is the test's own, so the discarded thread leaves
// nothing behind in another one.
func TestNotRestored(t *testing.T) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	orig := setns
	t.Cleanup(func() { setns = orig })
	errF := errors.New("f failed")
	for _, fErr := range []error{nil, errF} {
		calls := 0
		setns = func(fd int) error {
			if calls++; calls == 2 {
				return unix.EPERM
			}
			return nil
		}
		ran := false
		err := Do(int(self.Fd()), func() error { ran = true; return fErr })
		if !ran || !errors.Is(err, ErrNotRestored) || !errors.Is(err, unix.EPERM) {
			t.Errorf("f ran %v, error %v; want f run and an error wrapping ErrNotRestored and EPERM", ran, err)
		}
		if fErr != nil && !errors.Is(err, fErr) {
			t.Errorf("error %v lacks f's error", err)
		}
	}
}
