//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/internal/plot"
	"github.com/gomptcp/mptcp/interop"
	"github.com/gomptcp/mptcp/interop/payload"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"github.com/gomptcp/mptcp/link/tun"
	"github.com/gomptcp/mptcp/tcp"
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
	ns    *kerneltest.Netns
	names []string // device names, by path
	ours  []netip.Addr
	kern  []netip.Addr
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
		tn.ours = append(tn.ours, netip.AddrFrom4([4]byte{10, 91, byte(k), 2}))
		tn.kern = append(tn.kern, netip.AddrFrom4([4]byte{10, 91, byte(k), 1}))
		// The devices live in the test's own namespace: names cannot clash.
		tn.names = append(tn.names, fmt.Sprintf("gmt%dp%d", os.Getpid()%100000, k))
	}
	return tn
}

// tun returns the --tun value of path k, with the kernel's address.
func (tn *transferNetns) tun(k int) string {
	return fmt.Sprintf("%s=%v/24,peer=%v/24", tn.names[k], tn.ours[k], tn.kern[k])
}

// args returns the --netns and --tun flags.
func (tn *transferNetns) args() []string {
	a := []string{"--netns", tn.ns.Name}
	for k := range tn.names {
		a = append(a, "--tun", tn.tun(k))
	}
	return a
}

// kernelResult is what the kernel's side of a transfer saw.
type kernelResult struct {
	mptcp    bool
	received int64
	rxSHA256 string
	txSHA256 string
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
	rxHash, txHash := sha256.New(), sha256.New()
	go func() {
		_, r.readErr = io.Copy(io.MultiWriter(check, rxHash), c)
		close(done)
	}()
	if _, err := io.CopyN(io.MultiWriter(c, txHash), payload.New(seed), n); err != nil {
		r.err = err
	} else {
		time.Sleep(hold)
		r.err = c.CloseWrite()
	}
	<-done
	r.received, r.mismatch = check.Len(), check.Mismatch()
	r.rxSHA256, r.txSHA256 = hex.EncodeToString(rxHash.Sum(nil)), hex.EncodeToString(txHash.Sum(nil))
	c.Close()
	return r
}

// acceptOne accepts one connection on ln and runs kernelSession on it.
func acceptOne(ln *net.TCPListener, n int64, seed, peerSeed uint64, hold time.Duration) <-chan kernelResult {
	res := make(chan kernelResult, 1)
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			res <- kernelResult{err: err}
			return
		}
		res <- kernelSession(c, n, seed, peerSeed, hold)
	}()
	return res
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

// jsonLines returns the JSON objects on stderr with the given event.
func jsonLines[T any](t *testing.T, stderr, event string) []T {
	t.Helper()
	var out []T
	for _, line := range strings.Split(stderr, "\n") {
		var ev struct {
			Event string `json:"event"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Event != event {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s line %q: %v", event, line, err)
		}
		out = append(out, v)
	}
	return out
}

// summaryOf finds the one JSON summary on stderr.
func summaryOf(t *testing.T, stderr string) transferSummary {
	t.Helper()
	s := jsonLines[transferSummary](t, stderr, "summary")
	if len(s) != 1 {
		t.Fatalf("%d summaries on stderr, want 1:\n%s", len(s), stderr)
	}
	return s[0]
}

// startListen runs "mptcp listen" in the background and waits until it
// listens; the returned channel gives its exit status.
func startListen(t *testing.T, args []string, stdout io.Writer, stderr *syncBuffer) <-chan int {
	t.Helper()
	code := make(chan int, 1)
	go func() { code <- run(args, stdout, stderr) }()
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
	return code
}

// TestTransferConnectKernel: "mptcp connect" over two TUN devices to the
// kernel's MPTCP listener, with a second subflow from a "subflow"
// endpoint: both payloads arrive intact (the summary's SHA-256 digests
// are the kernel side's), the summary shows two subflows that carried
// data, and the --pcap capture holds the connection, its join, only
// well-formed MPTCP options and no reset before the DATA_FINs.
func TestTransferConnectKernel(t *testing.T) {
	tn := newTransferNetns(t, 2)
	ln := tn.ns.ListenMPTCP(t, netip.AddrPortFrom(netip.IPv4Unspecified(), 7000))
	const up, down = 3 << 20, 2 << 20
	res := acceptOne(ln, down, 2, 1, 0)
	pcapPath := filepath.Join(t.TempDir(), "connect.pcap")
	var stdout, stderr bytes.Buffer
	args := append([]string{"connect", netip.AddrPortFrom(tn.kern[0], 7000).String()}, tn.args()...)
	// Both devices at 100 Mbit/s: the transfer lasts long enough for the
	// join to carry data whatever the machine's speed.
	args = append(args, "--impair", tn.names[0]+":rate=100mbit", "--impair", tn.names[1]+":rate=100mbit")
	args = append(args, "--endpoint", tn.ours[1].String()+",subflow", "--json", "--timeout", "20s", "--pcap", pcapPath,
		"--send-bytes", fmt.Sprint(up), "--expect-bytes", fmt.Sprint(down), "--peer-seed", "2")
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Errorf("mptcp %q: exit %d\n%s", args, code, stderr.String())
	}
	kr := <-res
	if kr.err != nil || kr.readErr != nil || !kr.mptcp || kr.received != up || kr.mismatch >= 0 {
		t.Errorf("kernel side: %+v (read error %v), want %d bytes intact over MPTCP", kr, kr.readErr, up)
	}
	if stdout.Len() != 0 {
		t.Errorf("connect wrote %d bytes to stdout without --out", stdout.Len())
	}
	s := summaryOf(t, stderr.String())
	if s.Error != "" || !s.MPTCP || s.Fallback || s.BytesSent != up || s.BytesReceived != down || s.DurationS <= 0 {
		t.Errorf("summary %+v", s)
	}
	if s.SHA256Sent != kr.rxSHA256 || s.SHA256Received != kr.txSHA256 {
		t.Errorf("SHA-256: we sent %s, the kernel received %s; the kernel sent %s, we received %s",
			s.SHA256Sent, kr.rxSHA256, kr.txSHA256, s.SHA256Received)
	}
	if s.Checksum || len(s.Subflows) != 2 {
		t.Fatalf("summary: checksum %v, subflows %+v: want two subflows, no checksums", s.Checksum, s.Subflows)
	}
	for i, sf := range s.Subflows {
		if sf.BytesSent+sf.BytesReceived == 0 || sf.RTTMicros <= 0 || sf.Join != (i == 1) || sf.LocalID != uint8(i) {
			t.Errorf("subflow %d %+v: want data, an RTT, and the join second", i, sf)
		}
	}
	if s.Counters["MPJoinSynTx"] != 1 || s.Counters["MPCapableSYNTX"] != 1 {
		t.Errorf("counters %v: want one MP_CAPABLE SYN and one MP_JOIN SYN", s.Counters)
	}
	if got := kernelCounter(t, tn.ns, "MPJoinAckRx"); got != 1 {
		t.Errorf("kernel MIB MPJoinAckRx = %d, want 1", got)
	}
	rep, err := interop.AnalyzeCapture(pcapPath)
	if err != nil {
		t.Fatalf("--pcap %s: %v", pcapPath, err)
	}
	if len(rep.Conns) != 1 || len(rep.Conns[0].Subflows) != 2 || rep.Options["MP_JOIN"] < 3 || rep.Malformed != 0 {
		t.Errorf("--pcap: %d connections, options %v, %d malformed; want one connection with its join", len(rep.Conns), rep.Options, rep.Malformed)
	}
	// No subflow is reset while the connection carries data. A reset at
	// the teardown is not counted: on a loaded machine our stack sent one
	// or two (MPRstTx) in 3 of about 70 runs, the data intact.
	if rep.ResetsBeforeDataFIN != 0 {
		t.Errorf("--pcap: %d resets before the first DATA_FIN (MPRstTx %d)\n%s", rep.ResetsBeforeDataFIN, s.Counters["MPRstTx"], strings.Join(rep.Lines, "\n"))
	}
	ts, err := interop.TShark(context.Background(), pcapPath, 7000)
	switch {
	case errors.Is(err, interop.ErrNoTShark):
	case err != nil:
		t.Errorf("tshark: %v", err)
	case len(ts.Problems) > 0 || ts.Options["MP_JOIN"] != rep.Options["MP_JOIN"] || ts.Options["DSS"] != rep.Options["DSS"]:
		t.Errorf("tshark: options %v (package trace: %v), problems %q", ts.Options, rep.Options, ts.Problems)
	}
}

// TestTransferListenKernel: the kernel dials "mptcp listen", which asks
// for DSS checksums, writes what it receives to standard output, sends
// its own payload and closes abortively (--fastclose): the kernel reads
// our bytes, then the reset, and counts the MP_FASTCLOSE.
func TestTransferListenKernel(t *testing.T) {
	tn := newTransferNetns(t, 1)
	var stdout syncBuffer
	var stderr syncBuffer
	const up, down = 64 << 10, 128 << 10
	args := append([]string{"listen", "7001"}, tn.args()...)
	args = append(args, "--checksum", "--fastclose", "--hold", "1s", "--json", "--timeout", "20s",
		"--send-bytes", fmt.Sprint(up), "--expect-bytes", fmt.Sprint(down), "--peer-seed", "2")
	code := startListen(t, args, &stdout, &stderr)
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
	want := make([]byte, down)
	payload.New(2).Read(want)
	if got := stdout.b.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("stdout has %d bytes, not the %d the kernel sent", len(got), down)
	}
	s := summaryOf(t, stderr.String())
	if s.Error != "" || !s.Fastclose || s.BytesReceived != down || s.Fallback || !s.Checksum || s.Role != "listen" {
		t.Errorf("summary %+v", s)
	}
	if got := kernelCounter(t, tn.ns, "MPFastcloseRx"); got != 1 {
		t.Errorf("kernel MIB MPFastcloseRx = %d, want 1", got)
	}
}

// TestTransferAttach: a device made beforehand with "ip tuntap add" (and
// the kernel's address given to it with "ip addr add") is attached to,
// not created, and is still there afterwards; connect sends its standard
// input and writes what it receives to --out.
func TestTransferAttach(t *testing.T) {
	tn := newTransferNetns(t, 1)
	name := tn.names[0]
	tn.ns.IP(t, "tuntap", "add", "dev", name, "mode", "tun")
	tn.ns.IP(t, "addr", "add", tn.kern[0].String()+"/24", "dev", name)
	ln := tn.ns.ListenMPTCP(t, netip.AddrPortFrom(netip.IPv4Unspecified(), 7002))
	const up, down = 100000, 70000
	res := acceptOne(ln, down, 5, 4, 0)
	in := make([]byte, up)
	payload.New(4).Read(in)
	old := transferStdin
	transferStdin = bytes.NewReader(in)
	t.Cleanup(func() { transferStdin = old })
	out := filepath.Join(t.TempDir(), "out.bin")
	var stdout, stderr bytes.Buffer
	args := []string{"connect", "--netns", tn.ns.Name, "--tun", fmt.Sprintf("%s=%v/24", name, tn.ours[0]),
		"--out", out, "--timeout", "20s", netip.AddrPortFrom(tn.kern[0], 7002).String()}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Errorf("mptcp %q: exit %d\n%s", args, code, stderr.String())
	}
	kr := <-res
	if kr.err != nil || kr.readErr != nil || kr.received != up || kr.mismatch >= 0 {
		t.Errorf("kernel side: %+v, want our standard input (%d bytes)", kr, up)
	}
	got, err := os.ReadFile(out)
	want := make([]byte, down)
	payload.New(5).Read(want)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("--out has %d bytes (%v), not the %d the kernel sent", len(got), err, down)
	}
	if line := strings.TrimSpace(stderr.String()); !strings.HasPrefix(line, "mptcp connect: ") || !strings.Contains(line, "(MPTCP)") || strings.Count(line, "\n") != 0 {
		t.Errorf("text summary %q: want one line", line)
	}
	exists, err := transferLinkExists(tn.ns.Path, name)
	if err != nil || !exists {
		t.Errorf("the attached device %s is gone (%v)", name, err)
	}
	if a := tn.ns.IP(t, "-br", "addr", "show", "dev", name); !strings.Contains(a, tn.kern[0].String()) {
		t.Errorf("the device lost the address given by ip: %q", a)
	}
}

// TestTransferPathDown: connect over two rate-limited devices (--impair)
// with a second subflow; --event takes the second device down in the
// middle of the transfer and the transfer completes over the first. The
// second subflow is in the summary, and in the --plot with the event.
func TestTransferPathDown(t *testing.T) {
	tn := newTransferNetns(t, 2)
	ln := tn.ns.ListenMPTCP(t, netip.AddrPortFrom(netip.IPv4Unspecified(), 7003))
	const up, down = 4 << 20, 1 << 20
	res := acceptOne(ln, down, 2, 1, 0)
	var stdout, stderr bytes.Buffer
	plotPath := filepath.Join(t.TempDir(), "pathdown.svg")
	args := append([]string{"connect", netip.AddrPortFrom(tn.kern[0], 7003).String()}, tn.args()...)
	args = append(args, "--endpoint", tn.ours[1].String()+",subflow", "--json", "--timeout", "30s", "--plot", plotPath,
		"--impair", tn.names[0]+":rate=50mbit,delay=1ms", "--impair", tn.names[1]+":rate=50mbit,delay=1ms",
		"--event", "200ms:"+tn.names[1]+":down",
		"--send-bytes", fmt.Sprint(up), "--expect-bytes", fmt.Sprint(down), "--peer-seed", "2")
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Errorf("mptcp %q: exit %d\n%s", args, code, stderr.String())
	}
	kr := <-res
	if kr.err != nil || kr.readErr != nil || kr.received != up || kr.mismatch >= 0 {
		t.Errorf("kernel side: %+v, want %d bytes intact", kr, up)
	}
	s := summaryOf(t, stderr.String())
	if s.Error != "" || s.BytesSent != up || s.BytesReceived != down || len(s.Subflows) != 2 {
		t.Errorf("summary %+v", s)
	}
	if len(s.Subflows) == 2 && s.Subflows[1].BytesSent == 0 {
		t.Errorf("the second subflow carried nothing before its path failed: %+v", s.Subflows[1])
	}
	if s.DurationS < 0.2 {
		t.Errorf("the transfer took %.3f s: it ended before the event", s.DurationS)
	}
	type linkLine struct {
		Device string  `json:"device"`
		Up     bool    `json:"up"`
		At     float64 `json:"at_s"`
	}
	if ev := jsonLines[linkLine](t, stderr.String(), "link"); len(ev) != 1 || ev[0].Device != tn.names[1] || ev[0].Up || ev[0].At != 0.2 {
		t.Errorf("link events %+v", ev)
	}
	svg, err := os.ReadFile(plotPath)
	if err != nil {
		t.Fatalf("--plot: %v", err)
	}
	for _, want := range []string{tn.names[0], tn.names[1], tn.names[1] + " down", plot.TitleSent, plot.TitleReceived, plot.TitleRTT} {
		if !bytes.Contains(svg, []byte(">"+want+"<")) {
			t.Errorf("--plot: the SVG has no text %q", want)
		}
	}
}

// TestTransferPlotRecorder: the --plot recorder names subflows after
// their device, starts the counters of a subflow that appears later at
// the previous sample, keeps one sample per instant, and marks events;
// a bad --plot file is a usage error.
func TestTransferPlotRecorder(t *testing.T) {
	devs := []tun.DeviceConfig{
		{Name: "wlan", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.2/24")}},
		{Name: "lte", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.2/24")}},
	}
	p := newTransferPlot(devs)
	var now time.Duration
	calls := 0
	p.now = func() time.Time { calls++; return p.start.Add(now) }
	id := func(local string, port uint16) tcp.ConnID {
		return tcp.ConnID{Local: netip.AddrPortFrom(netip.MustParseAddr(local), port), Remote: netip.MustParseAddrPort("10.0.1.1:7000")}
	}
	a, b, c, d := id("10.0.1.2", 40000), id("10.0.2.2", 40001), id("10.0.1.2", 40002), id("192.0.2.7", 40003)
	now = 100 * time.Millisecond
	p.add(a, tcp.Info{BytesAcked: 1000, Cwnd: 14600, RTT: 20 * time.Millisecond})
	now = 200 * time.Millisecond
	p.addMPTCP(mptcp.Info{Subflow: []mptcp.SubflowInfo{
		{ID: a, TCP: tcp.Info{BytesAcked: 126000, Cwnd: 29200, RTT: 21 * time.Millisecond}},
		{ID: b, TCP: tcp.Info{BytesAcked: 62500, BytesReceived: 10, Cwnd: 14600}},
		{ID: c},
	}})
	if calls != 2 {
		t.Errorf("the clock was read %d times for two samplings: the subflows of one sampling must share a time", calls)
	}
	p.add(d, tcp.Info{})
	p.add(a, tcp.Info{BytesAcked: 127000, Cwnd: 29200, RTT: 21 * time.Millisecond}) // same instant: replaces
	p.event(transferLinkEvent{at: 150 * time.Millisecond, dev: "lte"})
	var nilPlot *transferPlot
	nilPlot.add(a, tcp.Info{})
	nilPlot.event(transferLinkEvent{})

	fig := p.figure("title")
	sent := fig.Panels[0]
	if sent.Title != plot.TitleSent || fig.Panels[1].Title != plot.TitleReceived {
		t.Fatalf("panels %q, %q", sent.Title, fig.Panels[1].Title)
	}
	var names []string
	for _, s := range sent.Series {
		names = append(names, s.Name)
	}
	if got, want := strings.Join(names, ","), "wlan,lte,wlan #2,192.0.2.7"; got != want {
		t.Errorf("series %s, want %s", got, want)
	}
	// wlan: 126 000 bytes in 100 ms; lte: its 62 500 bytes since the
	// previous sample, at 100 ms.
	if pts := sent.Series[0].Points; len(pts) != 1 || pts[0].T != 200*time.Millisecond || pts[0].V != 10.08 {
		t.Errorf("wlan %+v, want 10.08 Mbit/s at 200ms", pts)
	}
	if pts := sent.Series[1].Points; len(pts) != 1 || pts[0].V != 5 {
		t.Errorf("lte %+v, want 5 Mbit/s", pts)
	}
	if len(fig.Events) != 1 || fig.Events[0].Label != "lte down" || fig.Events[0].T != 150*time.Millisecond {
		t.Errorf("events %+v", fig.Events)
	}
	var out, errb bytes.Buffer
	if err := runTransferConnect([]string{"10.0.1.1:7000", "--tun", "wlan=10.0.1.2/24", "--plot", "x.gif"}, &out, &errb); !errors.Is(err, errUsage) {
		t.Errorf("--plot x.gif: %v, want a usage error", err)
	}
}

// TestTransferPlainTCP: --mptcp=false against the kernel's plain TCP
// listener, with 1% loss each way and --pm, --scheduler and --cc left at
// their defaults: the data is intact and the summary lists the one TCP
// connection as a subflow, with retransmissions.
func TestTransferPlainTCP(t *testing.T) {
	tn := newTransferNetns(t, 1)
	var ln *net.TCPListener
	if err := tn.ns.Do(func() error {
		l, err := net.Listen("tcp", "0.0.0.0:7004")
		if err == nil {
			ln = l.(*net.TCPListener)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	const up, down = 1 << 20, 1 << 20
	res := acceptOne(ln, down, 2, 1, 0)
	var stdout, stderr bytes.Buffer
	args := append([]string{"connect", netip.AddrPortFrom(tn.kern[0], 7004).String()}, tn.args()...)
	args = append(args, "--mptcp=false", "--json", "--timeout", "30s", "--impair", tn.names[0]+":loss=1%", "--cc", "reno",
		"--send-bytes", fmt.Sprint(up), "--expect-bytes", fmt.Sprint(down), "--peer-seed", "2")
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Errorf("mptcp %q: exit %d\n%s", args, code, stderr.String())
	}
	kr := <-res
	if kr.err != nil || kr.readErr != nil || kr.mptcp || kr.received != up || kr.mismatch >= 0 {
		t.Errorf("kernel side: %+v, want %d bytes intact over TCP", kr, up)
	}
	s := summaryOf(t, stderr.String())
	if s.Error != "" || s.MPTCP || len(s.Subflows) != 1 || len(s.Counters) != 0 {
		t.Errorf("summary %+v: want plain TCP, one connection, no MPTCP counter", s)
	}
	if len(s.Subflows) == 1 && s.Subflows[0].Retransmits == 0 {
		t.Errorf("no retransmission with 1%% loss: %+v", s.Subflows[0])
	}
}

// TestTransferNDiffPorts: --pm ndiffports=2 opens a second subflow between
// the same addresses from another port, and the roundrobin scheduler and
// reno congestion control carry data on both.
func TestTransferNDiffPorts(t *testing.T) {
	tn := newTransferNetns(t, 1)
	ln := tn.ns.ListenMPTCP(t, netip.AddrPortFrom(netip.IPv4Unspecified(), 7005))
	const up, down = 2 << 20, 64 << 10
	res := acceptOne(ln, down, 2, 1, 300*time.Millisecond)
	var stdout, stderr bytes.Buffer
	args := append([]string{"connect", netip.AddrPortFrom(tn.kern[0], 7005).String()}, tn.args()...)
	args = append(args, "--pm", "ndiffports=2", "--scheduler", "roundrobin", "--cc", "reno", "--json", "--timeout", "20s",
		"--delay", "100ms", "--send-bytes", fmt.Sprint(up), "--expect-bytes", fmt.Sprint(down), "--peer-seed", "2")
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Errorf("mptcp %q: exit %d\n%s", args, code, stderr.String())
	}
	kr := <-res
	if kr.err != nil || kr.readErr != nil || kr.received != up || kr.mismatch >= 0 {
		t.Errorf("kernel side: %+v, want %d bytes intact", kr, up)
	}
	s := summaryOf(t, stderr.String())
	if s.Error != "" || len(s.Subflows) != 2 {
		t.Fatalf("summary %+v: want two subflows", s)
	}
	a, b := s.Subflows[0], s.Subflows[1]
	la, _ := netip.ParseAddrPort(a.Local)
	lb, _ := netip.ParseAddrPort(b.Local)
	if la.Addr() != lb.Addr() || la.Port() == lb.Port() || a.Remote != b.Remote {
		t.Errorf("subflows %s→%s and %s→%s: want the same addresses, other ports", a.Local, a.Remote, b.Local, b.Remote)
	}
	// Each carries more than an initial window of our data. (On a loaded
	// machine one subflow may carry far less than half: a loss early in
	// the transfer, with reno, leaves it waiting out a retransmission
	// timeout while the other carries the rest; a CI run had the initial
	// subflow at 51 KB of 2 MiB after 8 retransmissions.)
	for _, sf := range s.Subflows {
		if sf.BytesAcked < 16<<10 {
			t.Errorf("subflow %+v carried little of our data", sf)
		}
	}
	if got := kernelCounter(t, tn.ns, "MPJoinAckRx"); got != 1 {
		t.Errorf("kernel MIB MPJoinAckRx = %d, want 1", got)
	}
}

// TestTransferErrors: failures exit with status 1 and one line saying
// why.
func TestTransferErrors(t *testing.T) {
	tn := newTransferNetns(t, 1)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"refused", []string{"connect", netip.AddrPortFrom(tn.kern[0], 7999).String(), "--timeout", "5s"}, "refused"},
		{"no file", []string{"connect", netip.AddrPortFrom(tn.kern[0], 7999).String(), "--send", "/nonexistent/gmt"}, "--send"},
		{"accept timeout", []string{"listen", "7998", "--timeout", "100ms"}, "no connection within 100ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(tc.args, tn.args()...)
			if code := run(args, &stdout, &stderr); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "mptcp "+tc.args[0]+": ") || !strings.Contains(last, tc.want) {
				t.Errorf("last line %q, want the reason (%q)", last, tc.want)
			}
		})
	}
}
