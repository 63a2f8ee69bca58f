package stack

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// MPTCP errors.
var (
	// ErrMPTCPDisabled: EnableMPTCP was not called.
	ErrMPTCPDisabled = errors.New("stack: MPTCP not enabled")
	// ErrNotMPTCP: the operation needs MPTCP and the connection runs as
	// plain TCP (RFC 8684 §3.7).
	ErrNotMPTCP = errors.New("stack: connection is plain TCP")
)

// MPConfig configures the Stack's MPTCP (EnableMPTCP).
type MPConfig struct {
	// Meta is the template of every connection's engine configuration.
	// The Stack sets its Host, and its Tokens and MIB when nil (one of
	// each for the Stack); a zero Subflow.ISNKey is the Stack's.
	Meta meta.Config
	// PathManager decides subflows and announcements (nil: none).
	PathManager PathManager
	// OnEvent, if set, hears of every PMEvent, before the path manager.
	OnEvent func(now time.Time, ev PMEvent)
}

// mptcpState is the Stack's MPTCP side.
type mptcpState struct {
	cfg   MPConfig
	conns map[*meta.Conn]*MPConn
	lists map[*Listener]*MPListener        // the Stack listeners of the MPListeners
	joins map[netip.AddrPort]*joinListener // listeners of announced ports
	seq   uint64                           // of the last MPConn made
	stats MPStats
}

// EnableMPTCP turns on the Stack's MPTCP: DialMPTCP and ListenMPTCP. The
// configuration is checked completely.
func (s *Stack) EnableMPTCP(cfg MPConfig) error {
	m := &cfg.Meta
	if m.Subflow.ISNKey == ([16]byte{}) {
		m.Subflow.ISNKey = s.isnKey
	}
	if m.Tokens == nil {
		m.Tokens = meta.NewTokenTable()
	}
	if m.MIB == nil {
		m.MIB = new(meta.MIB)
	}
	m.Host = mpHost{s}
	if _, err := meta.NewListener(m, 1, 1); err != nil {
		return err
	}
	s.mp = &mptcpState{cfg: cfg, conns: make(map[*meta.Conn]*MPConn), lists: make(map[*Listener]*MPListener),
		joins: make(map[netip.AddrPort]*joinListener)}
	return nil
}

// MIB returns the MPTCP counters (nil before EnableMPTCP).
func (s *Stack) MIB() *meta.MIB {
	if s.mp == nil {
		return nil
	}
	return s.mp.cfg.Meta.MIB
}

// MPConns calls fn for every MPTCP connection of the Stack, in no
// particular order, until fn returns false.
func (s *Stack) MPConns(fn func(*MPConn) bool) {
	if s.mp == nil {
		return
	}
	for _, c := range s.mp.conns {
		if !fn(c) {
			return
		}
	}
}

// mpHost binds and unbinds the 4-tuples of subflows (meta.Host).
type mpHost struct{ s *Stack }

var errUnknownMPConn = errors.New("stack: MPTCP connection not known to the stack")

func (h mpHost) BindSubflow(m *meta.Conn, local, remote netip.AddrPort) (tcp.ConnID, error) {
	c := h.s.mp.conns[m]
	if c == nil {
		return tcp.ConnID{}, errUnknownMPConn
	}
	return c.mc.Bind(local, remote)
}

func (h mpHost) UnbindSubflow(m *meta.Conn, id tcp.ConnID) {
	if c := h.s.mp.conns[m]; c != nil {
		c.mc.Unbind(id)
	}
}

// MPConn is an MPTCP connection of a Stack: a meta.Conn, its subflows'
// 4-tuples (a MuxConn) and its path manager's view. It is the Controller
// path managers act through. Like Conn, its methods must be called from
// the goroutine that drives the Stack; the ones that take now send what
// they make ready.
type MPConn struct {
	s       *Stack
	m       *meta.Conn
	mc      *MuxConn
	parent  *MPListener // until accepted
	initial tcp.ConnID
	token   uint32
	server  bool
	onEvent func(now time.Time, c *MPConn, ev meta.Event)

	created     bool // PMEventCreated was published
	established bool // meta.EventEstablished seen
	fully       bool // PMEventEstablished was published
	queued      bool // in the parent's accept queue
	closed      bool
	subs        map[tcp.ConnID]bool // subflows reported established
	pmState     any

	seq       uint64                  // order of creation, for a fixed order of address events
	pmTimer   time.Time               // TimerController.SetTimer
	opened    map[tcp.ConnID]bool     // subflows AddSubflow opened, until reported closed
	requested map[tcp.ConnID]bool     // subflows closed on request (PMEvent.Requested)
	aborting  bool                    // Abort was called
	ports     map[uint8]*joinListener // announcements with a port that hold a join listener
}

var _ TimerController = (*MPConn)(nil)

// MPDialOptions are the options of DialMPTCP.
type MPDialOptions struct {
	// Local binds the initial subflow's local address and/or port.
	Local netip.AddrPort
	// OnEvent, if set, receives every event of the engine.
	OnEvent func(now time.Time, c *MPConn, ev meta.Event)
	// Meta, if set, adjusts this connection's copy of MPConfig.Meta
	// (its scheduler, buffers, subflow TCP configuration, …) before
	// the connection is made; Host, Tokens and MIB stay the Stack's.
	Meta func(*meta.Config)
}

// DialMPTCP opens an MPTCP connection to remote: the SYN with MP_CAPABLE
// (RFC 8684 §3.1) is sent before it returns. The outcome arrives as
// meta.EventEstablished (possibly after a fallback to TCP) or
// meta.EventClosed.
func (s *Stack) DialMPTCP(now time.Time, remote netip.AddrPort, opts *MPDialOptions) (*MPConn, error) {
	if s.mp == nil {
		return nil, ErrMPTCPDisabled
	}
	if opts == nil {
		opts = &MPDialOptions{}
	}
	c := s.newMPConn(false)
	c.onEvent = opts.OnEvent
	id, err := c.mc.Bind(opts.Local, remote)
	if err != nil {
		c.mc.Release()
		return nil, err
	}
	cfg := s.mp.connConfig(opts.Meta)
	m, err := meta.Dial(now, &cfg, id)
	if err != nil {
		c.mc.Release()
		return nil, err
	}
	s.stats.ActiveOpens++
	c.attach(now, m, id)
	c.Flush(now)
	return c, nil
}

// connConfig returns a connection's engine configuration: MPConfig.Meta
// adjusted by adjust, with the Stack's Host, Tokens and MIB.
func (mp *mptcpState) connConfig(adjust func(*meta.Config)) meta.Config {
	cfg := mp.cfg.Meta
	if adjust != nil {
		adjust(&cfg)
		cfg.Host, cfg.Tokens, cfg.MIB = mp.cfg.Meta.Host, mp.cfg.Meta.Tokens, mp.cfg.Meta.MIB
		if cfg.Subflow.ISNKey == ([16]byte{}) {
			cfg.Subflow.ISNKey = mp.cfg.Meta.Subflow.ISNKey
		}
	}
	return cfg
}

func (s *Stack) newMPConn(server bool) *MPConn {
	s.mp.seq++
	c := &MPConn{s: s, server: server, subs: make(map[tcp.ConnID]bool), seq: s.mp.seq}
	c.mc = s.NewMux(nil, c.onPoll)
	return c
}

// attach completes c with its engine and files it.
func (c *MPConn) attach(now time.Time, m *meta.Conn, initial tcp.ConnID) {
	c.m, c.initial, c.token = m, initial, m.Token()
	c.mc.SetMux(m)
	c.s.mp.conns[m] = c
	if !m.Fallback() && m.Token() != 0 {
		c.created = true
		c.publish(now, PMEvent{Type: PMEventCreated, Local: initial.Local, Remote: initial.Remote})
	}
}

// Meta returns the engine. After calling a method that changes it, call
// Flush.
func (c *MPConn) Meta() *meta.Conn { return c.m }

// Stack returns the Stack.
func (c *MPConn) Stack() *Stack { return c.s }

// Flush sends what the engine has ready and dispatches its events.
func (c *MPConn) Flush(now time.Time) { c.mc.Flush(now) }

// SetOnEvent replaces the callback that receives the engine's events.
func (c *MPConn) SetOnEvent(fn func(now time.Time, c *MPConn, ev meta.Event)) { c.onEvent = fn }

// Read copies received data into p (meta.Conn.Read).
func (c *MPConn) Read(now time.Time, p []byte) (int, error) {
	n, err := c.m.Read(p)
	if n > 0 {
		c.Flush(now)
	}
	return n, err
}

// Write queues what the send buffer holds of p (meta.Conn.Write).
func (c *MPConn) Write(now time.Time, p []byte) (int, error) {
	n, err := c.m.Write(p)
	if n > 0 {
		c.Flush(now)
	}
	return n, err
}

// CloseWrite sends a DATA_FIN after the queued data.
func (c *MPConn) CloseWrite(now time.Time) error {
	err := c.m.CloseWrite()
	c.Flush(now)
	return err
}

// Close closes the connection (meta.Conn.Close).
func (c *MPConn) Close(now time.Time) error {
	err := c.m.Close()
	c.Flush(now)
	return err
}

// Abort resets every subflow (meta.Conn.Abort).
func (c *MPConn) Abort(now time.Time) {
	c.aborting = true
	c.m.Abort()
	c.Flush(now)
}

// Err returns why the connection failed, or nil.
func (c *MPConn) Err() error { return c.m.Err() }

// SetTOS sets the TOS byte (DSCP, Conn.SetTOS) of every subflow's
// packets, now and of the subflows opened later.
func (c *MPConn) SetTOS(tos uint8) { c.mc.SetDefaultTOS(tos) }

// SetSubflowTOS sets the TOS byte of subflow id's packets; it reports
// false when the connection has no such subflow.
func (c *MPConn) SetSubflowTOS(id tcp.ConnID, tos uint8) bool { return c.mc.SetTOS(id, tos) }

// Readable is the number of bytes Read can return now.
func (c *MPConn) Readable() int { return c.m.Readable() }

// WriteSpace is the room left in the send buffer.
func (c *MPConn) WriteSpace() int { return c.m.WriteSpace() }

// Released reports whether the connection ended and left the tables.
func (c *MPConn) Released() bool { return c.closed }

// LocalAddr and RemoteAddr are the initial subflow's addresses.
func (c *MPConn) LocalAddr() netip.AddrPort  { return c.initial.Local }
func (c *MPConn) RemoteAddr() netip.AddrPort { return c.initial.Remote }

// The Controller methods.

func (c *MPConn) Token() uint32              { return c.token }
func (c *MPConn) ServerSide() bool           { return c.server }
func (c *MPConn) InitialSubflow() tcp.ConnID { return c.initial }
func (c *MPConn) Info() meta.Info            { return c.m.Info() }
func (c *MPConn) Fallback() bool             { return c.m.Fallback() }
func (c *MPConn) State() any                 { return c.pmState }
func (c *MPConn) SetState(v any)             { c.pmState = v }
func (c *MPConn) LocalAddrs() []netip.Prefix { return c.s.Addrs() }
func (c *MPConn) IsLocal(a netip.Addr) bool  { return c.s.IsLocal(a) }
func (c *MPConn) Subflows() []tcp.ConnID     { return c.m.Subflows() }

// AddSubflow opens a subflow from local to remote with MP_JOIN (RFC 8684
// §3.2); a zero local address is the route's, a zero port ephemeral.
func (c *MPConn) AddSubflow(now time.Time, local, remote netip.AddrPort, backup bool) (tcp.ConnID, error) {
	if c.m.Fallback() {
		return tcp.ConnID{}, ErrNotMPTCP
	}
	id, err := c.m.AddSubflow(now, local, remote, backup)
	if err == nil {
		c.opened = setID(c.opened, id)
	}
	c.Flush(now)
	return id, err
}

// Announce advertises a local address to the peer with ADD_ADDR (RFC
// 8684 §3.4.1) and returns its address ID (meta.Conn.Announce). With a
// port, the Stack accepts MP_JOIN SYNs on that address and port, as Linux
// does for a "signal" endpoint with a port: through the MPListener that
// listens there if there is one, otherwise through a listener of its own
// that takes only joins of the connections that announced it, and lives
// until they withdraw it (RemoveAddr, or an announcement of the same
// address ID without that port) or end. A listener there that is not an
// MPListener's makes Announce fail with ErrAddrInUse. An address that is
// not the Stack's (one a NAT forwards, say) is announced with no
// listener.
func (c *MPConn) Announce(now time.Time, addr netip.AddrPort) (uint8, error) {
	if c.m.Fallback() {
		return 0, ErrNotMPTCP
	}
	var jl *joinListener
	if addr.Port() != 0 && addr.Addr().IsValid() {
		var err error
		if jl, err = c.s.mp.joinFor(now, c.s, addr); err != nil {
			return 0, err
		}
	}
	id, err := c.m.Announce(now, addr)
	if err != nil {
		if jl != nil {
			jl.closeIfUnused(now)
		}
		c.Flush(now)
		return 0, err
	}
	if old := c.ports[id]; old != jl {
		if jl != nil {
			jl.refs++
			if c.ports == nil {
				c.ports = make(map[uint8]*joinListener)
			}
			c.ports[id] = jl
		} else {
			delete(c.ports, id)
		}
		if old != nil {
			old.release(now)
		}
	}
	c.Flush(now)
	return id, nil
}

// holds reports whether the connection's announcements hold jl.
func (c *MPConn) holds(jl *joinListener) bool {
	for _, x := range c.ports {
		if x == jl {
			return true
		}
	}
	return false
}

// releasePorts lets go of the join listeners of the announcements, in
// the order of their address IDs.
func (c *MPConn) releasePorts(now time.Time) {
	ids := make([]uint8, 0, len(c.ports))
	for id := range c.ports {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		jl := c.ports[id]
		delete(c.ports, id)
		jl.release(now)
	}
}

// RemoveAddr withdraws the local address with ID id with REMOVE_ADDR (RFC
// 8684 §3.4.2), resetting our subflows from it (meta.Conn.RemoveAddr).
func (c *MPConn) RemoveAddr(now time.Time, id uint8) error {
	if c.m.Fallback() {
		return ErrNotMPTCP
	}
	var mine []tcp.ConnID
	for _, sf := range c.m.Info().Subflow {
		if sf.LocalID == id {
			mine = append(mine, sf.ID)
		}
	}
	err := c.m.RemoveAddr(now, id)
	if err == nil {
		for _, sid := range mine {
			c.requested = setID(c.requested, sid)
		}
		if jl := c.ports[id]; jl != nil {
			delete(c.ports, id)
			jl.release(now)
		}
	}
	c.Flush(now)
	return err
}

// SetBackup sets or clears the backup priority of subflow id and tells
// the peer with MP_PRIO (RFC 8684 §3.3.8).
func (c *MPConn) SetBackup(now time.Time, id tcp.ConnID, backup bool) error {
	if c.m.Fallback() {
		return ErrNotMPTCP
	}
	err := c.m.SetBackup(now, id, backup)
	c.Flush(now)
	if err == nil {
		c.subflowEvent(now, PMEventSubflowPriority, id, nil, nil)
	}
	return err
}

// CloseSubflow resets subflow id with MP_TCPRST carrying reason (RFC 8684
// §3.6); its data goes out again on the others.
func (c *MPConn) CloseSubflow(now time.Time, id tcp.ConnID, reason wire.TCPRSTReason) error {
	if c.m.Fallback() {
		return ErrNotMPTCP
	}
	err := c.m.ResetSubflow(now, id, reason)
	if err == nil {
		c.requested = setID(c.requested, id)
	}
	c.Flush(now)
	return err
}

// setID adds id to the set m, made on first use (most connections never
// need one).
func setID(m map[tcp.ConnID]bool, id tcp.ConnID) map[tcp.ConnID]bool {
	if m == nil {
		m = make(map[tcp.ConnID]bool)
	}
	m[id] = true
	return m
}

// SetTimer asks for a PMEventTimer for the path manager at at
// (TimerController); a zero at cancels it.
func (c *MPConn) SetTimer(at time.Time) {
	if c.closed || c.mc.freed {
		return
	}
	c.pmTimer = at
	c.mc.extra = at
	c.s.refile(&c.mc.entry, earliest(c.m.NextDeadline(), at))
}

// Timer returns the time SetTimer asked for (zero: none).
func (c *MPConn) Timer() time.Time { return c.pmTimer }

// onPoll reads the engine's events after each poll.
func (c *MPConn) onPoll(now time.Time, _ *MuxConn) {
	for {
		ev, ok := c.m.NextEvent()
		if !ok {
			break
		}
		if ev.Kind != meta.EventClosed {
			c.checkFully(now)
		}
		c.handle(now, ev)
	}
	c.checkFully(now)
	if !c.pmTimer.IsZero() && !now.Before(c.pmTimer) && !c.closed {
		c.pmTimer = time.Time{}
		c.mc.extra = time.Time{}
		c.toPM(now, PMEvent{Type: PMEventTimer})
	}
}

// checkFully publishes Linux's MPTCP_EVENT_ESTABLISHED once the
// connection is fully established (RFC 8684 §3.1), when subflows can
// join: before the events that follow it, such as the peer's ADD_ADDR
// that may end the MP_CAPABLE phase.
func (c *MPConn) checkFully(now time.Time) {
	if !c.fully && !c.closed && c.m.FullyEstablished() {
		c.fully = true
		c.subs[c.initial] = true
		if !c.created {
			c.created = true
			c.publish(now, PMEvent{Type: PMEventCreated, Local: c.initial.Local, Remote: c.initial.Remote})
		}
		c.publish(now, PMEvent{Type: PMEventEstablished, Local: c.initial.Local, Remote: c.initial.Remote})
	}
}

// handle turns an engine event into PMEvents and passes it on.
func (c *MPConn) handle(now time.Time, ev meta.Event) {
	switch ev.Kind {
	case meta.EventEstablished:
		c.established = true
		if c.token == 0 {
			c.token = c.m.Token()
		}
		if !c.m.Fallback() && !c.created {
			c.created = true
			c.publish(now, PMEvent{Type: PMEventCreated, Local: c.initial.Local, Remote: c.initial.Remote})
		}
	case meta.EventSubflowEstablished:
		if ev.ID != c.initial && !c.subs[ev.ID] {
			c.subs[ev.ID] = true
			if c.opened[ev.ID] && ev.ID.Remote.Port() != c.initial.Remote.Port() {
				c.s.mp.stats.JoinPortSynAckRx++
			}
			c.subflowEvent(now, PMEventSubflowEstablished, ev.ID, nil, &ev)
		}
	case meta.EventSubflowClosed:
		// As Linux (mptcp_close_ssk), a join that failed before it was
		// established is reported too, once the connection is.
		if (c.subs[ev.ID] || c.opened[ev.ID] && c.fully) && ev.ID != c.initial {
			delete(c.subs, ev.ID)
			delete(c.opened, ev.ID)
			c.subflowEvent(now, PMEventSubflowClosed, ev.ID, ev.Err, &ev)
		}
		delete(c.opened, ev.ID)
		delete(c.requested, ev.ID)
	case meta.EventSubflowPriority:
		c.subflowEvent(now, PMEventSubflowPriority, ev.ID, nil, &ev)
	case meta.EventAnnounced:
		c.publish(now, PMEvent{Type: PMEventAnnounced, RemoteID: ev.RemoteID, Remote: ev.Addr})
	case meta.EventRemoved:
		// The engine resets the subflows to that address: on request.
		for _, sf := range c.m.Info().Subflow {
			if sf.RemoteID == ev.RemoteID && sf.ID != c.initial {
				c.requested = setID(c.requested, sf.ID)
			}
		}
		c.publish(now, PMEvent{Type: PMEventRemoved, RemoteID: ev.RemoteID})
	case meta.EventClosed:
		c.closed = true
		c.pmTimer = time.Time{}
		c.releasePorts(now)
		if c.created {
			c.publish(now, PMEvent{Type: PMEventClosed, Local: c.initial.Local, Remote: c.initial.Remote, Err: ev.Err})
		}
		c.mc.Release()
		delete(c.s.mp.conns, c.m)
		if c.parent != nil {
			c.parent.gone(c)
		}
	}
	if c.onEvent != nil {
		c.onEvent(now, c, ev)
	}
	if ev.Kind == meta.EventEstablished && c.parent != nil {
		c.parent.established(now)
	}
}

// subflowEvent publishes a subflow event for subflow id, with the
// engine's event when there is one.
func (c *MPConn) subflowEvent(now time.Time, t PMEventType, id tcp.ConnID, err error, mev *meta.Event) {
	ev := PMEvent{Type: t, Local: id.Local, Remote: id.Remote, Err: err}
	if t == PMEventSubflowClosed {
		ev.Requested = c.requested[id] || c.aborting || c.m.Closed()
	}
	if mev != nil {
		ev.LocalID, ev.RemoteID, ev.Backup = mev.LocalID, mev.RemoteID, mev.Backup
		if mev.ResetSeen {
			ev.ResetReason = uint8(mev.Reason)
			ev.Reset, ev.ResetTransient = true, mev.Transient
		}
	} else {
		for _, sf := range c.m.Info().Subflow {
			if sf.ID == id {
				ev.LocalID, ev.RemoteID, ev.Backup = sf.LocalID, sf.RemoteID, sf.Backup || sf.RemoteBackup
			}
		}
	}
	c.publish(now, ev)
}

// publish fills in the connection's part of ev and hands it to
// MPConfig.OnEvent and the path manager.
func (c *MPConn) publish(now time.Time, ev PMEvent) {
	ev.Time, ev.Token, ev.ServerSide = now, c.token, c.server
	cfg := &c.s.mp.cfg
	if cfg.OnEvent != nil {
		cfg.OnEvent(now, ev)
	}
	if cfg.PathManager != nil && (!c.closed || ev.Type == PMEventClosed) {
		cfg.PathManager.HandleEvent(now, c, ev)
	}
}

// toPM hands ev, with the connection's part filled in, to the path
// manager only (timers, address events).
func (c *MPConn) toPM(now time.Time, ev PMEvent) {
	ev.Time, ev.Token, ev.ServerSide = now, c.token, c.server
	if pm := c.s.mp.cfg.PathManager; pm != nil && !c.closed {
		pm.HandleEvent(now, c, ev)
	}
}

// MPListener is an MPTCP listener of a Stack: it accepts MPTCP
// connections and plain TCP ones alike (a SYN without MP_CAPABLE makes a
// connection that is plain TCP from the start, RFC 8684 §3.7), and new
// subflows of its connections (MP_JOIN, §3.2).
type MPListener struct {
	s        *Stack
	sl       *Listener
	ml       *meta.Listener
	kids     []*MPConn // in their handshake
	queue    []*MPConn // established, waiting for Accept
	onEvent  func(now time.Time, c *MPConn, ev meta.Event)
	onAccept func(now time.Time, l *MPListener)
	closed   bool
}

// MPListenOptions are the options of ListenMPTCP.
type MPListenOptions struct {
	// Backlog bounds the connections in their handshake plus those
	// waiting for Accept (default DefaultBacklog).
	Backlog int
	// OnEvent, if set, becomes the OnEvent callback of every connection
	// the listener makes.
	OnEvent func(now time.Time, c *MPConn, ev meta.Event)
	// OnAccept, if set, is called each time a connection becomes ready
	// for Accept.
	OnAccept func(now time.Time, l *MPListener)
	// Meta, if set, adjusts the listener's copy of MPConfig.Meta, which
	// its connections use (see MPDialOptions.Meta).
	Meta func(*meta.Config)
}

// ListenMPTCP opens an MPTCP listener on local (see Listen for the
// address).
func (s *Stack) ListenMPTCP(now time.Time, local netip.AddrPort, opts *MPListenOptions) (*MPListener, error) {
	if s.mp == nil {
		return nil, ErrMPTCPDisabled
	}
	if opts == nil {
		opts = &MPListenOptions{}
	}
	backlog := opts.Backlog
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	l := &MPListener{s: s, onEvent: opts.OnEvent, onAccept: opts.OnAccept}
	sl, err := s.ListenMux(local, l.input)
	if err != nil {
		return nil, err
	}
	cfg := s.mp.connConfig(opts.Meta)
	ml, err := meta.NewListener(&cfg, sl.Port(), backlog)
	if err != nil {
		sl.Close(now)
		return nil, fmt.Errorf("stack: MPTCP listener: %w", err)
	}
	l.sl, l.ml = sl, ml
	s.mp.lists[sl] = l
	s.mp.publishListener(now, PMEventListenerCreated, sl.Addr())
	return l, nil
}

func (mp *mptcpState) publishListener(now time.Time, t PMEventType, a netip.AddrPort) {
	if mp.cfg.OnEvent != nil {
		mp.cfg.OnEvent(now, PMEvent{Type: t, Time: now, Local: a})
	}
}

// Addr returns the listening address and port.
func (l *MPListener) Addr() netip.AddrPort { return l.sl.Addr() }

// Port returns the listening port.
func (l *MPListener) Port() uint16 { return l.sl.Port() }

// Meta returns the engine's listener (for its counters).
func (l *MPListener) Meta() *meta.Listener { return l.ml }

// SetOnAccept replaces the callback that hears of ready connections.
func (l *MPListener) SetOnAccept(fn func(now time.Time, l *MPListener)) { l.onAccept = fn }

// Ready is the number of connections waiting for Accept.
func (l *MPListener) Ready() int { return len(l.queue) }

// input hands a segment for the listening port to the engine's listener
// (MuxListenFunc).
func (l *MPListener) input(now time.Time, id tcp.ConnID, seg *tcp.Segment) (*MuxConn, tcp.Segment, bool) {
	m, reply, hasReply := l.ml.Input(now, id, seg)
	if m == nil {
		return nil, reply, hasReply
	}
	s := l.s
	c := s.mp.conns[m]
	if c == nil {
		// A new connection (MP_CAPABLE, or plain TCP).
		c = s.newMPConn(true)
		c.parent, c.onEvent = l, l.onEvent
		l.kids = append(l.kids, c)
		c.attach(now, m, id)
	}
	return c.mc, reply, hasReply
}

// established moves the connections the engine's listener has ready
// into the accept queue.
func (l *MPListener) established(now time.Time) {
	n := len(l.queue)
	for {
		m, ok := l.ml.Accept()
		if !ok {
			break
		}
		c := l.s.mp.conns[m]
		if c == nil || c.queued || c.parent != l {
			continue
		}
		c.queued = true
		if i := slices.Index(l.kids, c); i >= 0 {
			l.kids = slices.Delete(l.kids, i, i+1)
		}
		l.queue = append(l.queue, c)
	}
	if len(l.queue) > n && l.onAccept != nil {
		l.onAccept(now, l)
	}
}

// gone forgets a connection that ended before it was queued. A queued
// one stays: Accept hands it out with what it received and its error.
func (l *MPListener) gone(c *MPConn) {
	if i := slices.Index(l.kids, c); i >= 0 {
		l.kids = slices.Delete(l.kids, i, i+1)
	}
}

// Accept returns the oldest established connection not accepted yet.
func (l *MPListener) Accept() (*MPConn, bool) {
	if len(l.queue) == 0 {
		return nil, false
	}
	c := l.queue[0]
	l.queue = slices.Delete(l.queue, 0, 1)
	c.parent = nil
	return c, true
}

// Close stops listening and resets the connections not accepted yet.
func (l *MPListener) Close(now time.Time) error {
	if l.closed {
		return ErrListenerClosed
	}
	l.closed = true
	l.sl.Close(now)
	delete(l.s.mp.lists, l.sl)
	kids := append(l.kids, l.queue...)
	l.kids, l.queue = nil, nil
	for _, c := range kids {
		c.parent = nil
		c.m.Abort()
		c.s.markDirty(&c.mc.entry)
	}
	l.s.mp.publishListener(now, PMEventListenerClosed, l.sl.Addr())
	l.s.flush(now)
	return nil
}

// linkEvent turns a link.Event into address events: once for
// MPConfig.OnEvent, then for the path manager once per fully established
// connection, oldest first (an order that does not depend on map
// iteration, so that a simulated run is reproducible).
func (mp *mptcpState) linkEvent(now time.Time, s *Stack, nic link.NIC, ev link.Event) {
	var t PMEventType
	var addrs []netip.Addr
	switch ev.Kind {
	case link.EventUp:
		t = PMEventLocalAddrAdded
		for _, p := range nic.Addrs() {
			addrs = append(addrs, p.Addr().Unmap())
		}
	case link.EventAddrAdded:
		t = PMEventLocalAddrAdded
		addrs = append(addrs, ev.Addr.Addr().Unmap())
	case link.EventAddrRemoved:
		t = PMEventLocalAddrRemoved
		addrs = append(addrs, ev.Addr.Addr().Unmap())
	default:
		return
	}
	var conns []*MPConn
	for _, c := range mp.conns {
		conns = append(conns, c)
	}
	slices.SortFunc(conns, func(a, b *MPConn) int { return cmp.Compare(a.seq, b.seq) })
	for _, a := range addrs {
		// An address still on another NIC did not leave; one that is
		// not the Stack's did not come.
		if !validAddr(a) || s.IsLocal(a) != (t == PMEventLocalAddrAdded) {
			continue
		}
		local := netip.AddrPortFrom(a, 0)
		if mp.cfg.OnEvent != nil {
			mp.cfg.OnEvent(now, PMEvent{Type: t, Time: now, Local: local})
		}
		for _, c := range conns {
			if c.fully && !c.closed {
				c.toPM(now, PMEvent{Type: t, Local: local})
			}
		}
	}
}
