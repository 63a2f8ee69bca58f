//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/kernel"
)

var nsSeq atomic.Uint32

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: needs the ip command (iproute2)")
	}
	if b, err := os.ReadFile("/proc/sys/net/mptcp/enabled"); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Skip("skipping: the kernel has no MPTCP, or it is disabled")
	}
}

// newNetns creates a namespace named gmtm<pid><n> with its loopback up,
// deleted when the test ends, and returns its name.
func newNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("gmtm%dn%d", os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("skipping: ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ip(t, name, "link", "set", "lo", "up")
	return name
}

func ip(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
}

func readSysctl(t *testing.T, ns, name string) string {
	t.Helper()
	var v string
	err := kernel.DoInNetns("/run/netns/"+ns, func() error {
		b, err := os.ReadFile("/proc/sys/net/mptcp/" + name)
		v = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

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
	requireRoot(t)
	cns, sns := newNetns(t), newNetns(t)
	for k := range 2 {
		dev := fmt.Sprintf("gmt%d", k)
		ip(t, cns, "link", "add", dev, "type", "veth", "peer", "name", dev, "netns", sns)
		ip(t, cns, "addr", "add", fmt.Sprintf("10.56.%d.1/24", k+1), "dev", dev)
		ip(t, sns, "addr", "add", fmt.Sprintf("10.56.%d.2/24", k+1), "dev", dev)
		ip(t, cns, "link", "set", dev, "up")
		ip(t, sns, "link", "set", dev, "up")
	}
	ip(t, sns, "mptcp", "limits", "set", "subflow", "8")

	var ln net.Listener
	if err := kernel.DoInNetns("/run/netns/"+sns, func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(context.Background(), "tcp4", "0.0.0.0:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()

	logw, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--netns", cns, "--set-path-manager", "--plugins", "sspi,backup",
			"-o", "backup.interfaces=gmt1", "--log-format", "json", "--log-level", "debug", "--metrics", "127.0.0.1:0"},
			io.Discard, logw)
		logw.Close()
	}()
	url := waitLog(t, logs, "serving metrics")["url"].(string)
	waitLog(t, logs, "mptcpd running")
	if pm := readSysctl(t, cns, "path_manager"); pm != "userspace" {
		t.Errorf("path_manager = %q while running, want userspace", pm)
	}

	var conn net.Conn
	if err := kernel.DoInNetns("/run/netns/"+cns, func() (err error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(10, 56, 1, 1)}, Timeout: 10 * time.Second}
		d.SetMultipathTCP(true)
		conn, err = d.Dial("tcp4", fmt.Sprintf("10.56.1.2:%d", ln.Addr().(*net.TCPAddr).Port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "command", "command", "set_backup", "backup", "true")
	sfs, err := kernel.SubflowAddrs(conn.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	var locals []string
	for _, s := range sfs {
		locals = append(locals, s.Local.Addr().Unmap().String())
	}
	slices.Sort(locals)
	if !slices.Equal(locals, []string{"10.56.1.1", "10.56.2.1"}) {
		t.Errorf("subflows from %v, want from 10.56.1.1 and 10.56.2.1", locals)
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
	if pm := readSysctl(t, cns, "path_manager"); pm != "kernel" {
		t.Errorf("path_manager = %q after exit, want kernel (restored)", pm)
	}
}

// TestRunMPTCPDisabled: net.mptcp.enabled=0 is a runtime error.
func TestRunMPTCPDisabled(t *testing.T) {
	requireRoot(t)
	ns := newNetns(t)
	if err := kernel.DoInNetns("/run/netns/"+ns, func() error {
		return os.WriteFile("/proc/sys/net/mptcp/enabled", []byte("0"), 0)
	}); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	code := run(context.Background(), []string{"--netns", ns}, io.Discard, &stderr)
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
	requireRoot(t)
	ns := newNetns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := daemonCommand(t, ctx, "--netns", ns, "--set-path-manager", "--log-format", "json")
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
	if pm := readSysctl(t, ns, "path_manager"); pm != "userspace" {
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
	if pm := readSysctl(t, ns, "path_manager"); pm != "kernel" {
		t.Errorf("path_manager = %q after SIGTERM, want kernel", pm)
	}
}

// TestRunUnprivileged runs the daemon as the nobody user: subscribing to
// the path manager's events needs CAP_NET_ADMIN.
func TestRunUnprivileged(t *testing.T) {
	requireRoot(t)
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
