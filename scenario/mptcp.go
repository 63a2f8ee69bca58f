package scenario

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/link/sim"
	"github.com/gomptcp/mptcp/meta"
	"github.com/gomptcp/mptcp/stack"
	"github.com/gomptcp/mptcp/tcp"
)

// enableMPTCP turns on MPTCP on every host's stack, with the scenario's
// path manager, when a flow uses it. Keys and nonces come from a stream
// seeded by the scenario's seed and the host.
func (r *Runner) enableMPTCP() error {
	any := false
	for i := range r.spec.Flows {
		any = any || r.spec.Flows[i].MPTCP
	}
	if !any {
		return nil
	}
	for i, h := range r.spec.Hosts {
		st := r.stacks[h]
		err := st.EnableMPTCP(stack.MPConfig{
			Meta: meta.Config{
				Subflow:   st.TCPConfig(),
				Checksum:  r.spec.MPTCP.Checksum,
				ChunkSize: r.spec.MPTCP.ChunkSize,
				Rand:      newSeededReader(r.spec.Seed ^ uint64(i+1)*0xa0761d6478bd642f),
			},
			PathManager: r,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// seededReader is a deterministic io.Reader (SplitMix64) for MPTCP keys
// and nonces: a scenario runs identically every time.
type seededReader struct{ x uint64 }

func newSeededReader(seed uint64) *seededReader { return &seededReader{x: seed} }

func (r *seededReader) Read(p []byte) (int, error) {
	for i := range p {
		if i%8 == 0 {
			r.x = splitmix(r.x)
		}
		p[i] = byte(r.x >> (8 * (i % 8)))
	}
	return len(p), nil
}

// HandleEvent is the scenario's path manager (stack.PathManager): when a
// flow's sending connection is fully established, it opens the flow's
// Subflows.
func (r *Runner) HandleEvent(now time.Time, c stack.Controller, ev stack.PMEvent) {
	if ev.Type != stack.PMEventEstablished || c.ServerSide() {
		return
	}
	for _, a := range r.flows {
		if a.dialMP == nil || stack.Controller(a.dialMP) != c {
			continue
		}
		for _, sf := range a.spec.Subflows {
			from, _ := r.spec.endpoint(sf.From)
			to, _ := r.spec.endpoint(sf.To)
			local := r.top.hostIface(r.spec, from.host, from.link).Addrs()[0].Addr()
			remote := r.top.hostIface(r.spec, to.host, to.link).Addrs()[0].Addr()
			// A subflow that cannot be opened (its path is down: no
			// route) is not a failure of the flow; the others carry it.
			if _, err := c.AddSubflow(now, netip.AddrPortFrom(local, 0), netip.AddrPortFrom(remote, a.dst.Port()), sf.Backup); err != nil {
				a.subflowErrs++
			}
		}
	}
}

// listenMPTCP opens the receiver's MPTCP listener, on every address of
// the host: subflows join at the host's other addresses.
func (a *flowApp) listenMPTCP() error {
	onEvent := a.mpReceiverEvent
	if a.spec.Download {
		onEvent = a.mpSenderEvent
	}
	_, err := a.recvSt.ListenMPTCP(a.r.net.Now(), netip.AddrPortFrom(netip.Addr{}, a.dst.Port()), &stack.MPListenOptions{
		OnEvent:  onEvent,
		OnAccept: a.mpAccept,
		Meta:     func(c *meta.Config) { a.metaConfig(c, a.spec.Download) },
	})
	return err
}

// metaConfig applies the flow's settings to an end's engine
// configuration: the subflow template, the buffers and, for the sender,
// the scheduler.
func (a *flowApp) metaConfig(c *meta.Config, sender bool) {
	key := c.Subflow.ISNKey
	c.Subflow = a.cfg
	if c.Subflow.ISNKey == ([16]byte{}) {
		c.Subflow.ISNKey = key
	}
	if b := a.spec.MPTCPBuffer; b > 0 {
		c.SendBufferSize, c.RecvBufferSize = b, b
	}
	if sender && a.spec.Scheduler != nil {
		c.Scheduler = a.spec.Scheduler()
	}
}

// dialMPTCP connects the sender of an MPTCP flow.
func (a *flowApp) dialMPTCP(now time.Time) {
	onEvent := a.mpSenderEvent
	if a.spec.Download {
		onEvent = a.mpReceiverEvent
	}
	c, err := a.sendSt.DialMPTCP(now, a.dst, &stack.MPDialOptions{
		Local:   netip.AddrPortFrom(a.src, 0),
		OnEvent: onEvent,
		Meta:    func(c *meta.Config) { a.metaConfig(c, !a.spec.Download) },
	})
	if err != nil {
		a.fail(err)
		return
	}
	a.dialMP = c
	if a.spec.Download {
		a.rcv, a.rcvMP = c, c
	} else {
		a.snd, a.sndMP = c, c
	}
}

func (a *flowApp) mpSenderEvent(now time.Time, c *stack.MPConn, ev meta.Event) {
	if a.snd == nil {
		a.snd, a.sndMP = c, c // an accepted sender: events flow from the SYN on
	}
	if flowConn(c) != a.snd {
		return
	}
	switch ev.Kind {
	case meta.EventEstablished:
		a.onEstablished(now)
	case meta.EventWritable:
		a.pump(now)
	case meta.EventClosed:
		a.fail(ev.Err)
	}
}

func (a *flowApp) mpAccept(now time.Time, l *stack.MPListener) {
	for {
		c, ok := l.Accept()
		if !ok {
			return
		}
		conn, mp := &a.rcv, &a.rcvMP
		if a.spec.Download {
			conn, mp = &a.snd, &a.sndMP
		}
		if *conn == nil {
			*conn, *mp = c, c
			continue
		}
		if flowConn(c) != *conn {
			a.fail(errExtraConn)
			c.Abort(now)
		}
	}
}

func (a *flowApp) mpReceiverEvent(now time.Time, c *stack.MPConn, ev meta.Event) {
	if a.rcv == nil {
		a.rcv, a.rcvMP = c, c // events flow from the SYN on, before OnAccept
	}
	if flowConn(c) != a.rcv {
		return
	}
	switch ev.Kind {
	case meta.EventReadable, meta.EventEOF:
		a.drain(now)
	case meta.EventClosed:
		a.drain(now)
		if !a.done {
			a.fail(ev.Err)
		}
	}
}

// initialInfo sums the counters of an MPTCP connection's subflows into
// one tcp.Info, with the RTT, windows and controller of the first.
func initialInfo(in *meta.Info) tcp.Info {
	if len(in.Subflow) == 0 {
		return tcp.Info{}
	}
	t := in.Subflow[0].TCP
	for _, sf := range in.Subflow[1:] {
		t.TotalRetrans += sf.TCP.TotalRetrans
		t.RTOs += sf.TCP.RTOs
		t.Recoveries += sf.TCP.Recoveries
		t.BytesAcked += sf.TCP.BytesAcked
		t.BytesReceived += sf.TCP.BytesReceived
		t.SegsOut += sf.TCP.SegsOut
		t.SegsIn += sf.TCP.SegsIn
	}
	return t
}

// Link returns the simulator's link of the named link, or nil: for tests
// that put middleboxes on it (its directions' AddIngress) while it runs.
func (r *Runner) Link(name string) *sim.Link {
	for i, l := range r.spec.Links {
		if l.Name == name {
			return r.top.links[i]
		}
	}
	return nil
}

// Parallel returns a scenario in which hosts "client" and "server" are
// joined directly by one link per element of paths, named "p1", "p2", …;
// path i's AB direction is paths[i][0] (client to server), BA paths[i][1].
func Parallel(paths ...[2]impair.Config) Scenario {
	s := Scenario{Hosts: []string{"client", "server"}}
	for i, p := range paths {
		s.Links = append(s.Links, Link{Name: fmt.Sprintf("p%d", i+1), A: "client", B: "server", AB: p[0], BA: p[1]})
	}
	return s
}

// MPTCPFlow returns an MPTCP flow from the client to the server of a
// Parallel scenario with n paths: its initial subflow on "p1", and one
// more subflow on each other path.
func MPTCPFlow(name string, n int, bytes int64) Flow {
	f := Flow{Name: name, From: "client/p1", To: "server/p1", Bytes: bytes, MPTCP: true}
	for i := 2; i <= n; i++ {
		f.Subflows = append(f.Subflows, Subflow{From: fmt.Sprintf("client/p%d", i), To: fmt.Sprintf("server/p%d", i)})
	}
	return f
}
