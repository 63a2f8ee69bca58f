package tun

import "sync/atomic"

// Stats counts a NIC's packets. Rx counters are about packets read from the
// device, Tx counters about packets the Node sent.
type Stats struct {
	RxPackets uint64 // delivered to the Node
	RxBytes   uint64 // in the packets delivered to the Node
	// RxReads is the number of reads from the device that returned
	// packets; with offloads one read can return a whole segmented
	// super-packet, so RxPackets/RxReads shows what segmentation offload
	// saves.
	RxReads            uint64
	RxDroppedDown      uint64 // read while the link was down
	RxDroppedNotLocal  uint64 // not addressed to any of the Stack's addresses
	RxDroppedMalformed uint64 // not a well-formed IPv4 or IPv6 packet
	RxDroppedChecksum  uint64 // an IPv4 header, TCP, UDP or ICMP checksum did not verify
	RxErrors           uint64 // failed reads, and packets lost in them
	TxPackets          uint64 // handed to the device
	TxBytes            uint64 // in the packets handed to the device
	// TxWrites is the number of batched writes to the device; with
	// offloads the packets of one write may be coalesced into fewer,
	// larger ones.
	TxWrites        uint64
	TxErrors        uint64 // writes that failed in part or whole
	TxDroppedDown   uint64 // sent while the link was down
	TxDroppedTooBig uint64 // larger than the MTU
	// TxGSOPackets counts the TCP super-packets written for the kernel to
	// segment (stack.SegmentOffloader; each also counts once in
	// TxPackets and TxWrites), TxGSOSegments the segments they hold.
	TxGSOPackets  uint64
	TxGSOSegments uint64
}

// counters are the live, atomically updated form of Stats.
type counters struct {
	rxPackets, rxBytes, rxReads                                  atomic.Uint64
	rxDroppedDown, rxNotLocal, rxMalformed, rxChecksum, rxErrors atomic.Uint64
	txPackets, txBytes, txWrites, txErrors                       atomic.Uint64
	txDroppedDown, txTooBig, txGSOPackets, txGSOSegments         atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		RxPackets:          c.rxPackets.Load(),
		RxBytes:            c.rxBytes.Load(),
		RxReads:            c.rxReads.Load(),
		RxDroppedDown:      c.rxDroppedDown.Load(),
		RxDroppedNotLocal:  c.rxNotLocal.Load(),
		RxDroppedMalformed: c.rxMalformed.Load(),
		RxDroppedChecksum:  c.rxChecksum.Load(),
		RxErrors:           c.rxErrors.Load(),
		TxPackets:          c.txPackets.Load(),
		TxBytes:            c.txBytes.Load(),
		TxWrites:           c.txWrites.Load(),
		TxErrors:           c.txErrors.Load(),
		TxDroppedDown:      c.txDroppedDown.Load(),
		TxDroppedTooBig:    c.txTooBig.Load(),
		TxGSOPackets:       c.txGSOPackets.Load(),
		TxGSOSegments:      c.txGSOSegments.Load(),
	}
}
