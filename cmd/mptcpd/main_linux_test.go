//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
)

// logLines runs the daemon's JSON log through a pipe and delivers each
// record.
func logLines(t *testing.T) (io.WriteCloser, <-chan map[string]any) {
	pr, pw := io.Pipe()
	c := make(chan map[string]any, 256)
	go func() {
		defer close(c)
		s := bufio.NewScanner(pr)
		for s.Scan() {
			var m map[string]any
			if err := json.Unmarshal(s.Bytes(), &m); err != nil {
				m = map[string]any{"msg": "not JSON: " + s.Text()}
			}
			c <- m
		}
	}()
	return pw, c
}

// waitLog returns the first record with the given message (and attribute
// values, given as key, value pairs), waiting up to 10 s.
func waitLog(t *testing.T, c <-chan map[string]any, msg string, kv ...string) map[string]any {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c:
			if !ok {
				t.Fatalf("log ended before %q", msg)
			}
			t.Logf("log: %v", m)
			if m["msg"] != msg {
				continue
			}
			match := true
			for i := 0; i+1 < len(kv); i += 2 {
				if fmt.Sprint(m[kv[i]]) != kv[i+1] {
					match = false
				}
			}
			if match {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q log record within 10s", msg)
		}
	}
}

// TestRunKernel runs the command against the kernel: in a client namespace
// joined to a server namespace by two paths, with sspi and backup, it must
// select the userspace path manager, open a backup subflow over the second
// path for a new connection, serve metrics that say so, and restore the
// path manager on exit.
func TestRunKernel(t *testing.T) {
	p := kerneltest.NewTwoPathsBare(t)
	p.Server.IP(t, "mptcp", "limits", "set", "subflow", "8")
	ln := p.Server.ListenMPTCP(t, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))

	logw, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--netns", p.Client.Name, "--set-path-manager", "--plugins", "sspi,backup",
			"-o", "backup.interfaces=gmt1", "--log-format", "json", "--log-level", "debug", "--metrics", "127.0.0.1:0"},
			io.Discard, logw)
		logw.Close()
	}()
	url := waitLog(t, logs, "serving metrics")["url"].(string)
	waitLog(t, logs, "mptcpd running")
	if pm := p.Client.ReadSysctl(t, "net/mptcp/path_manager"); pm != "userspace" {
		t.Errorf("path_manager = %q while running, want userspace", pm)
	}

	c := p.Client.ConnectMPTCP(t, ln, p.ClientAddrs[0], p.ServerAddrs[0])
	waitLog(t, logs, "command", "command", "set_backup", "backup", "true")
	sfs, err := kernel.SubflowAddrs(c.Client)
	if err != nil {
		t.Fatal(err)
	}
	var locals []string
	for _, s := range sfs {
		locals = append(locals, s.Local.Addr().Unmap().String())
	}
	slices.Sort(locals)
	if want := []string{p.ClientAddrs[0].String(), p.ClientAddrs[1].String()}; !slices.Equal(locals, want) {
		t.Errorf("subflows from %v, want from %v", locals, want)
	}

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	for _, want := range []string{
		"mptcpd_subflows_created_total 1\n",
		`mptcpd_commands_total{command="set_backup",result="ok"} 1` + "\n",
		`mptcpd_events_total{event="established"} 1` + "\n",
		"mptcpd_local_addresses 2\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("run = %d after cancel, want 0", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of cancel")
	}
	for range logs {
	}
	if pm := p.Client.ReadSysctl(t, "net/mptcp/path_manager"); pm != "kernel" {
		t.Errorf("path_manager = %q after exit, want kernel (restored)", pm)
	}
}

// TestRunMPTCPDisabled: net.mptcp.enabled=0 is a runtime error.
func TestRunMPTCPDisabled(t *testing.T) {
	ns := kerneltest.NewNetns(t)
	ns.WriteSysctl(t, "net/mptcp/enabled", "0")
	var stderr strings.Builder
	code := run(context.Background(), []string{"--netns", ns.Name}, io.Discard, &stderr)
	want := "mptcpd: MPTCP is disabled (net.mptcp.enabled=0); enable it with: sysctl -w net.mptcp.enabled=1\n"
	if code != 1 || stderr.String() != want {
		t.Errorf("run = %d, stderr %q; want 1 and %q", code, stderr.String(), want)
	}
}

// daemonCommand returns a command running mptcpd (this test binary
// re-executed) with args, from a copy everyone may execute; the copy is
// deleted when the test ends.
func daemonCommand(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	dir, err := os.MkdirTemp("", "gmtm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mptcpd")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "GMT_MPTCPD_RUN=1")
	return cmd
}

// TestRunSignal stops the daemon process with SIGTERM: it exits with
// status 0 after restoring the path manager.
func TestRunSignal(t *testing.T) {
	ns := kerneltest.NewNetns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := daemonCommand(t, ctx, "--netns", ns.Name, "--set-path-manager", "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := bufio.NewScanner(stderr)
	var lines []string
	for s.Scan() {
		lines = append(lines, s.Text())
		if strings.Contains(s.Text(), `"msg":"mptcpd running"`) {
			break
		}
	}
	if pm := ns.ReadSysctl(t, "net/mptcp/path_manager"); pm != "userspace" {
		t.Errorf("path_manager = %q while running, want userspace", pm)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v; log:\n%s", err, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[len(lines)-1], `"msg":"restored the path manager"`) {
		t.Errorf("last log line %q, want the path manager restored", lines[len(lines)-1])
	}
	if pm := ns.ReadSysctl(t, "net/mptcp/path_manager"); pm != "kernel" {
		t.Errorf("path_manager = %q after SIGTERM, want kernel", pm)
	}
}

// TestRunUnprivileged runs the daemon as the nobody user: subscribing to
// the path manager's events needs CAP_NET_ADMIN.
func TestRunUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to run the daemon as the nobody user")
	}
	kerneltest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := daemonCommand(t, ctx, "--plugins", "sspi")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("running as nobody: %v, want exit status 1; stderr %q", err, stderr.String())
	}
	s := stderr.String()
	t.Logf("stderr: %s", s)
	if !strings.HasPrefix(s, "mptcpd: ") || strings.Count(s, "\n") != 1 || !strings.Contains(s, "missing privileges") {
		t.Errorf("stderr %q, want one line about missing privileges", s)
	}
}
