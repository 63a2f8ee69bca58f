// Package socket runs a stack.Stack in real time and offers its
// connections as net.Conn and its listeners as net.Listener.
//
// The name is the noun for what the package hands out: sockets, the
// blocking, goroutine-safe view of the sans-IO connections of package
// stack.
//
// # Threads
//
// A Stack is sans-IO and single-threaded: one event-loop goroutine owns it
// together with its link backend. That goroutine is the backend's (a Loop:
// link/tun's Stack, or SimLoop for the simulator); a Host reaches the
// Stack only through Loop.Do, which runs a function on it. Application
// goroutines block in Read, Write, Accept and DialContext on channels that
// the Stack's event callbacks signal, so nothing polls. Read copies
// straight from the engine's receive buffer into the caller's slice, and
// Write straight from the caller's slice into the send buffer, on the loop
// goroutine while the caller waits; a call abandoned because the Host or
// its Loop closed never touches the caller's slice afterwards.
//
// Deadlines (SetDeadline, SetReadDeadline, SetWriteDeadline) run on the
// Host's clock.Clock, wall-clock time by default, and time out with an
// error whose Timeout method reports true (os.ErrDeadlineExceeded inside a
// *net.OpError), as net's own connections do. Other errors are a
// *net.OpError around net.ErrClosed (use after Close) or the engine's
// error (errors.Is(err, tcp.ErrConnectionReset), tcp.ErrConnectionRefused,
// a timeout), and io.EOF after the peer's FIN.
//
// # Use
//
// Over Linux TUN devices (link/tun), whose Stack is the Loop:
//
//	ts, err := tun.Open(tunCfg)
//	st, err := stack.New(stack.Config{})
//	for _, nic := range ts.NICs() {
//		st.AddNIC(nic)
//	}
//	err = ts.Start(st)
//	h := socket.New(ts, st, socket.Config{})
//	c, err := h.DialContext(ctx, "tcp", "192.0.2.1:80")
//	…
//	h.Close()
//	ts.Close()
//
// Over the simulator, a SimLoop is the Loop of every Host on the Network:
//
//	loop := socket.NewSimLoop(network, socket.SimConfig{})
//	a, b := socket.New(loop, stackA, socket.Config{}), socket.New(loop, stackB, socket.Config{})
//	loop.Start()
//
// # The simulator in real time
//
// SimLoop drives a link/sim Network on a goroutine, with virtual time kept
// in step with a clock.Clock: every Host on the network's Stacks then
// behaves like a real one. Under testing/synctest, whose fake clock
// advances only when every goroutine of the bubble is blocked, a whole
// network of Hosts runs in fake time, deterministically and as fast as the
// CPU allows; SimLoop does no real I/O, so it never blocks a bubble.
//
// Between runs SimLoop sleeps until the simulator's next event is due
// (sim.Network's NextEventTime: a packet leaving a link's queue or
// reaching its far end, a Node's timer, a callback), then runs the
// simulation up to the virtual time that corresponds to the clock, so an
// application sees every packet at its exact virtual time.
package socket
