package diag

import "github.com/gomptcp/mptcp/kernel"

// StateSet is a bitmask of TCP states: bit n selects kernel.TCPState(n).
type StateSet uint32

// Useful state sets.
const (
	// AllStates selects every state.
	AllStates StateSet = 1<<(kernel.TCPBoundInactive+1) - 2
	// Listening selects listeners only.
	Listening StateSet = 1 << kernel.TCPListen
	// Connected selects what ss shows by default: every state but
	// listening, closed, TIME-WAIT and the SYN-RECV states.
	Connected StateSet = AllStates &^ (1<<kernel.TCPListen | 1<<kernel.TCPClose | 1<<kernel.TCPTimeWait |
		1<<kernel.TCPSynRecv | 1<<kernel.TCPNewSynRecv)
)

// Has reports whether s selects state st.
func (s StateSet) Has(st kernel.TCPState) bool { return st < 32 && s&(1<<st) != 0 }
