package tcp

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// isnTick is the period of the ISN clock M of RFC 6528 §3: 4 µs.
const isnTick = 4 * time.Microsecond

// tupleHash is F(localip, localport, remoteip, remoteport, secretkey) of
// RFC 6528 §3, a keyed SHA-256 over the 4-tuple. It returns two independent
// 32-bit values: the ISN offset and the timestamp offset (RFC 7323 §5.4
// recommends a per-connection random timestamp offset; deriving it from
// the 4-tuple keeps it stable across incarnations, which RFC 6191 TIME-WAIT
// reuse relies on).
func tupleHash(key *[16]byte, id ConnID) (isnOff, tsOff uint32) {
	var b [16 + 2*18]byte
	copy(b[:16], key[:])
	l := id.Local.Addr().As16()
	r := id.Remote.Addr().As16()
	copy(b[16:32], l[:])
	binary.BigEndian.PutUint16(b[32:34], id.Local.Port())
	copy(b[34:50], r[:])
	binary.BigEndian.PutUint16(b[50:52], id.Remote.Port())
	sum := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(sum[0:4]), binary.BigEndian.Uint32(sum[4:8])
}

// ISN returns the initial send sequence number for a connection at now
// (RFC 6528 §3): ISN = M + F(4-tuple, key), where M is a 4 µs clock.
func ISN(key *[16]byte, id ConnID, now time.Time) uint32 {
	off, _ := tupleHash(key, id)
	m := uint32(now.UnixNano() / int64(isnTick))
	return m + off
}
