package wire

import "encoding/binary"

// ChecksumAdd adds the bytes of b, taken as big-endian 16-bit words, to the
// running one's-complement sum (RFC 1071 §4.1) and returns the new sum. An
// odd final byte is padded with a zero byte, so only the last chunk of a
// multi-part sum may have odd length. Fold the result with ChecksumFold.
func ChecksumAdd(sum uint64, b []byte) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		sum += v >> 32
		sum += v & 0xffffffff
		b = b[8:]
	}
	if len(b) >= 4 {
		sum += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

// ChecksumFold folds a running sum to 16 bits and returns its one's
// complement: the value that goes into a checksum field (RFC 1071 §4.1).
func ChecksumFold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + sum>>16
	}
	return ^uint16(sum)
}
