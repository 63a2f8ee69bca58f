// Package diag lists the Linux kernel's MPTCP sockets and their subflows
// through sock_diag (NETLINK_SOCK_DIAG), the way "ss -M" and "ss -ti" do.
//
// MPTCP sockets are dumped with an inet_diag_req_v2 whose protocol is
// IPPROTO_MPTCP (262, carried in an INET_DIAG_REQ_PROTOCOL attribute since
// it does not fit the 8-bit sdiag_protocol); their INET_DIAG_INFO is a
// struct mptcp_info. Subflows are ordinary TCP sockets whose upper layer
// protocol (INET_DIAG_ULP_INFO) is "mptcp"; the INET_ULP_INFO_MPTCP nest
// carries their MPTCP state (tokens, address ids, mapping, flags). A
// subflow's local token equals the token of its MPTCP socket (RFC 8684
// §3.2), which is how List groups them.
//
// The decoders (DecodeMPTCPMessage, DecodeTCPMessage, DecodeULPInfo,
// DecodeSubflowInfo, Group) are pure and available on every platform; the
// netlink Conn is Linux-only.
package diag
