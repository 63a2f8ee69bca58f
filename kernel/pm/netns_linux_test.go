//go:build linux

package pm

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel/kerneltest"
)

// addVeth creates a veth pair inside ns: gmtv0 with 10.0.1.1/24 and
// fd00::1/64, gmtv1 with 10.0.2.2/24 and fd00:2::2/64.
func addVeth(t *testing.T, ns *kerneltest.Netns) {
	t.Helper()
	ns.AddVeth(t, "gmtv0", ns, "gmtv1")
	ns.AddAddr(t, "gmtv0", netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("fd00::1/64"))
	ns.AddAddr(t, "gmtv1", netip.MustParsePrefix("10.0.2.2/24"), netip.MustParsePrefix("fd00:2::2/64"))
}

// ipEndpoints returns the endpoints of ns as "ip -j mptcp endpoint show"
// reports them, with interface names turned into indexes.
func ipEndpoints(t *testing.T, ns *kerneltest.Netns) []Endpoint {
	t.Helper()
	eps := []Endpoint{}
	for _, ie := range ns.MPTCPEndpoints(t) {
		e := Endpoint{ID: ie.ID, Addr: ie.Addr, Port: ie.Port, Flags: EndpointFlags(ie.RawFlags)}
		if ie.Dev != "" {
			e.IfIndex = ns.IfIndex(t, ie.Dev)
		}
		for _, name := range ie.Flags {
			f, ok := ParseEndpointFlag(name)
			if !ok {
				t.Fatalf("ip prints the unknown endpoint flag %q", name)
			}
			e.Flags |= f
		}
		eps = append(eps, e)
	}
	return eps
}

// ipLimits returns the limits of ns as "ip mptcp limits show" prints them.
func ipLimits(t *testing.T, ns *kerneltest.Netns) Limits {
	t.Helper()
	out := ns.IP(t, "mptcp", "limits", "show")
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

func startIPMonitor(t *testing.T, ns *kerneltest.Netns) *ipMonitor {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns.Name, "mptcp", "monitor")
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
