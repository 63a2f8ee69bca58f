package stack

import "time"

// PMBackoff is how a path manager opens again a subflow that failed
// (SubflowFailed): one it opened itself, closed neither on request
// (PMEvent.Requested) nor in order (a FIN exchange), nor by a peer's
// MP_TCPRST without its T flag (RFC 8684 §3.6: a permanent condition,
// after which the subflow "is not expected" to be opened again), nor
// refused at its SYN by a RST.
//
// The n-th failure in a row (a subflow that closed, or an attempt that
// failed, before it had been established for Stable) is followed by a
// wait of Initial·2^(n-1), at most Max, before the next attempt; a subflow
// that stayed established for Stable or longer starts the count again.
// After MaxAttempts failed attempts in a row the path manager gives up on
// that subflow until its local address comes back (PMEventLocalAddrAdded).
// A local address that comes back also ends the wait at once and starts
// the count again: the failure may have been that address's.
//
// The zero value is DefaultPMBackoff. Linux's in-kernel path manager does
// not open a failed subflow again: a negative Initial does the same.
type PMBackoff struct {
	// Initial is the wait after the first failure (default 1 s, the
	// initial RTO of RFC 6298 §2.1); negative: never open again.
	Initial time.Duration
	// Max bounds the wait (default 60 s).
	Max time.Duration
	// Stable is how long a subflow must stay established for its
	// failure to count as the first again (default 30 s).
	Stable time.Duration
	// MaxAttempts bounds the attempts in a row that fail (0: no bound;
	// at Max a subflow costs a SYN a minute).
	MaxAttempts int
}

// DefaultPMBackoff is the backoff of KernelPM and of package pathmgr's
// path managers unless they are given another.
var DefaultPMBackoff = PMBackoff{Initial: time.Second, Max: time.Minute, Stable: 30 * time.Second}

// normalized fills in the defaults.
func (b PMBackoff) normalized() PMBackoff {
	if b.Initial == 0 {
		b.Initial = DefaultPMBackoff.Initial
	}
	if b.Max <= 0 {
		b.Max = DefaultPMBackoff.Max
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Stable <= 0 {
		b.Stable = DefaultPMBackoff.Stable
	}
	return b
}

// Delay returns the wait before the attempt that follows the n-th failure
// in a row (n ≥ 1), and false when there is to be no such attempt.
func (b PMBackoff) Delay(n int) (time.Duration, bool) {
	b = b.normalized()
	if b.Initial < 0 || n < 1 || b.MaxAttempts > 0 && n > b.MaxAttempts {
		return 0, false
	}
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max), true
}

// PMRetry is the backoff state of one subflow a path manager keeps open.
// The zero value has seen no failure and waits for nothing.
type PMRetry struct {
	// Failures is the number of failures in a row.
	Failures int
	// At is when to try again; zero when not waiting.
	At time.Time
}

// Fail records a failure at now of a subflow that was established at up
// (zero: it never was) and sets At by b; it returns false when b gives up
// (At is then zero).
func (r *PMRetry) Fail(now, up time.Time, b PMBackoff) bool {
	b = b.normalized()
	if !up.IsZero() && now.Sub(up) >= b.Stable {
		r.Failures = 0
	}
	r.Failures++
	d, ok := b.Delay(r.Failures)
	if !ok {
		r.At = time.Time{}
		return false
	}
	r.At = now.Add(d)
	return true
}

// Waiting reports whether an attempt is scheduled after now.
func (r *PMRetry) Waiting(now time.Time) bool { return !r.At.IsZero() && now.Before(r.At) }

// Due reports whether a scheduled attempt has come at now; it clears At
// when it has.
func (r *PMRetry) Due(now time.Time) bool {
	if r.At.IsZero() || now.Before(r.At) {
		return false
	}
	r.At = time.Time{}
	return true
}

// Reset forgets the failures and the scheduled attempt.
func (r *PMRetry) Reset() { *r = PMRetry{} }

// earliest returns the earlier of two times, a zero one counting as
// never.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
