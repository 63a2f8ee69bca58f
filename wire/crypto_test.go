package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// cryptoRefHMAC is HMAC-SHA256 computed with the standard library, the
// independent path the hand-written HMAC is checked against.
func cryptoRefHMAC(key1, key2 uint64, msg []byte) []byte {
	var key [16]byte
	binary.BigEndian.PutUint64(key[0:], key1)
	binary.BigEndian.PutUint64(key[8:], key2)
	m := hmac.New(sha256.New, key[:])
	m.Write(msg)
	return m.Sum(nil)
}

func TestGenerateKey(t *testing.T) {
	k, err := GenerateKey(bytes.NewReader([]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xff}))
	if err != nil || k != 0x0123456789abcdef {
		t.Errorf("GenerateKey = %#x, %v; want 0x0123456789abcdef (big-endian), nil", k, err)
	}
	_, err = GenerateKey(bytes.NewReader([]byte{1, 2, 3}))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("GenerateKey from 3 bytes: err = %v, want io.ErrUnexpectedEOF", err)
	}
	_, err = GenerateKey(strings.NewReader(""))
	if !errors.Is(err, io.EOF) {
		t.Errorf("GenerateKey from nothing: err = %v, want io.EOF", err)
	}
}

func TestTokenIDSN(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := []uint64{0, 1, 0x0123456789abcdef, 0xfedcba9876543210, ^uint64(0)}
	for range 200 {
		keys = append(keys, r.Uint64())
	}
	for _, k := range keys {
		// RFC 8684 §3.1: SHA-256 over the key in network byte order; the
		// token is the most significant 32 bits, the IDSN the least
		// significant 64 bits.
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, k))
		wantTok := uint32(h[0])<<24 | uint32(h[1])<<16 | uint32(h[2])<<8 | uint32(h[3])
		var wantIDSN uint64
		for _, c := range h[24:] {
			wantIDSN = wantIDSN<<8 | uint64(c)
		}
		if got := Token(k); got != wantTok {
			t.Errorf("Token(%#x) = %#x, want %#x", k, got, wantTok)
		}
		if got := IDSN(k); got != wantIDSN {
			t.Errorf("IDSN(%#x) = %#x, want %#x", k, got, wantIDSN)
		}
		if tok, idsn := TokenIDSN(k); tok != wantTok || idsn != wantIDSN {
			t.Errorf("TokenIDSN(%#x) = %#x, %#x; want %#x, %#x", k, tok, idsn, wantTok, wantIDSN)
		}
	}
}

// TestTokenIDSNTshark has Wireshark derive the tokens and IDSNs from the
// keys of an MP_CAPABLE v1 handshake and compares them with ours.
func TestTokenIDSNTshark(t *testing.T) {
	const keyA, keyB = 0x0123456789abcdef, 0xfedcba9876543210
	mpc := func(keys ...uint64) []byte {
		// MP_CAPABLE v1, flags: H (HMAC-SHA256) (RFC 8684 §3.1).
		b := []byte{OptionKindMPTCP, byte(4 + 8*len(keys)), 0x01, 0x01}
		for _, k := range keys {
			b = binary.BigEndian.AppendUint64(b, k)
		}
		return b
	}
	segs := [][]byte{
		sigTCPSegment(t, 40000, 80, 100, 0, sigFlagSYN, mpc()),
		sigTCPSegment(t, 80, 40000, 500, 101, sigFlagSYN|sigFlagACK, mpc(keyB)),
		sigTCPSegment(t, 40000, 80, 101, 501, sigFlagACK, mpc(keyA, keyB)),
	}
	rows := sigTsharkFields(t, segs, []bool{false, true, false}, []string{"mptcp.expected_token", "mptcp.expected_idsn"})
	// The SYN/ACK carries B's key; the third ACK carries A's key first.
	for _, c := range []struct {
		frame int
		key   uint64
	}{{1, keyB}, {2, keyA}} {
		tok, idsn := TokenIDSN(c.key)
		if got := strings.Split(rows[c.frame][0], ",")[0]; got != fmt.Sprint(tok) {
			t.Errorf("key %#x: Wireshark token %s, ours %d", c.key, got, tok)
		}
		if got := strings.Split(rows[c.frame][1], ",")[0]; got != fmt.Sprint(idsn) {
			t.Errorf("key %#x: Wireshark IDSN %s, ours %d", c.key, got, idsn)
		}
	}
}

// TestHMACLinuxVectors checks the HMAC against the vectors of the Linux
// kernel's MPTCP crypto KUnit test (net/mptcp/crypto_test.c). There the
// 16-byte HMAC key is the ASCII text of the "key" string, read as Key-A and
// Key-B, and the 8-byte message the ASCII text of "msg", read as R-A and
// R-B.
func TestHMACLinuxVectors(t *testing.T) {
	for _, v := range []struct{ key, msg, result string }{
		{"0b0b0b0b0b0b0b0b", "48692054", "8385e24fb4235ac37556b6b886db106284a1da671699f46db1f235ec622dcafa"},
		{"aaaaaaaaaaaaaaaa", "dddddddd", "2c5e219164ff1dca1c4a92318d847bb6b9d44492984e1eb71aff9022f71046e9"},
		{"0102030405060708", "cdcdcdcd", "e73b9ba9969969cefb04aa0d6df18ec2fcc075b6f23b4d8c4da736a5dbbc6e7d"},
	} {
		keyA := binary.BigEndian.Uint64([]byte(v.key[:8]))
		keyB := binary.BigEndian.Uint64([]byte(v.key[8:]))
		nonceA := binary.BigEndian.Uint32([]byte(v.msg[:4]))
		nonceB := binary.BigEndian.Uint32([]byte(v.msg[4:]))
		// HMAC-A = HMAC(Key=(Key-A || Key-B), Msg=(R-A || R-B)).
		ack := MPJoinACKHMAC(keyA, keyB, nonceA, nonceB)
		if got := fmt.Sprintf("%x", ack); got != v.result[:2*MPJoinHMACLen] {
			t.Errorf("key %q msg %q: HMAC-A %s, want %s", v.key, v.msg, got, v.result[:2*MPJoinHMACLen])
		}
		// HMAC-B swaps the roles, so swapping the arguments yields the same
		// HMAC, truncated to 64 bits.
		synack := MPJoinSYNACKHMAC(keyB, keyA, nonceB, nonceA)
		if got := fmt.Sprintf("%x", synack); got != v.result[:2*TruncatedHMACLen] {
			t.Errorf("key %q msg %q: HMAC-B %s, want %s", v.key, v.msg, got, v.result[:2*TruncatedHMACLen])
		}
	}
}

func TestMPJoinHMAC(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		keyA, keyB := r.Uint64(), r.Uint64()
		nonceA, nonceB := r.Uint32(), r.Uint32()
		msgAB := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, nonceA), nonceB)
		msgBA := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, nonceB), nonceA)

		// RFC 8684 §3.2: the SYN/ACK carries the leftmost 64 bits of
		// HMAC(Key=(Key-B+Key-A), Msg=(R-B+R-A)); the third ACK the
		// leftmost 160 bits of HMAC(Key=(Key-A+Key-B), Msg=(R-A+R-B)).
		wantSYNACK := cryptoRefHMAC(keyB, keyA, msgBA)[:TruncatedHMACLen]
		wantACK := cryptoRefHMAC(keyA, keyB, msgAB)[:MPJoinHMACLen]
		synack := MPJoinSYNACKHMAC(keyA, keyB, nonceA, nonceB)
		ack := MPJoinACKHMAC(keyA, keyB, nonceA, nonceB)
		if !bytes.Equal(synack[:], wantSYNACK) {
			t.Fatalf("MPJoinSYNACKHMAC(%#x, %#x, %#x, %#x) = %x, want %x", keyA, keyB, nonceA, nonceB, synack, wantSYNACK)
		}
		if !bytes.Equal(ack[:], wantACK) {
			t.Fatalf("MPJoinACKHMAC(%#x, %#x, %#x, %#x) = %x, want %x", keyA, keyB, nonceA, nonceB, ack, wantACK)
		}
		if !VerifyMPJoinSYNACKHMAC(keyA, keyB, nonceA, nonceB, synack[:]) {
			t.Fatal("VerifyMPJoinSYNACKHMAC rejects the right HMAC")
		}
		if !VerifyMPJoinACKHMAC(keyA, keyB, nonceA, nonceB, ack[:]) {
			t.Fatal("VerifyMPJoinACKHMAC rejects the right HMAC")
		}
	}
}

func TestMPJoinHMACVerifyRejects(t *testing.T) {
	const keyA, keyB, nonceA, nonceB = 0x1111222233334444, 0x5555666677778888, 0x9999aaaa, 0xbbbbcccc
	synack := MPJoinSYNACKHMAC(keyA, keyB, nonceA, nonceB)
	ack := MPJoinACKHMAC(keyA, keyB, nonceA, nonceB)
	// Every single flipped bit.
	for i := range 8 * len(synack) {
		m := synack
		m[i/8] ^= 1 << (i % 8)
		if VerifyMPJoinSYNACKHMAC(keyA, keyB, nonceA, nonceB, m[:]) {
			t.Errorf("SYN/ACK HMAC with bit %d flipped verifies", i)
		}
	}
	for i := range 8 * len(ack) {
		m := ack
		m[i/8] ^= 1 << (i % 8)
		if VerifyMPJoinACKHMAC(keyA, keyB, nonceA, nonceB, m[:]) {
			t.Errorf("ACK HMAC with bit %d flipped verifies", i)
		}
	}
	// Wrong lengths, and the roles or inputs swapped.
	for _, m := range [][]byte{nil, synack[:7], append(synack[:], 0), ack[:]} {
		if VerifyMPJoinSYNACKHMAC(keyA, keyB, nonceA, nonceB, m) {
			t.Errorf("SYN/ACK HMAC of %d bytes verifies", len(m))
		}
	}
	for _, m := range [][]byte{nil, ack[:19], append(ack[:], 0), synack[:]} {
		if VerifyMPJoinACKHMAC(keyA, keyB, nonceA, nonceB, m) {
			t.Errorf("ACK HMAC of %d bytes verifies", len(m))
		}
	}
	if VerifyMPJoinSYNACKHMAC(keyB, keyA, nonceB, nonceA, synack[:]) {
		t.Error("SYN/ACK HMAC verifies with the roles swapped")
	}
	if VerifyMPJoinACKHMAC(keyA, keyB, nonceB, nonceA, ack[:]) {
		t.Error("ACK HMAC verifies with the nonces swapped")
	}
	if VerifyMPJoinACKHMAC(keyA+1, keyB, nonceA, nonceB, ack[:]) {
		t.Error("ACK HMAC verifies with another key")
	}
}

func TestAddAddrHMAC(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	addrs := []netip.Addr{
		sigAddr("10.0.0.3"), sigAddr("198.51.100.2"), sigAddr("2001:db8::1"),
		sigAddr("::ffff:10.0.0.3"), sigAddr("fe80::1%eth0"),
	}
	for i := range 200 {
		sender, receiver := r.Uint64(), r.Uint64()
		id := uint8(r.Uint32())
		addr := addrs[i%len(addrs)]
		hasPort := i%3 != 0
		var port uint16
		if hasPort {
			port = uint16(r.Uint32())
		}

		// RFC 8684 §3.4.1: HMAC(Key=(Key-A+Key-B), Msg=(Address ID + IP
		// Address + Port)), rightmost 64 bits; like Linux, an absent port
		// enters as two zero bytes.
		msg := []byte{id}
		if addr.Is4() {
			a := addr.As4()
			msg = append(msg, a[:]...)
		} else {
			a := addr.As16()
			msg = append(msg, a[:]...)
		}
		msg = binary.BigEndian.AppendUint16(msg, port)
		full := cryptoRefHMAC(sender, receiver, msg)
		want := binary.BigEndian.Uint64(full[len(full)-8:])

		if got := AddAddrHMAC(sender, receiver, id, addr, port); got != want {
			t.Fatalf("AddAddrHMAC(%#x, %#x, %d, %v, %d) = %#x, want %#x", sender, receiver, id, addr, port, got, want)
		}
		a := AddAddr{AddrID: id, Addr: addr, HasPort: hasPort, Port: port}
		if got := a.ComputeHMAC(sender, receiver); got != want {
			t.Fatalf("%v: ComputeHMAC = %#x, want %#x", a, got, want)
		}

		// What the receiver gets verifies with (peer key, own key) only.
		a.HMAC = want
		parsed, _, err := ParseAddAddr(a.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		if !parsed.HMACValid(sender, receiver) {
			t.Fatalf("%v: HMACValid(sender, receiver) = false", parsed)
		}
		if parsed.HMACValid(receiver, sender) {
			t.Fatalf("%v: HMACValid with the keys swapped = true", parsed)
		}
		for bit := range 64 {
			bad := parsed
			bad.HMAC ^= 1 << bit
			if bad.HMACValid(sender, receiver) {
				t.Fatalf("%v: HMAC with bit %d flipped verifies", parsed, bit)
			}
		}
		moved := parsed
		moved.AddrID++
		if moved.HMACValid(sender, receiver) {
			t.Fatalf("%v: HMAC verifies for another address ID", parsed)
		}
	}
}

func TestAddAddrHMACEcho(t *testing.T) {
	// An echo carries no HMAC and never verifies.
	a := AddAddr{Echo: true, AddrID: 1, Addr: sigAddr("10.0.0.1")}
	a.HMAC = a.ComputeHMAC(1, 2)
	if a.HMACValid(1, 2) {
		t.Error("an echo verifies")
	}
	if (AddAddr{AddrID: 1}).HMACValid(1, 2) {
		t.Error("an ADD_ADDR without an address verifies")
	}
}

func TestAddAddrHMACPortSensitivity(t *testing.T) {
	// Port 0 and no port give the same message (Linux); another port does
	// not.
	addr := sigAddr("192.0.2.7")
	none := AddAddr{AddrID: 4, Addr: addr}.ComputeHMAC(7, 9)
	zero := AddAddr{AddrID: 4, Addr: addr, HasPort: true}.ComputeHMAC(7, 9)
	p80 := AddAddr{AddrID: 4, Addr: addr, HasPort: true, Port: 80}.ComputeHMAC(7, 9)
	if none != zero {
		t.Errorf("no port %#x, port 0 %#x; want equal", none, zero)
	}
	if none == p80 {
		t.Error("port 80 gives the HMAC of no port")
	}
}

func TestAddAddrHMACInvalidAddrPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AddAddrHMAC of an invalid address did not panic")
		}
	}()
	AddAddrHMAC(1, 2, 3, netip.Addr{}, 0)
}

// cryptoRefChecksum is the RFC 1071 checksum computed the plain way, 16 bits at a
// time, independent of ChecksumAdd.
func cryptoRefChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func TestDSSChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 100, 1399, 1400, 1401, 9000} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(r.Uint32())
		}
		dsn, ssn, dataLen := r.Uint64(), r.Uint32(), uint16(n)

		// RFC 8684 §3.3.1: pseudo-header DSN (64) | SSN (32) | length (16)
		// | zero (16), then the payload.
		ph := binary.BigEndian.AppendUint64(nil, dsn)
		ph = binary.BigEndian.AppendUint32(ph, ssn)
		ph = binary.BigEndian.AppendUint16(ph, dataLen)
		ph = append(ph, 0, 0)
		want := cryptoRefChecksum(append(ph, payload...))

		got := DSSChecksum(dsn, ssn, dataLen, payload)
		if got != want {
			t.Fatalf("%d bytes: DSSChecksum = %#04x, want %#04x", n, got, want)
		}
		if !VerifyDSSChecksum(dsn, ssn, dataLen, got, payload) {
			t.Fatalf("%d bytes: VerifyDSSChecksum rejects the right checksum", n)
		}

		// A payload spread over buffers sums the same.
		if n >= 4 {
			cut := n / 2 &^ 1
			sum := ChecksumAdd(ChecksumAdd(DSSPseudoHeaderSum(dsn, ssn, dataLen, 0), payload[:cut]), payload[cut:])
			if c := ChecksumFold(sum); c != want {
				t.Fatalf("%d bytes in two parts: %#04x, want %#04x", n, c, want)
			}
			sum = ChecksumAdd(ChecksumAdd(DSSPseudoHeaderSum(dsn, ssn, dataLen, got), payload[:cut]), payload[cut:])
			if ChecksumFold(sum) != 0 {
				t.Fatalf("%d bytes in two parts: received checksum does not fold to 0", n)
			}
		}

		// Any change of the mapping or the payload is caught.
		if VerifyDSSChecksum(dsn+1, ssn, dataLen, got, payload) {
			t.Errorf("%d bytes: verifies with another DSN", n)
		}
		if VerifyDSSChecksum(dsn^1<<40, ssn, dataLen, got, payload) {
			t.Errorf("%d bytes: verifies with another high DSN half", n)
		}
		if VerifyDSSChecksum(dsn, ssn+1, dataLen, got, payload) {
			t.Errorf("%d bytes: verifies with another subflow sequence number", n)
		}
		if VerifyDSSChecksum(dsn, ssn, dataLen+1, got, payload) {
			t.Errorf("%d bytes: verifies with another data-level length", n)
		}
		if VerifyDSSChecksum(dsn, ssn, dataLen, got+1, payload) {
			t.Errorf("%d bytes: verifies with another checksum", n)
		}
		if n > 0 {
			bad := bytes.Clone(payload)
			bad[r.IntN(n)] ^= 0x10
			if VerifyDSSChecksum(dsn, ssn, dataLen, got, bad) {
				t.Errorf("%d bytes: verifies with a corrupted payload", n)
			}
		}
	}
}

func TestCryptoAllocs(t *testing.T) {
	payload := make([]byte, 1400)
	addr := sigAddr("2001:db8::1")
	mac := make([]byte, MPJoinHMACLen)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"TokenIDSN", func() { TokenIDSN(42) }},
		{"MPJoinSYNACKHMAC", func() { MPJoinSYNACKHMAC(1, 2, 3, 4) }},
		{"MPJoinACKHMAC", func() { MPJoinACKHMAC(1, 2, 3, 4) }},
		{"VerifyMPJoinACKHMAC", func() { VerifyMPJoinACKHMAC(1, 2, 3, 4, mac) }},
		{"AddAddrHMAC", func() { AddAddrHMAC(1, 2, 3, addr, 80) }},
		{"DSSChecksum", func() { DSSChecksum(1, 2, 1400, payload) }},
		{"VerifyDSSChecksum", func() { VerifyDSSChecksum(1, 2, 1400, 3, payload) }},
	} {
		if a := testing.AllocsPerRun(100, c.f); a != 0 {
			t.Errorf("%s: %v allocations, want 0", c.name, a)
		}
	}
}

// cryptoLinuxConn holds what a Linux 6.18 kernel sent on one MPTCP connection in
// a network namespace (net.mptcp.checksum_enabled=1, the server announcing
// signal endpoints with "ip mptcp endpoint add ... signal"), captured with
// tcpdump. Options are given as the raw bytes from the capture.
type cryptoLinuxConn struct {
	name                 string
	clientKey, serverKey uint64 // from the MP_CAPABLE ACK
	addAddrs             []string
	// MP_JOIN SYN (client), SYN/ACK (server) and third ACK (client).
	joinSYN, joinSYNACK, joinACK string
	// DSS options with a mapping and the payload they map; fromServer
	// selects whose IDSN the first mapping starts at; mapOff is the
	// offset of the 64-bit DSN in the option.
	dss []cryptoLinuxDSS
	// fastClose is the MP_FASTCLOSE the client sent on aborting.
	fastClose string
}

type cryptoLinuxDSS struct {
	opt        string
	mapOff     int
	payload    string
	fromServer bool
	first      bool // the first data byte of its sender: DSN = IDSN+1
	// mpc marks an MP_CAPABLE carrying the first data (RFC 8684 §3.1):
	// its mapping is implicit (DSN = IDSN+1, subflow sequence number 1),
	// and the data-level length and checksum sit at offset 20.
	mpc bool
}

var cryptoLinuxConns = []cryptoLinuxConn{
	{
		name:      "IPv4",
		clientKey: 0x96171e9822fc280f,
		serverKey: 0xa8c1ab08aa4265d0,
		addAddrs: []string{
			"1e1030050a6302020d47d317480d5619",
			"1e1c300720010db8000200000000000000000002952185d02e4f7102",
		},
		joinSYN:    "1e0c1001aec812991846e88f",
		joinSYNACK: "1e101005ffb67c508a94290bad520d4f",
		joinACK:    "1e1810001860411e488a44ae4b02b0b67be1be916699aa98",
		dss: []cryptoLinuxDSS{
			{opt: "1e18200dca026ff8a5f267816c32399c0000000100117ae6", mapOff: 8, payload: "gomptcp hello one", first: true},
			{opt: "1e18200dca026ff8a5f267816c3239ad00000012002c16ff", mapOff: 8, payload: "gomptcp payload 0 abcdefghijklmnopqrstuvwxyz"},
		},
	},
	{
		name:      "IPv4 with port",
		clientKey: 0xacca65926da0bd52,
		serverKey: 0x13e1a9cdd920fc79,
		addAddrs: []string{
			"1e1230050a6302022774105984678f9ba781",
			"1e1c300720010db800020000000000000000000231fb6dac49ff1acc",
		},
		joinSYN:    "1e0c1001fe8aa5f794aa41c9",
		joinSYNACK: "1e1010054372cfb8f566ef8f190094ca",
		joinACK:    "1e181000a75fd6b0bbe5aea94117ab8dd3323861b83ea44e",
		dss: []cryptoLinuxDSS{
			{opt: "1e18200d1a5354e68b769871cc77ec4c000000010011517c", mapOff: 8, payload: "gomptcp hello one", first: true},
		},
	},
	{
		name:       "IPv6",
		clientKey:  0xa94745b516457022,
		serverKey:  0x7ecfafca4901b427,
		addAddrs:   []string{"1e1030050a630202eb3e7658cfe0cd75"},
		joinSYN:    "1e0c1001f6b5eb06b89cce39",
		joinSYNACK: "1e101005b98f9d8ef5afff97056c2026",
		joinACK:    "1e181000d1f54992e876dcff349ee4bd71c9c27a8b10dfe0",
		dss: []cryptoLinuxDSS{
			{opt: "1e18200d1c51ede0dfc6fc5cbe56477f0000000100114c2f", mapOff: 8, payload: "gomptcp hello one", first: true},
		},
	},
	{
		name:      "IPv4 data on MP_CAPABLE",
		clientKey: 0x017242d40e9ade3a,
		serverKey: 0xf9096e569ab35380,
		dss: []cryptoLinuxDSS{
			{opt: "1e180181017242d40e9ade3af9096e569ab3538000118f6e", payload: "gomptcp hello one", first: true, mpc: true},
		},
		fastClose: "1e0c7000f9096e569ab35380",
	},
	{
		name:      "IPv6 DATA_FIN",
		clientKey: 0xc66cf49227c0752e,
		serverKey: 0xeed2173faa9758a6,
		dss: []cryptoLinuxDSS{
			{opt: "1e18200dc7c6db5420d531b0959496d2000000010011af3c", mapOff: 8, payload: "gomptcp hello one", first: true},
			{opt: "1e18200dc7c6db5420d531b09594970f0000003e002c49fd", mapOff: 8, payload: "gomptcp payload 1 abcdefghijklmnopqrstuvwxyz"},
			// DATA_FIN alone: data-level length 1, subflow sequence 0.
			{opt: "1e18201dc7c6db5420d531b0959497bf0000000000018025", mapOff: 8},
			{opt: "1e1c200f20d531b0959497c0731f378cc7c6db54000000010006d55c", mapOff: 12, payload: "ok:237", fromServer: true, first: true},
		},
	},
}

func cryptoHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLinuxCapture checks tokens, IDSNs, HMACs and DSS checksums against
// what the Linux kernel put on the wire.
func TestLinuxCapture(t *testing.T) {
	for _, c := range cryptoLinuxConns {
		t.Run(c.name, func(t *testing.T) {
			// ADD_ADDRs from the server carry HMAC(server key, client key).
			for _, s := range c.addAddrs {
				a, n, err := ParseAddAddr(cryptoHex(t, s))
				if err != nil || n != len(s)/2 {
					t.Fatalf("ParseAddAddr(%s): n = %d, err = %v", s, n, err)
				}
				if !a.HMACValid(c.serverKey, c.clientKey) {
					t.Errorf("%v: Linux's HMAC does not verify; ours is %#016x", a, a.ComputeHMAC(c.serverKey, c.clientKey))
				}
				if a.HMACValid(c.clientKey, c.serverKey) {
					t.Errorf("%v: verifies with the keys swapped", a)
				}
			}

			// MP_JOIN: the client (A) joins the server (B).
			if c.joinSYN != "" {
				syn, synack, ack := cryptoHex(t, c.joinSYN), cryptoHex(t, c.joinSYNACK), cryptoHex(t, c.joinACK)
				token := binary.BigEndian.Uint32(syn[4:8])
				nonceA := binary.BigEndian.Uint32(syn[8:12])
				nonceB := binary.BigEndian.Uint32(synack[12:16])
				if got := Token(c.serverKey); got != token {
					t.Errorf("Token(server key) = %#08x, the SYN carries %#08x", got, token)
				}
				if !VerifyMPJoinSYNACKHMAC(c.clientKey, c.serverKey, nonceA, nonceB, synack[4:12]) {
					got := MPJoinSYNACKHMAC(c.clientKey, c.serverKey, nonceA, nonceB)
					t.Errorf("SYN/ACK HMAC %x does not verify; ours is %x", synack[4:12], got)
				}
				if !VerifyMPJoinACKHMAC(c.clientKey, c.serverKey, nonceA, nonceB, ack[4:24]) {
					got := MPJoinACKHMAC(c.clientKey, c.serverKey, nonceA, nonceB)
					t.Errorf("ACK HMAC %x does not verify; ours is %x", ack[4:24], got)
				}
			}

			// DSS mappings: DSN, relative subflow sequence number,
			// data-level length and checksum follow each other.
			for _, d := range c.dss {
				opt := cryptoHex(t, d.opt)
				key := c.clientKey
				if d.fromServer {
					key = c.serverKey
				}
				var dsn uint64
				var ssn uint32
				var dataLen, csum uint16
				if d.mpc {
					dsn, ssn = IDSN(key)+1, 1
					dataLen = binary.BigEndian.Uint16(opt[20:22])
					csum = binary.BigEndian.Uint16(opt[22:24])
				} else {
					m := opt[d.mapOff:]
					dsn = binary.BigEndian.Uint64(m[0:8])
					ssn = binary.BigEndian.Uint32(m[8:12])
					dataLen = binary.BigEndian.Uint16(m[12:14])
					csum = binary.BigEndian.Uint16(m[14:16])
				}
				if d.first && !d.mpc {
					if got := IDSN(key) + 1; got != dsn {
						t.Errorf("IDSN+1 = %#x, the first mapping starts at %#x", got, dsn)
					}
				}
				if got := DSSChecksum(dsn, ssn, dataLen, []byte(d.payload)); got != csum {
					t.Errorf("DSS %s: checksum %#04x, Linux sent %#04x", d.opt, got, csum)
				}
				if !VerifyDSSChecksum(dsn, ssn, dataLen, csum, []byte(d.payload)) {
					t.Errorf("DSS %s: Linux's checksum does not verify", d.opt)
				}
			}

			// MP_FASTCLOSE carries the key of its receiver.
			if c.fastClose != "" {
				f, _, err := ParseMPFastClose(cryptoHex(t, c.fastClose))
				if err != nil {
					t.Fatal(err)
				}
				if f.ReceiverKey != c.serverKey {
					t.Errorf("MP_FASTCLOSE key %#x, server key %#x", f.ReceiverKey, c.serverKey)
				}
			}
		})
	}
}
