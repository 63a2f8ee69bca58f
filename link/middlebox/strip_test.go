package middlebox_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
)

func TestStripper(t *testing.T) {
	syn := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 100, SYN: true,
		Options: []layers.TCPOption{mss, sackOK, mpCapableSYN}})
	// The MPTCP option starts at an odd offset: after one NOP.
	syn6 := pkttest.TCP(pkttest.TCPSpec{Src: cli6, Dst: srv6, Seq: 100, SYN: true,
		Options: []layers.TCPOption{nop, mpCapableSYN, nop, nop, nop}})
	data := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 101, Ack: 7, ACK: true,
		Options: []layers.TCPOption{nop, nop, ts, dssAck}, Payload: []byte("hello")})
	noMPTCP := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 101, SYN: true, Options: []layers.TCPOption{mss}})
	udp := pkttest.UDP(cli, srv, []byte{30, 12, 0})

	// Where the MPTCP option lies in each packet: IP header + TCP header
	// + preceding options.
	const v4, v6 = 20 + 20, 40 + 20
	tests := []struct {
		name      string
		mode      middlebox.StripMode
		pkt       []byte
		stripFrom int // first byte overwritten, -1 for none
		stripLen  int
	}{
		{"SYN, SYN mode", middlebox.StripSYN, syn, v4 + 4 + 2, 12},
		{"SYN IPv6 odd offset", middlebox.StripSYN, syn6, v6 + 1, 12},
		{"data, SYN mode", middlebox.StripSYN, data, -1, 0},
		{"data, all mode", middlebox.StripAll, data, v4 + 2 + 10, 8},
		{"no MPTCP option", middlebox.StripAll, noMPTCP, -1, 0},
		{"UDP", middlebox.StripAll, udp, -1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := middlebox.NewStripper(tc.mode)
			out := run(s, tc.pkt)
			if len(out) != 1 {
				t.Fatalf("emitted %d packets", len(out))
			}
			got := out[0]
			if tc.stripFrom < 0 {
				if diff := cmp.Diff(tc.pkt, got); diff != "" {
					t.Fatalf("packet changed (-want +got):\n%s", diff)
				}
				if s.Stats() != (middlebox.StripperStats{}) {
					t.Fatalf("stats %+v", s.Stats())
				}
				return
			}
			want := append([]byte(nil), tc.pkt...)
			for i := tc.stripFrom; i < tc.stripFrom+tc.stripLen; i++ {
				want[i] = 1 // NOP
			}
			l4 := v4
			if tc.pkt[0]>>4 == 6 {
				l4 = v6
			}
			l4 -= 20
			// Only the option bytes and the TCP checksum may differ.
			for _, i := range diffBytes(want, got) {
				if i != l4+16 && i != l4+17 {
					t.Fatalf("byte %d differs: want %#x, got %#x", i, want[i], got[i])
				}
			}
			checksumsOK(t, got)
			d := decode(t, got)
			for _, o := range d.TCP.Options {
				if o.OptionType == 30 {
					t.Fatalf("MPTCP option left: %v", o)
				}
			}
			if st := s.Stats(); st.Segments != 1 || st.Options != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestStripperMalformedOptions(t *testing.T) {
	// An MPTCP option, then an option whose length runs past the option
	// area: the first is stripped, the rest left alone.
	p := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, SYN: true, Options: []layers.TCPOption{dssAck, mss, nop, nop}})
	p[40+8+1] = 40 // MSS option length: past the end
	s := middlebox.NewStripper(middlebox.StripSYN)
	got := run(s, p)[0]
	for i := 40; i < 48; i++ {
		if got[i] != 1 {
			t.Fatalf("byte %d = %#x, want NOP", i, got[i])
		}
	}
	if diff := cmp.Diff(p[48:], got[48:]); diff != "" {
		t.Fatalf("bytes after the malformed option changed:\n%s", diff)
	}
}
