package kernel

// Constants of the Linux user-space API that golang.org/x/sys/unix does not
// define (or defines only on Linux builds), gathered in one place. Values are
// those of include/uapi/linux/{mptcp.h,mptcp_pm.h,inet_diag.h,tcp.h,in.h}.
// They are plain numbers, so they are available on every GOOS.
const (
	// IPPROTO_MPTCP is the protocol number of MPTCP sockets:
	// socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP).
	IPPROTO_MPTCP = 262
	// SOL_MPTCP is the socket option level of the MPTCP options.
	SOL_MPTCP = 284
	// SOL_TCP is the TCP socket option level (IPPROTO_TCP).
	SOL_TCP = 6
	// TCP_INFO is the SOL_TCP option returning struct tcp_info.
	TCP_INFO = 11
	// TCP_IS_MPTCP is the SOL_TCP option telling whether a socket is (still)
	// an MPTCP socket (Linux 5.16+).
	TCP_IS_MPTCP = 43

	// SOL_MPTCP option names.
	MPTCP_INFO          = 1 // struct mptcp_info
	MPTCP_TCPINFO       = 2 // struct mptcp_subflow_data + struct tcp_info[]
	MPTCP_SUBFLOW_ADDRS = 3 // struct mptcp_subflow_data + struct mptcp_subflow_addrs[]
	MPTCP_FULL_INFO     = 4 // struct mptcp_full_info (Linux 6.5+)

	// mptcp_info.mptcpi_flags bits.
	MPTCP_INFO_FLAG_FALLBACK            = 1 << 0
	MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED = 1 << 1

	// MPTCP_SUBFLOW_ATTR_FLAGS bits, reported per subflow by inet_diag.
	MPTCP_SUBFLOW_FLAG_MCAP_REM          = 1 << 0
	MPTCP_SUBFLOW_FLAG_MCAP_LOC          = 1 << 1
	MPTCP_SUBFLOW_FLAG_JOIN_REM          = 1 << 2
	MPTCP_SUBFLOW_FLAG_JOIN_LOC          = 1 << 3
	MPTCP_SUBFLOW_FLAG_BKUP_REM          = 1 << 4
	MPTCP_SUBFLOW_FLAG_BKUP_LOC          = 1 << 5
	MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED = 1 << 6
	MPTCP_SUBFLOW_FLAG_CONNECTED         = 1 << 7
	MPTCP_SUBFLOW_FLAG_MAPVALID          = 1 << 8

	// Attributes of the INET_ULP_INFO_MPTCP nest (enum in mptcp_pm.h).
	MPTCP_SUBFLOW_ATTR_UNSPEC       = 0
	MPTCP_SUBFLOW_ATTR_TOKEN_REM    = 1  // u32
	MPTCP_SUBFLOW_ATTR_TOKEN_LOC    = 2  // u32
	MPTCP_SUBFLOW_ATTR_RELWRITE_SEQ = 3  // u32
	MPTCP_SUBFLOW_ATTR_MAP_SEQ      = 4  // u64 (64-bit aligned, padded with ATTR_PAD)
	MPTCP_SUBFLOW_ATTR_MAP_SFSEQ    = 5  // u32
	MPTCP_SUBFLOW_ATTR_SSN_OFFSET   = 6  // u32
	MPTCP_SUBFLOW_ATTR_MAP_DATALEN  = 7  // u16
	MPTCP_SUBFLOW_ATTR_FLAGS        = 8  // u32
	MPTCP_SUBFLOW_ATTR_ID_REM       = 9  // u8
	MPTCP_SUBFLOW_ATTR_ID_LOC       = 10 // u8
	MPTCP_SUBFLOW_ATTR_PAD          = 11

	// sock_diag / inet_diag (include/uapi/linux/inet_diag.h).
	NETLINK_SOCK_DIAG   = 4
	SOCK_DIAG_BY_FAMILY = 20

	// Request attributes appended to struct inet_diag_req_v2.
	INET_DIAG_REQ_NONE            = 0
	INET_DIAG_REQ_BYTECODE        = 1
	INET_DIAG_REQ_SK_BPF_STORAGES = 2
	INET_DIAG_REQ_PROTOCOL        = 3 // u32: the protocol when it does not fit sdiag_protocol (u8)

	// Reply attributes following struct inet_diag_msg.
	INET_DIAG_NONE            = 0
	INET_DIAG_MEMINFO         = 1
	INET_DIAG_INFO            = 2 // struct tcp_info, or struct mptcp_info for IPPROTO_MPTCP
	INET_DIAG_VEGASINFO       = 3
	INET_DIAG_CONG            = 4
	INET_DIAG_TOS             = 5
	INET_DIAG_TCLASS          = 6
	INET_DIAG_SKMEMINFO       = 7
	INET_DIAG_SHUTDOWN        = 8
	INET_DIAG_DCTCPINFO       = 9
	INET_DIAG_PROTOCOL        = 10
	INET_DIAG_SKV6ONLY        = 11
	INET_DIAG_LOCALS          = 12
	INET_DIAG_PEERS           = 13
	INET_DIAG_PAD             = 14
	INET_DIAG_MARK            = 15
	INET_DIAG_BBRINFO         = 16
	INET_DIAG_CLASS_ID        = 17
	INET_DIAG_MD5SIG          = 18
	INET_DIAG_ULP_INFO        = 19
	INET_DIAG_SK_BPF_STORAGES = 20
	INET_DIAG_CGROUP_ID       = 21
	INET_DIAG_SOCKOPT         = 22

	// Attributes of the INET_DIAG_ULP_INFO nest.
	INET_ULP_INFO_UNSPEC = 0
	INET_ULP_INFO_NAME   = 1 // NUL-terminated string, e.g. "mptcp"
	INET_ULP_INFO_TLS    = 2
	INET_ULP_INFO_MPTCP  = 3 // nest of MPTCP_SUBFLOW_ATTR_*
)
