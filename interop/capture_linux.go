package interop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Capture is a tcpdump run on every interface of the kernel's namespace
// (the TUN devices), writing a pcap file.
type Capture struct {
	Path string
	cmd  *exec.Cmd
	done chan error
	mu   chan struct{} // closed when the stderr reader ended
	errs strings.Builder
}

// StartCapture starts tcpdump in the kernel's namespace, writing TCP
// packets cut to snaplen bytes (0: whole packets) to a file in dir (a
// temporary directory of the test if dir is empty), named after the test.
// It returns nil, after logging why, when tcpdump is not installed:
// captures are for diagnosis, never a reason to skip. The capture stops
// when the test ends if Stop was not called.
func (tp *Topology) StartCapture(t testing.TB, dir string, snaplen int) *Capture {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Log("interop: tcpdump is not installed: no capture")
		return nil
	}
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("interop: %v", err)
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".pcap"
	c := &Capture{Path: filepath.Join(dir, name), done: make(chan error, 1), mu: make(chan struct{})}
	c.cmd = exec.Command("ip", "netns", "exec", tp.NS.Name, "tcpdump", "-i", "any", "-n", "-U", "--immediate-mode",
		"-B", "16384", "-s", fmt.Sprint(snaplen), "-w", c.Path, "tcp")
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Logf("interop: starting tcpdump: %v: no capture", err)
		return nil
	}
	ready := make(chan struct{})
	go func() {
		defer close(c.mu)
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			line := sc.Text()
			c.errs.WriteString(line + "\n")
			if !once && strings.Contains(line, "listening on") {
				once = true
				close(ready)
			}
		}
		if !once {
			close(ready)
		}
	}()
	go func() {
		<-c.mu
		c.done <- c.cmd.Wait()
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Log("interop: tcpdump did not start listening within 5s")
	}
	t.Cleanup(func() { c.Stop(t) })
	return c
}

// Stop ends the capture and waits for tcpdump to write its last packets.
// It returns the file's path. Stop on a nil Capture returns "".
func (c *Capture) Stop(t testing.TB) string {
	if c == nil {
		return ""
	}
	if c.cmd.ProcessState == nil && c.done != nil {
		// tcpdump drops what it has not written yet when it is
		// interrupted: wait until the file (written packet by packet,
		// -U) has stopped growing for a while first.
		c.waitQuiet(150*time.Millisecond, 3*time.Second)
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
		c.done = nil
		if s := c.errs.String(); strings.Contains(s, "dropped by kernel") && !strings.Contains(s, " 0 packets dropped by kernel") {
			t.Logf("interop: tcpdump: %s", strings.TrimSpace(s))
		}
	}
	return c.Path
}

// waitQuiet waits until the capture file's size has not changed for
// quiet, for at most limit.
func (c *Capture) waitQuiet(quiet, limit time.Duration) {
	start := time.Now()
	last, since := int64(-1), start
	for time.Since(start) < limit {
		var size int64
		if fi, err := os.Stat(c.Path); err == nil {
			size = fi.Size()
		}
		switch {
		case size != last:
			last, since = size, time.Now()
		case time.Since(since) >= quiet:
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
