package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain lets the tests run the daemon as a separate process: the test
// binary re-executed with GMT_MPTCPD_RUN=1 is mptcpd. Otherwise it runs the
// tests and checks that they leave no goroutine behind.
func TestMain(m *testing.M) {
	if os.Getenv("GMT_MPTCPD_RUN") == "1" {
		main()
	}
	goleak.VerifyTestMain(m)
}

func TestRunExitStatus(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string // substring; "" for none expected
		stderr string // the single line expected, as a prefix
	}{
		{[]string{"--bogus"}, 2, "", "mptcpd: flag provided but not defined: -bogus"},
		{[]string{"--plugins", "sspi", "-o", "sspi.bind=perhaps"}, 2, "", `mptcpd: plugin sspi: option bind: "perhaps" is not a boolean`},
		{[]string{"-config", "/nonexistent/mptcpd.conf"}, 2, "", "mptcpd: reading the configuration file: open /nonexistent/mptcpd.conf"},
		{[]string{"-h"}, 0, "usage: mptcpd [flags]", ""},
		{[]string{"--list-plugins"}, 0, "ndiffports.count: subflows over the initial address pair", ""},
		{[]string{"--netns", "/nonexistent/ns"}, 1, "", "mptcpd: network namespace: open /nonexistent/ns: no such file or directory"},
		{[]string{"--log-target", "/nonexistent/dir/log"}, 1, "", "mptcpd: opening the log file: open /nonexistent/dir/log"},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code {
			t.Errorf("run(%q) = %d, want %d; stderr %q", tt.args, code, tt.code, stderr.String())
		}
		if tt.stdout != "" && !strings.Contains(stdout.String(), tt.stdout) {
			t.Errorf("run(%q): stdout %q lacks %q", tt.args, stdout.String(), tt.stdout)
		}
		if tt.stderr == "" {
			if stderr.Len() != 0 {
				t.Errorf("run(%q): stderr %q", tt.args, stderr.String())
			}
			continue
		}
		if !strings.HasPrefix(stderr.String(), tt.stderr) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("run(%q): stderr %q, want one line starting %q", tt.args, stderr.String(), tt.stderr)
		}
	}
}

func TestListPlugins(t *testing.T) {
	var b strings.Builder
	listPlugins(&b)
	for _, want := range []string{
		"addr_adv: keep the in-kernel path manager's endpoints in step with the host's addresses (kernel path manager)",
		"backup: mark subflows over chosen interfaces as backup (MP_PRIO) (userspace path manager)",
		"    backup.interfaces: ",
		"fullmesh: ", "ndiffports: ", "sspi: ",
		"    sspi.bind: bind each subflow to its interface, so that it leaves through it whatever the routing table says (default true)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plugin list lacks %q:\n%s", want, b.String())
		}
	}
}
