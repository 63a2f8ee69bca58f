package tcp

import (
	"net/netip"
	"strings"

	"github.com/gomptcp/mptcp/wire"
)

// Flags are the control bits of the TCP header (RFC 9293 §3.1).
type Flags uint8

// Control bits, in header bit order.
const (
	FlagFIN Flags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

var flagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// String lists the set flags, e.g. "SYN|ACK".
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var b strings.Builder
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// Has reports whether all flags in g are set.
func (f Flags) Has(g Flags) bool { return f&g == g }

// Segment is a TCP segment without its IP addresses: the header fields the
// engine uses, the parsed options and the payload.
type Segment struct {
	SrcPort, DstPort uint16
	Seq              uint32 // SEG.SEQ
	Ack              uint32 // SEG.ACK, meaningful with FlagACK
	Flags            Flags
	Window           uint16 // SEG.WND as on the wire (unscaled)
	Options          wire.TCPOptions
	Payload          []byte
	// GSO, on a received segment, says that it stands for consecutive
	// segments of GSO payload bytes each but the last that arrived
	// together and were coalesced (a receiver's GRO; Linux's gso_size):
	// the receiver sizes its estimate of the peer's MSS, which sets how
	// often it acknowledges, from GSO rather than from the whole payload.
	// Zero for a segment that arrived alone.
	GSO int
}

// Len is SEG.LEN: the payload length plus one for SYN and one for FIN
// (RFC 9293 §3.4).
func (s *Segment) Len() uint32 {
	n := uint32(len(s.Payload))
	if s.Flags&FlagSYN != 0 {
		n++
	}
	if s.Flags&FlagFIN != 0 {
		n++
	}
	return n
}

// MaxOptionSpace is the size of the TCP option area: 60-byte maximum header
// minus the 20-byte fixed header (RFC 9293 §3.1).
const MaxOptionSpace = 40

// OptionsLen is an upper bound of the option bytes o takes on the wire,
// whether an encoder packs the options or aligns them on 32-bit words with
// NOPs as Linux does: MSS 4, window scale 4 (NOP + 3), timestamps 12 (two
// NOPs + 10, or SACK-permitted + 10), SACK-permitted alone 4, SACK 4+8n;
// MPTCP and unknown options add their lengths, rounded up to a multiple of 4.
func OptionsLen(o *wire.TCPOptions) int {
	n := 0
	if o.HasMSS {
		n += 4
	}
	if o.HasWindowScale {
		n += 4
	}
	switch {
	case o.HasTimestamps:
		n += 12 // with SACK-permitted in the two bytes NOPs would take
	case o.SACKPermitted:
		n += 4
	}
	if o.NumSACKBlocks > 0 {
		n += 4 + 8*min(o.NumSACKBlocks, len(o.SACKBlocks))
	}
	extra := 0
	for i := range min(o.NumMPTCP, len(o.MPTCP)) {
		extra += len(o.MPTCP[i])
	}
	for i := range min(o.NumUnknown, len(o.Unknown)) {
		extra += len(o.Unknown[i])
	}
	return n + (extra+3)&^3
}

// ConnID identifies a connection: its local and remote address and port.
// The engine only uses the ports (in segments) and hashes the whole tuple
// into the initial sequence number and timestamp offset (RFC 6528).
type ConnID struct {
	Local, Remote netip.AddrPort
}
