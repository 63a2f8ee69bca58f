//go:build linux

package kernel_test

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"unsafe"

	"github.com/gomptcp/mptcp/kernel"
	"github.com/gomptcp/mptcp/kernel/kerneltest"
	"golang.org/x/sys/unix"
)

// rawGetsockopt calls getsockopt with a buffer of n bytes (prefilled with
// in) and returns what the kernel wrote.
func rawGetsockopt(t *testing.T, c syscall.Conn, level, name int, in []byte, n int) []byte {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	copy(b, in)
	l := uint32(n)
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall6(unix.SYS_GETSOCKOPT, fd, uintptr(level), uintptr(name),
			uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&l)), 0)
	}); err != nil {
		t.Fatal(err)
	}
	if errno != 0 {
		t.Fatalf("getsockopt(%d, %d): %v", level, name, errno)
	}
	return b[:l]
}

// TestKernelStructSizes compares the structure sizes the package decodes
// with those of the running kernel. A kernel with larger structures still
// works (the extra bytes are ignored), but the package should learn the new
// fields.
func TestKernelStructSizes(t *testing.T) {
	kerneltest.Require(t)
	p := kerneltest.NewTwoPaths(t)
	c := p.Connect(t)

	if n := len(rawGetsockopt(t, c.Client, kernel.SOL_MPTCP, kernel.MPTCP_INFO, nil, 1024)); n != kernel.InfoSize {
		t.Errorf("kernel struct mptcp_info is %d bytes, package decodes %d", n, kernel.InfoSize)
	}
	if n := len(rawGetsockopt(t, c.Client, kernel.SOL_TCP, kernel.TCP_INFO, nil, 1024)); n != kernel.TCPInfoSize {
		t.Errorf("kernel struct tcp_info is %d bytes, package decodes %d", n, kernel.TCPInfoSize)
	}
	hdr := kernel.AppendSubflowData(nil, kernel.SubflowData{SizeSubflowData: kernel.SubflowDataSize, SizeUser: 4096})
	d, err := kernel.DecodeSubflowData(rawGetsockopt(t, c.Client, kernel.SOL_MPTCP, kernel.MPTCP_SUBFLOW_ADDRS, hdr, kernel.SubflowDataSize))
	if err != nil {
		t.Fatal(err)
	}
	if d.SizeKernel != kernel.SubflowAddrsSize {
		t.Errorf("kernel struct mptcp_subflow_addrs is %d bytes, package decodes %d", d.SizeKernel, kernel.SubflowAddrsSize)
	}
	if d.NumSubflows != 2 {
		t.Errorf("MPTCP_SUBFLOW_ADDRS header reports %d subflows, want 2", d.NumSubflows)
	}
	d, err = kernel.DecodeSubflowData(rawGetsockopt(t, c.Client, kernel.SOL_MPTCP, kernel.MPTCP_TCPINFO, hdr, kernel.SubflowDataSize))
	if err != nil {
		t.Fatal(err)
	}
	if d.SizeKernel != kernel.TCPInfoSize {
		t.Errorf("MPTCP_TCPINFO: kernel tcp_info is %d bytes, package decodes %d", d.SizeKernel, kernel.TCPInfoSize)
	}
	full := kernel.AppendFullInfoHeader(nil, kernel.FullInfoHeader{SizeTCPInfoUser: 4096, SizeSfInfoUser: 4096})
	h, err := kernel.DecodeFullInfoHeader(rawGetsockopt(t, c.Client, kernel.SOL_MPTCP, kernel.MPTCP_FULL_INFO, full, 1024))
	if err != nil {
		t.Fatal(err)
	}
	if h.SizeSfInfoKernel != kernel.SubflowInfoSize || h.SizeTCPInfoKernel != kernel.TCPInfoSize {
		t.Errorf("MPTCP_FULL_INFO: kernel sizes sfinfo %d tcp_info %d, package decodes %d and %d",
			h.SizeSfInfoKernel, h.SizeTCPInfoKernel, kernel.SubflowInfoSize, kernel.TCPInfoSize)
	}
	if h.NumSubflows != 2 {
		t.Errorf("MPTCP_FULL_INFO header reports %d subflows, want 2", h.NumSubflows)
	}
}

func addrPort(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func TestLiveConnection(t *testing.T) {
	kerneltest.Require(t)
	p := kerneltest.NewTwoPaths(t)
	clientBefore := p.Client.MIB(t)
	serverBefore := p.Server.MIB(t)
	c := p.Connect(t)
	lport := addrPort(t, c.Listener.Addr()).Port()
	server0 := netip.AddrPortFrom(p.ServerAddrs[0], lport)

	t.Run("Info", func(t *testing.T) {
		for name, conn := range map[string]*net.TCPConn{"client": c.Client, "server": c.Server} {
			i, err := kernel.Info(conn)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if i.Size != kernel.InfoSize || !i.Has(kernel.FieldSubflowsTotal) {
				t.Errorf("%s: Size %d, want %d", name, i.Size, kernel.InfoSize)
			}
			if i.SubflowsTotal != 2 || i.Subflows != 1 {
				t.Errorf("%s: SubflowsTotal %d Subflows %d, want 2 and 1", name, i.SubflowsTotal, i.Subflows)
			}
			if i.Token == 0 || i.Flags.Fallback() || !i.Flags.RemoteKeyReceived() {
				t.Errorf("%s: token %#x flags %#x, want a token, no fallback, remote key", name, i.Token, i.Flags)
			}
			if i.BytesSent != 1 || i.BytesReceived != 1 {
				t.Errorf("%s: bytes sent %d received %d, want 1 and 1", name, i.BytesSent, i.BytesReceived)
			}
		}
		ci, _ := kernel.Info(c.Client)
		if ci.SubflowsMax != 1 || ci.LocalAddrMax != 1 {
			t.Errorf("client limits: subflows_max %d local_addr_max %d, want 1 and 1", ci.SubflowsMax, ci.LocalAddrMax)
		}
		if _, err := kernel.Info(c.Listener); err != nil {
			t.Errorf("Info(listener): %v", err)
		}
	})

	t.Run("FullInfo", func(t *testing.T) {
		fi, err := kernel.FullInfo(c.Client)
		if err != nil {
			t.Fatal(err)
		}
		if fi.NumSubflows != 2 || len(fi.Subflows) != 2 || fi.Info.SubflowsTotal != 2 {
			t.Fatalf("client FullInfo: %d/%d subflows (info says %d), want 2", len(fi.Subflows), fi.NumSubflows, fi.Info.SubflowsTotal)
		}
		var locals []netip.Addr
		for _, s := range fi.Subflows {
			if s.Remote != server0 {
				t.Errorf("subflow %d remote %v, want %v", s.ID, s.Remote, server0)
			}
			locals = append(locals, s.Local.Addr())
			if s.TCP.State != kernel.TCPEstablished || s.TCP.SndMSS == 0 || s.TCP.Size != kernel.TCPInfoSize {
				t.Errorf("subflow %d tcp_info: state %v snd_mss %d size %d", s.ID, s.TCP.State, s.TCP.SndMSS, s.TCP.Size)
			}
		}
		slices.SortFunc(locals, netip.Addr.Compare)
		if !slices.Equal(locals, p.ClientAddrs[:]) {
			t.Errorf("client subflow local addresses %v, want %v", locals, p.ClientAddrs)
		}
		if fi.Subflows[0].ID == fi.Subflows[1].ID {
			t.Errorf("subflow ids are not distinct: %d", fi.Subflows[0].ID)
		}

		sfi, err := kernel.FullInfo(c.Server)
		if err != nil {
			t.Fatal(err)
		}
		var remotes []netip.Addr
		for _, s := range sfi.Subflows {
			remotes = append(remotes, s.Remote.Addr())
			if s.Local != server0 {
				t.Errorf("server subflow local %v, want %v", s.Local, server0)
			}
		}
		slices.SortFunc(remotes, netip.Addr.Compare)
		if !slices.Equal(remotes, p.ClientAddrs[:]) {
			t.Errorf("server subflow remote addresses %v, want %v", remotes, p.ClientAddrs)
		}
	})

	t.Run("SubflowAddrsAndTCPInfos", func(t *testing.T) {
		addrs, err := kernel.SubflowAddrs(c.Client)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := kernel.FullInfo(c.Client)
		if err != nil {
			t.Fatal(err)
		}
		var want []kernel.SubflowAddr
		for _, s := range fi.Subflows {
			want = append(want, kernel.SubflowAddr{Local: s.Local, Remote: s.Remote})
		}
		if !slices.Equal(addrs, want) {
			t.Errorf("SubflowAddrs %v, FullInfo %v", addrs, want)
		}
		infos, err := kernel.TCPInfos(c.Client)
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 2 {
			t.Fatalf("TCPInfos: %d subflows, want 2", len(infos))
		}
		for _, ti := range infos {
			if ti.State != kernel.TCPEstablished || ti.RTT <= 0 {
				t.Errorf("TCPInfos: state %v rtt %v", ti.State, ti.RTT)
			}
		}
	})

	t.Run("GrowArrays", func(t *testing.T) {
		// Start with room for one subflow: the kernel reports two, and
		// the readers retry with larger arrays.
		defer kernel.SetInitialSubflows(1)()
		fi, err := kernel.FullInfo(c.Client)
		if err != nil || fi.NumSubflows != 2 || len(fi.Subflows) != 2 || !fi.Subflows[1].Remote.IsValid() {
			t.Errorf("FullInfo with one initial slot: %+v, %v", fi, err)
		}
		addrs, err := kernel.SubflowAddrs(c.Client)
		if err != nil || len(addrs) != 2 {
			t.Errorf("SubflowAddrs with one initial slot: %v, %v", addrs, err)
		}
		infos, err := kernel.TCPInfos(c.Client)
		if err != nil || len(infos) != 2 {
			t.Errorf("TCPInfos with one initial slot: %d, %v", len(infos), err)
		}
	})

	t.Run("IsMPTCP", func(t *testing.T) {
		if ok, err := kernel.IsMPTCP(c.Client); err != nil || !ok {
			t.Errorf("IsMPTCP(MPTCP client) = %v, %v; want true", ok, err)
		}
		pc, ps := p.PlainTCP(t)
		fc, _ := p.Fallback(t)
		for _, conn := range []*net.TCPConn{pc, ps, fc} {
			if ok, err := kernel.IsMPTCP(conn); err != nil || ok {
				t.Errorf("IsMPTCP(%v) = %v, %v; want false", conn.LocalAddr(), ok, err)
			}
			if _, err := kernel.Info(conn); !errors.Is(err, kernel.ErrNotMPTCP) {
				t.Errorf("Info(%v) error %v, want ErrNotMPTCP", conn.LocalAddr(), err)
			}
			if _, err := kernel.FullInfo(conn); !errors.Is(err, kernel.ErrNotMPTCP) {
				t.Errorf("FullInfo(%v) error %v, want ErrNotMPTCP", conn.LocalAddr(), err)
			}
		}
	})

	t.Run("MIB", func(t *testing.T) {
		clientAfter := p.Client.MIB(t)
		serverAfter := p.Server.MIB(t)
		check := func(side string, d []kernel.CounterDelta, want map[string]int64) {
			t.Helper()
			got := map[string]int64{}
			for _, c := range d {
				got[c.Name] = c.Delta
			}
			for name, min := range want {
				if got[name] < min {
					t.Errorf("%s: %s grew by %d, want at least %d", side, name, got[name], min)
				}
			}
		}
		check("client", kernel.Delta(clientBefore, clientAfter), map[string]int64{
			"MPCapableSYNTX": 1, "MPCapableSYNACKRX": 1, "MPJoinSynTx": 1, "MPJoinSynAckRx": 1, "MPCurrEstab": 1,
		})
		check("server", kernel.Delta(serverBefore, serverAfter), map[string]int64{
			"MPCapableSYNRX": 1, "MPCapableACKRX": 1, "MPJoinSynRx": 1, "MPJoinAckRx": 1, "MPCurrEstab": 1,
		})
		// The namespaces are private: the counters of the test's own
		// namespace did not see this connection.
		if v, _ := serverAfter.Get("MPJoinAckRx"); v != 1 {
			t.Errorf("server MPJoinAckRx = %d, want exactly 1 in a fresh namespace", v)
		}
	})
}

func TestLiveSysctls(t *testing.T) {
	kerneltest.Require(t)
	ns := kerneltest.NewNetns(t)
	var before, after *kernel.SysctlValues
	err := ns.Do(func() error {
		var err error
		if before, err = kernel.Sysctls(); err != nil {
			return err
		}
		if err := kernel.SetSysctl("checksum_enabled", "1"); err != nil {
			return err
		}
		if err := kernel.SetSysctl("add_addr_timeout", "7"); err != nil {
			return err
		}
		if err := kernel.SetSysctl("enabled", "2"); err == nil {
			return errors.New("SetSysctl(enabled, 2) succeeded")
		}
		if err := kernel.SetSysctl("available_schedulers", "x"); err == nil {
			return errors.New("SetSysctl(available_schedulers) succeeded")
		}
		if err := kernel.SetSysctl("scheduler", "nosuchscheduler"); err == nil {
			return errors.New("SetSysctl(scheduler, nosuchscheduler) succeeded")
		}
		after, err = kernel.Sysctls()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !before.Enabled || before.ChecksumEnabled || before.Scheduler != "default" || !slices.Contains(before.AvailablePathManagers, "kernel") {
		t.Errorf("fresh namespace sysctls: %+v", before)
	}
	if !after.ChecksumEnabled || after.AddAddrTimeout.Seconds() != 7 {
		t.Errorf("after SetSysctl: checksum_enabled %v add_addr_timeout %v", after.ChecksumEnabled, after.AddAddrTimeout)
	}
	for name := range after.Raw {
		if !after.Has(name) {
			t.Errorf("Has(%s) is false", name)
		}
	}
	// The test's own namespace is untouched.
	own, err := kernel.Sysctls()
	if err != nil {
		t.Fatal(err)
	}
	if own.Raw["add_addr_timeout"] == "7" {
		t.Error("SetSysctl inside the namespace changed the process's namespace")
	}
}

func TestLiveReadMIBPid(t *testing.T) {
	own, err := kernel.ReadMIB()
	if errors.Is(err, kernel.ErrNoMPTCP) {
		t.Skip("kernel has no MPTCP counters")
	}
	if err != nil {
		t.Fatal(err)
	}
	viaPid, err := kernel.ReadMIBPid(unix.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(own) == 0 || len(own) != len(viaPid) || own[0].Name != viaPid[0].Name {
		t.Errorf("ReadMIB and ReadMIBPid disagree on the counters: %d vs %d", len(own), len(viaPid))
	}
}
