package pm

// Numbers of the "mptcp_pm" generic netlink family, from the Linux uapi
// headers include/uapi/linux/mptcp_pm.h (generated from
// Documentation/netlink/specs/mptcp_pm.yaml) and include/uapi/linux/mptcp.h.
// Each constant names the uapi symbol it mirrors.

// Family identification.
const (
	// FamilyName is the name of the generic netlink family (MPTCP_PM_NAME).
	FamilyName = "mptcp_pm"
	// FamilyVersion is the family version sent in every request
	// (MPTCP_PM_VER).
	FamilyVersion = 1
	// CommandsGroup is the multicast group echoing configuration commands
	// (MPTCP_PM_CMD_GRP_NAME).
	CommandsGroup = "mptcp_pm_cmds"
	// EventsGroup is the multicast group carrying connection events
	// (MPTCP_PM_EV_GRP_NAME).
	EventsGroup = "mptcp_pm_events"
)

// Commands (enum MPTCP_PM_CMD_*).
const (
	cmdAddAddr        = 1  // MPTCP_PM_CMD_ADD_ADDR
	cmdDelAddr        = 2  // MPTCP_PM_CMD_DEL_ADDR
	cmdGetAddr        = 3  // MPTCP_PM_CMD_GET_ADDR
	cmdFlushAddrs     = 4  // MPTCP_PM_CMD_FLUSH_ADDRS
	cmdSetLimits      = 5  // MPTCP_PM_CMD_SET_LIMITS
	cmdGetLimits      = 6  // MPTCP_PM_CMD_GET_LIMITS
	cmdSetFlags       = 7  // MPTCP_PM_CMD_SET_FLAGS
	cmdAnnounce       = 8  // MPTCP_PM_CMD_ANNOUNCE
	cmdRemove         = 9  // MPTCP_PM_CMD_REMOVE
	cmdSubflowCreate  = 10 // MPTCP_PM_CMD_SUBFLOW_CREATE
	cmdSubflowDestroy = 11 // MPTCP_PM_CMD_SUBFLOW_DESTROY
)

// Top-level request and reply attributes (enum MPTCP_PM_ATTR_*).
const (
	attrAddr        = 1 // MPTCP_PM_ATTR_ADDR: nest of addrAttr*
	attrRcvAddAddrs = 2 // MPTCP_PM_ATTR_RCV_ADD_ADDRS: u32
	attrSubflows    = 3 // MPTCP_PM_ATTR_SUBFLOWS: u32
	attrToken       = 4 // MPTCP_PM_ATTR_TOKEN: u32
	attrLocID       = 5 // MPTCP_PM_ATTR_LOC_ID: u8
	attrAddrRemote  = 6 // MPTCP_PM_ATTR_ADDR_REMOTE: nest of addrAttr*
)

// Attributes of an address nest (enum MPTCP_PM_ADDR_ATTR_*).
const (
	addrAttrFamily = 1 // MPTCP_PM_ADDR_ATTR_FAMILY: u16 (AF_INET, AF_INET6)
	addrAttrID     = 2 // MPTCP_PM_ADDR_ATTR_ID: u8
	addrAttrAddr4  = 3 // MPTCP_PM_ADDR_ATTR_ADDR4: 4 bytes, network order
	addrAttrAddr6  = 4 // MPTCP_PM_ADDR_ATTR_ADDR6: 16 bytes
	addrAttrPort   = 5 // MPTCP_PM_ADDR_ATTR_PORT: u16, host byte order
	addrAttrFlags  = 6 // MPTCP_PM_ADDR_ATTR_FLAGS: u32 (EndpointFlags)
	addrAttrIfIdx  = 7 // MPTCP_PM_ADDR_ATTR_IF_IDX: s32
)

// Address families as carried in MPTCP_PM_ADDR_ATTR_FAMILY and
// MPTCP_ATTR_FAMILY (the Linux AF_* values, fixed on every GOOS here).
const (
	afINET  = 2  // AF_INET
	afINET6 = 10 // AF_INET6
)

// Event attributes (enum mptcp_event_attr, MPTCP_ATTR_*) are the EventAttr
// constants in event.go; event types (enum mptcp_event_type) are the
// EventType constants there.
