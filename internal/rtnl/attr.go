package rtnl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is wrapped by the errors of messages that do not have the
// shape rtnetlink(7) gives them.
var ErrMalformed = errors.New("malformed rtnetlink message")

// ErrFamily is wrapped by the error of an address message of a family
// other than AF_INET and AF_INET6: not malformed, but nothing this package
// decodes.
var ErrFamily = errors.New("rtnetlink message of another address family")

// attrs walks the attributes that follow a fixed header, as the kernel's
// nla_for_each_attr does: each is a struct rtattr (length u16 including
// the 4-byte header, type u16) and its payload, padded to 4 bytes; the
// padding of the last one may be missing. Unlike nla_ok, which stops
// quietly, a length below the header or past the end, or a trailing
// fragment shorter than a header, is an error.
type attrs struct {
	b   []byte
	typ uint16 // type of the current attribute, flags cleared
	v   []byte // payload of the current attribute
	err error
}

// next moves to the next attribute. It reports false at the end or on a
// malformed attribute; err tells which.
func (a *attrs) next() bool {
	if a.err != nil || len(a.b) == 0 {
		return false
	}
	if len(a.b) < sizeofAttrHdr {
		a.err = fmt.Errorf("%d trailing bytes", len(a.b))
		return false
	}
	l := int(binary.NativeEndian.Uint16(a.b[0:2]))
	a.typ = binary.NativeEndian.Uint16(a.b[2:4]) & attrTypeMask
	if l < sizeofAttrHdr || l > len(a.b) {
		a.err = fmt.Errorf("attribute %d: length %d with %d bytes left", a.typ, l, len(a.b))
		return false
	}
	a.v = a.b[sizeofAttrHdr:l]
	a.b = a.b[min(align(l), len(a.b)):]
	return true
}

// uint32 decodes the current attribute as a u32.
func (a *attrs) uint32(name string) (uint32, bool) {
	if len(a.v) != 4 {
		a.err = fmt.Errorf("%s: %d bytes, want 4", name, len(a.v))
		return 0, false
	}
	return binary.NativeEndian.Uint32(a.v), true
}

// name decodes the current attribute as an interface name or address
// label: NUL-terminated (bytes after the NUL are ignored, as the kernel's
// nla_strscpy does) and shorter than IFNAMSIZ.
func (a *attrs) name(what string) (string, bool) {
	s, _, found := strings.Cut(string(a.v), "\x00")
	switch {
	case !found:
		a.err = fmt.Errorf("%s: not NUL-terminated", what)
		return "", false
	case len(s) >= IFNameSize:
		a.err = fmt.Errorf("%s: %d bytes, more than IFNAMSIZ allows", what, len(s))
		return "", false
	}
	return s, true
}

func align(n int) int { return (n + attrAlign - 1) &^ (attrAlign - 1) }

// appendAttr appends an attribute with payload v, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, v []byte) []byte {
	b = appendAttrHeader(b, typ, len(v))
	return padAttr(append(b, v...), len(v))
}

// appendString appends a NUL-terminated string attribute.
func appendString(b []byte, typ uint16, s string) []byte {
	b = appendAttrHeader(b, typ, len(s)+1)
	b = append(append(b, s...), 0)
	return padAttr(b, len(s)+1)
}

// appendUint32 appends a u32 attribute.
func appendUint32(b []byte, typ uint16, v uint32) []byte {
	return binary.NativeEndian.AppendUint32(appendAttrHeader(b, typ, 4), v)
}

func appendAttrHeader(b []byte, typ uint16, n int) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(sizeofAttrHdr+n))
	return binary.NativeEndian.AppendUint16(b, typ)
}

// padAttr pads a payload of n bytes to the attribute alignment.
func padAttr(b []byte, n int) []byte {
	for range align(n) - n {
		b = append(b, 0)
	}
	return b
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}
