package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// ipprotoMPTCP is IPPROTO_MPTCP, the protocol number of MPTCP sockets on
// Linux (include/uapi/linux/in.h).
const ipprotoMPTCP = 262

// isMPTCPSocket reports whether the socket behind c was created with
// IPPROTO_MPTCP (getsockopt SO_PROTOCOL). For a listener this tells whether
// MPTCP was available when it was created: Go falls back to plain TCP
// silently when the kernel refuses MPTCP sockets (net.mptcp.enabled=0).
func isMPTCPSocket(c syscall.Conn) (bool, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, err
	}
	var proto int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		proto, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL)
	}); err != nil {
		return false, err
	}
	if serr != nil {
		return false, serr
	}
	return proto == ipprotoMPTCP, nil
}
