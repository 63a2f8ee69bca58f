package mptcpd

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gomptcp/mptcp/kernel/pm"
)

var (
	metricName  = `[a-zA-Z_:][a-zA-Z0-9_:]*`
	labelPair   = `[a-zA-Z_][a-zA-Z0-9_]*="(?:\\[\\"n]|[^"\\\n])*"`
	sampleRE    = regexp.MustCompile(`^(` + metricName + `)(\{` + labelPair + `(?:,` + labelPair + `)*\})? (-?[0-9]+)$`)
	helpRE      = regexp.MustCompile(`^# HELP (` + metricName + `) (?:[^\\\n]|\\[\\n])+$`)
	typeRE      = regexp.MustCompile(`^# TYPE (` + metricName + `) (counter|gauge)$`)
	labelPairRE = regexp.MustCompile(labelPair)
)

// parseExposition checks text against the Prometheus text exposition
// format (version 0.0.4) as the daemon writes it: each family once, HELP
// then TYPE then its samples, counters named *_total, and returns the
// samples as "name{labels}" → value.
func parseExposition(t *testing.T, text string) map[string]int64 {
	t.Helper()
	samples := map[string]int64{}
	families := map[string]bool{}
	var current, typ string
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if m := helpRE.FindStringSubmatch(l); m != nil {
			if families[m[1]] {
				t.Errorf("line %d: family %s repeated", line, m[1])
			}
			families[m[1]] = true
			current, typ = m[1], ""
			continue
		}
		if m := typeRE.FindStringSubmatch(l); m != nil {
			if m[1] != current || typ != "" {
				t.Errorf("line %d: TYPE for %s not right after its HELP", line, m[1])
			}
			typ = m[2]
			if (typ == "counter") != strings.HasSuffix(current, "_total") {
				t.Errorf("line %d: %s is a %s", line, current, typ)
			}
			continue
		}
		m := sampleRE.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %d: not a HELP, TYPE or sample line: %q", line, l)
			continue
		}
		if m[1] != current || typ == "" {
			t.Errorf("line %d: sample of %s outside its family", line, m[1])
		}
		v, err := strconv.ParseInt(m[3], 10, 64)
		if err != nil {
			t.Errorf("line %d: value %q", line, m[3])
		}
		if typ == "counter" && v < 0 {
			t.Errorf("line %d: negative counter", line)
		}
		key := m[1] + m[2]
		if _, dup := samples[key]; dup {
			t.Errorf("line %d: sample %s repeated", line, key)
		}
		samples[key] = v
	}
	if !strings.HasSuffix(text, "\n") {
		t.Error("output does not end with a line feed")
	}
	return samples
}

func TestMetricsText(t *testing.T) {
	m := NewMetrics()
	m.setPlugins([]string{"sspi", `we"ird\name` + "\n"})
	m.event(pm.EventCreated)
	m.event(pm.EventCreated)
	m.event(pm.EventSubEstablished)
	m.event(pm.EventType(99))
	m.eventsLost.Add(3)
	m.command(cmdCreateSubflow, nil)
	m.command(cmdCreateSubflow, errors.New("x"))
	m.command(cmdAnnounce, nil)
	m.subflowsRequested.Add(5)
	m.subflowsCreated.Add(4)
	m.subflowsFailed.Add(1)
	m.announcements.Add(1)
	m.connections.Store(2)
	m.localAddrs.Store(3)
	var b strings.Builder
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	got := parseExposition(t, b.String())
	want := map[string]int64{
		`mptcpd_events_total{event="created"}`:                            2,
		`mptcpd_events_total{event="sf_established"}`:                     1,
		`mptcpd_events_total{event="closed"}`:                             0,
		`mptcpd_events_total{event="unknown"}`:                            1,
		`mptcpd_event_errors_total{reason="lost"}`:                        3,
		`mptcpd_commands_total{command="create_subflow",result="ok"}`:     1,
		`mptcpd_commands_total{command="create_subflow",result="error"}`:  1,
		`mptcpd_commands_total{command="announce",result="ok"}`:           1,
		`mptcpd_commands_total{command="delete_endpoint",result="error"}`: 0,
		`mptcpd_subflows_requested_total`:                                 5,
		`mptcpd_subflows_created_total`:                                   4,
		`mptcpd_subflows_failed_total`:                                    1,
		`mptcpd_announcements_total`:                                      1,
		`mptcpd_connections`:                                              2,
		`mptcpd_local_addresses`:                                          3,
		`mptcpd_plugin_loaded{plugin="sspi"}`:                             1,
		`mptcpd_plugin_loaded{plugin="we\"ird\\name\n"}`:                  1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %d (present %v), want %d", k, g, ok, v)
		}
	}
	// Every known event type has its sample, zero or not.
	for _, typ := range []string{"created", "established", "closed", "announced", "removed", "sf_established",
		"sf_closed", "sf_prio", "listener_created", "listener_closed"} {
		if _, ok := got[`mptcpd_events_total{event="`+typ+`"}`]; !ok {
			t.Errorf("no sample for event %s", typ)
		}
	}
	for _, l := range strings.Split(b.String(), "\n") {
		for _, p := range labelPairRE.FindAllString(l, -1) {
			if strings.Contains(p, "\n") {
				t.Errorf("raw line feed in label %q", p)
			}
		}
	}
}

func TestMetricsHTTP(t *testing.T) {
	m := NewMetrics()
	m.announcements.Add(7)
	srv := httptest.NewServer(m)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType {
		t.Errorf("GET: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := parseExposition(t, string(body)); got["mptcpd_announcements_total"] != 7 {
		t.Errorf("mptcpd_announcements_total = %d, want 7", got["mptcpd_announcements_total"])
	}

	resp, err = http.Head(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: %d with %d bytes", resp.StatusCode, len(body))
	}

	resp, err = http.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestEscape(t *testing.T) {
	if got := escapeLabel("a\\b\"c\nd"); got != `a\\b\"c\nd` {
		t.Errorf("escapeLabel = %q", got)
	}
	if got := escapeHelp("a\\b\"c\nd"); got != `a\\b"c\nd` {
		t.Errorf("escapeHelp = %q", got)
	}
}

func BenchmarkMetricsWriteText(b *testing.B) {
	m := NewMetrics()
	m.setPlugins([]string{"sspi", "backup"})
	b.ReportAllocs()
	for b.Loop() {
		if err := m.WriteText(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
