package meta

// FullyEstablished reports whether the connection is fully established
// at the MPTCP level (RFC 8684 §3.1): both keys are known and the
// MP_CAPABLE phase is over (the active side saw the peer's first
// DATA_ACK), so subflows can join it. This is when Linux reports
// MPTCP_EVENT_ESTABLISHED. A connection that fell back never is.
func (c *Conn) FullyEstablished() bool {
	return c.established && c.mptcp && !c.fallback && c.remoteKeyKnown && !c.mpcPhase && !c.done
}
