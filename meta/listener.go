package meta

import (
	"io"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// Listener is the passive side (RFC 8684 §3.1, §3.2): it turns SYNs with
// MP_CAPABLE into new connections, SYNs without it into connections that
// are plain TCP from the start, and SYNs with MP_JOIN into new subflows of
// the connection whose token they name.
type Listener struct {
	cfg Config
	tl  *tcp.Listener
	mib *MIB

	// Set by the SYN hook during tl.Input.
	newConn   *Conn
	newSF     *subflow
	now       time.Time
	rstReason wire.TCPRSTReason // of a refused MP_JOIN
	rstSet    bool
	rstOpt    [4]byte // the MP_TCPRST of the reply

	ready []*Conn
}

// NewListener returns a listener for port with room for backlog
// connections and subflows in their handshakes or waiting for Accept.
func NewListener(cfg *Config, port uint16, backlog int) (*Listener, error) {
	n, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	if n.Tokens == nil {
		n.Tokens = NewTokenTable()
	}
	tl, err := tcp.NewListener(&n.Subflow, port, backlog)
	if err != nil {
		return nil, err
	}
	l := &Listener{cfg: n, tl: tl, mib: n.MIB}
	tl.SetSYNConfigHook(l.onSYN)
	return l, nil
}

// MIB returns the counters the listener and its connections update.
func (l *Listener) MIB() *MIB { return l.mib }

// Tokens returns the token registry the listener uses.
func (l *Listener) Tokens() TokenRegistry { return l.cfg.Tokens }

// Input processes a segment for the listening port from the peer of id.
// When it creates a subflow it returns the connection it belongs to: a
// new one, or an existing one for an MP_JOIN; the stack then hands that
// 4-tuple's segments to conn.Input. A reply (a RST) is returned for
// segments refused outright, such as an MP_JOIN for an unknown token; the
// RST refusing an MP_JOIN carries MP_TCPRST with the reason, as Linux's
// does (RFC 8684 §3.6), in memory of the Listener: encode the reply
// before the next Input.
func (l *Listener) Input(now time.Time, id tcp.ConnID, seg *tcp.Segment) (conn *Conn, reply tcp.Segment, hasReply bool) {
	l.now = now
	l.newConn, l.newSF, l.rstSet = nil, nil, false
	tc, reply, hasReply := l.tl.Input(now, id, seg)
	c, sf := l.newConn, l.newSF
	l.newConn, l.newSF = nil, nil
	if hasReply && l.rstSet && reply.Flags&tcp.FlagRST != 0 {
		reply.Options.MPTCP[0] = wire.MPTCPRST{Reason: l.rstReason}.Append(l.rstOpt[:0])
		reply.Options.NumMPTCP = 1
		l.mib.inc(MPRstTx)
	}
	if tc == nil {
		if c != nil && sf != nil && sf.initial {
			c.releaseToken()
		}
		return nil, reply, hasReply
	}
	if sf == nil {
		// Unreachable: the hook runs for every SYN the tcp listener
		// accepts.
		tc.Abort()
		return nil, reply, hasReply
	}
	sf.tc = tc
	sf.iss = tc.ISS()
	sf.irs = tc.IRS()
	sf.ackMax = sf.iss + 1
	sf.lst = l
	c.subflows = append(c.subflows, sf)
	c.st.subflowsTotal++
	return c, reply, hasReply
}

// onSYN is the tcp listener's SYN hook. Every subflow of a connection,
// the initial one and its joins, gets the connection's TCP configuration,
// so that coupled congestion control sees all of them (one cc.Group per
// connection, as for an active one).
func (l *Listener) onSYN(id tcp.ConnID, seg *tcp.Segment) (tcp.Verdict, tcp.Hooks, *tcp.Config) {
	var m wire.MPTCPOptions
	_ = wire.ParseMPTCPOptions(&seg.Options, &m)
	if m.Has(wire.SubtypeMPJoin) && m.MPJoin.Form == wire.MPJoinSYN {
		return l.joinSYN(id, &m)
	}
	c, err := newConn(&l.cfg)
	if err != nil {
		return tcp.Drop, nil, nil
	}
	c.now = l.now
	c.passive = true
	c.lst = l
	c.localIDs = nil
	if m.Has(wire.SubtypeMPCapable) {
		l.mib.inc(MPCapableSYNRX)
	}
	// RFC 8684 §3.1: only a version 1 SYN with flag H and without flag
	// B is answered with MP_CAPABLE; anything else is plain TCP
	// (§3.7). A SYN asking for a version above 1 gets version 1.
	if m.Has(wire.SubtypeMPCapable) && m.MPCapable.Form == wire.MPCapableSYN &&
		m.MPCapable.Version >= wire.MPTCPVersion1 &&
		m.MPCapable.Flags&wire.MPCapableHMACSHA256 != 0 && m.MPCapable.Flags&wire.MPCapableExtensibility == 0 {
		switch err := c.newKey(); err {
		case nil:
			c.mptcp = true
			c.csum = l.cfg.Checksum || m.MPCapable.Flags&wire.MPCapableChecksumRequired != 0
			c.remoteDenyJoin = m.MPCapable.Flags&wire.MPCapableNoJoinToSource != 0
		case ErrNoTokens:
			l.mib.inc(MPFallbackTokenInit)
		default:
			return tcp.Drop, nil, nil
		}
	}
	if !c.mptcp {
		c.fallback = true
	}
	c.localIDs = append(c.localIDs, id.Local.Addr())
	sf := &subflow{c: c, id: id, initial: true}
	if c.fallback {
		c.fbSub = sf
	}
	l.newConn, l.newSF = c, sf
	return tcp.Accept, sf, c.subflowConfig()
}

// refuse answers a SYN with a RST that carries MP_TCPRST with reason.
func (l *Listener) refuse(reason wire.TCPRSTReason) (tcp.Verdict, tcp.Hooks, *tcp.Config) {
	l.rstReason, l.rstSet = reason, true
	return tcp.Reset, nil, nil
}

// joinSYN handles an MP_JOIN SYN (RFC 8684 §3.2). A refusal gets a RST
// with MP_TCPRST: "MPTCP error" for an unknown token, "administratively
// prohibited" when the connection takes no more subflows, "lack of
// resources" when no nonce could be drawn, as in Linux.
func (l *Listener) joinSYN(id tcp.ConnID, m *wire.MPTCPOptions) (tcp.Verdict, tcp.Hooks, *tcp.Config) {
	j := &m.MPJoin
	c := l.cfg.Tokens.Lookup(j.Token)
	if c == nil {
		l.mib.inc(MPJoinNoTokenFound)
		return l.refuse(wire.TCPRSTMPTCPError)
	}
	l.mib.inc(MPJoinSynRx)
	if j.Backup() {
		l.mib.inc(MPJoinSynBackupRx)
	}
	if !c.established || !c.mptcp || c.fallback || c.done || c.closeSubs || !c.remoteKeyKnown ||
		c.liveSubflows() >= c.cfg.MaxSubflows ||
		c.cfg.DenyJoinInitial && c.isInitialLocal(id.Local) ||
		len(c.localIDs) >= 256 && c.findLocalID(id.Local.Addr()) < 0 {
		l.mib.inc(MPJoinRejected)
		return l.refuse(wire.TCPRSTAdminProhibited)
	}
	var nonce [4]byte
	if _, err := io.ReadFull(c.cfg.Rand, nonce[:]); err != nil {
		return l.refuse(wire.TCPRSTLackOfResources)
	}
	sf := &subflow{c: c, id: id, join: true, remoteNonce: j.Random, remoteID: j.AddrID,
		remoteBackup: j.Backup(), localNonce: beUint32(nonce[:]), localID: c.localAddrID(id.Local.Addr())}
	l.newConn, l.newSF = c, sf
	return tcp.Accept, sf, c.subflowConfig()
}

func (c *Conn) isInitialLocal(ap netip.AddrPort) bool {
	for _, sf := range c.subflows {
		if sf.initial {
			return sf.id.Local == ap
		}
	}
	return false
}

// drain takes the tcp listener's established connections (the engine owns
// them) so that they leave its backlog.
func (l *Listener) drain() {
	for {
		if _, ok := l.tl.Accept(); !ok {
			return
		}
	}
}

func (l *Listener) connReady(c *Conn) {
	l.ready = append(l.ready, c)
}

func (l *Listener) connGone(c *Conn) {
	for i, x := range l.ready {
		if x == c {
			l.ready = append(l.ready[:i], l.ready[i+1:]...)
			return
		}
	}
}

// Accept returns an established connection, oldest first.
func (l *Listener) Accept() (*Conn, bool) {
	if len(l.ready) == 0 {
		return nil, false
	}
	c := l.ready[0]
	copy(l.ready, l.ready[1:])
	l.ready[len(l.ready)-1] = nil
	l.ready = l.ready[:len(l.ready)-1]
	c.lst = nil
	return c, true
}
