package middlebox_test

import (
	"bytes"
	"testing"

	"github.com/gomptcp/mptcp/link/internal/pkttest"
	"github.com/gomptcp/mptcp/link/middlebox"
)

func TestRewriter(t *testing.T) {
	seg := func(seq uint32, payload string) []byte {
		return pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: seq, Ack: 7, ACK: true, Payload: []byte(payload)})
	}
	pure := pkttest.TCP(pkttest.TCPSpec{Src: cli, Dst: srv, Seq: 1, Ack: 7, ACK: true})
	six := pkttest.TCP(pkttest.TCPSpec{Src: cli6, Dst: srv6, Seq: 9, Ack: 7, ACK: true, Payload: []byte("v6")})
	corrupt := seg(50, "bad")
	corrupt[len(corrupt)-1] ^= 1 // the TCP checksum no longer verifies

	in := [][]byte{seg(1, "one"), pure, seg(4, "two"), seg(7, "three"), six, corrupt, seg(12, "four")}
	r := middlebox.NewRewriter(middlebox.RewriterConfig{Skip: 1, Count: 3})
	got := run(r, in...)
	if len(got) != len(in) {
		t.Fatalf("%d packets out of %d", len(got), len(in))
	}
	// Skipped: the first data segment; rewritten: the next three with a
	// valid checksum ("two", "three", "v6"); the corrupted one and the
	// pure ACK pass unchanged, and "four" is beyond Count.
	changed := []bool{false, false, true, true, true, false, false}
	for i := range in {
		if same := bytes.Equal(got[i], in[i]); same == changed[i] {
			t.Errorf("packet %d: changed %v, want %v", i, !same, changed[i])
		}
		if changed[i] {
			checksumsOK(t, got[i])
			// Only the first payload byte and the TCP checksum differ.
			ip := 20
			if i == 4 {
				ip = 40
			}
			for _, off := range diffBytes(got[i], in[i]) {
				if off != ip+20 && off != ip+16 && off != ip+17 {
					t.Errorf("packet %d: byte %d changed", i, off)
				}
			}
			if got[i][ip+20] != ^in[i][ip+20] {
				t.Errorf("packet %d: first payload byte %#x, want %#x", i, got[i][ip+20], ^in[i][ip+20])
			}
		}
	}
	if s := r.Stats(); s.DataSegments != 6 || s.Rewritten != 3 {
		t.Errorf("stats %+v, want 6 data segments, 3 rewritten", s)
	}
}
