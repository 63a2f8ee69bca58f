package pm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// This file holds the pure encoders and decoders of the mptcp_pm attribute
// payloads: no sockets, so every request and reply can be checked in unit
// tests and every decoder fuzzed.

// ErrMalformed is wrapped by every error returned for a kernel reply or event
// whose attributes cannot be decoded.
var ErrMalformed = errors.New("malformed mptcp_pm attributes")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// addrSpec is the content of one address nest (MPTCP_PM_ATTR_ADDR or
// MPTCP_PM_ATTR_ADDR_REMOTE), each field sent only when set.
type addrSpec struct {
	id      uint8
	hasID   bool // send id even when it is 0
	addr    netip.Addr
	port    uint16
	flags   EndpointFlags
	ifIndex int
}

// encodeAddr appends an address nest of type typ to ae, in the attribute
// order iproute2 uses.
func encodeAddr(ae *netlink.AttributeEncoder, typ uint16, a addrSpec) {
	ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
		if a.hasID || a.id != 0 {
			nae.Uint8(addrAttrID, a.id)
		}
		if a.flags != 0 {
			nae.Uint32(addrAttrFlags, uint32(a.flags))
		}
		if a.ifIndex != 0 {
			if int(int32(a.ifIndex)) != a.ifIndex {
				return fmt.Errorf("interface index %d out of range", a.ifIndex)
			}
			nae.Int32(addrAttrIfIdx, int32(a.ifIndex))
		}
		if a.port != 0 {
			// The address nest carries the port in host byte order
			// (mptcp_pm_parse_addr does htons on it).
			nae.Uint16(addrAttrPort, a.port)
		}
		if a.addr.IsValid() {
			if a.addr.Is4() {
				nae.Uint16(addrAttrFamily, afINET)
				b := a.addr.As4()
				nae.Bytes(addrAttrAddr4, b[:])
			} else {
				nae.Uint16(addrAttrFamily, afINET6)
				b := a.addr.As16()
				nae.Bytes(addrAttrAddr6, b[:])
			}
		}
		return nil
	})
}

// Request encoders. Each returns the attribute payload of one command; the
// command number and netlink flags are chosen by the Client method.

func encodeAddEndpoint(e Endpoint) ([]byte, error) {
	if !e.Addr.IsValid() {
		return nil, errors.New("endpoint needs an address")
	}
	ae := netlink.NewAttributeEncoder()
	encodeAddr(ae, attrAddr, addrSpec{id: e.ID, addr: e.Addr, port: e.Port, flags: e.Flags, ifIndex: e.IfIndex})
	return ae.Encode()
}

func encodeDelEndpoint(id uint8, addr netip.Addr) ([]byte, error) {
	if id == 0 && !addr.IsValid() {
		return nil, errors.New("deleting the endpoint with id 0 needs its address")
	}
	a := addrSpec{id: id, hasID: true}
	if id == 0 {
		a.addr = addr
	}
	ae := netlink.NewAttributeEncoder()
	encodeAddr(ae, attrAddr, a)
	return ae.Encode()
}

func encodeGetEndpoint(id uint8) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	encodeAddr(ae, attrAddr, addrSpec{id: id, hasID: true})
	return ae.Encode()
}

func encodeDumpEndpoints(token uint32, hasToken bool) ([]byte, error) {
	if !hasToken {
		return nil, nil
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	return ae.Encode()
}

func encodeSetLimits(subflows, addAddrAccepted *uint32) ([]byte, error) {
	if subflows == nil && addAddrAccepted == nil {
		return nil, errors.New("no limit to set")
	}
	ae := netlink.NewAttributeEncoder()
	if addAddrAccepted != nil {
		ae.Uint32(attrRcvAddAddrs, *addAddrAccepted)
	}
	if subflows != nil {
		ae.Uint32(attrSubflows, *subflows)
	}
	return ae.Encode()
}

func encodeSetFlags(id uint8, addr netip.AddrPort, flags EndpointFlags) ([]byte, error) {
	if flags&^ChangeableFlags != 0 {
		return nil, fmt.Errorf("only the backup and fullmesh flags can be changed, not %q", (flags &^ ChangeableFlags).String())
	}
	if id == 0 && !addr.Addr().IsValid() {
		return nil, errors.New("changing endpoint flags needs an endpoint id or address")
	}
	a := addrSpec{id: id, flags: flags}
	if id == 0 {
		a.addr, a.port = addr.Addr(), addr.Port()
	}
	ae := netlink.NewAttributeEncoder()
	encodeAddr(ae, attrAddr, a)
	return ae.Encode()
}

func encodeSetSubflowBackup(token uint32, local, remote netip.AddrPort, backup bool) ([]byte, error) {
	if !local.Addr().IsValid() || !remote.Addr().IsValid() {
		return nil, errors.New("changing a subflow's priority needs its local and remote addresses")
	}
	var flags EndpointFlags
	if backup {
		flags = FlagBackup
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	encodeAddr(ae, attrAddr, addrSpec{addr: local.Addr(), port: local.Port(), flags: flags})
	encodeAddr(ae, attrAddrRemote, addrSpec{addr: remote.Addr(), port: remote.Port()})
	return ae.Encode()
}

func encodeAnnounce(token uint32, e Endpoint) ([]byte, error) {
	if e.ID == 0 {
		// ID 0 always names the initial subflow's address (RFC 8684 §3.4.1),
		// which the peer knows already.
		return nil, errors.New("an announced address needs a nonzero id")
	}
	if !e.Addr.IsValid() {
		return nil, errors.New("announce needs an address")
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	// The kernel accepts only addresses flagged signal here.
	encodeAddr(ae, attrAddr, addrSpec{id: e.ID, addr: e.Addr, port: e.Port, flags: e.Flags | FlagSignal, ifIndex: e.IfIndex})
	return ae.Encode()
}

func encodeRemove(token uint32, id uint8) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	ae.Uint8(attrLocID, id)
	return ae.Encode()
}

func encodeSubflowCreate(token uint32, local Endpoint, remote netip.AddrPort) ([]byte, error) {
	if !local.Addr.IsValid() {
		return nil, errors.New("a new subflow needs a local address")
	}
	if !remote.Addr().IsValid() || remote.Port() == 0 {
		return nil, errors.New("a new subflow needs a remote address and port")
	}
	if local.Addr.Is4() != remote.Addr().Is4() {
		return nil, errors.New("local and remote addresses of a subflow must be of the same family")
	}
	if local.Flags&FlagSignal != 0 {
		return nil, errors.New("the signal flag is not valid on a subflow's local address")
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	encodeAddr(ae, attrAddr, addrSpec{id: local.ID, addr: local.Addr, port: local.Port, flags: local.Flags, ifIndex: local.IfIndex})
	encodeAddr(ae, attrAddrRemote, addrSpec{addr: remote.Addr(), port: remote.Port()})
	return ae.Encode()
}

func encodeSubflowDestroy(token uint32, local, remote netip.AddrPort) ([]byte, error) {
	if !local.Addr().IsValid() || local.Port() == 0 || !remote.Addr().IsValid() || remote.Port() == 0 {
		return nil, errors.New("destroying a subflow needs its local and remote addresses and ports")
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(attrToken, token)
	encodeAddr(ae, attrAddr, addrSpec{addr: local.Addr(), port: local.Port()})
	encodeAddr(ae, attrAddrRemote, addrSpec{addr: remote.Addr(), port: remote.Port()})
	return ae.Encode()
}

// Reply decoders.

// decodeEndpointReply decodes the attributes of a GET_ADDR reply: an
// MPTCP_PM_ATTR_ADDR nest (and, for a userspace path manager, a token).
func decodeEndpointReply(b []byte) (Endpoint, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return Endpoint{}, malformed("endpoint reply: %v", err)
	}
	var (
		e     Endpoint
		found bool
	)
	for ad.Next() {
		if ad.Type() != attrAddr {
			continue
		}
		if found {
			return Endpoint{}, malformed("endpoint reply: two address nests")
		}
		found = true
		ad.Do(func(nb []byte) error {
			var err error
			e, err = decodeAddrNest(nb)
			return err
		})
	}
	if err := ad.Err(); err != nil {
		if errors.Is(err, ErrMalformed) {
			return Endpoint{}, err
		}
		return Endpoint{}, malformed("endpoint reply: %v", err)
	}
	if !found {
		return Endpoint{}, malformed("endpoint reply without an address nest")
	}
	return e, nil
}

// decodeAddrNest decodes the attributes inside an address nest.
func decodeAddrNest(b []byte) (Endpoint, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return Endpoint{}, malformed("address: %v", err)
	}
	var (
		e            Endpoint
		family       uint16
		hasFamily    bool
		addr4, addr6 netip.Addr
	)
	for ad.Next() {
		n := len(attrData(ad))
		switch ad.Type() {
		case addrAttrFamily:
			if n != 2 {
				return Endpoint{}, malformed("address family: %d bytes, want 2", n)
			}
			family, hasFamily = ad.Uint16(), true
		case addrAttrID:
			if n != 1 {
				return Endpoint{}, malformed("address id: %d bytes, want 1", n)
			}
			e.ID = ad.Uint8()
		case addrAttrAddr4:
			if n != 4 {
				return Endpoint{}, malformed("IPv4 address: %d bytes, want 4", n)
			}
			addr4 = netip.AddrFrom4([4]byte(attrData(ad)))
		case addrAttrAddr6:
			if n != 16 {
				return Endpoint{}, malformed("IPv6 address: %d bytes, want 16", n)
			}
			addr6 = netip.AddrFrom16([16]byte(attrData(ad)))
		case addrAttrPort:
			if n != 2 {
				return Endpoint{}, malformed("address port: %d bytes, want 2", n)
			}
			e.Port = ad.Uint16()
		case addrAttrFlags:
			if n != 4 {
				return Endpoint{}, malformed("address flags: %d bytes, want 4", n)
			}
			e.Flags = EndpointFlags(ad.Uint32())
		case addrAttrIfIdx:
			if n != 4 {
				return Endpoint{}, malformed("address interface index: %d bytes, want 4", n)
			}
			e.IfIndex = int(ad.Int32())
		}
		// Attributes newer than this package are skipped.
	}
	if err := ad.Err(); err != nil {
		return Endpoint{}, malformed("address: %v", err)
	}
	switch {
	case hasFamily && family == afINET:
		if !addr4.IsValid() {
			return Endpoint{}, malformed("address of family AF_INET without an IPv4 address")
		}
		e.Addr = addr4
	case hasFamily && family == afINET6:
		if !addr6.IsValid() {
			return Endpoint{}, malformed("address of family AF_INET6 without an IPv6 address")
		}
		e.Addr = addr6
	case hasFamily:
		return Endpoint{}, malformed("address of unknown family %d", family)
	case addr4.IsValid() && addr6.IsValid():
		return Endpoint{}, malformed("address with both IPv4 and IPv6 addresses and no family")
	case addr4.IsValid():
		e.Addr = addr4
	case addr6.IsValid():
		e.Addr = addr6
	default:
		return Endpoint{}, malformed("address nest without an address")
	}
	return e, nil
}

// decodeLimits decodes the attributes of a GET_LIMITS reply.
func decodeLimits(b []byte) (Limits, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return Limits{}, malformed("limits reply: %v", err)
	}
	var (
		l            Limits
		hasSub, hasR bool
	)
	for ad.Next() {
		n := len(attrData(ad))
		switch ad.Type() {
		case attrRcvAddAddrs:
			if n != 4 {
				return Limits{}, malformed("add_addr_accepted limit: %d bytes, want 4", n)
			}
			l.AddAddrAccepted, hasR = ad.Uint32(), true
		case attrSubflows:
			if n != 4 {
				return Limits{}, malformed("subflows limit: %d bytes, want 4", n)
			}
			l.Subflows, hasSub = ad.Uint32(), true
		}
	}
	if err := ad.Err(); err != nil {
		return Limits{}, malformed("limits reply: %v", err)
	}
	if !hasSub || !hasR {
		return Limits{}, malformed("limits reply lacks the subflows or add_addr_accepted limit")
	}
	return l, nil
}

// attrData returns the payload of the decoder's current attribute without
// copying it. It must not be retained.
func attrData(ad *netlink.AttributeDecoder) []byte {
	var data []byte
	ad.Do(func(b []byte) error {
		data = b
		return nil
	})
	return data
}

// be16 decodes a big-endian 16-bit value (event ports).
func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
