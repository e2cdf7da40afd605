package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/prevoir/prevoir/models"
)

// classifierSections are the sections of a classifier's report (a model
// whose output is a probability): holdout metrics beside the baseline,
// ROC and precision-recall curves, calibration, gains and lift, score
// distribution per class, coefficients (native logistic) and the search
// over C. Parts the card has no data for say so instead of plotting.
func classifierSections(c *models.Card) ([]Section, error) {
	m, err := readMetrics(c)
	if err != nil {
		return nil, err
	}
	r := ref(c)
	out := []Section{overviewSection(c)}
	if m.Holdout == nil {
		out[0].Blocks = append(out[0].Blocks, Block{Note: "This card has no holdout metrics (trained without a holdout, or an imported model): there is nothing to plot. Train with a holdout (--task, or --holdout-frac) to see the curves."})
		return out, nil
	}
	var base *classMetrics
	baseName := ""
	if m.Baseline != nil && m.Baseline.Holdout != nil {
		base, baseName = m.Baseline.Holdout, "baseline ("+m.Baseline.Feature+" only)"
	}
	out = append(out, metricsSection(r, m, base, baseName))
	curves, err := curveSection(r, m.Holdout, base, baseName)
	if err != nil {
		return nil, err
	}
	out = append(out, curves)
	for _, b := range []func(string, *classMetrics, *classMetrics, string) (Section, error){calibrationSection, gainsSection, distributionSection} {
		s, err := b(r, m.Holdout, base, baseName)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(c.Coefficients) > 0 {
		s, err := coefficientSection(c)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if m.Search != nil && len(m.Search.Points) > 0 {
		out = append(out, searchSection(r, m))
	}
	return out, nil
}

// overviewSection is the level 1 section that opens a model: what it is
// and where its data came from, with the card's warnings.
func overviewSection(c *models.Card) Section {
	facts := []Fact{{"Kind", c.Kind}, {"Output", c.Output}, {"Inputs", Int(int64(len(c.Inputs.Features)))}}
	if c.Task != "" {
		facts = append([]Fact{{"Task", c.Task}}, facts...)
	}
	if !c.Created.IsZero() {
		facts = append(facts, Fact{"Registered", c.Created.UTC().Format("2006-01-02 15:04 UTC")})
	}
	var text []string
	if l := c.Lineage; l != nil {
		if l.Dataset != "" {
			facts = append(facts, Fact{"Dataset", l.Dataset})
		}
		if l.Rows > 0 {
			facts = append(facts, Fact{"Training rows", Int(int64(l.Rows))})
		}
		if h, ok := l.Extra["holdout_cutoff"].(string); ok {
			facts = append(facts, Fact{"Holdout cutoff", h})
		}
		if len(l.Cutoffs) > 0 {
			text = append(text, "Cutoffs used: "+strings.Join(l.Cutoffs, ", ")+".")
		}
	}
	if s := c.Source; s != nil {
		facts = append(facts, Fact{"Imported from", s.Format})
	}
	sec := Section{ID: "model-" + slug(ref(c)), Title: "Model " + ref(c), Blocks: []Block{{Facts: facts}}}
	for _, t := range text {
		sec.Blocks = append(sec.Blocks, Block{Text: t})
	}
	for _, w := range c.Warnings {
		sec.Blocks = append(sec.Blocks, Block{Note: "Warning recorded at training: " + w})
	}
	return sec
}

func sub(r, id, title string, blocks ...Block) Section {
	return Section{ID: slug(r) + "-" + id, Title: title, Level: 2, Blocks: blocks}
}

// metricRow is one measure of the metrics table: how to read it from a
// set of metrics and which way is better.
type metricRow struct {
	name   string
	value  func(*classMetrics) float64
	format func(float64) string
	higher bool // higher is better
}

var metricRows = []metricRow{
	{"ROC AUC", func(m *classMetrics) float64 { return m.AUC }, func(v float64) string { return Num(v, 4) }, true},
	{"Average precision (PR AUC)", func(m *classMetrics) float64 { return m.AveragePrecision }, func(v float64) string { return Num(v, 4) }, true},
	{"Log loss", func(m *classMetrics) float64 { return m.LogLoss }, func(v float64) string { return Num(v, 4) }, false},
	{"Brier score", func(m *classMetrics) float64 { return m.Brier }, func(v float64) string { return Num(v, 4) }, false},
	{"Lift, top 10%", func(m *classMetrics) float64 { return decileAt(m, 0, func(d decile) float64 { return d.Lift }) }, func(v float64) string { return Num(v, 2) + "×" }, true},
	{"Positives found in top 20%", func(m *classMetrics) float64 {
		return decileAt(m, 1, func(d decile) float64 { return d.CumulativeGain })
	}, func(v float64) string { return Pct(v, 1) }, true},
}

func decileAt(m *classMetrics, k int, f func(decile) float64) float64 {
	if k < len(m.Deciles) {
		return f(m.Deciles[k])
	}
	return math.NaN()
}

// metricsSection is the holdout metrics table beside the baseline and the
// training rows.
func metricsSection(r string, m *cardMetrics, base *classMetrics, baseName string) Section {
	h := m.Holdout
	head := []string{"Measure", "Model, holdout"}
	num := []bool{false, true}
	if base != nil {
		head = append(head, "Baseline, holdout", "Model − baseline")
		num = append(num, true, true)
	}
	if m.Train != nil {
		head = append(head, "Model, training rows")
		num = append(num, true)
	}
	t := &Table{Caption: "Holdout metrics of " + r, Head: head, Numeric: num}
	for _, mr := range metricRows {
		row := []string{mr.name, mr.format(mr.value(h))}
		if base != nil {
			d := mr.value(h) - mr.value(base)
			row = append(row, mr.format(mr.value(base)), Signed(d, 4))
		}
		if m.Train != nil {
			row = append(row, mr.format(mr.value(m.Train)))
		}
		t.Rows = append(t.Rows, row)
	}
	facts := []Fact{{"Holdout rows", Int(int64(h.Rows))}, {"Positives", Count(h.Positives)}, {"Base rate", Pct(h.BaseRate, 1)}}
	blocks := []Block{{Facts: facts}, {Table: t}}
	if base != nil {
		verdict := "beats"
		if h.AUC <= base.AUC {
			verdict = "does NOT beat"
		}
		blocks = append(blocks, Block{Text: fmt.Sprintf("On the same holdout rows the model %s the %s: ROC AUC %s against %s. Log loss and Brier score: lower is better.", verdict, baseName, Num(h.AUC, 4), Num(base.AUC, 4))})
	}
	if cb := m.CLVBaseline; cb != nil {
		switch {
		case cb.Holdout != nil:
			blocks = append(blocks, Block{Text: fmt.Sprintf("Label-free baseline (%s, as of %s: %s): ROC AUC %s, log loss %s, Brier %s on the same rows (%s without a summary, scored with the mean); 1 − p_alive alone: ROC AUC %s.",
				cb.Name, cb.Cutoff, cb.Score, Num(cb.Holdout.AUC, 4), Num(cb.Holdout.LogLoss, 4), Num(cb.Holdout.Brier, 4), Int(int64(cb.Missing)), Num(cb.AUCPAlive, 4))})
		case cb.Note != "":
			blocks = append(blocks, Block{Note: "No label-free baseline: " + cb.Note})
		}
	}
	return sub(r, "metrics", "Holdout metrics against the baseline", blocks...)
}

// rocSeries is a model's ROC curve as plotted: the recorded points, in
// order. A test compares them with the card's AUC.
func rocSeries(name string, c *curveSet, auc float64) Series {
	return Series{Name: fmt.Sprintf("%s (AUC %s)", name, Num(auc, 3)), X: c.FPR, Y: c.TPR}
}

// prSeries is a model's precision-recall curve, from the first point
// where something is called positive.
func prSeries(name string, c *curveSet, ap float64) Series {
	return Series{Name: fmt.Sprintf("%s (AP %s)", name, Num(ap, 3)), X: c.TPR[1:], Y: c.Precision[1:]}
}

func curveSection(r string, h, base *classMetrics, baseName string) (Section, error) {
	if h.Curves == nil || len(h.FPRs()) < 2 {
		return sub(r, "curves", "ROC and precision-recall curves", Block{Note: "This card records no curve points (a model trained before prevoir recorded them): the AUCs are in the metrics table; retrain to see the curves."}), nil
	}
	roc := []Series{rocSeries("model", h.Curves, h.AUC)}
	pr := []Series{prSeries("model", h.Curves, h.AveragePrecision)}
	if base != nil && base.Curves != nil && len(base.Curves.FPR) > 1 {
		roc = append(roc, rocSeries(baseName, base.Curves, base.AUC))
		pr = append(pr, prSeries(baseName, base.Curves, base.AveragePrecision))
	}
	roc = append(roc, Series{Name: "chance", X: []float64{0, 1}, Y: []float64{0, 1}, Dashed: true})
	pr = append(pr, Series{Name: "chance (base rate " + Pct(h.BaseRate, 1) + ")", X: []float64{0, 1}, Y: []float64{h.BaseRate, h.BaseRate}, Dashed: true})
	rocSVG, err := LineChart(Chart{Title: "ROC curve, holdout", X: "false positive rate (share of negatives flagged)", Y: "true positive rate (recall)",
		XMin: 0, XMax: 1, YMin: 0, YMax: 1, Legend: "bottom right", PercentX: true, PercentY: true}, roc)
	if err != nil {
		return Section{}, err
	}
	prSVG, err := LineChart(Chart{Title: "Precision-recall curve, holdout", X: "recall (share of positives found)", Y: "precision (share of flagged that are positive)",
		XMin: 0, XMax: 1, YMin: 0, YMax: 1, Legend: "bottom left", PercentX: true, PercentY: true}, pr)
	if err != nil {
		return Section{}, err
	}
	return sub(r, "curves", "ROC and precision-recall curves",
		Block{Text: "Each point is a threshold: every customer scoring at or above it is flagged. Up and to the left is better for ROC; up and to the right for precision-recall."},
		Block{Figures: []Figure{
			{ID: slug(r) + "-roc", Caption: "ROC curve on the holdout rows; the dashed diagonal is a random ranking.", SVG: rocSVG},
			{ID: slug(r) + "-pr", Caption: "Precision against recall on the holdout rows; the dashed line is the base rate.", SVG: prSVG},
		}}), nil
}

// FPRs returns the recorded ROC x values (nil without curves).
func (m *classMetrics) FPRs() []float64 {
	if m.Curves == nil {
		return nil
	}
	return m.Curves.FPR
}

func calibrationSection(r string, h, base *classMetrics, _ string) (Section, error) {
	if len(h.Calibration) == 0 {
		return sub(r, "calibration", "Calibration", Block{Note: "No calibration bins on the card."}), nil
	}
	var xs, ys []float64
	t := &Table{Caption: "Calibration bins (equal row counts, lowest scores first)", Head: []string{"Bin", "Rows", "Scores from", "to", "Mean predicted", "Observed rate", "Gap"},
		Numeric: []bool{true, true, true, true, true, true, true}}
	hi := 0.0
	for k, b := range h.Calibration {
		xs, ys = append(xs, b.MeanPredicted), append(ys, b.ObservedRate)
		hi = max(hi, b.MeanPredicted, b.ObservedRate)
		t.Rows = append(t.Rows, []string{Int(int64(k + 1)), Int(int64(b.Rows)), Pct(b.MinP, 1), Pct(b.MaxP, 1), Pct(b.MeanPredicted, 1), Pct(b.ObservedRate, 1), Points(b.ObservedRate-b.MeanPredicted, 1)})
	}
	top := math.Min(1, math.Ceil(hi*10+0.5)/10)
	svg, err := LineChart(Chart{Title: "Calibration, holdout (10 bins)", X: "mean predicted probability", Y: "observed rate of positives",
		XMin: 0, XMax: top, YMin: 0, YMax: top, Legend: "top left", PercentX: true, PercentY: true},
		[]Series{{Name: "model", X: xs, Y: ys, Points: true}, {Name: "perfect calibration", X: []float64{0, top}, Y: []float64{0, top}, Dashed: true}})
	if err != nil {
		return Section{}, err
	}
	return sub(r, "calibration", "Calibration",
		Block{Text: "A calibrated model's customers at 30% churn 30% of the time: points on the diagonal. Each bin holds a tenth of the holdout rows."},
		Block{Figures: []Figure{{ID: slug(r) + "-calibration", Caption: "Observed rate against mean predicted probability per bin.", SVG: svg}}},
		Block{Table: t}), nil
}

func gainsSection(r string, h, base *classMetrics, baseName string) (Section, error) {
	if len(h.Deciles) == 0 {
		return sub(r, "gains", "Cumulative gains and lift by decile", Block{Note: "No deciles on the card."}), nil
	}
	gains := func(m *classMetrics) ([]float64, []float64) {
		xs, ys := []float64{0}, []float64{0}
		rows := 0
		for _, d := range m.Deciles {
			rows += d.Rows
			xs = append(xs, float64(rows)/float64(m.Rows))
			ys = append(ys, d.CumulativeGain)
		}
		return xs, ys
	}
	gx, gy := gains(h)
	series := []Series{{Name: "model", X: gx, Y: gy, Points: true}}
	cats := make([]string, len(h.Deciles))
	lifts := []Bars{{Name: "model", Values: make([]float64, len(h.Deciles))}}
	for k, d := range h.Deciles {
		cats[k] = Int(int64(d.Decile))
		lifts[0].Values[k] = d.Lift
	}
	if base != nil && len(base.Deciles) == len(h.Deciles) {
		bx, by := gains(base)
		series = append(series, Series{Name: baseName, X: bx, Y: by, Points: true})
		bl := Bars{Name: baseName, Values: make([]float64, len(base.Deciles))}
		for k, d := range base.Deciles {
			bl.Values[k] = d.Lift
		}
		lifts = append(lifts, bl)
	}
	series = append(series, Series{Name: "random", X: []float64{0, 1}, Y: []float64{0, 1}, Dashed: true})
	gsvg, err := LineChart(Chart{Title: "Cumulative gains, holdout", X: "customers contacted, by decreasing score", Y: "share of all positives found",
		XMin: 0, XMax: 1, YMin: 0, YMax: 1, Legend: "bottom right", PercentX: true, PercentY: true}, series)
	if err != nil {
		return Section{}, err
	}
	lsvg, err := BarChart(Chart{Title: "Lift by decile, holdout", X: "score decile (1 = highest scores)", Y: "lift (rate ÷ base rate, ×)"}, cats, lifts)
	if err != nil {
		return Section{}, err
	}
	t := &Table{Caption: "Deciles by decreasing score", Head: []string{"Decile", "Rows", "Positives", "Rate", "Lift", "Cumulative gain", "Cumulative lift"},
		Numeric: []bool{true, true, true, true, true, true, true}}
	for _, d := range h.Deciles {
		t.Rows = append(t.Rows, []string{Int(int64(d.Decile)), Int(int64(d.Rows)), Count(d.Positives), Pct(d.Rate, 1), Num(d.Lift, 2) + "×", Pct(d.CumulativeGain, 1), Num(d.CumulativeLift, 2) + "×"})
	}
	return sub(r, "gains", "Cumulative gains and lift by decile",
		Block{Text: fmt.Sprintf("Contacting the top 10%% of customers by score finds %s of the positives (a lift of %s×).", Pct(h.Deciles[0].CumulativeGain, 1), Num(h.Deciles[0].Lift, 2))},
		Block{Figures: []Figure{
			{ID: slug(r) + "-gains", Caption: "Share of positives found against share of customers contacted.", SVG: gsvg},
			{ID: slug(r) + "-lift", Caption: "Rate of positives per decile over the base rate; 1× is no better than random.", SVG: lsvg},
		}},
		Block{Table: t}), nil
}

func distributionSection(r string, h, _ *classMetrics, _ string) (Section, error) {
	c := h.Curves
	if c == nil || len(c.Positives) == 0 || len(c.Positives) != len(c.Negatives) {
		return sub(r, "distribution", "Score distribution per class", Block{Note: "This card records no score histogram (a model trained before prevoir recorded one)."}), nil
	}
	var tp, tn float64
	for k := range c.Positives {
		tp += c.Positives[k]
		tn += c.Negatives[k]
	}
	n := len(c.Positives)
	cats := make([]string, n)
	pos, neg := Bars{Name: "positives (label 1)", Values: make([]float64, n)}, Bars{Name: "negatives (label 0)", Values: make([]float64, n)}
	for k := range cats {
		cats[k] = Int(int64(100 * k / n))
		if tp > 0 {
			pos.Values[k] = c.Positives[k] / tp
		}
		if tn > 0 {
			neg.Values[k] = c.Negatives[k] / tn
		}
	}
	svg, err := BarChart(Chart{Title: "Score distribution per class, holdout", X: fmt.Sprintf("score bin (%%, each %d points wide, labelled by its lower edge)", 100/n), Y: "share of the class's rows", PercentY: true}, cats, []Bars{neg, pos})
	if err != nil {
		return Section{}, err
	}
	return sub(r, "distribution", "Score distribution per class",
		Block{Text: fmt.Sprintf("How the holdout scores of the %s positives and %s negatives spread; the less the two overlap, the better the model separates them.", Count(tp), Count(tn))},
		Block{Figures: []Figure{{ID: slug(r) + "-distribution", Caption: "Share of each class's holdout rows per score bin.", SVG: svg}}}), nil
}

// coefficientSection shows a linear model's coefficients in the
// standardised space, sorted by size: the change in log-odds for one
// standard deviation (or for the level, for an encoded category).
func coefficientSection(c *models.Card) (Section, error) {
	r := ref(c)
	type coef struct {
		name string
		v    float64
	}
	var cs []coef
	for k, v := range c.Coefficients {
		cs = append(cs, coef{k, v})
	}
	sort.Slice(cs, func(i, j int) bool {
		if a, b := math.Abs(cs[i].v), math.Abs(cs[j].v); a != b {
			return a > b
		}
		return cs[i].name < cs[j].name
	})
	t := &Table{Caption: "Standardised coefficients, largest effect first", Head: []string{"Design column", "Coefficient (log-odds per SD)", "Odds ratio per SD", "Direction"}, Numeric: []bool{false, true, true, false}}
	shown := cs
	if len(shown) > 40 {
		shown = shown[:40]
	}
	names, vals := make([]string, len(shown)), make([]float64, len(shown))
	for i, x := range shown {
		names[i], vals[i] = x.name, x.v
	}
	for _, x := range cs {
		dir := "raises the score"
		if x.v < 0 {
			dir = "lowers the score"
		}
		t.Rows = append(t.Rows, []string{x.name, Signed(x.v, 4), Num(math.Exp(x.v), 3), dir})
	}
	svg, err := HorizontalBars(Chart{Title: "Standardised coefficients", X: "change in log-odds per standard deviation", Legend: "bottom right"}, names, vals)
	if err != nil {
		return Section{}, err
	}
	blocks := []Block{
		{Text: "Coefficients of the standardised inputs: the change in log-odds when an input moves by one standard deviation of the training rows (for an encoded category, when the customer is in it). A '_missing' column is the effect of the value being unknown."},
		{Figures: []Figure{{ID: slug(r) + "-coefficients", Caption: "Coefficients sorted by absolute size" + map[bool]string{true: " (the 40 largest)", false: ""}[len(cs) > 40] + ".", SVG: svg}}},
		{Table: t},
	}
	if c.Intercept != nil {
		blocks = append(blocks, Block{Text: "Intercept: " + Signed(*c.Intercept, 4) + " (log-odds of an average customer)."})
	}
	return sub(r, "coefficients", "Coefficients", blocks...), nil
}

func searchSection(r string, m *cardMetrics) Section {
	s := m.Search
	t := &Table{Caption: "Search over C, validation cutoff " + s.Validation, Head: []string{"C", "ROC AUC", "Average precision", "Log loss", "Brier"}, Numeric: []bool{true, true, true, true, true}}
	for _, p := range s.Points {
		t.Rows = append(t.Rows, []string{Num(p.C, 4), Num(p.AUC, 4), Num(p.AveragePrecision, 4), Num(p.LogLoss, 4), Num(p.Brier, 4)})
		t.Highlight = append(t.Highlight, p.C == s.Chosen)
	}
	return sub(r, "search", "Search over the regularisation C",
		Block{Text: "Each C was fitted on the earlier cutoffs and evaluated on the validation cutoff; the highlighted row (lowest log loss) was kept, then refitted on all training cutoffs."},
		Block{Table: t})
}
