package meta

import (
	"fmt"
	"sync/atomic"
)

// Counter names one MIB counter. The names are those of Linux's MPTcpExt
// counters (net/mptcp/mib.c) for the events this engine implements, with
// one addition that Linux does not count (MPFastcloseRxBadKey).
type Counter uint8

// Counters.
const (
	MPCapableSYNRX          Counter = iota // MP_CAPABLE SYN received
	MPCapableSYNTX                         // MP_CAPABLE SYN sent
	MPCapableSYNACKRX                      // MP_CAPABLE SYN/ACK received
	MPCapableACKRX                         // MP_CAPABLE third ACK received
	MPCapableFallbackACK                   // third ACK without MP_CAPABLE: fallback
	MPCapableFallbackSYNACK                // SYN/ACK without a usable MP_CAPABLE: fallback
	MPFallbackTokenInit                    // no unique token: fallback
	MPTCPRetrans                           // data-level retransmissions (reinjections)
	MPJoinNoTokenFound                     // MP_JOIN SYN for an unknown token
	MPJoinSynRx                            // MP_JOIN SYN received
	MPJoinSynBackupRx                      // MP_JOIN SYN with B received
	MPJoinSynAckRx                         // MP_JOIN SYN/ACK with a valid HMAC received
	MPJoinSynAckBackupRx                   // the same, with B
	MPJoinSynAckHMacFailure                // MP_JOIN SYN/ACK with a bad HMAC
	MPJoinSynAckNoMPJoin                   // SYN/ACK to an MP_JOIN SYN without MP_JOIN
	MPJoinAckRx                            // MP_JOIN third ACK with a valid HMAC received
	MPJoinAckHMacFailure                   // MP_JOIN third ACK with a bad HMAC
	MPJoinAckNoMPJoin                      // third ACK of a join without MP_JOIN
	MPJoinRejected                         // MP_JOIN SYN refused (limit, state)
	MPJoinSynTx                            // MP_JOIN SYN sent
	DSSNotMatching                         // a mapping contradicts an earlier one
	DSSNoMatchTCP                          // a mapping does not cover its segment, or data has no mapping
	DataCsumErr                            // DSS checksum failed
	InfiniteMapRx                          // infinite mapping received
	OFOQueueTail                           // data queued at the tail of the out-of-order queue
	OFOQueue                               // data queued out of order
	OFOMerge                               // out-of-order data merged with queued data
	NoDSSInWindow                          // mapped data beyond the receive window, dropped
	DuplicateData                          // data received again at the data level, dropped
	MPFailTx                               // MP_FAIL sent
	MPFailRx                               // MP_FAIL received
	MPRstTx                                // MP_TCPRST sent
	MPRstRx                                // MP_TCPRST received
	MPCurrEstab                            // gauge: MPTCP connections established now
	MPCapableSYNTXDrop                     // MP_CAPABLE dropped from a retransmitted SYN (blackhole detection)
	Blackhole                              // the SYN without MP_CAPABLE was answered: a middlebox drops MPTCP SYNs
	DssFallback                            // fallback to TCP after data without a mapping (RFC 8684 §3.7)
	InfiniteMapTx                          // infinite mapping sent
	AddAddr                                // ADD_ADDR with a valid HMAC received
	AddAddrTx                              // ADD_ADDR sent (retransmissions included)
	AddAddrTxDrop                          // ADD_ADDR not sent: no room for it
	EchoAdd                                // ADD_ADDR echo received
	EchoAddTx                              // ADD_ADDR echo sent
	EchoAddTxDrop                          // ADD_ADDR echo not sent: no room for it
	PortAdd                                // ADD_ADDR (or echo) with a port received
	AddAddrDrop                            // ADD_ADDR dropped: bad HMAC
	RmAddr                                 // address ID removed by a received REMOVE_ADDR
	RmAddrTx                               // REMOVE_ADDR sent
	RmSubflow                              // subflow closed because its local address was removed
	MPPrioTx                               // MP_PRIO sent
	MPPrioRx                               // MP_PRIO received
	MPFastcloseTx                          // MP_FASTCLOSE sent
	MPFastcloseRx                          // MP_FASTCLOSE with our key received
	SubflowStale                           // subflow marked stale
	SubflowRecover                         // stale subflow acknowledged again
	MPFastcloseRxBadKey                    // MP_FASTCLOSE with a wrong key ignored (not a Linux counter: Linux ignores it silently)
	SubflowSilent                          // subflow suspected: no ACK for a few RTTs with data in flight (not a Linux counter)
	numCounters
)

var counterNames = [numCounters]string{
	"MPCapableSYNRX", "MPCapableSYNTX", "MPCapableSYNACKRX", "MPCapableACKRX",
	"MPCapableFallbackACK", "MPCapableFallbackSYNACK", "MPFallbackTokenInit", "MPTCPRetrans",
	"MPJoinNoTokenFound", "MPJoinSynRx", "MPJoinSynBackupRx", "MPJoinSynAckRx", "MPJoinSynAckBackupRx",
	"MPJoinSynAckHMacFailure", "MPJoinSynAckNoMPJoin", "MPJoinAckRx", "MPJoinAckHMacFailure",
	"MPJoinAckNoMPJoin", "MPJoinRejected", "MPJoinSynTx", "DSSNotMatching", "DSSNoMatchTCP",
	"DataCsumErr", "InfiniteMapRx", "OFOQueueTail", "OFOQueue", "OFOMerge", "NoDSSInWindow",
	"DuplicateData", "MPFailTx", "MPFailRx", "MPRstTx", "MPRstRx", "MPCurrEstab",
	"MPCapableSYNTXDrop", "Blackhole", "DssFallback", "InfiniteMapTx", "AddAddr", "AddAddrTx",
	"AddAddrTxDrop", "EchoAdd", "EchoAddTx", "EchoAddTxDrop", "PortAdd", "AddAddrDrop", "RmAddr",
	"RmAddrTx", "RmSubflow", "MPPrioTx", "MPPrioRx", "MPFastcloseTx", "MPFastcloseRx",
	"SubflowStale", "SubflowRecover", "MPFastcloseRxBadKey", "SubflowSilent",
}

// String returns the Linux name of the counter, e.g. "MPJoinSynRx".
func (c Counter) String() string {
	if c < numCounters {
		return counterNames[c]
	}
	return fmt.Sprintf("Counter(%d)", uint8(c))
}

// MIB holds the counters. It is safe for concurrent use, so connections
// driven by different goroutines can share one.
type MIB struct {
	v [numCounters]atomic.Int64
}

func (m *MIB) inc(c Counter)          { m.v[c].Add(1) }
func (m *MIB) add(c Counter, n int64) { m.v[c].Add(n) }

// Get returns the value of counter c (0 for an unknown counter).
func (m *MIB) Get(c Counter) int64 {
	if c >= numCounters {
		return 0
	}
	return m.v[c].Load()
}

// Snapshot returns every counter by its MPTcpExt name, without the
// "MPTcpExt" prefix.
func (m *MIB) Snapshot() map[string]int64 {
	s := make(map[string]int64, numCounters)
	for i := range numCounters {
		s[counterNames[i]] = m.v[i].Load()
	}
	return s
}
