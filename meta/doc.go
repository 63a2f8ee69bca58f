// Package meta is the MPTCP connection-level ("meta") engine of RFC 8684:
// the part of Multipath TCP above the TCP subflows. Like package tcp it is
// sans-IO: it never reads a clock, starts a goroutine or does I/O.
//
// A Conn owns its subflows, each a *tcp.Conn whose Hooks it implements. The
// host stack feeds it the segments addressed to any of its subflows (Input,
// keyed by the subflow's 4-tuple), drains the segments to transmit (Poll,
// which names the subflow each one leaves on), polls it again at
// NextDeadline, and reads its events (NextEvent):
//
//	c.Input(now, id, &seg) // and/or c.Write(p), c.Read(p), c.Close(), …
//	for {
//		id, out, ok := c.Poll(now, buf)
//		if !ok {
//			break
//		}
//		send(id, out) // encode before the next Poll: options alias the Conn
//	}
//	wakeAt := c.NextDeadline()
//
// The engine implements:
//   - MP_CAPABLE version 1 (RFC 8684 §3.1): keys drawn from Config.Rand,
//     tokens kept unique through a TokenRegistry, the SYN, SYN/ACK and
//     third-ACK forms, MP_CAPABLE with data on the first data segments until
//     the peer's first DATA_ACK, flags A (checksum), B, C and H.
//   - Fallback to plain TCP at the handshake (RFC 8684 §3.7): a SYN/ACK
//     without MP_CAPABLE, a version-0 or B-flag MP_CAPABLE, or a third ACK
//     without MP_CAPABLE turns the connection into an ordinary TCP
//     connection over the initial subflow, byte for byte.
//   - Data sequencing (RFC 8684 §3.3): 64-bit data sequence numbers, one DSS
//     mapping per chunk written to a subflow with tcp's WriteChunk, on the
//     chunk's first segment (and on any shorter one with room for it; the
//     others carry a DSS only for a DATA_ACK that moved, see
//     subflow.DataOptionSpace: Linux repeats the mapping on every segment),
//     64-bit DATA_ACKs (32-bit ones are accepted and expanded), the peer's
//     receive window applied at the data level (§3.3.4), data-level
//     reassembly across subflows with bounded memory, duplicate data
//     discarded, DATA_FIN and the connection close handshake (§3.3.3), and
//     the optional DSS checksum (§3.3.1), verified over whole mappings:
//     the start of a mapping is set aside until the rest has arrived, so
//     that mappings larger than a subflow's receive buffer complete, and
//     the sender keeps its mappings small against the peer's window, as
//     the receiver acknowledges whole mappings only. A checksum failure
//     (§3.7) resets the subflow with MP_FAIL and MP_TCPRST when other
//     subflows can take its data; on the only subflow the receiver sends
//     MP_FAIL, the sender answers with an infinite mapping and both
//     continue as plain TCP.
//   - MP_JOIN (RFC 8684 §3.2): nonces, HMAC-SHA256 verification in both
//     directions (a bad HMAC resets the subflow with MP_TCPRST), the B flag,
//     address IDs and the fourth ACK; a Scheduler picks the subflow for each
//     chunk, and the data of a subflow that dies is reinjected on the
//     others, as is data that stays unacknowledged at the data level.
//     Every subflow of a connection, on either side, is in the
//     connection's congestion-control group (cc.Group).
//   - Path management signals (RFC 8684 §3.3.8, §3.4), for a path manager
//     above that decides: Announce sends ADD_ADDR with its HMAC on a pure
//     ACK and repeats it until echoed (Config.AddAddrTimeout, as Linux);
//     a received ADD_ADDR is verified, echoed and reported
//     (EventAnnounced), one with a bad HMAC dropped (AddAddrDrop).
//     RemoveAddr sends REMOVE_ADDR and resets our subflows from that
//     address; a received one resets the subflows to the listed addresses
//     (EventRemoved), their data reinjected. SetBackup sends MP_PRIO; a
//     received one marks the subflow backup for the scheduler
//     (EventSubflowPriority). The engine opens no subflow by itself:
//     AddSubflow does, and ResetSubflow gives one up with an MP_TCPRST
//     reason.
//   - MP_FASTCLOSE (RFC 8684 §3.5): Abort sends it with the peer's key on
//     a RST of every subflow, with MP_TCPRST, as Linux does; a received
//     one with our key resets every subflow and ends the connection with
//     ErrFastClose (an ECONNRESET), one with another key is ignored. A
//     connection whose Close does not finish within Config.CloseTimeout
//     is fast-closed.
//   - MP_TCPRST (RFC 8684 §3.6) on every reset of an MPTCP subflow, with
//     the reasons Linux uses; a received reason goes with the subflow's
//     EventSubflowClosed.
//   - Fallback after the handshake (RFC 8684 §3.7): when a middlebox strips
//     the MPTCP options from the data of the only subflow (data arrives
//     without a mapping, or our data is acknowledged without any MPTCP
//     option), and that subflow has carried the data stream byte for byte,
//     both ends continue as plain TCP without loss; otherwise the subflow
//     is reset (middlebox interference) and its data reinjected. An
//     MP_CAPABLE SYN that goes unanswered Config.SYNRetransBeforeFallback
//     times is sent without MP_CAPABLE (Linux's blackhole detection).
//   - Stale subflows: a subflow at its Config.StaleLossCount-th
//     retransmission timeout in a row gets no new data while another
//     works, and what it has not delivered goes out on the others at once.
//   - Counters named after Linux's MPTcpExt MIB (MIB), and an Info snapshot
//     after Linux's struct mptcp_info.
//
// Receive flow control works through the subflows: the engine drains a
// subflow's receive buffer into its own only while fewer than
// Config.RecvBufferSize bytes wait for the application, so when the
// application stops reading the subflows' windows close, and reading opens
// them again with the subflows' own window updates. The window a subflow
// advertises is its own free buffer, which the peer applies from DATA_ACK
// (RFC 8684 §3.3.4); out-of-order data is accepted as far beyond DATA_ACK
// as any subflow window reaches, and dropped beyond, where the sender's
// data-level retransmission recovers it. Memory is thus bounded by
// RecvBufferSize in order, that window out of order, the subflow buffers
// and, with checksums, one partial mapping (at most 64 KiB) per subflow.
//
// When the engine needs a subflow to send a pure ACK at once (a DATA_FIN,
// its acknowledgement, the fourth ACK of MP_JOIN, a path-management
// signal), it asks the TCP engine with tcp.Conn.SendAck. Signals ride on
// pure ACKs, with the DSS beside them when there is room and on the next
// ACK otherwise.
//
// Not implemented: Linux's make-after-break linger (a connection that lost
// its last subflow ends at once here) and its host-wide disabling of MPTCP
// after a detected blackhole. An MP_JOIN to an announced port reaches the
// connection only if the host hands that port's SYNs to a Listener.
//
// A Conn is not safe for concurrent use; a Listener neither.
package meta
