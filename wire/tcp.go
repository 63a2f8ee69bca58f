package wire

import (
	"encoding/binary"
	"net/netip"
)

// TCP header layout (RFC 9293 §3.1).
const (
	TCPMinHeaderLen  = 20 // a header without options
	TCPMaxHeaderLen  = 60 // Data Offset is 4 bits of 32-bit words
	TCPMaxOptionsLen = TCPMaxHeaderLen - TCPMinHeaderLen

	tcpSrcPort     = 0
	tcpDstPort     = 2
	tcpSeq         = 4
	tcpAck         = 8
	tcpDataOffset  = 12 // high 4 bits; the low 4 are reserved (AE is bit 0)
	tcpFlags       = 13
	tcpWindow      = 14
	tcpChecksumOff = 16
	tcpUrgent      = 18
)

// TCPFlags is the control-bits octet of the TCP header (RFC 9293 §3.1,
// CWR and ECE from RFC 3168 §23.2).
type TCPFlags uint8

// TCP control bits.
const (
	FlagFIN TCPFlags = 1 << iota // no more data from sender
	FlagSYN                      // synchronize sequence numbers
	FlagRST                      // reset the connection
	FlagPSH                      // push function
	FlagACK                      // acknowledgment field is significant
	FlagURG                      // urgent pointer field is significant
	FlagECE                      // ECN-Echo
	FlagCWR                      // congestion window reduced
)

// tcpdump's letters for the flags, in its order: FIN, SYN, RST, PSH, ACK,
// URG, ECE, CWR.
var tcpFlagLetters = [8]byte{'F', 'S', 'R', 'P', '.', 'U', 'E', 'W'}

// String formats the flags as tcpdump does: one letter per set flag in the
// order F (FIN), S (SYN), R (RST), P (PSH), . (ACK), U (URG), E (ECE),
// W (CWR), so SYN+ACK is "S.", FIN+ACK "F.", PSH+ACK "P." and RST "R"; no
// flag at all is "none".
func (f TCPFlags) String() string {
	if f == 0 {
		return "none"
	}
	var buf [8]byte
	n := 0
	for i, c := range tcpFlagLetters {
		if f&(1<<i) != 0 {
			buf[n] = c
			n++
		}
	}
	return string(buf[:n])
}

// Has reports whether all flags of m are set in f.
func (f TCPFlags) Has(m TCPFlags) bool { return f&m == m }

// TCP is a view of a TCP segment (RFC 9293 §3.1), header first. Call Check
// before any other method: after Check returns nil no accessor panics.
// Options are parsed separately with ParseTCPOptions(t.Options(), …).
type TCP []byte

// Check validates that the buffer holds the fixed header and that Data
// Offset is at least 5 (RFC 9293 §3.1) and within the buffer.
func (t TCP) Check() error {
	if len(t) < TCPMinHeaderLen {
		return &HeaderError{Proto: "TCP", Err: ErrTruncated, Detail: "shorter than the 20-byte fixed header"}
	}
	hl := t.HeaderLen()
	if hl < TCPMinHeaderLen {
		return &HeaderError{Proto: "TCP", Err: ErrBadLength, Detail: "data offset below 5"}
	}
	if hl > len(t) {
		return &HeaderError{Proto: "TCP", Err: ErrTruncated, Detail: "data offset exceeds the buffer"}
	}
	return nil
}

// SrcPort returns the Source Port.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t[tcpSrcPort:]) }

// DstPort returns the Destination Port.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[tcpDstPort:]) }

// Seq returns the Sequence Number.
func (t TCP) Seq() uint32 { return binary.BigEndian.Uint32(t[tcpSeq:]) }

// Ack returns the Acknowledgment Number.
func (t TCP) Ack() uint32 { return binary.BigEndian.Uint32(t[tcpAck:]) }

// DataOffset returns the Data Offset field: the header length in 32-bit
// words.
func (t TCP) DataOffset() uint8 { return t[tcpDataOffset] >> 4 }

// HeaderLen returns the header length in bytes: Data Offset × 4.
func (t TCP) HeaderLen() int { return int(t[tcpDataOffset]>>4) * 4 }

// Flags returns the control bits.
func (t TCP) Flags() TCPFlags { return TCPFlags(t[tcpFlags]) }

// Window returns the Window field, unscaled.
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[tcpWindow:]) }

// Checksum returns the Checksum field.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[tcpChecksumOff:]) }

// Urgent returns the Urgent Pointer field.
func (t TCP) Urgent() uint16 { return binary.BigEndian.Uint16(t[tcpUrgent:]) }

// Options returns the option bytes of the header, padding included, or an
// empty slice. It aliases t.
func (t TCP) Options() []byte { return t[TCPMinHeaderLen:t.headerEnd()] }

// Payload returns the data after the header. It aliases t.
func (t TCP) Payload() []byte { return t[t.headerEnd():] }

// headerEnd is HeaderLen kept within the buffer and at least the fixed
// header, so that Options and Payload cannot panic.
func (t TCP) headerEnd() int { return min(max(t.HeaderLen(), TCPMinHeaderLen), len(t)) }

// SetSrcPort sets the Source Port.
func (t TCP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(t[tcpSrcPort:], p) }

// SetDstPort sets the Destination Port.
func (t TCP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(t[tcpDstPort:], p) }

// SetSeq sets the Sequence Number.
func (t TCP) SetSeq(v uint32) { binary.BigEndian.PutUint32(t[tcpSeq:], v) }

// SetAck sets the Acknowledgment Number.
func (t TCP) SetAck(v uint32) { binary.BigEndian.PutUint32(t[tcpAck:], v) }

// SetFlags sets the control bits.
func (t TCP) SetFlags(f TCPFlags) { t[tcpFlags] = uint8(f) }

// SetWindow sets the Window field.
func (t TCP) SetWindow(w uint16) { binary.BigEndian.PutUint16(t[tcpWindow:], w) }

// SetUrgent sets the Urgent Pointer field.
func (t TCP) SetUrgent(u uint16) { binary.BigEndian.PutUint16(t[tcpUrgent:], u) }

// SetChecksum computes the checksum of the segment t, header and data, sent
// from src to dst (RFC 9293 §3.1) and stores it. It does not allocate.
func (t TCP) SetChecksum(src, dst netip.Addr) {
	binary.BigEndian.PutUint16(t[tcpChecksumOff:], TCPChecksum(src, dst, t))
}

// ChecksumValid reports whether the segment's checksum verifies for the
// pseudo-header of src and dst.
func (t TCP) ChecksumValid(src, dst netip.Addr) bool {
	return TCPChecksumValid(src, dst, t)
}

// TCPHeader is the value form of a TCP header (RFC 9293 §3.1). Data Offset
// is derived from the options by Append; the checksum is left zero for
// TCP.SetChecksum or FillChecksums to fill once the data is in place. The
// four reserved bits (RFC 9293 §3.1; AE of AccECN among them) are written
// as zero and not parsed.
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            TCPFlags
	Window           uint16
	Urgent           uint16 // Urgent Pointer
	Options          TCPOptions
}

// ParseTCPHeader checks b as a TCP segment and parses its header, options
// included, into h. It returns the header length. On error h is left
// zeroed. It does not allocate; raw options in h.Options alias b.
//
// It fills a caller's TCPHeader rather than returning one because
// TCPOptions is a few hundred bytes.
func ParseTCPHeader(b []byte, h *TCPHeader) (int, error) {
	t := TCP(b)
	if err := t.Check(); err != nil {
		*h = TCPHeader{}
		return 0, err
	}
	if err := ParseTCPOptions(t.Options(), &h.Options); err != nil {
		*h = TCPHeader{}
		return 0, err
	}
	h.SrcPort = t.SrcPort()
	h.DstPort = t.DstPort()
	h.Seq = t.Seq()
	h.Ack = t.Ack()
	h.Flags = t.Flags()
	h.Window = t.Window()
	h.Urgent = t.Urgent()
	return t.HeaderLen(), nil
}

// Len returns the header length Append writes: 20 bytes plus
// h.Options.Len().
func (h *TCPHeader) Len() int { return TCPMinHeaderLen + h.Options.Len() }

// Append appends the header and its options (laid out as
// TCPOptions.Append does) to b, with Data Offset set and the checksum zero.
func (h *TCPHeader) Append(b []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, TCPMinHeaderLen)...)
	t := TCP(b[start:])
	t.SetSrcPort(h.SrcPort)
	t.SetDstPort(h.DstPort)
	t.SetSeq(h.Seq)
	t.SetAck(h.Ack)
	t.SetFlags(h.Flags)
	t.SetWindow(h.Window)
	t.SetUrgent(h.Urgent)
	b = h.Options.Append(b)
	b[start+tcpDataOffset] = uint8((len(b)-start)/4) << 4
	return b
}
