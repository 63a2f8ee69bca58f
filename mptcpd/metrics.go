package mptcpd

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gomptcp/mptcp/kernel/pm"
)

// Metrics counts what the daemon sees and does. It writes the counts in the
// Prometheus text exposition format (version 0.0.4) and serves them over
// HTTP. The zero value is not usable; call NewMetrics. Methods are safe for
// concurrent use.
type Metrics struct {
	events      [256]atomic.Uint64 // by pm.EventType
	eventsLost  atomic.Uint64
	eventErrors atomic.Uint64

	addrAdded, addrRemoved atomic.Uint64
	ifUp, ifDown           atomic.Uint64
	netResyncs             atomic.Uint64

	subflowsRequested atomic.Uint64
	subflowsCreated   atomic.Uint64
	subflowsFailed    atomic.Uint64
	announcements     atomic.Uint64

	mu       sync.Mutex
	commands map[commandKey]uint64
	plugins  []string

	connections, localAddrs, subflows atomic.Int64
}

type commandKey struct {
	command string
	ok      bool
}

// NewMetrics returns zeroed metrics.
func NewMetrics() *Metrics {
	return &Metrics{commands: map[commandKey]uint64{}}
}

func (m *Metrics) event(t pm.EventType) { m.events[t].Add(1) }

func (m *Metrics) command(name string, err error) {
	m.mu.Lock()
	m.commands[commandKey{name, err == nil}]++
	m.mu.Unlock()
}

func (m *Metrics) setPlugins(names []string) {
	m.mu.Lock()
	m.plugins = slices.Clone(names)
	m.mu.Unlock()
}

// Command returns how many commands of the given name ("create_subflow",
// "announce", …) succeeded and failed.
func (m *Metrics) Command(name string) (ok, failed uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.commands[commandKey{name, true}], m.commands[commandKey{name, false}]
}

// Subflows returns how many subflows the daemon requested, how many of them
// were established, and how many failed (refused by the path manager, or
// closed before being established).
func (m *Metrics) Subflows() (requested, created, failed uint64) {
	return m.subflowsRequested.Load(), m.subflowsCreated.Load(), m.subflowsFailed.Load()
}

// Events returns how many events of type t the daemon received.
func (m *Metrics) Events(t pm.EventType) uint64 { return m.events[t].Load() }

// metricFamily is one metric with its samples, ready to print.
type metricFamily struct {
	name, help, typ string
	samples         []sample
}

type sample struct {
	labels [][2]string
	value  int64
	uvalue uint64
	signed bool
}

func counter(v uint64, labels ...[2]string) sample { return sample{labels: labels, uvalue: v} }
func gauge(v int64, labels ...[2]string) sample {
	return sample{labels: labels, value: v, signed: true}
}

// eventLabel is the label value of an event type: its name in lower case.
func eventLabel(t pm.EventType) string {
	if !t.Known() {
		return "unknown"
	}
	return strings.ToLower(t.String())
}

func (m *Metrics) families() []metricFamily {
	var evs []sample
	var unknown uint64
	for i := range m.events {
		t := pm.EventType(i)
		n := m.events[i].Load()
		if !t.Known() {
			unknown += n
			continue
		}
		evs = append(evs, counter(n, [2]string{"event", eventLabel(t)}))
	}
	evs = append(evs, counter(unknown, [2]string{"event", "unknown"}))

	m.mu.Lock()
	var cmds []sample
	for _, c := range commandNames {
		cmds = append(cmds,
			counter(m.commands[commandKey{c, true}], [2]string{"command", c}, [2]string{"result", "ok"}),
			counter(m.commands[commandKey{c, false}], [2]string{"command", c}, [2]string{"result", "error"}))
	}
	var plugins []sample
	for _, p := range m.plugins {
		plugins = append(plugins, gauge(1, [2]string{"plugin", p}))
	}
	m.mu.Unlock()

	fams := []metricFamily{
		{"mptcpd_events_total", "MPTCP path manager events received, by event type.", "counter", evs},
		{"mptcpd_event_errors_total", "Path manager events lost (socket buffer overflow) or undecodable.", "counter", []sample{
			counter(m.eventsLost.Load(), [2]string{"reason", "lost"}),
			counter(m.eventErrors.Load(), [2]string{"reason", "malformed"}),
		}},
		{"mptcpd_local_address_changes_total", "Usable local addresses added and removed.", "counter", []sample{
			counter(m.addrAdded.Load(), [2]string{"change", "added"}),
			counter(m.addrRemoved.Load(), [2]string{"change", "removed"}),
		}},
		{"mptcpd_interface_changes_total", "Interfaces going up and down.", "counter", []sample{
			counter(m.ifUp.Load(), [2]string{"change", "up"}),
			counter(m.ifDown.Load(), [2]string{"change", "down"}),
		}},
		{"mptcpd_net_resyncs_total", "Full re-reads of the host's interfaces and addresses after lost notifications.", "counter",
			[]sample{counter(m.netResyncs.Load())}},
		{"mptcpd_commands_total", "Path manager commands issued, by command and result.", "counter", cmds},
		{"mptcpd_subflows_requested_total", "Subflows the daemon asked the path manager to create.", "counter",
			[]sample{counter(m.subflowsRequested.Load())}},
		{"mptcpd_subflows_created_total", "Requested subflows that were established.", "counter",
			[]sample{counter(m.subflowsCreated.Load())}},
		{"mptcpd_subflows_failed_total", "Requested subflows refused by the path manager or closed before being established.", "counter",
			[]sample{counter(m.subflowsFailed.Load())}},
		{"mptcpd_announcements_total", "Local addresses announced to peers with ADD_ADDR.", "counter",
			[]sample{counter(m.announcements.Load())}},
		{"mptcpd_connections", "MPTCP connections currently known.", "gauge", []sample{gauge(m.connections.Load())}},
		{"mptcpd_subflows", "Additional subflows currently known, pending ones included.", "gauge", []sample{gauge(m.subflows.Load())}},
		{"mptcpd_local_addresses", "Usable local addresses.", "gauge", []sample{gauge(m.localAddrs.Load())}},
		{"mptcpd_plugin_loaded", "Loaded plugins (always 1).", "gauge", plugins},
	}
	slices.SortFunc(fams, func(a, b metricFamily) int { return strings.Compare(a.name, b.name) })
	return fams
}

// WriteText writes the metrics in the Prometheus text exposition format.
func (m *Metrics) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, f := range m.families() {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		for _, s := range f.samples {
			bw.WriteString(f.name)
			if len(s.labels) > 0 {
				bw.WriteByte('{')
				for i, l := range s.labels {
					if i > 0 {
						bw.WriteByte(',')
					}
					bw.WriteString(l[0])
					bw.WriteString(`="`)
					bw.WriteString(escapeLabel(l[1]))
					bw.WriteByte('"')
				}
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			if s.signed {
				bw.WriteString(strconv.FormatInt(s.value, 10))
			} else {
				bw.WriteString(strconv.FormatUint(s.uvalue, 10))
			}
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// ContentType is the media type of WriteText's output.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// ServeHTTP serves the metrics to GET and HEAD requests.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	if r.Method == http.MethodHead {
		return
	}
	_ = m.WriteText(w)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
)

// escapeHelp escapes a HELP text: backslash and line feed.
func escapeHelp(s string) string { return helpEscaper.Replace(s) }

// escapeLabel escapes a label value: backslash, double quote and line feed.
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
