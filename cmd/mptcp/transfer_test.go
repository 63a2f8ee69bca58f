package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/gomptcp/mptcp/cmd/internal/session"
	"github.com/gomptcp/mptcp/interop/payload"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/link/tun"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/stack/socket"
)

var (
	dev0 = "gmt0=10.1.0.2/24,peer=10.1.0.1/24"
	dev1 = "gmt1=10.1.1.2/24,peer=10.1.1.1/24"
)

func TestParseTransferArgs(t *testing.T) {
	pfx := netip.MustParsePrefix
	base := func(role string) *transferCmd {
		return &transferCmd{
			role: role, limits: mptcp.Limits{Subflows: 2}, pm: transferPM{kind: "kernel"},
			Flags: session.Flags{MPTCP: true, SendBytes: -1, ExpectBytes: -1, Seed: 1, PeerSeed: 1, Chunk: session.DefaultChunk},
			tuns:  []tun.DeviceConfig{{Name: "gmt0", Addrs: []netip.Prefix{pfx("10.1.0.2/24")}, KernelAddrs: []netip.Prefix{pfx("10.1.0.1/24")}}},
		}
	}
	for _, tc := range []struct {
		name string
		role string
		args []string
		want func(c *transferCmd)
	}{
		{"connect minimal", "connect", []string{"10.1.0.1:7000", "--tun", dev0}, func(c *transferCmd) {
			c.host, c.port, c.target = "10.1.0.1", 7000, netip.MustParseAddrPort("10.1.0.1:7000")
		}},
		{"connect by name", "connect", []string{"--tun", "gmt0=10.1.0.2/24", "peer.example:80"}, func(c *transferCmd) {
			c.host, c.port = "peer.example", 80
			c.tuns[0].KernelAddrs = nil
		}},
		{"connect flags first", "connect", []string{"--tun", dev0, "--send-bytes", "20M", "--seed", "5", "--expect-bytes", "1k",
			"--peer-seed", "6", "--checksum", "--json", "--timeout", "30s", "--local", "10.1.0.2", "--out", "-", "10.1.0.1:80"}, func(c *transferCmd) {
			c.host, c.port, c.target = "10.1.0.1", 80, netip.MustParseAddrPort("10.1.0.1:80")
			c.local = netip.MustParseAddrPort("10.1.0.2:0")
			c.SendBytes, c.Seed, c.ExpectBytes, c.PeerSeed = 20<<20, 5, 1<<10, 6
			c.checksum, c.JSON, c.Timeout, c.Out = true, true, 30*time.Second, "-"
		}},
		{"connect two paths", "connect", []string{"10.1.0.1:7000", "--tun", dev0, "--tun", dev1 + ",mtu=9000,nooffload",
			"--endpoint", "10.1.1.2,subflow,backup,id=7", "--endpoint", "10.1.0.2:7100,signal", "--limits", "subflows=4,add_addr_accepted=1",
			"--local", "10.1.0.2:4000", "--fastclose", "--netns", "gmtns", "--scheduler", "redundant", "--cc", "lia",
			"--impair", "gmt1:rate=20mbit,delay=20ms,jitter=2ms,loss=0.5%", "--event", "3s:gmt1:down", "--event", "5s:gmt1:up",
			"--pcap", "x.pcap", "--send", "in.bin"}, func(c *transferCmd) {
			c.host, c.port, c.target = "10.1.0.1", 7000, netip.MustParseAddrPort("10.1.0.1:7000")
			c.local = netip.MustParseAddrPort("10.1.0.2:4000")
			c.tuns = append(c.tuns, tun.DeviceConfig{Name: "gmt1", Addrs: []netip.Prefix{pfx("10.1.1.2/24")},
				KernelAddrs: []netip.Prefix{pfx("10.1.1.1/24")}, MTU: 9000, DisableOffloads: true})
			c.endpoints = []mptcp.Endpoint{
				{ID: 7, Addr: netip.MustParseAddr("10.1.1.2"), Flags: mptcp.FlagSubflow | mptcp.FlagBackup},
				{Addr: netip.MustParseAddr("10.1.0.2"), Port: 7100, Flags: mptcp.FlagSignal},
			}
			c.limits, c.limitsSet = mptcp.Limits{Subflows: 4, AddAddrAccepted: 1}, true
			c.Fastclose = true
			c.netns = "/run/netns/gmtns"
			c.scheduler, c.cc, c.pcap, c.SendFile = "redundant", "lia", "x.pcap", "in.bin"
			// 20 Mbit/s × 2 × 22 ms is 73 packets of 1500 bytes.
			c.impairs = map[string]impair.Config{"gmt1": {Rate: 20e6, Delay: 20 * time.Millisecond, Jitter: 2 * time.Millisecond,
				Loss: 0.005, QueuePackets: 73}}
			c.linkEvents = []transferLinkEvent{{at: 3 * time.Second, dev: "gmt1"}, {at: 5 * time.Second, dev: "gmt1", up: true}}
		}},
		{"listen defaults", "listen", []string{"--tun", dev0, "7000"}, func(c *transferCmd) {
			c.listen = netip.AddrPortFrom(netip.Addr{}, 7000)
			c.count = 1
		}},
		{"listen all", "listen", []string{"--tun", dev0, "10.1.0.2:0", "--count", "0", "--mptcp=false",
			"--netns", "/proc/1/ns/net", "--expect-reset", "--chunk", "1", "--delay", "1s", "--hold", "2s", "--send-bytes", "0", "--out", "o"}, func(c *transferCmd) {
			c.listen = netip.MustParseAddrPort("10.1.0.2:0")
			c.MPTCP, c.ExpectReset, c.Chunk = false, true, 1
			c.netns = "/proc/1/ns/net"
			c.Delay, c.Hold = time.Second, 2*time.Second
			c.SendBytes, c.Out = 0, "o"
		}},
		{"listen IPv6 fullmesh", "listen", []string{"--tun", "gmt6=fd00::2/64,peer=fd00::1/64", "[fd00::2]:80", "--pm", "fullmesh",
			"--limits", "subflow=3,add_addr_accepted=2"}, func(c *transferCmd) {
			c.tuns = []tun.DeviceConfig{{Name: "gmt6", Addrs: []netip.Prefix{pfx("fd00::2/64")}, KernelAddrs: []netip.Prefix{pfx("fd00::1/64")}}}
			c.listen = netip.MustParseAddrPort("[fd00::2]:80")
			c.count = 1
			c.pm = transferPM{kind: "fullmesh"}
			c.limits, c.limitsSet = mptcp.Limits{Subflows: 3, AddAddrAccepted: 2}, true
		}},
		{"listen ndiffports", "listen", []string{"--tun", dev0, ":9", "--pm", "ndiffports=3"}, func(c *transferCmd) {
			c.listen = netip.AddrPortFrom(netip.Addr{}, 9)
			c.count = 1
			c.pm = transferPM{kind: "ndiffports", n: 3}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTransferArgs(tc.role, tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := base(tc.role)
			tc.want(want)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(transferCmd{}, transferPM{}, transferLinkEvent{}),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
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
		{"connect", []string{"--tun", dev0}, "missing HOST:PORT"},
		{"connect", []string{"10.1.0.1:80", "10.1.0.1:81", "--tun", dev0}, `unexpected argument "10.1.0.1:81"`},
		{"connect", []string{"10.1.0.1:80"}, "no --tun device"},
		{"connect", []string{"10.1.0.1", "--tun", dev0}, "want HOST:PORT"},
		{"connect", []string{"10.1.0.1:0", "--tun", dev0}, "bad port"},
		{"connect", []string{"10.1.0.1:http", "--tun", dev0}, "bad port"},
		{"connect", []string{"0.0.0.0:80", "--tun", dev0}, "not a unicast address"},
		{"connect", []string{"ex_ample.com:80", "--tun", dev0}, "neither an IP address nor a host name"},
		{"connect", []string{"[fe80::1%eth0]:80", "--tun", dev0}, "zones"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--local", "fd00::1"}, "different families"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--local", "nonsense"}, "--local"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0,10.1.0.2/24,10.1.0.1/24"}, "want NAME=ADDR/PREFIX"},
		{"connect", []string{"10.1.0.1:80", "--tun", "=10.1.0.2/24"}, "empty device name"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0=10.1.0.2"}, "our address"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0=::ffff:10.1.0.2/120"}, "our address"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0=10.1.0.2/24,peer=x/24"}, "peer address"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0=10.1.0.2/24,peer=fd00::1/64"}, "different families"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0=10.1.0.2/24,peer=10.1.0.2/24"}, "the same"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt0=10.1.0.2/24,peer=10.2.0.1/24"}, "not on the same prefix"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0 + ",mtu=10"}, "mtu"},
		{"connect", []string{"10.1.0.1:80", "--tun", "gmt6=fd00::2/64,mtu=1000"}, "IPv6's minimum"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0 + ",mtu=1500,mtu=1400"}, "given twice"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0 + ",fast"}, "unknown option"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--tun", dev0}, "given twice"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--tun", "gmt1=10.1.0.1/24"}, "on another --tun"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.9,subflow"}, "not one of our --tun addresses"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2"}, "no signal, subflow or fullmesh"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,backup"}, "no signal, subflow or fullmesh"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,subflow,id=0"}, "id"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,signal,fullmesh"}, "fullmesh and signal"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2:80,subflow"}, "port needs the signal flag"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2:0,signal"}, "port 0"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,implicit"}, "unknown option"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "bad,subflow"}, "not ADDR or ADDR:PORT"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--endpoint", "10.1.0.2,subflow,id=3", "--endpoint", "10.1.0.2,signal,id=3"}, "used twice"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--limits", "subflows=9"}, "want 0 to 8"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--limits", "add_addr_accepted=-1"}, "want 0 to 8"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--limits", "subflows=1,subflows=2"}, "given twice"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--limits", "joins=2"}, "is not subflows=N"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--pm", "magic"}, "want kernel, fullmesh"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--pm", "ndiffports=0"}, "want 1 to 9"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--pm", "userspace", "--limits", "subflows=1"}, "need --pm kernel or fullmesh"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--pm", "fullmesh", "--endpoint", "10.1.0.2,subflow"}, "needs --pm kernel"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--pm", "fullmesh", "--limits", "subflows=0"}, "at least 1"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--scheduler", "fastest"}, "--scheduler"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--cc", "bbr9"}, "--cc"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--mptcp=false", "--checksum"}, "need MPTCP"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--mptcp=false", "--pm", "fullmesh"}, "need MPTCP"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0"}, "want NAME:rate"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt9:delay=1ms"}, "not a --tun device"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:delay=1ms", "--impair", "gmt0:delay=2ms"}, "given twice"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:rate=20"}, "rate"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:rate=0mbit"}, "rate"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:loss=0.5"}, "percentage"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:loss=100%"}, "percentage"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:delay=-1ms"}, "want 0 to 1m"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:delay=1ms,jitter=2ms"}, "larger than the delay"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:queue=5"}, "needs a rate"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:reorder=1%"}, "unknown setting"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--impair", "gmt0:delay"}, "not KEY=VALUE"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--event", "3s:gmt0"}, "want AT:NAME"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--event", "-3s:gmt0:down"}, "non-negative duration"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--event", "3s:gmt0:sideways"}, "is not down or up"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--event", "3s:gmt3:down"}, "not a --tun device"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--send-bytes", "12X"}, "invalid size"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--send-bytes", "-1"}, "invalid size"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--send-bytes", "99999999999G"}, "too large"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--send-bytes", "1", "--send", "f"}, "mutually exclusive"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--chunk", "0"}, "not positive"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--hold", "-1s"}, "negative"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--delay", "2s", "--timeout", "1s"}, "do not fit"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--fastclose", "--expect-reset"}, "mutually exclusive"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--netns", ".."}, "not a namespace name"},
		{"connect", []string{"10.1.0.1:80", "--tun", dev0, "--count", "1"}, "flag provided but not defined"},
		{"listen", []string{"--tun", dev0}, "missing [ADDR:]PORT"},
		{"listen", []string{"--tun", dev0, "80", "extra"}, `unexpected argument "extra"`},
		{"listen", []string{"--tun", dev0, "10.1.0.2"}, "bad port"},
		{"listen", []string{"--tun", dev0, ":x"}, "bad port"},
		{"listen", []string{"--tun", dev0, "x:80"}, "not an IP address"},
		{"listen", []string{"--tun", dev0, "224.0.0.1:80"}, "multicast"},
		{"listen", []string{"--tun", dev0, "80", "--count", "-1"}, "negative"},
		{"listen", []string{"--tun", dev0, "80", "--count", "2", "--send", "-"}, "--count 1"},
		{"listen", []string{"--tun", dev0, "80", "--local", "10.1.0.2"}, "flag provided but not defined"},
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

func TestParseTransferRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"20mbit", 20e6}, {"1.5Gbit", 1.5e9}, {"100kbit", 1e5}, {"9600bit", 9600}, {"1mbps", 8e6},
		{"125kbps", 1e6}, {"20", 0}, {"mbit", 0}, {"-1mbit", 0}, {"0bit", 0}, {"2000gbit", 0}, {"NaNbit", 0}, {"0.5bit", 0},
	} {
		got, err := parseTransferRate(tc.in)
		if (err == nil) != (tc.want != 0) || got != tc.want {
			t.Errorf("parseTransferRate(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// TestTransferUsage: bad arguments make the command print its usage line
// and exit with status 2; -h prints every flag and exits with 0.
func TestTransferUsage(t *testing.T) {
	for _, role := range []string{"connect", "listen"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{role, "--tun", "x", "1.2.3.4:5"}, &stdout, &stderr); code != 2 {
			t.Errorf("%s: exit %d, want 2", role, code)
		}
		if !strings.Contains(stderr.String(), "usage: mptcp "+role) {
			t.Errorf("%s: stderr %q has no usage line", role, stderr.String())
		}
		stderr.Reset()
		if code := run([]string{role, "-h"}, &stdout, &stderr); code != 0 {
			t.Errorf("%s -h: exit %d, want 0", role, code)
		}
		// Every flag is documented.
		fs := newFlagSet(role, io.Discard)
		transferFlags(fs, &transferCmd{role: role}, &transferRaw{})
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(stderr.String(), "--"+f.Name+" ") && !strings.Contains(stderr.String(), "--"+f.Name+"=") {
				t.Errorf("%s -h does not document --%s", role, f.Name)
			}
		})
	}
}

func FuzzParseTunSpec(f *testing.F) {
	for _, s := range []string{dev0, dev1 + ",mtu=1400,nooffload", "gmt6=fd00::2/64,peer=fd00::1/64", "a=,", "=,,,", "x=1.2.3.4/0,peer=5.6.7.8/0,mtu=65535", "g=1.2.3.4/32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseTunSpec(s)
		if err != nil {
			return
		}
		if d.Name == "" || len(d.Addrs) != 1 || len(d.KernelAddrs) > 1 || d.Addrs[0].Addr().Is4In6() {
			t.Fatalf("%q: accepted %+v", s, d)
		}
		if len(d.KernelAddrs) == 1 && (!d.Addrs[0].Contains(d.KernelAddrs[0].Addr()) || d.Addrs[0].Addr() == d.KernelAddrs[0].Addr()) {
			t.Fatalf("%q: addresses %v and %v accepted", s, d.Addrs[0], d.KernelAddrs[0])
		}
		if d.MTU != 0 && (d.MTU < tun.MinMTU || d.MTU > tun.MaxMTU) {
			t.Fatalf("%q: MTU %d accepted", s, d.MTU)
		}
	})
}

func FuzzParseEndpointSpec(f *testing.F) {
	for _, s := range []string{"10.0.0.1,subflow", "[fd00::1]:80,signal,id=3", "10.0.0.1,fullmesh,backup", "10.0.0.1", "1.2.3.4,id=256", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEndpointSpec(s)
		if err != nil {
			return
		}
		known := mptcp.FlagSignal | mptcp.FlagSubflow | mptcp.FlagBackup | mptcp.FlagFullmesh
		if !e.Addr.IsValid() || e.Addr.Is4In6() || e.Addr.IsUnspecified() || e.Flags&(known&^mptcp.FlagBackup) == 0 || e.Flags&^known != 0 ||
			e.Flags&mptcp.FlagFullmesh != 0 && e.Flags&mptcp.FlagSignal != 0 || e.Port != 0 && e.Flags&mptcp.FlagSignal == 0 {
			t.Fatalf("%q: accepted %+v", s, e)
		}
	})
}

func FuzzParseImpairSpec(f *testing.F) {
	for _, s := range []string{"gmt0:rate=20mbit,delay=20ms,jitter=2ms,loss=0.5%", "a:queue=10,rate=1kbps", "b:loss=99.9%", "c:", ":delay=1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, c, err := parseImpairSpec(s)
		if err != nil {
			return
		}
		if name == "" || c.Validate() != nil || c.Rate < 0 || c.Loss < 0 || c.Loss >= 1 || c.Jitter > c.Delay ||
			c.Rate > 0 && c.QueuePackets < 1 || c.Rate == 0 && c.QueuePackets != 0 {
			t.Fatalf("%q: accepted %q %+v", s, name, c)
		}
	})
}

func FuzzParseTransferArgs(f *testing.F) {
	f.Add("connect", "10.1.0.1:80 --tun "+dev0+" --send-bytes 1M --endpoint 10.1.0.2,subflow --limits subflows=3")
	f.Add("listen", "--tun "+dev0+" :80 --count 3 --expect-bytes 5k --fastclose --impair gmt0:loss=1% --event 1s:gmt0:down")
	f.Add("connect", "[fd00::1]:80 --tun gmt6=fd00::2/64,peer=fd00::1/64 --local [fd00::2]:9 --pm ndiffports=2")
	f.Add("listen", "7000 --tun a=10.0.0.1/8 --pm fullmesh --scheduler blest --cc reno --pcap p --json")
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
		if len(c.tuns) == 0 || c.Chunk <= 0 || c.pm.kind == "" {
			t.Fatalf("%q: accepted %+v", line, c)
		}
		if _, err := c.config(); err != nil {
			t.Fatalf("%q: accepted, but its config fails: %v", line, err)
		}
		if role == "connect" && (c.host == "" || c.port == 0 || c.target.IsValid() && c.target.Port() != c.port) {
			t.Fatalf("%q: target %q %d %v accepted", line, c.host, c.port, c.target)
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
			c.Abort()
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
		{name: "exact", cmd: transferCmd{Flags: session.Flags{SendBytes: 300 << 10, ExpectBytes: 200 << 10}}, peerSends: 200 << 10, corrupt: -1},
		{name: "corrupt", cmd: transferCmd{Flags: session.Flags{SendBytes: 1000, ExpectBytes: 5000}}, peerSends: 5000, corrupt: 4321,
			wantErr: "differs from the payload of seed 2 at byte 4321"},
		{name: "short", cmd: transferCmd{Flags: session.Flags{SendBytes: 10, ExpectBytes: 5000}}, peerSends: 4999, corrupt: -1,
			wantErr: "received 4999 bytes, expected 5000"},
		{name: "expect reset", cmd: transferCmd{Flags: session.Flags{SendBytes: 0, ExpectBytes: -1, ExpectReset: true}}, peerSends: 1000, corrupt: -1,
			peerAborts: true, wantReset: true},
		{name: "reset not expected", cmd: transferCmd{Flags: session.Flags{SendBytes: 0, ExpectBytes: 1000}}, peerSends: 1000, corrupt: -1,
			peerAborts: true, wantReset: true, wantErr: "receive"},
		{name: "no reset", cmd: transferCmd{Flags: session.Flags{SendBytes: 5, ExpectBytes: -1, ExpectReset: true}}, peerSends: 5, corrupt: -1,
			wantErr: "the peer did not reset the connection"},
		{name: "fastclose", cmd: transferCmd{Flags: session.Flags{SendBytes: 5000, ExpectBytes: -1, Fastclose: true, Hold: 100 * time.Millisecond}},
			peerSends: 10, corrupt: -1, wantAborted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newSimPair(t)
				ours, peer := p.pipe(t)
				cmd := tc.cmd
				cmd.role, cmd.MPTCP, cmd.Seed, cmd.PeerSeed, cmd.Chunk = "connect", true, 1, 2, 1000
				got := peerSession(peer, p, tc.peerSends, 2, tc.corrupt, tc.peerAborts)
				var src io.Reader
				if cmd.SendBytes > 0 {
					src = io.LimitReader(payload.New(cmd.Seed), cmd.SendBytes)
				}
				var out bytes.Buffer
				s := cmd.session(context.Background(), &transferHost{ms: p.a}, ours, src, &out)
				peerGot := <-got
				if tc.wantErr == "" && s.Error != "" || !strings.Contains(s.Error, tc.wantErr) {
					t.Errorf("error %q, want %q", s.Error, tc.wantErr)
				}
				if s.Reset != tc.wantReset {
					t.Errorf("Reset %v, want %v", s.Reset, tc.wantReset)
				}
				if !s.MPTCP || s.Fallback || s.Token == 0 || len(s.Subflows) != 1 {
					t.Errorf("summary: MPTCP %v, fallback %v, token %#x, subflows %+v", s.MPTCP, s.Fallback, s.Token, s.Subflows)
				}
				if s.Counters["MPCapableSYNTX"] != 1 {
					t.Errorf("counters %v: want MPCapableSYNTX 1", s.Counters)
				}
				if int64(out.Len()) != s.BytesReceived {
					t.Errorf("%d bytes written out, %d received", out.Len(), s.BytesReceived)
				}
				if sum := sha256.Sum256(out.Bytes()); hex.EncodeToString(sum[:]) != s.SHA256Received {
					t.Errorf("SHA-256 of what was received %s, the summary says %s", hex.EncodeToString(sum[:]), s.SHA256Received)
				}
				if tc.wantAborted {
					if s.Counters["MPFastcloseTx"] != 1 {
						t.Errorf("counters %v: want MPFastcloseTx 1", s.Counters)
					}
					return
				}
				if !tc.peerAborts {
					want := make([]byte, cmd.SendBytes)
					payload.New(1).Read(want)
					if !bytes.Equal(peerGot, want) {
						t.Errorf("the peer got %d bytes, not the %d sent", len(peerGot), len(want))
					}
					if int64(len(peerGot)) != s.BytesSent {
						t.Errorf("BytesSent %d, the peer got %d", s.BytesSent, len(peerGot))
					}
					if sum := sha256.Sum256(want); hex.EncodeToString(sum[:]) != s.SHA256Sent {
						t.Errorf("SHA-256 sent %s, want %s", s.SHA256Sent, hex.EncodeToString(sum[:]))
					}
					sf := s.Subflows[0]
					if sf.BytesAcked < uint64(s.BytesSent) || sf.BytesReceived < uint64(s.BytesReceived) || sf.RTTMicros <= 0 || sf.State == "" {
						t.Errorf("subflow %+v: want the data counted, an RTT and a state", sf)
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
		cmd := transferCmd{role: "connect", Flags: session.Flags{SendBytes: 100, ExpectBytes: 3000, Seed: 1, PeerSeed: 2, Chunk: 64}}
		s := cmd.session(context.Background(), &transferHost{ms: p.a}, c, io.LimitReader(payload.New(1), 100), nil)
		if s.Error != "" || s.MPTCP || s.Token != 0 || s.BytesReceived != 3000 || s.BytesSent != 100 {
			t.Errorf("summary %+v", s)
		}
		if len(s.Subflows) != 1 || s.Subflows[0].BytesReceived != 3000 || s.Subflows[0].Local != c.LocalAddr().String() {
			t.Errorf("subflows %+v: want the TCP connection", s.Subflows)
		}
	})
}

// FuzzParseTransferValues: the parsers of --limits, --event, --pm, the
// rates of --impair and listen's [ADDR:]PORT accept only what they can
// represent.
func FuzzParseTransferValues(f *testing.F) {
	for _, s := range []string{"subflows=3,add_addr_accepted=1", "subflow=8", "3s:gmt0:down", "0s:x:up", "ndiffports=4",
		"fullmesh", "20mbit", "1.5gbps", "7000", ":80", "[fd00::1]:443", "10.0.0.1:0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if l, err := parseLimitsSpec(s); err == nil {
			if l.Subflows < 0 || l.Subflows > mptcp.MaxLimit || l.AddAddrAccepted < 0 || l.AddAddrAccepted > mptcp.MaxLimit {
				t.Fatalf("--limits %q: accepted %+v", s, l)
			}
		}
		if e, err := parseLinkEventSpec(s); err == nil && (e.at < 0 || e.dev == "" || strings.Contains(e.dev, ":")) {
			t.Fatalf("--event %q: accepted %+v", s, e)
		}
		if pm, err := parsePMSpec(s); err == nil && (pm.kind == "" || pm.kind == "ndiffports" && (pm.n < 1 || pm.n > mptcp.MaxLimit+1)) {
			t.Fatalf("--pm %q: accepted %+v", s, pm)
		}
		if r, err := parseTransferRate(s); err == nil && (r < 1 || r > 1e12) {
			t.Fatalf("rate %q: accepted %d", s, r)
		}
		if a, err := parseListenAddr(s); err == nil && (a.Addr().IsValid() && (a.Addr().Is4In6() || a.Addr().IsMulticast() || a.Addr().Zone() != "")) {
			t.Fatalf("listen %q: accepted %v", s, a)
		}
	})
}
