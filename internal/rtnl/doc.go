// Package rtnl decodes and encodes the rtnetlink (NETLINK_ROUTE,
// rtnetlink(7)) messages that describe network interfaces and their
// addresses: RTM_NEWLINK and RTM_DELLINK (a struct ifinfomsg followed by
// IFLA_* attributes) and RTM_NEWADDR and RTM_DELADDR (a struct ifaddrmsg
// followed by IFA_* attributes).
//
// ParseLink, ParseAddr and Parse take the payload of one message, after
// the netlink header. They check every field they return: a short header,
// an interface index that is not positive, an attribute whose length
// leaves its header or the message, a trailing fragment shorter than an
// attribute header, an IFLA_MTU or IFA_FLAGS that is not four bytes, an
// address whose length does not fit the message's family, a prefix longer
// than the address, or a name or label that is not NUL-terminated or does
// not fit IFNAMSIZ gives an error wrapping ErrMalformed. An address
// message of a family other than AF_INET and AF_INET6 gives an error
// wrapping ErrFamily. Attributes the package does not use are skipped, so
// the messages of newer kernels parse.
//
// Link.Append and Addr.Append encode the same structures, for requests and
// tests; what Parse returns encodes to a message that parses to the same
// value.
//
// The numbers mirror the Linux uapi headers (linux/rtnetlink.h,
// linux/if_link.h, linux/if_addr.h, linux/if.h) and are defined here
// rather than taken from golang.org/x/sys/unix, so that the package
// builds, and decodes captured messages, on every platform. Integers are
// in host byte order, as the kernel sends them.
package rtnl
