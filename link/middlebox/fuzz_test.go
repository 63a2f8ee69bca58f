package middlebox_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/link"
	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
	"github.com/gomptcp/mptcp/wire"
)

// boxes returns one of each middlebox, set up so that the fuzz seeds
// exercise them.
func boxes(t testing.TB) []link.Middleware {
	n, err := middlebox.NewNAT(middlebox.NATConfig{Inside: netip.MustParsePrefix("10.0.0.0/8"), Public: public})
	if err != nil {
		t.Fatal(err)
	}
	return []link.Middleware{
		middlebox.NewStripper(middlebox.StripSYN),
		middlebox.NewStripper(middlebox.StripAll),
		middlebox.NewRewriter(middlebox.RewriterConfig{Skip: 1}),
		n,
		middlebox.NewSeqRandomizer(1),
		middlebox.NewSplitter(7),
		middlebox.NewCoalescer(middlebox.CoalescerConfig{AnyOptions: true}),
	}
}

// FuzzMiddleboxes feeds arbitrary bytes to every middlebox, twice (so that
// the stateful ones have state). None may panic, and a TCP packet whose
// checksums verify must come out with checksums that verify.
func FuzzMiddleboxes(f *testing.F) {
	opts := []layers.TCPOption{nop, mpCapableSYN, sack(1, 2)}
	f.Add(pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 1, SYN: true, Options: opts, Payload: payload(20)}))
	f.Add(pkttest.TCP(pkttest.TCPSpec{Src: cli6, Dst: srv6, Seq: 1, Ack: 2, ACK: true, Options: opts, Payload: payload(30)}))
	f.Add(pkttest.TCP(pkttest.TCPSpec{Src: srv, Dst: netip.AddrPortFrom(public, 1024), ACK: true, Payload: payload(9)}))
	f.Add(pkttest.UDP(cli, srv, payload(10)))
	f.Add([]byte{0x45, 0, 0, 20})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		valid := pkt != nil && wire.VerifyChecksums(pkt) == nil
		for _, m := range boxes(t) {
			out := link.EmitFunc(func(p []byte) {
				if valid {
					if err := wire.VerifyChecksums(p); err != nil {
						t.Fatalf("%T turned a valid packet into one that does not verify: %v\nin:  % x\nout: % x", m, err, pkt, p)
					}
				}
			})
			for i := range 2 {
				m.Process(t0.Add(time.Duration(i)), append([]byte(nil), pkt...), out)
			}
			m.Poll(t0.Add(time.Hour), out)
		}
	})
}
