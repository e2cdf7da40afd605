package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Palette is the Okabe-Ito palette, safe for the common colour-vision
// deficiencies, in the order series take it (black last: reference
// lines are grey).
var Palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
	{0x00, 0x00, 0x00, 0xff}, // black
}

// colour returns the i-th series colour.
func colour(i int) color.Color { return Palette[i%len(Palette)] }

var (
	grey = color.RGBA{0x80, 0x80, 0x80, 0xff}
	ink  = color.RGBA{0x1a, 0x1a, 0x1a, 0xff}
	sans = font.Font{Typeface: "Liberation", Variant: "Sans"}
)

// Series is one line of a chart: its name in the legend and its points.
type Series struct {
	Name string
	X, Y []float64
	// Dashed draws a reference (a baseline, the diagonal).
	Dashed bool
	// Points marks each point (few points, such as deciles).
	Points bool
}

// Chart describes a plot: title, axis labels with units, fixed ranges
// when set (Min < Max), and how the legend sits.
type Chart struct {
	Title, X, Y string
	XMin, XMax  float64
	YMin, YMax  float64
	// Legend is where the legend sits: "" (top right), "bottom right",
	// "bottom left" or "top left".
	Legend             string
	PercentX, PercentY bool // ticks as percentages of shares in [0, 1]
	// NoLegend leaves HorizontalBars' sign legend out (bars that are
	// never negative: times, counts).
	NoLegend bool
	// IntegerX puts the x ticks on whole numbers only (steps, periods).
	IntegerX bool
	// Bands are shaded ranges LineChart draws under its lines (a
	// forecast's P50-P90).
	Bands []Band
}

// Band is a shaded range between Lo and Hi over X, in a light tint of
// the palette's colour Colour.
type Band struct {
	Name      string
	X, Lo, Hi []float64
	Colour    int
}

func newPlot(c Chart) *plot.Plot {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text, p.Y.Label.Text = c.X, c.Y
	for _, ts := range []*text{{&p.Title.TextStyle, 13}, {&p.X.Label.TextStyle, 11}, {&p.Y.Label.TextStyle, 11},
		{&p.X.Tick.Label, 10}, {&p.Y.Tick.Label, 10}, {&p.Legend.TextStyle, 10}} {
		ts.style.Font = sans
		ts.style.Font.Size = vg.Length(ts.size)
		ts.style.Color = ink
	}
	p.Title.Padding = vg.Points(6)
	if c.XMin < c.XMax {
		p.X.Min, p.X.Max = c.XMin, c.XMax
	}
	if c.YMin < c.YMax {
		p.Y.Min, p.Y.Max = c.YMin, c.YMax
	}
	if c.PercentX {
		p.X.Tick.Marker = percentTicks{}
	}
	if c.PercentY {
		p.Y.Tick.Marker = percentTicks{}
	}
	if c.IntegerX {
		p.X.Tick.Marker = integerTicks{}
	}
	p.Legend.Top, p.Legend.XOffs, p.Legend.YOffs = true, -vg.Points(6), -vg.Points(6)
	switch c.Legend {
	case "bottom right":
		p.Legend.Top, p.Legend.YOffs = false, vg.Points(6)
	case "top left":
		p.Legend.Left, p.Legend.XOffs = true, vg.Points(6)
	case "bottom left":
		p.Legend.Top, p.Legend.YOffs = false, vg.Points(6)
		p.Legend.Left, p.Legend.XOffs = true, vg.Points(6)
	}
	p.Add(plotter.NewGrid())
	return p
}

type text struct {
	style *draw.TextStyle
	size  float64
}

// percentTicks labels the default ticks of a [0, 1] axis as percentages.
type percentTicks struct{}

func (percentTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = Pct(ts[i].Value, 0)
		}
	}
	return ts
}

// thousandsTicks labels the default ticks with thousands separators.
type thousandsTicks struct{}

func (thousandsTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" && ts[i].Value == float64(int64(ts[i].Value)) {
			ts[i].Label = Int(int64(ts[i].Value))
		}
	}
	return ts
}

// integerTicks labels the whole numbers of the axis range (at most 14
// labels: every second, fifth... when more).
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	step := math.Max(1, math.Ceil((last-first+1)/14))
	var ts []plot.Tick
	for v := first; v <= last; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: Int(int64(v))})
	}
	return ts
}

// LineChart draws series as lines, over c's Bands.
func LineChart(c Chart, series []Series) (template.HTML, error) {
	p := newPlot(c)
	for _, b := range c.Bands {
		xys := make(plotter.XYs, 0, 2*len(b.X))
		for i := range b.X {
			xys = append(xys, plotter.XY{X: b.X[i], Y: b.Hi[i]})
		}
		for i := len(b.X) - 1; i >= 0; i-- {
			xys = append(xys, plotter.XY{X: b.X[i], Y: b.Lo[i]})
		}
		poly, err := plotter.NewPolygon(xys)
		if err != nil {
			return "", fmt.Errorf("chart %q, band %q: %w", c.Title, b.Name, err)
		}
		col := Palette[b.Colour%len(Palette)]
		poly.Color = color.RGBA{R: uint8(255 - (255-int(col.R))*35/100), G: uint8(255 - (255-int(col.G))*35/100), B: uint8(255 - (255-int(col.B))*35/100), A: 0xff}
		poly.LineStyle.Width = 0
		p.Add(poly)
		if b.Name != "" {
			p.Legend.Add(b.Name, poly)
		}
	}
	k := 0
	for _, s := range series {
		xys := make(plotter.XYs, len(s.X))
		for i := range s.X {
			xys[i].X, xys[i].Y = s.X[i], s.Y[i]
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return "", fmt.Errorf("chart %q, series %q: %w", c.Title, s.Name, err)
		}
		l.Width = vg.Points(2)
		if s.Dashed {
			l.Color = grey
			l.Width = vg.Points(1.2)
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		} else {
			l.Color = colour(k)
			k++
		}
		p.Add(l)
		if s.Points {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return "", err
			}
			sc.Color = l.Color
			sc.Radius = vg.Points(2.5)
			p.Add(sc)
			p.Legend.Add(s.Name, l, sc)
		} else if s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
	}
	return svg(p)
}

// Bars is one group of a bar chart: a name in the legend and one value
// per category.
type Bars struct {
	Name   string
	Values []float64
}

// BarChart draws groups of bars over named categories, side by side.
func BarChart(c Chart, categories []string, groups []Bars) (template.HTML, error) {
	p := newPlot(c)
	w := vg.Points(float64(min(36, 240/max(1, len(categories)*len(groups)))))
	for k, g := range groups {
		b, err := plotter.NewBarChart(plotter.Values(g.Values), w)
		if err != nil {
			return "", fmt.Errorf("chart %q, bars %q: %w", c.Title, g.Name, err)
		}
		b.Color = colour(k)
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(float64(k)-float64(len(groups)-1)/2)
		p.Add(b)
		if g.Name != "" && len(groups) > 1 {
			p.Legend.Add(g.Name, b)
		}
	}
	p.NominalX(categories...)
	if len(groups) > 1 && !(c.YMin < c.YMax) {
		// Headroom for the legend above the tallest bar.
		top := 0.0
		for _, g := range groups {
			for _, v := range g.Values {
				top = max(top, v)
			}
		}
		p.Y.Min, p.Y.Max = 0, top*1.25
	}
	if !c.PercentY {
		p.Y.Tick.Marker = thousandsTicks{}
	}
	return svg(p)
}

// HorizontalBars draws one bar per named row, top to bottom, coloured by
// sign (positive first colour, negative second): coefficients.
func HorizontalBars(c Chart, names []string, values []float64) (template.HTML, error) {
	p := newPlot(c)
	n := len(names)
	pos, neg := make(plotter.Values, n), make(plotter.Values, n)
	// NominalY puts the first name at the bottom: reverse so the list
	// reads top down.
	rev := make([]string, n)
	for i := range names {
		j := n - 1 - i
		rev[j] = names[i]
		if values[i] >= 0 {
			pos[j] = values[i]
		} else {
			neg[j] = values[i]
		}
	}
	w := vg.Points(float64(min(14, max(4, 360/max(1, n)))))
	for k, vs := range []plotter.Values{pos, neg} {
		b, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return "", err
		}
		b.Horizontal = true
		b.Color = colour(k + 4) // sky blue / vermillion
		b.LineStyle.Width = 0
		p.Add(b)
		if !c.NoLegend {
			p.Legend.Add([]string{"raises the score", "lowers the score"}[k], b)
		}
	}
	p.NominalY(rev...)
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	return svgSize(p, 6.5*vg.Inch, vg.Length(max(3.2, 0.22*float64(n)+1.2))*vg.Inch)
}

func svg(p *plot.Plot) (template.HTML, error) {
	return svgSize(p, 6.5*vg.Inch, 4.3*vg.Inch)
}

// svgSize renders the plot as an SVG element for inline use: the XML
// prolog dropped, a viewBox added so it scales with the page.
func svgSize(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("chart %q: no svg element in the output", p.Title.Text)
	}
	s = s[i:]
	s = strings.Replace(s, "<svg", fmt.Sprintf(`<svg role="img" aria-label="%s" viewBox="0 0 %.0f %.0f"`, template.HTMLEscapeString(p.Title.Text), w.Points(), h.Points()), 1)
	return template.HTML(s), nil
}
