package features

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// TaskCLV builds one row per customer: the buy-till-you-die summary
// (docs/CLV.md) that BG/NBD and Gamma-Gamma models are fitted on and
// score.
const TaskCLV = "clv"

// The clv task's feature sets name the summary's time unit.
const (
	// CLVDays counts t_x and T in days (the default).
	CLVDays = "days"
	// CLVWeeks counts them in weeks of 7 days.
	CLVWeeks = "weeks"
)

// The clv task's columns.
const (
	CLVFrequency = "frequency"
	CLVRecency   = "recency"
	CLVAge       = "age"
	CLVMonetary  = "monetary_value"
	// CLVHoldout is the label column: purchase days in the holdout.
	CLVHoldout = "holdout_purchases"
)

// CLVDefaultLookback is the clv task's default lookback: the whole
// history (100 years), since a customer's age counts from the first
// purchase ever.
var CLVDefaultLookback = datasets.Span{Days: 36525}

// clvVersion is the version of the clv definitions (see churnVersion).
const clvVersion = 1

// CLVUnitDays returns the length in days of a clv unit.
func CLVUnitDays(unit string) (float64, error) {
	switch unit {
	case CLVDays:
		return 1, nil
	case CLVWeeks:
		return 7, nil
	}
	return 0, fmt.Errorf("clv unit %q: want %s or %s", unit, CLVDays, CLVWeeks)
}

// clvTask is the clv task: per customer with a sale line in the
// lookback before as_of, x = distinct purchase days after the first,
// t_x = last - first purchase day, T = the calibration end (the day
// before as_of) - first purchase day, in the unit, and the mean value of
// the repeat purchase days; with a holdout, the purchase days in [as_of,
// as_of + holdout). A purchase is a sale line or a free item (a line of
// positive quantity and zero value, which import types as an
// adjustment): the customer came and ordered.
type clvTask struct{}

func (clvTask) defaults(o *Options) error {
	if o.FeatureSet == "" {
		o.FeatureSet = CLVDays
	}
	if _, err := CLVUnitDays(o.FeatureSet); err != nil {
		return datasets.Fieldf("FeatureSet", o.FeatureSet, "the clv task's feature set is its unit: %s or %s", CLVDays, CLVWeeks)
	}
	if o.Lookback.Days == 0 {
		o.Lookback = CLVDefaultLookback
	}
	if o.Labels {
		// The holdout is checked against the data by clv's own rule
		// (setup): a dataset's last day counts as observed whole.
		if o.Horizon.Days == 0 {
			return datasets.Fieldf("Horizon", "", "the clv holdout needs a length")
		}
		o.CLVHoldout, o.Labels = o.Horizon, false
	}
	if o.CLVHoldout.Days < 0 {
		return datasets.Fieldf("CLVHoldout", o.CLVHoldout.String(), "want a positive span")
	}
	return nil
}

func (clvTask) setup(p *plan) error {
	o := p.opts
	if p.asOfTime == nil {
		return fmt.Errorf("the clv task needs an as_of date")
	}
	u := o.FeatureSet
	p.params.FeatureSet, p.params.Version = o.FeatureSet, clvVersion
	p.cols = []Column{
		{Name: "customer_id", Type: "string", Description: "customer identifier, as stored in the dataset", Role: "id"},
		{Name: CLVFrequency, Type: "int64", Kind: Numeric, Description: "x: distinct purchase days after the first, up to the day before as_of", Role: "feature"},
		{Name: CLVRecency, Type: "double", Kind: Numeric, Description: "t_x: " + u + " from the first to the last purchase day", Role: "feature"},
		{Name: CLVAge, Type: "double", Kind: Numeric, Description: "T: " + u + " from the first purchase day to the day before as_of", Role: "feature"},
		{Name: CLVMonetary, Type: "double", Kind: Numeric, Nullable: true, Description: "mean sales value of the repeat purchase days; null without repeat purchases", Role: "feature"},
	}
	if h := o.CLVHoldout; h.Days > 0 {
		end := p.asOfTime.In(p.loc).AddDate(0, 0, h.Days)
		if last := p.in.orders.TimeRange; last == nil || end.After(nextDay(last.Max, p.loc)) {
			at := "the orders table is empty"
			if last != nil {
				at = "the data's last day is " + last.Max.In(p.loc).Format(time.DateOnly)
			}
			return fmt.Errorf("clv holdout [%s, %s): %w: %s", p.asOfTime.In(p.loc).Format(time.DateOnly), end.Format(time.DateOnly), ErrCensored, at)
		}
		p.params.Labels, p.params.Horizon = true, h.String()
		p.label, p.meaning = CLVHoldout, fmt.Sprintf("purchase days in [as_of, as_of + %s): the holdout of the calibration/holdout check", h)
		p.cols = append(p.cols, Column{Name: CLVHoldout, Type: "int64", Description: p.meaning, Role: "label"})
	}
	return nil
}

// nextDay returns 00:00 of the calendar day after t's, in loc.
func nextDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// clvCustomer accumulates one customer's summary.
type clvCustomer struct {
	id                  string
	first, last         int64 // calendar day numbers
	days                int64 // distinct purchase days before as_of
	firstVal, totalVal  float64
	hasVal              bool
	hold, holdLast      int64
	started, holdOpened bool
}

// dayClock turns instants into calendar day numbers in a zone, caching
// the current day's bounds.
type dayClock struct {
	loc    *time.Location
	lo, hi int64 // [lo, hi) is day n, in UTC microseconds
	n      int64
}

func (d *dayClock) day(ts int64) int64 {
	if ts >= d.lo && ts < d.hi {
		return d.n
	}
	y, m, dd := time.UnixMicro(ts).In(d.loc).Date()
	start := time.Date(y, m, dd, 0, 0, 0, 0, d.loc)
	d.lo, d.hi = start.UnixMicro(), time.Date(y, m, dd+1, 0, 0, 0, 0, d.loc).UnixMicro()
	d.n = time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix() / 86400
	return d.n
}

func (clvTask) compute(ctx context.Context, c *computation, emit func([]outRow) error) (*Balance, error) {
	p := c.p
	cut := p.cutoffs[0]
	clock := &dayClock{loc: p.loc, lo: 1, hi: 0}
	endDay := clock.day(cut.asOf - 1) // the calibration's last day
	hi := cut.asOf
	if h := p.opts.CLVHoldout; h.Days > 0 {
		hi = p.asOfTime.In(p.loc).AddDate(0, 0, h.Days).UnixMicro()
	}
	unit, _ := CLVUnitDays(p.opts.FeatureSet)
	adjSym := c.syms.ID([]byte(datasets.LineAdjustment))
	byID := map[string]*clvCustomer{}
	var custs []*clvCustomer
	sc := &scanner{st: c.st, src: srcOrders, syms: c.syms, lo: cut.lb, hi: hi, keep: c.keep}
	err := sc.scan(ctx, p.in.orders, func(cust []byte, lines []line) error {
		k := byID[string(cust)]
		if k == nil {
			if lines[0].ts >= cut.asOf {
				return nil // no history before as_of
			}
			id := string(cust)
			if c.forgotten(id) {
				return nil
			}
			k = &clvCustomer{id: id}
			byID[id] = k
			custs = append(custs, k)
		}
		for i := range lines {
			l := &lines[i]
			if l.kind != c.saleSym && !(l.kind == adjSym && l.ok && l.val == 0 && l.qty > 0) {
				continue // returns, fees and adjustments other than free items are not purchases
			}
			d := clock.day(l.ts)
			if l.ts >= cut.asOf {
				if k.started && (!k.holdOpened || d != k.holdLast) {
					k.hold++
					k.holdLast, k.holdOpened = d, true
				}
				continue
			}
			if !k.started {
				k.first, k.last, k.days, k.started = d, d, 1, true
			} else if d != k.last {
				k.last = d
				k.days++
			}
			if l.ok {
				k.totalVal += l.val
				k.hasVal = true
				if d == k.first {
					k.firstVal += l.val
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(custs, func(a, b *clvCustomer) int { return strings.Compare(a.id, b.id) })
	width := len(p.cols) - 1
	rows := make([]outRow, 0, len(custs))
	for _, k := range custs {
		if !k.started {
			continue // only returns or fees before as_of
		}
		vals, valid := make([]float64, width), make([]bool, width)
		x := k.days - 1
		vals[0] = float64(x)
		vals[1] = float64(k.last-k.first) / unit
		vals[2] = float64(endDay-k.first) / unit
		if x > 0 && k.hasVal {
			vals[3] = (k.totalVal - k.firstVal) / float64(x)
			valid[3] = true
		}
		valid[0], valid[1], valid[2] = true, true, true
		if width > 4 {
			vals[4], valid[4] = float64(k.hold), true
		}
		rows = append(rows, outRow{cust: k.id, vals: vals, valid: valid})
	}
	return nil, emit(rows)
}
