package stack

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// Conn is a connection of a Stack: a tcp.Conn with its addresses, its NIC
// and its place in the Stack's tables. Its methods must be called like the
// Stack's (from the goroutine that drives it); the ones that take now send
// what they make ready before returning, or, when called from a callback,
// before the Stack's current call returns.
type Conn struct {
	s       *Stack
	tcp     *tcp.Conn // its ID is the connection's
	nic     link.NIC
	mss     int   // the largest MSS the NIC's MTU allows, 0 if unknown
	tos     uint8 // the DSCP of its packets (SetTOS)
	solo    int   // the largest payload sent as a packet of its own (gso.go)
	parent  *Listener
	onEvent func(now time.Time, c *Conn, ev tcp.Event)

	entry // freed: CLOSED and out of the tables
}

// DialOptions are the options of Stack.Dial. The zero value (or nil)
// selects a source address and an ephemeral port, the Stack's
// configuration, no hooks and no callback.
type DialOptions struct {
	// Local binds the connection's local address and/or port; a zero
	// address is chosen by the route and a zero port is an ephemeral one.
	Local netip.AddrPort
	// Config replaces the Stack's Config.TCP for this connection. Its MSS
	// is lowered to what the NIC's MTU allows.
	Config *tcp.Config
	// Hooks are the connection's engine hooks (MPTCP), or nil.
	Hooks tcp.Hooks
	// OnEvent, if set, receives every engine event of the connection.
	OnEvent func(now time.Time, c *Conn, ev tcp.Event)
}

// Dial opens a connection to remote (RFC 9293 §3.10.1): the SYN is sent
// before Dial returns (or, from a callback, before the current call of
// the Stack returns). The outcome arrives as tcp.EventEstablished or
// tcp.EventClosed (with the error, e.g. tcp.ErrConnectionRefused).
func (s *Stack) Dial(now time.Time, remote netip.AddrPort, opts *DialOptions) (*Conn, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	raddr := remote.Addr().Unmap()
	if !validAddr(raddr) || remote.Port() == 0 {
		return nil, fmt.Errorf("%w: remote address %v", ErrInvalid, remote)
	}
	remote = netip.AddrPortFrom(raddr, remote.Port())
	nic, src, err := s.Route(raddr, opts.Local.Addr())
	if err != nil {
		return nil, err
	}
	id := tcp.ConnID{Local: netip.AddrPortFrom(src, opts.Local.Port()), Remote: remote}
	if id.Local.Port() == 0 {
		p, ok := s.ephemeralFor(src, remote)
		if !ok {
			return nil, ErrNoPorts
		}
		id.Local = netip.AddrPortFrom(src, p)
	} else if s.tupleTaken(id) {
		return nil, fmt.Errorf("%w: %v to %v", ErrAddrInUse, id.Local, remote)
	}
	cfg := s.cfg.TCP
	if opts.Config != nil {
		cfg = *opts.Config
		if cfg.ISNKey == ([16]byte{}) {
			cfg.ISNKey = s.isnKey
		}
	}
	mss := mtuMSS(nic, raddr.Is6())
	if cfg.MSS == 0 {
		cfg.MSS = tcp.DefaultMSS
	}
	if mss > 0 && cfg.MSS > mss {
		cfg.MSS = mss
	}
	tc, err := tcp.Dial(now, &cfg, id, opts.Hooks)
	if err != nil {
		return nil, err
	}
	c := &Conn{s: s, tcp: tc, nic: nic, mss: mss, onEvent: opts.OnEvent}
	c.entry = entry{conn: c, heapIx: -1}
	s.register(c)
	s.stats.ActiveOpens++
	s.markDirty(&c.entry)
	s.flush(now)
	return c, nil
}

// mtuMSS is the largest MSS that fits nic's MTU with fixed IP and TCP
// headers (RFC 9293 §3.7.1: MSS = MTU - IP header - TCP header), or 0 if
// the MTU is unknown.
func mtuMSS(nic link.NIC, v6 bool) int {
	m := nic.MTU()
	if m <= 0 {
		return 0
	}
	if v6 {
		m -= wire.IPv6HeaderLen
	} else {
		m -= wire.IPv4MinHeaderLen
	}
	return max(m-wire.TCPMinHeaderLen, 0)
}

// Stack returns the Stack the connection belongs to.
func (c *Conn) Stack() *Stack { return c.s }

// SetTOS sets the Type of Service (IPv4) or Traffic Class (IPv6) byte of
// the connection's packets: its DSCP (RFC 2474; the ECN bits are
// ignored), as IP_TOS and IPV6_TCLASS do.
func (c *Conn) SetTOS(tos uint8) { c.tos = tos }

// TCP returns the engine. Its read-only methods (State, Info, …) can be
// used freely; after calling one that changes it (WriteChunk, SetNoDelay,
// …) call Flush.
func (c *Conn) TCP() *tcp.Conn { return c.tcp }

// ID returns the connection's local and remote address and port.
func (c *Conn) ID() tcp.ConnID { return c.tcp.ID() }

// LocalAddr returns the local address and port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.tcp.ID().Local }

// RemoteAddr returns the remote address and port.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.tcp.ID().Remote }

// NIC returns the NIC the connection sends through.
func (c *Conn) NIC() link.NIC { return c.nic }

// State returns the engine's state.
func (c *Conn) State() tcp.State { return c.tcp.State() }

// Err returns why the connection ended, or nil (see tcp.Conn.Err).
func (c *Conn) Err() error { return c.tcp.Err() }

// Readable is the number of bytes Read can return now.
func (c *Conn) Readable() int { return c.tcp.Readable() }

// WriteSpace is the room left in the send buffer.
func (c *Conn) WriteSpace() int { return c.tcp.WriteSpace() }

// Info returns a snapshot of the engine (tcp.Conn.Info).
func (c *Conn) Info() tcp.Info { return c.tcp.Info() }

// Released reports whether the connection reached CLOSED and left the
// Stack's tables.
func (c *Conn) Released() bool { return c.freed }

// SetOnEvent replaces the callback that receives the connection's engine
// events (nil for none).
func (c *Conn) SetOnEvent(fn func(now time.Time, c *Conn, ev tcp.Event)) { c.onEvent = fn }

// Read copies received bytes into p (tcp.Conn.Read): (0, nil) when none
// is there yet, io.EOF after the peer's FIN. A window update it makes
// necessary is sent.
func (c *Conn) Read(now time.Time, p []byte) (int, error) {
	n, err := c.tcp.Read(p)
	if n > 0 && c.tcp.WindowUpdatePending() {
		c.Flush(now)
	}
	return n, err
}

// Write queues as much of p as the send buffer holds and sends what the
// windows allow (tcp.Conn.Write).
func (c *Conn) Write(now time.Time, p []byte) (int, error) {
	poll := c.tcp.WriteNeedsPoll()
	n, err := c.tcp.Write(p)
	if n > 0 && poll {
		c.Flush(now)
	}
	return n, err
}

// WriteChunk queues p as one chunk (tcp.Conn.WriteChunk) and sends what
// the windows allow.
func (c *Conn) WriteChunk(now time.Time, p []byte, id uint64) error {
	err := c.tcp.WriteChunk(p, id)
	if err == nil {
		c.Flush(now)
	}
	return err
}

// CloseWrite sends a FIN after the queued data (tcp.Conn.CloseWrite).
func (c *Conn) CloseWrite(now time.Time) error {
	err := c.tcp.CloseWrite()
	c.Flush(now)
	return err
}

// Close closes both directions (tcp.Conn.Close); the connection stays in
// the Stack until it reaches CLOSED.
func (c *Conn) Close(now time.Time) error {
	err := c.tcp.Close()
	c.Flush(now)
	return err
}

// Abort resets the connection (tcp.Conn.Abort).
func (c *Conn) Abort(now time.Time) {
	c.tcp.Abort()
	c.Flush(now)
}

// Flush sends what the engine has ready and dispatches its events. The
// methods above call it; call it after changing the engine directly.
func (c *Conn) Flush(now time.Time) {
	c.s.markDirty(&c.entry)
	c.s.flush(now)
}
