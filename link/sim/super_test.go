package sim_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/wire"
)

// superNode records what it receives, super-packets with their segment
// size and ordinary packets with 0, and when.
type superNode struct {
	net  *sim.Network
	got  [][]byte
	gso  []int
	when []time.Duration
}

func (n *superNode) add(pkt []byte, gso int) {
	n.got = append(n.got, append([]byte(nil), pkt...))
	n.gso = append(n.gso, gso)
	n.when = append(n.when, n.net.Since())
}
func (n *superNode) Receive(_ time.Time, _ link.NIC, pkt []byte) { n.add(pkt, 0) }
func (n *superNode) ReceiveSuper(_ time.Time, _ link.NIC, pkt []byte, gso int) {
	n.add(pkt, gso)
}
func (n *superNode) Timer(time.Time)                           {}
func (n *superNode) LinkEvent(time.Time, link.NIC, link.Event) {}
func (n *superNode) Deadline() time.Time                       { return time.Time{} }

var _ sim.SuperReceiver = (*superNode)(nil)

// payload returns n bytes that differ from one position to the next.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// superPacket is a TCP packet from src to dst with a 350-byte payload
// (three segments of 100 bytes and one of 50 at gso 100), PSH set.
func superPacket(src, dst netip.AddrPort) []byte {
	return pkttest.TCP(pkttest.TCPSpec{Src: src, Dst: dst, Seq: 1000, Ack: 5, ACK: true, PSH: true, Payload: payload(350)})
}

// superNet is two hosts, joined directly or through a router, with
// offload; the receiver is a superNode, or, with raw, a rawNode.
type superNet struct {
	net    *sim.Network
	i1     *sim.Interface
	h1, h2 *sim.Host
	to     *superNode
	raw    *rawNode
	ab     *sim.Dir // the last link direction towards h2
}

func newSuperNet(t *testing.T, offload, routed, raw bool, cfg impair.Config) *superNet {
	t.Helper()
	n := sim.New(sim.Config{Seed: 5, Offload: offload})
	s := &superNet{net: n, to: &superNode{net: n}, raw: &rawNode{}}
	var node link.Node = s.to
	if raw {
		node = s.raw
	}
	s.h1, s.h2 = n.AddHost("h1", &rawNode{}), n.AddHost("h2", node)
	s.i1 = s.h1.AddInterface("eth0", addr1)
	if !routed {
		i2 := s.h2.AddInterface("eth0", addr2, netip.MustParsePrefix("2001:db8::2/64"))
		s.ab = mustConnect(t, n, s.i1, i2, sim.Symmetric(cfg)).AB()
		return s
	}
	r := n.AddRouter("r")
	ra := r.AddInterface("a", netip.MustParsePrefix("10.0.0.254/24"))
	rb := r.AddInterface("b", netip.MustParsePrefix("10.9.0.254/24"))
	mustConnect(t, n, s.i1, ra, sim.Symmetric(cfg))
	i2 := s.h2.AddInterface("eth0", netip.MustParsePrefix("10.9.0.2/24"))
	s.ab = mustConnect(t, n, rb, i2, sim.Symmetric(cfg)).AB()
	return s
}

// segmentsOf checks that pkts are the first segments of sp at gso 100 (it
// has 4), each a valid packet, and returns their concatenated payload.
func segmentsOf(t *testing.T, sp []byte, pkts [][]byte) []byte {
	t.Helper()
	st := wire.TCP(wire.IPv4(sp).Payload())
	var all []byte
	for k, p := range pkts {
		ip := wire.IPv4(p)
		if ip.Check() != nil || !ip.ChecksumValid() || ip.TotalLen() != len(p) {
			t.Fatalf("segment %d: bad IPv4 header", k)
		}
		if ip.ID() != wire.IPv4(sp).ID()+uint16(k) {
			t.Errorf("segment %d: IPv4 ID %d, want %d", k, ip.ID(), wire.IPv4(sp).ID()+uint16(k))
		}
		seg := wire.TCP(ip.Payload())
		if !wire.TCPChecksumValid(ip.Src(), ip.Dst(), seg) {
			t.Errorf("segment %d: TCP checksum does not verify", k)
		}
		if seg.Seq() != st.Seq()+uint32(100*k) || seg.Ack() != st.Ack() {
			t.Errorf("segment %d: seq %d ack %d", k, seg.Seq(), seg.Ack())
		}
		wantFlags := wire.FlagACK
		if k == 3 {
			wantFlags |= wire.FlagPSH
		}
		if seg.Flags() != wantFlags {
			t.Errorf("segment %d: flags %v, want %v", k, seg.Flags(), wantFlags)
		}
		if n := len(seg.Payload()); n != 100 && !(k == 3 && n == 50) {
			t.Errorf("segment %d: %d bytes of payload", k, n)
		}
		all = append(all, seg.Payload()...)
	}
	return all
}

// TestSuperWhole checks a super-packet crossing a link whole: the Node gets
// it as it was sent, at the time its last segment would arrive, and the
// counters count its segments.
func TestSuperWhole(t *testing.T) {
	s := newSuperNet(t, true, false, false, impair.Config{Rate: 8_000_000, Delay: time.Millisecond, QueuePackets: 10})
	if got := s.i1.GSOMax(); got != 65535 {
		t.Fatalf("GSOMax = %d, want 65535", got)
	}
	sp := superPacket(ap1, ap2)
	if err := s.i1.SendGSO(sp, 100); err != nil {
		t.Fatal(err)
	}
	s.net.Run()
	if len(s.to.got) != 1 || s.to.gso[0] != 100 {
		t.Fatalf("received %d packets, gso %v; want the super-packet, gso 100", len(s.to.got), s.to.gso)
	}
	if diff := cmp.Diff(sp, s.to.got[0]); diff != "" {
		t.Errorf("super-packet changed on the way (-sent +received):\n%s", diff)
	}
	// Four segments of 40 bytes of headers: 510 bytes at 8 Mbit/s.
	if want := 510*time.Microsecond + time.Millisecond; s.to.when[0] != want {
		t.Errorf("arrived at %v, want %v", s.to.when[0], want)
	}
	if st := s.ab.Stats(); st.Packets != 4 || st.Bytes != 510 || st.DeliveredPackets != 4 || st.DeliveredBytes != 510 {
		t.Errorf("link stats %+v; want 4 packets, 510 bytes, offered and delivered", st)
	}
	if st := s.h1.Stats(); st.Sent != 4 {
		t.Errorf("sender stats %+v; want 4 sent", st)
	}
	if st := s.h2.Stats(); st.Received != 4 {
		t.Errorf("receiver stats %+v; want 4 received", st)
	}
}

// TestSuperRouted checks that a router forwards a super-packet whole,
// decrementing its TTL.
func TestSuperRouted(t *testing.T) {
	s := newSuperNet(t, true, true, false, impair.Config{Rate: 8_000_000})
	dst := netip.MustParseAddrPort("10.9.0.2:80")
	sp := superPacket(ap1, dst)
	if err := s.i1.SendGSO(sp, 100); err != nil {
		t.Fatal(err)
	}
	s.net.Run()
	if len(s.to.got) != 1 || s.to.gso[0] != 100 {
		t.Fatalf("received %d packets, gso %v; want the super-packet", len(s.to.got), s.to.gso)
	}
	got := wire.IPv4(s.to.got[0])
	if got.TTL() != wire.IPv4(sp).TTL()-1 || !got.ChecksumValid() {
		t.Errorf("TTL %d (sent %d), header checksum valid %v", got.TTL(), wire.IPv4(sp).TTL(), got.ChecksumValid())
	}
	if !bytes.Equal(got.Payload(), wire.IPv4(sp).Payload()) {
		t.Error("TCP segment changed on the way")
	}
	// Twice 510 bytes at 8 Mbit/s: the router forwards it whole.
	if want := 1020 * time.Microsecond; s.to.when[0] != want {
		t.Errorf("arrived at %v, want %v", s.to.when[0], want)
	}
}

// TestSuperSegmented checks the cases where a super-packet goes as its
// segments: a Node that takes none whole, a link with a random process, a
// full queue, and an interface without offload.
func TestSuperSegmented(t *testing.T) {
	sp := superPacket(ap1, ap2)
	t.Run("node", func(t *testing.T) {
		s := newSuperNet(t, true, false, true, impair.Config{Rate: 8_000_000})
		if err := s.i1.SendGSO(sp, 100); err != nil {
			t.Fatal(err)
		}
		s.net.Run()
		if len(s.raw.got) != 4 {
			t.Fatalf("received %d packets, want 4 segments", len(s.raw.got))
		}
		if got := segmentsOf(t, sp, s.raw.got); !bytes.Equal(got, payload(350)) {
			t.Error("payload of the segments differs from the super-packet's")
		}
	})
	t.Run("loss", func(t *testing.T) {
		s := newSuperNet(t, true, false, false, impair.Config{Rate: 8_000_000, Loss: 1e-12})
		if err := s.i1.SendGSO(sp, 100); err != nil {
			t.Fatal(err)
		}
		s.net.Run()
		if len(s.to.got) != 4 || s.to.gso[0] != 0 {
			t.Fatalf("received %d packets, gso %v; want 4 segments", len(s.to.got), s.to.gso)
		}
		segmentsOf(t, sp, s.to.got)
		// Each arrives when its own transmission ends.
		want := []time.Duration{140 * time.Microsecond, 280 * time.Microsecond, 420 * time.Microsecond, 510 * time.Microsecond}
		if diff := cmp.Diff(want, s.to.when); diff != "" {
			t.Errorf("arrivals (-want +got):\n%s", diff)
		}
	})
	t.Run("queue", func(t *testing.T) {
		s := newSuperNet(t, true, false, false, impair.Config{Rate: 8_000_000, QueuePackets: 3})
		if err := s.i1.SendGSO(sp, 100); err != nil {
			t.Fatal(err)
		}
		s.net.Run()
		if len(s.to.got) != 3 {
			t.Fatalf("received %d packets, want the 3 segments the queue held", len(s.to.got))
		}
		segmentsOf(t, sp, s.to.got)
		if st := s.ab.Stats(); st.DroppedQueue != 1 {
			t.Errorf("link stats %+v; want 1 dropped by the queue", st)
		}
	})
	t.Run("off", func(t *testing.T) {
		s := newSuperNet(t, false, false, false, impair.Config{Rate: 8_000_000})
		if got := s.i1.GSOMax(); got != 0 {
			t.Fatalf("GSOMax without offload = %d, want 0", got)
		}
	})
	t.Run("middleware", func(t *testing.T) {
		s := newSuperNet(t, true, false, false, impair.Config{Rate: 8_000_000})
		s.ab.AddEgress(link.Func(func(_ time.Time, p []byte, out link.Emitter) { out.Emit(p) }))
		if got := s.i1.GSOMax(); got != 0 {
			t.Fatalf("GSOMax with middleware = %d, want 0", got)
		}
	})
	t.Run("down", func(t *testing.T) {
		s := newSuperNet(t, true, false, false, impair.Config{Rate: 8_000_000})
		s.ab.Link().SetUp(false)
		if err := s.i1.SendGSO(sp, 100); err != link.ErrDown {
			t.Fatalf("SendGSO on a down link: %v, want link.ErrDown", err)
		}
		if st := s.ab.Stats(); st.DroppedDown != 4 {
			t.Errorf("link stats %+v; want 4 dropped while down", st)
		}
	})
}

// TestSuperIPv6 checks the segments of an IPv6 super-packet.
func TestSuperIPv6(t *testing.T) {
	s := newSuperNet(t, true, false, true, impair.Config{Rate: 8_000_000})
	s.i1.AddAddr(netip.MustParsePrefix("2001:db8::1/64"))
	sp := superPacket(a6, b6)
	if err := s.i1.SendGSO(sp, 100); err != nil {
		t.Fatal(err)
	}
	s.net.Run()
	if len(s.raw.got) != 4 {
		t.Fatalf("received %d packets, want 4", len(s.raw.got))
	}
	var all []byte
	for k, p := range s.raw.got {
		ip := wire.IPv6(p)
		if ip.Check() != nil || wire.IPv6HeaderLen+ip.PayloadLen() != len(p) {
			t.Fatalf("segment %d: bad IPv6 header", k)
		}
		seg := wire.TCP(ip.Payload())
		if !wire.TCPChecksumValid(ip.Src(), ip.Dst(), seg) || seg.Seq() != 1000+uint32(100*k) {
			t.Errorf("segment %d: checksum valid %v, seq %d", k, wire.TCPChecksumValid(ip.Src(), ip.Dst(), seg), seg.Seq())
		}
		all = append(all, seg.Payload()...)
	}
	if !bytes.Equal(all, payload(350)) {
		t.Error("payload of the segments differs from the super-packet's")
	}
}

// TestSendGSOOdd checks SendGSO with what is not a super-packet (no
// panic, the packet goes as it is) and on a router's interface, which
// offers no offload but sends one if asked.
func TestSendGSOOdd(t *testing.T) {
	s := newSuperNet(t, true, false, false, impair.Config{Rate: 8_000_000})
	for _, tc := range []struct {
		name string
		pkt  []byte
		mss  int
	}{
		{"empty", nil, 100},
		{"garbage", []byte{0x45, 1, 2, 3}, 100},
		{"mss 0", superPacket(ap1, ap2), 0},
		{"no payload", pkttest.TCP(pkttest.TCPSpec{Src: ap1, Dst: ap2, ACK: true}), 100},
		{"udp", pkttest.UDP(ap1, ap2, []byte("hello")), 100},
	} {
		if err := s.i1.SendGSO(tc.pkt, tc.mss); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	s.net.Run()
	for k, g := range s.to.gso {
		if g != 0 {
			t.Errorf("packet %d delivered as a super-packet", k)
		}
	}
	n := sim.New(sim.Config{Offload: true})
	r := n.AddRouter("r")
	ra := r.AddInterface("a", addr1)
	sn := &superNode{net: n}
	h := n.AddHost("h", sn)
	mustConnect(t, n, ra, h.AddInterface("eth0", addr2), sim.Symmetric(impair.Config{}))
	if ra.GSOMax() != 0 {
		t.Errorf("a router's interface offers offload")
	}
	if err := ra.SendGSO(superPacket(ap1, ap2), 100); err != nil {
		t.Fatal(err)
	}
	n.Run()
	if got := h.Stats().Received; got != 4 || len(sn.gso) != 1 || sn.gso[0] != 100 {
		t.Errorf("host received %d segments in %v; want 4 in one super-packet", got, sn.gso)
	}
}
