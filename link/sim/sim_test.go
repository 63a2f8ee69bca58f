package sim_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/pcap"
	"github.com/gomptcp/mptcp/link/sim"
)

var (
	addr1 = netip.MustParsePrefix("10.0.0.1/24")
	addr2 = netip.MustParsePrefix("10.0.0.2/24")
	ap1   = netip.AddrPortFrom(addr1.Addr(), 40001)
	ap2   = netip.AddrPortFrom(addr2.Addr(), 40002)
)

// netipCmp compares netip values, whose fields are unexported.
var netipCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

// pair is two hosts joined by one link.
type pair struct {
	net    *sim.Network
	n1, n2 *testNode
	h1, h2 *sim.Host
	i1, i2 *sim.Interface
	link   *sim.Link
}

func newPair(t testing.TB, seed uint64, cfg sim.LinkConfig) *pair {
	t.Helper()
	p := &pair{net: sim.New(sim.Config{Seed: seed}), n1: &testNode{}, n2: &testNode{}}
	p.h1 = p.net.AddHost("h1", p.n1)
	p.h2 = p.net.AddHost("h2", p.n2)
	p.i1 = p.h1.AddInterface("eth0", addr1)
	p.i2 = p.h2.AddInterface("eth0", addr2)
	var err error
	if p.link, err = p.net.Connect(p.i1, p.i2, cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

// sendBurst schedules n datagrams of the given IP size from h1 to h2 at t.
func (p *pair) sendBurst(at time.Time, n, size int) {
	for i := range n {
		payload := fmt.Sprintf("%06d", i)
		payload += string(make([]byte, size-28-len(payload))) // 20 IPv4 + 8 UDP
		p.n1.sendAt(at, p.i1, ap1, ap2, payload)
	}
}

func TestSerializationAndPropagation(t *testing.T) {
	p := newPair(t, 1, sim.Symmetric(impair.Config{Rate: 10_000_000, Delay: 20 * time.Millisecond}))
	p.sendBurst(t0, 2, 1500)
	p.net.Run()
	if len(p.n2.got) != 2 {
		t.Fatalf("received %d packets, want 2", len(p.n2.got))
	}
	if p.n2.got[0].At != ms(21.2) || p.n2.got[1].At != ms(22.4) {
		t.Fatalf("arrivals at %v and %v, want exactly 21.2ms and 22.4ms", p.n2.got[0].At, p.n2.got[1].At)
	}
	if got := p.net.Since(); got != ms(22.4) {
		t.Fatalf("simulation ended at %v, want 22.4ms", got)
	}
	st := p.link.AB().Stats()
	if st.Packets != 2 || st.Bytes != 3000 || st.DeliveredPackets != 2 || st.MaxQueuePackets != 2 {
		t.Fatalf("AB stats = %+v", st)
	}
	if hs := p.h2.Stats(); hs.Received != 2 {
		t.Fatalf("h2 stats = %+v", hs)
	}
	if hs := p.h1.Stats(); hs.Sent != 2 || p.n1.timers != 1 {
		t.Fatalf("h1 stats = %+v, %d Timer calls", hs, p.n1.timers)
	}
}

func TestEcho(t *testing.T) {
	p := newPair(t, 1, sim.Symmetric(impair.Config{Delay: 5 * time.Millisecond}))
	p.n2.echo = true
	p.net.At(t0.Add(time.Millisecond), func(now time.Time) {
		// An application action: the node sends "now" from inside the loop.
		if err := p.i1.Send(pkttest.UDP(ap1, ap2, []byte("ping"))); err != nil {
			t.Error(err)
		}
	})
	p.net.Run()
	want := []rx{{At: ms(11), NIC: "eth0", Src: ap2, Dst: ap1, Payload: "re:ping", TTL: 64}}
	if diff := cmp.Diff(want, p.n1.got, netipCmp); diff != "" {
		t.Fatalf("h1 received (-want +got):\n%s", diff)
	}
}

func TestQueueDrops(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    impair.Config
		n      int
		wantRx int
	}{
		{"packets", impair.Config{Rate: 1_000_000, QueuePackets: 5}, 20, 5},
		{"bytes", impair.Config{Rate: 1_000_000, QueueBytes: 4000}, 20, 4},
		{"unlimited", impair.Config{Rate: 1_000_000}, 20, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, 1, sim.Symmetric(tc.cfg))
			p.sendBurst(t0, tc.n, 1000)
			p.net.Run()
			if len(p.n2.got) != tc.wantRx {
				t.Fatalf("received %d, want %d", len(p.n2.got), tc.wantRx)
			}
			st := p.link.AB().Stats()
			if int(st.DroppedQueue) != tc.n-tc.wantRx || st.MaxQueuePackets != tc.wantRx {
				t.Fatalf("stats = %+v", st)
			}
			for i, r := range p.n2.got { // the first ones got through, 8ms apart
				if r.Payload[:6] != fmt.Sprintf("%06d", i) || r.At != time.Duration(i+1)*8*time.Millisecond {
					t.Fatalf("packet %d: %q at %v", i, r.Payload[:6], r.At)
				}
			}
		})
	}
}

func TestLossAcrossSeeds(t *testing.T) {
	const n, p = 2000, 0.05
	sd := math.Sqrt(n * p * (1 - p))
	total := 0
	for seed := range uint64(10) {
		pr := newPair(t, seed, sim.Symmetric(impair.Config{Loss: p, Delay: time.Millisecond}))
		pr.sendBurst(t0, n, 100)
		pr.net.Run()
		lost := n - len(pr.n2.got)
		if st := pr.link.AB().Stats(); int(st.DroppedLoss) != lost {
			t.Fatalf("seed %d: DroppedLoss %d, but %d lost", seed, st.DroppedLoss, lost)
		}
		if math.Abs(float64(lost)-n*p) > 5*sd {
			t.Errorf("seed %d: lost %d of %d, want about %v", seed, lost, n, n*p)
		}
		total += lost
	}
	if mean := float64(total) / 10; math.Abs(mean-n*p) > 5*sd/math.Sqrt(10) {
		t.Errorf("mean loss over seeds %v, want about %v", mean, n*p)
	}
}

func TestGilbertElliottBursts(t *testing.T) {
	const n = 20000
	ge := impair.GilbertElliott{P: 0.02, R: 0.2, LossBad: 1}
	p := newPair(t, 3, sim.Symmetric(impair.Config{Burst: ge}))
	p.sendBurst(t0, n, 40)
	p.net.Run()
	got := make([]bool, n)
	for _, r := range p.n2.got {
		var i int
		fmt.Sscanf(r.Payload[:6], "%d", &i)
		got[i] = true
	}
	losses, bursts := 0, 0
	for i := range n {
		if !got[i] {
			losses++
			if i == 0 || got[i-1] {
				bursts++
			}
		}
	}
	mean := float64(losses) / float64(bursts)
	if math.Abs(mean-1/ge.R) > 0.15/ge.R {
		t.Fatalf("mean burst length %.2f, want about %.1f", mean, 1/ge.R)
	}
	if rate, want := float64(losses)/n, ge.P/(ge.P+ge.R); math.Abs(rate-want) > 0.2*want {
		t.Fatalf("loss rate %.3f, want about %.3f", rate, want)
	}
}

func TestReorderAndDuplicate(t *testing.T) {
	const n = 2000
	cfg := impair.Config{Delay: 10 * time.Millisecond, Reorder: 0.1, ReorderDelay: 2 * time.Millisecond, Duplicate: 0.05}
	p := newPair(t, 5, sim.Symmetric(cfg))
	for i := range n {
		p.n1.sendAt(t0.Add(time.Duration(i)*time.Millisecond), p.i1, ap1, ap2, fmt.Sprintf("%06d", i))
	}
	p.net.Run()
	st := p.link.AB().Stats()
	if len(p.n2.got) != n+int(st.Duplicated) {
		t.Fatalf("received %d, want %d + %d duplicates", len(p.n2.got), n, st.Duplicated)
	}
	seen := map[string]int{}
	inversions := 0
	last := -1
	for _, r := range p.n2.got {
		seen[r.Payload]++
		var i int
		fmt.Sscanf(r.Payload, "%d", &i)
		if i < last {
			inversions++
		}
		last = max(last, i)
	}
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	if len(seen) != n || dups != int(st.Duplicated) {
		t.Fatalf("%d distinct packets and %d duplicates; stats %+v", len(seen), dups, st)
	}
	within := func(k, want float64) bool { return math.Abs(k-want) <= 5*math.Sqrt(want)+1 }
	if !within(float64(st.Duplicated), n*0.05) || !within(float64(st.Reordered), n*0.1) {
		t.Fatalf("duplicated %d, reordered %d; want about %v and %v", st.Duplicated, st.Reordered, n*0.05, n*0.1)
	}
	// A held-back packet (2ms extra at 1ms spacing) is overtaken.
	if inversions < int(st.Reordered)/2 {
		t.Fatalf("%d inversions for %d held-back packets", inversions, st.Reordered)
	}
}

func TestMTU(t *testing.T) {
	p := newPair(t, 1, sim.LinkConfig{AB: impair.Config{MTU: 1280}})
	if p.i1.MTU() != 1280 || p.i2.MTU() != sim.DefaultMTU {
		t.Fatalf("MTUs %d and %d, want 1280 and the default", p.i1.MTU(), p.i2.MTU())
	}
	p.n1.sendAt(t0, p.i1, ap1, ap2, string(make([]byte, 1280-28)))
	p.n1.sendAt(t0, p.i1, ap1, ap2, string(make([]byte, 1281-28)))
	p.n2.sendAt(t0, p.i2, ap2, ap1, string(make([]byte, 1500-28)))
	p.n2.sendAt(t0, p.i2, ap2, ap1, string(make([]byte, 1501-28)))
	p.net.Run()
	if len(p.n2.got) != 1 || len(p.n1.got) != 1 {
		t.Fatalf("received %d and %d packets, want 1 each", len(p.n2.got), len(p.n1.got))
	}
	if st := p.link.AB().Stats(); st.DroppedMTU != 1 {
		t.Fatalf("AB DroppedMTU = %d", st.DroppedMTU)
	}
	if st := p.link.BA().Stats(); st.DroppedMTU != 1 {
		t.Fatalf("BA DroppedMTU = %d", st.DroppedMTU)
	}
}

func TestLinkDownUp(t *testing.T) {
	p := newPair(t, 1, sim.Symmetric(impair.Config{Delay: 10 * time.Millisecond}))
	for i := range 10 {
		p.n1.sendAt(t0.Add(time.Duration(i)*5*time.Millisecond), p.i1, ap1, ap2, fmt.Sprint(i))
	}
	p.net.At(t0.Add(12*time.Millisecond), func(time.Time) { p.link.SetUp(false) })
	p.net.At(t0.Add(27*time.Millisecond), func(time.Time) { p.link.SetUp(true) })
	p.net.Run()
	// Sent at 0 (arrives at 10ms), 5 and 10 (in flight at 12ms: lost), 15,
	// 20 and 25 (refused while down), 30 to 45 (arrive).
	if diff := cmp.Diff([]string{"0", "6", "7", "8", "9"}, p.n2.payloads()); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
	if len(p.n1.sendErr) != 3 || !errors.Is(p.n1.sendErr[0], link.ErrDown) {
		t.Fatalf("send errors %v, want 3 × ErrDown", p.n1.sendErr)
	}
	if st := p.link.AB().Stats(); st.DroppedDown != 5 {
		t.Fatalf("DroppedDown = %d, want 5 (2 in flight, 3 refused)", st.DroppedDown)
	}
	want := []linkEv{{At: 12 * time.Millisecond, NIC: "eth0", Kind: link.EventDown}, {At: 27 * time.Millisecond, NIC: "eth0", Kind: link.EventUp}}
	for i, n := range []*testNode{p.n1, p.n2} {
		if diff := cmp.Diff(want, n.events, netipCmp); diff != "" {
			t.Errorf("node %d events (-want +got):\n%s", i+1, diff)
		}
	}
	if !p.i1.Up() || !p.link.Up() {
		t.Fatal("link not up at the end")
	}
}

func TestScheduledConfigChange(t *testing.T) {
	p := newPair(t, 1, sim.Symmetric(impair.Config{Delay: 10 * time.Millisecond}))
	p.n1.sendAt(t0, p.i1, ap1, ap2, "a")
	p.n1.sendAt(t0.Add(50*time.Millisecond), p.i1, ap1, ap2, "b")
	p.net.At(t0.Add(20*time.Millisecond), func(time.Time) {
		c := p.link.AB().Config()
		c.Delay = 30 * time.Millisecond
		c.Rate = 8_000_000 // 1µs per byte
		if err := p.link.AB().Configure(c); err != nil {
			t.Error(err)
		}
	})
	p.net.Run()
	if len(p.n2.got) != 2 || p.n2.got[0].At != 10*time.Millisecond || p.n2.got[1].At != 80*time.Millisecond+29*time.Microsecond {
		t.Fatalf("received %+v; want a at 10ms and b at 80.029ms", p.n2.got)
	}
	if err := p.link.AB().Configure(impair.Config{Loss: -1}); !errors.Is(err, impair.ErrConfig) {
		t.Fatalf("bad Configure: %v", err)
	}
}

func TestWeakHost(t *testing.T) {
	// h2 has two interfaces; a packet for its eth1 address arriving on eth0
	// is delivered, one for a foreign address is not.
	p := newPair(t, 1, sim.LinkConfig{})
	other := netip.MustParsePrefix("10.9.9.9/32")
	p.h2.AddInterface("eth1", other)
	p.n1.sendAt(t0, p.i1, ap1, netip.AddrPortFrom(other.Addr(), 7), "weak")
	p.n1.sendAt(t0, p.i1, ap1, netip.MustParseAddrPort("10.0.0.77:7"), "foreign")
	p.net.Run()
	if diff := cmp.Diff([]string{"weak"}, p.n2.payloads()); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
	if p.n2.got[0].NIC != "eth0" {
		t.Fatalf("delivered on %s, want the arrival interface eth0", p.n2.got[0].NIC)
	}
	if st := p.h2.Stats(); st.DroppedNotLocal != 1 || st.Received != 1 {
		t.Fatalf("h2 stats %+v", st)
	}
}

func TestCorruptionCaughtByChecksums(t *testing.T) {
	p := newPair(t, 9, sim.LinkConfig{AB: impair.Config{Corrupt: 1}})
	const n = 500
	for i := range n {
		if i%2 == 0 {
			p.n1.sendAt(t0, p.i1, ap1, ap2, fmt.Sprintf("datagram %d", i))
		} else {
			p.n1.sendRawAt(t0, p.i1, pkttest.TCP(pkttest.TCPSpec{Src: ap1, Dst: ap2, Seq: uint32(i), ACK: true, Payload: []byte("segment")}))
		}
	}
	p.net.Run()
	// A flipped bit is caught by a checksum, or makes the packet malformed,
	// or (a version of 6 instead of 4) turns it into an IPv6 packet for some
	// other host.
	st := p.h2.Stats()
	if st.Received != 0 || st.DroppedChecksum+st.DroppedMalformed+st.DroppedNotLocal != n || st.DroppedChecksum < n*3/4 {
		t.Fatalf("h2 stats %+v; every corrupted packet must be dropped, most for their checksum", st)
	}
	if p.link.AB().Stats().Corrupted != n {
		t.Fatalf("corrupted %d", p.link.AB().Stats().Corrupted)
	}
}

func TestChecksumVerification(t *testing.T) {
	good4 := pkttest.UDP(ap1, ap2, []byte("x"))
	a6 := netip.MustParseAddrPort("[2001:db8::1]:1")
	b6 := netip.MustParseAddrPort("[2001:db8::2]:2")
	good6 := pkttest.UDP(a6, b6, []byte("x"))
	tcp6 := pkttest.TCP(pkttest.TCPSpec{Src: a6, Dst: b6, SYN: true})
	mod := func(p []byte, f func([]byte)) []byte { q := append([]byte(nil), p...); f(q); return q }
	tests := []struct {
		name string
		pkt  []byte
		want string // "ok", "checksum", "malformed"
	}{
		{"udp4", good4, "ok"},
		{"udp6", good6, "ok"},
		{"tcp6", tcp6, "ok"},
		{"udp4 no checksum", mod(good4, func(q []byte) { q[26], q[27] = 0, 0 }), "ok"},
		{"udp6 zero checksum", mod(good6, func(q []byte) { q[46], q[47] = 0, 0 }), "checksum"},
		{"ipv4 header", mod(good4, func(q []byte) { q[10] ^= 1 }), "checksum"},
		{"udp4 payload", mod(good4, func(q []byte) { q[len(q)-1] ^= 0x80 }), "checksum"},
		{"tcp6 payload", mod(tcp6, func(q []byte) { q[40+4] ^= 1 }), "checksum"},
		{"empty", nil, "malformed"},
		{"version 5", mod(good4, func(q []byte) { q[0] = 0x55 }), "malformed"},
		{"ipv4 truncated", good4[:19], "malformed"},
		{"ipv4 total length too big", mod(good4, func(q []byte) { q[3] += 10 }), "malformed"},
		{"ipv4 ihl too small", mod(good4, func(q []byte) { q[0] = 0x44 }), "malformed"},
		{"ipv6 truncated", good6[:39], "malformed"},
		{"ipv6 payload length too big", mod(good6, func(q []byte) { q[5] += 10 }), "malformed"},
		{"udp4 short", mod(good4[:24], func(q []byte) {
			q[3] = 24
			setIPv4Checksum(q)
		}), "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, 1, sim.LinkConfig{})
			if len(tc.pkt) > 0 && tc.pkt[0]>>4 == 6 {
				p.i2.AddAddr(netip.PrefixFrom(b6.Addr(), 64))
			}
			p.n1.sendRawAt(t0, p.i1, tc.pkt)
			p.net.Run()
			st := p.h2.Stats()
			got := "none"
			switch {
			case st.Received == 1:
				got = "ok"
			case st.DroppedChecksum == 1:
				got = "checksum"
			case st.DroppedMalformed == 1:
				got = "malformed"
			}
			if got != tc.want {
				t.Fatalf("verdict %s, want %s (stats %+v)", got, tc.want, st)
			}
		})
	}
}

func setIPv4Checksum(q []byte) {
	q[10], q[11] = 0, 0
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(q[i])<<8 | uint32(q[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	q[10], q[11] = byte(^sum>>8), byte(^sum)
}

func TestAddrEvents(t *testing.T) {
	p := newPair(t, 1, sim.LinkConfig{})
	extra := netip.MustParsePrefix("10.0.0.3/24")
	p.net.At(t0.Add(time.Millisecond), func(time.Time) { p.i2.AddAddr(extra) })
	p.net.At(t0.Add(2*time.Millisecond), func(time.Time) {
		if !p.i2.RemoveAddr(extra) {
			t.Error("RemoveAddr did not find the address")
		}
		if p.i2.RemoveAddr(extra) {
			t.Error("second RemoveAddr found the address")
		}
	})
	// Sent while the address exists: delivered. After: not.
	p.n1.sendAt(t0.Add(ms(1.5)), p.i1, ap1, netip.AddrPortFrom(extra.Addr(), 9), "during")
	p.n1.sendAt(t0.Add(3*time.Millisecond), p.i1, ap1, netip.AddrPortFrom(extra.Addr(), 9), "after")
	p.net.Run()
	want := []linkEv{
		{At: time.Millisecond, NIC: "eth0", Kind: link.EventAddrAdded, Addr: extra},
		{At: 2 * time.Millisecond, NIC: "eth0", Kind: link.EventAddrRemoved, Addr: extra},
	}
	if diff := cmp.Diff(want, p.n2.events, netipCmp); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"during"}, p.n2.payloads()); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]netip.Prefix{addr2}, p.i2.Addrs(), netipCmp); diff != "" {
		t.Fatalf("addresses (-want +got):\n%s", diff)
	}
}

func TestConnectErrors(t *testing.T) {
	n := sim.New(sim.Config{})
	h := n.AddHost("h", &testNode{})
	a, b, c := h.AddInterface("a"), h.AddInterface("b"), h.AddInterface("c")
	other := sim.New(sim.Config{}).AddHost("x", nil).AddInterface("x")
	if _, err := n.Connect(a, a, sim.LinkConfig{}); !errors.Is(err, sim.ErrConnect) {
		t.Errorf("to itself: %v", err)
	}
	if _, err := n.Connect(a, nil, sim.LinkConfig{}); !errors.Is(err, sim.ErrConnect) {
		t.Errorf("nil: %v", err)
	}
	if _, err := n.Connect(a, other, sim.LinkConfig{}); !errors.Is(err, sim.ErrConnect) {
		t.Errorf("other network: %v", err)
	}
	if _, err := n.Connect(a, b, sim.LinkConfig{BA: impair.Config{Loss: 3}}); !errors.Is(err, impair.ErrConfig) {
		t.Errorf("bad config: %v", err)
	}
	if _, err := n.Connect(a, b, sim.LinkConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Connect(a, c, sim.LinkConfig{}); !errors.Is(err, sim.ErrConnect) {
		t.Errorf("already connected: %v", err)
	}
	if err := c.Send([]byte{0x45}); !errors.Is(err, link.ErrDown) || c.Up() || c.MTU() != 0 || c.Link() != nil {
		t.Errorf("unconnected interface: Send %v, Up %v, MTU %d", err, c.Up(), c.MTU())
	}
	if a.Link() == nil || a.Link().A() != a || a.Link().B() != b || a.Out().To() != b || a.Out().From() != a {
		t.Error("link accessors")
	}
	if a.String() != "h/a" || a.Host() != h || a.Router() != nil || a.Index() != 1 || c.Index() != 3 {
		t.Errorf("interface accessors: %v %d", a, c.Index())
	}
}

func TestAfterFuncClock(t *testing.T) {
	n := sim.New(sim.Config{Start: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	var got []string
	n.AfterFunc(20*time.Millisecond, func() { got = append(got, "b@"+n.Since().String()) })
	n.AfterFunc(10*time.Millisecond, func() { got = append(got, "a@"+n.Since().String()) })
	stop := n.AfterFunc(15*time.Millisecond, func() { got = append(got, "stopped") })
	moved := n.AfterFunc(time.Millisecond, func() { got = append(got, "moved@"+n.Since().String()) })
	n.AfterFunc(10*time.Millisecond, func() { got = append(got, "a2@"+n.Since().String()) })
	if !stop.Stop() || stop.Stop() {
		t.Fatal("Stop results")
	}
	if !moved.Reset(30 * time.Millisecond) {
		t.Fatal("Reset of a pending timer returned false")
	}
	n.RunUntil(n.Start().Add(25 * time.Millisecond))
	if n.Since() != 25*time.Millisecond || !n.Now().Equal(n.Start().Add(25*time.Millisecond)) {
		t.Fatalf("clock at %v after RunUntil", n.Since())
	}
	n.RunFor(time.Second)
	want := []string{"a@10ms", "a2@10ms", "b@20ms", "moved@30ms"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if n.Step() || n.Pending() != 0 || n.Events() != 4 {
		t.Fatalf("Step/Pending/Events: %d pending, %d events", n.Pending(), n.Events())
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Run inside the simulation did not panic")
			}
		}()
		n.AfterFunc(0, func() { n.Run() })
		n.Run()
	}()
}

// tcpdump returns the records of a pcap stream, decoded.
func readPcap(t *testing.T, b []byte) []gopacket.Packet {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var ps []gopacket.Packet
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		p.Metadata().CaptureInfo = ci
		if e := p.ErrorLayer(); e != nil {
			t.Fatalf("gopacket: %v", e.Error())
		}
		ps = append(ps, p)
	}
	return ps
}

func TestPcapOnLink(t *testing.T) {
	p := newPair(t, 1, sim.Symmetric(impair.Config{Rate: 10_000_000, Delay: 20 * time.Millisecond}))
	var in, out bytes.Buffer
	tapIn, err := pcap.NewTap(&in, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tapOut, err := pcap.NewTap(&out, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.link.AB().AddIngress(tapIn)
	p.link.AB().AddEgress(tapOut)
	p.sendBurst(t0.Add(time.Second), 2, 1500)
	p.net.Run()
	ins, outs := readPcap(t, in.Bytes()), readPcap(t, out.Bytes())
	if len(ins) != 2 || len(outs) != 2 {
		t.Fatalf("captured %d and %d packets", len(ins), len(outs))
	}
	wantIn := []time.Duration{time.Second, time.Second}
	wantOut := []time.Duration{time.Second + ms(21.2), time.Second + ms(22.4)}
	for i := range 2 {
		if got := ins[i].Metadata().Timestamp.Sub(t0); got != wantIn[i] {
			t.Errorf("ingress record %d at %v, want %v", i, got, wantIn[i])
		}
		if got := outs[i].Metadata().Timestamp.Sub(t0); got != wantOut[i] {
			t.Errorf("egress record %d at %v, want %v", i, got, wantOut[i])
		}
		udp, _ := outs[i].Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || string(udp.Payload[:6]) != fmt.Sprintf("%06d", i) {
			t.Errorf("egress record %d: %v", i, outs[i])
		}
	}
}

// scenario runs a lossy, jittery, reordering two-host exchange with a pcap
// tap on each direction and returns the captures and statistics.
func scenario(t testing.TB, seed uint64) ([]byte, []impair.Stats) {
	cfg := impair.Config{Rate: 20_000_000, Delay: 5 * time.Millisecond, Jitter: time.Millisecond, QueuePackets: 30,
		Loss: 0.02, Burst: impair.GilbertElliott{P: 0.01, R: 0.3, LossBad: 1}, Reorder: 0.02, ReorderDelay: time.Millisecond,
		Duplicate: 0.01, Corrupt: 0.01}
	p := newPair(t, seed, sim.Symmetric(cfg))
	p.n2.echo = true
	var buf bytes.Buffer
	tap, err := pcap.NewTap(&buf, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.link.AB().AddEgress(tap)
	p.link.BA().AddEgress(tap)
	for i := range 1000 {
		p.n1.sendAt(t0.Add(time.Duration(i)*300*time.Microsecond), p.i1, ap1, ap2, fmt.Sprintf("%06d%0900d", i, 0))
	}
	p.net.Run()
	return buf.Bytes(), []impair.Stats{p.link.AB().Stats(), p.link.BA().Stats()}
}

func TestDeterminism(t *testing.T) {
	pcap1, st1 := scenario(t, 42)
	pcap2, st2 := scenario(t, 42)
	if !bytes.Equal(pcap1, pcap2) {
		t.Fatal("same seed: pcap bytes differ")
	}
	if diff := cmp.Diff(st1, st2); diff != "" {
		t.Fatalf("same seed: stats differ:\n%s", diff)
	}
	if st1[0].DroppedLoss == 0 || st1[0].Reordered == 0 || st1[0].Duplicated == 0 || st1[0].Corrupted == 0 {
		t.Fatalf("scenario does not exercise the impairments: %+v", st1[0])
	}
	pcap3, st3 := scenario(t, 43)
	if bytes.Equal(pcap1, pcap3) || cmp.Equal(st1, st3) {
		t.Fatal("different seeds: identical pcap or stats")
	}
}
