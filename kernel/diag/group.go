package diag

import (
	"cmp"
	"slices"

	"github.com/gomptcp/mptcp/kernel"
)

// Group attaches each MPTCP subflow to its MPTCP socket and returns the
// sockets. A subflow belongs to the socket whose token equals the
// subflow's local token (RFC 8684 §3.2: each end identifies the
// connection by the token derived from its own key). Listening subflows
// carry no token; they are attached to the listening MPTCP socket with the
// same family and local address and port. Subflows that match no socket
// (their socket was not dumped, for example filtered by state) are dropped.
// Sockets and their subflows are sorted by state, then addresses.
func Group(sockets []Socket, subflows []Subflow) []Socket {
	out := slices.Clone(sockets)
	byToken := make(map[uint32]int, len(out))
	type listenKey struct {
		family uint8
		local  string
	}
	byListen := make(map[listenKey]int)
	for i := range out {
		out[i].Subflows = nil
		switch {
		case out[i].State == kernel.TCPListen:
			byListen[listenKey{out[i].Family, out[i].Local.String()}] = i
		case out[i].Info != nil && out[i].Info.Token != 0:
			byToken[out[i].Info.Token] = i
		}
	}
	for _, sf := range subflows {
		if sf.ULP != "mptcp" {
			continue
		}
		idx, ok := -1, false
		if sf.MPTCP != nil {
			idx, ok = byToken[sf.MPTCP.TokenLoc]
		} else if sf.State == kernel.TCPListen {
			idx, ok = byListen[listenKey{sf.Family, sf.Local.String()}]
		}
		if ok {
			out[idx].Subflows = append(out[idx].Subflows, sf)
		}
	}
	for i := range out {
		slices.SortStableFunc(out[i].Subflows, func(a, b Subflow) int { return compareHeaders(&a.Header, &b.Header) })
	}
	slices.SortStableFunc(out, func(a, b Socket) int { return compareHeaders(&a.Header, &b.Header) })
	return out
}

func compareHeaders(a, b *Header) int {
	return cmp.Or(
		cmp.Compare(a.State, b.State),
		a.Local.Compare(b.Local),
		a.Remote.Compare(b.Remote),
		cmp.Compare(a.Inode, b.Inode),
	)
}
