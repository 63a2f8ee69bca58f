package plot

import (
	"math"
	"slices"
	"time"
)

// Point is the value of a series at a time.
type Point struct {
	T time.Duration // from the start of the run
	V float64
}

// Series is one line of a panel.
type Series struct {
	Name   string
	Points []Point
	// Dashed draws the line dashed: a reference (a total, a baseline)
	// beside the measured lines.
	Dashed bool
}

// Panel is one chart of a figure: series sharing a Y axis.
type Panel struct {
	Title string
	// YLabel names the Y axis with its unit, such as "Mbit/s".
	YLabel string
	Series []Series
}

// Event is something that happened at a time, such as "wifi down": a
// vertical line across every panel, labelled in the top one.
type Event struct {
	T     time.Duration
	Label string
}

// Figure is panels stacked from top to bottom over a common time axis.
type Figure struct {
	Title  string
	Panels []Panel
	Events []Event
}

// Rate turns samples of a cumulative byte counter (V in bytes, in
// increasing order of T) into a throughput series in Mbit/s. The value at
// each sample but the first is the bytes counted since the latest earlier
// sample at least window before it (the first sample while there is none
// that old; with a window of 0, the previous sample), over the time
// between the two. A sample at the same time as the previous one gives no
// point; a counter that went down gives 0.
func Rate(name string, counter []Point, window time.Duration) Series {
	s := Series{Name: name}
	j := 0
	for k := 1; k < len(counter); k++ {
		for j+1 < k && counter[j+1].T <= counter[k].T-window {
			j++
		}
		from, to := counter[j], counter[k]
		if window == 0 {
			from = counter[k-1]
		}
		dt := to.T - from.T
		if dt <= 0 {
			continue
		}
		v := max(to.V-from.V, 0) * 8 / dt.Seconds() / 1e6
		s.Points = append(s.Points, Point{T: to.T, V: v})
	}
	return s
}

// Sample is one subflow (or TCP connection) at one time.
type Sample struct {
	T time.Duration // from the start of the run
	// Sent counts the bytes the peer acknowledged; Received the bytes
	// received from it. Both are cumulative.
	Sent, Received uint64
	// Cwnd is the congestion window in bytes (0: not known).
	Cwnd int
	// RTT is the smoothed round-trip time (0: not measured yet).
	RTT time.Duration
}

// Subflow is a named subflow over time, its samples in increasing order
// of T.
type Subflow struct {
	Name    string
	Samples []Sample
}

// Panel titles and units of SubflowPanels.
const (
	TitleSent     = "throughput of the data sent (acknowledged)"
	TitleReceived = "throughput of the data received"
	TitleCwnd     = "congestion window"
	TitleRTT      = "smoothed round-trip time"
	UnitRate      = "Mbit/s"
	UnitCwnd      = "kB"
	UnitRTT       = "ms"
)

// SubflowPanels returns the panels of subs, each subflow a series named
// after it: the throughput of the data sent (from Sent, over window, see
// Rate), that of the data received (when any was), the congestion window
// in kB and the smoothed RTT in ms. The first panel is the sent
// throughput unless only received data was counted.
func SubflowPanels(subs []Subflow, window time.Duration) []Panel {
	var sent, received bool
	for _, sf := range subs {
		for _, x := range sf.Samples {
			sent = sent || x.Sent > 0
			received = received || x.Received > 0
		}
	}
	counter := func(sf Subflow, get func(Sample) uint64) []Point {
		pts := make([]Point, len(sf.Samples))
		for i, x := range sf.Samples {
			pts[i] = Point{T: x.T, V: float64(get(x))}
		}
		return pts
	}
	var panels []Panel
	if sent || !received {
		p := Panel{Title: TitleSent, YLabel: UnitRate}
		for _, sf := range subs {
			p.Series = append(p.Series, Rate(sf.Name, counter(sf, func(x Sample) uint64 { return x.Sent }), window))
		}
		panels = append(panels, p)
	}
	if received {
		p := Panel{Title: TitleReceived, YLabel: UnitRate}
		for _, sf := range subs {
			p.Series = append(p.Series, Rate(sf.Name, counter(sf, func(x Sample) uint64 { return x.Received }), window))
		}
		panels = append(panels, p)
	}
	cwnd := Panel{Title: TitleCwnd, YLabel: UnitCwnd}
	rtt := Panel{Title: TitleRTT, YLabel: UnitRTT}
	for _, sf := range subs {
		c, r := Series{Name: sf.Name}, Series{Name: sf.Name}
		for _, x := range sf.Samples {
			if x.Cwnd > 0 {
				c.Points = append(c.Points, Point{T: x.T, V: float64(x.Cwnd) / 1e3})
			}
			if x.RTT > 0 {
				r.Points = append(r.Points, Point{T: x.T, V: float64(x.RTT) / float64(time.Millisecond)})
			}
		}
		cwnd.Series = append(cwnd.Series, c)
		rtt.Series = append(rtt.Series, r)
	}
	return append(panels, cwnd, rtt)
}

// span returns the time range of the figure's points and events, and
// whether it has any point.
func (f *Figure) span() (lo, hi time.Duration, any bool) {
	lo, hi = time.Duration(math.MaxInt64), time.Duration(math.MinInt64)
	note := func(t time.Duration) {
		lo, hi = min(lo, t), max(hi, t)
	}
	for _, p := range f.Panels {
		for _, s := range p.Series {
			for _, pt := range s.Points {
				if finite(pt.V) {
					note(pt.T)
					any = true
				}
			}
		}
	}
	for _, e := range f.Events {
		note(e.T)
	}
	return lo, hi, any
}

// names lists the names of the series of the figure that have a point to
// draw, in order of first appearance: the legend, and the order of
// colours.
func (f *Figure) names() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range f.Panels {
		for _, s := range p.Series {
			if !seen[s.Name] && slices.ContainsFunc(s.Points, func(pt Point) bool { return finite(pt.V) }) {
				seen[s.Name] = true
				out = append(out, s.Name)
			}
		}
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
