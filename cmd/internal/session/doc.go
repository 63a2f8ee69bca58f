// Package session runs one side of a data transfer over one connection,
// the way both of gomptcp's transfer tools do: cmd/linuxpeer on the Linux
// kernel's MPTCP sockets and "mptcp connect/listen" on gomptcp's own stack.
// The two are each other's peers in the interop tests, so they share the
// steps, the flags and the checks, and differ only where their connections
// do.
//
// Run drives a connection to its end. It receives everything the peer
// sends (hashing it with SHA-256, optionally writing it out and checking it
// against the deterministic payload of package interop/payload) while it
// waits Config.Delay, sends its source in writes of Config.Chunk bytes
// (paced by Config.Interval), hashing what the connection took, and waits
// Config.Hold, which ends early if the peer's side fails (a reset). It then
// closes: with a half-close (Config.CloseWrite: shutdown(SHUT_WR), so a
// DATA_FIN, RFC 8684 §3.3.3) followed by waiting for the peer's end of
// stream, or abortively (Config.Abort, MP_FASTCLOSE, RFC 8684 §3.5), or at
// once if the connection failed. The Result has the bytes and digests of
// each direction, whether the peer reset the connection, and every error as
// one line. What differs between kinds of connection (how a reset shows,
// how to abort, what to record before closing) is given as functions in
// Config.
//
// Flags are the command-line options the two tools share (--send-bytes,
// --send, --seed, --out, --expect-bytes, --peer-seed, --chunk, --delay,
// --hold, --timeout, --fastclose, --expect-reset, --mptcp, --json), with
// their parser (Register, Check), the byte counts with binary suffixes of
// SizeVar and ParseSize, and ParseInterspersed, which lets positional
// arguments stand between flags.
//
// The package lives under cmd/ because it is command-line plumbing: it
// reads the wall clock, sets socket deadlines and opens files, which the
// layers below cmd/ leave to their callers.
package session
