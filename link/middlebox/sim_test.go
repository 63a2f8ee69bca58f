package middlebox_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
	"github.com/gomptcp/mptcp/link/pcap"
	"github.com/gomptcp/mptcp/link/sim"
)

// echoNode echoes UDP datagrams and records what it receives.
type echoNode struct {
	echo bool
	got  []string            // "src>dst payload"
	send func(now time.Time) // called from Timer once
	due  time.Time
}

func (e *echoNode) Receive(now time.Time, nic link.NIC, pkt []byte) {
	d, err := pkttest.Decode(pkt)
	if err != nil || d.UDP == nil || d.IPv4 == nil {
		return
	}
	s, _ := netip.AddrFromSlice(d.IPv4.SrcIP)
	ds, _ := netip.AddrFromSlice(d.IPv4.DstIP)
	src := netip.AddrPortFrom(s, uint16(d.UDP.SrcPort))
	dst := netip.AddrPortFrom(ds, uint16(d.UDP.DstPort))
	e.got = append(e.got, src.String()+">"+dst.String()+" "+string(d.UDP.Payload))
	if e.echo {
		_ = nic.Send(pkttest.UDP(dst, src, append([]byte("re:"), d.UDP.Payload...)))
	}
}

func (e *echoNode) Timer(now time.Time) {
	if e.send != nil && !now.Before(e.due) {
		f := e.send
		e.send = nil
		f(now)
	}
}

func (e *echoNode) LinkEvent(time.Time, link.NIC, link.Event) {}

func (e *echoNode) Deadline() time.Time {
	if e.send == nil {
		return time.Time{}
	}
	return e.due
}

// TestNATInSimulator runs a datagram exchange through a NAT placed on the
// inside link of a router:
//
//	inside 10.0.0.5 ──[NAT both ways]── r ── outside 198.51.100.1
func TestNATInSimulator(t *testing.T) {
	n := sim.New(sim.Config{Seed: 1})
	in, out := &echoNode{}, &echoNode{echo: true}
	hi := n.AddHost("inside", in).AddInterface("eth0", netip.MustParsePrefix("10.0.0.5/24"))
	ho := n.AddHost("outside", out).AddInterface("eth0", netip.MustParsePrefix("198.51.100.1/24"))
	r := n.AddRouter("r")
	ri := r.AddInterface("in", netip.MustParsePrefix("10.0.0.1/24"))
	ro := r.AddInterface("out", netip.MustParsePrefix("198.51.100.254/24"))
	cfg := sim.Symmetric(impair.Config{Delay: 5 * time.Millisecond})
	inLink, err := n.Connect(hi, ri, cfg)
	if err != nil {
		t.Fatal(err)
	}
	outLink, err := n.Connect(ro, ho, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.PrefixFrom(public, 32), ri); err != nil {
		t.Fatal(err)
	}
	nat, err := middlebox.NewNAT(middlebox.NATConfig{Inside: netip.MustParsePrefix("10.0.0.0/24"), Public: public})
	if err != nil {
		t.Fatal(err)
	}
	inLink.AB().AddIngress(nat) // leaving the inside host
	inLink.BA().AddEgress(nat)  // arriving at the inside host
	var capture bytes.Buffer
	tap, err := pcap.NewTap(&capture, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	outLink.AB().AddIngress(tap)

	in.due = t0
	in.send = func(time.Time) {
		_ = hi.Send(pkttest.UDP(netip.MustParseAddrPort("10.0.0.5:40000"), netip.MustParseAddrPort("198.51.100.1:7"), []byte("hi")))
	}
	n.Run()
	wantOut := []string{"203.0.113.1:1024>198.51.100.1:7 hi"}
	wantIn := []string{"198.51.100.1:7>10.0.0.5:40000 re:hi"}
	if len(out.got) != 1 || out.got[0] != wantOut[0] || len(in.got) != 1 || in.got[0] != wantIn[0] {
		t.Fatalf("outside got %q, inside got %q; want %q and %q", out.got, in.got, wantOut, wantIn)
	}
	if n.Since() != 20*time.Millisecond {
		t.Fatalf("round trip took %v", n.Since())
	}
	if tap.Packets() != 1 || nat.Stats().Outbound != 1 || nat.Stats().Inbound != 1 {
		t.Fatalf("tap %d packets, NAT %+v", tap.Packets(), nat.Stats())
	}
}
