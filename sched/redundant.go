package sched

// Redundant returns a scheduler that sends every chunk on every subflow
// that can take it, after the multipath-tcp.org kernel's "redundant"
// scheduler (net/mptcp/mptcp_redundant.c: each segment goes out on the
// best available subflow and a copy is queued for every other active,
// non-backup subflow). The chunk goes to the lowest-RTT subflow with
// congestion window space, and a copy (SubflowStatus.Copy) to every other
// subflow whose backlog, the bytes queued and not yet sent, is below its
// congestion window: a subflow much slower than the others is not given
// more copies than it can send within about a round trip, and carries
// what it can. Backup subflows are used, without copies between them,
// only when there is no other subflow.
//
// The receiver keeps the first copy of every byte to arrive, so the data
// arrives as fast as on the fastest path that delivers it, and a loss or
// a dead path costs nothing as long as another path carried the chunk: it
// trades capacity for latency. Copies may go to subflows without window
// space (they wait in the subflow's send buffer). It keeps no state.
func Redundant() Scheduler { return redundant{} }

type redundant struct{}

var _ Scheduler = redundant{}

func (redundant) Pick(subflows []SubflowStatus) int {
	k := Default().Pick(subflows)
	if k < 0 || subflows[k].Backup {
		return k
	}
	for i := range subflows {
		s := &subflows[i]
		if i != k && !s.Backup && s.Queued < s.Cwnd {
			s.Copy = true
		}
	}
	return k
}
