package stack_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// segNIC is a simulated interface with segmentation offload: it cuts the
// super-packets of SendGSO in software, as Linux does for a device
// without TSO, after checking what SendGSO promises. It records every
// packet it puts on the link, normalised (PSH cleared, checksums filled),
// with the time it was sent, and checks that each super-packet's segment
// size is one its connection has sent in a packet of its own before.
type segNIC struct {
	*sim.Interface
	tb      testing.TB
	net     *sim.Network
	max     int
	packets int // super-packets
	segs    int // segments in them
	mostSeg int // segments in the largest
	wire    []string
	cutting bool               // SendGSO is sending the segments of a super-packet
	solo    map[string]int     // by 4-tuple: the largest payload sent alone
	gsoFrom map[netip.Addr]int // super-packets by source address
}

// flowOf returns the 4-tuple and the TCP payload length of an IP packet.
func flowOf(p []byte) (string, int) {
	iphl := wire.IPv4MinHeaderLen
	var src, dst netip.Addr
	if p[0]>>4 == 6 {
		iphl = wire.IPv6HeaderLen
		src, dst = wire.IPv6(p).Src(), wire.IPv6(p).Dst()
	} else {
		src, dst = wire.IPv4(p).Src(), wire.IPv4(p).Dst()
	}
	t := wire.TCP(p[iphl:])
	return fmt.Sprintf("%v>%v", netip.AddrPortFrom(src, t.SrcPort()), netip.AddrPortFrom(dst, t.DstPort())), len(p) - iphl - t.HeaderLen()
}

func (n *segNIC) GSOMax() int { return n.max }

func (n *segNIC) record(pkt []byte) {
	p := append([]byte(nil), pkt...)
	iphl := wire.IPv4MinHeaderLen
	if p[0]>>4 == 6 {
		iphl = wire.IPv6HeaderLen
	}
	p[iphl+13] &^= byte(wire.TCPFlags(tcp.FlagPSH))
	if err := wire.FillChecksums(p); err != nil {
		n.tb.Fatalf("recording a packet: %v", err)
	}
	n.wire = append(n.wire, fmt.Sprintf("%v %x", n.net.Now().Sub(time.Time{}), p))
	if k, size := flowOf(p); !n.cutting && size > n.solo[k] {
		if n.solo == nil {
			n.solo = map[string]int{}
		}
		n.solo[k] = size
	}
}

func (n *segNIC) Send(pkt []byte) error {
	n.record(pkt)
	return n.Interface.Send(pkt)
}

func (n *segNIC) SendOffload(pkt []byte) error {
	n.record(pkt)
	return n.Interface.SendOffload(pkt)
}

func (n *segNIC) SendGSO(pkt []byte, mss int) error {
	v6 := pkt[0]>>4 == 6
	iphl := wire.IPv4MinHeaderLen
	var src, dst netip.Addr
	if v6 {
		iphl = wire.IPv6HeaderLen
		src, dst = wire.IPv6(pkt).Src(), wire.IPv6(pkt).Dst()
		if int(binary.BigEndian.Uint16(pkt[4:6])) != len(pkt)-iphl {
			n.tb.Fatalf("IPv6 payload length %d, want %d", binary.BigEndian.Uint16(pkt[4:6]), len(pkt)-iphl)
		}
	} else {
		ip := wire.IPv4(pkt)
		if err := ip.Check(); err != nil {
			n.tb.Fatalf("IPv4 header of a super-packet: %v", err)
		}
		if ip.TotalLen() != len(pkt) || wire.ChecksumFold(wire.ChecksumAdd(0, pkt[:iphl])) != 0 {
			n.tb.Fatalf("IPv4 total length %d of %d bytes, or header checksum wrong", ip.TotalLen(), len(pkt))
		}
		src, dst = ip.Src(), ip.Dst()
	}
	t := wire.TCP(pkt[iphl:])
	hl := iphl + t.HeaderLen()
	want := ^wire.ChecksumFold(wire.PseudoHeaderSum(wire.IPProtocolTCP, src, dst, len(pkt)-iphl))
	if t.Checksum() != want {
		n.tb.Fatalf("TCP checksum field %#04x, want the pseudo-header sum %#04x", t.Checksum(), want)
	}
	if mss <= 0 || len(pkt)-hl <= mss || len(pkt) > n.max || hl+mss > n.MTU() {
		n.tb.Fatalf("super-packet of %d bytes, %d of headers, mss %d, GSOMax %d", len(pkt), hl, mss, n.max)
	}
	if flow, _ := flowOf(pkt); n.solo[flow] < mss {
		n.tb.Errorf("a super-packet of %v with segments of %d bytes; the largest sent alone before: %d", flow, mss, n.solo[flow])
	}
	n.cutting = true
	defer func() { n.cutting = false }()
	k := 0
	for off := hl; off < len(pkt); off += mss {
		end := min(off+mss, len(pkt))
		seg := append(append([]byte(nil), pkt[:hl]...), pkt[off:end]...)
		st := wire.TCP(seg[iphl:])
		st.SetSeq(t.Seq() + uint32(off-hl))
		if end < len(pkt) {
			st.SetFlags(t.Flags() &^ wire.TCPFlags(tcp.FlagPSH))
		}
		if v6 {
			binary.BigEndian.PutUint16(seg[4:6], uint16(len(seg)-iphl))
		} else {
			binary.BigEndian.PutUint16(seg[2:4], uint16(len(seg)))
			binary.BigEndian.PutUint16(seg[4:6], wire.IPv4(pkt).ID()+uint16(k))
		}
		if err := wire.FillChecksums(seg); err != nil {
			n.tb.Fatal(err)
		}
		if err := n.Send(seg); err != nil {
			return err
		}
		k++
	}
	n.packets++
	if n.gsoFrom == nil {
		n.gsoFrom = map[netip.Addr]int{}
	}
	n.gsoFrom[src]++
	n.segs += k
	n.mostSeg = max(n.mostSeg, k)
	return nil
}

var _ stack.SegmentOffloader = (*segNIC)(nil)

// gsoRun moves size bytes from a to b over a 200 Mbit/s, 2 ms path with
// a's interface a segNIC that takes super-packets up to max bytes (0:
// none), and returns it.
func gsoRun(t *testing.T, v6 bool, max, size int) *segNIC {
	t.Helper()
	n := sim.New(sim.Config{Seed: 1})
	a, b := addNode(t, n, "a", 1, tcp.Config{}), addNode(t, n, "b", 2, tcp.Config{})
	ap, bp := pfx("10.0.0.1/24"), pfx("10.0.0.2/24")
	if v6 {
		ap, bp = pfx("2001:db8::1/64"), pfx("2001:db8::2/64")
	}
	nic := &segNIC{Interface: a.host.AddInterface("eth0", ap), tb: t, net: n, max: max}
	if err := a.st.AddNIC(nic); err != nil {
		t.Fatal(err)
	}
	ib := b.addNIC(t, "eth0", bp)
	connect(t, n, nic.Interface, ib, sim.Symmetric(impair.Config{Rate: 200_000_000, Delay: time.Millisecond, QueuePackets: 200}))
	src := randBytes(size, 3)
	cp, sp := &peer{src: src}, &peer{}
	l, err := b.st.Listen(netip.AddrPortFrom(bp.Addr(), 80), &stack.ListenOptions{OnEvent: sp.handler()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(n.Now())
	at(n, func(now time.Time) {
		if _, err := a.st.Dial(now, netip.AddrPortFrom(bp.Addr(), 80), &stack.DialOptions{OnEvent: cp.handler()}); err != nil {
			t.Error(err)
		}
	})
	n.RunFor(5 * time.Second)
	if !bytes.Equal(sp.got.Bytes(), src) || !sp.eof {
		t.Fatalf("b received %d of %d bytes (eof %v), or other bytes", sp.got.Len(), size, sp.eof)
	}
	return nic
}

// TestSegmentOffloader checks the super-packets the Stack hands a
// SegmentOffloader: consecutive segments of a burst, headers and options
// equal, the checksum field the pseudo-header sum, and, cut up again as
// the contract says, exactly the segments the Stack sends without the
// offload, at the same times (but for PSH, which goes on the last segment
// of a super-packet only).
func TestSegmentOffloader(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v6=%v", v6), func(t *testing.T) {
			const size = 3 << 20
			plain := gsoRun(t, v6, 0, size)
			gso := gsoRun(t, v6, 65535, size)
			if plain.packets != 0 {
				t.Fatalf("%d super-packets without the offload", plain.packets)
			}
			if gso.packets == 0 || gso.mostSeg < 8 {
				t.Fatalf("%d super-packets, the largest of %d segments; want some of 8 or more", gso.packets, gso.mostSeg)
			}
			if len(gso.wire) != len(plain.wire) {
				t.Fatalf("%d packets on the wire with the offload, %d without", len(gso.wire), len(plain.wire))
			}
			for i := range gso.wire {
				if gso.wire[i] != plain.wire[i] {
					t.Fatalf("packet %d differs:\nwith the offload    %.200s\nwithout the offload %.200s", i, gso.wire[i], plain.wire[i])
				}
			}
			t.Logf("%d packets on the wire; %d super-packets carried %d segments (at most %d in one)",
				len(gso.wire), gso.packets, gso.segs, gso.mostSeg)
		})
	}
}

// TestSegmentOffloaderLimit: a NIC whose GSOMax holds 3 segments gets no
// larger super-packets.
func TestSegmentOffloaderLimit(t *testing.T) {
	nic := gsoRun(t, false, 3*1500, 1<<20)
	if nic.packets == 0 || nic.mostSeg > 3 {
		t.Fatalf("%d super-packets, the largest of %d segments; want some, of 3 at most", nic.packets, nic.mostSeg)
	}
}

// TestBatcher: between StartBatch and EndBatch the Stack sends nothing;
// EndBatch sends what the packets called for.
func TestBatcher(t *testing.T) {
	src, dst := pfx("10.0.0.2/24"), ap("10.0.0.1:80")
	syn := synFrom(t, src, dst)
	st, nic := fakeHost(t, 5, pfx("10.0.0.1/24"))
	if _, err := st.Listen(dst, nil); err != nil {
		t.Fatal(err)
	}
	st.StartBatch()
	st.Receive(t0, nic, syn)
	if n := len(nic.sent); n != 0 {
		t.Fatalf("%d packets sent inside a batch", n)
	}
	st.EndBatch(t0)
	out := nic.take()
	if len(out) != 1 || tcpOf(out[0]).Flags() != wire.TCPFlags(tcp.FlagSYN|tcp.FlagACK) {
		t.Fatalf("after the batch: %d packets, want a SYN-ACK", len(out))
	}
}
