package mptcp

import (
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
	"github.com/gomptcp/mptcp/tcp"
)

// Stack is a host's Multipath TCP: MPTCP connections and listeners over a
// stack.Stack, which a socket.Loop drives (link/tun's Stack on a real
// network, socket.SimLoop in the simulator). It is safe for concurrent
// use. Plain TCP on the same Stack is at Host.
type Stack struct {
	host *socket.Host
	cfg  Config
	mcfg meta.Config // template of every connection's
	mib  *meta.MIB
	pm   PathManager

	// Loop side: touched only from the loop's goroutine.
	conns map[*meta.Conn]*conn
	lists map[*Listener]struct{}

	subscriptions

	mu     sync.Mutex // guards closed
	closed bool
}

// NewStack returns the MPTCP layer of st, which loop drives. From now on
// st must only be used through the Stack (or Host().Do).
func NewStack(loop socket.Loop, st *stack.Stack, cfg Config) (*Stack, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	s := &Stack{
		host:  socket.New(loop, st, socket.Config{Clock: cfg.Clock}),
		cfg:   cfg,
		mib:   new(meta.MIB),
		conns: make(map[*meta.Conn]*conn),
		lists: make(map[*Listener]struct{}),
	}
	s.subs = make(map[*Subscription]struct{})
	var sub tcp.Config
	if cfg.TCP != nil {
		sub = *cfg.TCP
		if sub.ISNKey == ([16]byte{}) {
			sub.ISNKey = st.TCPConfig().ISNKey
		}
	} else {
		sub = st.TCPConfig()
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	s.mcfg = meta.Config{
		Subflow:         sub,
		SendBufferSize:  cfg.SendBufferSize,
		RecvBufferSize:  cfg.RecvBufferSize,
		ChunkSize:       cfg.ChunkSize,
		Checksum:        cfg.Checksum,
		DenyJoinInitial: cfg.DenyJoinInitialAddrPort,
		Rand:            rnd,
		Tokens:          meta.NewTokenTable(),
		Scheduler:       cfg.Scheduler,
		MIB:             s.mib,
		Host:            metaHost{s},
	}
	// meta.Listener validates a configuration completely.
	if _, err := meta.NewListener(&s.mcfg, 1, 1); err != nil {
		return nil, err
	}
	s.pm = cfg.PathManager
	if s.pm == nil {
		s.pm = NewKernelPM(cfg.Endpoints, *cfg.Limits)
	}
	return s, nil
}

// Host returns the plain-TCP face of the Stack: TCP connections and
// listeners, and Do to run code on the loop with the stack.Stack.
func (s *Stack) Host() *socket.Host { return s.host }

// MIB returns the Stack's counters, named after Linux's MPTcpExt ones.
func (s *Stack) MIB() *meta.MIB { return s.mib }

// Config returns the Stack's configuration, with its defaults filled in.
func (s *Stack) Config() Config { return s.cfg }

// Close closes the Stack's listeners, resets its connections and ends
// its subscriptions; blocked calls return net.ErrClosed. Close the Stack
// before its Loop.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var lists []*Listener
	_ = s.host.Do(func(time.Time, *stack.Stack) {
		for l := range s.lists {
			lists = append(lists, l)
		}
	})
	for _, l := range lists {
		l.Close()
	}
	_ = s.host.Do(func(now time.Time, _ *stack.Stack) {
		// Connections no Conn holds yet (in their handshake).
		for _, c := range s.conns {
			if c.sock == nil {
				c.Abort(now)
			}
		}
	})
	err := s.host.Close()
	s.closeSubscriptions()
	return err
}

// do runs f on the loop with the stack.Stack and waits.
func (s *Stack) do(f func(now time.Time, st *stack.Stack)) error {
	return s.host.Do(f)
}

// isClosed reports whether Close was called.
func (s *Stack) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// metaHost binds and unbinds the 4-tuples of subflows (meta.Host).
type metaHost struct{ s *Stack }

var errUnknownConn = errors.New("mptcp: connection not known to the stack")

func (h metaHost) BindSubflow(m *meta.Conn, local, remote netip.AddrPort) (tcp.ConnID, error) {
	c := h.s.conns[m]
	if c == nil {
		return tcp.ConnID{}, errUnknownConn
	}
	return c.mc.Bind(local, remote)
}

func (h metaHost) UnbindSubflow(m *meta.Conn, id tcp.ConnID) {
	if c := h.s.conns[m]; c != nil {
		c.mc.Unbind(id)
	}
}

// opErr wraps err for op as the net package does.
func opErr(op, network string, local, remote netip.AddrPort, err error) error {
	e := &net.OpError{Op: op, Net: network, Err: err}
	if local.IsValid() {
		e.Source = net.TCPAddrFromAddrPort(local)
	}
	if remote.IsValid() {
		e.Addr = net.TCPAddrFromAddrPort(remote)
	}
	return e
}
