package pathmgr

import (
	"time"

	"github.com/gomptcp/mptcp/stack"
)

// Userspace is the path manager that does nothing by itself, as Linux's
// "userspace" one (net.mptcp.path_manager=userspace): the application
// decides, from the events it reads (mptcp.Stack.Subscribe: created,
// established, announced, removed, subflow established, closed and
// priority, closed — the mptcp_pm netlink events — and the stack's local
// addresses coming and going), and acts with the commands of that family
// on its connections: ANNOUNCE is mptcp.Conn.Announce, REMOVE RemoveAddr,
// SUBFLOW_CREATE AddSubflow, SUBFLOW_DESTROY RemoveSubflow, SET_FLAGS
// SetBackup. (The same operations, on the stack's loop, are
// stack.Controller's.) Nothing is opened again when it fails: that is the
// application's to decide, from the subflow closed events.
type Userspace struct{}

var _ stack.PathManager = Userspace{}

// HandleEvent implements stack.PathManager: it does nothing.
func (Userspace) HandleEvent(time.Time, stack.Controller, stack.PMEvent) {}
