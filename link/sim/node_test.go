package sim_test

import (
	"net/netip"
	"slices"
	"time"

	"github.com/gomptcp/mptcp/clock"
	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
)

var t0 = clock.Epoch

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// rx is a packet a testNode received.
type rx struct {
	At      time.Duration // since t0
	NIC     string
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Payload string
	TTL     uint8
}

type linkEv struct {
	At   time.Duration
	NIC  string
	Kind link.EventKind
	Addr netip.Prefix
}

type pendingSend struct {
	at  time.Time
	nic link.NIC
	pkt []byte
}

// testNode is a minimal Node: it records what it receives, sends UDP
// datagrams at times it is told (through its Deadline and Timer, as a
// stack's retransmission timer would), and optionally echoes datagrams.
type testNode struct {
	echo    bool
	got     []rx
	events  []linkEv
	pending []pendingSend
	sorted  bool // pending is sorted by time
	timers  int  // Timer calls
	sendErr []error
}

// sendAt schedules a UDP datagram from src to dst on nic at time at.
func (n *testNode) sendAt(at time.Time, nic link.NIC, src, dst netip.AddrPort, payload string) {
	n.sendRawAt(at, nic, pkttest.UDP(src, dst, []byte(payload)))
}

func (n *testNode) sendRawAt(at time.Time, nic link.NIC, pkt []byte) {
	n.pending = append(n.pending, pendingSend{at, nic, pkt})
	n.sorted = false
}

func (n *testNode) sortPending() {
	if !n.sorted {
		slices.SortStableFunc(n.pending, func(a, b pendingSend) int { return a.at.Compare(b.at) })
		n.sorted = true
	}
}

func (n *testNode) Receive(now time.Time, nic link.NIC, pkt []byte) {
	d, err := pkttest.Decode(pkt)
	if err != nil || d.UDP == nil {
		n.got = append(n.got, rx{At: now.Sub(t0), NIC: nic.Name(), Payload: "undecodable"})
		return
	}
	var src, dst netip.Addr
	var ttl uint8
	if d.IPv4 != nil {
		src, _ = netip.AddrFromSlice(d.IPv4.SrcIP)
		dst, _ = netip.AddrFromSlice(d.IPv4.DstIP)
		ttl = d.IPv4.TTL
	} else {
		src, _ = netip.AddrFromSlice(d.IPv6.SrcIP)
		dst, _ = netip.AddrFromSlice(d.IPv6.DstIP)
		ttl = d.IPv6.HopLimit
	}
	r := rx{At: now.Sub(t0), NIC: nic.Name(), Src: netip.AddrPortFrom(src, uint16(d.UDP.SrcPort)),
		Dst: netip.AddrPortFrom(dst, uint16(d.UDP.DstPort)), Payload: string(d.UDP.Payload), TTL: ttl}
	n.got = append(n.got, r)
	if n.echo {
		// pkt is only borrowed: the reply is a new packet, sent at once.
		if err := nic.Send(pkttest.UDP(r.Dst, r.Src, []byte("re:"+r.Payload))); err != nil {
			n.sendErr = append(n.sendErr, err)
		}
	}
}

func (n *testNode) Timer(now time.Time) {
	n.timers++
	n.sortPending()
	for len(n.pending) > 0 && !n.pending[0].at.After(now) {
		p := n.pending[0]
		n.pending = n.pending[1:]
		if err := p.nic.Send(p.pkt); err != nil {
			n.sendErr = append(n.sendErr, err)
		}
	}
}

func (n *testNode) LinkEvent(now time.Time, nic link.NIC, ev link.Event) {
	n.events = append(n.events, linkEv{now.Sub(t0), nic.Name(), ev.Kind, ev.Addr})
}

func (n *testNode) Deadline() time.Time {
	if len(n.pending) == 0 {
		return time.Time{}
	}
	n.sortPending()
	return n.pending[0].at
}

func (n *testNode) payloads() []string {
	var s []string
	for _, r := range n.got {
		s = append(s, r.Payload)
	}
	return s
}
