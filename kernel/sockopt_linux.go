//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// initialSubflows is the number of subflow slots the array options start
// with; the kernel's default limits allow 1 + 2 subflows and its maximum is
// 1 + 8, so one retry at most is expected. Tests lower it to exercise the
// retries.
var initialSubflows = 8

// maxSubflowRetries bounds the retries when the kernel reports more
// subflows than the arrays had room for (subflows can be created between
// two calls).
const maxSubflowRetries = 4

// rawConn returns the RawConn of c.
func rawConn(c syscall.Conn) (syscall.RawConn, error) {
	if c == nil {
		return nil, errors.New("nil connection")
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// getsockopt runs getsockopt(level, name) with b as the in/out buffer and
// returns the length the kernel wrote back.
func getsockopt(rc syscall.RawConn, level, name int, b []byte) (int, error) {
	var n uint32
	var serr error
	err := rc.Control(func(fd uintptr) {
		n = uint32(len(b))
		var p unsafe.Pointer
		if len(b) > 0 {
			p = unsafe.Pointer(&b[0])
		}
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, uintptr(level), uintptr(name),
			uintptr(p), uintptr(unsafe.Pointer(&n)), 0)
		if e != 0 {
			serr = e
		}
	})
	if err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	if int(n) > len(b) {
		return 0, malformed("getsockopt returned length %d for a %d-byte buffer", n, len(b))
	}
	return int(n), nil
}

// optError wraps the errno of a SOL_MPTCP getsockopt. EOPNOTSUPP (an MPTCP
// socket that fell back to TCP) and ENOPROTOOPT (a plain TCP socket) mean
// the socket is not MPTCP.
func optError(op string, err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOPROTOOPT) {
		return fmt.Errorf("%s: %w: %w", op, ErrNotMPTCP, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Info returns the MPTCP_INFO of an MPTCP socket (a connection or a
// listener). It returns an error wrapping ErrNotMPTCP for plain TCP sockets
// and for MPTCP sockets that fell back to TCP.
func Info(c syscall.Conn) (*MPTCPInfo, error) {
	rc, err := rawConn(c)
	if err != nil {
		return nil, fmt.Errorf("MPTCP_INFO: %w", err)
	}
	b := make([]byte, InfoSize)
	n, err := getsockopt(rc, SOL_MPTCP, MPTCP_INFO, b)
	if err != nil {
		return nil, optError("MPTCP_INFO", err)
	}
	i, err := DecodeInfo(b[:n])
	if err != nil {
		return nil, fmt.Errorf("MPTCP_INFO: %w", err)
	}
	return &i, nil
}

// IsMPTCP reports whether c is an MPTCP socket that did not fall back to
// TCP, using TCP_IS_MPTCP (Linux 5.16+). Plain TCP sockets report false.
func IsMPTCP(c syscall.Conn) (bool, error) {
	rc, err := rawConn(c)
	if err != nil {
		return false, fmt.Errorf("TCP_IS_MPTCP: %w", err)
	}
	var b [4]byte
	n, err := getsockopt(rc, SOL_TCP, TCP_IS_MPTCP, b[:])
	if err != nil {
		if errors.Is(err, unix.ENOPROTOOPT) {
			return false, fmt.Errorf("TCP_IS_MPTCP needs Linux 5.16: %w: %w", errors.ErrUnsupported, err)
		}
		return false, fmt.Errorf("TCP_IS_MPTCP: %w", err)
	}
	if n < 1 {
		return false, fmt.Errorf("TCP_IS_MPTCP: %w", malformed("reply is %d bytes", n))
	}
	// The kernel writes an int, or a single byte if the caller offered
	// less room.
	if n >= 4 {
		return binary.NativeEndian.Uint32(b[:]) != 0, nil
	}
	return b[0] != 0, nil
}

// subflowArrayOpt runs an MPTCP_TCPINFO or MPTCP_SUBFLOW_ADDRS request with
// room for a growing number of elements of size elem, until every subflow
// fits or the retries run out, and returns the reply.
func subflowArrayOpt(rc syscall.RawConn, op string, name, elem int) ([]byte, error) {
	slots := initialSubflows
	var reply []byte
	for range maxSubflowRetries {
		b := make([]byte, SubflowDataSize+slots*elem)
		AppendSubflowData(b[:0], SubflowData{SizeSubflowData: SubflowDataSize, SizeUser: uint32(elem)})
		n, err := getsockopt(rc, SOL_MPTCP, name, b)
		if err != nil {
			return nil, optError(op, err)
		}
		reply = b[:n]
		d, err := DecodeSubflowData(reply)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if int(d.NumSubflows) <= slots {
			break
		}
		slots = int(d.NumSubflows) + initialSubflows
	}
	return reply, nil
}

// SubflowAddrs returns the local and remote address of every subflow of an
// MPTCP connection (MPTCP_SUBFLOW_ADDRS, Linux 5.18+).
func SubflowAddrs(c syscall.Conn) ([]SubflowAddr, error) {
	rc, err := rawConn(c)
	if err != nil {
		return nil, fmt.Errorf("MPTCP_SUBFLOW_ADDRS: %w", err)
	}
	b, err := subflowArrayOpt(rc, "MPTCP_SUBFLOW_ADDRS", MPTCP_SUBFLOW_ADDRS, SubflowAddrsSize)
	if err != nil {
		return nil, err
	}
	_, addrs, err := DecodeSubflowAddrsReply(b)
	if err != nil {
		return nil, fmt.Errorf("MPTCP_SUBFLOW_ADDRS: %w", err)
	}
	return addrs, nil
}

// TCPInfos returns the tcp_info of every subflow of an MPTCP connection
// (MPTCP_TCPINFO, Linux 5.18+).
func TCPInfos(c syscall.Conn) ([]TCPInfo, error) {
	rc, err := rawConn(c)
	if err != nil {
		return nil, fmt.Errorf("MPTCP_TCPINFO: %w", err)
	}
	b, err := subflowArrayOpt(rc, "MPTCP_TCPINFO", MPTCP_TCPINFO, TCPInfoSize)
	if err != nil {
		return nil, err
	}
	_, infos, err := DecodeTCPInfoReply(b)
	if err != nil {
		return nil, fmt.Errorf("MPTCP_TCPINFO: %w", err)
	}
	return infos, nil
}

// FullInfo returns MPTCP_FULL_INFO (Linux 6.5+): the connection's
// mptcp_info and, taken under one lock so they are consistent, every
// subflow's id, addresses and tcp_info. If subflows keep appearing while the
// arrays are grown, the result holds those that fitted and NumSubflows tells
// how many there were.
func FullInfo(c syscall.Conn) (*MPTCPFullInfo, error) {
	rc, err := rawConn(c)
	if err != nil {
		return nil, fmt.Errorf("MPTCP_FULL_INFO: %w", err)
	}
	slots := initialSubflows
	var fi MPTCPFullInfo
	for range maxSubflowRetries {
		fi, err = fullInfoOnce(rc, slots)
		if err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				// Older kernels answer EOPNOTSUPP to unknown SOL_MPTCP
				// options, as fallen-back sockets do: tell them apart.
				if _, ierr := Info(c); ierr == nil {
					return nil, fmt.Errorf("MPTCP_FULL_INFO needs Linux 6.5: %w: %w", errors.ErrUnsupported, err)
				}
			}
			return nil, optError("MPTCP_FULL_INFO", err)
		}
		if fi.NumSubflows <= slots {
			break
		}
		slots = fi.NumSubflows + initialSubflows
	}
	return &fi, nil
}

func fullInfoOnce(rc syscall.RawConn, slots int) (MPTCPFullInfo, error) {
	sf := make([]byte, slots*SubflowInfoSize)
	ti := make([]byte, slots*TCPInfoSize)
	// The kernel writes through the addresses carried in the request: pin
	// the arrays for the duration of the call.
	var pin runtime.Pinner
	pin.Pin(&sf[0])
	pin.Pin(&ti[0])
	defer pin.Unpin()
	b := make([]byte, FullInfoHeaderSize+InfoSize)
	AppendFullInfoHeader(b[:0], FullInfoHeader{
		SizeTCPInfoUser: TCPInfoSize,
		SizeSfInfoUser:  SubflowInfoSize,
		SizeArraysUser:  uint32(slots),
		SubflowInfo:     uint64(uintptr(unsafe.Pointer(&sf[0]))),
		TCPInfo:         uint64(uintptr(unsafe.Pointer(&ti[0]))),
	})
	n, err := getsockopt(rc, SOL_MPTCP, MPTCP_FULL_INFO, b)
	if err != nil {
		return MPTCPFullInfo{}, err
	}
	fi, err := DecodeFullInfo(b[:n], sf, ti)
	if err != nil {
		return MPTCPFullInfo{}, fmt.Errorf("MPTCP_FULL_INFO: %w", err)
	}
	return fi, nil
}
