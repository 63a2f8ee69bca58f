package meta

import (
	"errors"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// TestFastClose aborts a connection (RFC 8684 §3.5): the RST carries
// MP_FASTCLOSE with the peer's key and MP_TCPRST (unspecified), as Linux
// sends it; the peer resets and reports ErrFastClose, an ECONNRESET. With a
// wrong key the option is ignored; on an ACK (the RFC's other way) it resets
// every subflow of the receiver.
func TestFastClose(t *testing.T) {
	tests := []struct {
		name    string
		onACK   bool   // send MP_FASTCLOSE on a pure ACK instead of Abort's RST
		keyXor  uint64 // damage the key
		wantErr error
		wantRx  Counter
	}{
		{name: "RST with the key", wantErr: ErrFastClose, wantRx: MPFastcloseRx},
		{name: "RST with a wrong key", keyXor: 1, wantErr: ErrAllSubflowsFailed, wantRx: MPFastcloseRxBadKey},
		{name: "ACK with the key", onACK: true, wantErr: ErrFastClose, wantRx: MPFastcloseRx},
		{name: "ACK with a wrong key", onACK: true, keyXor: 1 << 40, wantRx: MPFastcloseRxBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv, _, _, now := establishedPair(t)
			var seg tcp.Segment
			if tt.onACK {
				cli.subflows[0].tc.SendAck()
				seg = one(t, cli, now)
				seg.Options.MPTCP[0] = wire.MPFastClose{ReceiverKey: srv.localKey ^ tt.keyXor}.Append(nil)
				seg.Options.NumMPTCP = 1
			} else {
				cli.Abort()
				seg = one(t, cli, now)
				m := opts(&seg)
				if seg.Flags&tcp.FlagRST == 0 || !m.Has(wire.SubtypeMPFastClose) || m.MPFastClose.ReceiverKey != srv.localKey ||
					!m.Has(wire.SubtypeMPTCPRST) || m.MPTCPRST.Reason != wire.TCPRSTUnspecified {
					t.Fatalf("abort sent %v", describe([]out{{seg: seg}}))
				}
				if cli.MIB().Get(MPFastcloseTx) != 1 || !errors.Is(cli.Err(), tcp.ErrAborted) {
					t.Fatalf("MPFastcloseTx %d, client error %v", cli.MIB().Get(MPFastcloseTx), cli.Err())
				}
				for i := range seg.Options.NumMPTCP {
					if st, _ := wire.PeekMPTCPSubtype(seg.Options.MPTCP[i]); st == wire.SubtypeMPFastClose {
						seg.Options.MPTCP[i] = wire.MPFastClose{ReceiverKey: srv.localKey ^ tt.keyXor}.Append(nil)
					}
				}
			}
			srv.Input(now, srvID, &seg)
			back := drain(t, srv, now)
			if srv.MIB().Get(tt.wantRx) != 1 {
				t.Fatalf("%v = %d", tt.wantRx, srv.MIB().Get(tt.wantRx))
			}
			if tt.wantErr == nil {
				// Ignored: the server goes on.
				if srv.Closed() || srv.Err() != nil || len(back) != 0 {
					t.Fatalf("closed %v err %v, sent %v", srv.Closed(), srv.Err(), describe(back))
				}
				return
			}
			if !srv.Closed() || !errors.Is(srv.Err(), tt.wantErr) {
				t.Fatalf("server closed %v err %v, want %v", srv.Closed(), srv.Err(), tt.wantErr)
			}
			if tt.wantErr == ErrFastClose && !errors.Is(srv.Err(), tcp.ErrConnectionReset) {
				t.Fatalf("%v does not match tcp.ErrConnectionReset", srv.Err())
			}
			if tt.onACK {
				// The receiver resets the subflow itself, without
				// MP_FASTCLOSE.
				if len(back) != 1 || back[0].seg.Flags&tcp.FlagRST == 0 || opts(&back[0].seg).Has(wire.SubtypeMPFastClose) {
					t.Fatalf("answer to MP_FASTCLOSE on an ACK: %v", describe(back))
				}
			}
			if _, err := srv.Write([]byte("x")); err == nil {
				t.Fatal("Write after a fast close succeeded")
			}
		})
	}
}

// TestFastCloseAllSubflows aborts a connection with two subflows: each
// gets a RST with MP_FASTCLOSE (as in Linux's capture), and the peer's
// connection ends with ErrFastClose.
func TestFastCloseAllSubflows(t *testing.T) {
	h := newHarness(t, 3, pathCfg{delay: 5 * time.Millisecond})
	var fcRST int
	h.observe = func(toSrv bool, from tcp.ConnID, seg *tcp.Segment) {
		if m := opts(seg); toSrv && seg.Flags&tcp.FlagRST != 0 && m.Has(wire.SubtypeMPFastClose) && m.Has(wire.SubtypeMPTCPRST) {
			fcRST++
		}
	}
	cc, sc := testConfig(51, h.cli), testConfig(52, h.srv)
	h.listen(sc)
	x := &transfer{h: h, up: pattern(1<<20, 1), down: pattern(1<<20, 2), joins: clientAddr[1:2], keepOpen: true}
	x.cli = h.dial(cc, clientAddr[0])
	aborted := false
	app := func() {
		x.app()
		if !aborted && len(x.gotDown) > 100<<10 && len(x.cli.Subflows()) == 2 && x.cli.Info().Subflow[1].FullyEstablished {
			x.cli.Abort()
			aborted = true
		}
	}
	h.run(time.Minute, app, func() bool { return aborted && x.srv.Closed() })
	if fcRST != 2 || x.cli.MIB().Get(MPFastcloseTx) != 2 || x.srv.MIB().Get(MPFastcloseRx) < 1 {
		t.Fatalf("%d RSTs with MP_FASTCLOSE, MPFastcloseTx %d, MPFastcloseRx %d", fcRST, x.cli.MIB().Get(MPFastcloseTx), x.srv.MIB().Get(MPFastcloseRx))
	}
	if !errors.Is(x.srv.Err(), ErrFastClose) {
		t.Fatalf("server error %v", x.srv.Err())
	}
	if _, err := x.srv.Read(make([]byte, 1<<20)); err != nil && !errors.Is(err, ErrFastClose) {
		t.Fatalf("Read error %v", err)
	}
}

// TestCloseTimeout closes a connection whose peer never sends its
// DATA_FIN: after Config.CloseTimeout (Linux's close_timeout, 60 s by
// default) the connection is fast-closed.
func TestCloseTimeout(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		want    time.Duration // 0: never
	}{
		{name: "default", want: DefaultCloseTimeout},
		{name: "short", timeout: 5 * time.Second, want: 5 * time.Second},
		{name: "off", timeout: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv, _, _, now := establishedPairCfg(t, func(cc, sc *Config) { cc.CloseTimeout = tt.timeout })
			start := now
			if err := cli.Close(); err != nil {
				t.Fatal(err)
			}
			// The DATA_FIN goes out and is acknowledged; the server
			// keeps its side open.
			relay(t, cli, srv, now)
			relay(t, srv, cli, now)
			if !cli.finAcked {
				t.Fatal("DATA_FIN not acknowledged")
			}
			var at time.Duration
			for range 20 {
				next := cli.NextDeadline()
				if next.IsZero() || next.Sub(start) > 10*time.Minute {
					break
				}
				now = next
				segs := relay(t, cli, srv, now)
				if len(segs) == 1 && segs[0].seg.Flags&tcp.FlagRST != 0 && opts(&segs[0].seg).Has(wire.SubtypeMPFastClose) {
					at = now.Sub(start)
					break
				}
			}
			if at != tt.want {
				t.Fatalf("fast close after %v, want %v (0: never)", at, tt.want)
			}
			if tt.want == 0 {
				if cli.Closed() {
					t.Fatal("closed without a timeout")
				}
				return
			}
			if !cli.Closed() || !errors.Is(cli.Err(), ErrCloseTimeout) || !errors.Is(srv.Err(), ErrFastClose) {
				t.Fatalf("client closed %v err %v, server err %v", cli.Closed(), cli.Err(), srv.Err())
			}
		})
	}
}

// TestCloseTimeoutCancelled checks that a close that completes stops the
// timer: both DATA_FINs acknowledged, no fast close follows.
func TestCloseTimeoutCancelled(t *testing.T) {
	cli, srv, _, _, now := establishedPairCfg(t, func(cc, sc *Config) { cc.CloseTimeout = 5 * time.Second })
	cli.Close()
	srv.CloseWrite()
	for range 200 {
		relay(t, cli, srv, now)
		relay(t, srv, cli, now)
		if cli.Closed() && srv.Closed() {
			break
		}
		next := cli.NextDeadline()
		if n2 := srv.NextDeadline(); next.IsZero() || !n2.IsZero() && n2.Before(next) {
			next = n2
		}
		if next.IsZero() {
			break
		}
		now = next
	}
	if !cli.Closed() || cli.Err() != nil || cli.MIB().Get(MPFastcloseTx) != 0 {
		t.Fatalf("closed %v err %v, MPFastcloseTx %d", cli.Closed(), cli.Err(), cli.MIB().Get(MPFastcloseTx))
	}
}
