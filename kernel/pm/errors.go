package pm

import (
	"context"
	"errors"
	"strings"
	"syscall"

	"github.com/mdlayher/netlink"
)

var (
	// ErrFamilyNotFound is returned when the kernel has no mptcp_pm generic
	// netlink family.
	ErrFamilyNotFound = errors.New(`the kernel has no "mptcp_pm" generic netlink family: ` +
		"the kernel is too old (MPTCP needs Linux 5.6 or later) or was built without MPTCP (CONFIG_MPTCP)")
	// ErrNotSupported is returned by Dial and Subscribe on systems other
	// than Linux.
	ErrNotSupported = errors.New("the kernel MPTCP path manager is only available on Linux")
	// ErrClosed is returned by the methods of a closed Client.
	ErrClosed = errors.New("mptcp_pm client closed")
	// ErrEventsLost is the Err of an Event reporting that the kernel dropped
	// events because the monitor's socket buffer was full (ENOBUFS).
	ErrEventsLost = errors.New("events lost: the monitor's socket receive buffer overflowed")
)

// Error is the error of a failed mptcp_pm request.
type Error struct {
	// Op names the operation, e.g. "add endpoint".
	Op string
	// Err is the cause: a syscall.Errno for errors reported by the kernel
	// (match with errors.Is, e.g. errors.Is(err, os.ErrPermission)), a
	// context error, ErrMalformed, or a socket error.
	Err error
	// Message and Offset are the kernel's extended acknowledgement: a
	// human-readable reason and the offset of the offending attribute in
	// the request (0 when absent).
	Message string
	Offset  int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("mptcp_pm ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(errText(e.Err))
	if e.Message != "" {
		b.WriteString(": kernel says: ")
		b.WriteString(strings.TrimSpace(e.Message))
	}
	if hint := e.hint(); hint != "" {
		b.WriteString(" (")
		b.WriteString(hint)
		b.WriteString(")")
	}
	return b.String()
}

// errText is the text of err without the "netlink receive:" decoration of
// *netlink.OpError, whose details Error reports itself.
func errText(err error) string {
	var op *netlink.OpError
	if errors.As(err, &op) {
		return op.Err.Error()
	}
	return err.Error()
}

func (e *Error) hint() string {
	var errno syscall.Errno
	if !errors.As(e.Err, &errno) {
		return ""
	}
	switch errno {
	case syscall.EPERM, syscall.EACCES:
		return "missing privileges: changing the MPTCP path manager needs CAP_NET_ADMIN (run as root)"
	case syscall.EOPNOTSUPP:
		return "this kernel does not support the command; it may be too old"
	case syscall.EINVAL:
		if e.Message == "" {
			return "the kernel rejected the request; an older kernel may not support this command or attribute"
		}
	}
	return ""
}

func (e *Error) Unwrap() error { return e.Err }

// wrapErr turns err into an *Error for operation op, lifting the kernel's
// extended acknowledgement out of a *netlink.OpError and preferring the
// context's error when ctx ended the operation.
func wrapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return &Error{Op: op, Err: cerr}
	}
	var nerr *netlink.OpError
	if errors.As(err, &nerr) {
		e := &Error{Op: op, Err: nerr.Err, Message: nerr.Message, Offset: nerr.Offset}
		if e.Err == nil {
			e.Err = err
		}
		return e
	}
	return &Error{Op: op, Err: err}
}
