package wire

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	OptionKindEOL           = 0 // RFC 9293 §3.2
	OptionKindNOP           = 1 // RFC 9293 §3.2
	OptionKindMSS           = 2 // RFC 9293 §3.2
	OptionKindWindowScale   = 3 // RFC 7323 §2
	OptionKindSACKPermitted = 4 // RFC 2018 §2
	OptionKindSACK          = 5 // RFC 2018 §3
	OptionKindTimestamps    = 8 // RFC 7323 §3
)

// Limits on how many options of a kind TCPOptions keeps.
const (
	MaxSACKBlocks     = 4 // 40 option bytes hold at most 4 blocks (RFC 2018 §3)
	MaxMPTCPOptions   = 4 // MPTCP options kept raw per segment
	MaxUnknownOptions = 4 // unknown options kept raw per segment
)

// SACKBlock is one block of a SACK option (RFC 2018 §3): the bytes
// [Left, Right) have been received.
type SACKBlock struct {
	Left, Right uint32
}

// TCPOptions is the parsed option area of a TCP segment. Parsing fills it
// without allocating; the raw MPTCP and unknown options alias the segment.
type TCPOptions struct {
	HasMSS bool
	MSS    uint16

	HasWindowScale bool
	WindowScale    uint8 // shift count as received; RFC 7323 §2.3 caps use at 14

	SACKPermitted bool

	NumSACKBlocks int
	SACKBlocks    [MaxSACKBlocks]SACKBlock

	HasTimestamps bool
	TSVal, TSEcr  uint32

	// MPTCP holds the MPTCP options (kind 30) in order of appearance, each
	// from its kind byte to its last byte. Parse them with the MPTCP
	// parsers (ParseDSS, …).
	NumMPTCP int
	MPTCP    [MaxMPTCPOptions][]byte

	// Unknown holds options of other kinds, kind byte included.
	NumUnknown int
	Unknown    [MaxUnknownOptions][]byte
}
