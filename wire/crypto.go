package wire

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
)

// Sizes of the MPTCP crypto values (RFC 8684 §3.1, §3.2, §3.4.1).
const (
	// KeyLen is the size of an MPTCP key on the wire: 64 bits, big-endian
	// (RFC 8684 §3.1).
	KeyLen = 8
	// TruncatedHMACLen is the size of the truncated HMAC in an MP_JOIN
	// SYN/ACK and in an ADD_ADDR (RFC 8684 §3.2, §3.4.1).
	TruncatedHMACLen = 8
	// MPJoinHMACLen is the size of the HMAC in the third ACK of an MP_JOIN
	// handshake: the leftmost 160 bits of HMAC-SHA256 (RFC 8684 §3.2).
	MPJoinHMACLen = 20
)

const (
	sha256BlockLen = 64 // SHA-256 block size; HMAC pads keys to it (RFC 2104 §2)
	hmacIPad       = 0x36
	hmacOPad       = 0x5c
	// hmacMaxMsgLen bounds the messages MPTCP authenticates: 8 bytes of
	// nonces for MP_JOIN, 1+16+2 bytes for an IPv6 ADD_ADDR.
	hmacMaxMsgLen = sha256.Size
	// dssPseudoHeaderLen is the DSS checksum pseudo-header: 64-bit DSN,
	// 32-bit subflow sequence number, 16-bit data-level length, 16 zero
	// bits (RFC 8684 §3.3.1).
	dssPseudoHeaderLen = 16
)

// GenerateKey reads a fresh 64-bit MPTCP key from r (RFC 8684 §3.1: the
// key is a random value chosen by each host). r is normally crypto/rand's
// Reader; tests may pass a deterministic source. Any 64-bit value is a valid
// key: callers that need a token unique among their connections check it
// and draw again.
func GenerateKey(r io.Reader) (uint64, error) {
	var b [KeyLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("wire: generating MPTCP key: %w", err)
	}
	return binary.BigEndian.Uint64(b[:]), nil
}

// keyHash is SHA-256 of the key in network byte order (RFC 8684 §3.1).
func keyHash(key uint64) [sha256.Size]byte {
	var b [KeyLen]byte
	binary.BigEndian.PutUint64(b[:], key)
	return sha256.Sum256(b[:])
}

// Token returns the 32-bit token that identifies the connection of the host
// owning key: the most significant 32 bits of SHA-256(key) (RFC 8684 §3.1).
// A host sends Token(peer's key) in MP_JOIN SYNs to that peer.
func Token(key uint64) uint32 {
	h := keyHash(key)
	return binary.BigEndian.Uint32(h[:4])
}

// IDSN returns the initial data sequence number of the host owning key: the
// least significant 64 bits of SHA-256(key) (RFC 8684 §3.1). The SYN takes
// the first octet of data sequence space, so the first data byte that host
// sends has data sequence number IDSN(key)+1 (RFC 8684 §3.1).
func IDSN(key uint64) uint64 {
	h := keyHash(key)
	return binary.BigEndian.Uint64(h[sha256.Size-8:])
}

// TokenIDSN returns Token(key) and IDSN(key) from one SHA-256 computation.
func TokenIDSN(key uint64) (token uint32, idsn uint64) {
	h := keyHash(key)
	return binary.BigEndian.Uint32(h[:4]), binary.BigEndian.Uint64(h[sha256.Size-8:])
}

// hmacSHA256 computes HMAC-SHA256 (RFC 2104) with the 16-byte key
// key1 || key2 (each big-endian) over msg, which must be at most
// hmacMaxMsgLen bytes. It works on stack buffers so that it does not
// allocate, which crypto/hmac does.
func hmacSHA256(key1, key2 uint64, msg []byte) [sha256.Size]byte {
	if len(msg) > hmacMaxMsgLen {
		panic("wire: MPTCP HMAC message too long")
	}
	// The key is shorter than a block, so it is used zero-padded
	// (RFC 2104 §2). buf holds one padded key block followed by the inner
	// message, then by the inner digest for the outer hash.
	var buf [sha256BlockLen + hmacMaxMsgLen]byte
	binary.BigEndian.PutUint64(buf[0:8], key1)
	binary.BigEndian.PutUint64(buf[8:16], key2)
	for i := range sha256BlockLen {
		buf[i] ^= hmacIPad
	}
	n := copy(buf[sha256BlockLen:], msg)
	inner := sha256.Sum256(buf[:sha256BlockLen+n])
	for i := range sha256BlockLen {
		buf[i] ^= hmacIPad ^ hmacOPad
	}
	copy(buf[sha256BlockLen:], inner[:])
	return sha256.Sum256(buf[:sha256BlockLen+sha256.Size])
}

// mpJoinHMAC is HMAC(Key=(key1 || key2), Msg=(nonce1 || nonce2)), the form
// of both MP_JOIN HMACs (RFC 8684 §3.2).
func mpJoinHMAC(key1, key2 uint64, nonce1, nonce2 uint32) [sha256.Size]byte {
	var msg [8]byte
	binary.BigEndian.PutUint32(msg[0:4], nonce1)
	binary.BigEndian.PutUint32(msg[4:8], nonce2)
	return hmacSHA256(key1, key2, msg[:])
}

// MPJoinSYNACKHMAC returns the truncated HMAC that the responder of an
// MP_JOIN handshake (host B, which received the SYN) sends in its SYN/ACK:
// the leftmost 64 bits of HMAC(Key=(Key-B || Key-A), Msg=(R-B || R-A))
// (RFC 8684 §3.2).
//
// A is always the subflow's initiator and B its responder, whichever side
// calls: keyA and nonceA are the key of the host that sent the MP_JOIN SYN
// and the nonce in that SYN; keyB and nonceB are the responder's key and the
// nonce in the SYN/ACK.
func MPJoinSYNACKHMAC(keyA, keyB uint64, nonceA, nonceB uint32) [TruncatedHMACLen]byte {
	h := mpJoinHMAC(keyB, keyA, nonceB, nonceA)
	return [TruncatedHMACLen]byte(h[:TruncatedHMACLen])
}

// MPJoinACKHMAC returns the HMAC that the initiator of an MP_JOIN handshake
// (host A) sends in the third ACK: the leftmost 160 bits of
// HMAC(Key=(Key-A || Key-B), Msg=(R-A || R-B)) (RFC 8684 §3.2). The roles
// of the arguments are those of MPJoinSYNACKHMAC.
func MPJoinACKHMAC(keyA, keyB uint64, nonceA, nonceB uint32) [MPJoinHMACLen]byte {
	h := mpJoinHMAC(keyA, keyB, nonceA, nonceB)
	return [MPJoinHMACLen]byte(h[:MPJoinHMACLen])
}

// VerifyMPJoinSYNACKHMAC reports whether mac, as received in an MP_JOIN
// SYN/ACK, is MPJoinSYNACKHMAC(keyA, keyB, nonceA, nonceB). The comparison
// takes constant time; a mac of the wrong length does not verify.
func VerifyMPJoinSYNACKHMAC(keyA, keyB uint64, nonceA, nonceB uint32, mac []byte) bool {
	want := MPJoinSYNACKHMAC(keyA, keyB, nonceA, nonceB)
	return subtle.ConstantTimeCompare(want[:], mac) == 1
}

// VerifyMPJoinACKHMAC reports whether mac, as received in the third ACK of
// an MP_JOIN handshake, is MPJoinACKHMAC(keyA, keyB, nonceA, nonceB). The
// comparison takes constant time; a mac of the wrong length does not verify.
func VerifyMPJoinACKHMAC(keyA, keyB uint64, nonceA, nonceB uint32, mac []byte) bool {
	want := MPJoinACKHMAC(keyA, keyB, nonceA, nonceB)
	return subtle.ConstantTimeCompare(want[:], mac) == 1
}

// AddAddrHMAC returns the truncated HMAC of an ADD_ADDR: the rightmost 64
// bits of HMAC(Key=(Key-A || Key-B), Msg=(Address ID || IP Address || Port))
// (RFC 8684 §3.4.1), where Key-A is the key of the host sending the
// ADD_ADDR (senderKey) and Key-B the key of the host receiving it. The
// address contributes 4 bytes if it is an IPv4 address and 16 otherwise
// (an IPv4-mapped IPv6 address is taken as IPv6, as AddAddr encodes it).
//
// The port is always 2 bytes of the message, zero when the ADD_ADDR carries
// no port. RFC 8684 §3.4.1 does not spell out the message for an option
// without a port; Linux (net/mptcp/options.c, add_addr_generate_hmac) puts
// two zero bytes there, and a Linux peer drops an ADD_ADDR whose HMAC was
// computed any other way.
//
// AddAddrHMAC panics if addr is not a valid IP address.
func AddAddrHMAC(senderKey, receiverKey uint64, id uint8, addr netip.Addr, port uint16) uint64 {
	var msg [1 + 16 + 2]byte
	msg[0] = id
	n := 1
	switch {
	case addr.Is4():
		a := addr.As4()
		n += copy(msg[n:], a[:])
	case addr.Is6():
		a := addr.As16()
		n += copy(msg[n:], a[:])
	default:
		panic("wire: ADD_ADDR HMAC of an invalid IP address")
	}
	binary.BigEndian.PutUint16(msg[n:], port)
	n += 2
	h := hmacSHA256(senderKey, receiverKey, msg[:n])
	return binary.BigEndian.Uint64(h[sha256.Size-TruncatedHMACLen:])
}

// DSSPseudoHeaderSum returns the running one's-complement sum (see
// ChecksumAdd) of the DSS checksum pseudo-header (RFC 8684 §3.3.1): the
// 64-bit data sequence number, the 32-bit relative subflow sequence number,
// the 16-bit data-level length and 16 bits of checksum. Pass csum = 0 to
// compute a checksum and the received checksum to verify one. The DSN is
// always the full 64-bit value, even when the DSS option carries only its
// low 32 bits (RFC 8684 §3.3.1).
//
// It serves a mapping whose payload is spread over several buffers: add each
// with ChecksumAdd (all but the last of even length) and finish with
// ChecksumFold, which yields the checksum to send, or 0 if a received
// checksum verifies.
func DSSPseudoHeaderSum(dsn uint64, ssn uint32, dataLen uint16, csum uint16) uint64 {
	var ph [dssPseudoHeaderLen]byte
	binary.BigEndian.PutUint64(ph[0:8], dsn)
	binary.BigEndian.PutUint32(ph[8:12], ssn)
	binary.BigEndian.PutUint16(ph[12:14], dataLen)
	binary.BigEndian.PutUint16(ph[14:16], csum)
	return ChecksumAdd(0, ph[:])
}

// DSSChecksum returns the DSS checksum (RFC 8684 §3.3.1) of a mapping of
// dataLen bytes at data sequence number dsn and relative subflow sequence
// number ssn whose payload is payload: the one's complement of the
// one's-complement sum of the pseudo-header and the payload.
func DSSChecksum(dsn uint64, ssn uint32, dataLen uint16, payload []byte) uint16 {
	return ChecksumFold(ChecksumAdd(DSSPseudoHeaderSum(dsn, ssn, dataLen, 0), payload))
}

// VerifyDSSChecksum reports whether csum, as received in a DSS option, is
// the checksum of the mapping (dsn, ssn, dataLen) over payload. It sums the
// pseudo-header with csum in its checksum field and the payload, which
// folds to zero exactly when the checksum is right (RFC 8684 §3.3.1).
func VerifyDSSChecksum(dsn uint64, ssn uint32, dataLen uint16, csum uint16, payload []byte) bool {
	return ChecksumFold(ChecksumAdd(DSSPseudoHeaderSum(dsn, ssn, dataLen, csum), payload)) == 0
}
