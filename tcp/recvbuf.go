package tcp

import "github.com/gomptcp/mptcp/wire"

// maxOOORanges bounds the out-of-order ranges a connection tracks. Each
// range costs a few bytes of metadata; the bytes themselves sit in the
// receive ring, which the advertised window bounds.
const maxOOORanges = 32

// recvBuffer is the receive ring. Byte seq lives at ring offset
// seq-readSeq, so in-order and out-of-order data are copied once, from the
// segment into place, and once more to the application.
type recvBuffer struct {
	ring
	readSeq uint32     // sequence number of the next byte Read returns
	nxt     uint32     // end of the in-order data
	ooo     []oooRange // out-of-order data after nxt: sorted, disjoint, not touching
	stamp   uint32     // ranges are stamped when touched, for SACK block order
}

type oooRange struct {
	start, end uint32
	stamp      uint32
}

func (b *recvBuffer) unread() int { return int(b.nxt - b.readSeq) }

func (b *recvBuffer) empty() bool { return b.nxt == b.readSeq && len(b.ooo) == 0 }

// insert stores data at seq. The caller has trimmed it to the window:
// seq >= nxt and the end within the buffer limit. It reports whether the
// in-order data advanced, whether that filled a hole (out-of-order data
// became in order), and false in stored when too many out-of-order ranges
// exist to keep this one.
func (b *recvBuffer) insert(seq uint32, data []byte, limit int) (advanced, filled, stored bool) {
	end := seq + uint32(len(data))
	if seqGT(seq, b.nxt) && len(b.ooo) >= maxOOORanges && !b.touches(seq, end) {
		return false, false, false
	}
	need := int(end - b.readSeq)
	if need > b.capacity() {
		b.reserve(min(max(need, 2*b.capacity()), max(limit, need)), b.unread()+b.oooSpan())
	}
	b.writeAt(int(seq-b.readSeq), data)
	b.stamp++
	if seqLEQ(seq, b.nxt) {
		if seqGT(end, b.nxt) {
			b.nxt = end
			advanced = true
		}
		for len(b.ooo) > 0 && seqLEQ(b.ooo[0].start, b.nxt) {
			b.nxt = seqMax(b.nxt, b.ooo[0].end)
			b.ooo = b.ooo[1:]
			filled, advanced = true, true
		}
		if len(b.ooo) == 0 {
			b.ooo = nil
		}
		return advanced, filled, true
	}
	b.addRange(seq, end)
	return false, false, true
}

// oooSpan is the number of bytes from nxt to the end of the last
// out-of-order range, i.e. the part of the ring beyond the in-order data
// that holds data.
func (b *recvBuffer) oooSpan() int {
	if len(b.ooo) == 0 {
		return 0
	}
	return int(b.ooo[len(b.ooo)-1].end - b.nxt)
}

func (b *recvBuffer) touches(start, end uint32) bool {
	for _, r := range b.ooo {
		if seqLEQ(r.start, end) && seqGEQ(r.end, start) {
			return true
		}
	}
	return false
}

// addRange merges [start, end) into the out-of-order list.
func (b *recvBuffer) addRange(start, end uint32) {
	i := 0
	for i < len(b.ooo) && seqLT(b.ooo[i].end, start) {
		i++
	}
	j := i
	for j < len(b.ooo) && seqLEQ(b.ooo[j].start, end) {
		start = seqMin(start, b.ooo[j].start)
		end = seqMax(end, b.ooo[j].end)
		j++
	}
	r := oooRange{start: start, end: end, stamp: b.stamp}
	if i == j {
		b.ooo = append(b.ooo, oooRange{})
		copy(b.ooo[i+1:], b.ooo[i:])
		b.ooo[i] = r
		return
	}
	b.ooo[i] = r
	b.ooo = append(b.ooo[:i+1], b.ooo[j:]...)
}

// read copies up to len(p) in-order bytes to p.
func (b *recvBuffer) read(p []byte) int {
	n := min(len(p), b.unread())
	if n == 0 {
		return 0
	}
	b.readAt(0, p[:n])
	b.advance(n)
	b.readSeq += uint32(n)
	if b.empty() {
		b.release()
	}
	return n
}

// sackBlocks fills blocks with the out-of-order ranges, the most recently
// changed first (RFC 2018 §4), and returns how many it filled.
func (b *recvBuffer) sackBlocks(blocks []wire.SACKBlock) int {
	n := 0
	var last uint32 = ^uint32(0)
	for n < len(blocks) {
		best := -1
		for i, r := range b.ooo {
			// Next most recent stamp strictly below the previous one.
			if (n == 0 || r.stamp < last) && (best < 0 || r.stamp > b.ooo[best].stamp) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		r := b.ooo[best]
		blocks[n] = wire.SACKBlock{Left: r.start, Right: r.end}
		last = r.stamp
		n++
	}
	return n
}
