package tcp

// sendBuffer holds the bytes from SND.UNA to the end of the data the
// application queued: sent-but-unacknowledged, then unsent. The application's
// bytes are copied once, into the ring; segments copy from it into the
// caller's output buffer.
type sendBuffer struct {
	ring
	start uint32 // sequence number of the first buffered byte
	n     int    // buffered bytes
	limit int    // SendBufferSize

	// chunks lists, in sequence order, the data written with WriteChunk
	// that is still buffered. Bytes outside any chunk came from Write.
	chunks    []chunk
	chunkHead int
}

// chunk is a run of bytes given by the layer above with WriteChunk.
type chunk struct {
	seq uint32
	n   int
	id  uint64
}

func (b *sendBuffer) end() uint32 { return b.start + uint32(b.n) }
func (b *sendBuffer) free() int   { return b.limit - b.n }

// write appends p and returns the number of bytes taken.
func (b *sendBuffer) write(p []byte) int {
	n := min(len(p), b.free())
	if n == 0 {
		return 0
	}
	need := b.n + n
	if need > b.capacity() {
		// Grow to at least double to amortise copying.
		b.reserve(max(need, 2*b.capacity()), b.n)
	}
	b.writeAt(b.n, p[:n])
	b.n += n
	return n
}

// writeChunk appends p as one chunk, all or nothing.
func (b *sendBuffer) writeChunk(p []byte, id uint64) bool {
	if len(p) == 0 || len(p) > b.free() {
		return false
	}
	seq := b.end()
	b.write(p)
	if b.chunkHead > 0 && b.chunkHead == len(b.chunks) {
		b.chunks, b.chunkHead = b.chunks[:0], 0
	}
	b.chunks = append(b.chunks, chunk{seq: seq, n: len(p), id: id})
	return true
}

// read copies the bytes at sequence number seq into dst.
func (b *sendBuffer) read(seq uint32, dst []byte) {
	if len(dst) == 0 {
		return
	}
	b.readAt(int(seq-b.start), dst)
}

// ack drops the bytes before seq and reports, through fn, every chunk that
// is now entirely acknowledged.
func (b *sendBuffer) ack(seq uint32, fn func(id uint64)) {
	d := int(seq - b.start)
	if d <= 0 {
		return
	}
	d = min(d, b.n)
	b.advance(d)
	b.start += uint32(d)
	b.n -= d
	for b.chunkHead < len(b.chunks) {
		ch := &b.chunks[b.chunkHead]
		if seqGT(ch.seq+uint32(ch.n), b.start) {
			break
		}
		fn(ch.id)
		b.chunkHead++
	}
	if b.chunkHead == len(b.chunks) {
		b.chunks, b.chunkHead = b.chunks[:0], 0
		if cap(b.chunks) > 8 {
			b.chunks = nil
		}
	} else if b.chunkHead > 64 && b.chunkHead*2 > len(b.chunks) {
		k := copy(b.chunks, b.chunks[b.chunkHead:])
		b.chunks, b.chunkHead = b.chunks[:k], 0
	}
	if b.n == 0 {
		b.release()
	}
}

// chunkAt finds the chunk that contains seq. If none does, it returns the
// sequence number of the next chunk start after seq (limit), so that a
// segment of stream bytes does not run into a chunk; ok is false then.
func (b *sendBuffer) chunkAt(seq uint32) (ch chunk, limit uint32, ok bool) {
	cs := b.chunks[b.chunkHead:]
	// Binary search for the first chunk that ends after seq.
	lo, hi := 0, len(cs)
	for lo < hi {
		m := (lo + hi) / 2
		if seqLEQ(cs[m].seq+uint32(cs[m].n), seq) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(cs) {
		return chunk{}, b.end(), false
	}
	if seqLEQ(cs[lo].seq, seq) {
		return cs[lo], cs[lo].seq + uint32(cs[lo].n), true
	}
	return chunk{}, cs[lo].seq, false
}
