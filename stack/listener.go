package stack

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// listenKey files a listener: a local address (the zero Addr for any
// address of either family, 0.0.0.0 for any IPv4 address) and a port.
type listenKey struct {
	addr netip.Addr
	port uint16
}

// Listener is a listening port of a Stack: a tcp.Listener and the
// connections it made that have not been accepted yet.
type Listener struct {
	s        *Stack
	tl       *tcp.Listener
	key      listenKey
	onEvent  func(now time.Time, c *Conn, ev tcp.Event)
	onAccept func(now time.Time, l *Listener)
	children []*Conn // in SYN-RECEIVED or waiting for Accept
	closed   bool
	muxIn    MuxListenFunc // a listener for a Mux engine (ListenMux), tl is nil
}

// ListenOptions are the options of Stack.Listen; nil selects the defaults.
type ListenOptions struct {
	// Backlog bounds the connections in SYN-RECEIVED plus those waiting
	// for Accept (default DefaultBacklog).
	Backlog int
	// Config replaces the Stack's Config.TCP for the listener's
	// connections.
	Config *tcp.Config
	// SYNHook, if set, sees every SYN for the listener and decides on it
	// (tcp.Listener.SetSYNHook): the MPTCP layer gives MP_CAPABLE and
	// MP_JOIN subflows their hooks here.
	SYNHook func(id tcp.ConnID, seg *tcp.Segment) (tcp.Verdict, tcp.Hooks)
	// OnEvent, if set, becomes the OnEvent callback of every connection
	// the listener makes, from its SYN on.
	OnEvent func(now time.Time, c *Conn, ev tcp.Event)
	// OnAccept, if set, is called each time a connection becomes ready
	// for Accept.
	OnAccept func(now time.Time, l *Listener)
}

// Listen opens a listener on local (RFC 9293 §3.10.1, passive open). An
// invalid or unspecified address listens on every local address: the
// zero Addr and :: on both families, 0.0.0.0 on IPv4 only. Any other
// address must be local. Port 0 picks a free ephemeral port.
func (s *Stack) Listen(local netip.AddrPort, opts *ListenOptions) (*Listener, error) {
	if opts == nil {
		opts = &ListenOptions{}
	}
	key, err := s.listenKeyFor(local)
	if err != nil {
		return nil, err
	}
	backlog := opts.Backlog
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	cfg := s.cfg.TCP
	if opts.Config != nil {
		cfg = *opts.Config
		if cfg.ISNKey == ([16]byte{}) {
			cfg.ISNKey = s.isnKey
		}
	}
	if opts.Config != nil {
		if err := checkConfig(&cfg); err != nil {
			return nil, err
		}
	}
	tl, err := tcp.NewListener(&cfg, key.port, backlog)
	if err != nil {
		return nil, err
	}
	if opts.SYNHook != nil {
		tl.SetSYNHook(opts.SYNHook)
	}
	l := &Listener{s: s, tl: tl, key: key, onEvent: opts.OnEvent, onAccept: opts.OnAccept}
	s.lists[key] = l
	return l, nil
}

// listenKeyFor checks the address of a new listener and picks its port
// (see Listen).
func (s *Stack) listenKeyFor(local netip.AddrPort) (listenKey, error) {
	a := local.Addr().Unmap()
	switch {
	case !a.IsValid() || a == netip.IPv6Unspecified():
		a = netip.Addr{}
	case a == netip.IPv4Unspecified():
	case s.owner(a) == nil:
		return listenKey{}, fmt.Errorf("%w: %v", ErrAddrNotLocal, a)
	}
	port := local.Port()
	if port == 0 {
		p, ok := s.ephemeralListen()
		if !ok {
			return listenKey{}, ErrNoPorts
		}
		port = p
	}
	key := listenKey{addr: a, port: port}
	if _, taken := s.lists[key]; taken {
		return listenKey{}, fmt.Errorf("%w: listening on %v", ErrAddrInUse, netip.AddrPortFrom(a, port))
	}
	return key, nil
}

// listenerAt returns the listener for segments to dst:port: one on dst
// itself, else one on any IPv4 address (for IPv4 dst), else one on any
// address.
func (s *Stack) listenerAt(dst netip.Addr, port uint16) *Listener {
	if l := s.lists[listenKey{dst, port}]; l != nil {
		return l
	}
	if dst.Is4() {
		if l := s.lists[listenKey{netip.IPv4Unspecified(), port}]; l != nil {
			return l
		}
	}
	return s.lists[listenKey{netip.Addr{}, port}]
}

// Addr returns the address and port the listener listens on (the
// address is the zero Addr or 0.0.0.0 for a wildcard).
func (l *Listener) Addr() netip.AddrPort { return netip.AddrPortFrom(l.key.addr, l.key.port) }

// Stack returns the Stack the listener belongs to.
func (l *Listener) Stack() *Stack { return l.s }

// Port returns the listening port.
func (l *Listener) Port() uint16 { return l.key.port }

// TCP returns the engine's listener (for its counters).
// It is nil for a listener made by ListenMux.
func (l *Listener) TCP() *tcp.Listener { return l.tl }

// SetOnAccept replaces the callback that hears of connections ready for
// Accept.
func (l *Listener) SetOnAccept(fn func(now time.Time, l *Listener)) { l.onAccept = fn }

// Ready is the number of connections waiting for Accept.
func (l *Listener) Ready() int {
	if l.tl == nil {
		return 0
	}
	return l.tl.Ready()
}

// Accept returns the oldest established connection not accepted yet.
func (l *Listener) Accept() (*Conn, bool) {
	for l.tl != nil {
		tc, ok := l.tl.Accept()
		if !ok {
			return nil, false
		}
		i := slices.IndexFunc(l.children, func(c *Conn) bool { return c.tcp == tc })
		if i < 0 {
			continue // not one of ours: cannot happen, but never hand out a stranger
		}
		c := l.children[i]
		l.children = slices.Delete(l.children, i, i+1)
		c.parent = nil
		return c, true
	}
	return nil, false
}

// Close stops listening and resets the connections not accepted yet
// (RFC 9293 §3.10.4: like Linux, an unaccepted connection is aborted).
func (l *Listener) Close(now time.Time) error {
	if l.closed {
		return ErrListenerClosed
	}
	l.closed = true
	s := l.s
	if s.lists[l.key] == l {
		delete(s.lists, l.key)
	}
	kids := l.children
	l.children = nil
	for _, c := range kids {
		c.parent = nil
		c.tcp.Abort()
		s.markDirty(&c.entry)
	}
	s.flush(now)
	return nil
}

// childGone forgets a child that was closed before Accept.
func (l *Listener) childGone(c *Conn) {
	if i := slices.Index(l.children, c); i >= 0 {
		l.children = slices.Delete(l.children, i, i+1)
	}
	c.parent = nil
}
