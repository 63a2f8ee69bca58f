package pkttest

import (
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var serializeOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

func network(src, dst netip.Addr, proto layers.IPProtocol) gopacket.NetworkLayer {
	if src.Is4() {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, Flags: layers.IPv4DontFragment,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	}
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, ls...); err != nil {
		panic(fmt.Sprintf("pkttest: serialize: %v", err))
	}
	return append([]byte(nil), buf.Bytes()...)
}

// UDP returns an IPv4 or IPv6 packet (after src's family) carrying a UDP
// datagram, with correct lengths and checksums.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	ip := network(src.Addr(), dst.Addr(), layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		panic(err)
	}
	return serialize(ip.(gopacket.SerializableLayer), udp, gopacket.Payload(payload))
}

// TCPSpec describes a TCP segment for TCP.
type TCPSpec struct {
	Src, Dst                     netip.AddrPort
	Seq, Ack                     uint32
	SYN, ACK, FIN, RST, PSH, URG bool
	Window                       uint16
	Options                      []layers.TCPOption
	Payload                      []byte
}

// TCP returns an IPv4 or IPv6 packet carrying the segment s, with correct
// lengths and checksums. gopacket pads the options with zero bytes (EOL)
// to a multiple of four; callers that want NOP padding add NOP options.
func TCP(s TCPSpec) []byte {
	ip := network(s.Src.Addr(), s.Dst.Addr(), layers.IPProtocolTCP)
	win := s.Window
	if win == 0 {
		win = 65535
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(s.Src.Port()), DstPort: layers.TCPPort(s.Dst.Port()),
		Seq: s.Seq, Ack: s.Ack, SYN: s.SYN, ACK: s.ACK, FIN: s.FIN, RST: s.RST, PSH: s.PSH, URG: s.URG,
		Window: win, Options: s.Options}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		panic(err)
	}
	return serialize(ip.(gopacket.SerializableLayer), tcp, gopacket.Payload(s.Payload))
}

// Decoded is a packet taken apart by gopacket.
type Decoded struct {
	Packet gopacket.Packet
	IPv4   *layers.IPv4
	IPv6   *layers.IPv6
	UDP    *layers.UDP
	TCP    *layers.TCP
}

// Decode takes a raw IP packet apart. It returns an error if gopacket
// reports one.
func Decode(pkt []byte) (Decoded, error) {
	first := layers.LayerTypeIPv4
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	p := gopacket.NewPacket(pkt, first, gopacket.Default)
	d := Decoded{Packet: p}
	if e := p.ErrorLayer(); e != nil {
		return d, e.Error()
	}
	if l, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		d.IPv4 = l
	}
	if l, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		d.IPv6 = l
	}
	if l, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		d.UDP = l
	}
	if l, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		d.TCP = l
	}
	return d, nil
}

// ChecksumsOK recomputes the packet's IPv4 header checksum and TCP or UDP
// checksum with gopacket and reports whether those in pkt match.
func ChecksumsOK(pkt []byte) (bool, error) {
	d, err := Decode(pkt)
	if err != nil {
		return false, err
	}
	var ls []gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	switch {
	case d.IPv4 != nil:
		ip := *d.IPv4
		ip.Checksum = 0
		nl = &ip
		ls = append(ls, &ip)
	case d.IPv6 != nil:
		ip := *d.IPv6
		nl = &ip
		ls = append(ls, &ip)
	default:
		return false, fmt.Errorf("pkttest: not IP")
	}
	switch {
	case d.TCP != nil:
		tcp := *d.TCP
		if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
			return false, err
		}
		ls = append(ls, &tcp, gopacket.Payload(tcp.Payload))
	case d.UDP != nil:
		udp := *d.UDP
		if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
			return false, err
		}
		ls = append(ls, &udp, gopacket.Payload(udp.Payload))
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ls...); err != nil {
		return false, err
	}
	return string(buf.Bytes()) == string(pkt), nil
}
