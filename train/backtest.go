package train

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/prevoir/prevoir/models/negbin"
)

// Forecasting methods of a backtest, in the order reports list them.
const (
	MethodModel          = "model"
	MethodNaive          = "naive"
	MethodSeasonalNaive  = "seasonal_naive"
	MethodMA4            = "ma4"
	MethodMA8            = "ma8"
	MethodMA13           = "ma13"
	MethodCrostonSBA     = "croston_sba"
	crostonSmoothing     = 0.1
	backtestQuantileLow  = 0.5
	backtestQuantileHigh = 0.9
)

// BacktestSeries is one product x warehouse series at the held-out origin:
// its history (oldest first, the in-sample periods) and the actuals of the
// horizon's periods.
type BacktestSeries struct {
	Product, Warehouse string
	History, Actual    []float64
}

// Dist is a forecast distribution: negative binomial with mean Mean and
// dispersion Alpha (Var = Mean + Alpha Mean^2).
type Dist struct{ Mean, Alpha float64 }

// Metric is a measure that may be undefined (NaN: a WAPE over actuals
// summing to 0); JSON writes it as null.
type Metric float64

// MarshalJSON writes the number, or null when undefined.
func (m Metric) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(m))
}

// UnmarshalJSON reads a number, or null as undefined.
func (m *Metric) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = Metric(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = Metric(f)
	return nil
}

// ForecastMetrics are the accuracy measures of forecasts against actuals
// over a set of points (series x step).
type ForecastMetrics struct {
	Points int     `json:"points"`
	Actual float64 `json:"actual_total"`
	// WAPE = sum |y - f| / sum y; Bias = sum (f - y) / sum y.
	WAPE Metric `json:"wape"`
	Bias Metric `json:"bias"`
	// MASE is the mean over series of mean |y - f| / (mean |y_t - y_t-1|
	// over the series' history); series with a constant history are left
	// out.
	MASE Metric `json:"mase"`
	// Pinball50 and Pinball90 are the mean pinball losses of the 0.5 and
	// 0.9 quantiles; WQL50 and WQL90 the weighted quantile losses, 2 *
	// sum pinball / sum y.
	Pinball50 Metric `json:"pinball_50"`
	Pinball90 Metric `json:"pinball_90"`
	WQL50     Metric `json:"wql_50"`
	WQL90     Metric `json:"wql_90"`
	// Coverage90 is the share of points with y <= the 0.9 quantile.
	Coverage90 Metric `json:"coverage_90"`
}

// MethodBacktest is one method's metrics, overall and per step.
type MethodBacktest struct {
	Method  string            `json:"method"`
	Overall ForecastMetrics   `json:"overall"`
	Steps   []ForecastMetrics `json:"steps"`
}

// Backtest compares the model with the classic forecasters on the
// held-out origin, at two levels: the product (the sum over its
// warehouses) and the product x warehouse series.
type Backtest struct {
	Origin  string `json:"origin"`
	Period  string `json:"period"`
	Horizon int    `json:"horizon_periods"`
	// SeasonLag is the seasonal naive's lag in periods (0: left out, the
	// history does not reach a year before the horizon).
	SeasonLag        int              `json:"season_lag"`
	Product          []MethodBacktest `json:"product"`
	ProductWarehouse []MethodBacktest `json:"product_warehouse"`
	// Baselines says how the classic forecasters' quantiles are made.
	Baselines string `json:"baselines"`
	// HistoryStart is the start date of the first period of TopProducts'
	// history (the periods follow one another: weeks or days).
	HistoryStart string `json:"history_start,omitempty"`
	// TopProducts are the products with the most units over the history
	// (at most TopSeries), for the report's history + forecast chart.
	TopProducts []ForecastSeries `json:"top_products,omitempty"`
}

// Sizes of the Backtest's TopProducts.
const (
	TopSeries  = 5
	TopHistory = 26
)

// ForecastSeries is one product (its warehouses summed) at the held-out
// origin: its last periods, then the horizon's actuals and the model's
// mean, P50 and P90 (the product-level negative binomial).
type ForecastSeries struct {
	Product string    `json:"product"`
	History []float64 `json:"history"`
	Actual  []float64 `json:"actual"`
	Mean    []float64 `json:"mean"`
	P50     []float64 `json:"p50"`
	P90     []float64 `json:"p90"`
}

// TopProducts sums each product's series over its warehouses and returns
// the n with the most units in their history (ties by name), each with
// its last k history periods and the model's forecast per step: means
// add, variances add, and the quantiles are the negative binomial's with
// that mean and variance (as the backtest's product level).
func TopProducts(series []BacktestSeries, horizon, n, k int, model func(i, h int) Dist) []ForecastSeries {
	type acc struct {
		fs       ForecastSeries
		total    float64
		mean, vr []float64
	}
	by := map[string]*acc{}
	var order []string
	for i, s := range series {
		a := by[s.Product]
		if a == nil {
			a = &acc{fs: ForecastSeries{Product: s.Product, History: make([]float64, min(k, len(s.History))), Actual: make([]float64, horizon)},
				mean: make([]float64, horizon), vr: make([]float64, horizon)}
			by[s.Product] = a
			order = append(order, s.Product)
		}
		off := len(s.History) - len(a.fs.History)
		for j := range a.fs.History {
			if off+j >= 0 {
				a.fs.History[j] += s.History[off+j]
			}
		}
		for _, v := range s.History {
			a.total += v
		}
		for h := 1; h <= horizon; h++ {
			if h <= len(s.Actual) {
				a.fs.Actual[h-1] += s.Actual[h-1]
			}
			d := model(i, h)
			a.mean[h-1] += d.Mean
			a.vr[h-1] += negbin.Variance(d.Mean, d.Alpha)
		}
	}
	slices.SortStableFunc(order, func(x, y string) int {
		if c := cmp.Compare(by[y].total, by[x].total); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	var out []ForecastSeries
	for _, p := range order[:min(n, len(order))] {
		a := by[p]
		for h := range horizon {
			mu, alpha := negbin.MomentMatch(a.mean[h], a.vr[h])
			a.fs.Mean = append(a.fs.Mean, a.mean[h])
			a.fs.P50 = append(a.fs.P50, negbin.Quantile(0.5, mu, alpha))
			a.fs.P90 = append(a.fs.P90, negbin.Quantile(0.9, mu, alpha))
		}
		out = append(out, a.fs)
	}
	return out
}

// BaselineNote describes the baselines' distributions.
const BaselineNote = "point forecasts from each series' history; quantiles from a negative binomial with that mean and the series' own dispersion, alpha = max(0, (variance - mean) / mean^2) of its history"

// baselineForecast returns a method's point forecast of a history for step
// h (1-based); ok is false when the method cannot forecast it.
func baselineForecast(method string, hist []float64, h, seasonLag int) (float64, bool) {
	l := len(hist)
	ma := func(k int) (float64, bool) {
		if l == 0 {
			return 0, false
		}
		k = min(k, l)
		var s float64
		for _, v := range hist[l-k:] {
			s += v
		}
		return s / float64(k), true
	}
	switch method {
	case MethodNaive:
		if l == 0 {
			return 0, false
		}
		return hist[l-1], true
	case MethodSeasonalNaive:
		i := l + h - 1 - seasonLag
		if seasonLag == 0 || i < 0 || i >= l {
			return 0, false
		}
		return hist[i], true
	case MethodMA4:
		return ma(4)
	case MethodMA8:
		return ma(8)
	case MethodMA13:
		return ma(13)
	case MethodCrostonSBA:
		return croston(hist, crostonSmoothing), true
	}
	return 0, false
}

// croston returns the Croston forecast with the Syntetos-Boylan
// correction: z and p, the smoothed demand size and interval between
// demands (smoothing a, both initialised at the first demand), give
// (1 - a/2) z / p; 0 without any demand.
func croston(hist []float64, a float64) float64 {
	var z, p float64
	q, started := 0, false
	for _, v := range hist {
		q++
		if v <= 0 {
			continue
		}
		if !started {
			z, p, started = v, float64(q), true
		} else {
			z += a * (v - z)
			p += a * (float64(q) - p)
		}
		q = 0
	}
	if !started {
		return 0
	}
	return (1 - a/2) * z / p
}

// historyAlpha is the method-of-moments dispersion of a history.
func historyAlpha(hist []float64) float64 {
	if len(hist) == 0 {
		return 0
	}
	var s, ss float64
	for _, v := range hist {
		s += v
	}
	m := s / float64(len(hist))
	for _, v := range hist {
		ss += (v - m) * (v - m)
	}
	_, a := negbin.MomentMatch(m, ss/float64(len(hist)))
	return a
}

// naiveScale is the mean absolute one-period change of a history (the
// MASE denominator); 0 when it is constant or shorter than 2.
func naiveScale(hist []float64) float64 {
	if len(hist) < 2 {
		return 0
	}
	var s float64
	for t := 1; t < len(hist); t++ {
		s += math.Abs(hist[t] - hist[t-1])
	}
	return s / float64(len(hist)-1)
}

// metricsAcc accumulates ForecastMetrics.
type metricsAcc struct {
	n                        int
	y, absErr, err, p50, p90 float64
	cover                    int
	maseSum                  float64
	maseN                    int
}

func pinball(q, y, f float64) float64 {
	if y >= f {
		return q * (y - f)
	}
	return (1 - q) * (f - y)
}

func (a *metricsAcc) add(y float64, d Dist) {
	a.n++
	a.y += y
	a.absErr += math.Abs(y - d.Mean)
	a.err += d.Mean - y
	q50 := negbin.Quantile(backtestQuantileLow, d.Mean, d.Alpha)
	q90 := negbin.Quantile(backtestQuantileHigh, d.Mean, d.Alpha)
	a.p50 += pinball(backtestQuantileLow, y, q50)
	a.p90 += pinball(backtestQuantileHigh, y, q90)
	if y <= q90 {
		a.cover++
	}
}

func (a *metricsAcc) metrics() ForecastMetrics {
	m := ForecastMetrics{Points: a.n, Actual: a.y}
	if a.n == 0 {
		return m
	}
	nan := Metric(math.NaN())
	m.WAPE, m.Bias, m.WQL50, m.WQL90 = nan, nan, nan, nan
	if a.y > 0 {
		m.WAPE, m.Bias = Metric(a.absErr/a.y), Metric(a.err/a.y)
		m.WQL50, m.WQL90 = Metric(2*a.p50/a.y), Metric(2*a.p90/a.y)
	}
	m.Pinball50, m.Pinball90 = Metric(a.p50/float64(a.n)), Metric(a.p90/float64(a.n))
	m.Coverage90 = Metric(float64(a.cover) / float64(a.n))
	m.MASE = nan
	if a.maseN > 0 {
		m.MASE = Metric(a.maseSum / float64(a.maseN))
	}
	return m
}

// levelSeries is one series of a level with every method's forecasts.
type levelSeries struct {
	hist, actual []float64
	fc           map[string][]Dist
}

// RunBacktest scores every method on series at two levels. model gives the
// model's forecast of series i at step h (1-based); seasonLag is the
// seasonal naive's lag in periods (0 leaves it out). A product's forecast
// is the sum of its warehouses' means with the moment-matched negative
// binomial of the summed variances (the series taken as independent).
func RunBacktest(series []BacktestSeries, horizon, seasonLag int, model func(i, h int) Dist) (pw, product []MethodBacktest) {
	methods := []string{MethodModel, MethodNaive}
	if seasonLag > 0 {
		methods = append(methods, MethodSeasonalNaive)
	}
	methods = append(methods, MethodMA4, MethodMA8, MethodMA13, MethodCrostonSBA)
	var sw, sp []*levelSeries
	byProduct := map[string]*levelSeries{}
	for i, s := range series {
		ls := &levelSeries{hist: s.History, actual: s.Actual, fc: map[string][]Dist{}}
		alpha := historyAlpha(s.History)
		for _, m := range methods {
			ds := make([]Dist, horizon)
			for h := 1; h <= horizon; h++ {
				if m == MethodModel {
					ds[h-1] = model(i, h)
					continue
				}
				f, _ := baselineForecast(m, s.History, h, seasonLag)
				ds[h-1] = Dist{Mean: f, Alpha: alpha}
			}
			ls.fc[m] = ds
		}
		sw = append(sw, ls)
		p := byProduct[s.Product]
		if p == nil {
			p = &levelSeries{hist: make([]float64, len(s.History)), actual: make([]float64, horizon), fc: map[string][]Dist{}}
			for _, m := range methods {
				p.fc[m] = make([]Dist, horizon) // Alpha holds the summed variance until the end
			}
			byProduct[s.Product] = p
			sp = append(sp, p)
		}
		for t, v := range s.History {
			p.hist[t] += v
		}
		for h := 0; h < horizon; h++ {
			p.actual[h] += s.Actual[h]
			for _, m := range methods {
				d := ls.fc[m][h]
				p.fc[m][h].Mean += d.Mean
				p.fc[m][h].Alpha += negbin.Variance(d.Mean, d.Alpha)
			}
		}
	}
	for _, p := range sp {
		for _, m := range methods {
			for h := range p.fc[m] {
				d := &p.fc[m][h]
				d.Mean, d.Alpha = negbin.MomentMatch(d.Mean, d.Alpha)
			}
		}
	}
	return score(sw, methods, horizon), score(sp, methods, horizon)
}

func score(ss []*levelSeries, methods []string, horizon int) []MethodBacktest {
	var out []MethodBacktest
	for _, m := range methods {
		all := &metricsAcc{}
		steps := make([]metricsAcc, horizon)
		for _, s := range ss {
			scale := naiveScale(s.hist)
			var ae float64
			for h := 0; h < horizon; h++ {
				d := s.fc[m][h]
				y := s.actual[h]
				all.add(y, d)
				steps[h].add(y, d)
				e := math.Abs(y - d.Mean)
				ae += e
				if scale > 0 {
					steps[h].maseSum += e / scale
					steps[h].maseN++
				}
			}
			if scale > 0 {
				all.maseSum += ae / float64(horizon) / scale
				all.maseN++
			}
		}
		mb := MethodBacktest{Method: m, Overall: all.metrics()}
		for h := range steps {
			mb.Steps = append(mb.Steps, steps[h].metrics())
		}
		out = append(out, mb)
	}
	return out
}
