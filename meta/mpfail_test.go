package meta

import (
	"errors"
	"testing"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// withOptions returns a copy of seg carrying only the given MPTCP options.
func withOptions(seg tcp.Segment, opts ...wire.MPTCPOption) tcp.Segment {
	seg.Options.NumMPTCP = 0
	for _, o := range opts {
		seg.Options.MPTCP[seg.Options.NumMPTCP] = o.Append(nil)
		seg.Options.NumMPTCP++
	}
	return seg
}

// TestMPFailAcceptance checks when a sender takes an MP_FAIL on its only
// subflow as the request to fall back with an infinite mapping
// (RFC 8684 §3.7): only with DSS checksums, and only with a DATA_ACK of
// the failed DSN beside it; anything else could rewind the data stream
// under a receiver that did not ask for it.
func TestMPFailAcceptance(t *testing.T) {
	tests := []struct {
		name         string
		csum         bool
		withAck      bool
		ackOff       uint64 // DATA_ACK minus the MP_FAIL's DSN
		wantFallback bool
		wantReset    bool
	}{
		{name: "checksums, DATA_ACK of the DSN", csum: true, withAck: true, wantFallback: true},
		{name: "no checksums: ignored", withAck: true},
		{name: "checksums, no DATA_ACK", csum: true, wantReset: true},
		{name: "checksums, other DATA_ACK", csum: true, withAck: true, ackOff: 1, wantReset: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv, _, _, now := establishedPairCfg(t, func(cc, sc *Config) { cc.Checksum = tt.csum })
			// The client's data goes out and is lost.
			cli.Write(pattern(500, 1))
			drain(t, cli, now)
			dsn := cli.sndUna
			srv.subflows[0].tc.SendAck()
			ack := one(t, srv, now)
			o := []wire.MPTCPOption{wire.MPFail{DSN: dsn}}
			if tt.withAck {
				o = append(o, wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64, DataACK: dsn + tt.ackOff})
			}
			seg := withOptions(ack, o...)
			cli.Input(now, cliID, &seg)
			out := drain(t, cli, now)
			var rst, inf bool
			for i := range out {
				m := opts(&out[i].seg)
				rst = rst || out[i].seg.Flags&tcp.FlagRST != 0
				inf = inf || m.Has(wire.SubtypeDSS) && m.DSS.IsInfiniteMapping()
			}
			if cli.Fallback() != tt.wantFallback || rst != tt.wantReset || inf != tt.wantFallback {
				t.Fatalf("fallback %v reset %v infinite mapping %v: %v", cli.Fallback(), rst, inf, describe(out))
			}
			if cli.MIB().Get(MPFailRx) != 1 {
				t.Fatalf("MPFailRx %d", cli.MIB().Get(MPFailRx))
			}
			if tt.wantFallback && cli.MIB().Get(InfiniteMapTx) != 1 {
				t.Fatalf("InfiniteMapTx %d", cli.MIB().Get(InfiniteMapTx))
			}
		})
	}
}

// TestMPFailAnswerIgnored checks that a receiver waiting for the infinite
// mapping takes the peer's MP_FAIL answer (Linux echoes it) as no request
// of its own.
func TestMPFailAnswerIgnored(t *testing.T) {
	cli, srv, _, _, now := establishedPairCfg(t, func(cc, sc *Config) { cc.Checksum = true })
	cli.awaitInfinite(cli.subflows[0])
	cli.Write(pattern(100, 2))
	drain(t, cli, now)
	srv.subflows[0].tc.SendAck()
	seg := withOptions(one(t, srv, now), wire.MPFail{DSN: cli.sndUna},
		wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64, DataACK: cli.sndUna})
	cli.Input(now, cliID, &seg)
	if cli.Fallback() || cli.infTx || len(cli.Subflows()) != 1 {
		t.Fatalf("fallback %v infinite mapping owed %v subflows %d", cli.Fallback(), cli.infTx, len(cli.Subflows()))
	}
}

// TestInfiniteMappingAfterDSSFallback falls back on data without a
// mapping, then receives an infinite mapping: one that agrees with the
// fallback's placement of the bytes is fine, one that does not resets the
// connection before its bytes are delivered.
func TestInfiniteMappingAfterDSSFallback(t *testing.T) {
	for _, agree := range []bool{true, false} {
		name := "agrees"
		if !agree {
			name = "disagrees"
		}
		t.Run(name, func(t *testing.T) {
			cli, srv, _, _, now := establishedPair(t)
			buf := make([]byte, 100)
			cli.Read(buf) // the "x"
			srv.Write([]byte("abc"))
			seg := withOptions(one(t, srv, now)) // stripped
			cli.Input(now, cliID, &seg)
			if !cli.Fallback() || cli.MIB().Get(DssFallback) != 1 {
				t.Fatal("no fallback on data without a mapping")
			}
			if n, _ := cli.Read(buf); string(buf[:n]) != "abc" {
				t.Fatalf("read %q", buf[:n])
			}
			srv.Write([]byte("def"))
			seg = one(t, srv, now)
			ssn := seg.Seq - srv.subflows[0].iss
			dsn := srv.localIDSN + uint64(ssn)
			if !agree {
				dsn = srv.localIDSN + 1 // a rewind to the start
			}
			seg = withOptions(seg, wire.DSS{Flags: wire.DSSMapping | wire.DSSDSN64, DSN: dsn, SSN: ssn})
			cli.Input(now, cliID, &seg)
			n, err := cli.Read(buf)
			if agree {
				if string(buf[:n]) != "def" || err != nil || cli.Closed() {
					t.Fatalf("read %q, %v; closed %v", buf[:n], err, cli.Closed())
				}
				return
			}
			if n != 0 || !errors.Is(cli.Err(), ErrFallbackMismatch) {
				t.Fatalf("read %q, error %v", buf[:n], cli.Err())
			}
		})
	}
}
