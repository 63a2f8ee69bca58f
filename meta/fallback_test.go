package meta

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/wire"
)

// stream is what a test application uses of a meta.Conn or a tcp.Conn.
type stream interface {
	Write([]byte) (int, error)
	Read([]byte) (int, error)
	CloseWrite() error
}

// pipe moves data both ways between two streams found by cli and srv.
type pipe struct {
	cli, srv       func() stream
	up, down       []byte
	upOff, downOff int
	gotUp, gotDown []byte
	cliEOF, srvEOF bool
	cliFin, srvFin bool
	buf            []byte
}

func (p *pipe) app() {
	if p.buf == nil {
		p.buf = make([]byte, 32<<10)
	}
	c := p.cli()
	if c != nil {
		p.upOff += mustWrite(c, p.up[p.upOff:])
		if p.upOff == len(p.up) && !p.cliFin {
			p.cliFin = true
			c.CloseWrite()
		}
		p.gotDown, p.cliEOF = readStream(c, p.buf, p.gotDown, p.cliEOF)
	}
	s := p.srv()
	if s != nil {
		p.downOff += mustWrite(s, p.down[p.downOff:])
		if p.downOff == len(p.down) && !p.srvFin {
			p.srvFin = true
			s.CloseWrite()
		}
		p.gotUp, p.srvEOF = readStream(s, p.buf, p.gotUp, p.srvEOF)
	}
}

func mustWrite(s stream, p []byte) int {
	if len(p) == 0 {
		return 0
	}
	n, _ := s.Write(p)
	return n
}

func readStream(s stream, buf, sink []byte, eof bool) ([]byte, bool) {
	for {
		n, err := s.Read(buf)
		sink = append(sink, buf[:n]...)
		if err != nil {
			return sink, true
		}
		if n == 0 {
			return sink, eof
		}
	}
}

func (p *pipe) check(t *testing.T) {
	t.Helper()
	if !bytes.Equal(p.gotUp, p.up) || !bytes.Equal(p.gotDown, p.down) {
		t.Fatalf("received %d/%d bytes up, %d/%d down, or they differ", len(p.gotUp), len(p.up), len(p.gotDown), len(p.down))
	}
}

// mutateSYNACKMPC rewrites the MP_CAPABLE of the server's SYN/ACK.
func mutateSYNACKMPC(fn func(o []byte)) func(f *flight) bool {
	return func(f *flight) bool {
		if !f.toSrv && f.seg.Flags.Has(tcp.FlagSYN|tcp.FlagACK) {
			for i := range f.seg.Options.NumMPTCP {
				if st, _ := wire.PeekMPTCPSubtype(f.seg.Options.MPTCP[i]); st == wire.SubtypeMPCapable {
					fn(f.seg.Options.MPTCP[i])
				}
			}
		}
		return true
	}
}

func TestFallback(t *testing.T) {
	up, down := pattern(200<<10, 3), pattern(150<<10, 4)
	tests := []struct {
		name string
		// plainServer/plainClient replace one side by plain TCP.
		plainServer, plainClient bool
		mutate                   func(f *flight) bool
		wantCli, wantSrv         Counter // counters that must read 1 (if set)
	}{
		{name: "server without MPTCP", plainServer: true, wantCli: MPCapableFallbackSYNACK},
		{name: "client without MPTCP", plainClient: true},
		{name: "SYN/ACK version 0", mutate: mutateSYNACKMPC(func(o []byte) {
			o[2] &^= 0x0f
		}), wantCli: MPCapableFallbackSYNACK, wantSrv: MPCapableFallbackACK},
		{name: "SYN/ACK flag B", mutate: mutateSYNACKMPC(func(o []byte) {
			o[3] |= byte(wire.MPCapableExtensibility)
		}), wantCli: MPCapableFallbackSYNACK, wantSrv: MPCapableFallbackACK},
		{name: "SYN/ACK without H", mutate: mutateSYNACKMPC(func(o []byte) {
			o[3] &^= byte(wire.MPCapableHMACSHA256)
		}), wantCli: MPCapableFallbackSYNACK, wantSrv: MPCapableFallbackACK},
		{name: "SYN/ACK without MP_CAPABLE", mutate: func(f *flight) bool {
			if !f.toSrv && f.seg.Flags.Has(tcp.FlagSYN|tcp.FlagACK) {
				f.seg.Options.NumMPTCP = 0
			}
			return true
		}, wantCli: MPCapableFallbackSYNACK, wantSrv: MPCapableFallbackACK},
		{name: "third ACK without MP_CAPABLE", mutate: func(f *flight) bool {
			// A middlebox strips every MPTCP option from the client's
			// segments after its SYN.
			if f.toSrv && f.seg.Flags&tcp.FlagSYN == 0 {
				f.seg.Options.NumMPTCP = 0
			}
			return true
		}, wantCli: MPCapableFallbackACK, wantSrv: MPCapableFallbackACK},
	}
	for _, tt := range tests {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, seed, pathCfg{delay: 5 * time.Millisecond, jitter: 2 * time.Millisecond, loss: 0.01})
				h.mutate = tt.mutate
				cc, sc := testConfig(seed, h.cli), testConfig(seed+50, h.srv)
				p := &pipe{up: up, down: down}
				var cli, srv *Conn
				var pc *tcp.Conn
				cid := tcp.ConnID{Local: netip.AddrPortFrom(clientAddr[0], 41000), Remote: serverAP}
				if tt.plainServer {
					l, err := tcp.NewListener(&cc.Subflow, serverAP.Port(), 8)
					if err != nil {
						t.Fatal(err)
					}
					h.srv.plainL = l
				} else {
					h.listen(sc)
				}
				if tt.plainClient {
					var err error
					pc, err = tcp.Dial(h.now, &cc.Subflow, cid, nil)
					if err != nil {
						t.Fatal(err)
					}
					h.cli.plain[cid] = pc
					p.cli = func() stream { return pc }
				} else {
					cli = h.dial(cc, clientAddr[0])
					p.cli = func() stream { return cli }
				}
				p.srv = func() stream {
					if tt.plainServer {
						for _, c := range h.srv.plain {
							return c
						}
						return nil
					}
					if srv == nil {
						srv, _ = h.srv.lst.Accept()
					}
					if srv == nil {
						return nil
					}
					return srv
				}
				h.run(5*time.Minute, p.app, func() bool { return p.cliEOF && p.srvEOF })
				p.check(t)
				if cli != nil && !cli.Fallback() {
					t.Error("client did not fall back")
				}
				if srv != nil && !srv.Fallback() {
					t.Error("server did not fall back")
				}
				if cli != nil && tt.wantCli != 0 && cli.MIB().Get(tt.wantCli) != 1 {
					t.Errorf("client %v = %d, want 1", tt.wantCli, cli.MIB().Get(tt.wantCli))
				}
				if srv != nil && tt.wantSrv != 0 && srv.MIB().Get(tt.wantSrv) != 1 {
					t.Errorf("server %v = %d, want 1", tt.wantSrv, srv.MIB().Get(tt.wantSrv))
				}
				if cli != nil {
					if i := cli.Info(); i.Flags&InfoFlagFallback == 0 {
						t.Error("Info lacks the fallback flag")
					}
					h.run(5*time.Minute, p.app, func() bool { return cli.Closed() })
					if cli.Err() != nil {
						t.Errorf("client error after orderly close: %v", cli.Err())
					}
					if l := h.srv.lst; l != nil && l.Tokens().(*TokenTable).Len() != 0 {
						t.Errorf("%d tokens left registered", l.Tokens().(*TokenTable).Len())
					}
				}
			})
		}
	}
}
