package trace

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapngMagic is the block type of a pcapng Section Header Block.
var pcapngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}

// Frame is one captured frame: its position, time and IP packet.
type Frame struct {
	Number int       // 1-based position in the capture, as Wireshark counts
	Time   time.Time // capture timestamp
	// IP is the frame's network-layer packet (IPv4 or IPv6), with the link
	// header removed; nil when the frame holds something else. It is only
	// valid until the next call to Next.
	IP []byte
	// OrigLen is the frame's length on the wire; it exceeds the captured
	// length when the capture was truncated by a snap length.
	OrigLen int
	// CapLen is the captured length of the whole frame.
	CapLen int
}

// Reader reads frames from a pcap or pcapng capture.
type Reader struct {
	next   func() ([]byte, int, time.Time, int, error) // data, link type, time, orig len
	closer io.Closer
	frame  int
}

// Open opens a capture file.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// NewReader reads a pcap or pcapng capture from r, telling the formats
// apart by their first bytes.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("not a capture file: %w", err)
	}
	if string(magic) == string(pcapngMagic) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("pcapng: %w", err)
		}
		return &Reader{next: func() ([]byte, int, time.Time, int, error) {
			data, ci, err := ng.ReadPacketData()
			if err != nil {
				return nil, 0, time.Time{}, 0, err
			}
			lt := int(ng.LinkType())
			if len(ci.AncillaryData) > 0 {
				if t, ok := ci.AncillaryData[0].(layers.LinkType); ok {
					lt = int(t)
				}
			}
			return data, lt, ci.Timestamp, ci.Length, nil
		}}, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	lt := int(pr.LinkType())
	return &Reader{next: func() ([]byte, int, time.Time, int, error) {
		data, ci, err := pr.ReadPacketData()
		if err != nil {
			return nil, 0, time.Time{}, 0, err
		}
		return data, lt, ci.Timestamp, ci.Length, nil
	}}, nil
}

// Close closes the underlying file if the Reader opened it.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Next returns the next frame, or io.EOF after the last one. A frame whose
// link layer is not understood, or that holds no IP packet, is returned with
// a nil IP.
func (r *Reader) Next() (Frame, error) {
	data, lt, ts, orig, err := r.next()
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("capture truncated after frame %d: %w", r.frame, err)
		}
		return Frame{}, err
	}
	r.frame++
	return Frame{Number: r.frame, Time: ts, IP: networkLayer(data, lt), OrigLen: orig, CapLen: len(data)}, nil
}

// Link types (tcpdump.org "LINK-LAYER HEADER TYPES").
const (
	linkNull     = 0
	linkEthernet = 1
	linkRaw      = 101
	linkRawAlt   = 12 // LINKTYPE_RAW as some OpenBSD-derived writers number it
	linkLoop     = 108
	linkSLL      = 113
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
	etherTypeVLAN = 0x8100
	etherTypeQinQ = 0x88a8
)

// networkLayer strips the link header of a frame of link type lt and
// returns the IPv4 or IPv6 packet it carries, or nil.
func networkLayer(b []byte, lt int) []byte {
	switch lt {
	case linkRaw, linkRawAlt, linkIPv4, linkIPv6:
		return ipOnly(b)
	case linkNull, linkLoop:
		// A 4-byte address family in host (Null) or network (Loop) order;
		// the version nibble tells IPv4 from IPv6 just as well.
		if len(b) < 4 {
			return nil
		}
		return ipOnly(b[4:])
	case linkEthernet:
		if len(b) < 14 {
			return nil
		}
		et := binary.BigEndian.Uint16(b[12:])
		b = b[14:]
		for (et == etherTypeVLAN || et == etherTypeQinQ) && len(b) >= 4 {
			et = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		}
		return etherPayload(et, b)
	case linkSLL:
		if len(b) < 16 {
			return nil
		}
		return etherPayload(binary.BigEndian.Uint16(b[14:]), b[16:])
	case linkSLL2:
		if len(b) < 20 {
			return nil
		}
		return etherPayload(binary.BigEndian.Uint16(b[0:]), b[20:])
	}
	return nil
}

func etherPayload(et uint16, b []byte) []byte {
	if et != etherTypeIPv4 && et != etherTypeIPv6 {
		return nil
	}
	return ipOnly(b)
}

// ipOnly returns b if it starts like an IPv4 or IPv6 packet.
func ipOnly(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if v := b[0] >> 4; v != 4 && v != 6 {
		return nil
	}
	return b
}
