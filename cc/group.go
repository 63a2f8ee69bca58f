package cc

import "time"

// SubflowState is what a coupled controller can see of one subflow.
type SubflowState struct {
	Cwnd     int           // congestion window, bytes
	Ssthresh int           // slow-start threshold, bytes
	InFlight int           // bytes in flight
	MSS      int           // sender MSS, bytes
	SRTT     time.Duration // smoothed RTT, 0 until measured
	MinRTT   time.Duration // minimum RTT, 0 until measured
	// Established is false while the subflow cannot carry data yet.
	Established bool
}

// Group is the set of subflows of one multipath connection, for coupled
// congestion control (RFC 6356 LIA and its successors). A Group is not safe
// for concurrent use: all subflows of a connection are driven by one
// goroutine.
type Group struct {
	members []*Member
}

// NewGroup returns an empty group.
func NewGroup() *Group { return &Group{} }

// Member is one subflow's entry in a Group.
type Member struct {
	group  *Group
	state  SubflowState
	shared any // set by the member's controller, read by its siblings'
}

// Join adds a subflow to the group.
func (g *Group) Join() *Member {
	m := &Member{group: g}
	g.members = append(g.members, m)
	return m
}

// Len is the number of subflows in the group.
func (g *Group) Len() int { return len(g.members) }

// Snapshot appends the state of every member to dst.
func (g *Group) Snapshot(dst []SubflowState) []SubflowState {
	for _, m := range g.members {
		dst = append(dst, m.state)
	}
	return dst
}

// Group returns the group of the member (nil after Leave).
func (m *Member) Group() *Group { return m.group }

// State returns the member's last published state.
func (m *Member) State() SubflowState { return m.state }

// SetShared stores state of the member's controller that the controllers
// of the other members may read (OLIA reads its siblings' loss intervals).
// A controller created anew for the same subflow replaces it.
func (m *Member) SetShared(v any) { m.shared = v }

// Shared returns what the member's controller stored with SetShared.
func (m *Member) Shared() any { return m.shared }

// Update publishes the subflow's current state to the group.
func (m *Member) Update(s SubflowState) { m.state = s }

// Leave removes the member from its group. Calling it twice is harmless.
func (m *Member) Leave() {
	g := m.group
	if g == nil {
		return
	}
	for i, x := range g.members {
		if x == m {
			last := len(g.members) - 1
			copy(g.members[i:], g.members[i+1:])
			g.members[last] = nil
			g.members = g.members[:last]
			break
		}
	}
	m.group = nil
}
