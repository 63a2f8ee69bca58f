package tcp

import "github.com/gomptcp/mptcp/wire"

// negotiate applies the peer's SYN options (RFC 7323 §2.2, §3.2; RFC 2018
// §2; RFC 9293 §3.7.1). A feature is on only when both sides offer it; we
// offer every feature not disabled.
func (c *Conn) negotiate(o *wire.TCPOptions, noWS, noTS, noSACK bool) {
	c.wsOK = !noWS && o.HasWindowScale
	if c.wsOK {
		// RFC 7323 §2.3: a shift above 14 is treated as 14.
		c.sndWScale = min(o.WindowScale, 14)
	} else {
		c.sndWScale, c.rcvWScale = 0, 0
	}
	c.tsOK = !noTS && o.HasTimestamps
	c.sackOK = !noSACK && o.SACKPermitted
	mss := defaultPeerMSS
	if o.HasMSS && o.MSS > 0 {
		mss = int(o.MSS)
	}
	c.sndMSS = max(min(mss, c.cfg.MSS), minMSS)
}

// synOptions fills the options of our SYN or SYN-ACK. On a SYN-ACK only
// the features the peer offered are echoed (RFC 7323 §2.2, §3.2; RFC 2018
// §2).
func (c *Conn) synOptions(o *wire.TCPOptions, synAck bool, tsval uint32) {
	o.HasMSS, o.MSS = true, uint16(c.cfg.MSS)
	if synAck {
		if c.wsOK {
			o.HasWindowScale, o.WindowScale = true, c.rcvWScale
		}
		o.SACKPermitted = c.sackOK
		if c.tsOK {
			o.HasTimestamps, o.TSVal, o.TSEcr = true, tsval, c.tsRecent
		}
		return
	}
	if !c.cfg.DisableWindowScale {
		o.HasWindowScale, o.WindowScale = true, c.rcvWScale
	}
	o.SACKPermitted = !c.cfg.DisableSACK
	if !c.cfg.DisableTimestamps {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, tsval, 0
	}
}
