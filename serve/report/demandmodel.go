package report

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/models"
)

// fcMetrics is train.ForecastMetrics as the card holds it: an undefined
// measure (a WAPE over actuals summing to 0) is null, read as nil.
type fcMetrics struct {
	Points     int      `json:"points"`
	Actual     float64  `json:"actual_total"`
	WAPE       *float64 `json:"wape"`
	Bias       *float64 `json:"bias"`
	MASE       *float64 `json:"mase"`
	Pinball50  *float64 `json:"pinball_50"`
	Pinball90  *float64 `json:"pinball_90"`
	WQL50      *float64 `json:"wql_50"`
	WQL90      *float64 `json:"wql_90"`
	Coverage90 *float64 `json:"coverage_90"`
}

// methodBacktest is train.MethodBacktest: one method, overall and per step.
type methodBacktest struct {
	Method  string      `json:"method"`
	Overall fcMetrics   `json:"overall"`
	Steps   []fcMetrics `json:"steps"`
}

// demandMetrics are the parts of a negbin card's metrics the report reads
// (train/demand.go and train/backtest.go write them).
type demandMetrics struct {
	TrainRows     int      `json:"train_rows"`
	HoldoutRows   int      `json:"holdout_rows"`
	TrainDeviance *float64 `json:"train_deviance"`
	Backtest      *struct {
		Origin           string           `json:"origin"`
		Period           string           `json:"period"`
		Horizon          int              `json:"horizon_periods"`
		SeasonLag        int              `json:"season_lag"`
		Product          []methodBacktest `json:"product"`
		ProductWarehouse []methodBacktest `json:"product_warehouse"`
		Baselines        string           `json:"baselines"`
		HistoryStart     string           `json:"history_start"`
		TopProducts      []struct {
			Product string    `json:"product"`
			History []float64 `json:"history"`
			Actual  []float64 `json:"actual"`
			Mean    []float64 `json:"mean"`
			P50     []float64 `json:"p50"`
			P90     []float64 `json:"p90"`
		} `json:"top_products"`
	} `json:"backtest"`
}

// methodNames are the backtest's methods as people read them.
var methodNames = map[string]string{
	"model": "model (negative binomial)", "naive": "naive (last period)", "seasonal_naive": "seasonal naive",
	"ma4": "moving average, 4 periods", "ma8": "moving average, 8 periods", "ma13": "moving average, 13 periods",
	"croston_sba": "Croston (SBA)",
}

func methodName(m string) string {
	if n, ok := methodNames[m]; ok {
		return n
	}
	return m
}

// opt formats a measure that may be undefined.
func opt(v *float64, f func(float64) string) string {
	if v == nil || math.IsNaN(*v) {
		return "—"
	}
	return f(*v)
}

func num3(v float64) string  { return Num(v, 3) }
func pct1(v float64) string  { return Pct(v, 1) }
func spct1(v float64) string { return Signed(v*100, 1) + "%" }

// demandModelSections are a demand count model's (kind negbin): the
// backtest on the held-out origin against the classic forecasters, at the
// product x warehouse and the product level; WAPE and P90 coverage per
// step; the dispersion and the fit.
func demandModelSections(c *models.Card) ([]Section, error) {
	var m demandMetrics
	b, err := json.Marshal(c.Metrics)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model %s: metrics: %w", ref(c), err)
	}
	r := ref(c)
	out := []Section{overviewSection(c)}
	if bt := m.Backtest; bt == nil || len(bt.ProductWarehouse) == 0 {
		out = append(out, sub(r, "backtest", "Backtest against the classic forecasters", Block{Note: "This card records no backtest (an imported model, or one trained without a held-out origin)."}))
	} else {
		facts := []Fact{{"Held-out origin", bt.Origin}, {"Period", bt.Period}, {"Horizon", Int(int64(bt.Horizon)) + " periods"}}
		if bt.SeasonLag > 0 {
			facts = append(facts, Fact{"Seasonal naive lag", Int(int64(bt.SeasonLag)) + " periods"})
		} else {
			facts = append(facts, Fact{"Seasonal naive", "left out: the history does not reach a year before the horizon"})
		}
		blocks := []Block{{Facts: facts},
			{Text: "Every method forecasts the horizon after the held-out origin from the history before it; the model's row is highlighted, the best value of each column marked ★. WAPE = sum |actual − forecast| / sum actual; bias = sum (forecast − actual) / sum actual; MASE scales each series' error by its own mean period-to-period change; wQL is the weighted quantile loss (2 × sum pinball loss / sum actual) of the median and of P90; P90 coverage is the share of values at or under the forecast P90 (0.9 is right)."},
			{Table: backtestTable("Product x warehouse series", bt.ProductWarehouse)}}
		if len(bt.Product) > 0 {
			blocks = append(blocks, Block{Table: backtestTable("Products (summed over warehouses)", bt.Product)})
		}
		if bt.Baselines != "" {
			blocks = append(blocks, Block{Text: "The classic forecasters' quantiles: " + bt.Baselines + "."})
		}
		out = append(out, sub(r, "backtest", "Backtest against the classic forecasters", blocks...))
		steps, err := stepSection(r, bt.Period, bt.ProductWarehouse)
		if err != nil {
			return nil, err
		}
		out = append(out, steps)
		fc, err := topForecastSection(r, &m)
		if err != nil {
			return nil, err
		}
		out = append(out, fc)
	}
	out = append(out, fitSection(c, &m))
	return out, nil
}

// backtestTable is one level's methods side by side.
func backtestTable(level string, ms []methodBacktest) *Table {
	t := &Table{Caption: level + ": accuracy over the horizon",
		Head:    []string{"Method", "Points", "WAPE", "Bias", "MASE", "wQL 0.5", "wQL 0.9", "Pinball 0.5", "Pinball 0.9", "P90 coverage"},
		Numeric: []bool{false, true, true, true, true, true, true, true, true, true}}
	type col struct {
		get    func(fcMetrics) *float64
		format func(float64) string
		score  func(float64) float64 // lower is better
	}
	abs := func(v float64) float64 { return math.Abs(v) }
	id := func(v float64) float64 { return v }
	cols := []col{
		{func(f fcMetrics) *float64 { return f.WAPE }, pct1, id},
		{func(f fcMetrics) *float64 { return f.Bias }, spct1, abs},
		{func(f fcMetrics) *float64 { return f.MASE }, num3, id},
		{func(f fcMetrics) *float64 { return f.WQL50 }, num3, id},
		{func(f fcMetrics) *float64 { return f.WQL90 }, num3, id},
		{func(f fcMetrics) *float64 { return f.Pinball50 }, num3, id},
		{func(f fcMetrics) *float64 { return f.Pinball90 }, num3, id},
		{func(f fcMetrics) *float64 { return f.Coverage90 }, pct1, func(v float64) float64 { return math.Abs(v - 0.9) }},
	}
	for _, m := range ms {
		t.Rows = append(t.Rows, []string{methodName(m.Method), Int(int64(m.Overall.Points))})
		t.Highlight = append(t.Highlight, m.Method == "model")
	}
	for _, c := range cols {
		best := -1
		for i, m := range ms {
			v := c.get(m.Overall)
			t.Rows[i] = append(t.Rows[i], opt(v, c.format))
			if v != nil && !math.IsNaN(*v) && (best < 0 || c.score(*v) < c.score(*c.get(ms[best].Overall))) {
				best = i
			}
		}
		if best >= 0 {
			t.Rows[best][len(t.Rows[best])-1] += " ★"
		}
	}
	return t
}

// bestClassic are the (at most two) classic forecasters with the lowest
// overall WAPE.
func bestClassic(ms []methodBacktest) []methodBacktest {
	var cs []methodBacktest
	for _, m := range ms {
		if m.Method != "model" && m.Overall.WAPE != nil && !math.IsNaN(*m.Overall.WAPE) {
			cs = append(cs, m)
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return *cs[i].Overall.WAPE < *cs[j].Overall.WAPE })
	return cs[:min(2, len(cs))]
}

// stepSeries is one method's measure per step (1-based), undefined steps
// left out.
func stepSeries(name string, steps []fcMetrics, get func(fcMetrics) *float64) Series {
	s := Series{Name: name, Points: true}
	for k, st := range steps {
		if v := get(st); v != nil && !math.IsNaN(*v) {
			s.X, s.Y = append(s.X, float64(k+1)), append(s.Y, *v)
		}
	}
	return s
}

// stepSection: WAPE per step of the model against the two best classic
// forecasters, and the model's P90 coverage per step against 0.9, at the
// product x warehouse level, with the model's steps as a table.
func stepSection(r, period string, ms []methodBacktest) (Section, error) {
	var model *methodBacktest
	for i := range ms {
		if ms[i].Method == "model" {
			model = &ms[i]
		}
	}
	if model == nil || len(model.Steps) == 0 {
		return sub(r, "steps", "Accuracy per step", Block{Note: "The backtest records no model row per step."}), nil
	}
	wape := func(f fcMetrics) *float64 { return f.WAPE }
	cov := func(f fcMetrics) *float64 { return f.Coverage90 }
	series := []Series{stepSeries(methodName(model.Method), model.Steps, wape)}
	for _, m := range bestClassic(ms) {
		series = append(series, stepSeries(methodName(m.Method), m.Steps, wape))
	}
	n := float64(len(model.Steps))
	x := "step ahead of the origin (" + period + " periods)"
	top := 0.0
	for _, s := range series {
		for _, v := range s.Y {
			top = max(top, v)
		}
	}
	w, err := LineChart(Chart{Title: "WAPE per step, product x warehouse", X: x, Y: "WAPE (share of actual units)", XMin: 0.5, XMax: n + 0.5, YMin: 0, YMax: top * 1.15,
		PercentY: true, IntegerX: true, Legend: "bottom right"}, nonEmpty(series))
	if err != nil {
		return Section{}, err
	}
	cs := stepSeries("model P90 coverage", model.Steps, cov)
	var figs []Figure
	figs = append(figs, Figure{ID: slug(r) + "-wape-steps", Caption: "The model's WAPE per step against the two classic forecasters with the lowest WAPE over the horizon (lower is better).", SVG: w})
	if len(cs.X) > 0 {
		lo := 0.5
		for _, v := range cs.Y {
			lo = min(lo, math.Floor(v*10)/10)
		}
		// The target line has a point at each step too.
		target := Series{Name: "target 90%", X: []float64{0.5}, Y: []float64{0.9}, Dashed: true}
		for k := range model.Steps {
			target.X, target.Y = append(target.X, float64(k+1)), append(target.Y, 0.9)
		}
		target.X, target.Y = append(target.X, n+0.5), append(target.Y, 0.9)
		c, err := LineChart(Chart{Title: "P90 coverage per step, product x warehouse", X: x, Y: "share of values at or under P90", XMin: 0.5, XMax: n + 0.5, YMin: lo, YMax: 1, PercentY: true, IntegerX: true, Legend: "bottom right"},
			[]Series{cs, target})
		if err != nil {
			return Section{}, err
		}
		figs = append(figs, Figure{ID: slug(r) + "-coverage-steps", Caption: "The share of held-out values the model's P90 covered, per step; a well-calibrated P90 sits on the 90% line.", SVG: c})
	}
	t := &Table{Caption: "The model per step, product x warehouse", Head: []string{"Step", "Points", "Actual units", "WAPE", "Bias", "wQL 0.9", "P90 coverage"}, Numeric: []bool{true, true, true, true, true, true, true}}
	for k, st := range model.Steps {
		t.Rows = append(t.Rows, []string{strconv.Itoa(k + 1), Int(int64(st.Points)), Count(st.Actual), opt(st.WAPE, pct1), opt(st.Bias, spct1), opt(st.WQL90, num3), opt(st.Coverage90, pct1)})
	}
	return sub(r, "steps", "Accuracy per step", Block{Figures: figs}, Block{Table: t}), nil
}

func nonEmpty(ss []Series) []Series {
	var out []Series
	for _, s := range ss {
		if len(s.X) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// fitSection: the dispersion (Var = mu + alpha mu^2, alpha possibly
// depending on the mean and an input), the Poisson fit and its largest
// coefficients as rate ratios.
func fitSection(c *models.Card, m *demandMetrics) Section {
	r := ref(c)
	p := c.Parameters
	var facts []Fact
	if a, ok := p["alpha"].(float64); ok {
		facts = append(facts, Fact{"Dispersion alpha", Num(a, 4)})
	}
	if a, ok := p["alpha_power"].(float64); ok {
		facts = append(facts, Fact{"Alpha power (of the mean)", Num(a, 3)})
	}
	if in, ok := p["dispersion_input"].(string); ok {
		dc, _ := p["dispersion_coef"].(float64)
		facts = append(facts, Fact{"Dispersion input", in + " (coefficient " + Signed(dc, 4) + ")"})
	}
	if v, ok := p["c"].(float64); ok {
		facts = append(facts, Fact{"Regularisation C", Num(v, 4)})
	}
	if s, ok := p["status"].(string); ok {
		it, _ := p["iterations"].(float64)
		facts = append(facts, Fact{"Poisson fit", s + ", " + Int(int64(it)) + " iterations"})
	}
	if m.TrainRows > 0 {
		facts = append(facts, Fact{"Rows fitted on", Int(int64(m.TrainRows))})
	}
	if m.HoldoutRows > 0 {
		facts = append(facts, Fact{"Held-out rows", Int(int64(m.HoldoutRows))})
	}
	if m.TrainDeviance != nil {
		facts = append(facts, Fact{"Training deviance", Num(*m.TrainDeviance, 1)})
	}
	blocks := []Block{{Facts: facts}, {Text: "The mean comes from a Poisson regression on standardised inputs (log link); the spread around it from a negative binomial with Var = mean + alpha × mean² (alpha times mean^power, and times exp(coefficient × input) when a dispersion input is set), fitted by maximum likelihood on the training rows. Alpha 0 would be Poisson; a larger alpha widens the P50-P90 band."}}
	if len(c.Coefficients) > 0 {
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
		t := &Table{Caption: "Largest coefficients of the mean (standardised inputs)", Head: []string{"Input", "Coefficient (log units per SD)", "Rate ratio per SD"}, Numeric: []bool{false, true, true}}
		for _, x := range cs[:min(15, len(cs))] {
			t.Rows = append(t.Rows, []string{x.name, Signed(x.v, 4), Num(math.Exp(x.v), 3) + "×"})
		}
		blocks = append(blocks, Block{Table: t})
	}
	return sub(r, "fit", "Dispersion and fit", blocks...)
}

// readDemand returns a negbin card's metrics, nil when it records no
// backtest.
func readDemand(c *models.Card) (*demandMetrics, error) {
	if c.Kind != models.KindNegBin {
		return nil, nil
	}
	b, err := json.Marshal(c.Metrics)
	if err != nil {
		return nil, err
	}
	var m demandMetrics
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model %s: metrics: %w", ref(c), err)
	}
	if m.Backtest == nil || len(m.Backtest.ProductWarehouse) == 0 || m.Backtest.ProductWarehouse[0].Method != "model" {
		return nil, nil
	}
	return &m, nil
}

// compareDemand puts demand models side by side: each model's backtest
// figures over the horizon (product x warehouse and product level, the
// best of each row marked ★) and their WAPE per step on one plot.
func compareDemand(cards []*models.Card, ms []*demandMetrics) ([]Block, error) {
	head := []string{"Measure"}
	num := []bool{false}
	for _, c := range cards {
		head = append(head, ref(c))
		num = append(num, true)
	}
	t := &Table{Caption: "The models' backtests side by side (best in each row marked ★)", Head: head, Numeric: num}
	rows := []struct {
		name   string
		get    func(fcMetrics) *float64
		format func(float64) string
		score  func(float64) float64
	}{
		{"WAPE", func(f fcMetrics) *float64 { return f.WAPE }, pct1, func(v float64) float64 { return v }},
		{"Bias", func(f fcMetrics) *float64 { return f.Bias }, spct1, math.Abs},
		{"MASE", func(f fcMetrics) *float64 { return f.MASE }, num3, func(v float64) float64 { return v }},
		{"wQL 0.5", func(f fcMetrics) *float64 { return f.WQL50 }, num3, func(v float64) float64 { return v }},
		{"wQL 0.9", func(f fcMetrics) *float64 { return f.WQL90 }, num3, func(v float64) float64 { return v }},
		{"P90 coverage", func(f fcMetrics) *float64 { return f.Coverage90 }, pct1, func(v float64) float64 { return math.Abs(v - 0.9) }},
	}
	levels := []struct {
		name string
		get  func(*demandMetrics) []methodBacktest
	}{
		{"product x warehouse", func(m *demandMetrics) []methodBacktest { return m.Backtest.ProductWarehouse }},
		{"product", func(m *demandMetrics) []methodBacktest { return m.Backtest.Product }},
	}
	for _, lv := range levels {
		for _, r := range rows {
			row := []string{r.name + ", " + lv.name}
			best := -1
			var bv float64
			for _, m := range ms {
				var v *float64
				if l := lv.get(m); len(l) > 0 && l[0].Method == "model" {
					v = r.get(l[0].Overall)
				}
				row = append(row, opt(v, r.format))
				if v != nil && !math.IsNaN(*v) && (best < 0 || r.score(*v) < bv) {
					best, bv = len(row)-1, r.score(*v)
				}
			}
			if best > 0 {
				row[best] += " ★"
			}
			t.Rows = append(t.Rows, row)
		}
	}
	var series []Series
	steps := 0
	for i, m := range ms {
		st := m.Backtest.ProductWarehouse[0].Steps
		steps = max(steps, len(st))
		series = append(series, stepSeries(ref(cards[i]), st, func(f fcMetrics) *float64 { return f.WAPE }))
	}
	blocks := []Block{{Table: t}}
	if s := nonEmpty(series); len(s) > 0 {
		svg, err := LineChart(Chart{Title: "WAPE per step, product x warehouse", X: "step ahead of the origin (periods)", Y: "WAPE (share of actual units)",
			XMin: 0.5, XMax: float64(steps) + 0.5, PercentY: true, Legend: "bottom right"}, s)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, Block{Figures: []Figure{{ID: "comparison-wape-steps", Caption: "Every model's WAPE per step on its held-out origin.", SVG: svg}}})
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Backtest.Origin != ms[0].Backtest.Origin {
			blocks = append(blocks, Block{Note: fmt.Sprintf("%s and %s were backtested from different origins (%s and %s): compare their figures with care.", ref(cards[0]), ref(cards[i]), ms[0].Backtest.Origin, ms[i].Backtest.Origin)})
		}
	}
	return blocks, nil
}

// topForecastSection draws, for the three products with the most units,
// their last periods and the horizon after the held-out origin: the
// actuals, the model's mean and its P50-P90 band (the product-level
// negative binomial), with the numbers as a table.
func topForecastSection(r string, m *demandMetrics) (Section, error) {
	bt := m.Backtest
	if len(bt.TopProducts) == 0 {
		return sub(r, "forecast", "History and forecast of the top products", Block{Note: "This card records no forecast series (trained before they were kept on the card)."}), nil
	}
	shown := bt.TopProducts[:min(3, len(bt.TopProducts))]
	var figs []Figure
	t := &Table{Caption: "The top products over the horizon: actual units against the forecast", Head: []string{"Product", "Step", "Period from", "Actual", "Mean", "P50", "P90", "Within P90"},
		Numeric: []bool{false, true, false, true, true, true, true, false}}
	for i, p := range shown {
		k := len(p.History)
		hx := make([]float64, k)
		for j := range hx {
			hx[j] = float64(j - k + 1)
		}
		fx := make([]float64, len(p.Actual))
		for h := range fx {
			fx[h] = float64(h + 1)
		}
		// The actuals run on from the history into the horizon.
		actual := Series{Name: "actual units", X: append(hx, fx...), Y: append(append([]float64{}, p.History...), p.Actual...)}
		mean := Series{Name: "model mean", X: fx, Y: p.Mean, Points: true}
		n := min(len(fx), len(p.P50), len(p.P90), len(p.Mean))
		band := Band{Name: "P50 to P90", X: fx[:n], Lo: p.P50[:n], Hi: p.P90[:n], Colour: 1}
		from := ""
		if s := periodStart(bt.HistoryStart, bt.Period, k-1); s != "" {
			from = "; 0 is the " + bt.Period + " from " + s
		}
		svg, err := LineChart(Chart{Title: "Product " + p.Product + ": history and forecast", X: "periods from the held-out origin " + bt.Origin + " (" + bt.Period + from + ")",
			Y: "units per " + bt.Period, YMin: 0, YMax: peak(actual.Y, p.P90, p.Mean) * 1.2, IntegerX: true, Legend: "top left", Bands: []Band{band}},
			[]Series{actual, mean})
		if err != nil {
			return Section{}, err
		}
		var sa, sm float64
		for h := range n {
			sa, sm = sa+p.Actual[h], sm+p.Mean[h]
		}
		figs = append(figs, Figure{ID: fmt.Sprintf("%s-forecast-%d", slug(r), i+1),
			Caption: fmt.Sprintf("%s: %s units over the horizon, the model expected %s.", p.Product, Count(sa), Num(sm, 1)), SVG: svg})
		for h := range n {
			start := periodStart(bt.HistoryStart, bt.Period, k+h)
			within := "yes"
			if p.Actual[h] > p.P90[h] {
				within = "no"
			}
			t.Rows = append(t.Rows, []string{p.Product, strconv.Itoa(h + 1), start, Count(p.Actual[h]), Num(p.Mean[h], 1), Count(p.P50[h]), Count(p.P90[h]), within})
		}
	}
	return sub(r, "forecast", "History and forecast of the top products",
		Block{Text: "The three products with the most units before the origin, their warehouses summed: the last periods, then the horizon the backtest held out. The shaded band runs from the model's P50 to its P90 (a negative binomial with the summed means and variances of the product's warehouses); about one actual in ten should be above it."},
		Block{Figures: figs}, Block{Table: t}), nil
}

// periodStart is the start date of the k-th period after the one from
// first (a date), periods of a week or a day; "" when unknown.
func periodStart(first, period string, k int) string {
	t, err := time.Parse(time.DateOnly, first)
	if err != nil {
		return ""
	}
	switch period {
	case "week":
		return t.AddDate(0, 0, 7*k).Format(time.DateOnly)
	case "day":
		return t.AddDate(0, 0, k).Format(time.DateOnly)
	}
	return ""
}

// peak is the largest value of vs, at least 1.
func peak(vs ...[]float64) float64 {
	m := 1.0
	for _, v := range vs {
		for _, x := range v {
			m = max(m, x)
		}
	}
	return m
}
