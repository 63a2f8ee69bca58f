package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/gomptcp/mptcp/kernel/pm"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
)

// mptcp_pm numbers, written out independently of package pm.
const (
	pmTestCmdAddAddr   = 1
	pmTestCmdDelAddr   = 2
	pmTestCmdGetAddr   = 3
	pmTestCmdFlush     = 4
	pmTestCmdSetLimits = 5
	pmTestCmdGetLimits = 6
	pmTestCmdSetFlags  = 7
)

// pmRequest is one request the fake kernel received, its attributes
// flattened: "1.2" is attribute 2 inside nest 1.
type pmRequest struct {
	cmd   uint8
	flags netlink.HeaderFlags
	attrs map[string][]byte
}

func pmFlattenAttrs(prefix string, b []byte, out map[string][]byte) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return err
	}
	for ad.Next() {
		key := prefix + fmt.Sprint(ad.Type())
		if ad.TypeFlags()&netlink.Nested != 0 {
			if err := pmFlattenAttrs(key+".", ad.Bytes(), out); err != nil {
				return err
			}
			continue
		}
		out[key] = ad.Bytes()
	}
	return ad.Err()
}

// pmFake is a fake kernel path manager behind a genltest connection.
type pmFake struct {
	mu   sync.Mutex
	reqs []pmRequest
	// reply answers a request with reply attribute payloads, or an errno.
	reply func(r pmRequest) ([][]byte, int)
}

// install makes dialPM and the interface lookups use the fake.
func (f *pmFake) install(t *testing.T) {
	t.Helper()
	family := genetlink.Family{ID: 0x1c, Version: 1, Name: "mptcp_pm",
		Groups: []genetlink.MulticastGroup{{ID: 9, Name: "mptcp_pm_events"}}}
	oldDial, oldByName, oldByIndex := dialPM, pmIfIndexByName, pmIfNameByIndex
	t.Cleanup(func() { dialPM, pmIfIndexByName, pmIfNameByIndex = oldDial, oldByName, oldByIndex })
	dialPM = func() (*pm.Client, error) {
		return pm.NewClient(genltest.Dial(pmServeFamily(family, f.serve)))
	}
	pmIfIndexByName = func(name string) (int, error) {
		if name == "eth9" {
			return 7, nil
		}
		return 0, errors.New("no such network interface")
	}
	pmIfNameByIndex = func(i int) (string, bool) {
		if i == 7 {
			return "eth9", true
		}
		return "", false
	}
}

// pmServeFamily answers the generic netlink controller's lookup of fam
// and passes the other requests to fn (genltest.ServeFamily is Linux-only).
func pmServeFamily(fam genetlink.Family, fn genltest.Func) genltest.Func {
	return func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if nreq.Header.Type != 0x10 || greq.Header.Command != 3 { // GENL_ID_CTRL, CTRL_CMD_GETFAMILY
			return fn(greq, nreq)
		}
		groups := []netlink.Attribute{}
		for i, g := range fam.Groups {
			b, err := netlink.MarshalAttributes([]netlink.Attribute{
				{Type: 1, Data: append([]byte(g.Name), 0)}, // CTRL_ATTR_MCAST_GRP_NAME
				{Type: 2, Data: pmLE32(g.ID)},              // CTRL_ATTR_MCAST_GRP_ID
			})
			if err != nil {
				return nil, err
			}
			groups = append(groups, netlink.Attribute{Type: uint16(i+1) | netlink.Nested, Data: b})
		}
		gb, err := netlink.MarshalAttributes(groups)
		if err != nil {
			return nil, err
		}
		b, err := netlink.MarshalAttributes([]netlink.Attribute{
			{Type: 1, Data: pmLE16(fam.ID)},              // CTRL_ATTR_FAMILY_ID
			{Type: 2, Data: append([]byte(fam.Name), 0)}, // CTRL_ATTR_FAMILY_NAME
			{Type: 3, Data: pmLE32(uint32(fam.Version))}, // CTRL_ATTR_VERSION
			{Type: 7 | netlink.Nested, Data: gb},         // CTRL_ATTR_MCAST_GROUPS
		})
		if err != nil {
			return nil, err
		}
		return []genetlink.Message{{Header: genetlink.Header{Command: 1, Version: 2}, Data: b}}, nil
	}
}

func (f *pmFake) serve(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
	if len(nreq.Data) == 0 {
		return nil, io.EOF
	}
	r := pmRequest{cmd: greq.Header.Command, flags: nreq.Header.Flags, attrs: map[string][]byte{}}
	if err := pmFlattenAttrs("", greq.Data, r.attrs); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	var (
		replies [][]byte
		errno   int
	)
	if f.reply != nil {
		replies, errno = f.reply(r)
	}
	if errno != 0 {
		return nil, genltest.Error(errno)
	}
	if nreq.Header.Flags&netlink.Acknowledge != 0 {
		return nil, genltest.Error(0)
	}
	msgs := make([]genetlink.Message, 0, len(replies))
	for _, b := range replies {
		msgs = append(msgs, genetlink.Message{Header: genetlink.Header{Command: r.cmd, Version: 1}, Data: b})
	}
	return msgs, nil
}

func (f *pmFake) requests() []pmRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pmRequest(nil), f.reqs...)
}

func pmLE16(v uint16) []byte { b := make([]byte, 2); binary.NativeEndian.PutUint16(b, v); return b }
func pmLE32(v uint32) []byte { b := make([]byte, 4); binary.NativeEndian.PutUint32(b, v); return b }

// pmEndpointReply encodes a GET_ADDR reply for e (IPv4).
func pmEndpointReply(id uint8, addr string, port uint16, flags uint32, ifindex uint32) []byte {
	a := netip.MustParseAddr(addr).As4()
	inner := []netlink.Attribute{
		{Type: 1, Data: pmLE16(2)},
		{Type: 2, Data: []byte{id}},
		{Type: 3, Data: a[:]},
		{Type: 6, Data: pmLE32(flags)},
	}
	if port != 0 {
		inner = append(inner, netlink.Attribute{Type: 5, Data: pmLE16(port)})
	}
	if ifindex != 0 {
		inner = append(inner, netlink.Attribute{Type: 7, Data: pmLE32(ifindex)})
	}
	ib, err := netlink.MarshalAttributes(inner)
	if err != nil {
		panic(err)
	}
	b, err := netlink.MarshalAttributes([]netlink.Attribute{{Type: 1 | netlink.Nested, Data: ib}})
	if err != nil {
		panic(err)
	}
	return b
}

func pmIP4(s string) []byte { a := netip.MustParseAddr(s).As4(); return a[:] }

func TestParseEndpointArgs(t *testing.T) {
	a1 := netip.MustParseAddr("10.0.1.1")
	a6 := netip.MustParseAddr("fd00::1")
	tests := []struct {
		args string
		want endpointCmd
	}{
		{"", endpointCmd{op: "show"}},
		{"show", endpointCmd{op: "show"}},
		{"sh id 3", endpointCmd{op: "show", id: 3, hasID: true}},
		{"flush", endpointCmd{op: "flush"}},
		{"add 10.0.1.1", endpointCmd{op: "add", addr: a1}},
		{"add 10.0.1.1 port 1234 id 255 dev eth9 signal backup laminar",
			endpointCmd{op: "add", addr: a1, port: 1234, id: 255, hasID: true, dev: "eth9",
				flags: pm.FlagSignal | pm.FlagBackup | pm.FlagLaminar, changes: 3}},
		{"a subflow fullmesh fd00::1", endpointCmd{op: "add", addr: a6, flags: pm.FlagSubflow | pm.FlagFullmesh, changes: 2}},
		{"delete id 4", endpointCmd{op: "delete", id: 4, hasID: true}},
		{"del id 0 10.0.1.1", endpointCmd{op: "delete", id: 0, hasID: true, addr: a1}},
		{"change id 4 backup nofullmesh", endpointCmd{op: "change", id: 4, hasID: true, flags: pm.FlagBackup, clear: pm.FlagFullmesh, changes: 2}},
		{"change 10.0.1.1 port 80 nobackup", endpointCmd{op: "change", addr: a1, port: 80, clear: pm.FlagBackup, changes: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			got, err := parseEndpointArgs(strings.Fields(tt.args))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(endpointCmd{}), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEndpointArgsErrors(t *testing.T) {
	tests := []struct{ args, want string }{
		{"bogus", "unknown endpoint command"},
		{"add", "needs an address"},
		{"add 10.0.1.1 10.0.1.2", "more than one address"},
		{"add 10.0.1.1 id", "id needs a value"},
		{"add 10.0.1.1 id 256", "invalid id"},
		{"add 10.0.1.1 id -1", "invalid id"},
		{"add 10.0.1.1 id 0", "reserved"},
		{"add 10.0.1.1 id 1 id 2", "id given twice"},
		{"add 10.0.1.1 port 0 signal", "invalid port"},
		{"add 10.0.1.1 port 65536 signal", "invalid port"},
		{"add 10.0.1.1 port 80", "port needs the signal flag"},
		{"add 10.0.1.1 port 80 port 81 signal", "port given twice"},
		{"add 10.0.1.1 signal fullmesh", "signal and fullmesh"},
		{"add 10.0.1.1 implicit", "kernel only"},
		{"add 10.0.1.1 nobackup", "only valid with change"},
		{"add 10.0.1.1 dev", "dev needs a value"},
		{"add 10.0.1.1 dev a/b", "invalid interface name"},
		{"add 10.0.1.1 dev averyveryverylongname", "invalid interface name"},
		{"add 10.0.1.1 dev eth0 dev eth1", "dev given twice"},
		{"add fe80::1%eth0", "unknown argument"},
		{"add 10.0.1.1 frobnicate", "unknown argument"},
		{"delete", "needs an id"},
		{"delete 10.0.1.1", "needs an id"},
		{"delete id 3 10.0.1.1", "only accepted with id 0"},
		{"delete id 0", "needs the address"},
		{"delete id 3 port 80", "port is not valid"},
		{"delete id 3 backup", "flags are only valid"},
		{"delete id 3 dev eth0", "dev is only valid with add"},
		{"change backup", "needs an id or an address"},
		{"change id 3", "needs backup"},
		{"change id 0 backup", "cannot be changed"},
		{"change id 3 port 80 backup", "port cannot be used with id"},
		{"change id 3 signal", "only backup and fullmesh"},
		{"change id 3 backup nobackup", "both ways"},
		{"show 10.0.1.1", "only an id"},
		{"show id 0", "cannot be shown"},
		{"show subflow", "flags are only valid"},
		{"flush id 3", "no arguments"},
		{"flush 10.0.1.1", "no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			_, err := parseEndpointArgs(strings.Fields(tt.args))
			if !errors.Is(err, errUsage) {
				t.Fatalf("error = %v, want a usage error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestEndpointUsageExit checks the exit status and output of bad command
// lines through the command dispatcher.
func TestEndpointUsageExit(t *testing.T) {
	for _, args := range [][]string{
		{"endpoint", "add"},
		{"endpoint", "--bogus"},
		{"endpoint", "delete", "id", "x"},
		{"limits", "set", "subflows"},
		{"limits", "set", "bogus", "1"},
		{"monitor", "now"},
		{"monitor", "--timeout", "forever"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: output %q", args, stdout.String())
		}
		if !strings.Contains(stderr.String(), "usage: mptcp "+args[0]) {
			t.Errorf("%q: stderr %q lacks the usage line", args, stderr.String())
		}
	}
}

func TestEndpointShow(t *testing.T) {
	f := &pmFake{reply: func(r pmRequest) ([][]byte, int) {
		switch {
		case r.cmd == pmTestCmdGetAddr && r.flags&netlink.Dump != 0:
			return [][]byte{
				pmEndpointReply(1, "10.0.2.2", 0, 0x2|0x4, 7),
				pmEndpointReply(2, "10.0.1.1", 1234, 0x1|0x80, 0),
				pmEndpointReply(3, "10.0.3.3", 0, 0x2|0x20, 11),
			}, 0
		case r.cmd == pmTestCmdGetAddr:
			if !bytes.Equal(r.attrs["1.2"], []byte{1}) {
				return nil, 22
			}
			return [][]byte{pmEndpointReply(1, "10.0.2.2", 0, 0x2|0x4, 7)}, 0
		}
		return nil, 95
	}}
	f.install(t)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "10.0.2.2 id 1 subflow backup dev eth9\n10.0.1.1 port 1234 id 2 signal rawflags 80\n10.0.3.3 id 3 subflow laminar dev if11\n"},
		{[]string{"show", "id", "1"}, "10.0.2.2 id 1 subflow backup dev eth9\n"},
		{[]string{"--json", "show"}, `[{"address":"10.0.2.2","id":1,"subflow":true,"backup":true,"dev":"eth9"},` +
			`{"address":"10.0.1.1","port":1234,"id":2,"signal":true,"rawflags":"80"},` +
			`{"address":"10.0.3.3","id":3,"subflow":true,"laminar":true,"dev":"if11"}]` + "\n"},
		{[]string{"show", "id", "1", "--json"}, `[{"address":"10.0.2.2","id":1,"subflow":true,"backup":true,"dev":"eth9"}]` + "\n"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if err := runEndpoint(tt.args, &stdout, &stderr); err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if got := stdout.String(); got != tt.want {
			t.Errorf("%q output:\n got %q\nwant %q", tt.args, got, tt.want)
		}
	}
}

func TestEndpointCommands(t *testing.T) {
	// The fake's endpoint 5 is "10.0.2.2 id 5 subflow fullmesh".
	cur := pmEndpointReply(5, "10.0.2.2", 0, 0x2|0x8, 0)
	tests := []struct {
		args []string
		want []pmRequest // flags left out
	}{
		{[]string{"add", "10.0.2.2", "id", "5", "dev", "eth9", "subflow", "backup"}, []pmRequest{{cmd: pmTestCmdAddAddr, attrs: map[string][]byte{
			"1.2": {5}, "1.6": pmLE32(0x2 | 0x4), "1.7": pmLE32(7), "1.1": pmLE16(2), "1.3": pmIP4("10.0.2.2")}}}},
		{[]string{"add", "10.0.1.1", "port", "1234", "signal"}, []pmRequest{{cmd: pmTestCmdAddAddr, attrs: map[string][]byte{
			"1.6": pmLE32(0x1), "1.5": pmLE16(1234), "1.1": pmLE16(2), "1.3": pmIP4("10.0.1.1")}}}},
		{[]string{"delete", "id", "5"}, []pmRequest{{cmd: pmTestCmdDelAddr, attrs: map[string][]byte{"1.2": {5}}}}},
		{[]string{"delete", "id", "0", "10.0.1.1"}, []pmRequest{{cmd: pmTestCmdDelAddr, attrs: map[string][]byte{
			"1.2": {0}, "1.1": pmLE16(2), "1.3": pmIP4("10.0.1.1")}}}},
		{[]string{"flush"}, []pmRequest{{cmd: pmTestCmdFlush, attrs: map[string][]byte{}}}},
		// change touches only the named flag: fullmesh stays.
		{[]string{"change", "id", "5", "backup"}, []pmRequest{
			{cmd: pmTestCmdGetAddr, attrs: map[string][]byte{"1.2": {5}}},
			{cmd: pmTestCmdSetFlags, attrs: map[string][]byte{"1.2": {5}, "1.6": pmLE32(0x4 | 0x8)}},
		}},
		{[]string{"change", "10.0.2.2", "nofullmesh"}, []pmRequest{
			{cmd: pmTestCmdGetAddr, attrs: map[string][]byte{}},
			{cmd: pmTestCmdSetFlags, attrs: map[string][]byte{"1.1": pmLE16(2), "1.3": pmIP4("10.0.2.2")}},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := &pmFake{reply: func(r pmRequest) ([][]byte, int) {
				if r.cmd == pmTestCmdGetAddr {
					return [][]byte{cur}, 0
				}
				return nil, 0
			}}
			f.install(t)
			var stdout, stderr bytes.Buffer
			if err := runEndpoint(tt.args, &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			if stdout.Len() != 0 {
				t.Errorf("output %q, want none", stdout.String())
			}
			got := f.requests()
			for i := range got {
				got[i].flags = 0
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(pmRequest{})); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEndpointErrors(t *testing.T) {
	f := &pmFake{reply: func(r pmRequest) ([][]byte, int) {
		if r.cmd == pmTestCmdGetAddr && r.flags&netlink.Dump != 0 {
			return [][]byte{pmEndpointReply(5, "10.0.2.2", 0, 0x2, 0)}, 0
		}
		return nil, 1 // EPERM
	}}
	f.install(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"add", "10.0.2.2", "subflow"}, "missing privileges"},
		{[]string{"add", "10.0.2.2", "dev", "nope0", "subflow"}, `device "nope0"`},
		{[]string{"change", "10.9.9.9", "backup"}, "no endpoint with address 10.9.9.9"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := runEndpoint(tt.args, &stdout, &stderr)
		if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want a non-usage error mentioning %q", tt.args, err, tt.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"endpoint", "flush"}, &stdout, &stderr); code != 1 {
		t.Errorf("flush without privileges: exit %d, want 1", code)
	}
	if s := stderr.String(); strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "mptcp endpoint: ") {
		t.Errorf("stderr %q, want one line", s)
	}
}

func TestEndpointDialError(t *testing.T) {
	old := dialPM
	t.Cleanup(func() { dialPM = old })
	dialPM = func() (*pm.Client, error) { return nil, pm.ErrFamilyNotFound }
	var stdout, stderr bytes.Buffer
	if err := runEndpoint([]string{"show"}, &stdout, &stderr); !errors.Is(err, pm.ErrFamilyNotFound) {
		t.Errorf("error = %v, want ErrFamilyNotFound", err)
	}
}

// FuzzParseEndpointArgs: any word list parses to a consistent command or
// a usage error, never a panic.
func FuzzParseEndpointArgs(f *testing.F) {
	for _, s := range []string{
		"", "add 10.0.1.1 port 1234 id 6 dev eth0 signal backup", "delete id 0 10.0.1.1",
		"change id 3 nobackup fullmesh", "change fd00::1 port 80 backup", "show id 255", "flush", "add id", "del id 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseEndpointArgs(strings.Fields(s))
		if err != nil {
			if !errors.Is(err, errUsage) {
				t.Fatalf("%q: error %v is not a usage error", s, err)
			}
			return
		}
		switch c.op {
		case "add":
			if !c.addr.IsValid() {
				t.Fatalf("%q: add without an address", s)
			}
		case "delete":
			if !c.hasID || (c.id == 0) != c.addr.IsValid() {
				t.Fatalf("%q: delete with id %d (set %v) and address %v", s, c.id, c.hasID, c.addr)
			}
		case "change":
			if c.changes == 0 || c.flags&c.clear != 0 {
				t.Fatalf("%q: change %+v", s, c)
			}
		case "show", "flush":
		default:
			t.Fatalf("%q: op %q", s, c.op)
		}
	})
}
