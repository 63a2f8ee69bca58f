package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Env owns what a benchmark creates on the host (network namespaces, the
// goroutines and devices in them) and removes it all on Close, in reverse
// order of creation. Names are "gmb", the process id and a counter.
type Env struct {
	mu      sync.Mutex
	n       int
	closers []func() error
}

// NewEnv returns an empty Env. It fails unless the process may create
// network namespaces and TUN devices and the ip tool is installed.
func NewEnv() (*Env, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	e := &Env{}
	live.Lock()
	live.m[e] = struct{}{}
	live.Unlock()
	return e, nil
}

// live are the Envs not closed yet, for CloseAll.
var live = struct {
	sync.Mutex
	m map[*Env]struct{}
}{m: map[*Env]struct{}{}}

// CloseAll closes every Env not closed yet: what a program calls before
// it exits on a signal, since deferred Closes do not run then.
func CloseAll() error {
	live.Lock()
	var es []*Env
	for e := range live.m {
		es = append(es, e)
	}
	live.Unlock()
	var errs []error
	for _, e := range es {
		errs = append(errs, e.Close())
	}
	return errors.Join(errs...)
}

// Available reports why the harness cannot run here, or nil: it needs
// root, the ip tool (iproute2), /dev/net/tun and the kernel's MPTCP.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("bench: needs root (network namespaces, TUN devices)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("bench: needs the ip tool (iproute2): %w", err)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("bench: needs TUN devices: %w", err)
	}
	b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
	if err != nil {
		return fmt.Errorf("bench: the kernel has no MPTCP: %w", err)
	}
	if strings.TrimSpace(string(b)) != "1" {
		return errors.New("bench: MPTCP is disabled in the kernel (net.mptcp.enabled=0)")
	}
	return nil
}

// Prefix is the start of every name the harness gives: "gmb" and the
// process id.
func Prefix() string { return fmt.Sprintf("gmb%d", os.Getpid()%1000000) }

// name returns a new unique name: "gmb", the process id, kind and a
// counter. Interface names are at most 15 bytes.
func (e *Env) name(kind string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	return fmt.Sprintf("%s%s%d", Prefix(), kind, e.n)
}

// onClose registers f to run at Close, before everything registered
// earlier.
func (e *Env) onClose(f func() error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closers = append(e.closers, f)
}

// Close removes everything, last created first, and returns the errors
// joined. It is idempotent.
func (e *Env) Close() error {
	live.Lock()
	delete(live.m, e)
	live.Unlock()
	e.mu.Lock()
	cs := e.closers
	e.closers = nil
	e.mu.Unlock()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Netns is a network namespace of the Env, with an OS thread that stays
// inside it to create sockets and write sysctls there.
type Netns struct {
	Name string // under /run/netns
	Path string // /run/netns/Name

	work chan func()
	done chan struct{}
}

// NewNetns creates a network namespace with its loopback up.
func (e *Env) NewNetns() (*Netns, error) {
	name := e.name("n")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	n := &Netns{Name: name, Path: "/run/netns/" + name, work: make(chan func()), done: make(chan struct{})}
	e.onClose(func() error {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			return fmt.Errorf("ip netns del %s: %v: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	})
	started := make(chan error, 1)
	go n.serve(started)
	if err := <-started; err != nil {
		return nil, err
	}
	e.onClose(func() error { close(n.done); return nil })
	if err := n.IP("link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	return n, nil
}

// serve runs on an OS thread that has entered the namespace and runs the
// functions given to Do until the namespace is closed. The thread is never
// unlocked: it ends with the goroutine instead of going back to the pool
// in another namespace.
func (n *Netns) serve(started chan<- error) {
	runtime.LockOSThread()
	f, err := os.Open(n.Path)
	if err != nil {
		started <- fmt.Errorf("bench: %w", err)
		return
	}
	err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
	f.Close()
	if err != nil {
		started <- fmt.Errorf("bench: entering %s: %w", n.Name, err)
		return
	}
	started <- nil
	for {
		select {
		case fn := <-n.work:
			fn()
		case <-n.done:
			return
		}
	}
}

// Do runs f on the namespace's thread and returns its error: sockets f
// creates belong to the namespace, and /proc/sys/net is the namespace's.
// f must not start goroutines that expect to be in the namespace.
func (n *Netns) Do(f func() error) error {
	errc := make(chan error, 1)
	select {
	case n.work <- func() { errc <- f() }:
		return <-errc
	case <-n.done:
		return fmt.Errorf("bench: namespace %s closed", n.Name)
	}
}

// IP runs "ip -n NAME args…".
func (n *Netns) IP(args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", n.Name}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s %s: %v: %s", n.Name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Sysctl writes value to the namespace's sysctl at path, under /proc/sys
// ("net/ipv4/ip_forward").
func (n *Netns) Sysctl(path, value string) error {
	return n.Do(func() error {
		if err := os.WriteFile("/proc/sys/"+path, []byte(value), 0); err != nil {
			return fmt.Errorf("bench: %s: sysctl %s=%s: %w", n.Name, path, value, err)
		}
		return nil
	})
}
