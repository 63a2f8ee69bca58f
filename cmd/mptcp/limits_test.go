package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

func TestParseLimitsArgs(t *testing.T) {
	u := func(v uint32) *uint32 { return &v }
	tests := []struct {
		args string
		want limitsCmd
	}{
		{"", limitsCmd{}},
		{"show", limitsCmd{}},
		{"s", limitsCmd{}},
		{"set subflows 4", limitsCmd{set: true, subflows: u(4)}},
		{"set add_addr_accepted 0", limitsCmd{set: true, addAddrAccepted: u(0)}},
		{"set add_addr_accepted 8 subflows 2", limitsCmd{set: true, subflows: u(2), addAddrAccepted: u(8)}},
		{"set subflow 1", limitsCmd{set: true, subflows: u(1)}},
		{"set subflows 4294967295", limitsCmd{set: true, subflows: u(4294967295)}},
	}
	for _, tt := range tests {
		got, err := parseLimitsArgs(strings.Fields(tt.args))
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(limitsCmd{})); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestParseLimitsArgsErrors(t *testing.T) {
	tests := []struct{ args, want string }{
		{"bogus", "unknown limits command"},
		{"show subflows", "no arguments"},
		{"set", "needs subflows or add_addr_accepted"},
		{"set subflows", "needs a value"},
		{"set subflows x", "invalid subflows"},
		{"set subflows -1", "invalid subflows"},
		{"set subflows 4294967296", "invalid subflows"},
		{"set subflows 1 subflows 2", "given twice"},
		{"set signal 1", "unknown limit"},
	}
	for _, tt := range tests {
		_, err := parseLimitsArgs(strings.Fields(tt.args))
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want a usage error mentioning %q", tt.args, err, tt.want)
		}
	}
}

func TestLimitsCommands(t *testing.T) {
	limits := func() []byte {
		b, err := netlink.MarshalAttributes([]netlink.Attribute{
			{Type: 2, Data: pmLE32(1)},
			{Type: 3, Data: pmLE32(4)},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}()
	tests := []struct {
		args    []string
		out     string
		request pmRequest
	}{
		{nil, "add_addr_accepted 1 subflows 4\n", pmRequest{cmd: pmTestCmdGetLimits, attrs: map[string][]byte{}}},
		{[]string{"--json", "show"}, `{"add_addr_accepted":1,"subflows":4}` + "\n",
			pmRequest{cmd: pmTestCmdGetLimits, attrs: map[string][]byte{}}},
		{[]string{"set", "subflows", "3"}, "", pmRequest{cmd: pmTestCmdSetLimits, attrs: map[string][]byte{"3": pmLE32(3)}}},
		{[]string{"set", "add_addr_accepted", "2"}, "", pmRequest{cmd: pmTestCmdSetLimits, attrs: map[string][]byte{"2": pmLE32(2)}}},
		{[]string{"set", "subflows", "3", "add_addr_accepted", "2"}, "",
			pmRequest{cmd: pmTestCmdSetLimits, attrs: map[string][]byte{"2": pmLE32(2), "3": pmLE32(3)}}},
	}
	for _, tt := range tests {
		f := &pmFake{reply: func(r pmRequest) ([][]byte, int) {
			if r.cmd == pmTestCmdGetLimits {
				return [][]byte{limits}, 0
			}
			return nil, 0
		}}
		f.install(t)
		var stdout, stderr bytes.Buffer
		if err := runLimits(tt.args, &stdout, &stderr); err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if stdout.String() != tt.out {
			t.Errorf("%q output %q, want %q", tt.args, stdout.String(), tt.out)
		}
		reqs := f.requests()
		for i := range reqs {
			reqs[i].flags = 0
		}
		if diff := cmp.Diff([]pmRequest{tt.request}, reqs, cmp.AllowUnexported(pmRequest{})); diff != "" {
			t.Errorf("%q requests (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestLimitsKernelError(t *testing.T) {
	f := &pmFake{reply: func(r pmRequest) ([][]byte, int) { return nil, 22 }}
	f.install(t)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"limits", "set", "subflows", "9"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "invalid argument") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// FuzzParseLimitsArgs: any word list parses to a command or a usage error.
func FuzzParseLimitsArgs(f *testing.F) {
	for _, s := range []string{"", "show", "set subflows 2 add_addr_accepted 8", "set subflows", "set x 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseLimitsArgs(strings.Fields(s))
		if err != nil {
			if !errors.Is(err, errUsage) {
				t.Fatalf("%q: error %v is not a usage error", s, err)
			}
			return
		}
		if c.set && c.subflows == nil && c.addAddrAccepted == nil {
			t.Fatalf("%q: set without a limit", s)
		}
	})
}
