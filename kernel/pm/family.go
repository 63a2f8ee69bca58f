package pm

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Generic netlink controller numbers (include/uapi/linux/genetlink.h), fixed
// here so that the package builds on every GOOS.
const (
	genlIDCtrl          = 0x10 // GENL_ID_CTRL
	ctrlCmdGetFamily    = 3    // CTRL_CMD_GETFAMILY
	ctrlAttrFamilyID    = 1    // CTRL_ATTR_FAMILY_ID: u16
	ctrlAttrFamilyName  = 2    // CTRL_ATTR_FAMILY_NAME: string
	ctrlAttrVersion     = 3    // CTRL_ATTR_VERSION: u32
	ctrlAttrMcastGroups = 7    // CTRL_ATTR_MCAST_GROUPS: nest of nests
	ctrlAttrMcastGrpNm  = 1    // CTRL_ATTR_MCAST_GRP_NAME: string
	ctrlAttrMcastGrpID  = 2    // CTRL_ATTR_MCAST_GRP_ID: u32
)

// family is what the controller tells about mptcp_pm.
type family struct {
	id      uint16
	version uint32
	groups  map[string]uint32
}

// resolveFamily asks the generic netlink controller on conn for the
// mptcp_pm family. It does its own decoding rather than using
// genetlink.Conn.GetFamily so that an unexpected reply is an error, not a
// panic.
func resolveFamily(conn *genetlink.Conn) (family, error) {
	ae := netlink.NewAttributeEncoder()
	ae.String(ctrlAttrFamilyName, FamilyName)
	b, err := ae.Encode()
	if err != nil {
		return family{}, err
	}
	msgs, err := conn.Execute(genetlink.Message{
		Header: genetlink.Header{Command: ctrlCmdGetFamily, Version: 1},
		Data:   b,
	}, genlIDCtrl, netlink.Request)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return family{}, ErrFamilyNotFound
		}
		return family{}, fmt.Errorf("looking up the %s generic netlink family: %w", FamilyName, err)
	}
	if len(msgs) != 1 {
		return family{}, malformed("controller sent %d replies for family %s, want 1", len(msgs), FamilyName)
	}
	f, name, err := decodeFamily(msgs[0].Data)
	if err != nil {
		return family{}, err
	}
	if name != FamilyName {
		return family{}, malformed("controller answered for family %q, want %q", name, FamilyName)
	}
	return f, nil
}

// decodeFamily decodes a CTRL_CMD_NEWFAMILY reply.
func decodeFamily(b []byte) (family, string, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return family{}, "", malformed("family reply: %v", err)
	}
	var (
		f     family
		name  string
		hasID bool
	)
	for ad.Next() {
		switch ad.Type() {
		case ctrlAttrFamilyID:
			f.id, hasID = ad.Uint16(), true
		case ctrlAttrFamilyName:
			name = ad.String()
		case ctrlAttrVersion:
			f.version = ad.Uint32()
		case ctrlAttrMcastGroups:
			f.groups = make(map[string]uint32)
			ad.Nested(func(gad *netlink.AttributeDecoder) error {
				for gad.Next() {
					gad.Nested(func(nad *netlink.AttributeDecoder) error {
						var (
							gname string
							gid   uint32
							has   bool
						)
						for nad.Next() {
							switch nad.Type() {
							case ctrlAttrMcastGrpNm:
								gname = nad.String()
							case ctrlAttrMcastGrpID:
								gid, has = nad.Uint32(), true
							}
						}
						if has && gname != "" {
							f.groups[gname] = gid
						}
						return nil
					})
				}
				return nil
			})
		}
	}
	if err := ad.Err(); err != nil {
		return family{}, "", malformed("family reply: %v", err)
	}
	if !hasID || f.id == 0 {
		return family{}, "", malformed("family reply without a family id")
	}
	return f, name, nil
}
