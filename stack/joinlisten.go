package stack

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// MPStats are the Stack's MPTCP counters that the engines' meta.MIB does
// not keep: those of joins to announced ports, named after Linux's
// MPTcpExt counters.
type MPStats struct {
	// JoinPortSynRx (MPJoinPortSynRx): MP_JOIN SYNs accepted on an
	// address and port a connection announced.
	JoinPortSynRx uint64
	// MismatchPortSynRx (MismatchPortSynRx): MP_JOIN SYNs refused on an
	// announced address and port because their connection did not
	// announce it.
	MismatchPortSynRx uint64
	// EndpAttempt (MPCapableEndpAttempt): SYNs without MP_JOIN (with
	// MP_CAPABLE or plain TCP) refused on an announced address and port.
	EndpAttempt uint64
	// JoinPortSynAckRx (MPJoinPortSynAckRx): joins we opened to a port
	// other than the connection's that completed (Linux counts their
	// SYN/ACKs).
	JoinPortSynAckRx uint64
}

// MPStats returns the Stack's MPTCP counters beyond meta.MIB (zero before
// EnableMPTCP).
func (s *Stack) MPStats() MPStats {
	if s.mp == nil {
		return MPStats{}
	}
	return s.mp.stats
}

// joinListener accepts MP_JOIN SYNs (RFC 8684 §3.2) on an address and port
// that connections announced with ADD_ADDR (§3.4.1), as the listener
// Linux's in-kernel path manager opens for a "signal" endpoint with a
// port. It takes joins only: a SYN without MP_JOIN is refused, and so is a
// join for a connection that did not announce that address and port
// (Linux's subflow_check_req). It lives while a connection's
// announcement holds it (refs).
type joinListener struct {
	mp     *mptcpState
	s      *Stack
	addr   netip.AddrPort
	sl     *Listener
	ml     *meta.Listener
	refs   int
	rstOpt [4]byte // the MP_TCPRST of a refusal
}

// joinFor returns the join listener of addr, making it if need be (with
// no reference yet), or nil when an MPListener of the Stack already
// takes segments for addr (it accepts joins itself) or addr is not one
// of the Stack's addresses. Another listener
// there is ErrAddrInUse, as binding a taken address and port is in Linux.
func (mp *mptcpState) joinFor(now time.Time, s *Stack, addr netip.AddrPort) (*joinListener, error) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	if jl := mp.joins[addr]; jl != nil {
		return jl, nil
	}
	if !s.IsLocal(addr.Addr()) {
		// Not ours to listen on (an address a NAT forwards to us, say):
		// announced as it is.
		return nil, nil
	}
	if l := s.listenerAt(addr.Addr(), addr.Port()); l != nil {
		if mp.lists[l] != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %v has a listener that takes no MP_JOIN", ErrAddrInUse, addr)
	}
	jl := &joinListener{mp: mp, s: s, addr: addr}
	sl, err := s.ListenMux(addr, jl.input)
	if err != nil {
		return nil, err
	}
	cfg := mp.connConfig(nil)
	ml, err := meta.NewListener(&cfg, addr.Port(), DefaultBacklog)
	if err != nil {
		sl.Close(now)
		return nil, fmt.Errorf("stack: MP_JOIN listener: %w", err)
	}
	jl.sl, jl.ml = sl, ml
	mp.joins[addr] = jl
	mp.publishListener(now, PMEventListenerCreated, addr)
	return jl, nil
}

// release drops a reference; the last one closes the listener. Subflows
// it accepted live on: their 4-tuples belong to their connections.
func (jl *joinListener) release(now time.Time) {
	jl.refs--
	jl.closeIfUnused(now)
}

func (jl *joinListener) closeIfUnused(now time.Time) {
	if jl.refs > 0 || jl.mp.joins[jl.addr] != jl {
		return
	}
	delete(jl.mp.joins, jl.addr)
	jl.sl.Close(now)
	jl.mp.publishListener(now, PMEventListenerClosed, jl.addr)
}

// input is the listener's MuxListenFunc.
func (jl *joinListener) input(now time.Time, id tcp.ConnID, seg *tcp.Segment) (*MuxConn, tcp.Segment, bool) {
	mp := jl.mp
	join := false
	if seg.Flags&(tcp.FlagSYN|tcp.FlagACK|tcp.FlagRST) == tcp.FlagSYN {
		var m wire.MPTCPOptions
		_ = wire.ParseMPTCPOptions(&seg.Options, &m)
		if !m.Has(wire.SubtypeMPJoin) || m.MPJoin.Form != wire.MPJoinSYN {
			// Linux refuses MP_CAPABLE and plain TCP on the
			// listener of an endpoint (subflow_reset_req_endp):
			// a RST with MP_TCPRST "administratively prohibited"
			// (RFC 8684 §3.6).
			mp.stats.EndpAttempt++
			return jl.refuse(seg)
		}
		if owner := mp.cfg.Meta.Tokens.Lookup(m.MPJoin.Token); owner != nil {
			// A join to a port other than its connection's is for
			// an address and port that connection announced
			// (Linux's mptcp_pm_sport_in_anno_list). An unknown
			// token is the engine's to refuse (§3.2).
			if c := mp.conns[owner]; c == nil || !c.holds(jl) {
				mp.stats.MismatchPortSynRx++
				return jl.refuse(seg)
			}
			join = true
		}
	}
	m, reply, hasReply := jl.ml.Input(now, id, seg)
	if m == nil {
		return nil, reply, hasReply
	}
	c := mp.conns[m]
	if c == nil || c.closed {
		return nil, reply, hasReply
	}
	if join {
		mp.stats.JoinPortSynRx++
	}
	return c.mc, reply, hasReply
}

// refuse answers seg with a RST carrying MP_TCPRST "administratively
// prohibited", Linux's MPTCP_RST_EPROHIBIT.
func (jl *joinListener) refuse(seg *tcp.Segment) (*MuxConn, tcp.Segment, bool) {
	r, ok := tcp.ResetFor(seg)
	if !ok {
		return nil, tcp.Segment{}, false
	}
	r.Options.MPTCP[0] = wire.MPTCPRST{Reason: wire.TCPRSTAdminProhibited}.Append(jl.rstOpt[:0])
	r.Options.NumMPTCP = 1
	return nil, r, true
}
