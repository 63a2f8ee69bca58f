package stack_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// verifyingNIC is a fakeNIC whose driver claims to verify checksums.
type verifyingNIC struct {
	fakeNIC
	verified bool
}

func (v *verifyingNIC) ChecksumsVerified() bool { return v.verified }

var _ stack.ChecksumVerifier = (*verifyingNIC)(nil)

// TestChecksumVerifierNIC checks that the Stack skips the checksums a
// NIC's driver verified, and only those: the other checks stay.
func TestChecksumVerifierNIC(t *testing.T) {
	tests := []struct {
		name     string
		verified bool
		mangle   func(p []byte)
		answered bool
		bad      uint64 // BadIPChecksum + BadChecksum
		malf     uint64
	}{
		{"TCP checksum, not verified by the driver", false, func(p []byte) { p[len(p)-1] ^= 1 }, false, 1, 0},
		{"TCP checksum, verified by the driver", true, func(p []byte) { p[len(p)-1] ^= 1 }, true, 0, 0},
		{"IPv4 header checksum, not verified", false, func(p []byte) { p[10] ^= 1 }, false, 1, 0},
		{"IPv4 header checksum, verified", true, func(p []byte) { p[10] ^= 1 }, true, 0, 0},
		{"truncated, verified", true, func(p []byte) { wire.IPv4(p).SetTotalLen(30) }, false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			syn := synFrom(t, pfx("10.0.0.1/24"), ap("10.0.0.2:80"))
			tt.mangle(syn)
			st := newStack(t, 1, tcp.Config{})
			nic := &verifyingNIC{fakeNIC: *newFakeNIC(pfx("10.0.0.2/24")), verified: tt.verified}
			if err := st.AddNIC(nic); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Listen(ap("10.0.0.2:80"), nil); err != nil {
				t.Fatal(err)
			}
			st.Receive(t0, nic, syn)
			s := st.Stats()
			if got := len(nic.take()) == 1; got != tt.answered {
				t.Errorf("answered %v, want %v", got, tt.answered)
			}
			if s.BadIPChecksum+s.BadChecksum != tt.bad || s.Malformed != tt.malf {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// offloadNIC is a fakeNIC with transmit checksum offload.
type offloadNIC struct {
	fakeNIC
	offloaded [][]byte
}

func (o *offloadNIC) SendOffload(pkt []byte) error {
	q := append([]byte(nil), pkt...)
	if err := wire.FillChecksums(q); err != nil {
		return err
	}
	o.offloaded = append(o.offloaded, q)
	return nil
}

var _ stack.ChecksumOffloader = (*offloadNIC)(nil)

// TestChecksumOffloaderNIC checks that the Stack hands its segments to an
// offloading NIC's SendOffload, with the IPv4 header complete, and that
// they are otherwise what it sends through a plain NIC.
func TestChecksumOffloaderNIC(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		src, dst := pfx("10.0.0.1/24"), ap("10.0.0.2:80")
		if v6 {
			src, dst = pfx("2001:db8::1/64"), ap("[2001:db8::2]:80")
		}
		plain := synFrom(t, src, dst)
		st := newStack(t, 9, tcp.Config{})
		nic := &offloadNIC{fakeNIC: *newFakeNIC(src)}
		if err := st.AddNIC(nic); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Dial(t0, dst, nil); err != nil {
			t.Fatal(err)
		}
		if len(nic.sent) != 0 || len(nic.offloaded) != 1 {
			t.Fatalf("v6 %v: %d packets through Send, %d through SendOffload; want 0 and 1", v6, len(nic.sent), len(nic.offloaded))
		}
		if got := nic.offloaded[0]; string(got) != string(plain) {
			t.Fatalf("v6 %v: offloaded SYN, checksum filled\n %x\ndiffers from the plain one\n %x", v6, got, plain)
		}
	}
}

// TestEmitIPv4Header checks the IPv4 headers the Stack writes against
// wire's encoder, checksum included, over many identifiers and lengths.
func TestEmitIPv4Header(t *testing.T) {
	st, nic := fakeHost(t, 5, pfx("10.0.0.1/24"))
	for i := range 300 {
		if _, err := st.Dial(t0, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(2 + i%200)}), uint16(1000+i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range nic.take() {
		ip := wire.IPv4(p)
		want := wire.IPv4Header{ID: ip.ID(), DontFragment: true, TTL: stack.DefaultTTL, Protocol: wire.IPProtocolTCP,
			Src: ip.Src(), Dst: ip.Dst(), PayloadLen: len(p) - wire.IPv4MinHeaderLen}
		if got, w := p[:wire.IPv4MinHeaderLen], want.Append(nil); string(got) != string(w) {
			t.Fatalf("header\n %x\nwant\n %x", got, w)
		}
	}
}

// TestCorruptingLink moves data both ways over simulated links that flip
// bits, where the hosts verify the checksums for the stacks (and compute
// the senders' by offload): every corrupted packet a checksum covers must
// be dropped by the receiving host, and the data arrive intact.
func TestCorruptingLink(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		p := newPair(t, v6, impair.Config{Rate: 20_000_000, Delay: 2 * time.Millisecond, QueuePackets: 100, Corrupt: 0.03}, tcp.Config{})
		cli := &peer{src: randBytes(300_000, 1)}
		srv := &peer{src: randBytes(200_000, 2)}
		if _, err := p.b.st.Listen(netip.AddrPortFrom(p.bAddr, 80), &stack.ListenOptions{OnEvent: srv.handler()}); err != nil {
			t.Fatal(err)
		}
		at(p.net, func(now time.Time) {
			if _, err := p.a.st.Dial(now, netip.AddrPortFrom(p.bAddr, 80), &stack.DialOptions{OnEvent: cli.handler()}); err != nil {
				t.Fatal(err)
			}
		})
		runUntil(t, p.net, 300*time.Second, func() bool { return cli.eof && srv.eof })
		if !bytes.Equal(srv.got.Bytes(), cli.src) || !bytes.Equal(cli.got.Bytes(), srv.src) {
			t.Fatalf("v6 %v: data damaged: server got %d bytes, client %d", v6, srv.got.Len(), cli.got.Len())
		}
		corrupted := p.link.AB().Stats().Corrupted + p.link.BA().Stats().Corrupted
		var dropped uint64
		for _, h := range p.net.Hosts() {
			st := h.Stats()
			dropped += st.DroppedChecksum + st.DroppedMalformed + st.DroppedNotLocal
		}
		// IPv6 has no header checksum: a flipped bit of the traffic
		// class, flow label or hop limit goes unnoticed, harmlessly.
		if corrupted < 10 || dropped > corrupted || (!v6 && dropped != corrupted) || dropped < corrupted*3/4 {
			t.Errorf("v6 %v: %d packets corrupted, %d dropped by the hosts", v6, corrupted, dropped)
		}
		if bad := p.a.st.Stats().BadChecksum + p.b.st.Stats().BadChecksum; bad != 0 {
			t.Errorf("v6 %v: %d bad checksums reached the stacks", v6, bad)
		}
	}
}
