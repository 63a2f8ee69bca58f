// Package kernel reads and tunes the Linux kernel's own Multipath TCP
// (RFC 8684) implementation.
//
// It covers four sources of state:
//
//   - Socket options of one MPTCP socket (level SOL_MPTCP): Info
//     (MPTCP_INFO, an MPTCPInfo), FullInfo (MPTCP_FULL_INFO, an
//     MPTCPFullInfo: the connection plus, per subflow, its id, addresses and
//     TCPInfo), SubflowAddrs (MPTCP_SUBFLOW_ADDRS), TCPInfos (MPTCP_TCPINFO)
//     and IsMPTCP (TCP_IS_MPTCP). They accept any syscall.Conn:
//     *net.TCPConn, *net.TCPListener, *os.File.
//   - The MPTcpExt MIB counters of /proc/net/netstat: ReadMIB, ReadMIBNetns,
//     ReadMIBPid, ParseMIB and Delta.
//   - The per network namespace sysctls under /proc/sys/net/mptcp: Sysctls
//     (a SysctlValues) and SetSysctl.
//   - Network namespaces: DoInNetns runs a function inside one, so that the
//     sockets, counters and sysctls above are those of that namespace.
//
// The decoders (DecodeInfo, DecodeTCPInfo, DecodeSockaddr, ParseMIB, …) are
// pure functions over bytes, available on every platform. They accept the
// shorter structures of older kernels (missing fields stay zero and the
// Size field tells how many bytes were present) and the longer ones of newer
// kernels (unknown trailing bytes are ignored). Everything that talks to the
// kernel is Linux-only; elsewhere it returns an error wrapping ErrUnsupported.
//
// The sibling package kernel/diag lists MPTCP sockets and their subflows
// through inet_diag, as "ss -M" does, and kernel/kerneltest builds network
// namespaces with MPTCP paths for tests.
package kernel
