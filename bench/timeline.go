package bench

import (
	"sort"
	"time"
)

// Timeline is what a receiver saw: after each read, the time since the
// start and the bytes read so far. Times never decrease.
type Timeline struct {
	At    []time.Duration
	Bytes []int64
}

// Add records a read that brought the total to bytes at time at.
func (tl *Timeline) Add(at time.Duration, bytes int64) {
	tl.At = append(tl.At, at)
	tl.Bytes = append(tl.Bytes, bytes)
}

// Total is the number of bytes read.
func (tl *Timeline) Total() int64 {
	if len(tl.Bytes) == 0 {
		return 0
	}
	return tl.Bytes[len(tl.Bytes)-1]
}

// BytesAt returns the bytes read by time t.
func (tl *Timeline) BytesAt(t time.Duration) int64 {
	i := sort.Search(len(tl.At), func(i int) bool { return tl.At[i] > t })
	if i == 0 {
		return 0
	}
	return tl.Bytes[i-1]
}

// Goodput returns the bits per second read during [from, to).
func (tl *Timeline) Goodput(from, to time.Duration) float64 {
	if to <= from {
		return 0
	}
	return float64(tl.BytesAt(to)-tl.BytesAt(from)) * 8 / (to - from).Seconds()
}

// StallAfter returns the longest time, from t on, during which no byte
// was read: the gap between two reads (or between t and the first read
// after it) that ends after t, counted from t at the earliest, and up to
// end if nothing was read after the last read before end. It is the
// zero-progress time of a failure at t.
func (tl *Timeline) StallAfter(t, end time.Duration) time.Duration {
	var longest time.Duration
	last := t
	i := sort.Search(len(tl.At), func(i int) bool { return tl.At[i] > t })
	for ; i < len(tl.At) && tl.At[i] <= end; i++ {
		if i > 0 && tl.Bytes[i] == tl.Bytes[i-1] {
			continue // a read of nothing (end of stream)
		}
		longest = max(longest, tl.At[i]-last)
		last = tl.At[i]
	}
	return max(longest, end-last)
}

// TimePoint is a Timeline sampled: the bytes read by T seconds.
type TimePoint struct {
	T     float64 `json:"t"`
	Bytes int64   `json:"b"`
}

// TimelineStep is the spacing of Sampled's points in the samples.
const TimelineStep = 50 * time.Millisecond

// Sampled returns the bytes read at every step from 0 to end.
func (tl *Timeline) Sampled(step, end time.Duration) []TimePoint {
	if step <= 0 {
		return nil
	}
	var out []TimePoint
	for t := time.Duration(0); t <= end; t += step {
		out = append(out, TimePoint{T: t.Seconds(), Bytes: tl.BytesAt(t)})
	}
	return out
}
