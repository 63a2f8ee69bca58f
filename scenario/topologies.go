package scenario

import (
	"fmt"

	"github.com/gomptcp/mptcp/link/impair"
)

// Direct returns a scenario with two hosts, "client" and "server", joined
// by one link "path" with fwd from client to server and rev back. Add
// flows (and a name and seed) to it.
func Direct(fwd, rev impair.Config) Scenario {
	return Scenario{
		Hosts: []string{"client", "server"},
		Links: []Link{{Name: "path", A: "client", B: "server", AB: fwd, BA: rev}},
	}
}

// Dumbbell returns a scenario in which n sender hosts "c1".."cn" share a
// bottleneck towards one receiver host "s": each sender is joined to
// router "r1" by a link "c<i>" with access in both directions, "r1" to
// router "r2" by the bottleneck link "bn" with fwd from r1 to r2 and rev
// back, and "r2" to "s" by a link "s" with access.
func Dumbbell(n int, access, fwd, rev impair.Config) Scenario {
	s := Scenario{Routers: []string{"r1", "r2"}}
	for i := 1; i <= n; i++ {
		h := fmt.Sprintf("c%d", i)
		s.Hosts = append(s.Hosts, h)
		s.Links = append(s.Links, Link{Name: h, A: h, B: "r1", AB: access, BA: access})
	}
	s.Hosts = append(s.Hosts, "s")
	s.Links = append(s.Links,
		Link{Name: "bn", A: "r1", B: "r2", AB: fwd, BA: rev},
		Link{Name: "s", A: "r2", B: "s", AB: access, BA: access})
	return s
}
