// Package kerneltest builds throw-away network namespaces for tests that
// need the Linux kernel: single namespaces (NewNetns, or NewPlainNetns when
// MPTCP is not needed) with helpers to run ip, ss and other programs in
// them, enter them (Do), read and write their sysctls and MPTcpExt
// counters, open netlink sockets in them and add veth pairs and addresses;
// and a client and a server namespace joined by two veth paths (TwoPaths),
// with MPTCP endpoints and limits such that a connection gets a second
// subflow over the second path, or with the path managers left to the test
// (NewTwoPathsBare). Live MPTCP connections come from Netns.ListenMPTCP and
// Netns.ConnectMPTCP, or TwoPaths.Connect. The outputs of "ss" and
// "ip -j mptcp endpoint show" are parsed, as independent views to check the
// kernel packages against.
//
// Everything it creates is named with a "gmt" prefix and the process id and
// is deleted by t.Cleanup, even when the test fails. Helpers skip the test
// (t.Skip) when not running as root, when the ip tool is missing, or when
// the kernel has no MPTCP. On other systems only Require, RequireNetns and
// RequireTool exist, and they skip.
package kerneltest
