package kernel

import (
	"bytes"
	"strconv"
)

// mibPrefix is the section of /proc/net/netstat holding the MPTCP
// counters (net/mptcp/mib.c).
const mibPrefix = "MPTcpExt"

// Counter is one MIB counter.
type Counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

// MIB is the MPTcpExt section of /proc/net/netstat: the kernel's MPTCP
// counters, in the kernel's order, including counters this package does not
// know (see KnownCounter). MPCurrEstab is a gauge; the others only grow.
type MIB []Counter

// Get returns the value of the named counter and whether it exists.
func (m MIB) Get(name string) (uint64, bool) {
	for _, c := range m {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}

// Map returns the counters as a map from name to value.
func (m MIB) Map() map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for _, c := range m {
		out[c.Name] = c.Value
	}
	return out
}

// CounterDelta is the change of one counter between two samples.
type CounterDelta struct {
	Name  string `json:"name"`
	Delta int64  `json:"delta"`
}

// Delta returns b minus a for every counter of b, in b's order. A counter
// missing from a counts from zero. The difference is signed because
// MPCurrEstab is a gauge that can decrease.
func Delta(a, b MIB) []CounterDelta {
	prev := a.Map()
	out := make([]CounterDelta, len(b))
	for i, c := range b {
		out[i] = CounterDelta{Name: c.Name, Delta: int64(c.Value - prev[c.Name])}
	}
	return out
}

// ParseMIB extracts the MPTcpExt counters from the contents of
// /proc/net/netstat (or /proc/PID/net/netstat). The file holds pairs of
// lines, "Prefix: name name …" then "Prefix: value value …". It returns an
// error wrapping ErrNoMPTCP if there is no MPTcpExt section and one
// wrapping ErrMalformed if the section is not a well-formed pair.
func ParseMIB(data []byte) (MIB, error) {
	names, values, err := netstatSection(data, mibPrefix)
	if err != nil {
		return nil, err
	}
	if len(names) != len(values) {
		return nil, malformed("%s has %d names but %d values", mibPrefix, len(names), len(values))
	}
	m := make(MIB, len(names))
	seen := make(map[string]struct{}, len(names))
	for i, n := range names {
		name := string(n)
		if _, dup := seen[name]; dup {
			return nil, malformed("%s counter %q appears twice", mibPrefix, name)
		}
		seen[name] = struct{}{}
		v, err := strconv.ParseUint(string(values[i]), 10, 64)
		if err != nil {
			return nil, malformed("%s counter %s: value %q is not a decimal number", mibPrefix, name, values[i])
		}
		m[i] = Counter{Name: name, Value: v}
	}
	return m, nil
}

// netstatSection finds the header and value lines of one section.
func netstatSection(data []byte, prefix string) (names, values [][]byte, err error) {
	tag := []byte(prefix + ":")
	var found [][]byte
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, "\r\n")
		if !bytes.HasPrefix(line, tag) {
			continue
		}
		found = append(found, line[len(tag):])
	}
	switch len(found) {
	case 0:
		return nil, nil, ErrNoMPTCP
	case 2:
	default:
		return nil, nil, malformed("%s has %d lines, want a header and a value line", prefix, len(found))
	}
	names, values = bytes.Fields(found[0]), bytes.Fields(found[1])
	if len(names) == 0 {
		return nil, nil, malformed("%s header lists no counters", prefix)
	}
	for _, n := range names {
		if !validCounterName(n) {
			return nil, nil, malformed("%s counter name %q is not alphanumeric", prefix, n)
		}
	}
	return names, values, nil
}

func validCounterName(n []byte) bool {
	for _, c := range n {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return len(n) > 0
}

// KnownCounter reports whether name is an MPTcpExt counter of some Linux
// version this package knows about.
func KnownCounter(name string) bool {
	_, ok := knownCounterSet[name]
	return ok
}

var knownCounterSet = func() map[string]struct{} {
	m := make(map[string]struct{}, len(knownCounters))
	for _, n := range knownCounters {
		m[n] = struct{}{}
	}
	return m
}()

// knownCounters lists the MPTcpExt counters of net/mptcp/mib.c: those of
// Linux 6.18 in its order, then those of newer development trees.
var knownCounters = [...]string{
	"MPCapableSYNRX",
	"MPCapableSYNTX",
	"MPCapableSYNACKRX",
	"MPCapableACKRX",
	"MPCapableFallbackACK",
	"MPCapableFallbackSYNACK",
	"MPCapableSYNTXDrop",
	"MPCapableSYNTXDisabled",
	"MPCapableEndpAttempt",
	"MPFallbackTokenInit",
	"MPTCPRetrans",
	"MPJoinNoTokenFound",
	"MPJoinSynRx",
	"MPJoinSynBackupRx",
	"MPJoinSynAckRx",
	"MPJoinSynAckBackupRx",
	"MPJoinSynAckHMacFailure",
	"MPJoinAckRx",
	"MPJoinAckHMacFailure",
	"MPJoinRejected",
	"MPJoinSynTx",
	"MPJoinSynTxCreatSkErr",
	"MPJoinSynTxBindErr",
	"MPJoinSynTxConnectErr",
	"DSSNotMatching",
	"DSSCorruptionFallback",
	"DSSCorruptionReset",
	"InfiniteMapTx",
	"InfiniteMapRx",
	"DSSNoMatchTCP",
	"DataCsumErr",
	"OFOQueueTail",
	"OFOQueue",
	"OFOMerge",
	"NoDSSInWindow",
	"DuplicateData",
	"AddAddr",
	"AddAddrTx",
	"AddAddrTxDrop",
	"EchoAdd",
	"EchoAddTx",
	"EchoAddTxDrop",
	"PortAdd",
	"AddAddrDrop",
	"MPJoinPortSynRx",
	"MPJoinPortSynAckRx",
	"MPJoinPortAckRx",
	"MismatchPortSynRx",
	"MismatchPortAckRx",
	"RmAddr",
	"RmAddrDrop",
	"RmAddrTx",
	"RmAddrTxDrop",
	"RmSubflow",
	"MPPrioTx",
	"MPPrioRx",
	"MPFailTx",
	"MPFailRx",
	"MPFastcloseTx",
	"MPFastcloseRx",
	"MPRstTx",
	"MPRstRx",
	"SubflowStale",
	"SubflowRecover",
	"SndWndShared",
	"RcvWndShared",
	"RcvWndConflictUpdate",
	"RcvWndConflict",
	"MPCurrEstab",
	"Blackhole",
	"MPCapableDataFallback",
	"MD5SigFallback",
	"DssFallback",
	"SimultConnectFallback",
	"FallbackFailed",
	"WinProbe",
	"MPJoinNoIdFound",
	"MPJoinSynAckNoMPJoin",
	"MPJoinAckNoMPJoin",
	"MPJoinAckNoCtx",
	"MPJoinNotEstablished",
	"TCPAOFallback",
	"MD5SigReset",
	"DssReset",
	"BacklogDrop",
	"RcvPruned",
	"OFOPruned",
}
