package meta

import (
	"io"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
	"github.com/google/go-cmp/cmp"
)

// TestDataFinHandshake follows the close of RFC 8684 §3.3.3 segment by
// segment: each side's DATA_FIN on a pure ACK, its DATA_ACK, and the
// subflow FINs only after both.
func TestDataFinHandshake(t *testing.T) {
	cli, srv, _, _, now := establishedPair(t)
	buf := make([]byte, 10)
	if n, _ := cli.Read(buf); string(buf[:n]) != "x" {
		t.Fatalf("client read %q", buf[:n])
	}
	cli.Write([]byte("bye"))
	d := one(t, cli, now)
	srv.Input(now, srvID, &d)
	drain(t, srv, now)
	if err := cli.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Write([]byte("late")); err != ErrClosed {
		t.Fatalf("Write after CloseWrite: %v", err)
	}
	fin := one(t, cli, now)
	m := opts(&fin)
	finDSN := cli.localIDSN + 4
	want := wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64 | wire.DSSMapping | wire.DSSDSN64 | wire.DSSDataFIN,
		DataACK: srv.localIDSN + 2, DSN: finDSN, SSN: 0, DataLen: 1}
	if len(fin.Payload) != 0 || fin.Flags&tcp.FlagFIN != 0 || !cmp.Equal(m.DSS, want) {
		t.Fatalf("DATA_FIN segment %v %v, want %v", fin.Flags, m.DSS, want)
	}
	now = now.Add(time.Millisecond)
	srv.Input(now, srvID, &fin)
	if n, _ := srv.Read(buf); string(buf[:n]) != "bye" {
		t.Fatalf("server read %q", buf[:n])
	}
	if n, err := srv.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("server Read after DATA_FIN = %d, %v; want io.EOF", n, err)
	}
	// The DATA_FIN is acknowledged at once: DATA_ACK = DSN + 1.
	ack := one(t, srv, now)
	if m := opts(&ack); m.DSS.DataACK != finDSN+1 || m.DSS.HasMapping() {
		t.Fatalf("DATA_FIN answered with %v", m.DSS)
	}
	cli.Input(now, cliID, &ack)
	if !cli.finAcked {
		t.Fatal("client DATA_FIN not acknowledged")
	}
	if segs := drain(t, cli, now); len(segs) != 0 {
		t.Fatalf("client sent %v after its DATA_FIN was acknowledged", describe(segs))
	}
	// The server closes: its DATA_FIN, then, both being acknowledged,
	// the subflow FINs.
	srv.CloseWrite()
	sfin := one(t, srv, now)
	if m := opts(&sfin); !m.DSS.DataFIN() || m.DSS.DSN != srv.localIDSN+2 || sfin.Flags&tcp.FlagFIN != 0 {
		t.Fatalf("server DATA_FIN %v %v", sfin.Flags, m.DSS)
	}
	now = now.Add(time.Millisecond)
	cli.Input(now, cliID, &sfin)
	if n, err := cli.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("client Read = %d, %v; want io.EOF", n, err)
	}
	segs := drain(t, cli, now)
	if len(segs) != 1 || segs[0].seg.Flags&tcp.FlagFIN == 0 || opts(&segs[0].seg).DSS.DataACK != srv.localIDSN+3 {
		t.Fatalf("client after both DATA_FINs: %v", describe(segs))
	}
	// Run both to the end.
	for i := 0; i < 50 && !(cli.Closed() && srv.Closed()); i++ {
		for _, o := range segs {
			srv.Input(now, srvID, &o.seg)
		}
		back := drain(t, srv, now)
		for _, o := range back {
			cli.Input(now, cliID, &o.seg)
		}
		now = now.Add(time.Second)
		segs = drain(t, cli, now)
		if len(back) == 0 && len(segs) == 0 {
			now = now.Add(time.Minute)
			segs = drain(t, cli, now)
			drain(t, srv, now)
		}
	}
	if !cli.Closed() || !srv.Closed() || cli.Err() != nil || srv.Err() != nil {
		t.Fatalf("closed %v/%v errors %v/%v", cli.Closed(), srv.Closed(), cli.Err(), srv.Err())
	}
	if cli.MIB().Get(MPCurrEstab) != 0 || srv.MIB().Get(MPCurrEstab) != 0 {
		t.Fatal("MPCurrEstab not back to 0")
	}
}

// TestAbortSendsMPTCPRST checks the reset of every subflow.
func TestAbortSendsMPTCPRST(t *testing.T) {
	cli, srv, _, _, now := establishedPair(t)
	cli.Abort()
	rst := one(t, cli, now)
	m := opts(&rst)
	if rst.Flags&tcp.FlagRST == 0 || !m.Has(wire.SubtypeMPTCPRST) || m.MPTCPRST.Reason != wire.TCPRSTUnspecified {
		t.Fatalf("abort sent %v", describe([]out{{seg: rst}}))
	}
	srv.Input(now, srvID, &rst)
	drain(t, srv, now)
	if !srv.Closed() || srv.Err() == nil || srv.MIB().Get(MPRstRx) != 1 {
		t.Fatalf("server closed=%v err=%v MPRstRx=%d", srv.Closed(), srv.Err(), srv.MIB().Get(MPRstRx))
	}
	if _, err := srv.Write([]byte("x")); err == nil {
		t.Fatal("Write on a reset connection succeeded")
	}
	if !cli.Closed() || !errorsIs(cli.Err(), tcp.ErrAborted) {
		t.Fatalf("client closed=%v err=%v", cli.Closed(), cli.Err())
	}
}

// TestDataFINBeforeFirstDataACK: a DATA_FIN queued while the client still
// repeats MP_CAPABLE on its ACKs (no DATA_ACK from the server yet, RFC
// 8684 §3.1) goes out at once in a DSS, which takes precedence on that
// pure ACK as in Linux, rather than waiting for the server's first
// DATA_ACK or the data-level timer.
func TestDataFINBeforeFirstDataACK(t *testing.T) {
	cc, sc := segConfig(21), segConfig(22)
	cli, _, _, now := handshake(t, cc, sc)
	if !cli.mpcPhase {
		t.Fatal("the client is not in its MP_CAPABLE phase")
	}
	if err := cli.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	segs := drain(t, cli, now)
	for i := range segs {
		if m := opts(&segs[i].seg); m.Has(wire.SubtypeDSS) && m.DSS.DataFIN() {
			return
		}
	}
	t.Fatalf("no DATA_FIN sent: %v", describe(segs))
}
