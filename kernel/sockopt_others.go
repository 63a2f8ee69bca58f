//go:build !linux

package kernel

import (
	"fmt"
	"syscall"
)

// Info returns the MPTCP_INFO of an MPTCP socket. It needs Linux.
func Info(c syscall.Conn) (*MPTCPInfo, error) {
	return nil, fmt.Errorf("MPTCP_INFO: %w", ErrUnsupported)
}

// IsMPTCP reports whether c is an MPTCP socket. It needs Linux.
func IsMPTCP(c syscall.Conn) (bool, error) {
	return false, fmt.Errorf("TCP_IS_MPTCP: %w", ErrUnsupported)
}

// SubflowAddrs returns the addresses of every subflow. It needs Linux.
func SubflowAddrs(c syscall.Conn) ([]SubflowAddr, error) {
	return nil, fmt.Errorf("MPTCP_SUBFLOW_ADDRS: %w", ErrUnsupported)
}

// TCPInfos returns the tcp_info of every subflow. It needs Linux.
func TCPInfos(c syscall.Conn) ([]TCPInfo, error) {
	return nil, fmt.Errorf("MPTCP_TCPINFO: %w", ErrUnsupported)
}

// FullInfo returns MPTCP_FULL_INFO. It needs Linux.
func FullInfo(c syscall.Conn) (*MPTCPFullInfo, error) {
	return nil, fmt.Errorf("MPTCP_FULL_INFO: %w", ErrUnsupported)
}
