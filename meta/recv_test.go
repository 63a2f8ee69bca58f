package meta

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// TestReassembly feeds data-level pieces in various orders and checks the
// stream, the queue and the counters.
func TestReassembly(t *testing.T) {
	data := pattern(1000, 20)
	type piece struct{ off, n int }
	tests := []struct {
		name     string
		pieces   []piece
		wantRead int // bytes readable at the end
		wantDup  int64
		wantOOO  int // bytes left queued
	}{
		{"in order", []piece{{0, 100}, {100, 100}, {200, 800}}, 1000, 0, 0},
		{"reverse", []piece{{800, 200}, {400, 400}, {0, 400}}, 1000, 0, 0},
		{"hole stays", []piece{{0, 100}, {200, 100}}, 100, 0, 100},
		{"overlaps", []piece{{100, 300}, {50, 100}, {350, 100}, {0, 60}}, 450, 0, 0},
		{"duplicates", []piece{{0, 500}, {0, 500}, {100, 50}, {0, 1000}}, 1000, 2, 0},
		{"inside queued", []piece{{500, 200}, {550, 50}, {0, 500}}, 700, 1, 0},
		{"fill between", []piece{{0, 10}, {20, 10}, {40, 10}, {5, 40}}, 50, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, _, _, _ := handshake(t, segConfig(1), segConfig(2))
			base := cli.rcvNxt
			for _, p := range tt.pieces {
				cli.deliver(base+uint64(p.off), data[p.off:p.off+p.n])
			}
			got := make([]byte, 2000)
			n, _ := cli.Read(got)
			if n != tt.wantRead || !bytes.Equal(got[:n], data[:n]) {
				t.Fatalf("read %d bytes (want %d) or they differ", n, tt.wantRead)
			}
			if cli.oooBytes != tt.wantOOO {
				t.Errorf("queued %d bytes, want %d", cli.oooBytes, tt.wantOOO)
			}
			if d := cli.MIB().Get(DuplicateData); d != tt.wantDup {
				t.Errorf("DuplicateData = %d, want %d", d, tt.wantDup)
			}
			if cli.rcvNxt != base+uint64(tt.wantRead) {
				t.Errorf("rcvNxt advanced %d, want %d", cli.rcvNxt-base, tt.wantRead)
			}
		})
	}
}

func TestReassemblyWindowAndFin(t *testing.T) {
	cc := segConfig(1)
	cc.RecvBufferSize = 4096
	cli, _, _, _ := handshake(t, cc, segConfig(2))
	base := cli.rcvNxt
	w := uint64(cli.rcvWindow())
	// Beyond the window: dropped and counted.
	cli.deliver(base+w, []byte("x"))
	if cli.oooBytes != 0 || cli.MIB().Get(NoDSSInWindow) != 1 {
		t.Fatalf("data beyond the window kept (%d) or not counted", cli.oooBytes)
	}
	// Straddling the edge: trimmed.
	cli.deliver(base+w-2, []byte("abcd"))
	if cli.oooBytes != 2 {
		t.Fatalf("queued %d bytes, want the 2 inside the window", cli.oooBytes)
	}
	// A DATA_FIN: data after it is refused, EOF once the rest arrives.
	cli2, _, _, _ := handshake(t, segConfig(3), segConfig(4))
	b2 := cli2.rcvNxt
	cli2.peerDataFin(b2 + 10)
	cli2.deliver(b2+5, []byte("56789XYZ"))
	cli2.deliver(b2, []byte("01234"))
	buf := make([]byte, 100)
	n, _ := cli2.Read(buf)
	if string(buf[:n]) != "0123456789" {
		t.Fatalf("read %q", buf[:n])
	}
	if _, err := cli2.Read(buf); err != io.EOF || cli2.rcvNxt != b2+11 {
		t.Fatalf("after the DATA_FIN: %v, rcvNxt +%d", err, cli2.rcvNxt-b2)
	}
	// A DATA_FIN before data already received is ignored.
	cli3, _, _, _ := handshake(t, segConfig(5), segConfig(6))
	b3 := cli3.rcvNxt
	cli3.deliver(b3, []byte("0123456789"))
	cli3.peerDataFin(b3 + 4)
	if cli3.rcvFin || cli3.rcvFinKnown {
		t.Fatal("DATA_FIN inside received data accepted")
	}
}

// TestMappingValidation sends the client data segments with bad mappings:
// each resets the subflow with MP_TCPRST and counts.
func TestMappingValidation(t *testing.T) {
	tests := []struct {
		name    string
		dss     func(cli, srv *Conn) wire.DSS
		payload int
		counter Counter
	}{
		{"mapping shorter than the segment", func(cli, srv *Conn) wire.DSS {
			return wire.DSS{Flags: wire.DSSMapping | wire.DSSDSN64, DSN: srv.localIDSN + 2, SSN: 2, DataLen: 5}
		}, 10, DSSNoMatchTCP},
		{"mapping elsewhere", func(cli, srv *Conn) wire.DSS {
			return wire.DSS{Flags: wire.DSSMapping | wire.DSSDSN64, DSN: srv.localIDSN + 2, SSN: 500, DataLen: 10}
		}, 10, DSSNoMatchTCP},
		{"infinite mapping", func(cli, srv *Conn) wire.DSS {
			return wire.DSS{Flags: wire.DSSMapping | wire.DSSDSN64, DSN: srv.localIDSN + 2, SSN: 2, DataLen: 0}
		}, 10, InfiniteMapRx},
		{"checksum not negotiated", func(cli, srv *Conn) wire.DSS {
			return wire.DSS{Flags: wire.DSSMapping | wire.DSSDSN64, DSN: srv.localIDSN + 2, SSN: 2, DataLen: 10, HasChecksum: true}
		}, 10, DSSNotMatching},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv, _, _, now := establishedPair(t)
			tc := cli.subflows[0].tc
			seg := tcp.Segment{SrcPort: serverAP.Port(), DstPort: cliID.Local.Port(), Seq: tc.Info().RcvNxt, Ack: tc.Info().SndNxt,
				Flags: tcp.FlagACK | tcp.FlagPSH, Window: 1000, Payload: pattern(tt.payload, 1)}
			seg.Options = peerTimestamps(t, srv, now)
			seg.Options.MPTCP[0] = tt.dss(cli, srv).Append(nil)
			seg.Options.NumMPTCP = 1
			cli.Input(now, cliID, &seg)
			segs := drain(t, cli, now)
			var rst *tcp.Segment
			for i := range segs {
				if segs[i].seg.Flags&tcp.FlagRST != 0 {
					rst = &segs[i].seg
				}
			}
			if rst == nil {
				t.Fatalf("no RST: %v", describe(segs))
			}
			if m := opts(rst); !m.Has(wire.SubtypeMPTCPRST) || m.MPTCPRST.Reason != wire.TCPRSTMPTCPError {
				t.Fatalf("RST without MP_TCPRST (MPTCP error): %v", describe(segs))
			}
			if cli.MIB().Get(tt.counter) != 1 {
				t.Fatalf("%v = %d, want 1", tt.counter, cli.MIB().Get(tt.counter))
			}
			if cli.Readable() != 1 { // only the "x" of establishedPair
				t.Fatalf("%d bytes readable: bad data was delivered", cli.Readable())
			}
		})
	}
}

// peerTimestamps returns timestamp options that the client accepts from
// the server: those of a fresh ACK of the server's first subflow.
func peerTimestamps(t testing.TB, srv *Conn, now time.Time) wire.TCPOptions {
	t.Helper()
	srv.subflows[0].tc.SendAck()
	segs := drain(t, srv, now)
	var o wire.TCPOptions
	if n := len(segs); n > 0 && segs[n-1].seg.Options.HasTimestamps {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, segs[n-1].seg.Options.TSVal, segs[n-1].seg.Options.TSEcr
	}
	return o
}

// TestConflictingMappings sends two mappings for the same subflow bytes.
func TestConflictingMappings(t *testing.T) {
	cli, srv, _, _, now := establishedPair(t)
	tc := cli.subflows[0].tc
	rcv := tc.Info().RcvNxt
	ssn := rcv - tc.IRS()
	mk := func(seq uint32, dsn uint64, payload []byte) tcp.Segment {
		s := tcp.Segment{SrcPort: serverAP.Port(), DstPort: cliID.Local.Port(), Seq: seq, Ack: tc.Info().SndNxt,
			Flags: tcp.FlagACK, Window: 1000, Payload: payload}
		s.Options = peerTimestamps(t, srv, now)
		s.Options.MPTCP[0] = wire.DSS{Flags: wire.DSSMapping | wire.DSSDSN64, DSN: dsn, SSN: ssn, DataLen: 20}.Append(nil)
		s.Options.NumMPTCP = 1
		return s
	}
	// The second half of a 20-byte mapping arrives first (out of
	// order), then the first half with a different DSN.
	a := mk(rcv+10, srv.localIDSN+2, pattern(10, 2))
	cli.Input(now, cliID, &a)
	drain(t, cli, now)
	b := mk(rcv, srv.localIDSN+1000, pattern(10, 3))
	cli.Input(now, cliID, &b)
	drain(t, cli, now)
	if cli.MIB().Get(DSSNotMatching) != 1 {
		t.Fatalf("DSSNotMatching = %d", cli.MIB().Get(DSSNotMatching))
	}
	if len(cli.Subflows()) != 0 {
		t.Fatal("subflow with conflicting mappings not reset")
	}
}

// TestFoldedDataFIN: the peer sends the rest of a mapping again with its
// DATA_FIN folded in (same DSN and subflow sequence number, Data-Level
// Length one more, flag F, RFC 8684 §3.3.3), as Linux does when its
// DATA_FIN is queued while the end of its last mapping is unsent. With
// checksums the two forms carry different checksums (§3.3.1): the data
// is accepted, not taken for a conflicting mapping; without checksums the
// DATA_FIN takes effect after the data.
func TestFoldedDataFIN(t *testing.T) {
	for _, csum := range []bool{true, false} {
		t.Run(fmt.Sprint("checksum=", csum), func(t *testing.T) {
			cli, srv, _, _, now := establishedPairCfg(t, func(cc, sc *Config) { cc.Checksum, sc.Checksum = csum, csum })
			tc := cli.subflows[0].tc
			rcv := tc.Info().RcvNxt
			ssn := rcv - tc.IRS()
			dsn := cli.rcvNxt
			data := pattern(20, 9)
			mk := func(seq uint32, payload []byte, fin bool) tcp.Segment {
				s := tcp.Segment{SrcPort: serverAP.Port(), DstPort: cliID.Local.Port(), Seq: seq, Ack: tc.Info().SndNxt,
					Flags: tcp.FlagACK, Window: 1000, Payload: payload}
				s.Options = peerTimestamps(t, srv, now)
				d := wire.DSS{Flags: wire.DSSMapping | wire.DSSDSN64, DSN: dsn, SSN: ssn, DataLen: 20}
				if fin {
					d.Flags |= wire.DSSDataFIN
					d.DataLen = 21
				}
				if csum {
					d.HasChecksum, d.Checksum = true, wire.DSSChecksum(dsn, ssn, d.DataLen, data)
				}
				s.Options.MPTCP[0] = d.Append(nil)
				s.Options.NumMPTCP = 1
				return s
			}
			a := mk(rcv, data[:10], false)
			cli.Input(now, cliID, &a)
			drain(t, cli, now)
			b := mk(rcv+10, data[10:], true)
			cli.Input(now, cliID, &b)
			drain(t, cli, now)
			if n := cli.MIB().Get(DSSNotMatching); n != 0 || len(cli.Subflows()) != 1 {
				t.Fatalf("DSSNotMatching %d, %d subflows: the folded DATA_FIN was taken for a conflict", n, len(cli.Subflows()))
			}
			got := make([]byte, 64)
			n, _ := cli.Read(got)
			if want := append([]byte("x"), data...); !bytes.Equal(got[:n], want) {
				t.Fatalf("read %q, want %q", got[:n], want)
			}
			if !csum {
				if _, err := cli.Read(got); err != io.EOF {
					t.Fatalf("after the data: %v, want io.EOF", err)
				}
			}
		})
	}
}
