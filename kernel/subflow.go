package kernel

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Linux address family numbers, as found in kernel structures (they differ
// on other systems, so syscall.AF_* cannot be used by the pure decoders).
const (
	linuxAFInet  = 2
	linuxAFInet6 = 10
)

// Layout of the structures used by MPTCP_TCPINFO, MPTCP_SUBFLOW_ADDRS and
// MPTCP_FULL_INFO (include/uapi/linux/mptcp.h).
const (
	// SubflowDataSize is sizeof(struct mptcp_subflow_data), the header of
	// MPTCP_TCPINFO and MPTCP_SUBFLOW_ADDRS replies.
	SubflowDataSize = 16
	// SockaddrStorageSize is sizeof(struct __kernel_sockaddr_storage).
	SockaddrStorageSize = 128
	// SubflowAddrsSize is sizeof(struct mptcp_subflow_addrs): the local
	// then the remote sockaddr_storage.
	SubflowAddrsSize = 2 * SockaddrStorageSize
	// SubflowInfoSize is sizeof(struct mptcp_subflow_info): a u32 id, then
	// (8-byte aligned) struct mptcp_subflow_addrs.
	SubflowInfoSize = 8 + SubflowAddrsSize
	// FullInfoHeaderSize is the part of struct mptcp_full_info before the
	// embedded struct mptcp_info; the kernel refuses a shorter optlen.
	FullInfoHeaderSize = 40

	offSubflowInfoAddrs = 8

	offFullSizeTCPInfoKernel = 0
	offFullSizeTCPInfoUser   = 4
	offFullSizeSfInfoKernel  = 8
	offFullSizeSfInfoUser    = 12
	offFullNumSubflows       = 16
	offFullSizeArraysUser    = 20
	offFullSubflowInfo       = 24
	offFullTCPInfo           = 32
)

// SubflowData is struct mptcp_subflow_data, the header the kernel fills in
// MPTCP_TCPINFO and MPTCP_SUBFLOW_ADDRS replies.
type SubflowData struct {
	SizeSubflowData uint32 // size of this header as the caller declared it
	NumSubflows     uint32 // subflows the connection has (may exceed those copied)
	SizeKernel      uint32 // the kernel's size of one element
	SizeUser        uint32 // the element stride used: min(caller's, kernel's)
}

// DecodeSubflowData decodes the header of an MPTCP_TCPINFO or
// MPTCP_SUBFLOW_ADDRS reply.
func DecodeSubflowData(b []byte) (SubflowData, error) {
	if len(b) < SubflowDataSize {
		return SubflowData{}, malformed("mptcp_subflow_data is %d bytes, need %d", len(b), SubflowDataSize)
	}
	ne := binary.NativeEndian
	d := SubflowData{
		SizeSubflowData: ne.Uint32(b[0:]),
		NumSubflows:     ne.Uint32(b[4:]),
		SizeKernel:      ne.Uint32(b[8:]),
		SizeUser:        ne.Uint32(b[12:]),
	}
	if d.SizeSubflowData < SubflowDataSize || uint64(d.SizeSubflowData) > uint64(len(b)) {
		return d, malformed("mptcp_subflow_data declares a %d-byte header in a %d-byte reply", d.SizeSubflowData, len(b))
	}
	if d.SizeUser > d.SizeKernel && d.SizeKernel != 0 {
		return d, malformed("mptcp_subflow_data element size %d exceeds the kernel's %d", d.SizeUser, d.SizeKernel)
	}
	return d, nil
}

// AppendSubflowData appends the encoding of d to b.
func AppendSubflowData(b []byte, d SubflowData) []byte {
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, d.SizeSubflowData)
	b = ne.AppendUint32(b, d.NumSubflows)
	b = ne.AppendUint32(b, d.SizeKernel)
	return ne.AppendUint32(b, d.SizeUser)
}

// subflowElements splits the array following a mptcp_subflow_data header
// into its elements: as many as the kernel copied, at most NumSubflows.
func subflowElements(b []byte) (SubflowData, [][]byte, error) {
	d, err := DecodeSubflowData(b)
	if err != nil {
		return d, nil, err
	}
	rest := b[d.SizeSubflowData:]
	if d.NumSubflows == 0 || len(rest) == 0 {
		return d, nil, nil
	}
	if d.SizeUser == 0 {
		return d, nil, malformed("mptcp_subflow_data has %d subflows of size 0", d.NumSubflows)
	}
	n := uint64(len(rest)) / uint64(d.SizeUser)
	if n > uint64(d.NumSubflows) {
		n = uint64(d.NumSubflows)
	}
	elems := make([][]byte, n)
	for i := range elems {
		off := uint64(i) * uint64(d.SizeUser)
		elems[i] = rest[off : off+uint64(d.SizeUser)]
	}
	return d, elems, nil
}

// DecodeSockaddr decodes a Linux struct sockaddr_in or sockaddr_in6 (the
// family field in host order, the port in network order). An all-zero
// family (an unused slot) gives the zero AddrPort. IPv6 scope ids become
// the address zone.
func DecodeSockaddr(b []byte) (netip.AddrPort, error) {
	if len(b) < 2 {
		return netip.AddrPort{}, malformed("sockaddr is %d bytes", len(b))
	}
	switch fam := binary.NativeEndian.Uint16(b); fam {
	case 0:
		return netip.AddrPort{}, nil
	case linuxAFInet:
		if len(b) < 8 {
			return netip.AddrPort{}, malformed("sockaddr_in is %d bytes, need 8", len(b))
		}
		port := binary.BigEndian.Uint16(b[2:])
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), nil
	case linuxAFInet6:
		if len(b) < 28 {
			return netip.AddrPort{}, malformed("sockaddr_in6 is %d bytes, need 28", len(b))
		}
		port := binary.BigEndian.Uint16(b[2:])
		a := netip.AddrFrom16([16]byte(b[8:24]))
		if scope := binary.NativeEndian.Uint32(b[24:]); scope != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return netip.AddrPortFrom(a, port), nil
	default:
		return netip.AddrPort{}, malformed("sockaddr family %d is neither AF_INET nor AF_INET6", fam)
	}
}

// AppendSockaddr appends the Linux sockaddr_in (IPv4) or sockaddr_in6
// encoding of ap to b, padded to SockaddrStorageSize. The zero AddrPort
// gives an all-zero storage. A non-numeric zone is dropped.
func AppendSockaddr(b []byte, ap netip.AddrPort) []byte {
	var s [SockaddrStorageSize]byte
	a := ap.Addr()
	switch {
	case a.Is4():
		binary.NativeEndian.PutUint16(s[0:], linuxAFInet)
		binary.BigEndian.PutUint16(s[2:], ap.Port())
		v := a.As4()
		copy(s[4:], v[:])
	case a.Is6():
		binary.NativeEndian.PutUint16(s[0:], linuxAFInet6)
		binary.BigEndian.PutUint16(s[2:], ap.Port())
		v := a.As16()
		copy(s[8:], v[:])
		if z, err := strconv.ParseUint(a.Zone(), 10, 32); err == nil {
			binary.NativeEndian.PutUint32(s[24:], uint32(z))
		}
	}
	return append(b, s[:]...)
}

// SubflowAddr is struct mptcp_subflow_addrs: the addresses of one subflow.
type SubflowAddr struct {
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote"`
}

// DecodeSubflowAddrs decodes struct mptcp_subflow_addrs. A shorter buffer
// is accepted as long as each sockaddr it holds is complete; a missing
// remote half gives a zero Remote.
func DecodeSubflowAddrs(b []byte) (SubflowAddr, error) {
	var a SubflowAddr
	var err error
	local := b
	if len(local) > SockaddrStorageSize {
		local = local[:SockaddrStorageSize]
	}
	if a.Local, err = DecodeSockaddr(local); err != nil {
		return a, err
	}
	if len(b) > SockaddrStorageSize {
		if a.Remote, err = DecodeSockaddr(b[SockaddrStorageSize:min(len(b), SubflowAddrsSize)]); err != nil {
			return a, err
		}
	}
	return a, nil
}

// DecodeSubflowAddrsReply decodes a whole MPTCP_SUBFLOW_ADDRS reply: the
// header and the subflows it carries.
func DecodeSubflowAddrsReply(b []byte) (SubflowData, []SubflowAddr, error) {
	d, elems, err := subflowElements(b)
	if err != nil {
		return d, nil, err
	}
	out := make([]SubflowAddr, 0, len(elems))
	for i, e := range elems {
		a, err := DecodeSubflowAddrs(e)
		if err != nil {
			return d, nil, fmtIndex("subflow", i, err)
		}
		out = append(out, a)
	}
	return d, out, nil
}

// DecodeTCPInfoReply decodes a whole MPTCP_TCPINFO reply: the header and
// one tcp_info per subflow carried.
func DecodeTCPInfoReply(b []byte) (SubflowData, []TCPInfo, error) {
	d, elems, err := subflowElements(b)
	if err != nil {
		return d, nil, err
	}
	out := make([]TCPInfo, 0, len(elems))
	for i, e := range elems {
		t, err := DecodeTCPInfo(e)
		if err != nil {
			return d, nil, fmtIndex("subflow", i, err)
		}
		out = append(out, t)
	}
	return d, out, nil
}

// FullInfoHeader is the fixed part of struct mptcp_full_info.
type FullInfoHeader struct {
	SizeTCPInfoKernel uint32
	SizeTCPInfoUser   uint32
	SizeSfInfoKernel  uint32
	SizeSfInfoUser    uint32
	NumSubflows       uint32
	SizeArraysUser    uint32
	SubflowInfo       uint64 // user address of the mptcp_subflow_info array
	TCPInfo           uint64 // user address of the tcp_info array
}

// AppendFullInfoHeader appends the 40-byte encoding of h to b.
func AppendFullInfoHeader(b []byte, h FullInfoHeader) []byte {
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, h.SizeTCPInfoKernel)
	b = ne.AppendUint32(b, h.SizeTCPInfoUser)
	b = ne.AppendUint32(b, h.SizeSfInfoKernel)
	b = ne.AppendUint32(b, h.SizeSfInfoUser)
	b = ne.AppendUint32(b, h.NumSubflows)
	b = ne.AppendUint32(b, h.SizeArraysUser)
	b = ne.AppendUint64(b, h.SubflowInfo)
	return ne.AppendUint64(b, h.TCPInfo)
}

// DecodeFullInfoHeader decodes the fixed part of struct mptcp_full_info.
func DecodeFullInfoHeader(b []byte) (FullInfoHeader, error) {
	if len(b) < FullInfoHeaderSize {
		return FullInfoHeader{}, malformed("mptcp_full_info is %d bytes, need at least %d", len(b), FullInfoHeaderSize)
	}
	ne := binary.NativeEndian
	return FullInfoHeader{
		SizeTCPInfoKernel: ne.Uint32(b[offFullSizeTCPInfoKernel:]),
		SizeTCPInfoUser:   ne.Uint32(b[offFullSizeTCPInfoUser:]),
		SizeSfInfoKernel:  ne.Uint32(b[offFullSizeSfInfoKernel:]),
		SizeSfInfoUser:    ne.Uint32(b[offFullSizeSfInfoUser:]),
		NumSubflows:       ne.Uint32(b[offFullNumSubflows:]),
		SizeArraysUser:    ne.Uint32(b[offFullSizeArraysUser:]),
		SubflowInfo:       ne.Uint64(b[offFullSubflowInfo:]),
		TCPInfo:           ne.Uint64(b[offFullTCPInfo:]),
	}, nil
}

// SubflowFullInfo is one subflow of an MPTCPFullInfo: struct mptcp_subflow_info
// and the subflow's struct tcp_info.
type SubflowFullInfo struct {
	// ID is the kernel's subflow id (a per-connection counter, not the
	// RFC 8684 address id).
	ID     uint32         `json:"id"`
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote"`
	// TCP is the subflow's tcp_info; TCP.Size is 0 if the kernel provided
	// none.
	TCP TCPInfo `json:"tcp_info"`
}

// MPTCPFullInfo is the result of MPTCP_FULL_INFO: the connection's mptcp_info
// and a consistent snapshot of every subflow.
type MPTCPFullInfo struct {
	Info MPTCPInfo `json:"info"`
	// NumSubflows is the number of subflows the kernel reported; it equals
	// len(Subflows) unless subflows appeared faster than FullInfo could
	// grow its arrays.
	NumSubflows int               `json:"num_subflows"`
	Subflows    []SubflowFullInfo `json:"subflows"`
}

// DecodeFullInfo decodes an MPTCP_FULL_INFO reply: hdr is the optval the
// kernel returned (40-byte header then mptcp_info), sfinfo and tcpinfo the
// arrays whose addresses the request carried. Elements are read with the
// strides the kernel reports (size_*_user), for min(num_subflows,
// size_arrays_user) subflows.
func DecodeFullInfo(hdr, sfinfo, tcpinfo []byte) (MPTCPFullInfo, error) {
	var fi MPTCPFullInfo
	h, err := DecodeFullInfoHeader(hdr)
	if err != nil {
		return fi, err
	}
	if len(hdr) > FullInfoHeaderSize {
		if fi.Info, err = DecodeInfo(hdr[FullInfoHeaderSize:]); err != nil {
			return fi, err
		}
	}
	fi.NumSubflows = int(h.NumSubflows)
	n := uint64(min(h.NumSubflows, h.SizeArraysUser))
	sfStride, tcpStride := uint64(h.SizeSfInfoUser), uint64(h.SizeTCPInfoUser)
	if h.SizeSfInfoKernel != 0 && sfStride > uint64(h.SizeSfInfoKernel) ||
		h.SizeTCPInfoKernel != 0 && tcpStride > uint64(h.SizeTCPInfoKernel) {
		return fi, malformed("mptcp_full_info element sizes %d/%d exceed the kernel's %d/%d",
			sfStride, tcpStride, h.SizeSfInfoKernel, h.SizeTCPInfoKernel)
	}
	if n*sfStride > uint64(len(sfinfo)) || n*tcpStride > uint64(len(tcpinfo)) {
		return fi, malformed("mptcp_full_info reports %d subflows, more than its arrays hold", n)
	}
	if sfStride < 4 && n > 0 {
		return fi, malformed("mptcp_subflow_info stride %d is too small for the id", sfStride)
	}
	fi.Subflows = make([]SubflowFullInfo, n)
	for i := range fi.Subflows {
		s := &fi.Subflows[i]
		e := sfinfo[uint64(i)*sfStride : uint64(i+1)*sfStride]
		s.ID = binary.NativeEndian.Uint32(e)
		if len(e) > offSubflowInfoAddrs {
			a, err := DecodeSubflowAddrs(e[offSubflowInfoAddrs:])
			if err != nil {
				return fi, fmtIndex("subflow", i, err)
			}
			s.Local, s.Remote = a.Local, a.Remote
		}
		if tcpStride > 0 {
			if s.TCP, err = DecodeTCPInfo(tcpinfo[uint64(i)*tcpStride : uint64(i+1)*tcpStride]); err != nil {
				return fi, fmtIndex("subflow", i, err)
			}
		}
	}
	return fi, nil
}
