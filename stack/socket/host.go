package socket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// Loop runs functions on the goroutine that drives a Stack (as a
// link.Node), one at a time, and reads the Stack's Deadline after each.
// link/tun's Stack and SimLoop are Loops.
type Loop interface {
	// Do queues f to run on the loop's goroutine with the current time
	// and returns without waiting. It fails once the loop is closed.
	Do(f func(now time.Time)) error
}

// Config configures a Host.
type Config struct {
	// Clock times deadlines (default clock.Real).
	Clock clock.Clock
}

// Host offers a Stack run by a Loop to goroutines: DialContext, Listen and
// the net.Conn and net.Listener they return. It is safe for concurrent use.
type Host struct {
	loop Loop
	st   *stack.Stack
	clk  clock.Clock

	mu      sync.Mutex
	conns   map[*Conn]struct{}
	lists   map[*Listener]struct{}
	closing bool
	done    chan struct{} // closed by Close
}

// New returns a Host for st, which loop drives. From now on the Stack must
// only be used through the Host (or with Do).
func New(loop Loop, st *stack.Stack, cfg Config) *Host {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Host{
		loop:  loop,
		st:    st,
		clk:   cfg.Clock,
		conns: make(map[*Conn]struct{}),
		lists: make(map[*Listener]struct{}),
		done:  make(chan struct{}),
	}
}

// call is one function run on the loop for a waiting goroutine.
type call struct {
	mu        sync.Mutex
	abandoned bool
	done      chan struct{}
}

// exec runs f on the loop and waits until it has run. If the Host closes
// or the loop refuses f first, exec returns net.ErrClosed, and f will not
// run afterwards (so it may touch the caller's buffers).
func (h *Host) exec(f func(now time.Time)) error {
	select {
	case <-h.done:
		return net.ErrClosed
	default:
	}
	return h.execAlways(f)
}

// execAlways is exec without the check that the Host is open.
func (h *Host) execAlways(f func(now time.Time)) error {
	cl := &call{done: make(chan struct{})}
	err := h.loop.Do(func(now time.Time) {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if cl.abandoned {
			return
		}
		f(now)
		close(cl.done)
	})
	if err != nil {
		return net.ErrClosed
	}
	select {
	case <-cl.done:
		return nil
	case <-h.done:
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	select {
	case <-cl.done:
		return nil // it ran after all
	default:
		cl.abandoned = true
		return net.ErrClosed
	}
}

// Do runs f on the loop with the Stack and waits for it: the way to use
// the Stack directly (its Stats, routes, or a connection's engine).
func (h *Host) Do(f func(now time.Time, st *stack.Stack)) error {
	return h.exec(func(now time.Time) { f(now, h.st) })
}

// Stats returns the Stack's counters.
func (h *Host) Stats() (stack.Stats, error) {
	var s stack.Stats
	err := h.exec(func(time.Time) { s = h.st.Stats() })
	return s, err
}

// Close resets every connection of the Stack, closes every listener and
// wakes every goroutine blocked in the Host's calls; they and later calls
// fail with net.ErrClosed. Close the Host before its Loop.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		<-h.done
		return nil
	}
	h.closing = true
	lists := make([]*Listener, 0, len(h.lists))
	for l := range h.lists {
		lists = append(lists, l)
	}
	h.mu.Unlock()
	for _, l := range lists {
		l.markClosed()
	}
	err := h.execAlways(func(now time.Time) {
		for _, l := range lists {
			l.sl.Close(now)
		}
		var all []*stack.Conn
		h.st.Conns(func(c *stack.Conn) bool {
			all = append(all, c)
			return true
		})
		for _, c := range all {
			c.Abort(now)
		}
		// Endpoints of layers above the Stack.
		h.mu.Lock()
		var others []Endpoint
		for c := range h.conns {
			if c.ep != nil && c.sc == nil {
				others = append(others, c.ep)
			}
		}
		h.mu.Unlock()
		for _, ep := range others {
			ep.Abort(now)
		}
	})
	close(h.done)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

func (h *Host) track(c *Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *Host) forget(c *Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// DialOptions are the options of DialAddrPort.
type DialOptions struct {
	// Local binds the local address and/or port (see stack.DialOptions).
	Local netip.AddrPort
	// Config replaces the Stack's connection configuration.
	Config *tcp.Config
}

// DialContext connects to address, an IP address and port ("192.0.2.1:80",
// "[2001:db8::1]:443"; host names are not resolved), on network "tcp",
// "tcp4" or "tcp6". It returns when the handshake completed, failed, or
// ctx ended (which aborts the attempt).
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	remote, err := parseAddr(network, address, false)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	c, err := h.DialAddrPort(ctx, remote, nil)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Dial is DialContext without a context.
func (h *Host) Dial(network, address string) (net.Conn, error) {
	return h.DialContext(context.Background(), network, address)
}

// DialAddrPort connects to remote with the given options (nil for the
// defaults), as DialContext does.
func (h *Host) DialAddrPort(ctx context.Context, remote netip.AddrPort, opts *DialOptions) (*Conn, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	c := h.newConn()
	raddr := net.TCPAddrFromAddrPort(remote)
	if !h.track(c) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: net.ErrClosed}
	}
	var err error
	xerr := h.exec(func(now time.Time) {
		var sc *stack.Conn
		sc, err = h.st.Dial(now, remote, &stack.DialOptions{Local: opts.Local, Config: opts.Config, OnEvent: c.onEvent})
		if err == nil {
			c.attach(sc)
		}
	})
	if xerr == nil {
		xerr = err
	}
	if xerr != nil {
		h.forget(c)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: xerr}
	}
	if err := c.WaitEstablished(ctx); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Source: c.laddr, Addr: raddr, Err: err}
	}
	return c, nil
}

// Listen listens on address ("192.0.2.1:80", ":8080", "[::]:0") on network
// "tcp", "tcp4" or "tcp6". An empty or unspecified address listens on all
// of the Stack's addresses ("tcp4": IPv4 ones only).
func (h *Host) Listen(network, address string) (net.Listener, error) {
	local, err := parseAddr(network, address, true)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: err}
	}
	l, err := h.ListenAddrPort(local, nil)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ListenOptions are the options of ListenAddrPort.
type ListenOptions struct {
	Backlog int         // default stack.DefaultBacklog
	Config  *tcp.Config // replaces the Stack's connection configuration
}

// ListenAddrPort listens on local with the given options (nil for the
// defaults), as Listen does.
func (h *Host) ListenAddrPort(local netip.AddrPort, opts *ListenOptions) (*Listener, error) {
	if opts == nil {
		opts = &ListenOptions{}
	}
	l := &Listener{h: h, ready: make(chan struct{}, 1), closed: make(chan struct{})}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(local), Err: net.ErrClosed}
	}
	h.lists[l] = struct{}{}
	h.mu.Unlock()
	var err error
	xerr := h.exec(func(now time.Time) {
		l.sl, err = h.st.Listen(local, &stack.ListenOptions{
			Backlog:  opts.Backlog,
			Config:   opts.Config,
			OnAccept: func(time.Time, *stack.Listener) { signal(l.ready) },
		})
	})
	if xerr == nil {
		xerr = err
	}
	if xerr != nil {
		h.mu.Lock()
		delete(h.lists, l)
		h.mu.Unlock()
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(local), Err: xerr}
	}
	a := l.sl.Addr()
	l.addr = &net.TCPAddr{Port: int(a.Port())}
	if a.Addr().IsValid() {
		l.addr.IP = a.Addr().AsSlice()
	}
	return l, nil
}

// ParseAddr parses an IP address and port ("192.0.2.1:80", "[::1]:443")
// for network "tcp", "tcp4" or "tcp6"; names are not resolved. For
// listening, an empty host means every address.
func ParseAddr(network, address string, listen bool) (netip.AddrPort, error) {
	return parseAddr(network, address, listen)
}

// parseAddr parses an IP address and port for network. For listening an
// empty host means every address.
func parseAddr(network, address string, listen bool) (netip.AddrPort, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return netip.AddrPort{}, net.UnknownNetworkError(network)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port (service names are not looked up)", Addr: address}
	}
	var a netip.Addr
	switch {
	case host == "" && listen:
		if network == "tcp4" {
			a = netip.IPv4Unspecified()
		}
	default:
		a, err = netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("socket: %q is not an IP address (names are not resolved)", host)
		}
		a = a.Unmap()
		if (network == "tcp4" && !a.Is4()) || (network == "tcp6" && !a.Is6()) {
			return netip.AddrPort{}, &net.AddrError{Err: "address of the wrong family for " + network, Addr: host}
		}
		if listen && network == "tcp4" && a.IsUnspecified() {
			a = netip.IPv4Unspecified()
		}
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// signal wakes a waiter on ch (capacity 1) without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
