// Package middlebox holds link.Middleware that behave like the middleboxes
// MPTCP meets on real paths (RFC 8684 §6 and Appendix "Middlebox
// Considerations" of RFC 6182/RFC 8684), to test how the stack copes:
//
//   - Stripper removes MPTCP options (TCP option kind 30), from SYNs only or
//     from every segment, by overwriting them with NOPs;
//   - NAT rewrites the source address and port of packets leaving an inside
//     prefix and the destination of packets coming back;
//   - SeqRandomizer shifts TCP sequence numbers by a random offset per flow
//     and direction, and acknowledgments and SACK blocks back;
//   - Splitter cuts TCP segments into smaller ones;
//   - Coalescer merges consecutive TCP segments of a flow into larger ones;
//   - Rewriter changes TCP payload bytes and fixes the checksum, as an
//     application-level gateway does (only the DSS checksum can tell).
//
// Each is one value that can be placed on both directions of a link (it
// tells the directions apart from the packets themselves). Checksums are
// kept right: header rewrites update the IPv4 header and TCP or UDP
// checksums incrementally (RFC 1624), so a packet that arrived corrupted
// stays detectably corrupted; the Splitter and Coalescer build new segments
// only from segments whose checksums verify and pass others unchanged.
// Fragments and packets that do not parse are passed unchanged (the NAT
// drops them instead, as it cannot translate them).
//
// None of them is safe for concurrent use; a link.Driver or the simulator
// calls them from one goroutine.
package middlebox
