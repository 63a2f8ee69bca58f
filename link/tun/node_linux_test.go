package tun

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/wire"
)

// ICMP message types answered by echoNode.
const (
	icmpEchoRequest   = 8   // RFC 792
	icmpEchoReply     = 0   // RFC 792
	icmpv6EchoRequest = 128 // RFC 4443 §4.1
	icmpv6EchoReply   = 129 // RFC 4443 §4.2
)

// rxNote is what echoNode records of a packet it received.
type rxNote struct {
	NIC     string
	Proto   uint8
	Dst     netip.Addr
	Payload string // UDP payload, or ICMP echo data
	SendErr error  // of the reply
}

// evNote is what echoNode records of a link event.
type evNote struct {
	NIC  string
	Kind link.EventKind
	Addr netip.Prefix
	Up   bool // NIC.Up() during the call
}

// echoNode is a test Node: it answers ICMP and ICMPv6 echo requests and
// echoes UDP datagrams back on the NIC they came in on. UDP payloads
// starting with "timer:" are answered 20ms later, from Timer; "burst:N:"
// is answered N times. It reports what it sees on buffered channels.
type echoNode struct {
	rx      chan rxNote
	ev      chan evNote
	buf     []byte
	later   []heldReply
	udpOnly bool // count UDP bytes without answering (benchmarks)
	udp     func(n int)
}

type heldReply struct {
	at  time.Time
	nic link.NIC
	pkt []byte
}

const timerDelay = 20 * time.Millisecond

func newEchoNode() *echoNode {
	return &echoNode{rx: make(chan rxNote, 4096), ev: make(chan evNote, 64), buf: make([]byte, 0, 65536)}
}

var _ link.Node = (*echoNode)(nil)

func (e *echoNode) note(n rxNote) {
	select {
	case e.rx <- n:
	default:
	}
}

func (e *echoNode) Receive(now time.Time, nic link.NIC, pkt []byte) {
	if e.udp != nil {
		e.udp(len(pkt))
		return
	}
	reply := append(e.buf[:0], pkt...)
	var (
		proto    uint8
		l4       []byte
		src, dst netip.Addr
	)
	switch pkt[0] >> 4 {
	case 4:
		ip := wire.IPv4(reply)
		proto, l4, src, dst = ip.Protocol(), ip.Payload(), ip.Src(), ip.Dst()
		ip.SetSrc(dst)
		ip.SetDst(src)
		ip.SetTTL(64)
		ip.SetChecksum()
	case 6:
		ip := wire.IPv6(reply)
		u, err := ip.UpperLayer()
		if err != nil {
			return
		}
		proto, l4, src, dst = u.Protocol, u.Payload, ip.Src(), ip.Dst()
		ip.SetSrc(dst)
		ip.SetDst(src)
		ip.SetHopLimit(64)
	default:
		return
	}
	note := rxNote{NIC: nic.Name(), Proto: proto, Dst: dst}
	// After the swap the reply goes from dst back to src.
	switch {
	case proto == protoICMP && len(l4) >= 8 && l4[0] == icmpEchoRequest:
		l4[0] = icmpEchoReply
		l4[2], l4[3] = 0, 0
		binary.BigEndian.PutUint16(l4[2:], wire.ChecksumFold(wire.ChecksumAdd(0, l4)))
		note.Payload = string(l4[8:])
	case proto == protoICMPv6 && len(l4) >= 8 && l4[0] == icmpv6EchoRequest:
		l4[0] = icmpv6EchoReply
		l4[2], l4[3] = 0, 0
		binary.BigEndian.PutUint16(l4[2:], wire.ChecksumFold(wire.ChecksumAdd(wire.PseudoHeaderSum(protoICMPv6, dst, src, len(l4)), l4)))
		note.Payload = string(l4[8:])
	case proto == wire.IPProtocolUDP && len(l4) >= 8:
		sp, dp := binary.BigEndian.Uint16(l4[0:]), binary.BigEndian.Uint16(l4[2:])
		binary.BigEndian.PutUint16(l4[0:], dp)
		binary.BigEndian.PutUint16(l4[2:], sp)
		l4[6], l4[7] = 0, 0
		sum := wire.ChecksumFold(wire.ChecksumAdd(wire.PseudoHeaderSum(wire.IPProtocolUDP, dst, src, len(l4)), l4))
		if sum == 0 {
			sum = 0xffff // RFC 768: a computed zero is sent as all ones
		}
		binary.BigEndian.PutUint16(l4[6:], sum)
		payload := l4[8:]
		note.Payload = string(payload)
		if bytes.HasPrefix(payload, []byte("timer:")) {
			e.later = append(e.later, heldReply{at: now.Add(timerDelay), nic: nic, pkt: bytes.Clone(reply)})
			e.note(note)
			return
		}
		if rest, ok := bytes.CutPrefix(payload, []byte("burst:")); ok {
			if count, _, ok := bytes.Cut(rest, []byte(":")); ok {
				k, _ := strconv.Atoi(string(count))
				for range k - 1 {
					if err := nic.Send(reply); err != nil {
						note.SendErr = err
					}
				}
			}
		}
	default:
		e.note(note)
		return
	}
	if err := nic.Send(reply); err != nil && note.SendErr == nil {
		note.SendErr = err
	}
	e.note(note)
}

func (e *echoNode) Timer(now time.Time) {
	keep := e.later[:0]
	for _, h := range e.later {
		if h.at.After(now) {
			keep = append(keep, h)
			continue
		}
		_ = h.nic.Send(h.pkt)
	}
	e.later = keep
}

func (e *echoNode) LinkEvent(now time.Time, nic link.NIC, ev link.Event) {
	select {
	case e.ev <- evNote{NIC: nic.Name(), Kind: ev.Kind, Addr: ev.Addr, Up: nic.Up()}:
	default:
	}
}

func (e *echoNode) Deadline() time.Time {
	var d time.Time
	for _, h := range e.later {
		if d.IsZero() || h.at.Before(d) {
			d = h.at
		}
	}
	return d
}
