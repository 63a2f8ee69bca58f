package middlebox_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
)

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}

type segSummary struct {
	Seq                uint32
	Len                int
	SYN, ACK, PSH, FIN bool
	Options            int
	IPLen              int
}

func summarize(t *testing.T, pkts [][]byte) ([]segSummary, []byte) {
	t.Helper()
	var s []segSummary
	var data []byte
	for _, p := range pkts {
		checksumsOK(t, p)
		d := decode(t, p)
		s = append(s, segSummary{Seq: d.TCP.Seq, Len: len(d.TCP.Payload), SYN: d.TCP.SYN, ACK: d.TCP.ACK, PSH: d.TCP.PSH,
			FIN: d.TCP.FIN, Options: len(d.TCP.Options), IPLen: len(p)})
		data = append(data, d.TCP.Payload...)
	}
	return s, data
}

func TestSplitter(t *testing.T) {
	opts := []layers.TCPOption{nop, nop, ts, dssAck}
	const hdr = 20 + 20 + 20 // IPv4, TCP, options
	tests := []struct {
		name string
		spec pkttest.TCPSpec
		max  int
		want []segSummary
	}{
		{
			name: "three pieces",
			spec: pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 0xfffffc00, Ack: 9, ACK: true, PSH: true, FIN: true, Options: opts, Payload: payload(2500)},
			max:  1000,
			want: []segSummary{
				{0xfffffc00, 1000, false, true, false, false, 4, hdr + 1000},
				{0xfffffc00 + 1000, 1000, false, true, false, false, 4, hdr + 1000},
				{2000 - 0x400, 500, false, true, true, true, 4, hdr + 500}, // wrapped
			},
		},
		{
			name: "SYN with data",
			spec: pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 100, SYN: true, Options: opts, Payload: payload(15)},
			max:  10,
			want: []segSummary{
				{100, 10, true, false, false, false, 4, hdr + 10},
				{111, 5, false, false, false, false, 4, hdr + 5},
			},
		},
		{
			name: "small enough",
			spec: pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 1, ACK: true, Options: opts, Payload: payload(1000)},
			max:  1000,
			want: []segSummary{{1, 1000, false, true, false, false, 4, hdr + 1000}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := middlebox.NewSplitter(tc.max)
			in := pkttest.TCP(tc.spec)
			got, data := summarize(t, run(s, in))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("pieces (-want +got):\n%s", diff)
			}
			if !bytes.Equal(data, tc.spec.Payload) {
				t.Fatal("the pieces' data differs from the original")
			}
		})
	}
	// IPv6 too.
	s := middlebox.NewSplitter(100)
	got, data := summarize(t, run(s, pkttest.TCP(pkttest.TCPSpec{Src: cli6, Dst: srv6, Seq: 5, ACK: true, Payload: payload(250)})))
	if len(got) != 3 || got[2].Seq != 205 || got[2].IPLen != 40+20+50 || !bytes.Equal(data, payload(250)) {
		t.Fatalf("IPv6 pieces %+v", got)
	}
	if st := s.Stats(); st.Split != 1 || st.Pieces != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSplitterPassesUnchanged(t *testing.T) {
	s := middlebox.NewSplitter(10)
	urg := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, ACK: true, URG: true, Payload: payload(100)})
	bad := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, ACK: true, Payload: payload(100)})
	bad[len(bad)-1] ^= 1
	badIP := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, ACK: true, Payload: payload(100)})
	badIP[8]-- // TTL, without fixing the header checksum
	udp := pkttest.UDP(cli, srv, payload(100))
	for _, p := range [][]byte{urg, bad, badIP, udp, {0x60}} {
		out := run(s, p)
		if len(out) != 1 || !bytes.Equal(out[0], p) {
			t.Fatalf("packet changed or split: %d pieces", len(out))
		}
	}
	if s.Stats().Split != 0 {
		t.Fatalf("stats %+v", s.Stats())
	}
}
