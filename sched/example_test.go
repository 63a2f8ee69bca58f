package sched_test

import (
	"fmt"
	"time"

	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/sched"
)

// mostRoom is a scheduler of one's own: the subflow with the most room
// left in its congestion window, backup subflows only when there is no
// other. It keeps no state, so it needs only Pick.
type mostRoom struct{}

func (mostRoom) Pick(subflows []sched.SubflowStatus) int {
	regular := false
	for i := range subflows {
		regular = regular || !subflows[i].Backup
	}
	best := -1
	for i := range subflows {
		s := &subflows[i]
		if s.Backup && regular || s.Space() <= 0 {
			continue
		}
		if best < 0 || s.Space() > subflows[best].Space() {
			best = i
		}
	}
	return best
}

// Example writes a scheduler and installs it: the engine asks it for the
// subflow of every chunk.
func Example() {
	var s sched.Scheduler = mostRoom{}
	subflows := []sched.SubflowStatus{
		{RTT: 10 * time.Millisecond, Cwnd: 20000, InFlight: 15000, MSS: 1400},
		{RTT: 50 * time.Millisecond, Cwnd: 40000, InFlight: 10000, MSS: 1400},
	}
	fmt.Println("chunk goes on subflow", s.Pick(subflows))

	// One instance serves every connection made with the configuration
	// (through a stack: mptcp.Config.Scheduler, stack.MPConfig.Meta).
	cfg := meta.Config{Scheduler: s}
	_ = cfg
	// Output: chunk goes on subflow 1
}

// alternate is a scheduler with state: it gives the subflows with window
// space turns of at most four segments, and copies every chunk of a
// reinjection onto all of them. State needs one instance per connection,
// which NewConn makes; the engine then calls PickView, which sees the
// connection.
type alternate struct{ next int }

func (a *alternate) NewConn() sched.ConnScheduler { return &alternate{} }

func (a *alternate) Pick(subflows []sched.SubflowStatus) int {
	return a.PickView(&sched.View{Subflows: subflows})
}

func (a *alternate) PickView(v *sched.View) int {
	n := len(v.Subflows)
	for i := range n {
		k := (a.next + i) % n
		if v.Subflows[k].Space() <= 0 {
			continue
		}
		a.next = k + 1
		v.Limit = 4 * v.Subflows[k].MSS
		if v.Reinject {
			for j := range v.Subflows {
				v.Subflows[j].Copy = j != k
			}
		}
		return k
	}
	return -1
}

// Example_connScheduler writes a scheduler with per-connection state.
func Example_connScheduler() {
	var s sched.Scheduler = &alternate{}
	conn := s.(sched.ConnScheduler).NewConn() // what the engine does for each connection
	v := &sched.View{
		Subflows: []sched.SubflowStatus{
			{Cwnd: 20000, MSS: 1000},
			{Cwnd: 20000, MSS: 1000},
		},
		Pending: 100000, ChunkSize: 16384,
	}
	for range 3 {
		k := conn.PickView(v)
		fmt.Printf("subflow %d, %d bytes\n", k, v.ChunkLen(k))
	}
	// Output:
	// subflow 0, 4000 bytes
	// subflow 1, 4000 bytes
	// subflow 0, 4000 bytes
}
