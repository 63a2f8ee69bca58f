package sim

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/wire"
)

// TestOffset checks the fast conversion of times to offsets against
// time.Time.Sub, with its saturation, and with monotonic readings.
func TestOffset(t *testing.T) {
	for _, start := range []time.Time{time.Time{}.Add(time.Hour), time.Date(2026, 5, 1, 0, 0, 0, 123, time.UTC), time.Now()} {
		n := New(Config{Start: start})
		ts := []time.Time{
			start, start.Add(1), start.Add(-1), start.Add(1500 * time.Millisecond), start.Add(-999999999),
			start.Add(100 * 365 * 24 * time.Hour), start.Add(-100 * 365 * 24 * time.Hour),
			start.AddDate(400, 0, 0), start.AddDate(-400, 0, 0), {}, time.Unix(1<<40, 0),
			start.Round(0).Add(3 * time.Second), time.Now(),
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 1000 {
			ts = append(ts, start.Add(time.Duration(rng.Int64N(1<<62)-1<<61)))
		}
		for _, x := range ts {
			want := int64(x.Sub(start))
			if want == math.MinInt64 {
				want++
			}
			if got := n.offset(x); got != want {
				t.Fatalf("start %v: offset(%v) = %d, want %d", start, x, got, want)
			}
		}
	}
}

// TestIPv4HeaderValid checks the 20-byte header fast path against wire.
func TestIPv4HeaderValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := wire.IPv4Header{TTL: 64, Protocol: wire.IPProtocolTCP, PayloadLen: 100,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}
	for i := range 5000 {
		h.ID, h.TTL, h.TOS = uint16(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32())
		h.Src = netip.AddrFrom4([4]byte{byte(i), byte(i >> 8), 1, 2})
		h.Options = nil
		if i%5 == 0 {
			h.Options = []byte{1, 1, 1, 0}
		}
		pkt := append(h.Append(nil), make([]byte, 100)...)
		if i%3 == 0 {
			pkt[rng.IntN(h.Len())] ^= byte(1 << rng.IntN(8))
		}
		if i%7 == 0 {
			pkt[10], pkt[11] = 0xff, 0xff
		}
		ip := wire.IPv4(pkt)
		if ip.Check() != nil {
			continue
		}
		if got, want := ipv4HeaderValid(ip), ip.ChecksumValid(); got != want {
			t.Fatalf("header %x: ipv4HeaderValid %v, wire %v", pkt[:h.Len()], got, want)
		}
	}
}

// TestVouches follows when a direction vouches for the checksums of what
// it delivers: not while a packet it did not checksum itself may be in
// transit, nor while it may change packets; again once it is empty.
func TestVouches(t *testing.T) {
	n := New(Config{})
	i1 := n.AddHost("h1", nil).AddInterface("eth0", netip.MustParsePrefix("10.0.0.1/24"))
	i2 := n.AddHost("h2", nil).AddInterface("eth0", netip.MustParsePrefix("10.0.0.2/24"))
	l, err := n.Connect(i1, i2, Symmetric(impair.Config{Delay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	d := l.AB()
	pkt := func() []byte {
		h := wire.IPv4Header{TTL: 64, Protocol: wire.IPProtocolTCP, Src: i1.Addrs()[0].Addr(), Dst: i2.Addrs()[0].Addr(), PayloadLen: 20}
		b := append(h.Append(nil), 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 1, 0, 0, 0, 0, 0)
		return b
	}
	check := func(step string, want bool) {
		t.Helper()
		if d.vouches() != want {
			t.Fatalf("%s: vouches %v, want %v (unknown %d, mayChange %v)", step, d.vouches(), want, d.unknown, d.mayChange)
		}
	}
	check("new", true)
	if err := i1.SendOffload(pkt()); err != nil {
		t.Fatal(err)
	}
	check("offloaded packet in transit", true)
	if err := i1.Send(pkt()); err != nil { // its TCP checksum field is zero: wrong
		t.Fatal(err)
	}
	check("plain packet in transit", false)
	if err := i1.SendOffload(pkt()); err != nil {
		t.Fatal(err)
	}
	check("plain and offloaded packets in transit", false)
	n.Run()
	check("drained", true)
	if st := i2.Host().Stats(); st.Received != 2 || st.DroppedChecksum != 1 {
		t.Fatalf("h2 stats %+v", st)
	}
	if err := d.Configure(impair.Config{Delay: time.Millisecond, Corrupt: 0.5}); err != nil {
		t.Fatal(err)
	}
	check("corrupting", false)
	if err := i1.SendOffload(pkt()); err != nil {
		t.Fatal(err)
	}
	if err := d.Configure(impair.Config{Delay: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	check("no longer corrupting, a packet sent while it was in transit", false)
	n.Run()
	check("drained after corruption", true)
}

// TestEventHeap checks the event heap against a scan: after random
// schedules, reschedules and cancellations the events run in (at, seq)
// order and every index is right.
func TestEventHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := New(Config{})
	evs := make([]event, 300)
	for i := range evs {
		evs[i].index = -1
	}
	checkIndexes := func() {
		for i := range n.events {
			if n.events[i].e.index != i || n.events[i].at != n.events[i].e.at || n.events[i].seq != n.events[i].e.seq {
				t.Fatalf("entry %d: index %d, keys (%d,%d) of (%d,%d)", i, n.events[i].e.index,
					n.events[i].at, n.events[i].seq, n.events[i].e.at, n.events[i].e.seq)
			}
		}
	}
	for round := range 200 {
		for range 50 {
			e := &evs[rng.IntN(len(evs))]
			if rng.IntN(4) == 0 {
				n.cancel(e)
			} else {
				n.schedule(e, int64(rng.IntN(1000)))
			}
		}
		checkIndexes()
		// Pop a few and check they come in order.
		prevAt, prevSeq := int64(-1), uint64(0)
		for range rng.IntN(20) {
			if len(n.events) == 0 {
				break
			}
			best := 0
			for i := range n.events {
				if n.events[i].less(&n.events[best]) {
					best = i
				}
			}
			e := n.events[0].e
			if n.events[best].e != e {
				t.Fatalf("round %d: top (%d,%d) is not the least (%d,%d)", round, e.at, e.seq, n.events[best].at, n.events[best].seq)
			}
			if e.at < prevAt || e.at == prevAt && e.seq < prevSeq {
				t.Fatalf("round %d: popped out of order", round)
			}
			prevAt, prevSeq = e.at, e.seq
			n.events.remove(0)
			checkIndexes()
		}
	}
}
