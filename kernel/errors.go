package kernel

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned by everything that needs the Linux kernel when
// the program runs on another operating system. It wraps
// errors.ErrUnsupported.
var ErrUnsupported = fmt.Errorf("kernel MPTCP is only available on Linux: %w", errors.ErrUnsupported)

// ErrNotMPTCP is returned by the socket option readers when the socket is
// not an MPTCP socket: a plain TCP socket, or an MPTCP socket that fell back
// to TCP (RFC 8684 §3.7). The kernel's errno is wrapped too.
var ErrNotMPTCP = errors.New("not an MPTCP socket (plain TCP, or fallen back to TCP)")

// ErrMalformed is wrapped by every decoding error: data from the kernel (or
// from a file claiming to be kernel output) that does not have the expected
// shape.
var ErrMalformed = errors.New("malformed kernel data")

// ErrNoMPTCP is returned when the running kernel has no MPTCP support: no
// MPTcpExt counters, no /proc/sys/net/mptcp.
var ErrNoMPTCP = errors.New("the kernel has no MPTCP support")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

func fmtIndex(what string, i int, err error) error {
	return fmt.Errorf("%s %d: %w", what, i, err)
}
