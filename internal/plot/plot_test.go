package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	gplot "gonum.org/v1/plot"
)

const ms = time.Millisecond

func pts(tv ...float64) []Point {
	var out []Point
	for i := 0; i+1 < len(tv); i += 2 {
		out = append(out, Point{T: time.Duration(tv[i] * float64(time.Second)), V: tv[i+1]})
	}
	return out
}

func TestRate(t *testing.T) {
	tests := []struct {
		name    string
		counter []Point
		window  time.Duration
		want    []Point
	}{
		{"empty", nil, 0, nil},
		{"one sample", pts(0.1, 1000), 0, nil},
		// 125 000 bytes in 100 ms: 10 Mbit/s.
		{"steady", pts(0.1, 0, 0.2, 125000, 0.3, 250000), 0, pts(0.2, 10, 0.3, 10)},
		{"stall", pts(0.1, 0, 0.2, 125000, 0.3, 125000, 0.4, 187500), 0, pts(0.2, 10, 0.3, 0, 0.4, 5)},
		{"uneven spacing", pts(0, 0, 0.5, 125000), 0, pts(0.5, 2)},
		{"same time twice", pts(0.1, 0, 0.1, 50, 0.2, 125000), 0, pts(0.2, 9.996)},
		{"counter went down", pts(0.1, 5000, 0.2, 1000, 0.3, 126000), 0, pts(0.2, 0, 0.3, 10)},
		// A 200 ms window: the first points average over what there is.
		{"window", pts(0.1, 0, 0.2, 125000, 0.3, 125000, 0.4, 125000, 0.5, 375000), 200 * ms,
			pts(0.2, 10, 0.3, 5, 0.4, 0, 0.5, 10)},
		{"window wider than the run", pts(0.1, 0, 0.2, 125000, 0.3, 250000), time.Second, pts(0.2, 10, 0.3, 10)},
	}
	approx := cmpopts.EquateApprox(0, 1e-9)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Rate("x", tc.counter, tc.window)
			if got.Name != "x" {
				t.Errorf("name %q", got.Name)
			}
			if d := cmp.Diff(tc.want, got.Points, approx, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestSubflowPanels(t *testing.T) {
	wifi := Subflow{Name: "wifi", Samples: []Sample{
		{T: 100 * ms, Sent: 0, Cwnd: 14600},
		{T: 200 * ms, Sent: 125000, Cwnd: 29200, RTT: 20 * ms},
		{T: 300 * ms, Sent: 250000, Cwnd: 43800, RTT: 25 * ms},
	}}
	lte := Subflow{Name: "lte", Samples: []Sample{{T: 200 * ms, Received: 0}, {T: 300 * ms, Received: 62500, RTT: 60 * ms}}}
	titles := func(ps []Panel) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Title+" ("+p.YLabel+")")
		}
		return out
	}
	tests := []struct {
		name   string
		subs   []Subflow
		titles []string
	}{
		{"sent only", []Subflow{wifi}, []string{TitleSent + " (Mbit/s)", TitleCwnd + " (kB)", TitleRTT + " (ms)"}},
		{"both ways", []Subflow{wifi, lte}, []string{TitleSent + " (Mbit/s)", TitleReceived + " (Mbit/s)", TitleCwnd + " (kB)", TitleRTT + " (ms)"}},
		{"received only", []Subflow{lte}, []string{TitleReceived + " (Mbit/s)", TitleCwnd + " (kB)", TitleRTT + " (ms)"}},
		{"nothing moved", []Subflow{{Name: "idle", Samples: []Sample{{T: 0}}}}, []string{TitleSent + " (Mbit/s)", TitleCwnd + " (kB)", TitleRTT + " (ms)"}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.titles, titles(SubflowPanels(tc.subs, 0))); d != "" {
			t.Errorf("%s: panels (-want +got):\n%s", tc.name, d)
		}
	}
	ps := SubflowPanels([]Subflow{wifi, lte}, 0)
	want := []Panel{
		{Title: TitleSent, YLabel: UnitRate, Series: []Series{{Name: "wifi", Points: pts(0.2, 10, 0.3, 10)}, {Name: "lte", Points: pts(0.3, 0)}}},
		{Title: TitleReceived, YLabel: UnitRate, Series: []Series{{Name: "wifi", Points: pts(0.2, 0, 0.3, 0)}, {Name: "lte", Points: pts(0.3, 5)}}},
		// A window or an RTT of 0 is not known: no point.
		{Title: TitleCwnd, YLabel: UnitCwnd, Series: []Series{{Name: "wifi", Points: pts(0.1, 14.6, 0.2, 29.2, 0.3, 43.8)}, {Name: "lte"}}},
		{Title: TitleRTT, YLabel: UnitRTT, Series: []Series{{Name: "wifi", Points: pts(0.2, 20, 0.3, 25)}, {Name: "lte", Points: pts(0.3, 60)}}},
	}
	if d := cmp.Diff(want, ps, cmpopts.EquateApprox(0, 1e-9), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("panels (-want +got):\n%s", d)
	}
}

func TestFormatOf(t *testing.T) {
	for _, tc := range []struct {
		path string
		want Format
		ok   bool
	}{
		{"demo.png", PNG, true}, {"/tmp/x/Demo.PNG", PNG, true}, {"a.b.svg", SVG, true}, {"run.SVG", SVG, true},
		{"demo.jpg", "", false}, {"demo.pdf", "", false}, {"demo", "", false}, {"png", "", false}, {"dir.png/", "", false},
	} {
		got, err := FormatOf(tc.path)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q (ok %v)", tc.path, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Errorf("FormatOf(%q): %v does not wrap ErrFormat", tc.path, err)
		}
	}
}

// demoFigure is a figure of two subflows over 12 s, one of which stops
// for 3 s, with the events marked.
func demoFigure() *Figure {
	var subs []Subflow
	for k, name := range []string{"wifi", "lte"} {
		sf := Subflow{Name: name}
		var sent uint64
		for i := 1; i <= 120; i++ {
			at := time.Duration(i) * 100 * ms
			rate := []float64{27e6, 9e6}[k] * (1 + 0.1*math.Sin(float64(i)/3))
			if k == 0 && at > 4*time.Second && at <= 7*time.Second {
				rate = 0
			}
			sent += uint64(rate / 8 / 10)
			sf.Samples = append(sf.Samples, Sample{T: at, Sent: sent, Cwnd: 30000 + 500*(i%40), RTT: time.Duration(20+40*k+i%9) * ms})
		}
		subs = append(subs, sf)
	}
	f := &Figure{Title: "MPTCP over Wi-Fi and LTE", Panels: SubflowPanels(subs, 300*ms),
		Events: []Event{{T: 4 * time.Second, Label: "wifi down"}, {T: 7 * time.Second, Label: "wifi up"}}}
	total := Series{Name: "total", Dashed: true}
	for i := range f.Panels[0].Series[0].Points {
		p := f.Panels[0].Series[0].Points[i]
		total.Points = append(total.Points, Point{T: p.T, V: p.V + f.Panels[0].Series[1].Points[i].V})
	}
	f.Panels[0].Series = append(f.Panels[0].Series, total)
	return f
}

func TestWritePNG(t *testing.T) {
	f := demoFigure()
	path := filepath.Join(t.TempDir(), "demo.png")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	img, err := png.Decode(file)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	w, h := f.PixelSize()
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("image %v, want %dx%d", b, w, h)
	}
	if w != 1100 || h != int((0.75+3*2.6)*DPI+0.5) {
		t.Errorf("PixelSize %dx%d for three panels", w, h)
	}
	// Each series' colour is drawn, and the background is white.
	counts := countColours(img, palette[:3])
	for i, name := range []string{"wifi", "lte", "total"} {
		if counts[i] < 200 {
			t.Errorf("series %s: %d pixels of its colour %v", name, counts[i], palette[i])
		}
	}
	if c := color.RGBAModel.Convert(img.At(2, 2)).(color.RGBA); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("corner pixel %v, want white", c)
	}
}

// countColours counts the pixels of img within a small distance of each
// of cs, in one pass.
func countColours(img image.Image, cs []color.RGBA) []int {
	n := make([]int, len(cs))
	near := func(a, b uint8) bool { d := int(a) - int(b); return d > -12 && d < 12 }
	b := img.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, img, b.Min, draw.Src)
	for i := 0; i+3 < len(rgba.Pix); i += 4 {
		r, g, bl := rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2]
		for k, c := range cs {
			if near(r, c.R) && near(g, c.G) && near(bl, c.B) {
				n[k]++
			}
		}
	}
	return n
}

func TestWriteSVG(t *testing.T) {
	f := demoFigure()
	path := filepath.Join(t.TempDir(), "demo.svg")
	if err := f.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Well-formed XML with an <svg> root; collect the text.
	dec := xml.NewDecoder(bytes.NewReader(data))
	var texts []string
	var root string
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			inText = tok.Name.Local == "text"
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{f.Title, TitleSent, TitleCwnd, TitleRTT, "Mbit/s", "kB", "ms", "time (s)",
		"wifi", "lte", "total", "wifi down", "wifi up"} {
		if !strings.Contains(all, want) {
			t.Errorf("the SVG's text lacks %q", want)
		}
	}
	// The event labels appear once: in the top panel only.
	if n := strings.Count(all, "wifi down"); n != 1 {
		t.Errorf("%q appears %d times", "wifi down", n)
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"demo.jpg", "demo"} {
		path := filepath.Join(dir, name)
		if err := demoFigure().WriteFile(path); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: a file was created (%v)", name, err)
		}
	}
	empty := filepath.Join(dir, "empty.png")
	if err := (&Figure{Title: "nothing"}).WriteFile(empty); err == nil {
		t.Error("a figure without panels was written")
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("a file was created for a figure without panels (%v)", err)
	}
	if err := demoFigure().WriteFile(filepath.Join(dir, "no", "such", "dir.png")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if err := demoFigure().Render(io.Discard, Format("gif")); !errors.Is(err, ErrFormat) {
		t.Errorf("Render gif: %v, want ErrFormat", err)
	}
}

// TestRenderOddData: no data, a lone point, values that are not finite,
// every value zero, events outside the data: the figure is still drawn.
func TestRenderOddData(t *testing.T) {
	f := &Figure{
		Title: "odd",
		Panels: []Panel{
			{Title: "empty", YLabel: "u"},
			{Title: "odd values", YLabel: "u", Series: []Series{
				{Name: "nan", Points: []Point{{T: time.Second, V: math.NaN()}, {T: 2 * time.Second, V: math.Inf(1)}}},
				{Name: "one", Points: []Point{{T: time.Second, V: 3}}},
				{Name: "zero", Points: pts(0, 0, 1, 0, 2, 0)},
			}},
		},
		Events: []Event{{T: 5 * time.Second, Label: "late"}, {T: 5 * time.Second, Label: "same time"}, {T: 0}},
	}
	formats := []Format{SVG, PNG}
	if raceEnabled {
		// Rasterizing runs on one goroutine and is slow under the race
		// detector; TestWritePNG covers PNG.
		formats = formats[:1]
	}
	for _, format := range formats {
		var b bytes.Buffer
		if err := f.Render(&b, format); err != nil || b.Len() == 0 {
			t.Fatalf("%s: %v, %d bytes", format, err, b.Len())
		}
		if format != PNG {
			continue
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		// The lone point is marked, the zero line drawn; the series
		// without a finite value has neither a line nor a legend
		// entry, nor a colour.
		if n := countColours(img, palette[:3]); n[0] < 20 || n[1] < 200 || n[2] != 0 {
			t.Errorf("pixels of the series' colours: %v", n)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	labels := func(ts []gplot.Tick) []string {
		var out []string
		for _, x := range ts {
			if x.Label != "" {
				out = append(out, x.Label)
			}
		}
		return out
	}
	tests := []struct {
		lo, hi float64
		major  int
		want   []string
	}{
		{0, 12, 16, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}},
		{0, 75 * 1.18, 6, []string{"0", "20", "40", "60", "80"}},
		{0, 0.35, 6, []string{"0.0", "0.1", "0.2", "0.3"}},
		{0, 1, 6, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{2.5, 31, 16, []string{"4", "6", "8", "10", "12", "14", "16", "18", "20", "22", "24", "26", "28", "30"}},
		{1, 1, 6, nil},
		{math.NaN(), 1, 6, nil},
	}
	for _, tc := range tests {
		got := niceTicks{major: tc.major}.Ticks(tc.lo, tc.hi)
		if d := cmp.Diff(tc.want, labels(got)); d != "" {
			t.Errorf("Ticks(%g, %g) (-want +got):\n%s", tc.lo, tc.hi, d)
		}
		for _, x := range got {
			if x.Value < tc.lo-1e-9 || x.Value > tc.hi+1e-9 {
				t.Errorf("Ticks(%g, %g): tick at %g outside", tc.lo, tc.hi, x.Value)
			}
		}
	}
}

func BenchmarkRenderPNG(b *testing.B) {
	f := demoFigure()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Render(io.Discard, PNG); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderSVG(b *testing.B) {
	f := demoFigure()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Render(io.Discard, SVG); err != nil {
			b.Fatal(err)
		}
	}
}
