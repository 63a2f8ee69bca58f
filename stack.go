package mptcp

import (
	"crypto/rand"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
)

// Stack is a host's Multipath TCP: MPTCP connections and listeners over a
// stack.Stack, which a socket.Loop drives (link/tun's Stack on a real
// network, socket.SimLoop in the simulator). It is safe for concurrent
// use. Plain TCP on the same Stack is at Host.
type Stack struct {
	host *socket.Host
	cfg  Config
	mib  *meta.MIB

	lists map[*Listener]struct{} // on the loop

	subscriptions

	mu     sync.Mutex // guards closed
	closed bool
}

// NewStack enables MPTCP on st (stack.Stack.EnableMPTCP) and returns the
// Stack that serves it to goroutines; loop drives st. From now on st must
// only be used through the Stack (or Host().Do).
func NewStack(loop socket.Loop, st *stack.Stack, cfg Config) (*Stack, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	s := &Stack{
		cfg:   cfg,
		mib:   new(meta.MIB),
		lists: make(map[*Listener]struct{}),
	}
	s.subs = make(map[*Subscription]struct{})
	sub := st.TCPConfig()
	if cfg.TCP != nil {
		sub = *cfg.TCP
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	pm := cfg.PathManager
	if pm == nil {
		pm = stack.NewKernelPM(cfg.Endpoints, *cfg.Limits)
	}
	err = st.EnableMPTCP(stack.MPConfig{
		Meta: meta.Config{
			Subflow:                  sub,
			SendBufferSize:           cfg.SendBufferSize,
			RecvBufferSize:           cfg.RecvBufferSize,
			ChunkSize:                cfg.ChunkSize,
			Checksum:                 cfg.Checksum,
			DenyJoinInitial:          cfg.DenyJoinInitialAddrPort,
			AddAddrTimeout:           cfg.AddAddrTimeout,
			CloseTimeout:             cfg.CloseTimeout,
			StaleLossCount:           cfg.StaleLossCount,
			SYNRetransBeforeFallback: cfg.SYNRetransBeforeTCPFallback,
			Rand:                     rnd,
			Scheduler:                cfg.Scheduler,
			MIB:                      s.mib,
		},
		PathManager: pm,
		OnEvent:     s.publish,
	})
	if err != nil {
		return nil, err
	}
	s.host = socket.New(loop, st, socket.Config{Clock: cfg.Clock})
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
	_ = s.do(func(time.Time, *stack.Stack) {
		for l := range s.lists {
			lists = append(lists, l)
		}
	})
	for _, l := range lists {
		l.Close()
	}
	_ = s.do(func(now time.Time, st *stack.Stack) {
		// Connections that no Conn serves (closing, or never accepted).
		var all []*stack.MPConn
		st.MPConns(func(c *stack.MPConn) bool {
			all = append(all, c)
			return true
		})
		for _, c := range all {
			c.Abort(now)
		}
	})
	err := s.host.Close()
	s.closeSubscriptions()
	return err
}

// do runs f on the loop with the stack.Stack and waits.
func (s *Stack) do(f func(now time.Time, st *stack.Stack)) error { return s.host.Do(f) }

// isClosed reports whether Close was called.
func (s *Stack) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
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
