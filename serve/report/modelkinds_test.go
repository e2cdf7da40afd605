package report

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/train"
)

// roundTrip is the card as read back from the registry (through JSON).
func roundTrip(t *testing.T, c *models.Card) *models.Card {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out models.Card
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// demandCard is a negbin card whose backtest train.RunBacktest computed
// on random weekly series (a model forecasting each series' mean with
// alpha 0.3), with the fields train.TrainDemand writes.
func demandCard(t *testing.T, version int, seed uint64) (*models.Card, *train.Backtest) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	const horizon = 4
	var ss []train.BacktestSeries
	var means []float64
	for p := range 12 {
		for _, w := range []string{"north", "south"} {
			lam := 1 + 6*r.Float64()
			s := train.BacktestSeries{Product: "P" + strconv.Itoa(p), Warehouse: w}
			for range 40 {
				s.History = append(s.History, float64(poisson(r, lam)))
			}
			for range horizon {
				s.Actual = append(s.Actual, float64(poisson(r, lam)))
			}
			var m float64
			for _, v := range s.History {
				m += v
			}
			means = append(means, m/40)
			ss = append(ss, s)
		}
	}
	dist := func(i, h int) train.Dist { return train.Dist{Mean: means[i], Alpha: 0.3} }
	pw, prod := train.RunBacktest(ss, horizon, 0, dist)
	bt := &train.Backtest{Origin: "2024-11-04", Period: "week", Horizon: horizon, Product: prod, ProductWarehouse: pw, Baselines: train.BaselineNote,
		TopProducts: train.TopProducts(ss, horizon, train.TopSeries, train.TopHistory, dist)}
	bt.HistoryStart = time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -7*train.TopHistory).Format(time.DateOnly)
	icpt := 1.2
	c := &models.Card{Name: "demand", Version: version, Kind: models.KindNegBin, Task: "demand", Output: "count", Link: "log",
		Inputs:       features.Schema{Features: []features.Feature{{Name: "units_4", Kind: features.Numeric}, {Name: "units_13", Kind: features.Numeric}}},
		Coefficients: map[string]float64{"units_4": 0.42, "units_13": 0.31 + float64(version)/100}, Intercept: &icpt,
		Parameters: map[string]any{"alpha": 0.3, "alpha_power": 0.0, "c": 1.0, "status": "converged", "iterations": 7},
		Metrics:    map[string]any{"train_rows": 4800, "holdout_rows": 96, "train_deviance": 1234.5, "backtest": bt},
		Lineage:    &models.Lineage{Dataset: "demo", Rows: 4896, Extra: map[string]any{"holdout_cutoff": "2024-11-04"}},
	}
	return roundTrip(t, c), bt
}

func poisson(r *rand.Rand, lam float64) int {
	l, k, p := math.Exp(-lam), 0, 1.0
	for {
		p *= r.Float64()
		if p < l {
			return k
		}
		k++
	}
}

// affine checks that the plotted coordinates are one affine map of the
// values (the same axis for every series): fitted on the smallest and the
// largest value, every point must follow it within the SVG's rounding.
func affine(t *testing.T, what string, vals, px []float64) {
	t.Helper()
	if len(vals) != len(px) {
		t.Fatalf("%s: %d values, %d points", what, len(vals), len(px))
	}
	i, j := 0, 0
	for k := range vals {
		if vals[k] < vals[i] {
			i = k
		}
		if vals[k] > vals[j] {
			j = k
		}
	}
	if vals[j]-vals[i] < 1e-9 {
		t.Fatalf("%s: all values equal", what)
	}
	a := (px[j] - px[i]) / (vals[j] - vals[i])
	for k := range vals {
		if got := px[i] + a*(vals[k]-vals[i]); math.Abs(got-px[k]) > 0.05 {
			t.Errorf("%s point %d: plotted at %.3f, the card's value %.5f maps to %.3f", what, k, px[k], vals[k], got)
		}
	}
}

// TestDemandModelReport: a demand model shows its backtest against every
// classic forecaster with the model highlighted, WAPE per step for the
// model and the two best forecasters, P90 coverage per step against the
// 90% line, and the dispersion; the plotted points are the card's numbers.
func TestDemandModelReport(t *testing.T) {
	card, bt := demandCard(t, 1, 1)
	d, err := ModelReport([]*models.Card{card}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	for _, want := range []string{`id="model-demand-1"`, `id="demand-1-backtest"`, `id="demand-1-steps"`, `id="demand-1-fit"`, `id="demand-1-forecast"`, `id="demand-1-forecast-3"`, "P50 to P90", "<td>2024-11-04</td>", "0 is the week from 2024-10-28",
		`id="demand-1-wape-steps"`, `id="demand-1-coverage-steps"`, `<tr class="highlight">`, "Croston (SBA)", "moving average, 13 periods",
		"Dispersion alpha", "0.3000", "target 90%", "Seasonal naive"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
	model := bt.ProductWarehouse[0]
	if model.Method != train.MethodModel {
		t.Fatalf("first method %s", model.Method)
	}
	if w := Pct(float64(model.Overall.WAPE), 1); !regexp.MustCompile(`<td>model \(negative binomial\)</td><td[^>]*>` + Int(int64(model.Overall.Points)) + `</td><td[^>]*>` + regexp.QuoteMeta(w)).MatchString(page) {
		t.Errorf("the model's row does not show WAPE %s over %d points", w, model.Overall.Points)
	}
	// WAPE per step: the model's line, then the two classic forecasters
	// with the lowest overall WAPE, all on one axis.
	var classic []train.MethodBacktest
	for _, m := range bt.ProductWarehouse[1:] {
		if !math.IsNaN(float64(m.Overall.WAPE)) {
			classic = append(classic, m)
		}
	}
	best := []train.MethodBacktest{model}
	for range 2 {
		k := 0
		for i := range classic {
			if classic[i].Overall.WAPE < classic[k].Overall.WAPE {
				k = i
			}
		}
		best = append(best, classic[k])
		classic = append(classic[:k], classic[k+1:]...)
	}
	var vals, xs, px, py []float64
	for i, m := range best {
		x, y := plottedLine(t, page, "demand-1-wape-steps", strings.ToUpper(colourHex(i)))
		if len(x) != len(m.Steps) {
			t.Fatalf("%s: %d points plotted, %d steps", m.Method, len(x), len(m.Steps))
		}
		for k, st := range m.Steps {
			vals, xs = append(vals, float64(st.WAPE)), append(xs, float64(k+1))
		}
		px, py = append(px, x...), append(py, y...)
		if !strings.Contains(page, methodName(m.Method)) {
			t.Errorf("no legend %s", methodName(m.Method))
		}
	}
	affine(t, "WAPE per step, y", vals, py)
	affine(t, "WAPE per step, x", xs, px)
	// The top products: the actuals (history then horizon) and the
	// model's mean on one axis, the band's corners at P50 and P90.
	for i, p := range bt.TopProducts[:3] {
		id := "demand-1-forecast-" + strconv.Itoa(i+1)
		ax, ay := plottedLine(t, page, id, "#0072B2")
		mx, my := plottedLine(t, page, id, "#E69F00")
		actual := append(append([]float64{}, p.History...), p.Actual...)
		if len(ay) != len(actual) || len(my) != len(p.Mean) {
			t.Fatalf("%s: %d and %d points plotted, the card has %d and %d", id, len(ay), len(my), len(actual), len(p.Mean))
		}
		var steps []float64
		for k := range actual {
			steps = append(steps, float64(k-len(p.History)+1))
		}
		bx, by := plottedBand(t, page, id)
		// The polygon: P90 by step, then P50 back.
		var bv, bs []float64
		for h := range p.P90 {
			bv, bs = append(bv, p.P90[h]), append(bs, float64(h+1))
		}
		for h := len(p.P50) - 1; h >= 0; h-- {
			bv, bs = append(bv, p.P50[h]), append(bs, float64(h+1))
		}
		if len(by) != len(bv) {
			t.Fatalf("%s: band of %d corners, want %d", id, len(by), len(bv))
		}
		affine(t, id+" y", append(append(actual, p.Mean...), bv...), append(append(ay, my...), by...))
		affine(t, id+" x", append(append(steps, steps[len(p.History):]...), bs...), append(append(ax, mx...), bx...))
		if !strings.Contains(page, "Product "+p.Product+": history and forecast") {
			t.Errorf("no chart titled for product %s", p.Product)
		}
	}
	// Coverage: the model's steps and the 0.9 line on one axis.
	x, y := plottedLine(t, page, "demand-1-coverage-steps", "#0072B2")
	tx, ty := plottedLine(t, page, "demand-1-coverage-steps", "#808080")
	vals, xs = nil, nil
	for k, st := range model.Steps {
		vals, xs = append(vals, float64(st.Coverage90)), append(xs, float64(k+1))
	}
	n := float64(len(model.Steps))
	nine := make([]float64, len(ty))
	for k := range nine {
		nine[k] = 0.9
	}
	affine(t, "coverage, y", append(vals, nine...), append(y, ty...))
	tv := []float64{0.5}
	for k := range model.Steps {
		tv = append(tv, float64(k+1))
	}
	affine(t, "coverage, x", append(append(xs, tv...), n+0.5), append(x, tx...))
}

var polyRE = regexp.MustCompile(`<path d="(M[^"]*Z)"\s*style="fill:(#[0-9A-Fa-f]{6})`)

// plottedBand returns the corners of the first filled polygon in the
// figure id that is not the white background: the band, drawn before
// the lines and the legend.
func plottedBand(t *testing.T, page, id string) (xs, ys []float64) {
	t.Helper()
	for _, f := range figureRE.FindAllStringSubmatch(page, -1) {
		if f[1] != id {
			continue
		}
		for _, m := range polyRE.FindAllStringSubmatch(f[2], -1) {
			if strings.EqualFold(m[2], "#FFFFFF") {
				continue // the background
			}
			pts := strings.Split(strings.NewReplacer("M", "", "Z", "", "L", " ").Replace(m[1]), " ")
			for _, pt := range pts {
				x, y, _ := strings.Cut(pt, ",")
				fx, err1 := strconv.ParseFloat(x, 64)
				fy, err2 := strconv.ParseFloat(y, 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("figure %s: point %q", id, pt)
				}
				xs, ys = append(xs, fx), append(ys, fy)
			}
			return xs, ys
		}
	}
	t.Fatalf("no band in figure %s", id)
	return nil, nil
}

func colourHex(i int) string {
	c := Palette[i%len(Palette)]
	return "#" + strconv.FormatUint(uint64(c.R)<<16|uint64(c.G)<<8|uint64(c.B)|1<<24, 16)[1:]
}

// propensityCard is a propensity classifier card with the ranking train
// measures: train.EvaluateRanking of random scores on a random candidate
// table.
func propensityCard(t *testing.T, version int, seed uint64) (*models.Card, *train.Ranking) {
	t.Helper()
	card := classifierCard(t, "offers", version, 1000, seed)
	card.Task = "propensity"
	r := rand.New(rand.NewPCG(seed, 9))
	fr := &features.Frame{
		Schema: features.Schema{Features: []features.Feature{{Name: "item_orders"}, {Name: "item_days_since"}, {Name: "buyers_30d"}, {Name: "buyers_90d"}}},
		Keys:   [][]string{nil},
		AsOf:   []time.Time{time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)},
		Values: make([][]float64, 4),
	}
	truth := map[string][]string{}
	var scores []float64
	for cu := range 60 {
		id := "C" + strconv.Itoa(1000+cu)
		for it := range 8 {
			item := "I" + strconv.Itoa(it)
			orders := float64(r.IntN(3))
			fr.IDs, fr.Keys[0] = append(fr.IDs, id), append(fr.Keys[0], item)
			fr.Values[0] = append(fr.Values[0], orders)
			fr.Values[1] = append(fr.Values[1], float64(r.IntN(200)))
			fr.Values[2] = append(fr.Values[2], float64(50-5*it))
			fr.Values[3] = append(fr.Values[3], float64(120-10*it))
			s, y := r.Float64(), 0.0
			if r.Float64() < 0.1+0.2*orders {
				truth[id] = append(truth[id], item)
				s, y = s+0.5, 1
			}
			fr.Label = append(fr.Label, y)
			scores = append(scores, s)
		}
	}
	rk, err := train.EvaluateRanking(fr, scores, truth, 3)
	if err != nil {
		t.Fatal(err)
	}
	rk.Level = "item"
	card.Metrics["ranking"] = rk
	return roundTrip(t, card), rk
}

var rectRE = regexp.MustCompile(`<path d="M([0-9.]+),([0-9.]+)L[0-9.]+,([0-9.]+)L[0-9.]+,[0-9.]+L[0-9.]+,[0-9.]+Z"\s*style="fill:(#[0-9A-Fa-f]{6})`)

// TestPropensityModelReport: a propensity model keeps its classifier
// sections and adds its offer lists against the baselines: the table
// shows train's figures with the model highlighted, and the bars'
// heights are MAP and hit rate in proportion.
func TestPropensityModelReport(t *testing.T) {
	card, rk := propensityCard(t, 1, 4)
	d, err := ModelReport([]*models.Card{card}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	for _, want := range []string{`id="offers-1-metrics"`, `id="offers-1-roc"`, `id="offers-1-ranking"`, `id="offers-1-ranking-bars"`,
		"MAP@3", "Hit rate@3", "repeat, then popularity", `<tr class="highlight"><td>model</td>`, "mean average precision at N"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
	for _, x := range rk.Rankers {
		row := regexp.MustCompile(`<td>` + regexp.QuoteMeta(rankerName(x.Ranker)) + `</td><td[^>]*>` + regexp.QuoteMeta(Pct(x.HitRate, 1)) + `.*?</td><td[^>]*>` +
			regexp.QuoteMeta(Pct(x.Precision, 1)) + `.*?</td><td[^>]*>` + regexp.QuoteMeta(Pct(x.Recall, 1)) + `.*?</td><td[^>]*>` + regexp.QuoteMeta(Num(x.MAP, 4)))
		if !row.MatchString(page) {
			t.Errorf("no row for %s with %+v", x.Ranker, x)
		}
	}
	// Bar heights: MAP in the first colour, hit rate in the second, one
	// bar per ranker left to right; a height over its value is the same
	// for every bar (one axis from 0).
	var vals, hs []float64
	for _, f := range figureRE.FindAllStringSubmatch(page, -1) {
		if f[1] != "offers-1-ranking-bars" {
			continue
		}
		for k, col := range []string{"#0072B2", "#E69F00"} {
			var got []float64
			for _, m := range rectRE.FindAllStringSubmatch(f[2], -1) {
				if strings.EqualFold(m[4], col) {
					y0, _ := strconv.ParseFloat(m[2], 64)
					y1, _ := strconv.ParseFloat(m[3], 64)
					got = append(got, math.Abs(y1-y0))
				}
			}
			// The plot's bars, then the legend's swatch.
			if len(got) != len(rk.Rankers)+1 {
				t.Fatalf("%s: %d bars, %d rankers", col, len(got), len(rk.Rankers))
			}
			for _, x := range rk.Rankers {
				vals = append(vals, []float64{x.MAP, x.HitRate}[k])
			}
			hs = append(hs, got[:len(rk.Rankers)]...)
		}
	}
	if len(hs) == 0 {
		t.Fatal("no bars")
	}
	affine(t, "bar heights", append(vals, 0), append(hs, 0))
}

// TestDemandComparison: two demand models side by side get their overall
// backtest figures in one table and their card diff.
func TestDemandComparison(t *testing.T) {
	a, ba := demandCard(t, 1, 1)
	b, bb := demandCard(t, 2, 2)
	d, err := ModelReport([]*models.Card{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	wa, wb := float64(ba.ProductWarehouse[0].Overall.WAPE), float64(bb.ProductWarehouse[0].Overall.WAPE)
	cells := []string{Pct(wa, 1), Pct(wb, 1)}
	cells[map[bool]int{true: 0, false: 1}[wa <= wb]] += " ★"
	row := `<td>WAPE, product x warehouse</td><td[^>]*>` + regexp.QuoteMeta(cells[0]) + `</td><td[^>]*>` + regexp.QuoteMeta(cells[1]) + `</td>`
	if !regexp.MustCompile(row).MatchString(page) {
		t.Errorf("no comparison row %s", row)
	}
	for i, bt := range []*train.Backtest{ba, bb} {
		_, y := plottedLine(t, page, "comparison-wape-steps", colourHex(i))
		if len(y) != len(bt.ProductWarehouse[0].Steps) {
			t.Errorf("model %d: %d points for %d steps", i+1, len(y), len(bt.ProductWarehouse[0].Steps))
		}
	}
	for _, want := range []string{`id="comparison"`, `id="comparison-wape-steps"`, `id="diff-demand-2"`, `id="demand-1-backtest"`, `id="demand-2-backtest"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
}

// TestPropensityComparison: two propensity models side by side are
// compared as classifiers and by their own offer lists.
func TestPropensityComparison(t *testing.T) {
	a, ra := propensityCard(t, 1, 4)
	b, rb := propensityCard(t, 2, 5)
	d, err := ModelReport([]*models.Card{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	ma, mb := ra.Rankers[0].MAP, rb.Rankers[0].MAP
	cells := []string{Num(ma, 4), Num(mb, 4)}
	cells[map[bool]int{true: 0, false: 1}[ma >= mb]] += " ★"
	row := `<td>MAP@N</td><td[^>]*>` + regexp.QuoteMeta(cells[0]) + `</td><td[^>]*>` + regexp.QuoteMeta(cells[1]) + `</td>`
	if !regexp.MustCompile(row).MatchString(page) {
		t.Errorf("no comparison row %s", row)
	}
	for _, want := range []string{`id="comparison-roc"`, `id="offers-1-ranking"`, `id="offers-2-ranking"`, "offer lists on its holdout cutoff"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
}
