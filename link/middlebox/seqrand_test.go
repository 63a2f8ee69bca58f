package middlebox_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
)

func sackBlocks(t *testing.T, tcp *layers.TCP) []uint32 {
	t.Helper()
	var b []uint32
	for _, o := range tcp.Options {
		if o.OptionType == layers.TCPOptionKindSACK {
			for i := 0; i+4 <= len(o.OptionData); i += 4 {
				d := o.OptionData[i:]
				b = append(b, uint32(d[0])<<24|uint32(d[1])<<16|uint32(d[2])<<8|uint32(d[3]))
			}
		}
	}
	return b
}

func TestSeqRandomizer(t *testing.T) {
	r := middlebox.NewSeqRandomizer(7)
	// Client SYN, server SYN/ACK, client data, server ACK with SACK (one
	// option at an odd offset after a NOP), for IPv4 and IPv6.
	for _, f := range []struct {
		name     string
		cli, srv netip.AddrPort
	}{{name: "IPv4", cli: cli, srv: srv}, {name: "IPv6", cli: cli6, srv: srv6}} {
		t.Run(f.name, func(t *testing.T) {
			segs := [][]byte{
				pkttest.TCP(pkttest.TCPSpec{Src: f.cli, Dst: f.srv, Seq: 0xfffffff0, SYN: true}),
				pkttest.TCP(pkttest.TCPSpec{Src: f.srv, Dst: f.cli, Seq: 1000, Ack: 0xfffffff1, SYN: true, ACK: true}),
				pkttest.TCP(pkttest.TCPSpec{Src: f.cli, Dst: f.srv, Seq: 0xfffffff1, Ack: 1001, ACK: true, Payload: []byte("0123456789")}),
				pkttest.TCP(pkttest.TCPSpec{Src: f.srv, Dst: f.cli, Seq: 1001, Ack: 0xfffffff1, ACK: true,
					Options: []layers.TCPOption{nop, sack(0xfffffffb, 5, 20, 30), nop}}),
				pkttest.TCP(pkttest.TCPSpec{Src: f.cli, Dst: f.srv, Seq: 5, RST: true}),
			}
			out := run(r, segs...)
			if len(out) != len(segs) {
				t.Fatalf("emitted %d of %d", len(out), len(segs))
			}
			oc, os, ok := r.Offsets(f.cli, f.srv)
			if !ok || oc == 0 || os == 0 || oc == os {
				t.Fatalf("offsets %#x %#x %v", oc, os, ok)
			}
			if rc, rs, _ := r.Offsets(f.srv, f.cli); rc != os || rs != oc {
				t.Fatalf("reverse offsets %#x %#x", rc, rs)
			}
			type want struct {
				seq, ack uint32
				sack     []uint32
			}
			wants := []want{
				{0xfffffff0 + oc, 0, nil},
				{1000 + os, 0xfffffff1 - oc, nil},
				{0xfffffff1 + oc, 1001 - os, nil},
				{1001 + os, 0xfffffff1 - oc, []uint32{0xfffffffb - oc, 5 - oc, 20 - oc, 30 - oc}},
				{5 + oc, 0, nil},
			}
			for i, w := range wants {
				d := decode(t, out[i])
				checksumsOK(t, out[i])
				if d.TCP.Seq != w.seq || d.TCP.Ack != w.ack {
					t.Errorf("segment %d: seq %#x ack %#x, want %#x %#x", i, d.TCP.Seq, d.TCP.Ack, w.seq, w.ack)
				}
				if diff := cmp.Diff(w.sack, sackBlocks(t, d.TCP)); diff != "" {
					t.Errorf("segment %d: SACK blocks (-want +got):\n%s", i, diff)
				}
				if string(d.TCP.Payload) != string(decode(t, segs[i]).TCP.Payload) {
					t.Errorf("segment %d: payload changed", i)
				}
			}
		})
	}
	if st := r.Stats(); st.Flows != 2 || st.Segments != 10 {
		t.Fatalf("stats %+v", st)
	}
	// The same seed draws the same offsets.
	r2 := middlebox.NewSeqRandomizer(7)
	run(r2, pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, SYN: true}))
	a1, b1, _ := r.Offsets(cli, srv)
	a2, b2, _ := r2.Offsets(cli, srv)
	if a1 != a2 || b1 != b2 {
		t.Fatal("same seed, different offsets")
	}
	if _, _, ok := r2.Offsets(cli6, srv6); ok {
		t.Fatal("offsets for an unseen flow")
	}
	if out := run(r2, pkttest.UDP(cli, srv, []byte("u"))); len(out) != 1 || string(decode(t, out[0]).UDP.Payload) != "u" {
		t.Fatal("UDP not passed unchanged")
	}
}
