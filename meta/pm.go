package meta

import (
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// Path management signals (RFC 8684 §3.3.8, §3.4): the engine carries out
// what a path manager above decides (Announce, RemoveAddr, SetBackup,
// AddSubflow, ResetSubflow) and reports what the peer signals (events
// EventAnnounced, EventRemoved, EventSubflowPriority). It opens no subflow
// by itself.

// announcement is an ADD_ADDR of ours until the peer echoes it
// (RFC 8684 §3.4.1).
type announcement struct {
	id     uint8
	addr   netip.AddrPort // port 0: the ADD_ADDR has no port
	tries  int            // retransmissions so far
	nextAt time.Time      // send it again then (zero: no more)
	echoed bool
}

// RemoteAddr is an address the peer announced with ADD_ADDR.
type RemoteAddr struct {
	ID   uint8
	Addr netip.AddrPort // a zero port: none was announced
}

// maxAddAddrRetrans is how often an unechoed ADD_ADDR is sent again,
// Linux's ADD_ADDR_RETRANS_MAX.
const maxAddAddrRetrans = 3

// maxSignals bounds the ADD_ADDRs and echoes queued on a subflow.
const maxSignals = 8

// pmReady reports whether path-management signals can be exchanged: the
// connection is MPTCP, established, and both keys are known to both ends
// (for the active side, the peer's first DATA_ACK or ADD_ADDR shows that
// it has ours, RFC 8684 §3.1).
func (c *Conn) pmReady() error {
	switch {
	case c.fallback:
		return ErrFallback
	case !c.established || !c.mptcp || !c.remoteKeyKnown || c.mpcPhase || c.done:
		return ErrNotEstablished
	}
	return nil
}

// Announce advertises a local address (and, with a non-zero port, the
// port it listens on) to the peer with ADD_ADDR (RFC 8684 §3.4.1) and
// returns the address ID it gave the address: the ID the address already
// has (0 for the initial subflow's, or the one an earlier Announce or
// AddSubflow gave it), else the next free one. The option, with its HMAC,
// goes on a pure ACK of a working subflow and is sent again until the
// peer echoes it, at intervals of the largest subflow RTO capped by
// Config.AddAddrTimeout and doubling, at most three times more, as Linux
// does (an ADD_ADDR for ID 0 is not repeated, as in Linux). Announcing an
// address again restarts that. The peer decides whether to join it.
func (c *Conn) Announce(now time.Time, addr netip.AddrPort) (uint8, error) {
	c.now = now
	if err := c.pmReady(); err != nil {
		return 0, err
	}
	a := addr.Addr()
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" {
		return 0, ErrInvalidAddr
	}
	if c.findLocalID(a) < 0 && len(c.localIDs) >= 256 {
		return 0, ErrNoAddrID
	}
	opt := wire.AddAddr{Addr: a, HasPort: addr.Port() != 0, Port: addr.Port()}
	sf := c.signalSubflow(-1)
	if sf == nil {
		return 0, ErrNotEstablished
	}
	if !sf.roomFor(opt.Len()) {
		return 0, ErrOptionSpace
	}
	id := c.localAddrID(a)
	opt.AddrID = id
	opt.HMAC = wire.AddAddrHMAC(c.localKey, c.remoteKey, id, a, addr.Port())
	an := announcement{id: id, addr: netip.AddrPortFrom(a, addr.Port())}
	if id != 0 && c.cfg.AddAddrTimeout > 0 {
		an.nextAt = now.Add(c.addAddrInterval())
	}
	found := false
	for i := range c.announced {
		if c.announced[i].id == id {
			c.announced[i], found = an, true
		}
	}
	if !found {
		c.announced = append(c.announced, an)
		c.addAddrSent++
	}
	sf.queueAddAddr(opt)
	return id, nil
}

// addAddrInterval is the first ADD_ADDR retransmission interval: the
// largest subflow RTO, at most Config.AddAddrTimeout (Linux's
// mptcp_adjust_add_addr_timeout).
func (c *Conn) addAddrInterval() time.Duration {
	var rto time.Duration
	for _, sf := range c.subflows {
		if !sf.dead && sf.tc != nil {
			rto = max(rto, sf.tc.Info().RTO)
		}
	}
	if rto > 0 && rto < c.cfg.AddAddrTimeout {
		return rto
	}
	return c.cfg.AddAddrTimeout
}

// announceTimer sends again the ADD_ADDRs the peer has not echoed.
func (c *Conn) announceTimer(now time.Time) {
	for i := range c.announced {
		an := &c.announced[i]
		if an.nextAt.IsZero() || now.Before(an.nextAt) {
			continue
		}
		an.tries++
		an.nextAt = time.Time{}
		if an.tries < maxAddAddrRetrans {
			an.nextAt = now.Add(c.addAddrInterval() << an.tries)
		}
		if sf := c.signalSubflow(-1); sf != nil {
			a := an.addr.Addr()
			sf.queueAddAddr(wire.AddAddr{AddrID: an.id, Addr: a, HasPort: an.addr.Port() != 0, Port: an.addr.Port(),
				HMAC: wire.AddAddrHMAC(c.localKey, c.remoteKey, an.id, a, an.addr.Port())})
		}
	}
}

// RemoveAddr withdraws the local address with address ID id
// (RFC 8684 §3.4.2): REMOVE_ADDR goes to the peer on a pure ACK of a
// subflow that does not use that address when there is one, an
// announcement of it stops, and our subflows from that address are
// reset (with MP_TCPRST), the data they carried that the peer has not
// acknowledged going out again on the others. Removing the address of
// the last subflow ends the connection.
//
// Linux closes such subflows with a FIN when they hold no data; a reset
// is used here in every case because a FIN on a subflow ends the data
// stream for a peer that has fallen back to TCP on it (§3.7), which a
// damaged REMOVE_ADDR could otherwise turn into a silently truncated
// stream.
func (c *Conn) RemoveAddr(now time.Time, id uint8) error {
	c.now = now
	if err := c.pmReady(); err != nil {
		return err
	}
	if int(id) >= len(c.localIDs) {
		return ErrUnknownAddrID
	}
	k := 0
	for _, an := range c.announced {
		if an.id != id {
			c.announced[k] = an
			k++
		}
	}
	c.announced = c.announced[:k]
	for _, sf := range c.subflows {
		// An ADD_ADDR of it still queued must not follow.
		for i := 0; i < len(sf.sigAdd); i++ {
			if !sf.sigAdd[i].Echo && sf.sigAdd[i].AddrID == id {
				sf.sigAdd = append(sf.sigAdd[:i], sf.sigAdd[i+1:]...)
				i--
			}
		}
	}
	if sf := c.signalSubflow(int(id)); sf != nil {
		sf.queueRemove(id)
	}
	for _, sf := range c.subflows {
		if !sf.dead && sf.localID == id && !sf.closed {
			c.mib.inc(RmSubflow)
			c.removeSubflow(sf)
		}
	}
	c.progress()
	return nil
}

// removeSubflow ends sf for an address removal: what it received is read,
// the data it carried goes out again on the others (RFC 8684 §3.3.6), and
// it is reset.
func (c *Conn) removeSubflow(sf *subflow) {
	sf.closeReq = false
	if sf.dead {
		return
	}
	c.pull(sf)
	sf.closed = true
	c.reinjectFrom(sf, true)
	sf.tx, sf.txHead = nil, 0
	sf.rstReason = wire.TCPRSTUnspecified
	sf.tc.Abort()
}

// SetBackup sets or clears the backup priority of subflow id and tells
// the peer with MP_PRIO on that subflow (RFC 8684 §3.3.8). The scheduler
// uses a subflow that we or the peer marked backup only when no other
// works.
func (c *Conn) SetBackup(now time.Time, id tcp.ConnID, backup bool) error {
	c.now = now
	if err := c.pmReady(); err != nil {
		return err
	}
	sf := c.lookup(id)
	switch {
	case sf == nil:
		return ErrNoSubflow
	case !sf.fully || sf.closed:
		return ErrNotEstablished
	}
	sf.backup = backup
	sf.sigPrio = true
	sf.sigWait = false
	sf.ackWanted = true
	return nil
}

// ResetSubflow resets subflow id with MP_TCPRST carrying reason
// (RFC 8684 §3.6), for a path manager that gives up on it (for instance
// wire.TCPRSTUnacceptablePerformance); the data it carried goes out again
// on the others. The engine itself uses the reasons as Linux does: MPTCP
// error for protocol violations, middlebox interference for mangled or
// missing options and checksum failures, administratively prohibited for
// refused joins, lack of resources when a join cannot be set up, and
// unspecified for Abort.
func (c *Conn) ResetSubflow(now time.Time, id tcp.ConnID, reason wire.TCPRSTReason) error {
	c.now = now
	sf := c.lookup(id)
	if sf == nil {
		return ErrNoSubflow
	}
	c.pull(sf)
	c.resetSubflow(sf, reason)
	return nil
}

// signalSubflow picks the subflow for a signal: a working one, else one
// whose local address ID is avoid, else a stale one (Linux's
// mptcp_pm_addr_send_ack_avoid_list).
func (c *Conn) signalSubflow(avoid int) *subflow {
	var same, stale *subflow
	for _, sf := range c.subflows {
		if sf.dead || !sf.fully || sf.closed {
			continue
		}
		if st := sf.tc.State(); st != tcp.StateEstablished && st != tcp.StateCloseWait {
			continue
		}
		switch {
		case sf.stale:
			if stale == nil {
				stale = sf
			}
		case int(sf.localID) == avoid:
			if same == nil {
				same = sf
			}
		default:
			return sf
		}
	}
	if same != nil {
		return same
	}
	return stale
}

// remoteAddrID returns the peer's address ID for remote: 0 for the initial
// subflow's peer, the ID it announced, else 0 until the SYN/ACK of a join
// says (RFC 8684 §3.2).
func (c *Conn) remoteAddrID(remote netip.AddrPort) uint8 {
	for _, ra := range c.remoteAddrs {
		if ra.Addr.Addr() == remote.Addr() && (ra.Addr.Port() == 0 || ra.Addr.Port() == remote.Port()) {
			return ra.ID
		}
	}
	return 0
}

// onAddAddr takes an ADD_ADDR or its echo (RFC 8684 §3.4.1).
func (c *Conn) onAddAddr(sf *subflow, a *wire.AddAddr) {
	addr := netip.AddrPortFrom(a.Addr, a.Port)
	if a.Echo {
		c.mib.inc(EchoAdd)
		if a.HasPort {
			c.mib.inc(PortAdd)
		}
		for i := range c.announced {
			if an := &c.announced[i]; an.id == a.AddrID && an.addr == addr {
				an.echoed, an.nextAt = true, time.Time{}
			}
		}
		return
	}
	// The HMAC is keyed with the sender's key first.
	if !a.HMACValid(c.remoteKey, c.localKey) {
		c.mib.inc(AddAddrDrop)
		return
	}
	c.mib.inc(AddAddr)
	if a.HasPort {
		c.mib.inc(PortAdd)
	}
	// Only a peer that has our key can compute that HMAC: the
	// connection is fully established (§3.1), as Linux takes it.
	c.mpcPhase = false
	sf.queueAddAddr(wire.AddAddr{Echo: true, AddrID: a.AddrID, Addr: a.Addr, HasPort: a.HasPort, Port: a.Port})
	if a.AddrID == 0 && a.Addr != c.initialRemote().Addr() {
		// ID 0 names the initial subflow's address: another one
		// under it is only echoed, as Linux does.
		return
	}
	for i := range c.remoteAddrs {
		if c.remoteAddrs[i].ID == a.AddrID {
			if c.remoteAddrs[i].Addr == addr {
				return // a retransmission
			}
			c.remoteAddrs = append(c.remoteAddrs[:i], c.remoteAddrs[i+1:]...)
			break
		}
	}
	c.remoteAddrs = append(c.remoteAddrs, RemoteAddr{ID: a.AddrID, Addr: addr})
	c.addAddrRcvd++
	c.emit(Event{Kind: EventAnnounced, RemoteID: a.AddrID, Addr: addr})
}

// onRemoveAddr takes a REMOVE_ADDR (RFC 8684 §3.4.2): the subflows to the
// listed address IDs are reset (see RemoveAddr; after the segment is
// processed), their data goes out again on the others.
func (c *Conn) onRemoveAddr(ids []uint8) {
	for _, id := range ids {
		c.mib.inc(RmAddr)
		for _, sf := range c.subflows {
			if !sf.dead && !sf.closed && sf.remoteID == id {
				sf.closeReq = true
			}
		}
		for i := range c.remoteAddrs {
			if c.remoteAddrs[i].ID == id {
				c.remoteAddrs = append(c.remoteAddrs[:i], c.remoteAddrs[i+1:]...)
				break
			}
		}
		c.emit(Event{Kind: EventRemoved, RemoteID: id})
	}
}

// onPrio takes an MP_PRIO (RFC 8684 §3.3.8): it applies to the subflow it
// arrived on. The RFC 6824 form with an address ID is ignored, as Linux
// ignores it.
func (c *Conn) onPrio(sf *subflow, p *wire.MPPrio) {
	if p.HasAddrID {
		return
	}
	c.mib.inc(MPPrioRx)
	sf.remoteBackup = p.Backup
	c.emit(sf.event(EventSubflowPriority))
}

// closeRequested resets the subflows a REMOVE_ADDR named, unless the
// connection fell back to TCP in the meantime (its one subflow is the
// connection).
func (c *Conn) closeRequested() {
	for _, sf := range c.subflows {
		if sf.closeReq {
			if c.fallback {
				sf.closeReq = false
				continue
			}
			c.removeSubflow(sf)
		}
	}
}

func (sf *subflow) hasSignals() bool { return len(sf.sigAdd) > 0 || len(sf.sigRm) > 0 || sf.sigPrio }

func (sf *subflow) clearSignals() {
	sf.sigAdd, sf.sigRm, sf.sigPrio, sf.sigWait = nil, nil, false, false
}

// roomFor reports whether an option of n bytes fits in a pure ACK of the
// subflow, beside its timestamps.
func (sf *subflow) roomFor(n int) bool {
	space := tcp.MaxOptionSpace
	if sf.tc.Info().Timestamps {
		space -= 12 // RFC 7323 §3.2, with two NOPs
	}
	return (n+3)&^3 <= space
}

func (sf *subflow) queueAddAddr(a wire.AddAddr) {
	c := sf.c
	for i := range sf.sigAdd {
		if sf.sigAdd[i].AddrID == a.AddrID && sf.sigAdd[i].Echo == a.Echo {
			sf.sigAdd[i] = a // the newest replaces a queued one
			sf.sigWait, sf.ackWanted = false, true
			return
		}
	}
	if len(sf.sigAdd) >= maxSignals {
		if a.Echo {
			c.mib.inc(EchoAddTxDrop)
		} else {
			c.mib.inc(AddAddrTxDrop)
		}
		return
	}
	sf.sigAdd = append(sf.sigAdd, a)
	sf.sigWait, sf.ackWanted = false, true
}

func (sf *subflow) queueRemove(id uint8) {
	for _, x := range sf.sigRm {
		if x == id {
			return
		}
	}
	if len(sf.sigRm) < wire.MaxRemoveAddrIDs {
		sf.sigRm = append(sf.sigRm, id)
	}
	sf.sigWait, sf.ackWanted = false, true
}

// writeSignals puts the pending signals on a pure ACK: one ADD_ADDR (or
// echo), REMOVE_ADDR and MP_PRIO as they fit, and reports whether any went
// out. What is left waits for another ACK, requested at once when
// something went out, else left for the next one (the space was taken by
// SACK blocks).
func (sf *subflow) writeSignals(w *optWriter, seg *tcp.Segment) bool {
	c := sf.c
	maxSpace := tcp.MaxOptionSpace
	if seg.Options.HasTimestamps {
		maxSpace -= 12
	}
	wrote := false
	for len(sf.sigAdd) > 0 {
		a := sf.sigAdd[0]
		if (a.Len()+3)&^3 > maxSpace {
			// It can never fit beside the timestamps (an IPv6
			// address with a port): dropped, as Linux drops it.
			sf.popAddAddr()
			if a.Echo {
				c.mib.inc(EchoAddTxDrop)
			} else {
				c.mib.inc(AddAddrTxDrop)
			}
			continue
		}
		if put(w, a) {
			sf.popAddAddr()
			wrote = true
			if a.Echo {
				c.mib.inc(EchoAddTx)
			} else {
				c.mib.inc(AddAddrTx)
			}
		}
		break
	}
	if len(sf.sigRm) > 0 && put(w, wire.RemoveAddr{IDs: sf.sigRm}) {
		c.mib.add(RmAddrTx, int64(len(sf.sigRm)))
		sf.sigRm = nil
		wrote = true
	}
	if sf.sigPrio && put(w, wire.MPPrio{Backup: sf.backup}) {
		c.mib.inc(MPPrioTx)
		sf.sigPrio = false
		wrote = true
	}
	sf.sigWait = false
	if sf.hasSignals() {
		if wrote {
			sf.ackWanted = true
		} else {
			sf.sigWait = true
		}
	}
	return wrote
}

func (sf *subflow) popAddAddr() {
	copy(sf.sigAdd, sf.sigAdd[1:])
	sf.sigAdd = sf.sigAdd[:len(sf.sigAdd)-1]
	if len(sf.sigAdd) == 0 {
		sf.sigAdd = nil
	}
}
