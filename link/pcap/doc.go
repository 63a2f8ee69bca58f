// Package pcap records IP packets to a pcap capture file from any point
// where a link.Middleware goes: a simulated link direction in link/sim, or
// a real backend through link.Driver.
//
// A Tap passes every packet through unchanged and writes it, stamped with
// the time its Middleware call was given (the virtual time in the
// simulator), in the classic pcap format with nanosecond timestamps and
// link type LINKTYPE_RAW (101): each record is one raw IPv4 or IPv6
// packet, which Wireshark, tshark and gopacket decode.
package pcap
