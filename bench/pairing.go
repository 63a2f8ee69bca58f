package bench

import (
	"fmt"
	"strings"
)

// Kind is the implementation at one end of a connection.
type Kind string

// Kinds of ends.
const (
	KindLinux   Kind = "linux"   // the Linux kernel's MPTCP, through sockets
	KindGomptcp Kind = "gomptcp" // this module's stack on TUN devices
)

// Pairing is the client's and the server's implementation.
type Pairing struct{ Client, Server Kind }

// The pairings of the aggregation and failover benchmarks.
var (
	LinuxLinux     = Pairing{KindLinux, KindLinux}
	GomptcpLinux   = Pairing{KindGomptcp, KindLinux}
	LinuxGomptcp   = Pairing{KindLinux, KindGomptcp}
	GomptcpGomptcp = Pairing{KindGomptcp, KindGomptcp}
)

// String renders p as "client-server", as ParsePairing reads it.
func (p Pairing) String() string { return string(p.Client) + "-" + string(p.Server) }

// ParsePairing reads "client-server", each "linux" or "gomptcp".
func ParsePairing(s string) (Pairing, error) {
	c, sv, ok := strings.Cut(s, "-")
	p := Pairing{Kind(c), Kind(sv)}
	if !ok || !p.Client.valid() || !p.Server.valid() {
		return Pairing{}, fmt.Errorf("pairing %q: want CLIENT-SERVER, each linux or gomptcp", s)
	}
	return p, nil
}

// ParsePairings reads a comma-separated list of pairings.
func ParsePairings(s string) ([]Pairing, error) {
	var ps []Pairing
	for f := range strings.SplitSeq(s, ",") {
		p, err := ParsePairing(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func (k Kind) valid() bool { return k == KindLinux || k == KindGomptcp }
