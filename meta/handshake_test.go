package meta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
	"github.com/google/go-cmp/cmp"
)

func TestMPCapableHandshakeOptions(t *testing.T) {
	for _, csum := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "checksum"}[csum], func(t *testing.T) {
			cc, sc := segConfig(1), segConfig(2)
			cc.Checksum = csum
			sc.DenyJoinInitial = true
			l, err := NewListener(sc, serverAP.Port(), 8)
			if err != nil {
				t.Fatal(err)
			}
			cli, err := Dial(t0, cc, cliID)
			if err != nil {
				t.Fatal(err)
			}
			// SYN: MP_CAPABLE version 1, flags H (and A), no key (§3.1).
			syn := one(t, cli, t0)
			wantFlags := byte(0x01)
			if csum {
				wantFlags |= 0x80
			}
			if syn.Options.NumMPTCP != 1 || !bytes.Equal(syn.Options.MPTCP[0], []byte{30, 4, 0x01, wantFlags}) {
				t.Fatalf("SYN options %x, want MP_CAPABLE 1e0401%02x", syn.Options.MPTCP[:syn.Options.NumMPTCP], wantFlags)
			}
			now := t0.Add(time.Millisecond)
			srv, _, _ := l.Input(now, srvID, &syn)
			if srv == nil {
				t.Fatal("SYN refused")
			}
			// SYN/ACK: the server's key; C set as configured, A echoed
			// by the server only if it asks for checksums itself.
			synack := one(t, srv, now)
			m := opts(&synack)
			want := wire.MPCapable{Form: wire.MPCapableSYNACK, Version: 1, SenderKey: srv.localKey,
				Flags: wire.MPCapableHMACSHA256 | wire.MPCapableNoJoinToSource}
			if !m.Has(wire.SubtypeMPCapable) || !cmp.Equal(m.MPCapable, want) {
				t.Fatalf("SYN/ACK MP_CAPABLE %+v, want %+v", m.MPCapable, want)
			}
			if srv.localToken != wire.Token(srv.localKey) || l.Tokens().Lookup(srv.localToken) != srv {
				t.Fatal("server token not registered")
			}
			now = now.Add(time.Millisecond)
			cli.Input(now, cliID, &synack)
			if !cli.Established() || cli.Fallback() || !cli.remoteDenyJoin || cli.csum != csum {
				t.Fatalf("client est=%v fallback=%v denyJoin=%v csum=%v", cli.Established(), cli.Fallback(), cli.remoteDenyJoin, cli.csum)
			}
			// Third ACK: both keys.
			ack := one(t, cli, now)
			m = opts(&ack)
			want = wire.MPCapable{Form: wire.MPCapableACK, Version: 1, SenderKey: cli.localKey, ReceiverKey: srv.localKey,
				Flags: wire.MPCapableHMACSHA256}
			if csum {
				want.Flags |= wire.MPCapableChecksumRequired
			}
			if !cmp.Equal(m.MPCapable, want) || len(ack.Payload) != 0 {
				t.Fatalf("third ACK MP_CAPABLE %+v, want %+v", m.MPCapable, want)
			}
			now = now.Add(time.Millisecond)
			srv.Input(now, srvID, &ack)
			if !srv.Established() || srv.Fallback() || srv.remoteKey != cli.localKey || srv.csum != csum {
				t.Fatalf("server est=%v fallback=%v key ok=%v csum=%v", srv.Established(), srv.Fallback(), srv.remoteKey == cli.localKey, srv.csum)
			}
			if got := l.MIB().Get(MPCapableACKRX); got != 1 {
				t.Fatalf("MPCapableACKRX = %d", got)
			}
			// The first data: MP_CAPABLE with the data-level length
			// (and checksum), its DSN implicitly IDSN+1 (§3.1).
			cli.Write([]byte("hello world"))
			data := one(t, cli, now)
			m = opts(&data)
			want.Form, want.DataLen = wire.MPCapableACKData, 11
			if csum {
				want.Form = wire.MPCapableACKDataChecksum
				want.Checksum = wire.DSSChecksum(cli.localIDSN+1, 1, 11, []byte("hello world"))
			}
			if !cmp.Equal(m.MPCapable, want) || string(data.Payload) != "hello world" || m.Has(wire.SubtypeDSS) {
				t.Fatalf("first data MP_CAPABLE %+v, want %+v (payload %q)", m.MPCapable, want, data.Payload)
			}
			now = now.Add(time.Millisecond)
			srv.Input(now, srvID, &data)
			buf := make([]byte, 100)
			if n, _ := srv.Read(buf); string(buf[:n]) != "hello world" {
				t.Fatalf("server read %q", buf[:n])
			}
			// The server's ACK: DSS with a 64-bit DATA_ACK, no mapping.
			sack := one(t, srv, now)
			m = opts(&sack)
			wantDSS := wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64, DataACK: cli.localIDSN + 12}
			if !cmp.Equal(m.DSS, wantDSS) || m.Has(wire.SubtypeMPCapable) {
				t.Fatalf("server ACK %v, want %v", m.DSS, wantDSS)
			}
			now = now.Add(time.Millisecond)
			cli.Input(now, cliID, &sack)
			if cli.mpcPhase || cli.Info().SndUna != cli.localIDSN+12 {
				t.Fatalf("client still in MP_CAPABLE phase (%v) or snd_una %d", cli.mpcPhase, cli.Info().SndUna)
			}
			// Later data: a DSS mapping with a 64-bit DSN, subflow
			// sequence number relative to the ISN.
			cli.Write([]byte("more"))
			d2 := one(t, cli, now)
			m = opts(&d2)
			wantDSS = wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64 | wire.DSSMapping | wire.DSSDSN64,
				DataACK: srv.localIDSN + 1, DSN: cli.localIDSN + 12, SSN: 12, DataLen: 4}
			if csum {
				wantDSS.HasChecksum = true
				wantDSS.Checksum = wire.DSSChecksum(cli.localIDSN+12, 12, 4, []byte("more"))
			}
			if !cmp.Equal(m.DSS, wantDSS) || m.Has(wire.SubtypeMPCapable) {
				t.Fatalf("data DSS %v, want %v", m.DSS, wantDSS)
			}
			// Flag C: no joins to the server's initial address.
			cli.cfg.Host = &endpoint{conns: map[tcp.ConnID]*Conn{}}
			if _, err := cli.AddSubflow(now, cliID.Local, serverAP, false); !errors.Is(err, ErrJoinDenied) {
				t.Fatalf("AddSubflow to a C-flag address: %v, want ErrJoinDenied", err)
			}
		})
	}
}

// TestMPCapableDataRetransmitted checks that the MP_CAPABLE with data is
// repeated on a retransmission while no DATA_ACK came (§3.1), and that a
// server that lost the third ACK becomes established from it.
func TestMPCapableDataRetransmitted(t *testing.T) {
	cc, sc := segConfig(3), segConfig(4)
	l, _ := NewListener(sc, serverAP.Port(), 8)
	cli, _ := Dial(t0, cc, cliID)
	syn := one(t, cli, t0)
	now := t0.Add(time.Millisecond)
	srv, _, _ := l.Input(now, srvID, &syn)
	synack := one(t, srv, now)
	cli.Input(now, cliID, &synack)
	_ = one(t, cli, now) // third ACK, lost
	cli.Write([]byte("abc"))
	_ = one(t, cli, now) // first data, lost
	// The retransmission carries MP_CAPABLE with data again.
	rt := drain(t, cli, cli.NextDeadline())
	var data *tcp.Segment
	for i := range rt {
		if len(rt[i].seg.Payload) > 0 {
			data = &rt[i].seg
		}
	}
	if data == nil {
		t.Fatalf("no retransmission: %v", describe(rt))
	}
	m := opts(data)
	if !m.Has(wire.SubtypeMPCapable) || m.MPCapable.Form != wire.MPCapableACKData || m.MPCapable.DataLen != 3 {
		t.Fatalf("retransmitted first data carries %v", describe(rt))
	}
	srv.Input(now.Add(time.Second), srvID, data)
	if !srv.Established() || srv.Fallback() {
		t.Fatalf("server est=%v fallback=%v", srv.Established(), srv.Fallback())
	}
	buf := make([]byte, 10)
	if n, _ := srv.Read(buf); string(buf[:n]) != "abc" {
		t.Fatalf("server read %q", buf[:n])
	}
}

// TestThirdAckDSSWithoutKeyDropped: a server that has not seen the
// client's key drops a DSS-only segment rather than guessing (§3.1).
func TestThirdAckDSSWithoutKeyDropped(t *testing.T) {
	cc, sc := segConfig(5), segConfig(6)
	l, _ := NewListener(sc, serverAP.Port(), 8)
	cli, _ := Dial(t0, cc, cliID)
	syn := one(t, cli, t0)
	srv, _, _ := l.Input(t0, srvID, &syn)
	synack := one(t, srv, t0)
	cli.Input(t0, cliID, &synack)
	ack := one(t, cli, t0)
	// Replace the MP_CAPABLE by a DSS with a DATA_ACK.
	dss := wire.DSS{Flags: wire.DSSDataACK | wire.DSSDataACK64, DataACK: srv.localIDSN + 1}.Append(nil)
	ack.Options.MPTCP[0] = dss
	srv.Input(t0, srvID, &ack)
	if srv.Established() {
		t.Fatal("server established without the client's key")
	}
	if st := srv.subflows[0].tc.State(); st != tcp.StateSynReceived {
		t.Fatalf("subflow state %v, want SYN-RECEIVED", st)
	}
}

func TestTokenCollisionDrawsAgain(t *testing.T) {
	// A key source whose first key collides with a token in use.
	keys := make([]byte, 16)
	binary.BigEndian.PutUint64(keys[0:], 42)
	binary.BigEndian.PutUint64(keys[8:], 43)
	tokens := NewTokenTable()
	other := &Conn{}
	tokens.Claim(wire.Token(42), other)
	cfg := segConfig(1)
	cfg.Rand = bytes.NewReader(keys)
	cfg.Tokens = tokens
	c, err := Dial(t0, cfg, cliID)
	if err != nil {
		t.Fatal(err)
	}
	if c.localKey != 43 || tokens.Lookup(wire.Token(43)) != c || tokens.Lookup(wire.Token(42)) != other {
		t.Fatalf("key %d; tokens: 42→%p 43→%p", c.localKey, tokens.Lookup(wire.Token(42)), tokens.Lookup(wire.Token(43)))
	}
	// With every key taken the connection is plain TCP (Linux's
	// MPFallbackTokenInit).
	cfg.Rand = bytes.NewReader(bytes.Repeat(keys[:8], maxKeyTries))
	c2, err := Dial(t0, cfg, cliID)
	if err != nil {
		t.Fatal(err)
	}
	if !c2.Fallback() || c2.MIB().Get(MPFallbackTokenInit) != 1 {
		t.Fatalf("fallback=%v counter=%d", c2.Fallback(), c2.MIB().Get(MPFallbackTokenInit))
	}
	syn := one(t, c2, t0)
	if syn.Options.NumMPTCP != 0 {
		t.Fatal("token-less connection sent MP_CAPABLE")
	}
	// A short key source is an error, not a panic.
	cfg.Rand = bytes.NewReader([]byte{1, 2})
	if _, err := Dial(t0, cfg, cliID); err == nil {
		t.Fatal("Dial with an exhausted Rand succeeded")
	}
}

func TestConfigValidation(t *testing.T) {
	base := func() *Config { return segConfig(1) }
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no rand", func(c *Config) { c.Rand = nil }},
		{"chunk too big", func(c *Config) { c.ChunkSize = 70000 }},
		{"negative chunk", func(c *Config) { c.ChunkSize = -1 }},
		{"tiny recv buffer", func(c *Config) { c.RecvBufferSize = 10 }},
		{"too many subflows", func(c *Config) { c.MaxSubflows = 300 }},
		{"bad subflow config", func(c *Config) { c.Subflow.MSS = 10 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mod(c)
			if _, err := Dial(t0, c, cliID); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Dial: %v, want ErrInvalidConfig", err)
			}
			if _, err := NewListener(c, 80, 1); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewListener: %v, want ErrInvalidConfig", err)
			}
		})
	}
}
