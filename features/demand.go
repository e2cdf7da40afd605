package features

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
)

// TaskDemand builds one row per product x warehouse series and forecast
// step h = 1..H: how much will sell in period h after as_of?
const TaskDemand = "demand"

// Demand periods and measures (Options.Period, Options.Measure).
const (
	PeriodWeek    = "week"
	PeriodDay     = "day"
	MeasureUnits  = "units"
	MeasureValue  = "value"
	demandVersion = 3
)

// DefaultDemandHorizon is the demand task's default horizon: 4 weeks.
var DefaultDemandHorizon = datasets.Span{Days: 28}

// demandTask is the demand task (docs/FEATURES.md, "demand").
type demandTask struct{}

func periodDays(period string) int {
	if period == PeriodDay {
		return 1
	}
	return 7
}

func (demandTask) defaults(o *Options) error {
	if o.Period == "" {
		o.Period = PeriodWeek
	}
	if o.Period != PeriodWeek && o.Period != PeriodDay {
		return datasets.Fieldf("Period", o.Period, "want %s or %s", PeriodWeek, PeriodDay)
	}
	if o.Measure == "" {
		o.Measure = MeasureUnits
	}
	if o.Measure != MeasureUnits && o.Measure != MeasureValue {
		return datasets.Fieldf("Measure", o.Measure, "want %s or %s", MeasureUnits, MeasureValue)
	}
	if o.TopProducts < 0 {
		return datasets.Fieldf("TopProducts", strconv.Itoa(o.TopProducts), "want 0 (every product sold in the lookback) or a positive count")
	}
	if o.FeatureSet != "" && o.FeatureSet != TaskDemand {
		return datasets.Fieldf("FeatureSet", o.FeatureSet, "the demand task has one feature set, %s", TaskDemand)
	}
	o.FeatureSet = TaskDemand
	if o.Horizon.Days == 0 {
		o.Horizon = DefaultDemandHorizon
	}
	pd := periodDays(o.Period)
	if o.Horizon.Days%pd != 0 {
		return datasets.Fieldf("Horizon", o.Horizon.String(), "want whole %ss", o.Period)
	}
	if o.Lookback.Days != 0 && o.Lookback.Days < pd {
		return datasets.Fieldf("Lookback", o.Lookback.String(), "want at least one %s", o.Period)
	}
	return nil
}

// demandFeature is one feature column of the demand task.
type demandFeature struct {
	name, typ, desc string
	nullable        bool
}

// demandFeatures are the demand task's feature columns, in table order
// (docs/FEATURES.md describes each). Counts enter as log(1 + x): a
// log-link model multiplies them as elasticities.
var demandFeatures = []demandFeature{
	{"step_ahead", "int64", "h, the forecast step: the row forecasts period [as_of + (h-1)p, as_of + hp)", false},
	{"period_of_year", "int64", "week of the year (ISO) of period h's first day, or its day of the year with --period day", false},
	{"month", "int64", "month (1-12) of period h's first day", false},
	{"season_sin", "double", "sin(2 pi d/365.25), d the day of the year of period h's first day", false},
	{"season_cos", "double", "cos(2 pi d/365.25)", false},
	{"log_units_1", "double", "log(1 + measure in the last period before as_of)", false},
	{"log_units_2", "double", "log(1 + measure in the last 2 periods)", false},
	{"log_units_3", "double", "log(1 + measure in the last 3 periods)", false},
	{"log_units_4", "double", "log(1 + measure in the last 4 periods)", false},
	{"log_units_52", "double", "log(1 + measure in the last 52 periods); null when the lookback is shorter", true},
	{"log_mean_4", "double", "log(1 + mean measure per period over the last 4 periods)", false},
	{"log_mean_13", "double", "log(1 + mean over the last 13 periods); null when the lookback is shorter", true},
	{"log_mean_52", "double", "log(1 + mean over the last 52 periods); null when the lookback is shorter", true},
	{"cv_4", "double", "population standard deviation / mean over the last 4 periods; null when the mean is 0", true},
	{"cv_13", "double", "the same over 13 periods", true},
	{"cv_52", "double", "the same over 52 periods", true},
	{"periods_since_sale", "int64", "whole periods from the last period with a sale to as_of (0: the last period); null without a sale in the lookback", true},
	{"zero_share", "double", "share of the periods without a sale, from the first period with a sale in the lookback to as_of; null without a sale", true},
	{"trend_13", "double", "least-squares slope per period of the last 13 periods, divided by their mean; null when the mean is 0", true},
	{"log_last_year", "double", "log(1 + measure in the period 364 days before period h); null when the lookback does not reach it", true},
	{"log_mean_price", "double", "log of the mean unit price (value / units) over the last 13 periods; null without priced units", true},
	{"price_change", "double", "mean unit price over the last 4 periods / over periods 5-13, minus 1; null when either is undefined", true},
	{"log_buyers_13", "double", "log(1 + distinct customers with a sale line of the series in the last 13 periods)", false},
	{"return_rate_13", "double", "returned units / sold units in the last 13 periods; null without sold units", true},
	{"promo_share_13", "double", "share of the units sold in the last 13 periods on lines with a promo code; null without sold units", true},
	{"log_due_buyers", "double", "log(1 + customers due to buy the series again in period h): with 2+ purchase days in the lookback, last purchase + their mean gap falls in period h (an overdue customer, by less than a gap, counts for h = 1)", false},
	{"log_vmr_13", "double", "log(1 + variance / mean) of the measure over the last 13 periods (how lumpy the series is); null when the mean is 0", true},
}

func (demandTask) setup(p *plan) error {
	o := p.opts
	p.params.FeatureSet, p.params.Version = TaskDemand, demandVersion
	p.params.Horizon = o.Horizon.String() // the rows are the horizon's steps, labels or not
	p.params.Period, p.params.TopProducts, p.params.Measure = o.Period, o.TopProducts, o.Measure
	p.cols = []Column{
		{Name: "product_id", Type: "string", Description: "product identifier, as stored in the dataset", Role: "id"},
		{Name: "warehouse", Type: "string", Description: "warehouse of the series (empty for lines without one)", Role: "id"},
		{Name: "step", Type: "int64", Description: "forecast step h = 1..H: the row's period is [as_of + (h-1)p, as_of + hp)", Role: "id"},
	}
	for _, f := range demandFeatures {
		p.cols = append(p.cols, Column{Name: f.name, Type: f.typ, Kind: Numeric, Nullable: f.nullable, Description: f.desc, Role: "feature"})
	}
	if o.Labels {
		p.label = o.Measure
		p.meaning = fmt.Sprintf("the series' %s in valid sale lines in period h", o.Measure)
		if o.Measure == MeasureValue {
			p.meaning = "the series' sales value (quantity x unit price, or amount) in valid sale lines in period h"
		}
		p.cols = append(p.cols, Column{Name: p.label, Type: "double", Description: p.meaning, Role: "label"})
	}
	return nil
}

func (demandTask) compute(ctx context.Context, c *computation, emit func([]outRow) error) (*Balance, error) {
	p := c.p
	d := newDemandScan(p, c, p.opts.Labels, p.opts.TopProducts > 0)
	if err := d.run(ctx, c.st, p.in.orders); err != nil {
		return nil, err
	}
	d.finish()
	sel := d.selected(p.opts.TopProducts)
	nf := len(demandFeatures)
	width := nf
	if p.label != "" {
		width++
	}
	rows := make([]outRow, 0, len(sel)*d.h)
	vals := make([]float64, len(sel)*d.h*width)
	valid := make([]bool, len(sel)*d.h*width)
	fv := make([]float64, nf)
	fok := make([]bool, nf)
	for _, s := range sel {
		prod, wh := d.syms.Name(s.prod), d.name(s.wh)
		for h := 1; h <= d.h; h++ {
			n := len(rows)
			r := outRow{cust: prod, keys: []string{wh}, ints: []int64{int64(h)}, asOf: d.asOf,
				vals: vals[n*width : (n+1)*width : (n+1)*width], valid: valid[n*width : (n+1)*width : (n+1)*width]}
			d.features(fv, fok, s, h, p.loc, p.opts.Period)
			for j := range fv {
				r.vals[j], r.valid[j] = fv[j], fok[j] && !math.IsNaN(fv[j]) && !math.IsInf(fv[j], 0)
			}
			if p.label != "" {
				r.vals[nf], r.valid[nf] = d.measure(s)[d.l+h-1], true
			}
			rows = append(rows, r)
		}
	}
	return nil, emit(rows)
}

// window returns the sum, mean and population standard deviation of the
// last n history periods of x; ok is false when the lookback is shorter.
func (d *demandScan) window(x []float64, n int) (sum, mean, sd float64, ok bool) {
	if n > d.l || d.l-n < d.observed {
		return 0, 0, 0, false
	}
	for _, v := range x[d.l-n : d.l] {
		sum += v
	}
	mean = sum / float64(n)
	var ss float64
	for _, v := range x[d.l-n : d.l] {
		ss += (v - mean) * (v - mean)
	}
	return sum, mean, math.Sqrt(ss / float64(n)), true
}

// features fills fv (values) and ok (defined) for series s at step h, in
// demandFeatures order.
func (d *demandScan) features(fv []float64, ok []bool, s *dseries, h int, loc *time.Location, period string) {
	for i := range ok {
		fv[i], ok[i] = 0, true
	}
	set := func(i int, v float64, defined bool) { fv[i], ok[i] = v, defined }
	y := d.measure(s)
	start := time.UnixMicro(d.bounds[d.l+h-1]).In(loc)
	set(0, float64(h), true)
	if period == PeriodDay {
		set(1, float64(start.YearDay()), true)
	} else {
		_, wk := start.ISOWeek()
		set(1, float64(wk), true)
	}
	set(2, float64(start.Month()), true)
	ang := 2 * math.Pi * float64(start.YearDay()) / 365.25
	set(3, math.Sin(ang), true)
	set(4, math.Cos(ang), true)
	for j, n := range []int{1, 2, 3, 4, 52} {
		sum, _, _, def := d.window(y, n)
		set(5+j, math.Log1p(max(sum, 0)), def)
	}
	for j, n := range []int{4, 13, 52} {
		_, mean, sd, def := d.window(y, n)
		set(10+j, math.Log1p(max(mean, 0)), def)
		set(13+j, sd/mean, def && mean > 0)
	}
	last, first := -1, -1
	for k := d.l - 1; k >= 0; k-- {
		if s.units[k] > 0 {
			if last < 0 {
				last = k
			}
			first = k
		}
	}
	set(16, float64(d.l-1-last), last >= 0)
	if first >= 0 {
		zeros := 0
		for k := first; k < d.l; k++ {
			if s.units[k] <= 0 {
				zeros++
			}
		}
		set(17, float64(zeros)/float64(d.l-first), true)
	} else {
		set(17, 0, false)
	}
	if _, mean, _, def := d.window(y, 13); def && mean > 0 {
		// Least squares over t = 0..12 (oldest to latest).
		var sxy, sxx float64
		for t, v := range y[d.l-13 : d.l] {
			x := float64(t) - 6
			sxy += x * (v - mean)
			sxx += x * x
		}
		set(18, sxy/sxx/mean, true)
	} else {
		set(18, 0, false)
	}
	k := 364/periodDays(period) - h // periods back from as_of of the period a year before h
	set(19, 0, false)
	if k >= 0 && k < d.l && d.l-1-k >= d.observed {
		set(19, math.Log1p(max(y[d.l-1-k], 0)), true)
	}
	price := func(from, to int) (float64, bool) { // history periods [l-to, l-from)
		if to > d.l {
			return 0, false
		}
		var u, v float64
		for i := d.l - to; i < d.l-from; i++ {
			u += s.units[i]
			v += s.value[i]
		}
		return v / u, u > 0 && v > 0
	}
	p13, ok13 := price(0, 13)
	set(20, math.Log(p13), ok13)
	p4, ok4 := price(0, 4)
	pOld, okOld := price(4, 13)
	set(21, p4/pOld-1, ok4 && okOld)
	set(22, math.Log1p(float64(s.buyers13)), true)
	var u13 float64 // sold units in the last 13 periods (or the lookback)
	for _, v := range s.units[d.l-min(13, d.l) : d.l] {
		u13 += v
	}
	set(23, s.ret13/u13, u13 > 0)
	set(24, s.promo13/u13, u13 > 0)
	due := 0.0
	if s.due != nil {
		due = s.due[h-1]
	}
	set(25, math.Log1p(due), true)
	_, m13, sd13, d13 := d.window(y, 13)
	set(26, math.Log1p(sd13*sd13/m13), d13 && m13 > 0)
}

// DemandSeries is one product x warehouse series of a demand build.
type DemandSeries struct {
	Product, Warehouse string
	// History holds the measure in the L periods before as_of, oldest
	// first; Future in the H periods from as_of (zeros past the data).
	History, Future []float64
	// Rank is the product's bestseller rank: 1 for the most units in sale
	// lines before as_of, ties by product id.
	Rank int
}

// DemandHistory is what a demand build reads, as series.
type DemandHistory struct {
	AsOf    time.Time
	Period  string
	Measure string
	// Starts are the L+H period starts, the first L before as_of; Starts
	// [L] is as_of. L is Lookback, H Steps.
	Starts          []time.Time
	Lookback, Steps int
	// Series are sorted by product, then warehouse.
	Series []DemandSeries
	// First is the orders' first timestamp: the periods before it have
	// no data (zeros that are not sales of zero).
	First time.Time
}

// ReadDemandHistory returns the series a demand build with options o
// would make rows of (the same selection and shard), with their measure
// per period: the history the baselines forecast from, and the horizon's
// actuals.
func ReadDemandHistory(ctx context.Context, st datasets.Store, o Options) (*DemandHistory, error) {
	return readDemandHistory(ctx, st, o, true)
}

// ReadDemandSeries is ReadDemandHistory without the bestseller ranks (Rank
// is 0): it reads only the lookback and the horizon, not the whole
// history (unless the selection needs it: TopProducts).
func ReadDemandSeries(ctx context.Context, st datasets.Store, o Options) (*DemandHistory, error) {
	return readDemandHistory(ctx, st, o, false)
}

func readDemandHistory(ctx context.Context, st datasets.Store, o Options, ranks bool) (*DemandHistory, error) {
	o.Task = TaskDemand
	o.Labels = false
	p, err := newPlan(ctx, st, o)
	if err != nil {
		return nil, fmt.Errorf("demand history: %w", err)
	}
	sup, err := privacy.Load(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("demand history: suppressions: %w", err)
	}
	c := p.newComputation(st, sup)
	d := newDemandScan(p, c, true, ranks || p.opts.TopProducts > 0)
	if err := d.run(ctx, st, p.in.orders); err != nil {
		return nil, fmt.Errorf("demand history: %w", err)
	}
	var rank map[int32]int
	if ranks {
		rank = d.ranks()
	}
	out := &DemandHistory{AsOf: *p.asOfTime, Period: p.opts.Period, Measure: p.opts.Measure, Lookback: d.l, Steps: d.h}
	if tr := p.in.orders.TimeRange; tr != nil {
		out.First = tr.Min
	}
	for _, b := range d.bounds[:len(d.bounds)-1] {
		out.Starts = append(out.Starts, time.UnixMicro(b).In(p.loc))
	}
	for _, s := range d.selected(p.opts.TopProducts) {
		y := d.measure(s)
		out.Series = append(out.Series, DemandSeries{Product: d.syms.Name(s.prod), Warehouse: d.name(s.wh),
			History: slices.Clone(y[:d.l]), Future: slices.Clone(y[d.l:]), Rank: rank[s.prod]})
	}
	return out, nil
}
