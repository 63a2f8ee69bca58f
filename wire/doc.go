// Package wire holds zero-copy, allocation-free codecs for the packets
// gomptcp sends and receives: IPv4 and IPv6 headers, the TCP header and its
// options, every MPTCP option of RFC 8684 §3, and the MPTCP crypto of
// RFC 8684 §3.1–§3.4 (keys, tokens, IDSNs, HMACs, the DSS checksum).
//
// Codecs come at two levels. A view type (IPv4, TCP, …) wraps a byte slice;
// after its Check method returns nil, none of its accessors can panic. A value
// type (MPCapable, DSS, …) is a plain struct with Len, Append and a Parse
// function:
//
//	v, n, err := wire.ParseDSS(b) // b starts at the option's kind byte
//	b = v.Append(b[:0])           // len(v.Append(nil)) == v.Len()
//
// Parsers never return zero-filled values on bad input: they return an error
// that wraps one of the sentinel errors below in an *OptionError, because an
// MPTCP engine must know that an option was malformed to apply the fallback
// rules of RFC 8684 §3.7. Parsers do not allocate; byte slices in parsed
// values may alias the input, as documented per field.
package wire
