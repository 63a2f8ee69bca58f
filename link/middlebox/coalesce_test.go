package middlebox_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
)

func dataSeg(seq uint32, n int, psh bool, opts ...layers.TCPOption) []byte {
	return pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: seq, Ack: 77, ACK: true, PSH: psh, Options: opts,
		Payload: payload(int(seq) + n)[seq:]})
}

func TestCoalescer(t *testing.T) {
	c := middlebox.NewCoalescer(middlebox.CoalescerConfig{Hold: time.Millisecond})
	var out collect
	// Three contiguous segments, then one that does not continue them, a
	// segment of another flow in between, and a pure ACK.
	c.Process(t0, dataSeg(0, 100, false, nop, nop, ts), &out)
	c.Process(t0.Add(100*time.Microsecond), dataSeg(100, 100, true, nop, nop, ts), &out)
	other := pkttest.TCP(pkttest.TCPSpec{Src: srv, Dst: cli, Seq: 5, Ack: 300, ACK: true, Payload: []byte("reply")})
	c.Process(t0.Add(200*time.Microsecond), other, &out)
	c.Process(t0.Add(300*time.Microsecond), dataSeg(200, 100, false, nop, nop, ts), &out)
	if len(out.got) != 0 {
		t.Fatalf("emitted %d packets before the hold ended", len(out.got))
	}
	if d := c.Deadline(); !d.Equal(t0.Add(time.Millisecond)) {
		t.Fatalf("Deadline() = %v", d.Sub(t0))
	}
	c.Process(t0.Add(400*time.Microsecond), dataSeg(400, 100, false, nop, nop, ts), &out) // a gap: releases the merged one
	if len(out.got) != 1 {
		t.Fatalf("emitted %d packets, want the merged segment", len(out.got))
	}
	got, data := summarize(t, out.got)
	want := []segSummary{{Seq: 0, Len: 300, ACK: true, PSH: true, Options: 3, IPLen: 20 + 20 + 12 + 300}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("merged (-want +got):\n%s", diff)
	}
	if !bytes.Equal(data, payload(300)) {
		t.Fatal("merged data differs")
	}
	c.Poll(t0.Add(1199*time.Microsecond), &out) // nothing due yet
	if len(out.got) != 1 {
		t.Fatalf("released early: %d packets", len(out.got))
	}
	c.Poll(t0.Add(1200*time.Microsecond), &out) // the other flow's segment is due
	if len(out.got) != 2 || !bytes.Equal(out.got[1], other) {
		t.Fatalf("after the hold: %d packets", len(out.got))
	}
	c.Poll(t0.Add(1400*time.Microsecond), &out) // a lone segment comes out unchanged
	if len(out.got) != 3 || !bytes.Equal(out.got[2], dataSeg(400, 100, false, nop, nop, ts)) {
		t.Fatalf("lone segment: %d packets", len(out.got))
	}
	if !c.Deadline().IsZero() {
		t.Fatal("deadline with nothing held")
	}
	if st := c.Stats(); st.Merged != 2 || st.Emitted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCoalescerRules(t *testing.T) {
	tsOther := layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 9, 0, 0, 0, 2}}
	fin := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 100, Ack: 77, ACK: true, FIN: true, Payload: payload(200)[100:]})
	otherAck := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 100, Ack: 78, ACK: true, Payload: payload(200)[100:]})
	corrupt := dataSeg(100, 100, false)
	corrupt[len(corrupt)-1] ^= 1
	tests := []struct {
		name    string
		cfg     middlebox.CoalescerConfig
		second  []byte
		wantLen []int // payload lengths emitted, in order
	}{
		{"options differ", middlebox.CoalescerConfig{}, dataSeg(100, 100, false, nop, nop, tsOther), []int{100, 100}},
		{"options differ, AnyOptions", middlebox.CoalescerConfig{AnyOptions: true}, dataSeg(100, 100, false, nop, nop, tsOther), []int{200}},
		{"MPTCP DSS lost with AnyOptions", middlebox.CoalescerConfig{AnyOptions: true}, dataSeg(100, 100, false, dssAck), []int{200}},
		{"too big", middlebox.CoalescerConfig{MaxSize: 20 + 20 + 12 + 199}, dataSeg(100, 100, false, nop, nop, ts), []int{100, 100}},
		{"just fits", middlebox.CoalescerConfig{MaxSize: 20 + 20 + 12 + 200}, dataSeg(100, 100, false, nop, nop, ts), []int{200}},
		{"FIN is not merged", middlebox.CoalescerConfig{AnyOptions: true}, fin, []int{100, 100}},
		{"different ack", middlebox.CoalescerConfig{AnyOptions: true}, otherAck, []int{100, 100}},
		{"bad checksum", middlebox.CoalescerConfig{AnyOptions: true}, corrupt, []int{100, 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := middlebox.NewCoalescer(tc.cfg)
			var out collect
			first := dataSeg(0, 100, false, nop, nop, ts)
			c.Process(t0, first, &out)
			c.Process(t0, tc.second, &out)
			c.Poll(t0, &out) // Hold 0: released at the same instant
			var lens []int
			for _, p := range out.got {
				d, err := pkttest.Decode(p)
				if err != nil || d.TCP == nil {
					t.Fatalf("undecodable output: %v", err)
				}
				lens = append(lens, len(d.TCP.Payload))
				if len(lens) == 1 && len(d.TCP.Payload) == 200 {
					checksumsOK(t, p)
					if !bytes.Equal(d.TCP.Payload, payload(200)) {
						t.Fatal("merged data differs")
					}
					// The first segment's options are kept.
					if d.TCP.Options[2].OptionType != layers.TCPOptionKindTimestamps || d.TCP.Options[2].OptionData[3] != 1 {
						t.Fatalf("options %v", d.TCP.Options)
					}
				}
			}
			if diff := cmp.Diff(tc.wantLen, lens); diff != "" {
				t.Fatalf("emitted payload lengths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCoalescerIPv6AndPassThrough(t *testing.T) {
	c := middlebox.NewCoalescer(middlebox.CoalescerConfig{})
	var out collect
	for i := range 3 {
		c.Process(t0, pkttest.TCP(pkttest.TCPSpec{Src: cli6, Dst: srv6, Seq: uint32(i * 50), ACK: true, Payload: payload(150)[i*50 : i*50+50]}), &out)
	}
	udp := pkttest.UDP(cli, srv, []byte("x"))
	c.Process(t0, udp, &out) // passes at once
	c.Poll(t0, &out)
	if len(out.got) != 2 || !bytes.Equal(out.got[0], udp) {
		t.Fatalf("%d packets out", len(out.got))
	}
	checksumsOK(t, out.got[1])
	d := decode(t, out.got[1])
	if !bytes.Equal(d.TCP.Payload, payload(150)) || d.IPv6.Length != 20+150 {
		t.Fatalf("merged IPv6 segment: payload %d bytes, length %d", len(d.TCP.Payload), d.IPv6.Length)
	}
}
