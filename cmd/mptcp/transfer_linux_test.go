//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/interop/payload"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// transferNetns is a namespace for the kernel's side, in which the TUN
// devices of "mptcp connect/listen" are created.
type transferNetns struct {
	ns   *kerneltest.Netns
	tuns []string // --tun values, by path
	ours []netip.Addr
	kern []netip.Addr
}

func newTransferNetns(t *testing.T, paths int) *transferNetns {
	t.Helper()
	ns := kerneltest.NewNetns(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("needs TUN devices: %v", err)
	}
	ns.WriteSysctl(t, "net/ipv4/conf/all/rp_filter", "0")
	ns.WriteSysctl(t, "net/ipv4/conf/default/rp_filter", "0")
	tn := &transferNetns{ns: ns}
	for k := range paths {
		ours := netip.AddrFrom4([4]byte{10, 91, byte(k), 2})
		kern := netip.AddrFrom4([4]byte{10, 91, byte(k), 1})
		// The devices live in the test's own namespace: names cannot clash.
		tn.tuns = append(tn.tuns, fmt.Sprintf("gmt%dp%d,%v/24,%v/24", os.Getpid()%100000, k, ours, kern))
		tn.ours = append(tn.ours, ours)
		tn.kern = append(tn.kern, kern)
	}
	return tn
}

// args returns the --netns and --tun flags.
func (tn *transferNetns) args() []string {
	a := []string{"--netns", tn.ns.Name}
	for _, s := range tn.tuns {
		a = append(a, "--tun", s)
	}
	return a
}

// kernelResult is what the kernel's side of a transfer saw.
type kernelResult struct {
	mptcp    bool
	received int64
	mismatch int64
	readErr  error
	err      error
}

// kernelSession runs the kernel's side over c: it sends n bytes of the
// payload of seed, waits hold, half-closes, and reads everything, checking
// it against the payload of peerSeed.
func kernelSession(c *net.TCPConn, n int64, seed, peerSeed uint64, hold time.Duration) kernelResult {
	var r kernelResult
	r.mptcp, _ = c.MultipathTCP()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	done := make(chan struct{})
	check := payload.NewChecker(peerSeed)
	go func() {
		_, r.readErr = io.Copy(check, c)
		close(done)
	}()
	if _, err := io.CopyN(c, payload.New(seed), n); err != nil {
		r.err = err
	} else {
		time.Sleep(hold)
		r.err = c.CloseWrite()
	}
	<-done
	r.received, r.mismatch = check.Len(), check.Mismatch()
	c.Close()
	return r
}

// kernelCounter reads one MPTcpExt counter of the namespace.
func kernelCounter(t *testing.T, ns *kerneltest.Netns, name string) uint64 {
	t.Helper()
	v, ok := ns.MIB(t).Get(name)
	if !ok {
		t.Fatalf("the kernel has no counter %s", name)
	}
	return v
}

// summaryOf finds the JSON summary in the command's stderr.
func summaryOf(t *testing.T, stderr string) transferSummary {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		var s transferSummary
		if json.Unmarshal([]byte(line), &s) == nil && s.Event == "summary" {
			return s
		}
	}
	t.Fatalf("no summary on stderr:\n%s", stderr)
	return transferSummary{}
}

// TestTransferConnectKernel: "mptcp connect" over two TUN devices to the
// kernel's MPTCP listener, with a second subflow from a "subflow"
// endpoint: both payloads arrive intact, and the summary shows two
// subflows that carried data.
func TestTransferConnectKernel(t *testing.T) {
	tn := newTransferNetns(t, 2)
	ln := tn.ns.ListenMPTCP(t, netip.AddrPortFrom(netip.IPv4Unspecified(), 7000))
	const up, down = 3 << 20, 2 << 20
	res := make(chan kernelResult, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			res <- kernelResult{err: err}
			return
		}
		res <- kernelSession(c, down, 2, 1, 0)
	}()
	var stdout, stderr bytes.Buffer
	args := append([]string{"connect", netip.AddrPortFrom(tn.kern[0], 7000).String()}, tn.args()...)
	args = append(args, "--endpoint", tn.ours[1].String()+",subflow", "--json", "--timeout", "20s",
		"--send-bytes", fmt.Sprint(up), "--expect-bytes", fmt.Sprint(down), "--peer-seed", "2")
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Errorf("mptcp %q: exit %d\n%s", args, code, stderr.String())
	}
	kr := <-res
	if kr.err != nil || kr.readErr != nil || !kr.mptcp || kr.received != up || kr.mismatch >= 0 {
		t.Errorf("kernel side: %+v (read error %v), want %d bytes intact over MPTCP", kr, kr.readErr, up)
	}
	s := summaryOf(t, stderr.String())
	if s.Error != "" || !s.MPTCPAtStart || !s.MPTCP || s.BytesSent != up || s.BytesReceived != down {
		t.Errorf("summary %+v", s)
	}
	if s.Info == nil || s.Info.CsumEnabled || s.Info.SubflowsTotal != 2 || len(s.Info.SubflowList) != 2 {
		t.Fatalf("summary info %+v: want two subflows, no checksums", s.Info)
	}
	for _, sf := range s.Info.SubflowList {
		if sf.BytesSent == 0 || sf.BytesReceived == 0 {
			t.Errorf("subflow %+v carried no data one way", sf)
		}
	}
	if s.MIB["MPJoinSynTx"] != 1 || s.MIB["MPRstTx"] != 0 {
		t.Errorf("MIB %v: want one MP_JOIN SYN and no subflow reset", s.MIB)
	}
	if got := kernelCounter(t, tn.ns, "MPJoinAckRx"); got != 1 {
		t.Errorf("kernel MIB MPJoinAckRx = %d, want 1", got)
	}
}

// TestTransferListenKernel: the kernel dials "mptcp listen", which asks
// for DSS checksums, receives the kernel's payload, sends its own and
// closes abortively (--fastclose): the kernel reads our bytes, then the
// reset, and counts the MP_FASTCLOSE.
func TestTransferListenKernel(t *testing.T) {
	tn := newTransferNetns(t, 1)
	var stdout bytes.Buffer
	var stderr syncBuffer
	const up, down = 64 << 10, 128 << 10
	args := append([]string{"listen", "--addr", ":7001"}, tn.args()...)
	args = append(args, "--checksum", "--fastclose", "--hold", "1s", "--json", "--timeout", "20s",
		"--send-bytes", fmt.Sprint(up), "--expect-bytes", fmt.Sprint(down), "--peer-seed", "2")
	code := make(chan int, 1)
	go func() { code <- run(args, &stdout, &stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), `"listening"`) {
		select {
		case c := <-code:
			t.Fatalf("mptcp listen exited with %d before listening:\n%s", c, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mptcp listen did not listen within 10s:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var c *net.TCPConn
	err := tn.ns.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		nc, err := d.Dial("tcp", netip.AddrPortFrom(tn.ours[0], 7001).String())
		if err == nil {
			c = nc.(*net.TCPConn)
		}
		return err
	})
	if err != nil {
		t.Fatalf("dialing mptcp listen: %v", err)
	}
	kr := kernelSession(c, down, 2, 1, 100*time.Millisecond)
	if got := <-code; got != 0 {
		t.Errorf("mptcp %q: exit %d\n%s", args, got, stderr.String())
	}
	if kr.err != nil || !kr.mptcp || kr.received != up || kr.mismatch >= 0 {
		t.Errorf("kernel side: %+v (read error %v), want %d bytes intact over MPTCP", kr, kr.readErr, up)
	}
	if !errors.Is(kr.readErr, syscall.ECONNRESET) {
		t.Errorf("kernel side: read ended with %v, want a reset", kr.readErr)
	}
	s := summaryOf(t, stderr.String())
	if s.Error != "" || !s.Fastclose || s.BytesReceived != down || s.Info == nil || s.Info.Fallback || !s.Info.CsumEnabled {
		t.Errorf("summary %+v", s)
	}
	if got := kernelCounter(t, tn.ns, "MPFastcloseRx"); got != 1 {
		t.Errorf("kernel MIB MPFastcloseRx = %d, want 1", got)
	}
}
