//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"github.com/google/go-cmp/cmp"
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
func parseOurs(t *testing.T, out string) ([]kerneltest.SSSocket, []kerneltest.SSSubflow) {
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
			socks[len(socks)-1].Details = line
		case line == "" || strings.HasPrefix(line, "State "):
		default:
			f := strings.Fields(line)
			socks = append(socks, kerneltest.SSSocket{State: f[0], RecvQ: f[1], SendQ: f[2], Local: f[3], Peer: f[4]})
		}
	}
	return socks, kerneltest.ParseSSSubflows(subflows)
}

// TestLiveSocketsMatchSS compares "mptcp sockets --all" with "ss -M" and
// "ss -tnai" in both namespaces of a live two-subflow connection.
func TestLiveSocketsMatchSS(t *testing.T) {
	kerneltest.Require(t)
	kerneltest.RequireTool(t, "ss")
	p := kerneltest.NewTwoPaths(t)
	p.Connect(t)
	type msk struct{ State, Local, Peer, Token string }
	for _, ns := range []*kerneltest.Netns{p.Client, p.Server} {
		ours, ourSubflows := parseOurs(t, runIn(t, ns, "sockets", "--all"))
		var got, want []msk
		for _, s := range ours {
			got = append(got, msk{s.State, s.Local, s.Peer, kerneltest.SSToken(s)})
		}
		for _, s := range ns.SS(t, "-Mnai") {
			want = append(want, msk{s.State, s.Local, s.Peer, kerneltest.SSToken(s)})
		}
		cmpMSK := func(a, b msk) int { return strings.Compare(a.State+a.Local+a.Peer, b.State+b.Local+b.Peer) }
		slices.SortFunc(got, cmpMSK)
		slices.SortFunc(want, cmpMSK)
		if len(want) == 0 {
			t.Fatalf("%s: ss -M lists no MPTCP socket", ns.Name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: sockets differ from ss -M (-ss +ours):\n%s", ns.Name, diff)
		}
		wantSF := ns.SSSubflows(t)
		cmpSF := func(a, b kerneltest.SSSubflow) int {
			return strings.Compare(a.State+a.Local+a.Peer, b.State+b.Local+b.Peer)
		}
		slices.SortFunc(ourSubflows, cmpSF)
		slices.SortFunc(wantSF, cmpSF)
		if diff := cmp.Diff(wantSF, ourSubflows); diff != "" {
			t.Errorf("%s: subflows differ from ss -tnai (-ss +ours):\n%s", ns.Name, diff)
		}
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
