//go:build linux

package pm

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// testNS is a network namespace created by a test and deleted when it ends.
type testNS struct {
	name string
	file *os.File
}

// newTestNS creates the namespace "gmtpm<pid><tag>", or skips the test when
// that is impossible (not root, no iproute2, no MPTCP).
func newTestNS(t *testing.T, tag string) *testNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating network namespaces needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: needs the ip command (iproute2)")
	}
	if _, err := os.Stat("/proc/sys/net/mptcp/enabled"); err != nil {
		t.Skip("skipping: the kernel has no MPTCP (/proc/sys/net/mptcp missing)")
	}
	name := fmt.Sprintf("gmtpm%d%s", os.Getpid(), tag)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create network namespace %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("deleting network namespace %s: %v: %s", name, err, out)
		}
	})
	f, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatalf("opening network namespace %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	ns := &testNS{name: name, file: f}
	ns.ip(t, "link", "set", "lo", "up")
	return ns
}

// config returns a netlink configuration opening sockets inside ns.
func (ns *testNS) config() *netlink.Config {
	return &netlink.Config{NetNS: int(ns.file.Fd())}
}

// ip runs "ip -n NS args..." and returns its output.
func (ns *testNS) ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// exec runs a command inside ns ("ip netns exec") and returns its output.
func (ns *testNS) exec(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns exec %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// do runs fn on an OS thread switched into ns, so that the sockets fn
// creates belong to ns. The thread returns to its namespace afterwards; if
// it cannot, it stays locked and dies with its goroutine.
func (ns *testNS) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(ns.file.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering %s: %w", ns.name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("leaving %s: %w (thread retired)", ns.name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// addVeth creates a veth pair inside ns: gmtv0 with 10.0.1.1/24 and
// fd00::1/64, gmtv1 with 10.0.2.2/24 and fd00:2::2/64.
func (ns *testNS) addVeth(t *testing.T) {
	t.Helper()
	ns.ip(t, "link", "add", "gmtv0", "type", "veth", "peer", "name", "gmtv1")
	ns.ip(t, "link", "set", "gmtv0", "up")
	ns.ip(t, "link", "set", "gmtv1", "up")
	ns.ip(t, "addr", "add", "10.0.1.1/24", "dev", "gmtv0")
	ns.ip(t, "addr", "add", "10.0.2.2/24", "dev", "gmtv1")
	ns.ip(t, "addr", "add", "fd00::1/64", "dev", "gmtv0", "nodad")
	ns.ip(t, "addr", "add", "fd00:2::2/64", "dev", "gmtv1", "nodad")
}

// ifIndex returns the index of an interface of ns.
func (ns *testNS) ifIndex(t *testing.T, name string) int {
	t.Helper()
	var links []struct {
		IfIndex int    `json:"ifindex"`
		IfName  string `json:"ifname"`
	}
	if err := json.Unmarshal([]byte(ns.ip(t, "-j", "link", "show", "dev", name)), &links); err != nil || len(links) != 1 {
		t.Fatalf("parsing ip link show %s: %v %v", name, err, links)
	}
	return links[0].IfIndex
}

// ipEndpoints returns the endpoints of ns as "ip -j mptcp endpoint show"
// reports them, with interface names turned into indexes.
func (ns *testNS) ipEndpoints(t *testing.T) []Endpoint {
	t.Helper()
	var raw []map[string]any
	out := ns.ip(t, "-j", "mptcp", "endpoint", "show")
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("parsing %q: %v", out, err)
	}
	eps := []Endpoint{}
	for _, m := range raw {
		var e Endpoint
		for k, v := range m {
			switch k {
			case "address":
				e.Addr = netip.MustParseAddr(v.(string))
			case "id":
				e.ID = uint8(v.(float64))
			case "port":
				e.Port = uint16(v.(float64))
			case "dev":
				e.IfIndex = ns.ifIndex(t, v.(string))
			case "rawflags":
				n, err := strconv.ParseUint(v.(string), 16, 32)
				if err != nil {
					t.Fatalf("rawflags %q: %v", v, err)
				}
				e.Flags |= EndpointFlags(n)
			default:
				f, ok := ParseEndpointFlag(k)
				if !ok {
					t.Fatalf("unknown key %q in %q", k, out)
				}
				if v == true {
					e.Flags |= f
				}
			}
		}
		eps = append(eps, e)
	}
	return eps
}

// ipLimits returns the limits of ns as "ip mptcp limits show" prints them.
func (ns *testNS) ipLimits(t *testing.T) Limits {
	t.Helper()
	out := ns.ip(t, "mptcp", "limits", "show")
	f := strings.Fields(out)
	var l Limits
	seen := 0
	for i := 0; i+1 < len(f); i += 2 {
		n, err := strconv.ParseUint(f[i+1], 10, 32)
		if err != nil {
			t.Fatalf("parsing %q: %v", out, err)
		}
		switch f[i] {
		case "subflows":
			l.Subflows = uint32(n)
			seen++
		case "add_addr_accepted":
			l.AddAddrAccepted = uint32(n)
			seen++
		}
	}
	if seen != 2 {
		t.Fatalf("parsing %q: not both limits", out)
	}
	return l
}

// recorder collects a Monitor's events.
type recorder struct {
	mu     sync.Mutex
	evs    []Event
	notify chan struct{}
	done   chan struct{}
}

func record(m *Monitor) *recorder {
	r := &recorder{notify: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ev := range m.Events() {
			r.mu.Lock()
			r.evs = append(r.evs, ev)
			r.mu.Unlock()
			select {
			case r.notify <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.evs...)
}

// wait returns the first recorded event satisfying pred, waiting for it up
// to 10 s.
func (r *recorder) wait(t *testing.T, what string, pred func(Event) bool) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		for _, ev := range r.all() {
			if ev.Err != nil {
				t.Errorf("event error: %v", ev)
			}
			if pred(ev) {
				return ev
			}
		}
		select {
		case <-r.notify:
		case <-r.done:
			t.Fatalf("monitor stopped before %s", what)
		case <-timeout:
			var lines []string
			for _, ev := range r.all() {
				lines = append(lines, ev.String())
			}
			t.Fatalf("no %s within 10s; events:\n%s", what, strings.Join(lines, "\n"))
		}
	}
}

// ipMonitor runs "ip mptcp monitor" inside ns and collects its lines.
type ipMonitor struct {
	cmd   *exec.Cmd
	lines chan string
}

func startIPMonitor(t *testing.T, ns *testNS) *ipMonitor {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns.name, "mptcp", "monitor")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ip mptcp monitor: %v", err)
	}
	m := &ipMonitor{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		defer close(m.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			m.lines <- s.Text()
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(m.stop)
	return m
}

// stop ends the monitor process this test started.
func (m *ipMonitor) stop() {
	if m.cmd.ProcessState != nil {
		return
	}
	m.cmd.Process.Kill()
	m.cmd.Wait()
}

// next returns the next line, or false after the timeout.
func (m *ipMonitor) next(timeout time.Duration) (string, bool) {
	select {
	case l, ok := <-m.lines:
		return l, ok
	case <-time.After(timeout):
		return "", false
	}
}

// monitorLine is one "ip mptcp monitor" line taken apart.
type monitorLine struct {
	typ    string
	fields map[string]string
}

func parseMonitorLine(l string) (monitorLine, error) {
	l = strings.TrimSpace(l)
	end := strings.IndexByte(l, ']')
	if !strings.HasPrefix(l, "[") || end < 0 {
		return monitorLine{}, errors.New("no [TYPE]")
	}
	ml := monitorLine{typ: strings.TrimSpace(l[1:end]), fields: map[string]string{}}
	for _, f := range strings.Fields(l[end+1:]) {
		k, v, _ := strings.Cut(f, "=")
		ml.fields[k] = v
	}
	return ml, nil
}

// enableMPTCPIn skips the test when MPTCP is disabled inside ns.
func enableMPTCPIn(t *testing.T, ns *testNS) {
	t.Helper()
	if v := strings.TrimSpace(ns.exec(t, "cat", "/proc/sys/net/mptcp/enabled")); v != "1" {
		t.Skipf("skipping: MPTCP disabled in the namespace (net.mptcp.enabled=%s)", v)
	}
}
