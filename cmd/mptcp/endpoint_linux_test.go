//go:build linux

package main

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"github.com/gomptcp/mptcp/kernel/pm"
)

// TestPMCommandsAgainstIP runs the endpoint and limits commands against
// the kernel inside a namespace this test creates, and compares what they
// print with "ip mptcp".
func TestPMCommandsAgainstIP(t *testing.T) {
	ns := kerneltest.NewNetns(t)
	ip := func(args ...string) string {
		t.Helper()
		// iproute2 ends its lines with a space.
		return strings.ReplaceAll(ns.IP(t, args...), " \n", "\n")
	}
	ns.AddAddr(t, "lo", netip.MustParsePrefix("10.0.1.1/24"))

	old := dialPM
	t.Cleanup(func() { dialPM = old })
	nlc := ns.NetlinkConfig(t)
	dialPM = func() (*pm.Client, error) { return pm.Dial(nlc) }
	mptcp := func(cmd string, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{cmd}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("mptcp %s %q: exit %d: %s", cmd, args, code, stderr.String())
		}
		return stdout.String()
	}
	c, err := dialPM()
	if errors.Is(err, pm.ErrFamilyNotFound) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	mptcp("endpoint", "add", "10.0.2.2", "id", "5", "subflow", "backup")
	mptcp("endpoint", "add", "10.0.1.1", "port", "41999", "signal")
	mptcp("endpoint", "add", "fd00::3", "subflow", "fullmesh")
	mptcp("endpoint", "change", "id", "5", "fullmesh")
	mptcp("endpoint", "change", "fd00::3", "nofullmesh", "backup")
	want := "10.0.2.2 id 5 subflow backup fullmesh\n10.0.1.1 port 41999 id 6 signal\nfd00::3 id 7 subflow backup\n"
	if got := mptcp("endpoint", "show"); got != want {
		t.Errorf("mptcp endpoint show:\n%s\nwant:\n%s", got, want)
	}
	if got := ip("mptcp", "endpoint", "show"); got != want {
		t.Errorf("ip mptcp endpoint show:\n%s\nwant:\n%s", got, want)
	}
	if got, want := mptcp("endpoint", "show", "id", "6"), ip("mptcp", "endpoint", "show", "id", "6"); got != want {
		t.Errorf("show id 6: %q, ip: %q", got, want)
	}
	if got, want := mptcp("endpoint", "--json", "show"), ip("-j", "mptcp", "endpoint", "show"); strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("JSON:\n%s\nip:\n%s", got, want)
	}
	mptcp("endpoint", "delete", "id", "5")
	if got := ip("mptcp", "endpoint", "show"); strings.Contains(got, "id 5 ") {
		t.Errorf("endpoint 5 still there:\n%s", got)
	}
	mptcp("endpoint", "flush")
	if got := ip("mptcp", "endpoint", "show"); got != "" {
		t.Errorf("endpoints after flush:\n%s", got)
	}

	mptcp("limits", "set", "subflows", "6", "add_addr_accepted", "4")
	mptcp("limits", "set", "add_addr_accepted", "5")
	if got, want := mptcp("limits", "show"), ip("mptcp", "limits", "show"); got != want || got != "add_addr_accepted 5 subflows 6\n" {
		t.Errorf("mptcp limits show %q, ip %q", got, want)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"limits", "set", "subflows", "9"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "maximum") {
		t.Errorf("limits set subflows 9: exit %d, stderr %q", code, stderr.String())
	}
}
