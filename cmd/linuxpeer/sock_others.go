//go:build !linux

package main

import (
	"errors"
	"syscall"
)

// isMPTCPSocket is only implemented on Linux, the one system whose MPTCP
// sockets this program is for.
func isMPTCPSocket(syscall.Conn) (bool, error) {
	return false, errors.New("MPTCP socket detection is only implemented on Linux")
}
