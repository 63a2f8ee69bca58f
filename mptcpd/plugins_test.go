package mptcpd

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The test host: three up interfaces with addresses, one down.
var (
	eth0  = Interface{Index: 2, Name: "eth0", Up: true}
	wlan0 = Interface{Index: 3, Name: "wlan0", Up: true}
	wwan0 = Interface{Index: 4, Name: "wwan0", Up: true}
	eth9  = Interface{Index: 9, Name: "eth9"}

	addrEth0  = LocalAddr{ID: 1, Addr: netip.MustParseAddr("10.0.1.1"), PrefixLen: 24, IfIndex: 2, IfName: "eth0"}
	addrWlan0 = LocalAddr{ID: 2, Addr: netip.MustParseAddr("10.0.2.1"), PrefixLen: 24, IfIndex: 3, IfName: "wlan0"}
	addrWlan6 = LocalAddr{ID: 3, Addr: netip.MustParseAddr("2001:db8:2::1"), PrefixLen: 64, IfIndex: 3, IfName: "wlan0"}
	addrWwan0 = LocalAddr{ID: 4, Addr: netip.MustParseAddr("10.0.4.1"), PrefixLen: 24, IfIndex: 4, IfName: "wwan0"}
	addrEth9  = LocalAddr{ID: 5, Addr: netip.MustParseAddr("10.0.9.1"), PrefixLen: 24, IfIndex: 9, IfName: "eth9"}

	// conn is an established connection this host initiated over eth0.
	conn = Connection{
		Token:       0x1a2b3c4d,
		Local:       netip.MustParseAddrPort("10.0.1.1:40000"),
		Remote:      netip.MustParseAddrPort("192.0.2.1:443"),
		IfIndex:     2,
		Established: true,
		RemoteAddrs: []RemoteAddr{{ID: 0, Addr: netip.MustParseAddrPort("192.0.2.1:443")}},
	}
)

func serverSide(c Connection) Connection { c.ServerSide = true; return c }
func denyJoin(c Connection) Connection   { c.DenyJoinID0 = true; return c }

// step drives a plugin: it updates the fake view as the daemon would and
// calls a hook.
type step func(ctx context.Context, t *testing.T, p Plugin, f *fakePM)

func created(c Connection) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		c = c.Clone()
		c.Established = false
		f.conns[c.Token] = &c
		p.ConnectionCreated(ctx, f, c.Clone())
	}
}

func established(c Connection) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		c = c.Clone()
		f.conns[c.Token] = &c
		p.ConnectionEstablished(ctx, f, c.Clone())
	}
}

func closed(token uint32) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		c := f.conns[token]
		delete(f.conns, token)
		p.ConnectionClosed(ctx, f, c.Clone())
	}
}

func announced(token uint32, id uint8, addr string) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		c := f.conns[token]
		r := RemoteAddr{ID: id, Addr: netip.MustParseAddrPort(addr)}
		c.RemoteAddrs = append(c.RemoteAddrs, r)
		p.AddressAnnounced(ctx, f, c.Clone(), r)
	}
}

func subEstablished(token uint32, s Subflow) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		c := f.conns[token]
		if i := c.findPending(s.Local, s.Remote); i >= 0 {
			c.Subflows[i] = s
		} else {
			c.Subflows = append(c.Subflows, s)
		}
		p.SubflowEstablished(ctx, f, c.Clone(), s)
	}
}

func addrAdded(a LocalAddr) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		f.addrs = append(f.addrs, a)
		p.LocalAddressAdded(ctx, f, a)
	}
}

func addrRemoved(a LocalAddr) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		f.addrs = slices.DeleteFunc(f.addrs, func(x LocalAddr) bool { return x == a })
		p.LocalAddressRemoved(ctx, f, a)
	}
}

func ifUp(i Interface, addrs ...LocalAddr) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		f.ifs = append(f.ifs, i)
		p.InterfaceUp(ctx, f, i)
		for _, a := range addrs {
			addrAdded(a)(ctx, t, p, f)
		}
	}
}

func failing(cmd string) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) { f.fail[cmd] = errors.New("refused") }
}

func succeeding(cmd string) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) { delete(f.fail, cmd) }
}

func start() step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
		if err := p.(Starter).Start(ctx, f); err != nil {
			f.actions = append(f.actions, "start failed: "+err.Error())
		}
	}
}

func stop() step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) { p.(Stopper).Stop(ctx, f) }
}

// withEndpoints gives the fake an endpoint manager holding eps.
func withEndpoints(eps ...Endpoint) step {
	return func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) { f.em = &fakeEM{pm: f, eps: eps} }
}

type pluginTest struct {
	name  string
	opts  Options
	steps []step
	want  []string
}

// runPluginTests runs each test against a fresh plugin and a fake view of
// the test host.
func runPluginTests(t *testing.T, plugin string, tests []pluginTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlugin(plugin, tt.opts)
			if err != nil {
				t.Fatalf("NewPlugin(%s, %v): %v", plugin, tt.opts, err)
			}
			if p.Name() != plugin {
				t.Errorf("Name() = %q, want %q", p.Name(), plugin)
			}
			f := newFakePM()
			f.ifs = []Interface{eth0, wlan0, wwan0, eth9}
			f.addrs = []LocalAddr{addrEth0, addrWlan0, addrWlan6, addrWwan0, addrEth9}
			for _, s := range tt.steps {
				s(context.Background(), t, p, f)
			}
			if diff := cmp.Diff(tt.want, f.actions); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSSPI(t *testing.T) {
	v6conn := Connection{
		Token: 0x600d, Local: netip.MustParseAddrPort("[2001:db8:2::1]:40000"), Remote: netip.MustParseAddrPort("[2001:db8::99]:443"),
		IfIndex: 3, Established: true, RemoteAddrs: []RemoteAddr{{0, netip.MustParseAddrPort("[2001:db8::99]:443")}},
	}
	eth1 := Interface{Index: 5, Name: "eth1", Up: true}
	addrEth1 := LocalAddr{ID: 6, Addr: netip.MustParseAddr("10.0.5.1"), IfIndex: 5, IfName: "eth1"}
	addrEth1b := LocalAddr{ID: 7, Addr: netip.MustParseAddr("10.0.5.2"), IfIndex: 5, IfName: "eth1"}
	runPluginTests(t, "sspi", []pluginTest{
		{
			name:  "one subflow per unused up interface",
			steps: []step{established(conn)},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 ifindex 4 -> 192.0.2.1:443",
			},
		},
		{
			name:  "without binding",
			opts:  Options{"bind": "false"},
			steps: []step{established(conn)},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 -> 192.0.2.1:443",
			},
		},
		{
			name:  "nothing before the connection is established",
			steps: []step{created(conn)},
		},
		{
			name:  "nothing on connections accepted by this host",
			steps: []step{established(serverSide(conn)), addrAdded(addrEth1)},
		},
		{
			name:  "only addresses of the peer's family",
			steps: []step{established(v6conn)},
		},
		{
			name: "a new interface gets one subflow, a second address on it none",
			steps: []step{
				established(conn),
				ifUp(eth1, addrEth1),
				addrAdded(addrEth1b),
			},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 ifindex 4 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.5.1 id 0 ifindex 5 -> 192.0.2.1:443",
			},
		},
		{
			name: "a refused subflow is tried again on the next address change",
			steps: []step{
				failing("create"),
				established(conn),
				succeeding("create"),
				ifUp(eth1, addrEth1),
			},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 ifindex 4 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 ifindex 4 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.5.1 id 0 ifindex 5 -> 192.0.2.1:443",
			},
		},
		{
			name: "the C flag forbids the initial address until the peer announces another",
			steps: []step{
				established(denyJoin(conn)),
				announced(conn.Token, 1, "192.0.2.2:443"),
			},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.2:443",
				"create 1a2b3c4d 10.0.4.1 id 0 ifindex 4 -> 192.0.2.2:443",
			},
		},
		{
			name: "established subflows from a vanished address are closed",
			steps: []step{
				established(conn),
				subEstablished(conn.Token, Subflow{LocalID: 2, Local: netip.MustParseAddrPort("10.0.2.1:51000"),
					Remote: conn.Remote, IfIndex: 3}),
				addrRemoved(addrWlan0),
			},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 ifindex 4 -> 192.0.2.1:443",
				"destroy 1a2b3c4d 10.0.2.1:51000 -> 192.0.2.1:443",
			},
		},
		{
			name:  "a closed connection is left alone",
			steps: []step{established(conn), closed(conn.Token), addrAdded(addrEth1)},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 ifindex 4 -> 192.0.2.1:443",
			},
		},
	})
}

func TestFullmesh(t *testing.T) {
	runPluginTests(t, "fullmesh", []pluginTest{
		{
			name:  "every local address to the initial peer address",
			steps: []step{established(conn)},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.9.1 id 0 -> 192.0.2.1:443",
			},
		},
		{
			name: "an announced address adds a column",
			steps: []step{
				established(conn),
				announced(conn.Token, 1, "192.0.2.2:443"),
				announced(conn.Token, 2, "[2001:db8::2]:443"),
			},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.9.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.2:443",
				"create 1a2b3c4d 10.0.2.1 id 0 -> 192.0.2.2:443",
				"create 1a2b3c4d 10.0.4.1 id 0 -> 192.0.2.2:443",
				"create 1a2b3c4d 10.0.9.1 id 0 -> 192.0.2.2:443",
				"create 1a2b3c4d 2001:db8:2::1 id 0 -> [2001:db8::2]:443",
			},
		},
		{
			name: "a new local address adds a row",
			opts: Options{"max-subflows": "16"},
			steps: []step{
				established(conn),
				announced(conn.Token, 1, "192.0.2.2:8443"),
				addrAdded(LocalAddr{ID: 6, Addr: netip.MustParseAddr("10.0.5.1"), IfIndex: 5}),
			},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.9.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.2:8443",
				"create 1a2b3c4d 10.0.2.1 id 0 -> 192.0.2.2:8443",
				"create 1a2b3c4d 10.0.4.1 id 0 -> 192.0.2.2:8443",
				"create 1a2b3c4d 10.0.9.1 id 0 -> 192.0.2.2:8443",
				"create 1a2b3c4d 10.0.5.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.5.1 id 0 -> 192.0.2.2:8443",
			},
		},
		{
			name: "limited; refused requests count, until the next event",
			opts: Options{"max-subflows": "2", "bind": "true"},
			steps: []step{
				failing("create"), established(conn),
				succeeding("create"), announced(conn.Token, 1, "192.0.2.2:443"),
				announced(conn.Token, 2, "192.0.2.3:443"),
			},
			want: []string{
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.4.1 id 0 ifindex 4 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.1.1 id 0 ifindex 2 -> 192.0.2.2:443",
				"create 1a2b3c4d 10.0.2.1 id 0 ifindex 3 -> 192.0.2.1:443",
			},
		},
		{
			name: "the C flag keeps subflows off the initial peer address",
			steps: []step{
				established(denyJoin(conn)),
				announced(conn.Token, 3, "192.0.2.3:443"),
			},
			want: []string{
				"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.3:443",
				"create 1a2b3c4d 10.0.2.1 id 0 -> 192.0.2.3:443",
				"create 1a2b3c4d 10.0.4.1 id 0 -> 192.0.2.3:443",
				"create 1a2b3c4d 10.0.9.1 id 0 -> 192.0.2.3:443",
			},
		},
		{
			name:  "nothing on connections accepted by this host",
			steps: []step{established(serverSide(conn)), announced(conn.Token, 1, "192.0.2.2:443")},
		},
	})
}

func TestNdiffports(t *testing.T) {
	runPluginTests(t, "ndiffports", []pluginTest{
		{
			name:  "default: one more subflow",
			steps: []step{established(conn)},
			want:  []string{"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.1:443"},
		},
		{
			name:  "count 4",
			opts:  Options{"count": "4"},
			steps: []step{established(conn)},
			want: []string{
				"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.1:443",
				"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.1:443",
			},
		},
		{
			name: "subflows already on the pair count",
			opts: Options{"count": "3"},
			steps: []step{func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
				c := conn.Clone()
				c.Subflows = []Subflow{{Local: netip.MustParseAddrPort("10.0.1.1:40001"), Remote: conn.Remote}}
				established(c)(ctx, t, p, f)
			}},
			want: []string{"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.1:443"},
		},
		{
			name:  "count 1: nothing",
			opts:  Options{"count": "1"},
			steps: []step{established(conn)},
		},
		{
			name:  "a refusal stops the round",
			opts:  Options{"count": "5"},
			steps: []step{failing("create"), established(conn)},
			want:  []string{"create 1a2b3c4d 10.0.1.1 id 0 -> 192.0.2.1:443"},
		},
		{
			name:  "the C flag forbids the initial pair",
			steps: []step{established(denyJoin(conn))},
		},
		{
			name:  "nothing on connections accepted by this host",
			steps: []step{established(serverSide(conn))},
		},
	})
}

func TestBackup(t *testing.T) {
	wwanConn := conn.Clone()
	wwanConn.Local = netip.MustParseAddrPort("10.0.4.1:40000")
	wwanConn.IfIndex = 4
	sfWwan := Subflow{LocalID: 4, Local: netip.MustParseAddrPort("10.0.4.1:51000"), Remote: conn.Remote, IfIndex: 4}
	sfWlan := Subflow{LocalID: 2, Local: netip.MustParseAddrPort("10.0.2.1:51001"), Remote: conn.Remote, IfIndex: 3}
	backupSf := sfWwan
	backupSf.Backup = true
	runPluginTests(t, "backup", []pluginTest{
		{
			name:  "a subflow over a backup interface",
			opts:  Options{"interfaces": "wwan0"},
			steps: []step{established(conn), subEstablished(conn.Token, sfWwan), subEstablished(conn.Token, sfWlan)},
			want:  []string{"backup 1a2b3c4d 10.0.4.1:51000 -> 192.0.2.1:443 true"},
		},
		{
			name:  "patterns and lists",
			opts:  Options{"interfaces": "eth9, wl*"},
			steps: []step{established(conn), subEstablished(conn.Token, sfWwan), subEstablished(conn.Token, sfWlan)},
			want:  []string{"backup 1a2b3c4d 10.0.2.1:51001 -> 192.0.2.1:443 true"},
		},
		{
			name:  "already backup",
			opts:  Options{"interfaces": "wwan0"},
			steps: []step{established(conn), subEstablished(conn.Token, backupSf)},
		},
		{
			name:  "the initial subflow",
			opts:  Options{"interfaces": "wwan*"},
			steps: []step{established(wwanConn)},
			want:  []string{"backup 1a2b3c4d 10.0.4.1:40000 -> 192.0.2.1:443 true"},
		},
		{
			name:  "on either side of the connection",
			opts:  Options{"interfaces": "wwan*"},
			steps: []step{established(serverSide(wwanConn))},
			want:  []string{"backup 1a2b3c4d 10.0.4.1:40000 -> 192.0.2.1:443 true"},
		},
		{
			name: "unknown interface",
			opts: Options{"interfaces": "wwan*"},
			steps: []step{established(conn), subEstablished(conn.Token, Subflow{Local: netip.MustParseAddrPort("10.7.7.7:1"),
				Remote: conn.Remote, IfIndex: 77})},
		},
	})
}

func TestAddrAdv(t *testing.T) {
	all := []string{
		"add_endpoint 10.0.1.1 id 0 subflow ifindex 2",
		"add_endpoint 10.0.2.1 id 0 subflow ifindex 3",
		"add_endpoint 2001:db8:2::1 id 0 subflow ifindex 3",
		"add_endpoint 10.0.4.1 id 0 subflow ifindex 4",
		"add_endpoint 10.0.9.1 id 0 subflow ifindex 9",
	}
	newAddr := LocalAddr{ID: 6, Addr: netip.MustParseAddr("10.0.5.1"), IfIndex: 5}
	runPluginTests(t, "addr_adv", []pluginTest{
		{
			name:  "endpoints for the addresses at start, deleted at stop",
			steps: []step{withEndpoints(), start(), stop()},
			want: append(slices.Clone(all),
				"delete_endpoint id 1 10.0.1.1",
				"delete_endpoint id 2 10.0.2.1",
				"delete_endpoint id 3 2001:db8:2::1",
				"delete_endpoint id 4 10.0.4.1",
				"delete_endpoint id 5 10.0.9.1"),
		},
		{
			name:  "configured flags, kept at exit",
			opts:  Options{"flags": "signal,backup", "keep-on-exit": "yes"},
			steps: []step{withEndpoints(), start(), stop()},
			want: []string{
				"add_endpoint 10.0.1.1 id 0 signal,backup ifindex 2",
				"add_endpoint 10.0.2.1 id 0 signal,backup ifindex 3",
				"add_endpoint 2001:db8:2::1 id 0 signal,backup ifindex 3",
				"add_endpoint 10.0.4.1 id 0 signal,backup ifindex 4",
				"add_endpoint 10.0.9.1 id 0 signal,backup ifindex 9",
			},
		},
		{
			name: "the administrator's endpoints are left alone",
			opts: Options{"flags": "subflow fullmesh"},
			steps: []step{
				withEndpoints(Endpoint{ID: 10, Addr: netip.MustParseAddrPort("10.0.1.1:0"), Flags: FlagSignal},
					Endpoint{ID: 11, Addr: netip.MustParseAddrPort("10.0.2.1:0"), Flags: FlagSubflow}),
				start(), addrRemoved(addrEth0), addrRemoved(addrWwan0), stop(),
			},
			want: []string{
				"add_endpoint 2001:db8:2::1 id 0 subflow,fullmesh ifindex 3",
				"add_endpoint 10.0.4.1 id 0 subflow,fullmesh ifindex 4",
				"add_endpoint 10.0.9.1 id 0 subflow,fullmesh ifindex 9",
				"delete_endpoint id 13 10.0.4.1",
				"delete_endpoint id 12 2001:db8:2::1",
				"delete_endpoint id 14 10.0.9.1",
			},
		},
		{
			name: "addresses coming and going",
			opts: Options{"keep-on-exit": "true"},
			steps: []step{
				withEndpoints(), start(), addrAdded(newAddr), addrRemoved(newAddr), addrRemoved(newAddr), addrAdded(newAddr),
			},
			want: append(slices.Clone(all),
				"add_endpoint 10.0.5.1 id 0 subflow ifindex 5",
				"delete_endpoint id 6 10.0.5.1",
				"add_endpoint 10.0.5.1 id 0 subflow ifindex 5"),
		},
		{
			name: "a refused endpoint is not deleted later",
			opts: Options{"keep-on-exit": "true"},
			steps: []step{
				withEndpoints(), start(), failing("add_endpoint"), addrAdded(newAddr), succeeding("add_endpoint"), addrRemoved(newAddr),
			},
			want: append(slices.Clone(all), "add_endpoint 10.0.5.1 id 0 subflow ifindex 5"),
		},
		{
			name: "an address still on another interface keeps its endpoint",
			opts: Options{"keep-on-exit": "true"},
			steps: []step{
				withEndpoints(), start(),
				addrAdded(LocalAddr{ID: 2, Addr: addrWlan0.Addr, IfIndex: 5}), addrRemoved(addrWlan0),
			},
			want: all,
		},
		{
			name:  "no endpoint manager",
			steps: []step{start(), addrAdded(newAddr)},
			want:  []string{"start failed: the path manager has no endpoints (the in-kernel path manager is needed)"},
		},
		{
			name: "listing the endpoints fails",
			steps: []step{withEndpoints(), func(ctx context.Context, t *testing.T, p Plugin, f *fakePM) {
				f.em.listErr = errors.New("no route to kernel")
			}, start()},
			want: []string{"start failed: no route to kernel"},
		},
	})
}

// TestAddrAdvStopDeletesAll checks that addr_adv's Stop deletes every endpoint it
// added, whatever the map order.
func TestAddrAdvStopDeletesAll(t *testing.T) {
	p, err := NewPlugin("addr_adv", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFakePM()
	f.em = &fakeEM{pm: f}
	for i := range 40 {
		f.addrs = append(f.addrs, LocalAddr{ID: uint8(i + 1), Addr: netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), IfIndex: 2})
	}
	ctx := context.Background()
	if err := p.(Starter).Start(ctx, f); err != nil {
		t.Fatal(err)
	}
	if len(f.em.eps) != 40 {
		t.Fatalf("%d endpoints after start, want 40", len(f.em.eps))
	}
	p.(Stopper).Stop(ctx, f)
	if len(f.em.eps) != 0 {
		t.Errorf("endpoints left after stop: %v", f.em.eps)
	}
}

func TestNewPluginOptions(t *testing.T) {
	tests := []struct {
		plugin string
		opts   Options
		err    string // "" for success
	}{
		{"sspi", nil, ""},
		{"sspi", Options{"bind": "off"}, ""},
		{"sspi", Options{"bind": "maybe"}, `option bind: "maybe" is not a boolean`},
		{"sspi", Options{"count": "2"}, `plugin sspi: unknown option "count" (known: bind)`},
		{"ndiffports", Options{"count": "32"}, ""},
		{"ndiffports", Options{"count": "0"}, "option count: 0 is outside [1, 32]"},
		{"ndiffports", Options{"count": "33"}, "option count: 33 is outside [1, 32]"},
		{"ndiffports", Options{"count": "two"}, `option count: "two" is not an integer`},
		{"fullmesh", Options{"max-subflows": "255", "bind": "1"}, ""},
		{"fullmesh", Options{"max-subflows": "256"}, "outside [1, 255]"},
		{"backup", nil, "option interfaces is required"},
		{"backup", Options{"interfaces": " , "}, "option interfaces is required"},
		{"backup", Options{"interfaces": "wwan["}, `interface pattern "wwan["`},
		{"addr_adv", Options{"flags": "signal,fullmesh"}, "fullmesh cannot be combined with signal"},
		{"addr_adv", Options{"flags": "implicit"}, `unknown address flag "implicit"`},
		{"addr_adv", Options{"flags": ""}, ""},
		{"addr_adv", Options{"keep-on-exit": "2"}, "not a boolean"},
		{"nosuch", nil, `unknown plugin "nosuch" (available: addr_adv, backup, fullmesh, ndiffports, sspi)`},
	}
	for _, tt := range tests {
		p, err := NewPlugin(tt.plugin, tt.opts)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("NewPlugin(%s, %v): %v", tt.plugin, tt.opts, err)
		case tt.err == "" && p == nil:
			t.Errorf("NewPlugin(%s, %v) = nil", tt.plugin, tt.opts)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("NewPlugin(%s, %v) = %v, want an error containing %q", tt.plugin, tt.opts, err, tt.err)
		}
	}
}

func TestRegistry(t *testing.T) {
	var names []string
	for _, r := range Registered() {
		names = append(names, r.Name)
		if r.Summary == "" {
			t.Errorf("%s has no summary", r.Name)
		}
		for _, o := range r.Options {
			if o.Doc == "" {
				t.Errorf("%s.%s has no documentation", r.Name, o.Name)
			}
		}
	}
	if want := []string{"addr_adv", "backup", "fullmesh", "ndiffports", "sspi"}; !slices.Equal(names, want) {
		t.Errorf("Registered() = %v, want %v", names, want)
	}
	if r, ok := Lookup("addr_adv"); !ok || r.Mode != ModeKernel {
		t.Errorf("Lookup(addr_adv) = %+v, %v", r, ok)
	}
	mustPanic := func(what string, r Registration) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("Register(%s) did not panic", what)
			}
		}()
		Register(r)
	}
	mustPanic("duplicate", Registration{Name: "sspi", New: newSSPI})
	mustPanic("no name", Registration{New: newSSPI})
	mustPanic("no New", Registration{Name: "x"})
}

func TestParseEndpointFlags(t *testing.T) {
	for in, want := range map[string]EndpointFlags{
		"":                         0,
		"subflow":                  FlagSubflow,
		"signal, backup":           FlagSignal | FlagBackup,
		"subflow\tfullmesh,backup": FlagSubflow | FlagFullmesh | FlagBackup,
	} {
		got, err := ParseEndpointFlags(in)
		if err != nil || got != want {
			t.Errorf("ParseEndpointFlags(%q) = %v, %v, want %v", in, got, err, want)
		}
		if back, err := ParseEndpointFlags(got.String()); err != nil || back != got {
			t.Errorf("ParseEndpointFlags(%q.String()=%q) = %v, %v", in, got.String(), back, err)
		}
	}
	if s := (FlagSubflow | 1<<9).String(); s != "subflow,0x200" {
		t.Errorf("String() = %q", s)
	}
}
