package sim_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/sim"
)

// rawNode records the packets it receives, bytes and all.
type rawNode struct{ got [][]byte }

func (n *rawNode) Receive(_ time.Time, _ link.NIC, pkt []byte) {
	n.got = append(n.got, append([]byte(nil), pkt...))
}
func (n *rawNode) Timer(time.Time)                           {}
func (n *rawNode) LinkEvent(time.Time, link.NIC, link.Event) {}
func (n *rawNode) Deadline() time.Time                       { return time.Time{} }

// offloadPair is two hosts with rawNodes joined by one link.
func offloadPair(t *testing.T, cfg sim.LinkConfig) (*sim.Network, *sim.Interface, *sim.Host, *rawNode, *sim.Link) {
	t.Helper()
	n := sim.New(sim.Config{Seed: 3})
	rn := &rawNode{}
	h1, h2 := n.AddHost("h1", &rawNode{}), n.AddHost("h2", rn)
	i1 := h1.AddInterface("eth0", addr1)
	i2 := h2.AddInterface("eth0", addr2, netip.MustParsePrefix("2001:db8::2/64"))
	l := mustConnect(t, n, i1, i2, cfg)
	return n, i1, h2, rn, l
}

var (
	a6 = netip.MustParseAddrPort("[2001:db8::1]:1")
	b6 = netip.MustParseAddrPort("[2001:db8::2]:2")
)

func tcpPacket(src, dst netip.AddrPort, payload string) []byte {
	return pkttest.TCP(pkttest.TCPSpec{Src: src, Dst: dst, Seq: 7, ACK: true, PSH: true, Payload: []byte(payload)})
}

// spoil returns a copy of p with the bytes at the offsets flipped.
func spoil(p []byte, offs ...int) []byte {
	q := append([]byte(nil), p...)
	for _, o := range offs {
		q[o] ^= 0xff
	}
	return q
}

// TestSendOffload checks transmit checksum offload: the interface fills
// the TCP checksum of what it can, the far host receives exactly the
// packet with the right checksum, and whatever the simulator did not
// checksum itself, or may have changed on the way, is still verified.
func TestSendOffload(t *testing.T) {
	good4 := tcpPacket(ap1, ap2, "offloaded")
	good6 := tcpPacket(a6, b6, "offloaded six")
	tests := []struct {
		name    string
		cfg     sim.LinkConfig
		egress  link.Middleware
		send    func(i *sim.Interface) error
		want    [][]byte // received, in order
		dropped uint64   // DroppedChecksum at the far host
	}{
		{name: "tcp4 checksum filled",
			send: func(i *sim.Interface) error { return i.SendOffload(spoil(good4, 36, 37)) },
			want: [][]byte{good4}},
		{name: "tcp6 checksum filled",
			send: func(i *sim.Interface) error { return i.SendOffload(spoil(good6, 56, 57)) },
			want: [][]byte{good6}},
		{name: "udp is not filled, and verified",
			send:    func(i *sim.Interface) error { return i.SendOffload(spoil(pkttest.UDP(ap1, ap2, []byte("u")), 26)) },
			dropped: 1},
		{name: "bad IPv4 header checksum is not filled, and verified",
			send:    func(i *sim.Interface) error { return i.SendOffload(spoil(good4, 10, 36)) },
			dropped: 1},
		{name: "a plain Send with a bad checksum among offloaded ones",
			send: func(i *sim.Interface) error {
				if err := i.SendOffload(spoil(good4, 36)); err != nil {
					return err
				}
				if err := i.Send(spoil(good4, len(good4)-1)); err != nil {
					return err
				}
				return i.SendOffload(spoil(good6, 56))
			},
			want: [][]byte{good4, good6}, dropped: 1},
		{name: "middleware changes a byte",
			egress: link.Func(func(_ time.Time, pkt []byte, out link.Emitter) {
				pkt[len(pkt)-1] ^= 1
				out.Emit(pkt)
			}),
			send:    func(i *sim.Interface) error { return i.SendOffload(good4) },
			dropped: 1},
		{name: "middleware passes packets unchanged",
			egress: link.Func(func(_ time.Time, pkt []byte, out link.Emitter) { out.Emit(pkt) }),
			send:   func(i *sim.Interface) error { return i.SendOffload(spoil(good4, 37)) },
			want:   [][]byte{good4}},
		{name: "corrupting link",
			cfg: sim.LinkConfig{AB: impair.Config{Corrupt: 1}},
			send: func(i *sim.Interface) error {
				for range 20 {
					if err := i.SendOffload(good4); err != nil {
						return err
					}
				}
				return nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, i1, h2, rn, l := offloadPair(t, tc.cfg)
			if tc.egress != nil {
				l.AB().AddEgress(tc.egress)
			}
			n.At(t0, func(time.Time) {
				if err := tc.send(i1); err != nil {
					t.Error(err)
				}
			})
			n.Run()
			if len(rn.got) != len(tc.want) {
				t.Fatalf("received %d packets, want %d (stats %+v)", len(rn.got), len(tc.want), h2.Stats())
			}
			for k := range tc.want {
				if !bytes.Equal(rn.got[k], tc.want[k]) {
					t.Errorf("packet %d:\n got %x\nwant %x", k, rn.got[k], tc.want[k])
				}
				if ok, err := pkttest.ChecksumsOK(rn.got[k]); !ok || err != nil {
					t.Errorf("packet %d: checksums %v %v", k, ok, err)
				}
			}
			if st := h2.Stats(); st.DroppedChecksum != tc.dropped && tc.cfg.AB.Corrupt == 0 {
				t.Errorf("DroppedChecksum %d, want %d", st.DroppedChecksum, tc.dropped)
			}
		})
	}
}

// TestSendOffloadDown checks that an offloaded packet on a down link is
// refused like any other.
func TestSendOffloadDown(t *testing.T) {
	_, i1, _, _, l := offloadPair(t, sim.LinkConfig{})
	l.SetUp(false)
	if err := i1.SendOffload(tcpPacket(ap1, ap2, "x")); err != link.ErrDown {
		t.Fatalf("SendOffload on a down link: %v", err)
	}
	if st := l.AB().Stats(); st.DroppedDown != 1 {
		t.Fatalf("AB stats %+v", st)
	}
}

// TestChecksumsVerifiedFlag checks what interfaces report to Nodes.
func TestChecksumsVerifiedFlag(t *testing.T) {
	n := sim.New(sim.Config{})
	h := n.AddHost("h", nil).AddInterface("eth0", addr1)
	r := n.AddRouter("r").AddInterface("a", addr2)
	if !h.ChecksumsVerified() || r.ChecksumsVerified() {
		t.Fatalf("host interface %v, router interface %v; want true, false", h.ChecksumsVerified(), r.ChecksumsVerified())
	}
}

// TestNextEventTime checks the time of the next event against what runs.
func TestNextEventTime(t *testing.T) {
	p := newPair(t, 1, sim.Symmetric(impair.Config{Rate: 10_000_000, Delay: 20 * time.Millisecond}))
	if at, ok := p.net.NextEventTime(); ok || !at.IsZero() {
		t.Fatalf("empty network: next event %v, %v", at, ok)
	}
	// Work given to a Node before any run counts.
	p.n1.sendAt(t0.Add(7*time.Millisecond), p.i1, ap1, ap2, string(make([]byte, 1472)))
	cb := t0.Add(50 * time.Millisecond)
	p.net.At(cb, func(time.Time) {})
	steps := []time.Duration{
		7 * time.Millisecond,     // the Node's timer: it sends a 1500-byte packet
		8200 * time.Microsecond,  // the packet leaves the queue: 1.2 ms at 10 Mbit/s
		28200 * time.Microsecond, // it arrives, 20 ms later
		50 * time.Millisecond,    // the callback
	}
	for _, want := range steps {
		at, ok := p.net.NextEventTime()
		if !ok || at.Sub(t0) != want {
			t.Fatalf("next event at %v, %v; want %v", at.Sub(t0), ok, want)
		}
		p.net.RunUntil(at)
	}
	if len(p.n2.got) != 1 || p.n2.got[0].At != 28200*time.Microsecond {
		t.Fatalf("received %+v", p.n2.got)
	}
	if at, ok := p.net.NextEventTime(); ok {
		t.Fatalf("next event at %v after the last", at.Sub(t0))
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("NextEventTime inside the simulation did not panic")
			}
		}()
		p.net.AfterFunc(0, func() { p.net.NextEventTime() })
		p.net.Run()
	}()
}
