package stack

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// Defaults.
const (
	// DefaultTTL is the IPv4 Time to Live and IPv6 Hop Limit of outgoing
	// packets (Linux's ip_default_ttl).
	DefaultTTL = 64
	// DefaultEphemeralFirst and DefaultEphemeralLast bound the ephemeral
	// port range (Linux's ip_local_port_range).
	DefaultEphemeralFirst = 32768
	DefaultEphemeralLast  = 60999
	// DefaultBacklog is the listen backlog when ListenOptions gives none.
	DefaultBacklog = 128
)

// Errors.
var (
	// ErrNoRoute: no NIC that is up has a route to the destination.
	ErrNoRoute = errors.New("stack: no route to host")
	// ErrNoAddress: no local address of the destination's family can be
	// used as the source.
	ErrNoAddress = errors.New("stack: no usable local address")
	// ErrAddrNotLocal: a bound address is not one of the Stack's.
	ErrAddrNotLocal = errors.New("stack: address is not local")
	// ErrAddrInUse: the local address and port are taken.
	ErrAddrInUse = errors.New("stack: address already in use")
	// ErrNoPorts: every ephemeral port is taken.
	ErrNoPorts = errors.New("stack: no ephemeral port available")
	// ErrInvalid wraps bad arguments.
	ErrInvalid = errors.New("stack: invalid argument")
	// ErrListenerClosed: the Listener was closed.
	ErrListenerClosed = errors.New("stack: listener closed")
)

// Config configures a Stack. The zero value is usable.
type Config struct {
	// TCP is the configuration of connections that Dial and Listen are
	// not given one for. A zero ISNKey (here or in a per-connection
	// configuration) is replaced by the Stack's key, drawn from Rand.
	TCP tcp.Config
	// Rand is the source of the Stack's randomness: the RFC 6528 key of
	// initial sequence numbers and the seed of ephemeral port choices.
	// It is read in New only. Default: crypto/rand.Reader.
	Rand io.Reader
	// TTL is the IPv4 Time to Live and IPv6 Hop Limit (default 64).
	TTL uint8
	// EphemeralFirst and EphemeralLast bound the ephemeral ports
	// (default 32768–60999).
	EphemeralFirst, EphemeralLast uint16
	// OnLinkEvent, if set, hears of every link.Event, after the Stack
	// has updated its addresses.
	OnLinkEvent func(now time.Time, nic link.NIC, ev link.Event)
}

// Stats are a Stack's counters.
type Stats struct {
	PacketsIn         uint64 // IP packets given to Receive
	SegmentsIn        uint64 // TCP segments that passed the checks and were demultiplexed
	SegmentsOut       uint64 // TCP segments sent (accepted by NIC.Send)
	SendErrors        uint64 // segments NIC.Send refused (link down, …)
	DroppedTooBig     uint64 // segments larger than the NIC's MTU, not sent
	SACKBlocksTrimmed uint64 // SACK blocks left out of segments so that they fit the MTU
	DroppedNoRoute    uint64 // replies (RSTs) with no route back
	Malformed         uint64 // truncated or inconsistent IP or TCP headers
	BadIPChecksum     uint64 // IPv4 header checksum did not verify
	BadChecksum       uint64 // TCP checksum did not verify
	BadOptions        uint64 // malformed TCP options (RFC 9293 §3.2 MUST-7: dropped)
	Fragments         uint64 // IP fragments (not reassembled) dropped
	NotTCP            uint64 // packets of other protocols dropped
	NotLocal          uint64 // packets for addresses that are not the Stack's
	BadAddress        uint64 // invalid source or destination (multicast, unspecified, port 0, routing header)
	NoPort            uint64 // segments for no connection and no listener
	ResetsSent        uint64 // RSTs sent for those (tcp.ResetFor)
	ListenerResets    uint64 // RSTs a listener sent (ACK to a listening port, SYN hook verdicts)
	ActiveOpens       uint64 // connections made by Dial
	PassiveOpens      uint64 // connections made by listeners
	TimeWaitReuses    uint64 // SYNs that reopened a connection in TIME-WAIT (RFC 6191)
	ConnectionsFreed  uint64 // connections that reached CLOSED and left the tables
}

// Stack is a host's TCP/IP stack. It implements link.Node. It is not safe
// for concurrent use: see the package documentation.
type Stack struct {
	cfg      Config
	isnKey   [16]byte
	ttl      uint8
	rng      *mrand.Rand
	nics     []link.NIC
	addrs    []localAddr // cache of the NICs' addresses
	routes   []route
	conns    map[tcp.ConnID]*Conn
	lastConn *Conn          // the connection input found last (a cache of conns)
	portUse  map[uint16]int // local ports in use by connections
	lists    map[listenKey]*Listener
	timers   timerHeap
	dirty    []*entry
	tuples   map[tcp.ConnID]*muxTuple // 4-tuples of MuxConns
	lastTup  *muxTuple                // the tuple input found last
	mp       *mptcpState              // MPTCP, once enabled
	busy     int                      // depth of calls in progress
	ipID     uint16
	stats    Stats
	rx       tcp.Segment                 // the segment being received
	tx       tcp.Segment                 // the segment being sent
	opts     [wire.TCPMaxOptionsLen]byte // its options, encoded
	txNIC    link.NIC                    // the NIC emit sent through last
	txOff    ChecksumOffloader           // txNIC as one, or nil
	txGSO    SegmentOffloader            // txNIC as one, or nil
	rxNIC    link.NIC                    // the NIC Receive was given last
	rxOK     bool                        // whether rxNIC verifies checksums
	out      []byte                      // headroom + payload of the segment being sent
	gso      gsoPacket                   // segments gathered for a SegmentOffloader
	flushing bool                        // flush is polling the connections
	solo     *int                        // the solo field of the connection or 4-tuple being emitted (gso.go)
	tsoConn  *tcp.Conn                   // the connection being emitted, which sizes its super-packets (gso.go)
	tsoMux   TSOSizer                    // or the engine of the 4-tuple tsoID being emitted
	tsoID    tcp.ConnID
}

// headroom is room for the largest IP header the Stack writes (40 bytes of
// IPv6) plus the largest TCP header (60) in front of the payload.
const headroom = wire.IPv6HeaderLen + wire.TCPMaxHeaderLen

// maxPayload bounds a segment's payload: the largest IP packet.
const maxPayload = 65535

var (
	_ link.Node    = (*Stack)(nil)
	_ link.Batcher = (*Stack)(nil)
)

// New returns a Stack with no NICs.
func New(cfg Config) (*Stack, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.EphemeralFirst == 0 && cfg.EphemeralLast == 0 {
		cfg.EphemeralFirst, cfg.EphemeralLast = DefaultEphemeralFirst, DefaultEphemeralLast
	}
	if cfg.EphemeralFirst == 0 || cfg.EphemeralFirst > cfg.EphemeralLast {
		return nil, fmt.Errorf("%w: ephemeral port range %d-%d", ErrInvalid, cfg.EphemeralFirst, cfg.EphemeralLast)
	}
	var seed [16 + 32]byte
	if _, err := io.ReadFull(cfg.Rand, seed[:]); err != nil {
		return nil, fmt.Errorf("stack: reading randomness: %w", err)
	}
	s := &Stack{
		cfg:     cfg,
		ttl:     cfg.TTL,
		rng:     mrand.New(mrand.NewChaCha8([32]byte(seed[16:]))),
		conns:   make(map[tcp.ConnID]*Conn),
		portUse: make(map[uint16]int),
		tuples:  make(map[tcp.ConnID]*muxTuple),
		lists:   make(map[listenKey]*Listener),
		out:     make([]byte, headroom+maxPayload),
	}
	copy(s.isnKey[:], seed[:16])
	if cfg.TCP.ISNKey != ([16]byte{}) {
		s.isnKey = cfg.TCP.ISNKey
	}
	s.cfg.TCP.ISNKey = s.isnKey
	s.ipID = uint16(s.rng.Uint32())
	if err := checkConfig(&s.cfg.TCP); err != nil {
		return nil, err
	}
	return s, nil
}

// checkConfig validates a connection configuration fully (the congestion
// controller's name included) by making a connection that is never used.
func checkConfig(cfg *tcp.Config) error {
	id := tcp.ConnID{Local: netip.AddrPortFrom(netip.IPv4Unspecified(), 1), Remote: netip.AddrPortFrom(netip.IPv4Unspecified(), 1)}
	_, err := tcp.Dial(time.Time{}, cfg, id, nil)
	return err
}

// TCPConfig returns the configuration of the Stack's connections
// (Config.TCP with the Stack's ISNKey), the template for engines that make
// TCP connections of their own (MPTCP subflows).
func (s *Stack) TCPConfig() tcp.Config { return s.cfg.TCP }

// Stats returns the Stack's counters.
func (s *Stack) Stats() Stats { return s.stats }

// NumConns is the number of connections in the Stack's tables (those not
// yet CLOSED, TIME-WAIT included).
func (s *Stack) NumConns() int { return len(s.conns) }

// Conns calls fn for every connection in the Stack's tables, in no
// particular order, until fn returns false.
func (s *Stack) Conns(fn func(*Conn) bool) {
	for _, c := range s.conns {
		if !fn(c) {
			return
		}
	}
}

// Receive handles an IP packet that arrived on nic (link.Node).
func (s *Stack) Receive(now time.Time, nic link.NIC, pkt []byte) {
	s.busy++
	if nic != s.rxNIC {
		s.rxNIC, s.rxOK = nic, checksumsVerified(nic)
	}
	s.input(now, pkt, s.rxOK)
	s.busy--
	s.flush(now)
}

// ReceiveSuper handles pkt, a super-packet of TCP segments of gso payload
// bytes each but the last that the NIC coalesced (Linux's GRO; link/sim's
// SuperReceiver), as one segment: the connection acknowledges it as the
// segments it stands for (tcp.Segment.GSO).
func (s *Stack) ReceiveSuper(now time.Time, nic link.NIC, pkt []byte, gso int) {
	s.rx.GSO = gso
	s.Receive(now, nic, pkt)
	s.rx.GSO = 0
}

// StartBatch holds back what the Stack sends until EndBatch
// (link.Batcher): the packets received in between are taken in first.
func (s *Stack) StartBatch() { s.busy++ }

// EndBatch sends what the packets received since StartBatch called for
// (link.Batcher).
func (s *Stack) EndBatch(now time.Time) {
	s.busy--
	s.flush(now)
}

// Timer polls the connections whose deadline has come (link.Node).
func (s *Stack) Timer(now time.Time) {
	s.busy++
	for len(s.timers) > 0 && !s.timers[0].deadline.After(now) {
		s.markDirty(s.timers.pop())
	}
	s.busy--
	s.flush(now)
}

// Deadline is the earliest deadline of the connections (link.Node).
func (s *Stack) Deadline() time.Time {
	if len(s.timers) == 0 {
		return time.Time{}
	}
	return s.timers[0].deadline
}

// LinkEvent updates the Stack's addresses (link.Node), tells the MPTCP
// path manager of addresses that can carry subflows again or are gone
// (PMEventLocalAddrAdded, PMEventLocalAddrRemoved) and passes the event to
// Config.OnLinkEvent.
func (s *Stack) LinkEvent(now time.Time, nic link.NIC, ev link.Event) {
	s.refreshAddrs()
	s.busy++
	if ev.Kind == link.EventUp {
		s.linkUp(now, nic)
	}
	if s.mp != nil {
		s.mp.linkEvent(now, s, nic, ev)
	}
	if s.cfg.OnLinkEvent != nil {
		s.cfg.OnLinkEvent(now, nic, ev)
	}
	s.busy--
	s.flush(now)
}

// LinkUpper is implemented by Mux engines that want to know when a local
// address's link comes back up (meta.Conn: its subflows then retransmit
// at once, see linkUp).
type LinkUpper interface {
	LinkUp(now time.Time, local netip.Addr) bool
}

// linkUp ends the backed-off retransmission timeouts of the connections
// (and of the subflows of engines that are LinkUppers) that leave through
// nic, which came back up: a connection whose path failed while the link
// was down retransmits now rather than at the end of a timeout that may
// have grown to seconds (tcp.Conn.RetransmitNow). Connections are visited
// in the order of their 4-tuples, for reproducible simulations.
func (s *Stack) linkUp(now time.Time, nic link.NIC) {
	on := func(a netip.Addr) bool {
		for _, p := range nic.Addrs() {
			if p.Addr().Unmap() == a.Unmap() {
				return true
			}
		}
		return false
	}
	var ids []tcp.ConnID
	for id, c := range s.conns {
		if on(id.Local.Addr()) && c.tcp.ConsecutiveRTOs() > 0 {
			ids = append(ids, id)
		}
	}
	for id, t := range s.tuples {
		if on(id.Local.Addr()) && t.mc != nil {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b tcp.ConnID) int {
		if c := a.Local.Compare(b.Local); c != 0 {
			return c
		}
		return a.Remote.Compare(b.Remote)
	})
	for _, id := range ids {
		if c, ok := s.conns[id]; ok {
			if c.tcp.RetransmitNow(now) {
				s.markDirty(&c.entry)
			}
			continue
		}
		t := s.tuples[id]
		if lu, ok := t.mc.m.(LinkUpper); ok && lu.LinkUp(now, id.Local.Addr()) {
			s.markDirty(&t.mc.entry)
		}
	}
}

// markDirty queues e for a poll by the next flush.
func (s *Stack) markDirty(e *entry) {
	if e.dirty || e.freed {
		return
	}
	e.dirty = true
	s.dirty = append(s.dirty, e)
}

// flush polls the queued engines, unless a call is in progress (its end
// flushes). Polling can run callbacks that queue more; flush runs until
// none is left.
func (s *Stack) flush(now time.Time) {
	if s.busy > 0 {
		return
	}
	s.busy++
	s.flushing = true
	for i := 0; i < len(s.dirty); i++ {
		e := s.dirty[i]
		s.dirty[i] = nil
		e.dirty = false
		if e.conn != nil {
			s.service(now, e.conn)
		} else {
			s.serviceMux(now, e.mux)
		}
	}
	s.dirty = s.dirty[:0]
	s.flushing = false
	if s.gso.segs > 0 {
		s.gsoSend()
	}
	s.busy--
}

// service polls c until it has nothing to send, dispatches its events and
// files it in the timer heap by its next deadline.
func (s *Stack) service(now time.Time, c *Conn) {
	for c.tcp.PollInto(now, s.out[headroom:], &s.tx) {
		s.send(c, &s.tx)
	}
	for c.tcp.PendingEvents() > 0 {
		ev, _ := c.tcp.NextEvent()
		s.dispatch(now, c, ev)
	}
	if c.freed {
		return
	}
	s.refile(&c.entry, c.tcp.NextDeadline())
}

// refile puts e in the timer heap at deadline d, or takes it out for a
// zero d.
func (s *Stack) refile(e *entry, d time.Time) {
	switch {
	case d.IsZero():
		s.timers.remove(e)
	case e.heapIx >= 0:
		if d != e.deadline {
			e.deadline = d
			s.timers.fix(e.heapIx)
		}
	default:
		e.deadline = d
		s.timers.push(e)
	}
}

// dispatch handles an engine event of c and passes it to c's callback.
func (s *Stack) dispatch(now time.Time, c *Conn, ev tcp.Event) {
	if ev.Kind == tcp.EventClosed {
		s.release(c)
	}
	if c.onEvent != nil {
		c.onEvent(now, c, ev)
	}
	if ev.Kind == tcp.EventEstablished && c.parent != nil && c.parent.onAccept != nil {
		c.parent.onAccept(now, c.parent)
	}
}

// release takes a closed connection out of the tables.
func (s *Stack) release(c *Conn) {
	if c.freed {
		return
	}
	c.freed = true
	if s.lastConn == c {
		s.lastConn = nil
	}
	s.timers.remove(&c.entry)
	if s.conns[c.tcp.ID()] == c {
		delete(s.conns, c.tcp.ID())
	}
	if n := s.portUse[c.tcp.ID().Local.Port()] - 1; n > 0 {
		s.portUse[c.tcp.ID().Local.Port()] = n
	} else {
		delete(s.portUse, c.tcp.ID().Local.Port())
	}
	if l := c.parent; l != nil {
		l.childGone(c)
	}
	s.stats.ConnectionsFreed++
}

// register files a new connection in the tables.
func (s *Stack) register(c *Conn) {
	if s.lastConn != nil && s.lastConn.tcp.ID() == c.tcp.ID() {
		s.lastConn = nil
	}
	s.conns[c.tcp.ID()] = c
	s.portUse[c.tcp.ID().Local.Port()]++
}

// nextIPID returns the Identification of the next IPv4 packet. With DF
// set it only has to be unique enough for duplicate detection (RFC 6864
// §4.1: atomic datagrams may use any value); a counter from a random start
// serves.
func (s *Stack) nextIPID() uint16 {
	s.ipID++
	return s.ipID
}

// validAddr reports whether a can be a TCP endpoint's address: unicast,
// not unspecified, not multicast or limited broadcast (RFC 9293 §3.9.2.1
// MUST-57, RFC 1122 §4.2.3.10).
func validAddr(a netip.Addr) bool {
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
		return false
	}
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	return true
}
