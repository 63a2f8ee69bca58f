package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is an image format.
type Format string

// The formats WriteFile and Render write.
const (
	PNG Format = "png"
	SVG Format = "svg"
)

// ErrFormat is wrapped by the error for a file name whose extension is
// not that of a supported format.
var ErrFormat = errors.New("plot: unsupported image format")

// FormatOf returns the format named by path's extension: .png or .svg,
// in any case.
func FormatOf(path string) (Format, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		return PNG, nil
	case ".svg":
		return SVG, nil
	case "":
		return "", fmt.Errorf("%w: %q has no extension (want .png or .svg)", ErrFormat, path)
	default:
		return "", fmt.Errorf("%w: %q (want .png or .svg, not %s)", ErrFormat, path, ext)
	}
}

// Dimensions of a rendered figure: a fixed width, a title and legend band,
// and a band per panel. PNG images have DPI dots per inch.
const (
	Width       = 10 * vg.Inch
	headHeight  = 0.75 * vg.Inch
	PanelHeight = 2.6 * vg.Inch
	DPI         = 110
)

// Size returns the figure's width and height.
func (f *Figure) Size() (w, h vg.Length) {
	return Width, headHeight + vg.Length(len(f.Panels))*PanelHeight
}

// PixelSize returns the size in pixels of the figure as a PNG image.
func (f *Figure) PixelSize() (w, h int) {
	wl, hl := f.Size()
	px := func(l vg.Length) int { return int(l.Dots(DPI) + 0.5) }
	return px(wl), px(hl)
}

// WriteFile renders the figure to path, in the format its extension
// names. A file that could not be written completely is removed.
func (f *Figure) WriteFile(path string) (err error) {
	format, err := FormatOf(path)
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	return f.Render(out, format)
}

// check reports a figure that cannot be drawn.
func (f *Figure) check() error {
	if len(f.Panels) == 0 {
		return errors.New("plot: the figure has no panel")
	}
	return nil
}

// Render writes the figure to w in the given format.
func (f *Figure) Render(w io.Writer, format Format) error {
	if err := f.check(); err != nil {
		return err
	}
	width, height := f.Size()
	var canvas vg.CanvasWriterTo
	switch format {
	case PNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))}
	case SVG:
		canvas = vgsvg.New(width, height)
	default:
		return fmt.Errorf("%w: %q", ErrFormat, format)
	}
	if err := f.draw(draw.New(canvas)); err != nil {
		return err
	}
	_, err := canvas.WriteTo(w)
	return err
}

// palette holds the colours of the series, in order of first appearance
// (Tableau 10, readable on white and by most colour-blind readers).
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

var (
	sans       = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold   = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
	eventColor = color.RGBA{0x55, 0x55, 0x55, 0xff}
	gridColor  = color.Gray{0xe4}
)

func textStyle(f font.Font, size vg.Length, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(f, size), Handler: gplot.DefaultTextHandler}
}

// style is how a series is drawn.
type style struct {
	color  color.Color
	dashed bool
}

func (s style) line() draw.LineStyle {
	ls := draw.LineStyle{Color: s.color, Width: vg.Points(1.4)}
	if s.dashed {
		ls.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	return ls
}

// styles gives each series name its colour, and the dashes of its first
// appearance.
func (f *Figure) styles() map[string]style {
	out := map[string]style{}
	for i, name := range f.names() {
		out[name] = style{color: palette[i%len(palette)]}
	}
	for _, p := range f.Panels {
		for _, s := range p.Series {
			if st := out[s.Name]; !st.dashed && s.Dashed {
				st.dashed = true
				out[s.Name] = st
			}
		}
	}
	return out
}

// draw draws the figure on c: the title and the legend at the top, then
// the panels, aligned.
func (f *Figure) draw(c draw.Canvas) error {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	styles := f.styles()
	lo, hi, _ := f.span()
	if lo > 0 || lo > hi {
		lo = 0
	}
	xmin, xmax := lo.Seconds(), hi.Seconds()
	if xmax <= xmin {
		xmax = xmin + 1
	}

	top := c.Max.Y - vg.Points(8)
	title := textStyle(sansBold, 14, color.Black)
	title.XAlign, title.YAlign = draw.XCenter, draw.YTop
	c.FillText(title, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: top}, f.Title)
	f.drawLegend(c, styles, top-title.Height("Xg")-vg.Points(8))

	body := draw.Crop(c, 0, 0, 0, -headHeight)
	plots := make([][]*gplot.Plot, len(f.Panels))
	for i, p := range f.Panels {
		pl, err := f.panel(p, i, styles, xmin, xmax)
		if err != nil {
			return err
		}
		plots[i] = []*gplot.Plot{pl}
	}
	tiles := draw.Tiles{Rows: len(f.Panels), Cols: 1, PadLeft: vg.Points(6), PadRight: vg.Points(18),
		PadBottom: vg.Points(4), PadY: vg.Points(12)}
	canvases := gplot.Align(plots, tiles, body)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	return nil
}

// drawLegend draws one row of legend entries, centred, with its top at y.
func (f *Figure) drawLegend(c draw.Canvas, styles map[string]style, y vg.Length) {
	names := f.names()
	ts := textStyle(sans, 11, color.Black)
	ts.YAlign = draw.YTop
	thumb, gap, after := vg.Points(22), vg.Points(5), vg.Points(18)
	var total vg.Length
	for i, n := range names {
		total += thumb + gap + ts.Width(n)
		if i > 0 {
			total += after
		}
	}
	x := (c.Min.X + c.Max.X - total) / 2
	mid := y - ts.Height("Xg")/2
	for _, n := range names {
		c.StrokeLine2(styles[n].line(), x, mid, x+thumb, mid)
		x += thumb + gap
		c.FillText(ts, vg.Point{X: x, Y: y}, n)
		x += ts.Width(n) + after
	}
}

// panel makes the plot of panel p, the i-th.
func (f *Figure) panel(p Panel, i int, styles map[string]style, xmin, xmax float64) (*gplot.Plot, error) {
	pl := gplot.New()
	pl.Title.Text = p.Title
	pl.Title.TextStyle = textStyle(sansBold, 11, color.Black)
	pl.Title.TextStyle.XAlign, pl.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	pl.Title.Padding = vg.Points(4)
	pl.Y.Label.Text = p.YLabel
	for _, ax := range []*gplot.Axis{&pl.X, &pl.Y} {
		ax.Label.TextStyle.Font = font.From(sans, 10)
		ax.Tick.Label.Font = font.From(sans, 9)
	}
	pl.X.Tick.Marker = niceTicks{major: 16}
	pl.Y.Tick.Marker = niceTicks{major: 6}
	if i == len(f.Panels)-1 {
		pl.X.Label.Text = "time (s)"
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridColor, gridColor
	pl.Add(grid)
	ymax := 0.0
	for _, s := range p.Series {
		xys := make(plotter.XYs, 0, len(s.Points))
		for _, pt := range s.Points {
			if finite(pt.V) {
				xys = append(xys, plotter.XY{X: pt.T.Seconds(), Y: pt.V})
				ymax = max(ymax, pt.V)
			}
		}
		if len(xys) == 0 {
			continue
		}
		st := styles[s.Name]
		st.dashed = s.Dashed
		if len(xys) == 1 {
			// A lone point makes no line: mark it.
			dot, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("plot: series %q: %w", s.Name, err)
			}
			dot.GlyphStyle = draw.GlyphStyle{Color: st.color, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			pl.Add(dot)
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		line.LineStyle = st.line()
		pl.Add(line)
	}
	pl.Add(&eventLines{events: f.Events, labels: i == 0})
	pl.X.Min, pl.X.Max = xmin, xmax
	// Room above the highest point for the event labels.
	pl.Y.Min, pl.Y.Max = 0, ymax*1.18
	if ymax <= 0 {
		pl.Y.Max = 1
	}
	return pl, nil
}

// eventLines draws the events: a dashed vertical line each, and in the
// top panel its label beside it, moved down a row when it would run into
// the label before.
type eventLines struct {
	events []Event
	labels bool
}

func (e *eventLines) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, _ := p.Transforms(&c)
	ls := draw.LineStyle{Color: eventColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
	ts := textStyle(sans, 9, eventColor)
	ts.YAlign = draw.YTop
	rowH := ts.Height("Xg") + vg.Points(1)
	var rowEnds []vg.Length // right edge of the last label in each row
	for _, ev := range e.events {
		x := trX(ev.T.Seconds())
		if x < c.Min.X-0.5 || x > c.Max.X+0.5 {
			continue
		}
		c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
		if !e.labels || ev.Label == "" {
			continue
		}
		w := ts.Width(ev.Label)
		left := x + vg.Points(3)
		sty := ts
		if left+w > c.Max.X {
			// No room on the right of the line: put it on the left.
			left = x - vg.Points(3) - w
		}
		row := 0
		for row < len(rowEnds) && rowEnds[row] > left-vg.Points(4) {
			row++
		}
		if row == len(rowEnds) {
			rowEnds = append(rowEnds, 0)
		}
		rowEnds[row] = left + w
		c.FillText(sty, vg.Point{X: left, Y: c.Max.Y - vg.Points(2) - vg.Length(row)*rowH}, ev.Label)
	}
}

// niceTicks places major ticks, labelled, at multiples of 1, 2 or 5
// times a power of ten, at most major of them, and four minor ticks
// between each (one for a step of 2).
type niceTicks struct{ major int }

func (n niceTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return nil
	}
	step, minor := niceStep((hi - lo) / float64(max(n.major-1, 1)))
	decimals := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	var ticks []gplot.Tick
	first := math.Ceil(lo/minor-1e-9) * minor
	for k := 0; ; k++ {
		v := first + float64(k)*minor
		if v > hi+minor*1e-9 {
			break
		}
		if r := math.Round(v / step); math.Abs(v-r*step) < minor*1e-6 {
			v = r * step
			ticks = append(ticks, gplot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
			continue
		}
		ticks = append(ticks, gplot.Tick{Value: v})
	}
	return ticks
}

// niceStep returns the smallest step of 1, 2 or 5 times a power of ten
// that is at least raw, and the step of its minor ticks.
func niceStep(raw float64) (step, minor float64) {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			step = m * p
			break
		}
	}
	if step/p == 2 {
		return step, step / 2
	}
	return step, step / 5
}
