package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every parse error wraps exactly one of them, so callers
// can test with errors.Is.
var (
	// ErrTruncated: the buffer ends before the header or option does.
	ErrTruncated = errors.New("truncated")
	// ErrBadLength: a length field has a value the format does not allow.
	ErrBadLength = errors.New("bad length")
	// ErrBadValue: a field holds a value the format does not allow
	// (a reserved flag combination, an unknown address family, …).
	ErrBadValue = errors.New("bad value")
	// ErrBadVersion: an IP or MPTCP version this package does not speak.
	// ParseMPCapable reports MP_CAPABLE version 0 (RFC 6824) with this
	// error and still returns the parsed value, whose Version field the
	// caller inspects to fall back to TCP.
	ErrBadVersion = errors.New("unsupported version")
	// ErrBadChecksum: a checksum does not verify.
	ErrBadChecksum = errors.New("bad checksum")
	// ErrWrongKind: the buffer holds a different option kind or MPTCP
	// subtype than the parser was asked for.
	ErrWrongKind = errors.New("wrong option kind")
)

// OptionError describes a malformed TCP or MPTCP option.
type OptionError struct {
	Kind    uint8        // TCP option kind
	Subtype MPTCPSubtype // MPTCP subtype, meaningful when Kind == OptionKindMPTCP
	Length  int          // the option's length byte, or -1 if it was not reached
	Err     error        // one of the sentinel errors of this package
	Detail  string       // a short human-readable explanation, may be empty
}

func (e *OptionError) Error() string {
	name := fmt.Sprintf("TCP option %d", e.Kind)
	if e.Kind == OptionKindMPTCP {
		name = "MPTCP " + e.Subtype.String()
	}
	s := fmt.Sprintf("wire: %s (length %d): %v", name, e.Length, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *OptionError) Unwrap() error { return e.Err }

// mptcpErr builds the error for a malformed MPTCP option of subtype st.
// Allocation happens only on the error path.
func mptcpErr(st MPTCPSubtype, length int, err error, detail string) error {
	return &OptionError{Kind: OptionKindMPTCP, Subtype: st, Length: length, Err: err, Detail: detail}
}

// HeaderError describes a malformed IPv4, IPv6 or TCP header.
type HeaderError struct {
	Proto  string // "IPv4", "IPv6" or "TCP"
	Err    error  // one of the sentinel errors of this package
	Detail string
}

func (e *HeaderError) Error() string {
	s := fmt.Sprintf("wire: %s header: %v", e.Proto, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *HeaderError) Unwrap() error { return e.Err }
