package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/interop/payload"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/link/tun"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
)

var (
	dev0 = "gmt0,10.1.0.2/24,10.1.0.1/24"
	dev1 = "gmt1,10.1.1.2/24,10.1.1.1/24"
)

func TestParseTransferArgs(t *testing.T) {
	pfx := netip.MustParsePrefix
	base := func(role string) *transferCmd {
		return &transferCmd{
			role: role, mptcp: true, sendBytes: -1, expectBytes: -1, seed: 1, peerSeed: 1,
			chunk: transferDefaultChunk, limits: mptcp.Limits{Subflows: 2},
			tuns: []tun.DeviceConfig{{Name: "gmt0", Addrs: []netip.Prefix{pfx("10.1.0.2/24")}, KernelAddrs: []netip.Prefix{pfx("10.1.0.1/24")}}},
		}
	}
	for _, tc := range []struct {
		name string
		role string
		args []string
		want func(c *transferCmd)
	}{
		{"connect minimal", "connect", []string{"10.1.0.1:7000", "--tun", dev0}, func(c *transferCmd) {
			c.target = netip.MustParseAddrPort("10.1.0.1:7000")
		}},
		{"connect flags first", "connect", []string{"--tun", dev0, "--send-bytes", "20M", "--seed", "5", "--expect-bytes", "1k",
			"--peer-seed", "6", "--checksum", "--json", "--timeout", "30s", "--local", "10.1.0.2", "10.1.0.1:80"}, func(c *transferCmd) {
			c.target = netip.MustParseAddrPort("10.1.0.1:80")
			c.local = netip.MustParseAddrPort("10.1.0.2:0")
			c.sendBytes, c.seed, c.expectBytes, c.peerSeed = 20<<20, 5, 1<<10, 6
			c.checksum, c.json, c.timeout = true, true, 30*time.Second
		}},
		{"connect two paths", "connect", []string{"10.1.0.1:7000", "--tun", dev0, "--tun", dev1 + ",mtu=9000,nooffload",
			"--endpoint", "10.1.1.2,subflow,backup,id=7", "--subflows", "4", "--add-addr-accepted", "1", "--local", "10.1.0.2:4000",
			"--fastclose", "--netns", "gmtns"}, func(c *transferCmd) {
			c.target = netip.MustParseAddrPort("10.1.0.1:7000")
			c.local = netip.MustParseAddrPort("10.1.0.2:4000")
			c.tuns = append(c.tuns, tun.DeviceConfig{Name: "gmt1", Addrs: []netip.Prefix{pfx("10.1.1.2/24")},
				KernelAddrs: []netip.Prefix{pfx("10.1.1.1/24")}, MTU: 9000, DisableOffloads: true})
			c.endpoints = []mptcp.Endpoint{{ID: 7, Addr: netip.MustParseAddr("10.1.1.2"), Flags: mptcp.FlagSubflow | mptcp.FlagBackup}}
			c.limits = mptcp.Limits{Subflows: 4, AddAddrAccepted: 1}
			c.fastclose = true
			c.netns = "/run/netns/gmtns"
		}},
		{"listen defaults", "listen", []string{"--tun", dev0}, func(c *transferCmd) {
			c.listen = netip.AddrPortFrom(netip.Addr{}, 7000)
			c.count = 1
		}},
		{"listen all", "listen", []string{"--tun", dev0 + ",attach", "--addr", "10.1.0.2:0", "--count", "0", "--mptcp=false",
			"--netns", "/proc/1/ns/net", "--expect-reset", "--chunk", "1", "--delay", "1s", "--hold", "2s"}, func(c *transferCmd) {
			c.tuns[0].Attach = true
			c.listen = netip.MustParseAddrPort("10.1.0.2:0")
			c.mptcp, c.expectReset, c.chunk = false, true, 1
			c.netns = "/proc/1/ns/net"
			c.delay, c.hold = time.Second, 2*time.Second
		}},
		{"listen IPv6", "listen", []string{"--tun", "gmt6,fd00::2/64,fd00::1/64", "--addr", "[fd00::2]:9"}, func(c *transferCmd) {
			c.tuns = []tun.DeviceConfig{{Name: "gmt6", Addrs: []netip.Prefix{pfx("fd00::2/64")}, KernelAddrs: []netip.Prefix{pfx("fd00::1/64")}}}
			c.listen = netip.MustParseAddrPort("[fd00::2]:9")
			c.count = 1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTransferArgs(tc.role, tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := base(tc.role)
			tc.want(want)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(transferCmd{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
				cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTransferArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		role string
		args []string
		want string // in the message
	}{
		{"connect", []string{"--tun", dev0}, "missing ADDR:PORT"},
		{"connect", []string{"10.1.0.1:80", "10.1.0.1:81", "--tun", dev0}, `unexpected argument "10.1.0.1:81"`},
		{"connect", []string{"10.1.0.1:80"}, "no --tun device"},
		{"connect", []string{"10.1.0.1", "--tun", dev0}, "want ADDR:PORT"},
		{"connect", []string{"10.1.0.1:0", "--tun", dev0}, "port 0"},
		{"connect", []string{"0.0.0.0:80", "--tun", dev0}, "not a unicast address"},
		{"connect", []string{"example.com:80", "--tun", dev0}, "want ADDR:PORT"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--local", "fd00::1"}, "different families"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--local", "nonsense"}, "--local"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0,10.1.0.2/24"}, "want NAME,ADDR/LEN,KADDR/LEN"},
		{"connect", []string{"10.1.0.1:80", "--tun", ",10.1.0.2/24,10.1.0.1/24"}, "empty device name"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0,10.1.0.2,10.1.0.1/24"}, "our address"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0,10.1.0.2/24,x/24"}, "kernel address"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0,10.1.0.2/24,fd00::1/64"}, "different families"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0,10.1.0.2/24,10.1.0.2/24"}, "the same"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0,10.1.0.2/24,10.2.0.1/24"}, "not on the same prefix"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0 + ",mtu=10"}, "mtu"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0 + ",mtu=1500,mtu=1400"}, "given twice"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0 + ",fast"}, "unknown option"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--tun", dev0}, "given twice"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.9,subflow"}, "not one of our --tun addresses"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2"}, "no flag"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,subflow,id=0"}, "id"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,signal,fullmesh"}, "fullmesh and signal"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,subflow,port=80"}, "port needs the signal flag"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,implicit"}, "unknown option"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "bad,subflow"}, "not an IP address"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--subflows", "9"}, "--subflows 9"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--add-addr-accepted", "-1"}, "--add-addr-accepted"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--mptcp=false", "--checksum"}, "need MPTCP"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--send-bytes", "12X"}, "invalid size"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--send-bytes", "-1"}, "invalid size"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--send-bytes", "99999999999G"}, "too large"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--chunk", "0"}, "not positive"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--hold", "-1s"}, "negative"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--delay", "2s", "--timeout", "1s"}, "do not fit"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--fastclose", "--expect-reset"}, "mutually exclusive"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--netns", ".."}, "not a namespace name"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--count", "1"}, "flag provided but not defined"},
		{"listen", []string{"--tun", dev0, "extra"}, `unexpected argument "extra"`},
		{"listen", []string{"--tun", dev0, "--addr", "10.1.0.2"}, "want ADDR:PORT"},
		{"listen", []string{"--tun", dev0, "--addr", ":x"}, "bad port"},
		{"listen", []string{"--tun", dev0, "--count", "-1"}, "negative"},
		{"listen", []string{"--tun", dev0, "--local", "10.1.0.2"}, "flag provided but not defined"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseTransferArgs(tc.role, tc.args, io.Discard)
			if !errors.Is(err, errUsage) {
				t.Fatalf("error %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestTransferUsage: bad arguments make the command print its usage line
// and exit with status 2; -h exits with 0.
func TestTransferUsage(t *testing.T) {
	for _, role := range []string{"connect", "listen"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{role, "--tun", "x"}, &stdout, &stderr); code != 2 {
			t.Errorf("%s: exit %d, want 2", role, code)
		}
		if !strings.Contains(stderr.String(), "usage: mptcp "+role) {
			t.Errorf("%s: stderr %q has no usage line", role, stderr.String())
		}
		stderr.Reset()
		if code := run([]string{role, "-h"}, &stdout, &stderr); code != 0 {
			t.Errorf("%s -h: exit %d, want 0", role, code)
		}
		if !strings.Contains(stderr.String(), "-tun") {
			t.Errorf("%s -h: the flags are not listed: %q", role, stderr.String())
		}
	}
}

func TestParseTransferSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"64k", 64 << 10, true}, {"64K", 64 << 10, true},
		{"20M", 20 << 20, true}, {"2g", 2 << 30, true}, {"", 0, false}, {"k", 0, false},
		{"-5", 0, false}, {"1.5M", 0, false}, {"8589934592G", 0, false}, {"1T", 0, false},
	} {
		got, err := parseTransferSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseTransferSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseTunSpec(f *testing.F) {
	for _, s := range []string{dev0, dev1 + ",mtu=1400,attach,nooffload", "gmt6,fd00::2/64,fd00::1/64", "a,,", ",,,,", "x,1.2.3.4/0,5.6.7.8/0,mtu=65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseTunSpec(s)
		if err != nil {
			return
		}
		if d.Name == "" || len(d.Addrs) != 1 || len(d.KernelAddrs) != 1 {
			t.Fatalf("%q: accepted %+v", s, d)
		}
		if !d.Addrs[0].Contains(d.KernelAddrs[0].Addr()) || d.Addrs[0].Addr() == d.KernelAddrs[0].Addr() {
			t.Fatalf("%q: addresses %v and %v accepted", s, d.Addrs[0], d.KernelAddrs[0])
		}
		if d.MTU != 0 && (d.MTU < tun.MinMTU || d.MTU > tun.MaxMTU) {
			t.Fatalf("%q: MTU %d accepted", s, d.MTU)
		}
	})
}

func FuzzParseEndpointSpec(f *testing.F) {
	for _, s := range []string{"10.0.0.1,subflow", "fd00::1,signal,port=80,id=3", "10.0.0.1,fullmesh,backup", "10.0.0.1", "1.2.3.4,id=256", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEndpointSpec(s)
		if err != nil {
			return
		}
		known := mptcp.FlagSignal | mptcp.FlagSubflow | mptcp.FlagBackup | mptcp.FlagFullmesh
		if !e.Addr.IsValid() || e.Addr.Is4In6() || e.Flags == 0 || e.Flags&^known != 0 ||
			e.Flags&mptcp.FlagFullmesh != 0 && e.Flags&mptcp.FlagSignal != 0 || e.Port != 0 && e.Flags&mptcp.FlagSignal == 0 {
			t.Fatalf("%q: accepted %+v", s, e)
		}
	})
}

func FuzzParseTransferArgs(f *testing.F) {
	f.Add("connect", "10.1.0.1:80 --tun "+dev0+" --send-bytes 1M --endpoint 10.1.0.2,subflow")
	f.Add("listen", "--tun "+dev0+" --addr :80 --count 3 --expect-bytes 5k --fastclose")
	f.Add("connect", "[fd00::1]:80 --tun gmt6,fd00::2/64,fd00::1/64 --local [fd00::2]:9")
	f.Fuzz(func(t *testing.T, role, line string) {
		if role != "connect" && role != "listen" {
			return
		}
		c, err := parseTransferArgs(role, strings.Fields(line), io.Discard)
		if err != nil {
			if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("%q: error %v is not a usage error", line, err)
			}
			return
		}
		if len(c.tuns) == 0 || c.chunk <= 0 {
			t.Fatalf("%q: accepted %+v", line, c)
		}
		if role == "connect" && (!c.target.IsValid() || c.target.Port() == 0) {
			t.Fatalf("%q: target %v accepted", line, c.target)
		}
	})
}

// simPair is two MPTCP stacks joined by a simulated link, for testing
// sessions without TUN devices.
type simPair struct {
	loop         *socket.SimLoop
	a, b         *mptcp.Stack
	aAddr, bAddr netip.Addr
}

func newSimPair(t *testing.T) *simPair {
	t.Helper()
	n := sim.New(sim.Config{Seed: 1})
	p := &simPair{aAddr: netip.MustParseAddr("10.0.0.1"), bAddr: netip.MustParseAddr("10.0.0.2")}
	var ifs [2]*sim.Interface
	var sts [2]*stack.Stack
	for i, a := range []netip.Addr{p.aAddr, p.bAddr} {
		st, err := stack.New(stack.Config{Rand: rand.NewChaCha8([32]byte{byte(i)})})
		if err != nil {
			t.Fatal(err)
		}
		ifs[i] = n.AddHost(a.String(), st).AddInterface("eth0", netip.PrefixFrom(a, 24))
		if err := st.AddNIC(ifs[i]); err != nil {
			t.Fatal(err)
		}
		sts[i] = st
	}
	if _, err := n.Connect(ifs[0], ifs[1], sim.Symmetric(impair.Config{Rate: 100e6, Delay: time.Millisecond})); err != nil {
		t.Fatal(err)
	}
	p.loop = socket.NewSimLoop(n, socket.SimConfig{})
	var err error
	if p.a, err = mptcp.NewStack(p.loop, sts[0], mptcp.Config{Rand: rand.NewChaCha8([32]byte{10})}); err != nil {
		t.Fatal(err)
	}
	if p.b, err = mptcp.NewStack(p.loop, sts[1], mptcp.Config{Rand: rand.NewChaCha8([32]byte{11})}); err != nil {
		t.Fatal(err)
	}
	p.loop.Start()
	t.Cleanup(func() {
		p.a.Close()
		p.b.Close()
		p.loop.Close()
	})
	return p
}

// pipe connects a to b and returns our side (on a) and the peer's.
func (p *simPair) pipe(t *testing.T) (ours, peer *mptcp.Conn) {
	t.Helper()
	l, err := p.b.ListenMPTCP(netip.AddrPortFrom(p.bAddr, 7000), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan *mptcp.Conn, 1)
	go func() {
		c, err := l.AcceptMPTCP()
		if err != nil {
			t.Error(err)
		}
		ch <- c
	}()
	ours, err = p.a.DialMPTCP(context.Background(), netip.AddrPort{}, netip.AddrPortFrom(p.bAddr, 7000))
	if err != nil {
		t.Fatal(err)
	}
	if peer = <-ch; peer == nil {
		t.FailNow()
	}
	return ours, peer
}

// peerSession is the far side of a session: it sends n bytes of the
// payload of seed (corrupting byte corrupt if it is not negative), reads
// to the end, then closes (or resets, if abort).
func peerSession(c *mptcp.Conn, p *simPair, n int64, seed uint64, corrupt int64, abort bool) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		rx := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(c)
			rx <- b
		}()
		b := make([]byte, n)
		payload.New(seed).Read(b)
		if corrupt >= 0 {
			b[corrupt] ^= 1
		}
		c.Write(b)
		if abort {
			abortConn(p.b, c)
			c.Close()
			got <- <-rx
			return
		}
		c.CloseWrite()
		got <- <-rx
		c.Close()
	}()
	return got
}

// TestSession runs sessions over the simulator against a peer that sends
// the expected payload, a corrupted one, or resets.
func TestSession(t *testing.T) {
	for _, tc := range []struct {
		name        string
		cmd         transferCmd
		peerSends   int64
		corrupt     int64
		peerAborts  bool
		wantErr     string // "" for success
		wantReset   bool
		wantAborted bool // the peer saw our reset
	}{
		{name: "exact", cmd: transferCmd{sendBytes: 300 << 10, expectBytes: 200 << 10}, peerSends: 200 << 10, corrupt: -1},
		{name: "corrupt", cmd: transferCmd{sendBytes: 1000, expectBytes: 5000}, peerSends: 5000, corrupt: 4321,
			wantErr: "differs from the payload of seed 2 at byte 4321"},
		{name: "short", cmd: transferCmd{sendBytes: 10, expectBytes: 5000}, peerSends: 4999, corrupt: -1,
			wantErr: "received 4999 bytes, expected 5000"},
		{name: "expect reset", cmd: transferCmd{sendBytes: 0, expectBytes: -1, expectReset: true}, peerSends: 1000, corrupt: -1,
			peerAborts: true, wantReset: true},
		{name: "reset not expected", cmd: transferCmd{sendBytes: 0, expectBytes: 1000}, peerSends: 1000, corrupt: -1,
			peerAborts: true, wantReset: true, wantErr: "receive"},
		{name: "no reset", cmd: transferCmd{sendBytes: 5, expectBytes: -1, expectReset: true}, peerSends: 5, corrupt: -1,
			wantErr: "the peer did not reset the connection"},
		{name: "fastclose", cmd: transferCmd{sendBytes: 5000, expectBytes: -1, fastclose: true, hold: 100 * time.Millisecond},
			peerSends: 10, corrupt: -1, wantAborted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newSimPair(t)
				ours, peer := p.pipe(t)
				cmd := tc.cmd
				cmd.role, cmd.mptcp, cmd.seed, cmd.peerSeed, cmd.chunk = "connect", true, 1, 2, 1000
				got := peerSession(peer, p, tc.peerSends, 2, tc.corrupt, tc.peerAborts)
				s := cmd.session(context.Background(), &transferHost{ms: p.a}, ours)
				peerGot := <-got
				if tc.wantErr == "" && s.Error != "" || !strings.Contains(s.Error, tc.wantErr) {
					t.Errorf("error %q, want %q", s.Error, tc.wantErr)
				}
				if s.Reset != tc.wantReset {
					t.Errorf("Reset %v, want %v", s.Reset, tc.wantReset)
				}
				if !s.MPTCPAtStart || s.Info == nil || !tc.peerAborts && len(s.Info.SubflowList) != 1 {
					t.Errorf("summary: MPTCP %v, Info %+v", s.MPTCPAtStart, s.Info)
				}
				if s.MIB["MPCapableSYNTX"] != 1 {
					t.Errorf("MIB %v: want MPCapableSYNTX 1", s.MIB)
				}
				if tc.wantAborted {
					if s.MIB["MPFastcloseTx"] != 1 {
						t.Errorf("MIB %v: want MPFastcloseTx 1", s.MIB)
					}
					return
				}
				if !tc.peerAborts {
					want := make([]byte, cmd.sendBytes)
					payload.New(1).Read(want)
					if !bytes.Equal(peerGot, want) {
						t.Errorf("the peer got %d bytes, not the %d sent", len(peerGot), len(want))
					}
					if int64(len(peerGot)) != s.BytesSent {
						t.Errorf("BytesSent %d, the peer got %d", s.BytesSent, len(peerGot))
					}
				}
			})
		})
	}
}

// TestSessionPlainTCP: with --mptcp=false the session runs over a plain
// TCP connection of the same stack, and the summary has no MPTCP info.
func TestSessionPlainTCP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newSimPair(t)
		l, err := p.b.Host().ListenAddrPort(netip.AddrPortFrom(p.bAddr, 80), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b := make([]byte, 3000)
			payload.New(2).Read(b)
			c.Write(b)
			c.(*socket.Conn).CloseWrite()
			io.Copy(io.Discard, c)
			c.Close()
		}()
		d := mptcp.Dialer{Stack: p.a, DisableMPTCP: true}
		c, err := d.Dial("tcp", net.JoinHostPort(p.bAddr.String(), "80"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := transferCmd{role: "connect", sendBytes: 100, expectBytes: 3000, seed: 1, peerSeed: 2, chunk: 64}
		s := cmd.session(context.Background(), &transferHost{ms: p.a}, c)
		if s.Error != "" || s.MPTCPAtStart || s.MPTCP || s.Info != nil || s.BytesReceived != 3000 {
			t.Errorf("summary %+v", s)
		}
	})
}
