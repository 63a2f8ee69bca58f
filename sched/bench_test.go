package sched_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/sched"
)

// BenchmarkPick measures one decision of each scheduler over 2 and 8
// subflows in the case that makes them work hardest: the fastest subflow's
// window is full and a slower one has room. A decision must not allocate.
func BenchmarkPick(b *testing.B) {
	for _, n := range []int{2, 8} {
		base := make([]sched.SubflowStatus, n)
		for i := range base {
			base[i] = sf(i, time.Duration(10+30*i)*ms, 64000, 20000)
			base[i].RTTVar = time.Duration(1+i) * ms
		}
		base[0].InFlight = 64000
		for _, name := range sched.Names() {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				mk, _ := sched.New(name)
				s := mk()
				cs, _ := s.(sched.ConnScheduler)
				if cs != nil {
					cs = cs.NewConn()
				}
				subs := make([]sched.SubflowStatus, n)
				v := sched.View{Subflows: subs, Pending: 1 << 20, Unsent: 1 << 20, Window: 4 << 20, ChunkSize: 16384}
				now := t0
				b.ReportAllocs()
				for b.Loop() {
					copy(subs, base)
					v.Limit = 0
					now = now.Add(time.Millisecond)
					v.Now = now
					if cs != nil {
						cs.PickView(&v)
					} else {
						s.Pick(subs)
					}
				}
			})
		}
	}
}
