package tcp

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrClosed: the operation is not possible because the application
	// closed that direction (or the whole connection).
	ErrClosed = errors.New("tcp: connection closed")
	// ErrNotConnected: the connection is not (or no longer) in a state
	// that allows the operation.
	ErrNotConnected = errors.New("tcp: not connected")
	// ErrBufferFull: WriteChunk found too little room in the send buffer
	// for the whole chunk.
	ErrBufferFull = errors.New("tcp: send buffer full")
	// ErrConnectionRefused: a RST answered our SYN (RFC 9293 §3.10.7.3).
	ErrConnectionRefused = errors.New("tcp: connection refused")
	// ErrConnectionReset: the connection was reset; the error is a
	// *ResetError that carries the details.
	ErrConnectionReset = errors.New("tcp: connection reset")
	// ErrTimeout: retransmissions or keepalive probes went unanswered.
	// The error returned by Conn.Err is a net.Error with Timeout() true.
	ErrTimeout = errors.New("tcp: connection timed out")
	// ErrAborted: the application aborted the connection.
	ErrAborted = errors.New("tcp: connection aborted")
	// ErrInvalidConfig wraps configuration errors.
	ErrInvalidConfig = errors.New("tcp: invalid config")
)

// ResetReason says why a reset was sent or received.
type ResetReason uint8

// Reset reasons.
const (
	ResetReceived      ResetReason = iota // the peer sent a RST
	ResetAbort                            // the application called Abort
	ResetUnreadData                       // closed with unread data, or data arrived after close (RFC 9293 §3.10.4, RFC 2525 §2.17)
	ResetBadAck                           // unacceptable ACK in SYN-SENT or SYN-RECEIVED (RFC 9293 §3.10.7.3/§3.10.7.4)
	ResetHookRejected                     // a Hooks.CheckSegment verdict asked for a reset
	ResetSegmentClosed                    // segment for a closed connection (RFC 9293 §3.10.7.1)
)

var resetReasonNames = [...]string{"received", "abort", "unread-data", "bad-ack", "hook", "closed"}

func (r ResetReason) String() string {
	if int(r) < len(resetReasonNames) {
		return resetReasonNames[r]
	}
	return fmt.Sprintf("ResetReason(%d)", uint8(r))
}

// ResetError reports a reset that ended the connection.
type ResetError struct {
	// Sent is true when this side sent the RST, false when it received one.
	Sent   bool
	Reason ResetReason
	State  State // the state the connection was in
}

func (e *ResetError) Error() string {
	if e.Sent {
		return fmt.Sprintf("tcp: connection reset by local side in %v (%v)", e.State, e.Reason)
	}
	return fmt.Sprintf("tcp: connection reset by peer in %v", e.State)
}

// Is matches ErrConnectionReset, and ErrAborted for an Abort.
func (e *ResetError) Is(target error) bool {
	return target == ErrConnectionReset || (target == ErrAborted && e.Reason == ResetAbort)
}

// timeoutError is ErrTimeout as a net.Error.
type timeoutError struct{ what string }

func (e *timeoutError) Error() string   { return "tcp: connection timed out (" + e.what + ")" }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return false }
func (e *timeoutError) Unwrap() error   { return ErrTimeout }
