package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/gomptcp/mptcp/wire"
	"github.com/google/go-cmp/cmp"
)

func TestRecvBufferReassembly(t *testing.T) {
	data := pattern(20000)
	r := rand.New(rand.NewPCG(7, 7))
	for round := range 50 {
		b := recvBuffer{readSeq: 1 << 31, nxt: 1 << 31} // start near a wrap-sensitive value
		base := b.readSeq
		// Random overlapping pieces, delivered in random order, until all arrived.
		var got []byte
		out := make([]byte, 3000)
		for len(got) < len(data) {
			off := r.IntN(len(data))
			n := min(1+r.IntN(1500), len(data)-off)
			seq := base + uint32(off)
			// Trim to what the receiver accepts: from nxt on.
			if seqLT(seq, b.nxt) {
				d := int(b.nxt - seq)
				if d >= n {
					continue
				}
				off, n, seq = off+d, n-d, b.nxt
			}
			b.insert(seq, data[off:off+n], len(data))
			if r.IntN(3) == 0 {
				k := b.read(out[:r.IntN(len(out))])
				got = append(got, out[:k]...)
			}
			if len(b.ooo) > maxOOORanges {
				t.Fatalf("%d ranges", len(b.ooo))
			}
			if b.nxt-base == uint32(len(data)) {
				for b.unread() > 0 {
					k := b.read(out)
					got = append(got, out[:k]...)
				}
			}
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("round %d: reassembled data differs", round)
		}
		if b.p != nil {
			t.Fatalf("round %d: empty buffer keeps its ring", round)
		}
	}
}

func TestRecvBufferRangeLimit(t *testing.T) {
	b := recvBuffer{}
	for i := range maxOOORanges {
		if _, _, ok := b.insert(uint32(100+i*10), []byte{1}, 4096); !ok {
			t.Fatalf("range %d refused", i)
		}
	}
	if _, _, ok := b.insert(2000, []byte{1}, 4096); ok {
		t.Fatal("range beyond the limit accepted")
	}
	// Extending an existing range is still fine.
	if _, _, ok := b.insert(101, []byte{1}, 4096); !ok {
		t.Fatal("extension of a range refused")
	}
	var blocks [4]wire.SACKBlock
	n := b.sackBlocks(blocks[:])
	want := []wire.SACKBlock{{Left: 100, Right: 102}, {Left: 100 + 10*(maxOOORanges-1), Right: 100 + 10*(maxOOORanges-1) + 1}, {Left: 100 + 10*(maxOOORanges-2), Right: 100 + 10*(maxOOORanges-2) + 1}, {Left: 100 + 10*(maxOOORanges-3), Right: 100 + 10*(maxOOORanges-3) + 1}}
	if diff := cmp.Diff(want, blocks[:n]); diff != "" {
		t.Fatalf("SACK blocks (-want +got):\n%s", diff)
	}
}

func TestSendBufferRingAndChunks(t *testing.T) {
	b := sendBuffer{limit: 10000, start: 0xfffff000}
	data := pattern(50000)
	written, acked := 0, 0
	r := rand.New(rand.NewPCG(1, 1))
	var ids []uint64
	for acked < len(data) {
		if written < len(data) {
			n := min(r.IntN(3000)+1, len(data)-written)
			if r.IntN(2) == 0 {
				if b.writeChunk(data[written:written+n], uint64(written)) {
					written += n
				}
			} else {
				written += b.write(data[written : written+n])
			}
		}
		// Check the buffered bytes read back intact.
		got := make([]byte, b.n)
		b.read(b.start, got)
		if !bytes.Equal(got, data[acked:acked+b.n]) {
			t.Fatalf("buffer content differs at ack %d", acked)
		}
		k := r.IntN(b.n + 1)
		b.ack(b.start+uint32(k), func(id uint64) { ids = append(ids, id) })
		acked += k
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("chunk acks out of order: %v", ids)
		}
	}
	if b.p != nil || b.n != 0 {
		t.Fatal("drained buffer keeps its ring")
	}
}
