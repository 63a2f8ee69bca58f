package sched

// RoundRobin returns the multipath-tcp.org kernel's round-robin scheduler
// (net/mptcp/mptcp_rr.c, module parameters num_segments and
// cwnd_limited): the subflows take turns, each carrying numSegments
// consecutive segments (clamped to [1, 255], the parameter's range) before
// the next one's turn; a chunk is cut to the segments left in the turn
// (View.Limit), so numSegments 1 sends one segment per chunk.
//
// With cwndLimited, a subflow without congestion window space gives up its
// turn, so that every window is kept full; without it, the turns are
// strict and the sender waits for the subflow whose turn it is. A turn
// ends when every subflow considered has used its quota. As with the
// default scheduler, backup subflows take part only when there is no
// other subflow. It keeps per-connection state (the quotas): each
// connection gets its own instance (NewConn).
func RoundRobin(numSegments int, cwndLimited bool) Scheduler {
	return &roundRobin{num: int64(min(max(numSegments, 1), 255)), cwndLimited: cwndLimited}
}

type roundRobin struct {
	num         int64
	cwndLimited bool
	quota       perSubflow[int64] // segments sent in the current turn
}

var _ ConnScheduler = (*roundRobin)(nil)

func (r *roundRobin) NewConn() ConnScheduler {
	return &roundRobin{num: r.num, cwndLimited: r.cwndLimited}
}

func (r *roundRobin) Pick(subflows []SubflowStatus) int {
	return r.PickView(&View{Subflows: subflows, Pending: 1 << 30, ChunkSize: 1 << 30})
}

// considered is mptcp_rr_is_available: with cwndLimited, a subflow whose
// window is full sits the turn out.
func (r *roundRobin) considered(s *SubflowStatus, regular bool) bool {
	if s.Backup && regular {
		return false
	}
	return !r.cwndLimited || s.Space() > 0
}

func (r *roundRobin) PickView(v *View) int {
	subs := v.Subflows
	r.quota.prune(subs)
	regular := anyRegular(subs)
	for range 2 {
		choose, split := -1, r.num
		seen := 0
		for i := range subs {
			s := &subs[i]
			if !r.considered(s, regular) {
				continue
			}
			seen++
			q := *r.quota.get(s.ID)
			switch {
			case q > 0 && q < r.num:
				// In the middle of its turn: it goes on.
				choose, split = i, r.num-q
			case q == 0 && choose < 0:
				choose = i // the first that has not had its turn
			}
			if split < r.num {
				break
			}
		}
		if seen == 0 {
			return -1
		}
		if choose < 0 {
			// Every subflow considered had its turn: a new round.
			for i := range subs {
				if r.considered(&subs[i], regular) {
					*r.quota.get(subs[i].ID) = 0
				}
			}
			continue
		}
		s := &subs[choose]
		if s.Space() <= 0 {
			return -1 // strict turns: wait for this subflow's window
		}
		mss := max(s.MSS, 1)
		v.Limit = int(min(split*int64(mss), 1<<30))
		n := v.ChunkLen(choose)
		*r.quota.get(s.ID) += int64((n + mss - 1) / mss)
		return choose
	}
	return -1
}
