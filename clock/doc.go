// Package clock gives the rest of gomptcp its notion of time.
//
// Nothing below cmd/ reads the wall clock or starts runtime timers directly:
// code that needs the current time or a callback later takes a Clock. Real
// is the system clock. Manual is a clock that moves only when told to
// (Advance, Set), for tests; its timers fire synchronously, in deadline
// order, on the goroutine that moves the clock. The network simulator in
// link/sim implements Clock on its own virtual time.
//
// Time is a time.Time everywhere. A Manual clock starts at Epoch
// (2000-01-01 00:00:00 UTC), so virtual timestamps are recognisable in logs
// and packet captures and never collide with the zero time.Time.
package clock
