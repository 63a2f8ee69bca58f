// Package kerneltest builds throw-away network namespaces for tests that
// need the Linux kernel's MPTCP: a client and a server namespace joined by
// two veth paths, with MPTCP endpoints and limits such that a connection
// gets a second subflow over the second path.
//
// Everything it creates is named with a "gmt" prefix and the process id and
// is deleted by t.Cleanup, even when the test fails. Helpers skip the test
// (t.Skip) when not running as root, when the ip tool is missing, or when
// the kernel has no MPTCP. On other systems only Require and RequireTool
// exist, and they skip.
package kerneltest
