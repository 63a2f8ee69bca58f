package meta

import (
	"time"

	"github.com/gomptcp/mptcp/tcp"
)

// SubflowStatus is what a Scheduler sees of a subflow that can take data.
type SubflowStatus struct {
	ID       tcp.ConnID
	Backup   bool          // we or the peer marked it backup (RFC 8684 §3.3.8)
	RTT      time.Duration // smoothed RTT, 0 until measured
	Cwnd     int           // congestion window, bytes
	InFlight int           // bytes in flight (RFC 6675 pipe)
	Queued   int           // bytes written to the subflow and not sent yet
	MSS      int           // payload of a full segment
}

// Space is the congestion window left after what is in flight or queued.
func (s *SubflowStatus) Space() int { return s.Cwnd - s.InFlight - s.Queued }

// Scheduler picks the subflow that carries the next chunk. The engine calls
// Pick repeatedly, adding each chunk it wrote to the chosen status's Queued,
// until Pick returns -1 or no data is left.
type Scheduler interface {
	// Pick returns the index in subflows of the subflow for the next
	// chunk, or -1 to send nothing more now. subflows is never empty.
	Pick(subflows []SubflowStatus) int
}

// LowestRTT returns the default scheduler: among the subflows with
// congestion window space, the one with the lowest smoothed RTT, backup
// subflows only when no other subflow exists (as Linux's default
// scheduler).
func LowestRTT() Scheduler { return lowestRTT{} }

type lowestRTT struct{}

var _ Scheduler = lowestRTT{}

func (lowestRTT) Pick(subflows []SubflowStatus) int {
	anyRegular := false
	for i := range subflows {
		if !subflows[i].Backup {
			anyRegular = true
			break
		}
	}
	best := -1
	for i := range subflows {
		s := &subflows[i]
		if s.Backup && anyRegular || s.Space() <= 0 {
			continue
		}
		if best < 0 || s.RTT < subflows[best].RTT {
			best = i
		}
	}
	return best
}
