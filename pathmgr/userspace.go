package pathmgr

import (
	"time"

	"github.com/gomptcp/mptcp/stack"
)

// Userspace is the path manager that does nothing by itself, as Linux's
// "userspace" one (net.mptcp.path_manager=userspace): the application
// decides, from the events it reads (mptcp.Stack.Subscribe: created,
// established, announced, removed, subflow established, closed and
// priority, closed — the mptcp_pm netlink events), and acts with the
// commands of that family on its connections: ANNOUNCE is
// mptcp.Conn.Announce, REMOVE RemoveAddr, SUBFLOW_CREATE AddSubflow,
// SUBFLOW_DESTROY RemoveSubflow, SET_FLAGS SetBackup. (The same
// operations, on the stack's loop, are stack.Controller's.)
type Userspace struct{}

var _ stack.PathManager = Userspace{}

// HandleEvent implements stack.PathManager: it does nothing.
func (Userspace) HandleEvent(time.Time, stack.Controller, stack.PMEvent) {}
