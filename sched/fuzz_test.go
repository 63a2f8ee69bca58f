package sched_test

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/sched"
)

// fuzzInput hands out the fuzzer's bytes as numbers (zeros once they run
// out).
type fuzzInput struct{ b []byte }

func (in *fuzzInput) u8() int {
	if len(in.b) == 0 {
		return 0
	}
	v := in.b[0]
	in.b = in.b[1:]
	return int(v)
}

func (in *fuzzInput) u32() int {
	if len(in.b) < 4 {
		in.b = nil
		return 0
	}
	v := binary.BigEndian.Uint32(in.b)
	in.b = in.b[4:]
	return int(v)
}

// status draws a subflow's state: small values most of the time (where
// the decisions change), anything now and then, negative values included
// (a scheduler must not trust its input).
func (in *fuzzInput) status(n int) sched.SubflowStatus {
	num := func() int {
		switch in.u8() % 4 {
		case 0:
			return in.u8() * 1000
		case 1:
			return in.u32() % 200000
		case 2:
			return int(int32(in.u32()))
		}
		return 0
	}
	s := sched.SubflowStatus{
		ID:       id(n),
		Backup:   in.u8()%4 == 0,
		RTT:      time.Duration(in.u32()%2000) * time.Duration(1+in.u8()%3) * 100 * time.Microsecond,
		RTTVar:   time.Duration(in.u32()%1000) * 100 * time.Microsecond,
		Cwnd:     num(),
		InFlight: num(),
		Queued:   num(),
		MSS:      in.u8()*8 + in.u8()%2*1000,
		Ssthresh: math.MaxInt32,
	}
	if in.u8()%2 == 0 {
		s.Ssthresh = num()
	}
	if in.u8()%8 == 0 {
		s.RTT = -s.RTT
	}
	return s
}

// FuzzSchedulers feeds every scheduler random subflow states over a run
// of decisions, and applies each decision as the engine does (the chunk
// and its copies join the subflows' queues, time passes). No scheduler
// may panic, return an index out of range, pick a subflow without
// congestion window space or a backup one while a regular one is listed,
// mark a copy without a pick, on the picked subflow or on a backup
// subflow while a regular one is listed, or set a negative Limit.
func FuzzSchedulers(f *testing.F) {
	f.Add([]byte{2, 0, 0, 0, 0, 100, 0, 0, 0, 10, 1, 0, 0, 0, 0, 200, 0, 10, 0, 0, 0, 50})
	f.Add([]byte{3, 1, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 30, 0, 0, 0, 0, 9, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2})
	f.Add([]byte("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte{1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{b: data}
		n := 1 + in.u8()%8
		base := make([]sched.SubflowStatus, n)
		for i := range base {
			base[i] = in.status(i)
		}
		window, unsent := in.u32()%(4<<20), in.u32()%(8<<20)
		rounds := 1 + in.u8()%32
		for _, name := range sched.Names() {
			mk, _ := sched.New(name)
			s := mk()
			cs, _ := s.(sched.ConnScheduler)
			if cs != nil {
				cs = cs.NewConn()
			}
			subs := slices.Clone(base)
			now := t0
			inflight := 0
			for r := range rounds {
				v := sched.View{
					Now: now, Subflows: subs, Unsent: unsent, Window: window, InFlight: inflight,
					ChunkSize: 1 + in.u8()*256, Reinject: r%5 == 4,
				}
				v.Pending = max(min(unsent, v.WindowLeft()), 1)
				for i := range subs {
					subs[i].Copy = false
				}
				var k int
				if cs != nil {
					k = cs.PickView(&v)
				} else {
					k = s.Pick(subs)
				}
				check(t, name, &v, k)
				if k >= 0 {
					c := v.ChunkLen(k)
					if c <= 0 {
						t.Fatalf("%s: chunk of %d bytes", name, c)
					}
					for i := range subs {
						if i == k || subs[i].Copy {
							subs[i].Queued += c
						}
					}
					unsent = max(unsent-c, 0)
					inflight += c
				}
				now = now.Add(time.Duration(in.u8()) * time.Millisecond)
				if in.u8()%3 == 0 {
					// Acknowledgments arrive: windows open.
					for i := range subs {
						subs[i].Queued, subs[i].InFlight = 0, subs[i].InFlight/2
					}
					inflight = 0
				}
			}
		}
	})
}

func check(t *testing.T, name string, v *sched.View, k int) {
	t.Helper()
	subs := v.Subflows
	regular := slices.ContainsFunc(subs, func(s sched.SubflowStatus) bool { return !s.Backup })
	switch {
	case k < -1 || k >= len(subs):
		t.Fatalf("%s: picked %d of %d subflows", name, k, len(subs))
	case k >= 0 && subs[k].Space() <= 0:
		t.Fatalf("%s: picked subflow %d without window space: %+v", name, k, subs[k])
	case k >= 0 && regular && subs[k].Backup:
		t.Fatalf("%s: picked backup subflow %d while a regular one is listed", name, k)
	case v.Limit < 0:
		t.Fatalf("%s: Limit %d", name, v.Limit)
	}
	for i := range subs {
		if !subs[i].Copy {
			continue
		}
		switch {
		case k < 0:
			t.Fatalf("%s: copy on subflow %d without a pick", name, i)
		case i == k:
			t.Fatalf("%s: copy on the picked subflow %d", name, i)
		case regular && subs[i].Backup:
			t.Fatalf("%s: copy on backup subflow %d while a regular one is listed", name, i)
		}
	}
}

// FuzzNew checks that New takes a name of Names and rejects anything
// else with ErrUnknown.
func FuzzNew(f *testing.F) {
	for _, n := range sched.Names() {
		f.Add(n)
	}
	f.Add("")
	f.Add("BLEST")
	f.Add("roundrobin\x00")
	f.Fuzz(func(t *testing.T, name string) {
		mk, err := sched.New(name)
		known := slices.Contains(sched.Names(), name)
		switch {
		case known && (err != nil || mk == nil || mk() == nil):
			t.Fatalf("New(%q): %v", name, err)
		case !known && (!errors.Is(err, sched.ErrUnknown) || mk != nil):
			t.Fatalf("New(%q) accepted an unknown name: %v", name, err)
		}
	})
}
