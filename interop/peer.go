package interop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// PeerEvent is one line cmd/linuxpeer prints on stderr with --json: a
// "listening" event, a connection's "summary", or the "error" that ends
// the command.
type PeerEvent struct {
	Event string `json:"event"`

	// "listening": the address, and whether the listener is an MPTCP
	// socket (nil if unknown).
	Addr        string `json:"addr,omitempty"`
	ListenMPTCP *bool  `json:"mptcp,omitempty"`

	// "summary".
	Summary *PeerSummary `json:"-"`

	// "error".
	Command string `json:"command,omitempty"`
	Error   string `json:"error,omitempty"`
}

// PeerSummary is what the kernel's side saw of one connection.
type PeerSummary struct {
	Role           string  `json:"role"` // "listen" or "connect"
	Local          string  `json:"local"`
	Remote         string  `json:"remote"`
	MPTCPAtStart   bool    `json:"mptcp_at_start"`
	MPTCP          bool    `json:"mptcp"` // at the end
	BytesSent      int64   `json:"bytes_sent"`
	SHA256Sent     string  `json:"sha256_sent"`
	BytesReceived  int64   `json:"bytes_received"`
	SHA256Received string  `json:"sha256_received"`
	Fastclose      bool    `json:"fastclose"`
	Reset          bool    `json:"reset"`
	DurationMS     float64 `json:"duration_ms"`
	Error          string  `json:"error,omitempty"`
}

// ErrBadPeerLine wraps the errors of ParsePeerEvent.
var ErrBadPeerLine = errors.New("interop: bad linuxpeer line")

// ParsePeerEvent decodes one JSON line of linuxpeer's stderr. Unknown
// fields are ignored (a newer linuxpeer may add some); an unknown event,
// or a known one without its required fields, is an error.
func ParsePeerEvent(line []byte) (PeerEvent, error) {
	var ev PeerEvent
	line = bytes.TrimSpace(line)
	if err := json.Unmarshal(line, &ev); err != nil {
		return PeerEvent{}, fmt.Errorf("%w: %v", ErrBadPeerLine, err)
	}
	switch ev.Event {
	case "listening":
		if ev.Addr == "" {
			return PeerEvent{}, fmt.Errorf("%w: listening event without an address", ErrBadPeerLine)
		}
	case "summary":
		var s PeerSummary
		if err := json.Unmarshal(line, &s); err != nil {
			return PeerEvent{}, fmt.Errorf("%w: %v", ErrBadPeerLine, err)
		}
		if s.Role != "listen" && s.Role != "connect" {
			return PeerEvent{}, fmt.Errorf("%w: summary with role %q", ErrBadPeerLine, s.Role)
		}
		if s.BytesSent < 0 || s.BytesReceived < 0 {
			return PeerEvent{}, fmt.Errorf("%w: negative byte count", ErrBadPeerLine)
		}
		// The summary's "mptcp" is the connection's, not a listener's.
		ev.ListenMPTCP = nil
		ev.Summary = &s
		ev.Error = ""
	case "error":
		if ev.Error == "" {
			return PeerEvent{}, fmt.Errorf("%w: error event without a message", ErrBadPeerLine)
		}
	default:
		return PeerEvent{}, fmt.Errorf("%w: unknown event %q", ErrBadPeerLine, ev.Event)
	}
	return ev, nil
}
