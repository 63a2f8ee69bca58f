package interop

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomptcp/mptcp"
	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/diag"
	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/tcp"
	"github.com/gomptcp/mptcp/trace"
)

var pcapDir = flag.String("interop.pcap", "", "keep every case's capture in `DIR` (default: a temporary directory, logged on failure)")

func TestMain(m *testing.M) {
	flag.Parse()
	// The cases spend most of their time waiting (on the kernel, on
	// timers, on tshark): run more of them at once than there are CPUs,
	// unless -test.parallel says otherwise.
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == f.DefValue {
		f.Value.Set("4")
	}
	code := m.Run()
	Cleanup()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

const (
	port     = 7000 // the listener's port, on whichever side listens
	joinPort = 7100 // the port of an address announced with a port
)

// spec is one interop case.
type spec struct {
	// linuxDials: the kernel connects to our listener; otherwise we
	// connect to the kernel's.
	linuxDials bool
	paths      int
	ipv6       bool
	// plainTCP runs both sides as plain TCP (linuxpeer --mptcp=false and
	// our stack with Config.Disabled).
	plainTCP     bool
	ours         mptcp.Config
	sysctls      map[string]string
	endpoints    []KernelEndpoint
	kernelLimits mptcp.Limits
	// impair, one per path, impairs both directions of each path.
	impair []impair.Config
	// up is what we send, down what the kernel sends.
	up, down int64
	close    CloseOrder
	// peerDelay delays the kernel's sending (linuxpeer --delay).
	peerDelay     time.Duration
	peerFastclose bool // the kernel aborts (linuxpeer --fastclose)
	// snaplen of the capture: 0 captures 200 bytes of each packet, -1
	// whole packets.
	snaplen int
	// peerHold keeps the kernel's side from closing for a while after
	// its data (linuxpeer --hold).
	peerHold time.Duration
	// subflows, if above 1, makes our side wait before it sends until
	// both ends have that many established subflows.
	subflows int
	// mid is done once in the middle of the transfer.
	mid *midAction
	// fallback: the connection is expected to fall back to TCP, so the
	// fallback counters may move.
	fallback bool
}

// midAction is something done to a live connection in the middle of the
// transfer.
type midAction struct {
	// frac of the bytes we send must have been acknowledged at the data
	// level first (of the bytes we receive, if we send none). The
	// kernel's side sends from the start, ours once the subflows are
	// there (spec.subflows).
	frac float64
	// do acts; c is our connection.
	do func(o *outcome, c *mptcp.Conn) error
	// until, if set, is what our connection must show (within 3 s) after
	// the action: outcome.postMid is the first Info that shows it.
	until func(o *outcome, in mptcp.Info) bool
}

// outcome is what a case observed.
type outcome struct {
	t       *testing.T
	s       spec
	tp      *Topology
	ours    SessionResult
	conn    net.Conn   // our side
	info    mptcp.Info // at the midway point (after our data was written)
	atMid   mptcp.Info // just before the mid action
	postMid mptcp.Info // just after it
	final   mptcp.Info // after the data, before the close
	// settled has the connection-level counters of once the kernel has
	// acknowledged all our data, and every subflow the connection had,
	// in order of appearance, with its latest counters (sampled every
	// few milliseconds while it lived).
	settled mptcp.Info
	seenMu  sync.Mutex
	seen    map[tcp.ConnID]mptcp.SubflowInfo
	order   []tcp.ConnID
	midDone bool
	// tcpRetrans counts the retransmissions of a plain TCP connection.
	tcpRetrans uint64
	fallback   bool
	peer       *PeerSummary
	kernel     []diag.Socket // at the midway point
	kernelMid  []diag.Socket // just after the mid action
	// kernelMIB holds the changes of the kernel's counters during the
	// case, ourMIB our stack's counters.
	kernelMIB map[string]uint64
	ourMIB    map[string]int64
	capture   *CaptureReport
	tshark    *TSharkReport
}

// mibDelta returns after-before by counter name.
func mibDelta(before, after kernel.MIB) map[string]uint64 {
	d := map[string]uint64{}
	for _, c := range after {
		b, _ := before.Get(c.Name)
		d[c.Name] = c.Value - b
	}
	return d
}

// run runs a case: topology, kernel peer, our side, and the checks every
// case shares: the bytes both ways (counts, content and SHA-256 digests
// compared with the kernel side's), no error counter moved on either
// side, and a capture that both package trace and tshark decode without
// a malformed option or an MPTCP expert error, with the same MPTCP options.
// The caller checks the features.
func run(t *testing.T, s spec) *outcome {
	t.Helper()
	ours := s.ours
	if s.plainTCP {
		ours.Disabled = true
	}
	tp := New(t, Options{Paths: s.paths, IPv6: s.ipv6, Config: ours, KernelSysctls: s.sysctls,
		KernelEndpoints: s.endpoints, KernelLimits: s.kernelLimits, Impair: s.impair})
	linuxpeer(t) // built before any timeout starts
	out := &outcome{t: t, s: s, tp: tp}
	kernelBefore := tp.KernelMIB(t)
	snaplen := s.snaplen
	if snaplen == 0 {
		snaplen = 200
	}
	capt := tp.StartCapture(t, *pcapDir, max(snaplen, 0))
	const upSeed, downSeed = 11, 22
	po := PeerOptions{
		SendBytes: s.down, Seed: downSeed, ExpectBytes: s.up, PeerSeed: upSeed,
		Delay: s.peerDelay, Hold: s.peerHold, Fastclose: s.peerFastclose, ExpectReset: s.close == CloseAbort,
		PlainTCP: s.plainTCP,
	}
	if s.close == CloseAbort || s.peerFastclose {
		po.ExpectBytes = -1
	}
	if s.close == CloseAbort {
		// Keep the connection open until our reset comes: a half-close
		// after it would fail.
		po.Hold = 10 * time.Second
	}
	so := SessionOptions{SendBytes: s.up, Seed: upSeed, ExpectBytes: s.down, PeerSeed: downSeed, Close: s.close}
	if s.peerFastclose {
		so.Close = CloseExpectReset
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c net.Conn
	var peer *Peer
	if s.linuxDials {
		l, err := tp.Stack.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		stop := context.AfterFunc(ctx, func() { l.Close() })
		defer stop()
		po.Addr = netip.AddrPortFrom(tp.Ours[0], port).String()
		peer = tp.StartPeer(t, po)
		if c, err = l.Accept(); err != nil {
			t.Fatalf("accept: %v\nlinuxpeer: %s", err, peer.Stderr())
		}
	} else {
		po.Listen = true
		po.Addr = netip.AddrPortFrom(netip.IPv4Unspecified(), port).String()
		if s.ipv6 {
			po.Addr = netip.AddrPortFrom(netip.IPv6Unspecified(), port).String()
		}
		peer = tp.StartPeer(t, po)
		var err error
		if c, err = tp.Stack.DialContext(ctx, "tcp", tp.ListenAddr(0, port).String()); err != nil {
			t.Fatalf("dial: %v\nlinuxpeer: %s", err, peer.Stderr())
		}
	}
	out.conn = c
	mc, _ := c.(*mptcp.Conn)
	if s.plainTCP != (mc == nil) {
		t.Fatalf("our connection is a %T", c)
	}
	if s.close == CloseAbort {
		so.Abort = func() error {
			// The kernel's reader sees our data, then the reset: an
			// abort before the kernel has taken the data would end
			// its reader otherwise (ENOTCONN) on a loaded machine.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				if in, err := mc.Info(); err != nil || in.BytesAcked >= uint64(s.up) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			return mc.Abort()
		}
	}
	sending := make(chan struct{})
	so.BeforeSend = func() {
		if s.subflows > 1 {
			out.waitSubflows(mc, s.subflows)
		}
		close(sending)
	}
	bgStop := make(chan struct{})
	var bgWG sync.WaitGroup
	if mc != nil {
		// Sample the subflows, so that those closed before the end are
		// counted too.
		bgWG.Add(1)
		go func() {
			defer bgWG.Done()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				if in, err := mc.Info(); err == nil {
					out.sample(in)
				}
				select {
				case <-bgStop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	midActed := make(chan struct{})
	if s.mid == nil {
		close(midActed)
	} else {
		bgWG.Add(1)
		go func() {
			defer bgWG.Done()
			defer close(midActed)
			select {
			case <-sending:
				out.runMid(mc, bgStop)
			case <-bgStop:
			}
		}()
	}
	so.Midway = func() {
		if mc == nil {
			return
		}
		var err error
		if out.info, err = mc.Info(); err != nil {
			t.Errorf("Info: %v", err)
		}
		out.fallback = mc.Fallback()
		if out.kernel, err = tp.KernelConns(); err != nil {
			t.Errorf("kernel connections: %v", err)
		}
	}
	so.BeforeClose = func() {
		// Our data may still be on its way after the kernel's end of
		// stream: give the mid action until it has gone through.
		select {
		case <-midActed:
		case <-time.After(10 * time.Second):
		}
		close(bgStop)
		bgWG.Wait()
		if mc != nil {
			out.final, _ = mc.Info()
			// The kernel's end of stream may come before it has
			// acknowledged all of our data: wait for that, so that the
			// settled counters count all of it (data-level counters, which
			// a fallback stops).
			deadline := time.Now().Add(5 * time.Second)
			late := out.final
			wait := so.Close != CloseAbort && so.Close != CloseExpectReset && !mc.Fallback()
			for wait && late.BytesAcked < uint64(s.up) && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
				in, err := mc.Info()
				if err != nil {
					break
				}
				late = in
			}
			out.sample(out.final)
			out.settled = out.settle(late)
			return
		}
		if tc, ok := c.(interface {
			Info() (tcp.Info, error)
		}); ok {
			if in, err := tc.Info(); err == nil {
				out.tcpRetrans = in.TotalRetrans
			}
		}
	}
	out.ours = RunSession(c, so)
	t.Logf("our side: sent %d bytes in %v, received %d by %v, closed after %v; Info at midway: %s",
		out.ours.BytesSent, out.ours.SendDuration, out.ours.BytesReceived, out.ours.ReceiveDuration, out.ours.Duration, infoSummary(out.info))
	var perr error
	out.peer, perr = peer.Wait(t, 15*time.Second)
	out.kernelMIB = mibDelta(kernelBefore, tp.KernelMIB(t))
	out.ourMIB = tp.OurMIB()
	if capt != nil {
		path := capt.Stop(t)
		rep, err := AnalyzeCapture(path)
		if err != nil {
			t.Errorf("capture %s: %v", path, err)
		}
		out.capture = rep
		ts, err := TShark(context.Background(), path, port, joinPort)
		switch {
		case errors.Is(err, ErrNoTShark):
			t.Log("interop: tshark is not installed: the capture is not checked with it")
		case err != nil:
			t.Errorf("tshark: %v", err)
		default:
			out.tshark = ts
		}
		t.Cleanup(func() {
			if t.Failed() && rep != nil {
				t.Logf("capture %s (%d segments), last notable segments:\n%s", path, rep.Segments, rep.Tail(40))
			}
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("our session: %+v", out.ours)
			t.Logf("our Info at midway: %s", infoSummary(out.info))
			if s.mid != nil {
				t.Logf("our Info before the mid action: %s", infoSummary(out.atMid))
				t.Logf("our Info after the mid action: %s", infoSummary(out.postMid))
			}
			t.Logf("our Info at the end: %s", infoSummary(out.final))
			t.Logf("our Info settled: %s", infoSummary(out.settled))
			t.Logf("our MIB: %v", nonzero(out.ourMIB))
			t.Logf("kernel MIB changes: %v", nonzeroU(out.kernelMIB))
			t.Logf("linuxpeer: %s", peer.Stderr())
		}
	})

	aborted := so.Close == CloseAbort || so.Close == CloseExpectReset
	if err := out.ours.Verify(&so); err != nil && !aborted {
		t.Errorf("our side: %v", err)
	}
	if out.ours.Mismatch >= 0 {
		t.Errorf("our side: received bytes differ from the kernel's payload at %d", out.ours.Mismatch)
	}
	if perr != nil {
		t.Errorf("kernel side: %v", perr)
	}
	if out.peer == nil {
		t.Fatalf("kernel side: no summary")
	}
	if out.peer.Error != "" {
		t.Errorf("kernel side: %s", out.peer.Error)
	}
	if !aborted {
		if out.peer.BytesReceived != s.up {
			t.Errorf("kernel side received %d bytes, want %d", out.peer.BytesReceived, s.up)
		}
		if out.peer.SHA256Received != out.ours.SHA256Sent || out.peer.SHA256Sent != out.ours.SHA256Received {
			t.Errorf("SHA-256: we sent %s, the kernel received %s; the kernel sent %s, we received %s",
				out.ours.SHA256Sent, out.peer.SHA256Received, out.peer.SHA256Sent, out.ours.SHA256Received)
		}
	}
	if out.peer.BytesSent != s.down {
		t.Errorf("kernel side sent %d bytes, want %d", out.peer.BytesSent, s.down)
	}
	if s.mid != nil && !out.midDone {
		t.Errorf("the transfer ended before the mid-transfer action")
	}
	out.checkErrorCounters()
	out.checkTShark()
	return out
}

// waitSubflows waits until our connection and the kernel's have n
// established subflows.
func (o *outcome) waitSubflows(c *mptcp.Conn, n int) {
	deadline := time.Now().Add(5 * time.Second)
	var ours, kern int
	for time.Now().Before(deadline) {
		in, err := c.Info()
		if err != nil {
			break
		}
		ours = 0
		for _, sf := range in.Subflow {
			if sf.TCP.State.String() == "ESTABLISHED" {
				ours++
			}
		}
		kern = 0
		if ks, err := o.tp.KernelConns(); err == nil && len(ks) == 1 && ks[0].Info != nil {
			kern = int(ks[0].Info.Subflows) + 1
		}
		if ours >= n && kern >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	o.t.Errorf("after 5s, %d of our subflows and %d of the kernel's are established, want %d", ours, kern, n)
}

// sample records the subflows of in.
func (o *outcome) sample(in mptcp.Info) {
	o.seenMu.Lock()
	defer o.seenMu.Unlock()
	if o.seen == nil {
		o.seen = map[tcp.ConnID]mptcp.SubflowInfo{}
	}
	for _, sf := range in.Subflow {
		if _, ok := o.seen[sf.ID]; !ok {
			o.order = append(o.order, sf.ID)
		}
		o.seen[sf.ID] = sf
	}
}

// settle returns late with every subflow sampled.
func (o *outcome) settle(late mptcp.Info) mptcp.Info {
	o.sample(late)
	o.seenMu.Lock()
	defer o.seenMu.Unlock()
	in := late
	in.Subflow = nil
	for _, id := range o.order {
		in.Subflow = append(in.Subflow, o.seen[id])
	}
	return in
}

// runMid waits until the transfer has reached the mid action's fraction,
// then does it.
func (o *outcome) runMid(c *mptcp.Conn, stop <-chan struct{}) {
	m := o.s.mid
	progress := func(in mptcp.Info) uint64 { return in.BytesAcked }
	target := uint64(m.frac * float64(o.s.up))
	if o.s.up == 0 {
		progress = func(in mptcp.Info) uint64 { return in.BytesReceived }
		target = uint64(m.frac * float64(o.s.down))
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		in, err := c.Info()
		if err != nil {
			o.t.Errorf("mid action: Info: %v", err)
			return
		}
		if progress(in) >= target {
			o.atMid = in
			break
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
	if err := m.do(o, c); err != nil {
		o.t.Errorf("mid action: %v", err)
	}
	o.midDone = true
	deadline := time.Now().Add(3 * time.Second)
	for {
		in, err := c.Info()
		if err != nil {
			o.t.Errorf("mid action: Info: %v", err)
			break
		}
		o.postMid = in
		if m.until == nil || m.until(o, in) {
			break
		}
		if time.Now().After(deadline) {
			o.t.Errorf("3s after the mid action, still not what it should bring: %s", infoSummary(in))
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	var err error
	if o.kernelMid, err = o.tp.KernelConns(); err != nil {
		o.t.Errorf("kernel connections: %v", err)
	}
}

// errorCounters must not move on either side in any case.
var errorCounters = []string{
	"DataCsumErr", "DSSNotMatching", "DSSNoMatchTCP", "DSSCorruptionFallback", "DSSCorruptionReset",
	"MPJoinSynAckHMacFailure", "MPJoinAckHMacFailure", "MPFailTx", "MPFailRx", "FallbackFailed",
	"MPJoinNoTokenFound", "MPJoinRejected", "AddAddrDrop", "RmAddrDrop", "MPFastcloseRxBadKey",
}

// fallbackCounters move only in cases that expect a fallback.
var fallbackCounters = []string{
	"InfiniteMapTx", "InfiniteMapRx", "MPCapableFallbackACK", "MPCapableFallbackSYNACK", "DssFallback",
	"MPCapableDataFallback",
}

func (o *outcome) checkErrorCounters() {
	t := o.t
	t.Helper()
	names := errorCounters
	if !o.s.fallback {
		names = append(slices.Clone(names), fallbackCounters...)
	}
	for _, name := range names {
		if v := o.ourMIB[name]; v != 0 {
			t.Errorf("our MIB %s = %d, want 0", name, v)
		}
		if v := o.kernelMIB[name]; v != 0 {
			t.Errorf("kernel MIB %s went up by %d, want 0", name, v)
		}
	}
}

// checkTShark checks the capture with tshark: no malformed packet, no
// error-level or MPTCP expert item, no infinite mapping unless a fallback
// is expected, and the same MPTCP options, by subtype, as package trace
// decoded.
func (o *outcome) checkTShark() {
	t := o.t
	t.Helper()
	ts := o.tshark
	if ts == nil {
		return
	}
	if len(ts.Problems) > 0 {
		t.Errorf("tshark: %d frames with problems:\n%s", len(ts.Problems), strings.Join(ts.Problems[:min(len(ts.Problems), 20)], "\n"))
	}
	if ts.InfiniteMappings > 0 && !o.s.fallback {
		t.Errorf("tshark: %d infinite mappings", ts.InfiniteMappings)
	}
	if o.capture == nil {
		return
	}
	if !mapsEqual(ts.Options, o.capture.Options) {
		t.Errorf("MPTCP options decoded: tshark %v, package trace %v", ts.Options, o.capture.Options)
	}
	if o.capture.Malformed != 0 {
		t.Errorf("capture: %d malformed MPTCP options", o.capture.Malformed)
	}
}

func mapsEqual(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// wantKernel checks changes of the kernel's counters.
func (o *outcome) wantKernel(want map[string]uint64) {
	o.t.Helper()
	for _, k := range sortedKeys(want) {
		if got := o.kernelMIB[k]; got != want[k] {
			o.t.Errorf("kernel MIB %s went up by %d, want %d", k, got, want[k])
		}
	}
}

// wantOurs checks our stack's counters.
func (o *outcome) wantOurs(want map[string]int64) {
	o.t.Helper()
	for _, k := range sortedKeys(want) {
		if got := o.ourMIB[k]; got != want[k] {
			o.t.Errorf("our MIB %s = %d, want %d", k, got, want[k])
		}
	}
}

// wantCounters checks our counters and the kernel's against the same
// numbers: what we send, the kernel receives, and the reverse.
func (o *outcome) wantCounters(ours map[string]int64, kern map[string]uint64) {
	o.t.Helper()
	o.wantOurs(ours)
	o.wantKernel(kern)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// wantOptions checks that the capture has at least the given MPTCP
// options (by subtype name).
func (o *outcome) wantOptions(atLeast map[string]int) {
	o.t.Helper()
	if o.capture == nil {
		return
	}
	for _, k := range sortedKeys(atLeast) {
		if got := o.capture.Options[k]; got < atLeast[k] {
			o.t.Errorf("capture: %d %s options, want at least %d", got, k, atLeast[k])
		}
	}
}

// infoSummary is the gist of an Info, for logs.
func infoSummary(in mptcp.Info) string {
	s := fmt.Sprintf("token %#x flags %#x csum %v subflows %d sent %d received %d acked %d retrans %d",
		in.Token, in.Flags, in.CsumEnabled, in.Subflows, in.BytesSent, in.BytesReceived, in.BytesAcked, in.Retransmits)
	for _, sf := range in.Subflow {
		s += fmt.Sprintf("\n  %v→%v ids %d/%d join %v backup %v/%v fully %v %v sent %d acked %d received %d retrans %d rtos %d rtt %v",
			sf.ID.Local, sf.ID.Remote, sf.LocalID, sf.RemoteID, sf.Join, sf.Backup, sf.RemoteBackup, sf.FullyEstablished, sf.TCP.State,
			sf.TCP.BytesSent, sf.TCP.BytesAcked, sf.TCP.BytesReceived, sf.TCP.BytesRetrans, sf.TCP.RTOs, sf.TCP.RTT)
	}
	return s
}

func nonzero(m map[string]int64) map[string]int64 {
	o := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			o[k] = v
		}
	}
	return o
}

func nonzeroU(m map[string]uint64) map[string]uint64 {
	o := map[string]uint64{}
	for k, v := range m {
		if v != 0 {
			o[k] = v
		}
	}
	return o
}

// kernelConn returns the one kernel connection of the case at midway.
func (o *outcome) kernelConn(t *testing.T) diag.Socket {
	t.Helper()
	if len(o.kernel) != 1 {
		t.Fatalf("the kernel has %d MPTCP connections at midway, want 1: %+v", len(o.kernel), o.kernel)
	}
	if o.kernel[0].Info == nil {
		t.Fatalf("the kernel reported no mptcp_info")
	}
	return o.kernel[0]
}

// checkMPTCP checks that both ends run MPTCP with n subflows at midway and
// the checksum setting csum, and that the capture agrees.
func (o *outcome) checkMPTCP(t *testing.T, n int, csum bool) {
	t.Helper()
	if o.fallback || o.info.Flags&meta.InfoFlagFallback != 0 {
		t.Errorf("our connection fell back to TCP")
	}
	if !o.peer.MPTCPAtStart || !o.peer.MPTCP {
		t.Errorf("the kernel's connection is not MPTCP (at start %v, at end %v)", o.peer.MPTCPAtStart, o.peer.MPTCP)
	}
	if got := len(o.info.Subflow); got != n {
		t.Errorf("our connection has %d subflows, want %d", got, n)
	}
	if o.info.CsumEnabled != csum {
		t.Errorf("our connection: checksums %v, want %v", o.info.CsumEnabled, csum)
	}
	kc := o.kernelConn(t)
	if kc.Info.Flags.Fallback() {
		t.Errorf("the kernel's connection fell back")
	}
	if got := int(kc.Info.Subflows) + 1; got != n {
		t.Errorf("the kernel's connection has %d subflows, want %d", got, n)
	}
	if kc.Info.CsumEnabled != csum {
		t.Errorf("the kernel's connection: checksums %v, want %v", kc.Info.CsumEnabled, csum)
	}
	if kc.Info.Token == 0 || kc.Info.Token == o.info.Token {
		t.Errorf("tokens: kernel %#x, ours %#x", kc.Info.Token, o.info.Token)
	}
	if o.capture != nil {
		if len(o.capture.Conns) != 1 {
			t.Fatalf("the capture shows %d MPTCP connections, want 1", len(o.capture.Conns))
		}
		cc := o.capture.Conns[0]
		if cc.Fallback || cc.KeyMismatch || !cc.HasClientKey || !cc.HasServerKey {
			t.Errorf("capture: fallback %v, key mismatch %v, keys seen %v/%v", cc.Fallback, cc.KeyMismatch, cc.HasClientKey, cc.HasServerKey)
		}
		if cc.ChecksumRequired != csum {
			t.Errorf("capture: MP_CAPABLE flag A %v, want %v", cc.ChecksumRequired, csum)
		}
		if len(cc.Subflows) < n {
			t.Errorf("capture: %d subflows, want %d", len(cc.Subflows), n)
		}
		for _, sf := range cc.Subflows {
			if sf.Join && (sf.SynAckHMACOK != trace.Valid || sf.AckHMACOK != trace.Valid) {
				t.Errorf("capture: join %v→%v HMACs %v/%v", sf.Initiator, sf.Responder, sf.SynAckHMACOK, sf.AckHMACOK)
			}
		}
	}
}

// checkHandshakeMIBs checks the MP_CAPABLE counters of both ends.
func (o *outcome) checkHandshakeMIBs(linuxDials bool) {
	o.t.Helper()
	if linuxDials {
		o.wantCounters(map[string]int64{"MPCapableSYNRX": 1, "MPCapableACKRX": 1},
			map[string]uint64{"MPCapableSYNTX": 1, "MPCapableSYNACKRX": 1})
		return
	}
	o.wantCounters(map[string]int64{"MPCapableSYNTX": 1, "MPCapableSYNACKRX": 1},
		map[string]uint64{"MPCapableSYNRX": 1, "MPCapableACKRX": 1})
}

// checkJoins checks the MP_JOIN counters of both ends for n joins opened
// by the side that dialled when byDialer, otherwise by the side that
// listened.
func (o *outcome) checkJoins(n int, byUs bool) {
	o.t.Helper()
	initiator := map[string]int64{"MPJoinSynTx": int64(n), "MPJoinSynAckRx": int64(n)}
	responder := map[string]int64{"MPJoinSynRx": int64(n), "MPJoinAckRx": int64(n)}
	ours, kern := initiator, responder
	if !byUs {
		ours, kern = responder, initiator
	}
	k := map[string]uint64{}
	for name, v := range kern {
		k[name] = uint64(v)
	}
	o.wantCounters(ours, k)
}

// subflowBytes is the data a subflow carried both ways, as our side
// counts it (acknowledged bytes sent plus bytes received).
func subflowBytes(sf mptcp.SubflowInfo) uint64 { return sf.TCP.BytesAcked + sf.TCP.BytesReceived }

// checkAllSubflowsCarried checks that each of our subflows, at the end,
// carried at least min bytes one way or the other, and that every path's
// TUN device moved data. Which subflows each side's scheduler uses is its
// own choice; with paths slower than the stacks, every subflow gets a
// share.
func (o *outcome) checkAllSubflowsCarried(minBytes uint64) {
	t := o.t
	t.Helper()
	for _, sf := range o.settled.Subflow {
		if n := subflowBytes(sf); n < minBytes {
			t.Errorf("subflow %v→%v carried %d bytes (%d of ours acknowledged, %d received), want at least %d",
				sf.ID.Local, sf.ID.Remote, n, sf.TCP.BytesAcked, sf.TCP.BytesReceived, minBytes)
		}
	}
	for k, st := range o.tp.NICStats() {
		if st.RxBytes+st.TxBytes < minBytes {
			t.Errorf("path %d: %d bytes in, %d out: want at least %d", k, st.RxBytes, st.TxBytes, minBytes)
		}
	}
}

// role names a direction.
func role(linuxDials bool) string {
	if linuxDials {
		return "LinuxDials"
	}
	return "WeDial"
}

// bothWays runs f as two parallel subtests, one for each side dialling.
func bothWays(t *testing.T, f func(t *testing.T, linuxDials bool)) {
	t.Helper()
	for _, linuxDials := range []bool{false, true} {
		t.Run(role(linuxDials), func(t *testing.T) {
			t.Parallel()
			f(t, linuxDials)
		})
	}
}

// dataFINs lists the senders of the DATA_FINs in the capture, in order,
// once per sender.
func dataFINs(o *outcome) []netip.Addr {
	var from []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, l := range o.capture.DataFINFrom {
		if !seen[l] {
			seen[l] = true
			from = append(from, l)
		}
	}
	return from
}

// subflowOn returns our subflow from or to the address of path k, on
// either side.
func (o *outcome) subflowOn(in mptcp.Info, k int) (mptcp.SubflowInfo, bool) {
	for _, sf := range in.Subflow {
		if sf.ID.Local.Addr() == o.tp.Ours[k] || sf.ID.Remote.Addr() == o.tp.Kernel[k] {
			return sf, true
		}
	}
	return mptcp.SubflowInfo{}, false
}

// closing reports whether a subflow in state s is closing or closed.
func closing(s tcp.State) bool {
	switch s {
	case tcp.StateFinWait1, tcp.StateFinWait2, tcp.StateClosing, tcp.StateLastAck, tcp.StateTimeWait, tcp.StateClosed:
		return true
	}
	return false
}

// openSubflows counts the subflows of in that are not closing.
func openSubflows(in mptcp.Info) int {
	n := 0
	for _, sf := range in.Subflow {
		if !closing(sf.TCP.State) {
			n++
		}
	}
	return n
}

// initialSubflow returns our initial subflow in in.
func initialSubflow(in mptcp.Info) (mptcp.SubflowInfo, bool) {
	for _, sf := range in.Subflow {
		if !sf.Join {
			return sf, true
		}
	}
	return mptcp.SubflowInfo{}, false
}
