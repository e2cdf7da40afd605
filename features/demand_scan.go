package features

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// The demand scan: the order lines read into series per product x
// warehouse and period, with their buyers (demand.go has the task, the
// features and the history readers).

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
// warehouse. The scan kept only the top products' series (--top-products)
// and the shard's (keeps); of those, with top > 0 every series, else every
// series with a sale in the lookback.
func (d *demandScan) selected(top int) []*dseries {
	var out []*dseries
	for _, s := range d.series {
		if top == 0 && !s.sold {
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
