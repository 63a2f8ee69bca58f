package impair

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustNewAt(t testing.TB, c Config) *Impairer {
	t.Helper()
	m, err := NewAt(c, t0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// superRecorder is a recorder that also takes super-packets, noting
// their segment size.
type superRecorder struct {
	recorder
	gso []int
}

func (r *superRecorder) EmitSuper(p []byte, gso int) {
	r.recorder.Emit(p)
	r.gso = append(r.gso, gso)
}

func (r *superRecorder) Emit(p []byte) {
	r.recorder.Emit(p)
	r.gso = append(r.gso, 0)
}

// drain is recorder.drain with r as the Emitter.
func (r *superRecorder) drain(m *Impairer, until time.Time) { r.recorder.drainTo(m, until, r) }

// TestProcessSuper checks that a super-packet of three segments is queued,
// counted, transmitted and delivered as the three would be back to back,
// but whole: it arrives when the last of them would, in one EmitSuper.
func TestProcessSuper(t *testing.T) {
	cfg := Config{Rate: 12_000_000, Delay: 5 * time.Millisecond, QueuePackets: 10}
	// Three 1500-byte segments, one after the other.
	apart := mustNewAt(t, cfg)
	var ra recorder
	for i := range 3 {
		apart.ProcessAt(0, pkt(i, 1500))
	}
	if s := apart.Stats(); s.QueuePackets != 3 || s.QueueBytes != 4500 {
		t.Fatalf("segments queued: %d packets, %d bytes; want 3, 4500", s.QueuePackets, s.QueueBytes)
	}
	ra.drain(apart, t0.Add(time.Second))

	whole := mustNewAt(t, cfg)
	sp := pkt(7, 3*1500-2*40) // one header for the three
	if !whole.ProcessSuperAt(0, sp, 1460, 3, 4500) {
		t.Fatal("ProcessSuperAt refused a super-packet on a plain link with room")
	}
	s := whole.Stats()
	if s.QueuePackets != 3 || s.QueueBytes != 4500 || s.Packets != 3 || s.Bytes != 4500 {
		t.Fatalf("super-packet queued: %+v; want 3 packets, 4500 bytes, in the queue and offered", s)
	}
	var rw superRecorder
	rw.drain(whole, t0.Add(time.Second))
	want := []arrival{{7, ra.got[2].At}}
	if diff := cmp.Diff(want, rw.got); diff != "" {
		t.Errorf("super-packet arrival (-want +got):\n%s", diff)
	}
	if ra.got[2].At != 3*ms(1)+5*time.Millisecond {
		t.Errorf("last segment arrived at %v, want 8ms", ra.got[2].At)
	}
	if diff := cmp.Diff([]int{1460}, rw.gso); diff != "" {
		t.Errorf("EmitSuper segment sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sp, rw.pkts[0]); diff != "" {
		t.Errorf("super-packet bytes changed (-want +got):\n%s", diff)
	}
	s = whole.Stats()
	if s.DeliveredPackets != 3 || s.DeliveredBytes != 4500 || s.QueuePackets != 0 || s.MaxQueuePackets != 3 {
		t.Errorf("after delivery: %+v; want 3 packets and 4500 bytes delivered, queue empty, at most 3", s)
	}

	// A packet behind the super-packet waits for all of its segments.
	m := mustNewAt(t, cfg)
	m.ProcessSuperAt(0, sp, 1460, 3, 4500)
	m.ProcessAt(0, pkt(8, 1500))
	var r2 superRecorder
	r2.drain(m, t0.Add(time.Second))
	if diff := cmp.Diff([]arrival{{7, ms(8)}, {8, ms(9)}}, r2.got); diff != "" {
		t.Errorf("packet behind a super-packet (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1460, 0}, r2.gso); diff != "" {
		t.Errorf("segment sizes (-want +got):\n%s", diff)
	}

	// An Emitter that takes no super-packets gets it as one packet.
	var plain recorder
	m = mustNewAt(t, cfg)
	m.ProcessSuperAt(0, sp, 1460, 3, 4500)
	plain.drain(m, t0.Add(time.Second))
	if diff := cmp.Diff([]arrival{{7, ms(8)}}, plain.got); diff != "" {
		t.Errorf("plain Emitter (-want +got):\n%s", diff)
	}
}

// TestProcessSuperRefused checks that a super-packet is refused, with
// nothing counted or queued, wherever its segments would not all be
// treated alike, and that a link going down loses it as its segments.
func TestProcessSuperRefused(t *testing.T) {
	sp := pkt(1, 2920+40)
	for _, tc := range []struct {
		name  string
		cfg   Config
		first int // 1500-byte packets queued first
	}{
		{"queue packets", Config{Rate: 1e6, QueuePackets: 3}, 1},
		{"queue bytes", Config{Rate: 1e6, QueueBytes: 4000}, 1},
		{"loss", Config{Rate: 1e6, Loss: 1e-9}, 0},
		{"burst", Config{Rate: 1e6, Burst: GilbertElliott{P: 1e-9, R: 1}}, 0},
		{"jitter", Config{Rate: 1e6, Jitter: time.Microsecond}, 0},
		{"reorder", Config{Rate: 1e6, Reorder: 1e-9}, 0},
		{"duplicate", Config{Rate: 1e6, Duplicate: 1e-9}, 0},
		{"corrupt", Config{Rate: 1e6, Corrupt: 1e-9}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNewAt(t, tc.cfg)
			for i := range tc.first {
				m.ProcessAt(0, pkt(10+i, 1500))
			}
			before := m.Stats()
			if m.ProcessSuperAt(0, sp, 1460, 3, 3000) {
				t.Fatal("ProcessSuperAt took it")
			}
			if diff := cmp.Diff(before, m.Stats()); diff != "" {
				t.Errorf("stats changed by a refused super-packet (-before +after):\n%s", diff)
			}
		})
	}
	m := mustNewAt(t, Config{Rate: 1e6})
	m.SetUp(t0, false)
	if m.ProcessSuperAt(0, sp, 1460, 2, 3000) {
		t.Error("ProcessSuperAt took it on a link that is down")
	}

	// Down while queued and while propagating: each segment counts.
	m = mustNewAt(t, Config{Rate: 12_000_000, Delay: time.Second})
	m.ProcessSuperAt(0, sp, 1460, 2, 3000) // propagating from 2 ms
	m.ProcessSuperAt(0, sp, 1460, 2, 3000) // queued until 4 ms
	var r superRecorder
	r.drain(m, t0.Add(3*time.Millisecond))
	m.SetUp(t0.Add(3*time.Millisecond), false)
	if s := m.Stats(); s.DroppedDown != 4 || s.QueuePackets != 0 {
		t.Errorf("after going down: %d dropped, %d queued; want 4 and 0", s.DroppedDown, s.QueuePackets)
	}
}
