package meta

import (
	"time"

	"github.com/gomptcp/mptcp/wire"
)

// Fast close (RFC 8684 §3.5). Abort sends MP_FASTCLOSE with the peer's key
// on a RST of every subflow (the second of the two ways the RFC allows,
// the one Linux uses); a connection whose Close does not finish within
// Config.CloseTimeout is ended the same way.

// onFastClose takes a received MP_FASTCLOSE: if it carries our key, every
// subflow is reset and the connection ends with ErrFastClose; otherwise it
// is ignored (RFC 8684 §3.5: the key authenticates it).
func (c *Conn) onFastClose(fc *wire.MPFastClose) {
	if c.done || !c.mptcp || c.fallback {
		return
	}
	if fc.ReceiverKey != c.localKey {
		c.mib.inc(MPFastcloseRxBadKey)
		return
	}
	c.mib.inc(MPFastcloseRx)
	c.fastClose = false
	c.fail(ErrFastClose)
	c.resetAll(wire.TCPRSTUnspecified)
}

// closeTimer fast-closes a closed connection whose DATA_FIN exchange did
// not finish within Config.CloseTimeout, as Linux does after its
// close_timeout.
func (c *Conn) closeTimer(now time.Time) {
	if c.closeDeadline.IsZero() || now.Before(c.closeDeadline) || c.done {
		return
	}
	c.closeDeadline = time.Time{}
	c.abort(ErrCloseTimeout)
}
