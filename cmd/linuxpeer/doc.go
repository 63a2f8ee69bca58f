// Command linuxpeer is a small peer program around the Linux kernel's MPTCP
// sockets (Go's net.Dialer and net.ListenConfig with SetMultipathTCP(true)).
// It is the kernel side of gomptcp's interop tests and the program that
// produces the packet captures in wire/testdata/captures, and it is meant to
// be usable by hand:
//
//	linuxpeer listen  [--addr ADDR:PORT] [--count N] [flags]
//	linuxpeer connect ADDR:PORT [--local ADDR] [flags]
//	linuxpeer gen     --bytes N [--seed S]
//
// A connection runs the same steps on both sides: read everything the peer
// sends (hashing it, optionally writing it to --out and checking it against
// --expect-bytes), and at the same time wait --delay, send --send-bytes bytes
// of the deterministic payload (or the contents of --send FILE) in writes of
// --chunk bytes spaced by --interval, wait --hold, then close: normally with a
// half-close (shutdown(SHUT_WR), which makes the kernel send a DATA_FIN)
// followed by waiting for the peer's end of stream, or with --fastclose
// abortively (SO_LINGER 0 and close, which makes the kernel send RST segments
// with MP_FASTCLOSE, RFC 8684 §3.5). --hold ends early if the peer resets the
// connection. --expect-reset makes a reset by the peer the expected outcome,
// --timeout bounds a whole connection, and --mptcp=false uses plain TCP
// sockets. listen serves --count connections one after another (0: until
// SIGINT or SIGTERM).
//
// The payload of --send-bytes is the little-endian byte stream of the
// SplitMix64 generator started from --seed, so any peer can reproduce it
// (linuxpeer gen writes it to stdout).
//
// Each finished connection prints a summary on stderr: bytes sent and
// received, the SHA-256 of each direction, and whether the socket was still
// MPTCP (TCPConn.MultipathTCP) at the start and at the end of the transfer.
// With --json every line on stderr is one JSON object ("listening",
// "summary" or "error" events). Errors are one line on stderr and exit
// status 1.
package main
