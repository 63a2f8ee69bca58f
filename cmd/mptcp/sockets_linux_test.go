//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gomptcp/mptcp/kernel/kerneltest"
)

// runIn runs the command inside a namespace and returns its output.
func runIn(t *testing.T, ns *kerneltest.Netns, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	var code int
	if err := ns.Do(func() error {
		code = run(args, &out, &errOut)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("mptcp %v: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

// parseOurs splits "mptcp sockets" output into MPTCP sockets (with the
// token of their info line) and subflows in kerneltest's ss form.
func parseOurs(t *testing.T, out string) ([]kerneltest.SSConn, []kerneltest.SSSubflow) {
	t.Helper()
	var socks, subflows []kerneltest.SSSocket
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "\t subflow "):
			f := strings.Fields(line)
			if len(f) < 4 {
				t.Fatalf("subflow line %q", line)
			}
			subflows = append(subflows, kerneltest.SSSocket{State: f[1], Local: f[2], Peer: f[3],
				Details: "tcp-ulp-mptcp " + strings.Join(f[4:], " ")})
		case strings.HasPrefix(line, "\t"):
			if len(socks) == 0 {
				t.Fatalf("info line %q before any socket", line)
			}
			socks[len(socks)-1].Details = line
		case line == "" || strings.HasPrefix(line, "State "):
		default:
			f := strings.Fields(line)
			if len(f) < 5 {
				t.Fatalf("socket line %q", line)
			}
			socks = append(socks, kerneltest.SSSocket{State: f[0], RecvQ: f[1], SendQ: f[2], Local: f[3], Peer: f[4]})
		}
	}
	var conns []kerneltest.SSConn
	for _, s := range socks {
		conns = append(conns, kerneltest.SSConn{State: s.State, Local: s.Local, Peer: s.Peer, Token: kerneltest.SSToken(s)})
	}
	return conns, kerneltest.ParseSSSubflows(subflows)
}

// TestLiveSocketsMatchSS compares "mptcp sockets --all" with "ss -M" and
// "ss -tnai" in both namespaces of a live two-subflow connection.
func TestLiveSocketsMatchSS(t *testing.T) {
	kerneltest.Require(t)
	kerneltest.RequireTool(t, "ss")
	p := kerneltest.NewTwoPaths(t)
	p.Connect(t)
	for _, ns := range []*kerneltest.Netns{p.Client, p.Server} {
		ours, ourSubflows := parseOurs(t, runIn(t, ns, "sockets", "--all"))
		if len(ours) == 0 {
			t.Fatalf("%s: mptcp sockets lists no MPTCP socket", ns.Name)
		}
		ns.CompareSS(t, ours, ourSubflows)
		established := 0
		for _, sf := range ourSubflows {
			if sf.State == "ESTAB" {
				established++
			}
		}
		if established != 2 {
			t.Errorf("%s: %d established subflows, want 2", ns.Name, established)
		}
	}

	// The server namespace's counters saw exactly one MP_JOIN.
	var stats struct {
		Counters []statLine `json:"counters"`
	}
	if err := json.Unmarshal([]byte(runIn(t, p.Server, "stats", "--json")), &stats); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range stats.Counters {
		got[c.Name] = c.Value
	}
	if got["MPJoinAckRx"] != 1 || got["MPJoinSynRx"] != 1 || got["MPCapableSYNRX"] != 1 || got["MPCurrEstab"] != 1 {
		t.Errorf("server counters %v", got)
	}
}
