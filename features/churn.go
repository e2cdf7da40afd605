package features

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Churn feature sets (docs/FEATURES.md).
const (
	// SetChurn is the churn task's full feature set.
	SetChurn = "churn"
	// SetRFMAnchor is the subset shared with the DuckDB anchor
	// (bench/anchors/rfm.sql), under the anchor's column
	// names, with label = 1 - churn: for benchmarks and parity checks.
	SetRFMAnchor = "rfm-anchor"
)

// churnVersion is the version of the churn feature definitions: bump it
// whenever a definition changes, so that tables built before get a new
// spec rather than being reused.
const churnVersion = 1

const (
	microsPerDay = int64(24 * time.Hour / time.Microsecond)
	dayF         = float64(microsPerDay)
)

// ordRef remembers a recent order of a customer: its key and its time.
type ordRef struct {
	h  uint64
	ts int64
}

// cutoff holds the instants of one as_of, in UTC microseconds: the
// window starts (each clipped to the lookback start lb) and the label
// window's end.
type cutoff struct {
	asOf                         int64
	lb, w7, w30, w90, w180, w365 int64
	labelEnd                     int64
}

// Cutoffs returns the k cutoffs of a training set, latest first: last
// minus i steps, i = 0..k-1, counted in calendar days in loc (so a cutoff
// stays at 00:00 local time across DST changes).
func Cutoffs(last time.Time, loc *time.Location, k int, step datasets.Span) []time.Time {
	out := make([]time.Time, 0, k)
	for i := 0; i < k; i++ {
		out = append(out, last.In(loc).AddDate(0, 0, -i*step.Days))
	}
	return out
}

func newCutoff(asOf time.Time, loc *time.Location, lookback, horizon datasets.Span) *cutoff {
	before := func(days int) int64 { return asOf.In(loc).AddDate(0, 0, -days).UnixMicro() }
	c := &cutoff{asOf: asOf.UnixMicro()}
	c.lb = before(lookback.Days)
	clip := func(x int64) int64 { return max(x, c.lb) }
	c.w7, c.w30, c.w90 = clip(before(7)), clip(before(30)), clip(before(90))
	c.w180, c.w365 = clip(before(180)), clip(before(365))
	c.labelEnd = asOf.In(loc).AddDate(0, 0, horizon.Days).UnixMicro()
	return c
}

// churnTarget accumulates one row: a customer as of one cutoff.
type churnTarget struct {
	cust string
	*cutoff

	nOrd, o30, o90, o365 int64
	first, last          int64
	gapMean, gapM2       float64 // Welford over the gaps, in days
	spend, s30, s90      float64
	s365, sPrev90        float64
	sale, ret            int64
	recent               [4]ordRef
	nRecent              int
	cats                 uint64 // categories with symbol id < 64
	catX                 []int32
	prods                []uint64
	prodsSorted          int

	v7, v30, c7, c30   int64
	cartDays, saleDays uint32 // bit k: day [as_of-(k+1)d, as_of-kd)
	pts                float64
	hasPts             bool

	future bool // a sale line in [as_of, labelEnd)
	label  *int64
}

// order returns the time of the order a sale line belongs to, and whether
// it starts a new order: lines of one order come together in time order,
// so a customer's four most recent orders are remembered.
func (t *churnTarget) order(h uint64, ts int64) (int64, bool) {
	n := min(t.nRecent, len(t.recent))
	for i := 0; i < n; i++ {
		if t.recent[i].h == h {
			return t.recent[i].ts, false
		}
	}
	t.recent[t.nRecent%len(t.recent)] = ordRef{h, ts}
	t.nRecent++
	return ts, true
}

func dayIndex(asOf, ts int64) int64 { return (asOf - 1 - ts) / microsPerDay }

// addOrderLines folds a customer's order lines (time-ordered) in.
func (t *churnTarget) addOrderLines(lines []line, saleSym, retSym int32, products bool) {
	for i := range lines {
		l := &lines[i]
		if l.ts < t.lb {
			continue
		}
		if l.ts >= t.asOf {
			if l.ts < t.labelEnd && l.kind == saleSym {
				t.future = true
			}
			continue
		}
		switch l.kind {
		case saleSym:
		case retSym:
			t.ret++
			continue
		default:
			continue // fees and adjustments are not sales
		}
		t.sale++
		ots, isNew := t.order(l.ord, l.ts)
		if isNew {
			if t.nOrd == 0 {
				t.first = ots
			} else {
				g := float64(ots-t.last) / dayF
				k := float64(t.nOrd) // gaps so far + 1
				d := g - t.gapMean
				t.gapMean += d / k
				t.gapM2 += d * (g - t.gapMean)
			}
			t.last = ots
			t.nOrd++
			if ots >= t.w30 {
				t.o30++
			}
			if ots >= t.w90 {
				t.o90++
			}
			if ots >= t.w365 {
				t.o365++
			}
		}
		if l.ok {
			v := l.val
			t.spend += v
			if ots >= t.w30 {
				t.s30 += v
			}
			if ots >= t.w90 {
				t.s90 += v
			} else if ots >= t.w180 {
				t.sPrev90 += v
			}
			if ots >= t.w365 {
				t.s365 += v
			}
		}
		if c := l.cat; c >= 0 {
			if c < 64 {
				t.cats |= 1 << uint(c)
			} else if !slices.Contains(t.catX, c) {
				t.catX = append(t.catX, c)
			}
		}
		if products && l.prod != 0 {
			t.addProduct(l.prod)
		}
		if k := dayIndex(t.asOf, l.ts); k < 32 {
			t.saleDays |= 1 << uint(k)
		}
	}
}

// addProduct records a product; the set is compacted when it fills, so
// it holds about the customer's distinct products.
func (t *churnTarget) addProduct(h uint64) {
	if len(t.prods) == cap(t.prods) && len(t.prods) > 0 {
		slices.Sort(t.prods)
		t.prods = slices.Compact(t.prods)
		if len(t.prods) > cap(t.prods)/2 {
			t.prods = slices.Grow(t.prods, cap(t.prods))
		}
	}
	if t.prods == nil {
		t.prods = make([]uint64, 0, 8)
	}
	t.prods = append(t.prods, h)
}

func (t *churnTarget) distinctProducts() int64 {
	if len(t.prods) == 0 {
		return 0
	}
	slices.Sort(t.prods)
	t.prods = slices.Compact(t.prods)
	return int64(len(t.prods))
}

// addEvents folds a customer's web events in.
func (t *churnTarget) addEvents(lines []line, viewSym, cartSym int32) {
	for i := range lines {
		l := &lines[i]
		if l.ts >= t.asOf || l.ts < t.w30 {
			continue
		}
		in7 := l.ts >= t.w7
		switch l.kind {
		case viewSym:
			t.v30++
			if in7 {
				t.v7++
			}
		case cartSym:
			t.c30++
			if in7 {
				t.c7++
			}
			if k := dayIndex(t.asOf, l.ts); k < 32 {
				t.cartDays |= 1 << uint(k)
			}
		}
	}
}

// addLoyalty folds a customer's ledger entries in: every entry before
// as_of counts, whatever the lookback (a balance is the whole ledger).
func (t *churnTarget) addLoyalty(lines []line) {
	for i := range lines {
		if lines[i].ts >= t.asOf {
			continue
		}
		t.pts += lines[i].val
		t.hasPts = true
	}
}

// featureDef is one output column of a feature set.
type featureDef struct {
	Feature
	typ string // int64 or double
	val func(t *churnTarget) (float64, bool)
}

func intDef(name, desc string, f func(t *churnTarget) int64) featureDef {
	return featureDef{Feature: Feature{Name: name, Kind: Numeric, Description: desc}, typ: "int64",
		val: func(t *churnTarget) (float64, bool) { return float64(f(t)), true }}
}

func floatDef(name, desc string, f func(t *churnTarget) float64) featureDef {
	return featureDef{Feature: Feature{Name: name, Kind: Numeric, Description: desc}, typ: "double",
		val: func(t *churnTarget) (float64, bool) { return f(t), true }}
}

func nullDef(name, typ, desc string, f func(t *churnTarget) (float64, bool)) featureDef {
	return featureDef{Feature: Feature{Name: name, Kind: Numeric, Nullable: true, Description: desc}, typ: typ, val: f}
}

// historyless wraps a definition that needs at least one order: null
// without (entity rows may have no history).
func historyless(d featureDef) featureDef {
	f := d.val
	d.Nullable = true
	d.val = func(t *churnTarget) (float64, bool) {
		if t.nOrd == 0 {
			return 0, false
		}
		return f(t)
	}
	return d
}

func floorDays(d int64) int64 {
	q := d / microsPerDay
	if d%microsPerDay != 0 && d < 0 {
		q--
	}
	return q
}

func recencyDays(t *churnTarget) int64 { return floorDays(t.asOf - t.last) }
func tenureDays(t *churnTarget) int64  { return floorDays(t.asOf - t.first) }
func distinctCategories(t *churnTarget) int64 {
	return int64(bits.OnesCount64(t.cats) + len(t.catX))
}

// churnDefs returns the feature columns of a set. events and loyalty say
// whether the dataset has those tables; entities whether rows may lack
// history (then the order-based features are nullable).
func churnDefs(set string, events, loyalty, entities bool) []featureDef {
	var defs []featureDef
	hist := func(d featureDef) featureDef {
		if entities {
			return historyless(d)
		}
		return d
	}
	if set == SetRFMAnchor {
		defs = []featureDef{
			hist(intDef("recency_days", "whole days from the last order to as_of", recencyDays)),
			intDef("frequency_30", "orders in [as_of - 30d, as_of)", func(t *churnTarget) int64 { return t.o30 }),
			intDef("frequency_90", "orders in [as_of - 90d, as_of)", func(t *churnTarget) int64 { return t.o90 }),
			intDef("frequency_365", "orders in [as_of - 365d, as_of)", func(t *churnTarget) int64 { return t.o365 }),
			floatDef("monetary_30", "sales value of the orders in [as_of - 30d, as_of)", func(t *churnTarget) float64 { return t.s30 }),
			floatDef("monetary_90", "sales value of the orders in [as_of - 90d, as_of)", func(t *churnTarget) float64 { return t.s90 }),
			floatDef("monetary_365", "sales value of the orders in [as_of - 365d, as_of)", func(t *churnTarget) float64 { return t.s365 }),
			hist(intDef("tenure_days", "whole days from the first order (within the lookback) to as_of", tenureDays)),
			intDef("distinct_categories", "distinct categories of the sale lines in the lookback", distinctCategories),
		}
		return defs
	}
	defs = []featureDef{
		hist(intDef("recency_days", "whole days from the last order to as_of", recencyDays)),
		hist(intDef("tenure_days", "whole days from the first order (within the lookback) to as_of", tenureDays)),
		intDef("orders_30d", "orders in [as_of - 30d, as_of)", func(t *churnTarget) int64 { return t.o30 }),
		intDef("orders_90d", "orders in [as_of - 90d, as_of)", func(t *churnTarget) int64 { return t.o90 }),
		intDef("orders_365d", "orders in [as_of - 365d, as_of)", func(t *churnTarget) int64 { return t.o365 }),
		floatDef("spend_30d", "sales value (quantity x unit price, or amount) of the orders in [as_of - 30d, as_of)", func(t *churnTarget) float64 { return t.s30 }),
		floatDef("spend_90d", "sales value of the orders in [as_of - 90d, as_of)", func(t *churnTarget) float64 { return t.s90 }),
		floatDef("spend_365d", "sales value of the orders in [as_of - 365d, as_of)", func(t *churnTarget) float64 { return t.s365 }),
		nullDef("gap_mean_days", "double", "mean days between consecutive orders; null with fewer than 2 orders", func(t *churnTarget) (float64, bool) {
			return t.gapMean, t.nOrd >= 2
		}),
		nullDef("gap_std_days", "double", "population standard deviation of the days between orders; null with fewer than 3 orders", func(t *churnTarget) (float64, bool) {
			if t.nOrd < 3 {
				return 0, false
			}
			return math.Sqrt(t.gapM2 / float64(t.nOrd-1)), true
		}),
		nullDef("recency_gap_ratio", "double", "days since the last order divided by the mean gap; null with fewer than 2 orders or a zero mean gap", func(t *churnTarget) (float64, bool) {
			if t.nOrd < 2 || t.gapMean <= 0 {
				return 0, false
			}
			return float64(t.asOf-t.last) / dayF / t.gapMean, true
		}),
		nullDef("spend_trend", "double", "(spend in the last 90 days - spend in the 90 before) / their sum, in [-1, 1]; null when both are 0", func(t *churnTarget) (float64, bool) {
			s := t.s90 + t.sPrev90
			if s == 0 {
				return 0, false
			}
			return (t.s90 - t.sPrev90) / s, true
		}),
		intDef("distinct_categories", "distinct categories of the sale lines in the lookback", distinctCategories),
		intDef("distinct_products", "distinct products of the sale lines in the lookback", func(t *churnTarget) int64 { return t.distinctProducts() }),
		hist(nullDef("return_rate", "double", "return lines per sale line in the lookback", func(t *churnTarget) (float64, bool) {
			return float64(t.ret) / float64(t.sale), t.sale > 0
		})),
		hist(nullDef("basket_mean", "double", "mean sales value per order in the lookback", func(t *churnTarget) (float64, bool) {
			return t.spend / float64(t.nOrd), t.nOrd > 0
		})),
	}
	defs[len(defs)-2].Nullable = entities
	defs[len(defs)-1].Nullable = entities
	if events {
		defs = append(defs,
			intDef("views_7d", "product views in [as_of - 7d, as_of)", func(t *churnTarget) int64 { return t.v7 }),
			intDef("views_30d", "product views in [as_of - 30d, as_of)", func(t *churnTarget) int64 { return t.v30 }),
			intDef("cart_adds_7d", "cart adds in [as_of - 7d, as_of)", func(t *churnTarget) int64 { return t.c7 }),
			intDef("cart_adds_30d", "cart adds in [as_of - 30d, as_of)", func(t *churnTarget) int64 { return t.c30 }),
			intDef("abandoned_carts_7d", "days of the last 7 with a cart add and no sale line", func(t *churnTarget) int64 {
				return int64(bits.OnesCount32(t.cartDays &^ t.saleDays & (1<<7 - 1)))
			}),
			intDef("abandoned_carts_30d", "days of the last 30 with a cart add and no sale line", func(t *churnTarget) int64 {
				return int64(bits.OnesCount32(t.cartDays &^ t.saleDays & (1<<30 - 1)))
			}),
		)
	}
	if loyalty {
		defs = append(defs, nullDef("loyalty_points", "double", "loyalty balance: the sum of ledger entries before as_of; null without any entry", func(t *churnTarget) (float64, bool) {
			return t.pts, t.hasPts
		}))
	}
	return defs
}

// churnTask is the churn task: one row per customer (per entity row with
// --entities), will they buy again within the horizon?
type churnTask struct{}

func (churnTask) defaults(o *Options) error {
	if o.Horizon.Days == 0 {
		o.Horizon = DefaultHorizon
	}
	if o.FeatureSet == "" {
		o.FeatureSet = SetChurn
	}
	if o.FeatureSet != SetChurn && o.FeatureSet != SetRFMAnchor {
		return fmt.Errorf("feature set %q: want %s or %s", o.FeatureSet, SetChurn, SetRFMAnchor)
	}
	return nil
}

func (churnTask) setup(p *plan) error {
	o := p.opts
	p.params.FeatureSet, p.params.Version = o.FeatureSet, churnVersion
	p.params.Events = p.in.events != nil && o.FeatureSet == SetChurn
	p.params.Loyalty = p.in.loyalty != nil && o.FeatureSet == SetChurn
	p.defs = churnDefs(o.FeatureSet, p.params.Events, p.params.Loyalty, o.Entities != nil)
	p.cols = []Column{{Name: "customer_id", Type: "string", Description: "customer identifier, as stored in the dataset", Role: "id"}}
	if o.Entities != nil {
		p.cols = append(p.cols, Column{Name: "as_of", Type: "timestamp", Description: "the row's cutoff: features use only facts strictly before it", Role: "id"})
	}
	for _, d := range p.defs {
		p.cols = append(p.cols, Column{Name: d.Name, Type: d.typ, Kind: d.Kind, Nullable: d.Nullable, Description: d.Description, Role: "feature"})
	}
	switch {
	case p.entityLabels:
		p.label, p.meaning = "label", "the label brought by the entity table"
	case o.Labels && o.FeatureSet == SetRFMAnchor:
		p.label, p.meaning = "label", fmt.Sprintf("1 when the customer has a sale line in [as_of, as_of + %s): 1 - churn", o.Horizon)
	case o.Labels:
		p.label, p.meaning = "churn", fmt.Sprintf("1 when the customer has no sale line in [as_of, as_of + %s)", o.Horizon)
	}
	if p.label != "" {
		p.cols = append(p.cols, Column{Name: p.label, Type: "int64", Description: p.meaning, Role: "label"})
	}
	return nil
}

func (churnTask) compute(ctx context.Context, c *computation, emit func([]outRow) error) (*Balance, error) {
	c.addEntityTargets()
	if err := c.scanOrders(ctx); err != nil {
		return nil, err
	}
	if err := c.scanActivity(ctx); err != nil {
		return nil, err
	}
	rows, bal := c.rows()
	return bal, emit(rows)
}
