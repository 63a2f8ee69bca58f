package bench

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
)

// MaxPaths is the largest number of paths of a topology.
const MaxPaths = 8

// PathSpec is an emulated path: the same in both directions.
type PathSpec struct {
	// Rate is the bit rate of each direction, counted on IP packets
	// (headers included), as a qdisc counts; 0 means unlimited.
	Rate int64
	// RTT is the round-trip propagation delay: each direction delays
	// packets by RTT/2.
	RTT time.Duration
	// Loss is the probability that a packet is lost, in each direction.
	Loss float64
	// QueueBDP is the drop-tail queue of each direction in bandwidth-delay
	// products (Rate × max(RTT, 20 ms)); 0 means 1. It applies only with a
	// Rate.
	QueueBDP float64
}

// minQueueRTT is the smallest RTT a queue is sized for, so that paths with
// a tiny RTT still absorb a burst.
const minQueueRTT = 20 * time.Millisecond

// minQueuePackets is the smallest queue, in packets.
const minQueuePackets = 16

// Impair returns the Impairer configuration of one direction, seeded with
// seed.
func (p PathSpec) Impair(seed uint64) impair.Config {
	c := impair.Config{Rate: p.Rate, Delay: p.RTT / 2, Loss: p.Loss, Seed: seed}
	if p.Rate > 0 {
		q := p.QueueBDP
		if q == 0 {
			q = 1
		}
		rtt := max(p.RTT, minQueueRTT)
		c.QueuePackets = max(minQueuePackets, int(q*float64(p.Rate)*rtt.Seconds()/8/1500))
	}
	return c
}

// String renders p as ParsePathSpec reads it: "50mbit/20ms", "30mbit/100ms/1%",
// "unlimited".
func (p PathSpec) String() string {
	var parts []string
	if p.Rate == 0 {
		parts = append(parts, "unlimited")
	} else {
		parts = append(parts, formatRate(p.Rate))
	}
	queue := p.QueueBDP != 0 && p.QueueBDP != 1
	if p.RTT > 0 || p.Loss > 0 || queue {
		parts = append(parts, p.RTT.String())
	}
	if p.Loss > 0 || queue {
		parts = append(parts, strconv.FormatFloat(p.Loss*100, 'g', -1, 64)+"%")
	}
	if queue {
		parts = append(parts, "q"+strconv.FormatFloat(p.QueueBDP, 'g', -1, 64))
	}
	return strings.Join(parts, "/")
}

func formatRate(r int64) string {
	switch {
	case r%1_000_000_000 == 0:
		return fmt.Sprintf("%dgbit", r/1_000_000_000)
	case r%1_000_000 == 0:
		return fmt.Sprintf("%dmbit", r/1_000_000)
	case r%1000 == 0:
		return fmt.Sprintf("%dkbit", r/1000)
	}
	return fmt.Sprintf("%dbit", r)
}

// ParsePathSpec reads a path: RATE[/RTT[/LOSS%[/qN]]], where RATE is
// "unlimited" or a number with the unit bit, kbit, mbit or gbit (tc's),
// RTT a Go duration, LOSS a percentage and N the queue in BDPs.
func ParsePathSpec(s string) (PathSpec, error) {
	var p PathSpec
	parts := strings.Split(s, "/")
	if len(parts) > 4 || parts[0] == "" {
		return p, fmt.Errorf("path %q: want RATE[/RTT[/LOSS%%[/qN]]]", s)
	}
	if parts[0] != "unlimited" {
		r, err := parseRate(parts[0])
		if err != nil {
			return p, fmt.Errorf("path %q: %w", s, err)
		}
		p.Rate = r
	}
	if len(parts) > 1 {
		d, err := time.ParseDuration(parts[1])
		if err != nil || d < 0 {
			return p, fmt.Errorf("path %q: bad RTT %q", s, parts[1])
		}
		p.RTT = d
	}
	if len(parts) > 2 {
		v, ok := strings.CutSuffix(parts[2], "%")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f < 0 || f > 100 {
			return p, fmt.Errorf("path %q: bad loss %q (a percentage such as 0.5%%)", s, parts[2])
		}
		p.Loss = f / 100
	}
	if len(parts) > 3 {
		v, ok := strings.CutPrefix(parts[3], "q")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f <= 0 || f > 100 {
			return p, fmt.Errorf("path %q: bad queue %q (qN: N bandwidth-delay products)", s, parts[3])
		}
		p.QueueBDP = f
	}
	return p, nil
}

func parseRate(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f*u.mult > 1e12 {
				return 0, fmt.Errorf("bad rate %q", s)
			}
			return int64(f * u.mult), nil
		}
	}
	return 0, fmt.Errorf("bad rate %q: want a number with bit, kbit, mbit or gbit", s)
}

// ParsePaths reads a comma-separated list of paths, as ParsePathSpec.
func ParsePaths(s string) ([]PathSpec, error) {
	var ps []PathSpec
	for f := range strings.SplitSeq(s, ",") {
		p, err := ParsePathSpec(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if len(ps) > MaxPaths {
		return nil, fmt.Errorf("%d paths: at most %d", len(ps), MaxPaths)
	}
	return ps, nil
}

// PathsString renders paths as ParsePaths reads them.
func PathsString(ps []PathSpec) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// TotalRate is the sum of the paths' rates, 0 if any is unlimited.
func TotalRate(ps []PathSpec) int64 {
	var t int64
	for _, p := range ps {
		if p.Rate == 0 {
			return 0
		}
		t += p.Rate
	}
	return t
}

// ClientAddr and ServerAddr are the client's and the server's addresses on
// path k.
func ClientAddr(k int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(k), 1}) }
func ServerAddr(k int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(k), 2}) }

// pathPrefix is the prefix length of a path's addresses.
const pathPrefix = 24
