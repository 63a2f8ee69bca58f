// Package pathmgr holds path managers for gomptcp's MPTCP stack beyond the
// default one (stack.KernelPM, the rules of Linux's in-kernel path
// manager): each decides which subflows a connection opens (MP_JOIN, RFC
// 8684 §3.2) from the events of its connections, through the
// stack.Controller a stack.PathManager receives.
//
//   - Fullmesh: a subflow from every local address to every address of
//     the peer (its initial one and those it announces), as the fullmesh
//     path manager of the multipath-tcp.org kernel did and Linux's
//     "fullmesh" endpoints do.
//   - NDiffPorts: n subflows between the same two addresses, each from its
//     own port, for paths that ECMP spreads by 5-tuple, as the
//     multipath-tcp.org kernel's ndiffports did.
//   - Userspace: nothing automatic; the application drives the
//     connections with the commands of Linux's mptcp_pm family, as with
//     Linux's userspace path manager.
//
// The default, stack.KernelPM, follows Linux's in-kernel path manager
// over endpoints (signal, subflow, backup, fullmesh) and limits.
//
// Fullmesh and NDiffPorts, like stack.KernelPM, open again the subflows
// they opened that fail, after the backoff of their Backoff field
// (stack.PMBackoff: 1 s doubling up to 60 s by default), through the
// timer of a stack.TimerController, and at once when the local address
// comes back (stack.PMEventLocalAddrAdded). Package stack/pmtest's fake
// Controller serves their table tests.
//
// Path managers run on the stack's loop goroutine; they never block.
package pathmgr
