package features

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
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

// dline is one order line as the demand scan reads it.
type dline struct {
	ts       int64
	cust     uint64 // FNV-1a 64 of customer_id, 0 for a line without one
	qty, val float64
	ok       bool // val is known
	prod, wh int32
	kind     int32
	promo    int32
}

const (
	dQuantity = iota
	dUnitPrice
	dAmount
	dLineType
	dProduct
	dWarehouse
	dPromo
)

func demandColumns() []datasets.ColumnRequest {
	return []datasets.ColumnRequest{
		dQuantity:  {Name: "quantity", As: datasets.AsFloat64},
		dUnitPrice: {Name: "unit_price", As: datasets.AsFloat64},
		dAmount:    {Name: "amount", As: datasets.AsFloat64},
		dLineType:  {Name: "line_type", As: datasets.AsSymbol},
		dProduct:   {Name: "product_id", As: datasets.AsSymbol},
		dWarehouse: {Name: "warehouse", As: datasets.AsSymbol},
		dPromo:     {Name: "promo", As: datasets.AsSymbol},
	}
}

func demandLine(b *datasets.Block, i int) dline {
	c := b.Cols
	l := dline{ts: b.Time[i], prod: -1, wh: -1, kind: -1, promo: -1}
	if k := b.Key(i); len(k) > 0 {
		l.cust = datasets.FNV64(k)
	}
	if q := c[dQuantity].Float64; q != nil {
		l.qty = q[i]
	}
	switch am, pr := &c[dAmount], &c[dUnitPrice]; {
	case am.Float64 != nil && am.Valid[i]:
		l.val, l.ok = am.Float64[i], true
	case pr.Float64 != nil && pr.Valid[i]:
		l.val, l.ok = l.qty*pr.Float64[i], true
	}
	for j, dst := range []*int32{dLineType: &l.kind, dProduct: &l.prod, dWarehouse: &l.wh, dPromo: &l.promo} {
		if s := c[j].Symbol; s != nil {
			*dst = s[i]
		}
	}
	return l
}

func cmpDline(a, b dline) int {
	return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.prod, b.prod), cmp.Compare(a.wh, b.wh), cmp.Compare(a.kind, b.kind),
		cmp.Compare(a.qty, b.qty), cmp.Compare(a.val, b.val), cmp.Compare(a.promo, b.promo))
}

// dseries accumulates one product x warehouse series.
type dseries struct {
	idx      int32 // in demandScan.list
	prod, wh int32
	sold     bool      // a sale line in the lookback
	units    []float64 // per period: index i is [bounds[i], bounds[i+1]); nil until a line in range
	value    []float64
	ret13    float64 // returned units in the last 13 periods
	promo13  float64 // units sold on promo lines in the last 13 periods
	buyers13 int
	due      []float64 // per step
}

// pairState is a customer's purchases of one series in the lookback:
// held by value, keyed without pointers, so that tens of millions of
// them cost no allocation each and nothing for the garbage collector to
// scan.
type pairState struct {
	first, last   int64
	days, lastDay int32 // lastDay: whole days since the first period's start
}

// buyerSeriesKey is a customer (FNV-1a 64 of the id) and a series (its
// index in demandScan.list).
type buyerSeriesKey struct {
	cust uint64
	s    int32
}

// demandScan is the state of one demand scan.
type demandScan struct {
	syms            *datasets.Symbols
	saleSym, retSym int32
	bounds          []int64 // L+H+1 period bounds; bounds[L] is as_of
	l, h            int
	asOf            int64
	forgotten       func(string) bool
	series          map[[2]int32]*dseries
	list            []*dseries        // series by idx
	totals          map[int32]float64 // units sold before as_of, whole history, per product
	pairs           map[buyerSeriesKey]pairState
	// top, when not nil, are the products whose series are kept: the
	// --top-products selection, made by a first pass over the whole
	// history (totalsPass) so that the lookback's scan keeps only their
	// series and buyers. tracked caches per product symbol whether its
	// series are kept (0 unknown, 1 yes, 2 no): top and the shard.
	top           map[int32]bool
	topN          int // --top-products (0: every product)
	tracked       []uint8
	shard, shards int
	measureValue  bool
	// fullHistory reads every line before as_of for the bestseller ranks
	// (--top-products, ReadDemandHistory), in a first pass of a few
	// columns (totalsPass); the series read the lookback only.
	fullHistory bool
	// observed is the first history period that starts on or after the
	// day of the data's first timestamp: earlier periods have no data
	// (zeros there are unknown, not sales of zero).
	observed         int
	withFuture       bool
	lastForgot       string
	lastForgotResult bool
}

// periodBounds returns the L+H+1 period bounds around as_of, in calendar
// days of loc: bounds[L] is as_of.
func periodBounds(asOf time.Time, loc *time.Location, pd, l, h int) []int64 {
	out := make([]int64, l+h+1)
	a := asOf.In(loc)
	for i := range out {
		out[i] = a.AddDate(0, 0, (i-l)*pd).UnixMicro()
	}
	return out
}

// periodOf returns the index of the period holding ts, or -1.
func (d *demandScan) periodOf(ts int64) int {
	b := d.bounds
	if ts < b[0] || ts >= b[len(b)-1] {
		return -1
	}
	return sort.Search(len(b), func(i int) bool { return b[i] > ts }) - 1
}

func newDemandScan(p *plan, c *computation, withFuture, fullHistory bool) *demandScan {
	o := p.opts
	pd := periodDays(o.Period)
	l, h := o.Lookback.Days/pd, o.Horizon.Days/pd
	d := &demandScan{
		syms: c.syms, saleSym: c.saleSym, retSym: c.retSym,
		bounds: periodBounds(*p.asOfTime, p.loc, pd, l, h), l: l, h: h, asOf: p.asOfTime.UnixMicro(),
		forgotten: c.forgotten, series: map[[2]int32]*dseries{}, totals: map[int32]float64{}, pairs: map[buyerSeriesKey]pairState{},
		measureValue: o.Measure == MeasureValue, withFuture: withFuture, fullHistory: fullHistory,
		topN: o.TopProducts, shard: o.Shard, shards: o.Shards,
	}
	if tr := p.in.orders.TimeRange; tr != nil {
		f := tr.Min.In(p.loc)
		day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, p.loc).UnixMicro()
		for d.observed < l && d.bounds[d.observed] < day {
			d.observed++
		}
	}
	return d
}

// run streams the orders: the lookback (the whole history before as_of
// with fullHistory, for the bestseller ranks), and the horizon's periods
// when withFuture.
func (d *demandScan) run(ctx context.Context, st datasets.Store, m *datasets.Manifest) error {
	to := d.asOf
	if d.withFuture {
		to = d.bounds[len(d.bounds)-1]
	}
	if d.fullHistory {
		if err := d.totalsPass(ctx, st, m); err != nil {
			return err
		}
	}
	cs := datasets.ColumnScan{Columns: demandColumns(), Symbols: d.syms, From: d.bounds[0], To: to, Anonymous: true}
	return datasets.ScanColumns(ctx, st, datasets.Orders, m, cs, demandLine, func(cust []byte, lines []dline) error {
		if d.skip(cust) {
			return nil
		}
		if !slices.IsSortedFunc(lines, cmpDline) {
			slices.SortFunc(lines, cmpDline)
		}
		for i := range lines {
			d.add(&lines[i])
		}
		return nil
	})
}

// skip reports whether a customer's lines are left out (forgotten).
func (d *demandScan) skip(cust []byte) bool {
	if len(cust) == 0 {
		return false
	}
	if id := string(cust); id != d.lastForgot {
		d.lastForgot, d.lastForgotResult = id, d.forgotten(id)
	}
	return d.lastForgotResult
}

// totalsPass reads the product, warehouse, line type and quantity of
// every line before as_of: the units each product sold (the bestseller
// ranks) and the series sold before the lookback. With --top-products
// it selects the products whose series the lookback's scan keeps.
func (d *demandScan) totalsPass(ctx context.Context, st datasets.Store, m *datasets.Manifest) error {
	type tline struct {
		qty            float64
		kind, prod, wh int32
	}
	cols := []datasets.ColumnRequest{
		{Name: "quantity", As: datasets.AsFloat64},
		{Name: "line_type", As: datasets.AsSymbol},
		{Name: "product_id", As: datasets.AsSymbol},
		{Name: "warehouse", As: datasets.AsSymbol},
	}
	row := func(b *datasets.Block, i int) tline {
		c := b.Cols
		l := tline{kind: -1, prod: -1, wh: -1}
		if q := c[0].Float64; q != nil {
			l.qty = q[i]
		}
		for j, dst := range []*int32{1: &l.kind, 2: &l.prod, 3: &l.wh} {
			if s := c[j].Symbol; s != nil && dst != nil {
				*dst = s[i]
			}
		}
		return l
	}
	sold := map[[2]int32]bool{}
	cs := datasets.ColumnScan{Columns: cols, Symbols: d.syms, From: math.MinInt64, To: d.asOf, Anonymous: true}
	err := datasets.ScanColumns(ctx, st, datasets.Orders, m, cs, row, func(cust []byte, lines []tline) error {
		if d.skip(cust) {
			return nil
		}
		for _, l := range lines {
			if l.prod >= 0 && l.kind == d.saleSym {
				d.totals[l.prod] += l.qty
				sold[[2]int32{l.prod, l.wh}] = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if d.topN > 0 {
		d.top = map[int32]bool{}
		for p, r := range d.ranks() {
			if r <= d.topN {
				d.top[p] = true
			}
		}
	}
	// A product sold in a warehouse before the lookback is a series too
	// (zeros in the lookback), as when one scan read everything.
	for k := range sold {
		if d.keeps(k[0]) {
			d.newSeries(k[0], k[1])
		}
	}
	return nil
}

// keeps reports whether the series of a product are kept: among the top
// products, if selected, and of this shard.
func (d *demandScan) keeps(prod int32) bool {
	for int(prod) >= len(d.tracked) {
		d.tracked = append(d.tracked, 0)
	}
	switch d.tracked[prod] {
	case 1:
		return true
	case 2:
		return false
	}
	ok := (d.top == nil || d.top[prod]) && (d.shards <= 1 || ShardOf(d.syms.Name(prod), d.shards) == d.shard)
	d.tracked[prod] = 2
	if ok {
		d.tracked[prod] = 1
	}
	return ok
}

func (d *demandScan) newSeries(prod, wh int32) *dseries {
	k := [2]int32{prod, wh}
	if s := d.series[k]; s != nil {
		return s
	}
	s := &dseries{idx: int32(len(d.list)), prod: prod, wh: wh}
	d.series[k] = s
	d.list = append(d.list, s)
	return s
}

func (d *demandScan) add(l *dline) {
	if l.prod < 0 || (l.kind != d.saleSym && l.kind != d.retSym) || !d.keeps(l.prod) {
		return
	}
	sale := l.kind == d.saleSym
	past := l.ts < d.asOf
	if sale && past && !d.fullHistory {
		d.totals[l.prod] += l.qty // the lookback's units (totalsPass counts the whole history)
	}
	s := d.series[[2]int32{l.prod, l.wh}]
	if s == nil {
		if !sale || !past {
			return // a series is a product sold in a warehouse before as_of
		}
		s = d.newSeries(l.prod, l.wh)
	}
	i := d.periodOf(l.ts)
	if i < 0 {
		return
	}
	if s.units == nil {
		s.units = make([]float64, len(d.bounds)-1)
		s.value = make([]float64, len(d.bounds)-1)
	}
	recent := i >= d.l-13 && past
	if !sale {
		if recent {
			s.ret13 += math.Abs(l.qty)
		}
		return
	}
	s.units[i] += l.qty
	if l.ok {
		s.value[i] += l.val
	}
	if !past {
		return
	}
	s.sold = true
	if recent && l.promo >= 0 {
		s.promo13 += l.qty
	}
	if l.cust == 0 {
		return
	}
	pk := buyerSeriesKey{l.cust, s.idx}
	ps, ok := d.pairs[pk]
	day := int32((l.ts - d.bounds[0]) / microsPerDay)
	if !ok {
		d.pairs[pk] = pairState{first: l.ts, last: l.ts, days: 1, lastDay: day}
		return
	}
	if day != ps.lastDay {
		ps.days++
		ps.lastDay = day
	}
	ps.last = l.ts
	d.pairs[pk] = ps
}

// finish counts each series' recent buyers and the customers due in each
// step.
func (d *demandScan) finish() {
	w13 := d.bounds[max(d.l-13, 0)]
	for pk, ps := range d.pairs {
		s := d.list[pk.s]
		if s.due == nil {
			s.due = make([]float64, d.h)
		}
		if ps.last >= w13 {
			s.buyers13++
		}
		if ps.days < 2 || d.h == 0 {
			continue
		}
		cycle := (ps.last - ps.first) / int64(ps.days-1)
		next := ps.last + cycle
		switch {
		case next < d.asOf:
			if d.asOf-next <= cycle {
				s.due[0]++
			}
		default:
			if i := d.periodOf(next); i >= d.l {
				s.due[i-d.l]++
			}
		}
	}
	d.pairs = nil
}

// ranks returns each product's bestseller rank: 1 for the most units in
// sale lines before as_of, ties by product id.
func (d *demandScan) ranks() map[int32]int {
	type pt struct {
		id    string
		sym   int32
		units float64
	}
	var ps []pt
	for sym, u := range d.totals {
		ps = append(ps, pt{d.syms.Name(sym), sym, u})
	}
	slices.SortFunc(ps, func(a, b pt) int { return cmp.Or(cmp.Compare(b.units, a.units), strings.Compare(a.id, b.id)) })
	out := make(map[int32]int, len(ps))
	for i, p := range ps {
		out[p.sym] = i + 1
	}
	return out
}

// selected returns the series a build keeps, sorted by product then
// warehouse: with top > 0 every series of the top products, else every
// series with a sale in the lookback; shard i of n keeps the products
// with FNV-1a64(product_id) mod n = i.
func (d *demandScan) selected(top, shard, shards int) []*dseries {
	var rank map[int32]int
	if top > 0 {
		rank = d.ranks()
	}
	var out []*dseries
	for _, s := range d.series {
		if top > 0 && rank[s.prod] > top || top == 0 && !s.sold {
			continue
		}
		if shards > 1 && ShardOf(d.syms.Name(s.prod), shards) != shard {
			continue
		}
		if s.units == nil {
			s.units = make([]float64, len(d.bounds)-1)
			s.value = make([]float64, len(d.bounds)-1)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *dseries) int {
		return cmp.Or(strings.Compare(d.syms.Name(a.prod), d.syms.Name(b.prod)), strings.Compare(d.name(a.wh), d.name(b.wh)))
	})
	return out
}

func (d *demandScan) name(sym int32) string {
	if sym < 0 {
		return ""
	}
	return d.syms.Name(sym)
}

func (d *demandScan) measure(s *dseries) []float64 {
	if d.measureValue {
		return s.value
	}
	return s.units
}

func (demandTask) compute(ctx context.Context, c *computation) ([]outRow, *Balance, error) {
	p := c.p
	d := newDemandScan(p, c, p.opts.Labels, p.opts.TopProducts > 0)
	if err := d.run(ctx, c.st, p.in.orders); err != nil {
		return nil, nil, err
	}
	d.finish()
	sel := d.selected(p.opts.TopProducts, p.opts.Shard, p.opts.Shards)
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
	return rows, nil, nil
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
	for _, s := range d.selected(p.opts.TopProducts, p.opts.Shard, p.opts.Shards) {
		y := d.measure(s)
		out.Series = append(out.Series, DemandSeries{Product: d.syms.Name(s.prod), Warehouse: d.name(s.wh),
			History: slices.Clone(y[:d.l]), Future: slices.Clone(y[d.l:]), Rank: rank[s.prod]})
	}
	return out, nil
}
