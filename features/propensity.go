package features

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// TaskPropensity builds one row per customer and candidate item: will
// the customer buy the item within the horizon?
const TaskPropensity = "propensity"

// Levels of the propensity task: what an item is.
const (
	LevelProduct  = "product"
	LevelCategory = "category"
)

// Propensity defaults (docs/FEATURES.md).
var (
	// DefaultPropensityHorizon is the propensity label window.
	DefaultPropensityHorizon = datasets.Span{Days: 30}
)

const (
	// DefaultAssocK is how many items associated with a customer's own
	// items become candidates, and how many associations each item keeps.
	DefaultAssocK = 20
	// DefaultPopularK is how many of the items with the most distinct
	// buyers in the last 30 days become candidates for every customer.
	DefaultPopularK = 20
	// AssocMinSupport is the fewest baskets an item pair must share to
	// count as an association.
	AssocMinSupport = 2
	// AssocMaxBasket bounds the distinct items of a basket counted for
	// associations: larger baskets (wholesale orders) are left out of
	// the pair counts, which grow with the square of a basket's size.
	AssocMaxBasket = 50
)

// propensityVersion is the version of the propensity definitions.
const propensityVersion = 2

// LabelBought is the propensity label column.
const LabelBought = "bought"

// Candidates counts a propensity table's candidate rows, each by the
// first source that proposed it: the customer's own items, then the
// associations, then popularity.
type Candidates struct {
	Customers  int64 `json:"customers"`
	Own        int64 `json:"own"`
	Associated int64 `json:"associated"`
	Popular    int64 `json:"popular"`
	// With labels: the distinct (customer, item) purchases in the label
	// window by the table's customers, those that have a candidate row,
	// and their share (the candidate coverage).
	Purchases int64   `json:"purchases,omitempty"`
	Covered   int64   `json:"covered,omitempty"`
	Coverage  float64 `json:"coverage,omitempty"`
}

func (c *Candidates) add(o *Candidates) {
	if c == nil || o == nil {
		return
	}
	c.Customers += o.Customers
	c.Own += o.Own
	c.Associated += o.Associated
	c.Popular += o.Popular
	c.Purchases += o.Purchases
	c.Covered += o.Covered
}

func (c *Candidates) share() {
	if c != nil && c.Purchases > 0 {
		c.Coverage = float64(c.Covered) / float64(c.Purchases)
	}
}

// propensityTask is the propensity task.
type propensityTask struct{}

func (propensityTask) defaults(o *Options) error {
	if o.Horizon.Days == 0 {
		o.Horizon = DefaultPropensityHorizon
	}
	if o.FeatureSet != "" && o.FeatureSet != TaskPropensity {
		return datasets.Fieldf("FeatureSet", o.FeatureSet, "the propensity task has one feature set, %s", TaskPropensity)
	}
	o.FeatureSet = TaskPropensity
	switch o.Level {
	case "", LevelProduct, LevelCategory:
	default:
		return datasets.Fieldf("Level", o.Level, "want %s or %s", LevelProduct, LevelCategory)
	}
	for _, k := range []struct {
		field string
		v     *int
		def   int
	}{{"AssocK", &o.AssocK, DefaultAssocK}, {"PopularK", &o.PopularK, DefaultPopularK}} {
		switch {
		case *k.v == 0:
			*k.v = k.def
		case *k.v < -1 || *k.v > 1000:
			return datasets.Fieldf(k.field, strconv.Itoa(*k.v), "want 1 to 1000, or -1 for none")
		}
	}
	return nil
}

func hasColumn(m *datasets.Manifest, name string) bool { return slices.Contains(m.Columns, name) }

func (propensityTask) setup(p *plan) error {
	o := &p.opts
	if p.entities != nil {
		return &datasets.FieldError{Field: "Entities", Value: o.Task, Msg: "entity tables are for the churn task only"}
	}
	cats := p.in.products && hasColumn(p.in.orders, "category")
	if o.Level == "" {
		o.Level = LevelProduct
		if cats {
			o.Level = LevelCategory
		}
	}
	if o.Level == LevelCategory && !cats {
		return datasets.Fieldf("Level", o.Level, "needs a products table and a category column in the orders (dataset %s has none): use %s", o.Dataset, LevelProduct)
	}
	if o.Level == LevelProduct && !hasColumn(p.in.orders, "product_id") {
		return datasets.Fieldf("Level", o.Level, "the orders of dataset %s have no product_id column", o.Dataset)
	}
	p.params.FeatureSet, p.params.Version = TaskPropensity, propensityVersion
	p.params.Level, p.params.AssocK, p.params.PopularK = o.Level, o.AssocK, o.PopularK
	p.params.Events = p.in.events != nil
	p.cols = []Column{
		{Name: "customer_id", Type: "string", Description: "customer identifier, as stored in the dataset", Role: "id"},
		{Name: "item", Type: "string", Description: "the candidate item: a product_id (level product) or a category (level category)", Role: "id"},
	}
	for _, d := range propensityColumns(p.params.Events) {
		p.cols = append(p.cols, Column{Name: d.name, Type: d.typ, Kind: Numeric, Nullable: d.nullable, Description: d.desc, Role: "feature"})
	}
	if o.Labels {
		p.label, p.meaning = LabelBought, fmt.Sprintf("1 when the customer has a sale line of the item in [as_of, as_of + %s)", o.Horizon)
		p.cols = append(p.cols, Column{Name: p.label, Type: "int64", Description: p.meaning, Role: "label"})
	}
	return nil
}

// propDef is one propensity feature column.
type propDef struct {
	name, typ, desc string
	nullable        bool
}

// The propensity features, in column order (docs/FEATURES.md).
var propensityDefs = []propDef{
	{"cust_recency_days", "int64", "whole days from the customer's last order to as_of", false},
	{"cust_orders", "int64", "the customer's orders in the lookback", false},
	{"cust_spend", "double", "the customer's sales value in the lookback", false},
	{"cust_distinct_items", "int64", "distinct items the customer bought in the lookback", false},
	{"item_orders", "int64", "the customer's orders of the item in the lookback", false},
	{"item_days_since", "int64", "whole days from the customer's last order of the item to as_of; null when never bought in the lookback", true},
	{"item_spend_share", "double", "the customer's spend on the item over their spend in the lookback; null when that spend is not positive", true},
	{"item_cycle_days", "double", "the customer's repurchase cycle for the item: days from their first to their last order of it over (orders - 1); null with fewer than 2 orders", true},
	{"item_overdue", "double", "days since the customer's last order of the item over their cycle for it (above 1: overdue); null without a positive cycle", true},
	{"buyers_30d", "int64", "distinct customers who bought the item in [as_of - 30d, as_of)", false},
	{"buyers_90d", "int64", "distinct customers who bought the item in [as_of - 90d, as_of)", false},
	{"buyers_trend", "double", "(buyers in the last 30 days - buyers in the 30 before) / their sum; null when both are 0", true},
	{"mean_price", "double", "mean unit price (sales value / quantity) of the item's sale lines in the lookback; null without one", true},
	{"assoc_lift", "double", "the strongest lift of an association from an item the customer bought to this one (baskets in the lookback); null when none", true},
	{"assoc_score", "double", "the sum over the customer's items A of the confidence P(item | A) of the associations A -> item; 0 when none", false},
	{"item_orders_90d", "int64", "the customer's orders of the item in [as_of - 90d, as_of)", false},
}

// propensityEventDefs are the columns added when the dataset has an
// events table.
var propensityEventDefs = []propDef{
	{"item_views_7d", "int64", "the customer's views of the item in [as_of - 7d, as_of)", false},
	{"item_views_30d", "int64", "the customer's views of the item in [as_of - 30d, as_of)", false},
	{"item_cart_adds_7d", "int64", "the customer's cart adds of the item in [as_of - 7d, as_of)", false},
	{"item_cart_adds_30d", "int64", "the customer's cart adds of the item in [as_of - 30d, as_of)", false},
}

func propensityColumns(events bool) []propDef {
	if events {
		return append(slices.Clip(propensityDefs), propensityEventDefs...)
	}
	return propensityDefs
}

// propState is a propensity computation: global item statistics from
// every customer (so every shard sees the same), and the targets, the
// shard's customers with their per-item history.
type propState struct {
	c             *computation
	product       bool
	asOf, lb, end int64
	w30, w60, w90 int64
	custIdx       map[string]int32 // every customer with a sale in the lookback
	pop           map[uint64]uint8 // (customer, item): bit 0 last 30d, 1 the 30 before, 2 last 90d
	items         []itemStat       // by item symbol
	co            map[uint64]int32 // (item a < item b): baskets with both
	baskets       int64
	targets       []propTarget
	targetOf      map[string]int32
	stats         []ciStat
	statOf        map[uint64]int32 // (target, item) -> stats index
	events        bool
	w7            int64
	ev            map[uint64][4]int32 // (target, item): views 7d, 30d, cart adds 7d, 30d
	future        map[uint64]bool     // (target, item) bought in the label window
	// scratch of the basket being added (group)
	lines                         []basketLine
	vals                          []float64
	basket                        []int32
	itemSpend, priceVal, priceQty []float64
	spend                         float64
	assoc                         [][]assocEdge // by item symbol, strongest first
	popular                       []int32
	skipID                        map[string]bool
}

type itemStat struct {
	baskets               int32
	b30, bPrev30, b90     int32
	priceSum, priceWeight float64
}

type propTarget struct {
	cust   string
	nOrd   int64
	last   int64
	spend  float64
	stats  []int32
	future int32
}

type ciStat struct {
	item        int32
	orders      int32
	orders90    int32
	first, last int64
	spend       float64
}

type assocEdge struct {
	item       int32
	conf, lift float64
	n          int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// compute computes the global statistics and the targets' histories,
// then emits the rows customer by customer: a million customers'
// candidate rows never sit in memory at once.
func (propensityTask) compute(ctx context.Context, c *computation, emit func([]outRow) error) (*Balance, error) {
	p := c.p
	o := p.opts
	cu := p.cutoffs[0]
	before := func(days int) int64 { return p.asOfTime.In(p.loc).AddDate(0, 0, -days).UnixMicro() }
	s := &propState{c: c, product: o.Level == LevelProduct, asOf: cu.asOf, lb: cu.lb, end: cu.asOf,
		w30: cu.w30, w60: max(before(60), cu.lb), w90: cu.w90,
		custIdx: map[string]int32{}, pop: map[uint64]uint8{}, co: map[uint64]int32{},
		targetOf: map[string]int32{}, statOf: map[uint64]int32{}, future: map[uint64]bool{}}
	if o.Labels {
		s.end = cu.labelEnd
	}
	sc := &scanner{st: c.st, src: srcOrders, need: need{productSyms: s.product}, syms: c.syms, lo: s.lb, hi: s.end}
	if err := sc.scan(ctx, p.in.orders, s.add); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.params.Events {
		s.events, s.w7, s.ev = true, cu.w7, map[uint64][4]int32{}
		esc := &scanner{st: c.st, src: srcEvents, need: need{productSyms: true}, syms: c.syms, lo: cu.w30, hi: cu.asOf, keep: c.keep}
		if err := esc.scan(ctx, p.in.events, s.addEvents); err != nil {
			return nil, err
		}
	}
	// The scans are done: what only they needed goes before the rows.
	s.custIdx, s.targetOf, s.statOf, s.skipID = nil, nil, nil, nil
	s.globals(o.AssocK, o.PopularK)
	bal, cands, err := s.rows(ctx, o.AssocK, o.Labels, emit)
	if err != nil {
		return nil, err
	}
	p.candidates = cands
	return bal, nil
}

// addEvents counts a target's views and cart adds per item in the last
// 30 days.
func (s *propState) addEvents(cust []byte, lines []line) error {
	ti, ok := s.targetOf[string(cust)]
	if !ok {
		return nil
	}
	c := s.c
	for i := range lines {
		l := &lines[i]
		var k int
		switch l.kind {
		case c.viewSym:
			k = 0
		case c.cartSym:
			k = 2
		default:
			continue
		}
		it := s.itemOf(l)
		if it < 0 || l.ts >= s.asOf {
			continue
		}
		key := pairKey(ti, it)
		v := s.ev[key]
		v[k+1]++
		if l.ts >= s.w7 {
			v[k]++
		}
		s.ev[key] = v
	}
	return nil
}

// itemOf returns a line's item symbol, or -1.
func (s *propState) itemOf(l *line) int32 {
	if s.product {
		if l.prod == 0 {
			return -1
		}
		return int32(l.prod - 1)
	}
	return l.cat
}

func (s *propState) item(id int32) *itemStat {
	for int(id) >= len(s.items) {
		s.items = append(s.items, itemStat{})
	}
	return &s.items[id]
}

// add folds one customer's lines of a month in, basket by basket (the
// lines of one order at one instant).
func (s *propState) add(cust []byte, lines []line) error {
	c := s.c
	ci, known := s.custIdx[string(cust)]
	ti := int32(-1)
	if known {
		if t, ok := s.targetOf[string(cust)]; ok {
			ti = t
		}
	}
	for i := 0; i < len(lines); {
		j := i + 1
		for j < len(lines) && lines[j].ts == lines[i].ts && lines[j].ord == lines[i].ord {
			j++
		}
		b := lines[i:j]
		ts := b[0].ts
		i = j
		if ts >= s.asOf {
			if ti < 0 || ts >= s.end {
				continue
			}
			for k := range b {
				if b[k].kind != c.saleSym {
					continue
				}
				if it := s.itemOf(&b[k]); it >= 0 {
					s.future[pairKey(ti, it)] = true
				}
			}
			continue
		}
		if ts < s.lb {
			continue
		}
		s.lines, s.vals = s.lines[:0], s.vals[:0]
		for k := range b {
			l := &b[k]
			if l.kind != c.saleSym {
				continue
			}
			if l.ok {
				s.vals = append(s.vals, l.val)
			}
			if it := s.itemOf(l); it >= 0 {
				s.lines = append(s.lines, basketLine{item: it, val: l.val, qty: l.qty, ok: l.ok})
			}
		}
		if len(s.lines) == 0 {
			continue
		}
		if !known {
			id := string(cust)
			if s.skipID[id] || c.forgotten(id) {
				if s.skipID == nil {
					s.skipID = map[string]bool{}
				}
				s.skipID[id] = true
				return nil
			}
			known, ci = true, int32(len(s.custIdx))
			s.custIdx[id] = ci
			if c.keep == nil || c.keep(cust) {
				ti = int32(len(s.targets))
				s.targets = append(s.targets, propTarget{cust: id})
				s.targetOf[id] = ti
			}
		}
		s.group()
		s.addBasket(ci, ts)
		if ti >= 0 {
			s.addTargetBasket(ti, ts)
		}
	}
	return nil
}

// basketLine is a sale line of the basket being added.
type basketLine struct {
	item     int32
	val, qty float64
	ok       bool
}

// group sums the basket's lines by item into s.basket (distinct items)
// and s.itemSpend, s.priceVal, s.priceQty (per item), and its value into
// s.spend. Sums run over values in sorted order: the interning order of
// item symbols (which varies with the data's layout) never changes a bit.
func (s *propState) group() {
	slices.Sort(s.vals)
	s.spend = 0
	for _, v := range s.vals {
		s.spend += v
	}
	slices.SortFunc(s.lines, func(a, b basketLine) int {
		if c := cmp.Compare(a.item, b.item); c != 0 {
			return c
		}
		if c := cmp.Compare(a.val, b.val); c != 0 {
			return c
		}
		return cmp.Compare(a.qty, b.qty)
	})
	s.basket, s.itemSpend, s.priceVal, s.priceQty = s.basket[:0], s.itemSpend[:0], s.priceVal[:0], s.priceQty[:0]
	for i, l := range s.lines {
		if i == 0 || l.item != s.lines[i-1].item {
			s.basket = append(s.basket, l.item)
			s.itemSpend, s.priceVal, s.priceQty = append(s.itemSpend, 0), append(s.priceVal, 0), append(s.priceQty, 0)
		}
		k := len(s.basket) - 1
		if l.ok {
			s.itemSpend[k] += l.val
			if l.qty > 0 {
				s.priceVal[k] += l.val
				s.priceQty[k] += l.qty
			}
		}
	}
}

// addBasket adds a basket of the lookback to the global statistics.
func (s *propState) addBasket(ci int32, ts int64) {
	var bits uint8
	if ts >= s.w30 {
		bits |= 1
	} else if ts >= s.w60 {
		bits |= 2
	}
	if ts >= s.w90 {
		bits |= 4
	}
	for k, it := range s.basket {
		is := s.item(it)
		is.baskets++
		is.priceSum += s.priceVal[k]
		is.priceWeight += s.priceQty[k]
		if bits != 0 {
			s.pop[pairKey(ci, it)] |= bits
		}
	}
	s.baskets++
	if len(s.basket) <= AssocMaxBasket {
		for x := 0; x < len(s.basket); x++ {
			for y := x + 1; y < len(s.basket); y++ {
				s.co[pairKey(s.basket[x], s.basket[y])]++
			}
		}
	}
}

// addTargetBasket adds the grouped basket to a target's history.
func (s *propState) addTargetBasket(ti int32, ts int64) {
	t := &s.targets[ti]
	t.nOrd++
	t.last = ts
	t.spend += s.spend
	for j, it := range s.basket {
		k := pairKey(ti, it)
		si, ok := s.statOf[k]
		if !ok {
			si = int32(len(s.stats))
			s.stats = append(s.stats, ciStat{item: it, first: ts})
			s.statOf[k] = si
			t.stats = append(t.stats, si)
		}
		st := &s.stats[si]
		st.orders++
		st.last = ts
		if ts >= s.w90 {
			st.orders90++
		}
		st.spend += s.itemSpend[j]
	}
}

// globals finishes the global statistics: buyers per window, the popular
// items, and each item's strongest associations.
func (s *propState) globals(assocK, popularK int) {
	for k, bits := range s.pop {
		it := s.item(int32(uint32(k)))
		if bits&1 != 0 {
			it.b30++
		}
		if bits&2 != 0 {
			it.bPrev30++
		}
		if bits&4 != 0 {
			it.b90++
		}
	}
	s.pop = nil
	name := s.c.syms.Name
	if popularK > 0 {
		for i := range s.items {
			if s.items[i].b30 > 0 {
				s.popular = append(s.popular, int32(i))
			}
		}
		slices.SortFunc(s.popular, func(a, b int32) int {
			x, y := &s.items[a], &s.items[b]
			if c := cmp.Compare(y.b30, x.b30); c != 0 {
				return c
			}
			if c := cmp.Compare(y.b90, x.b90); c != 0 {
				return c
			}
			return strings.Compare(name(a), name(b))
		})
		s.popular = s.popular[:min(len(s.popular), popularK)]
	}
	s.assoc = make([][]assocEdge, len(s.items))
	if assocK > 0 {
		n := float64(s.baskets)
		for k, nab := range s.co {
			if nab < AssocMinSupport {
				continue
			}
			a, b := int32(k>>32), int32(uint32(k))
			na, nb := float64(s.items[a].baskets), float64(s.items[b].baskets)
			lift := float64(nab) * n / (na * nb)
			s.assoc[a] = append(s.assoc[a], assocEdge{item: b, conf: float64(nab) / na, lift: lift, n: nab})
			s.assoc[b] = append(s.assoc[b], assocEdge{item: a, conf: float64(nab) / nb, lift: lift, n: nab})
		}
		for i, es := range s.assoc {
			slices.SortFunc(es, func(x, y assocEdge) int {
				if c := cmp.Compare(y.n, x.n); c != 0 {
					return c
				}
				if c := cmp.Compare(y.lift, x.lift); c != 0 {
					return c
				}
				return strings.Compare(name(x.item), name(y.item))
			})
			s.assoc[i] = slices.Clip(es[:min(len(es), assocK)])
		}
	}
	s.co = nil
}

// Purchases returns, for a propensity table, the distinct items each of
// its customers bought in the label window [as_of, as_of + horizon), at
// the table's level, sorted: the truth a ranking is measured against,
// including the items that had no candidate row. Customers without a
// purchase in the window are left out.
func Purchases(ctx context.Context, st datasets.Store, m *Manifest, horizon datasets.Span) (map[string][]string, error) {
	if m.Task != TaskPropensity || m.AsOfTime == nil {
		return nil, fmt.Errorf("purchases: %s is not a propensity table with an as_of", m.Key())
	}
	in, err := readInputs(ctx, st, m.Dataset)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(m.TZ)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	err = Rows(ctx, st, m, func(row []any) error {
		if id, ok := row[0].(string); ok {
			ids[id] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	syms := datasets.NewSymbols()
	sale := syms.ID([]byte(datasets.LineSale))
	product := m.Params.Level == LevelProduct
	from := m.AsOfTime.UnixMicro()
	to := m.AsOfTime.In(loc).AddDate(0, 0, horizon.Days).UnixMicro()
	seen := map[string]map[int32]bool{}
	sc := &scanner{st: st, src: srcOrders, need: need{productSyms: product}, syms: syms, lo: from, hi: to}
	err = sc.scan(ctx, in.orders, func(cust []byte, lines []line) error {
		if !ids[string(cust)] {
			return nil
		}
		set := seen[string(cust)]
		for i := range lines {
			l := &lines[i]
			if l.kind != sale {
				continue
			}
			it := l.cat
			if product {
				it = int32(l.prod) - 1
			}
			if it < 0 {
				continue
			}
			if set == nil {
				set = map[int32]bool{}
				seen[string(cust)] = set
			}
			set[it] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(seen))
	for id, set := range seen {
		names := make([]string, 0, len(set))
		for it := range set {
			names = append(names, syms.Name(it))
		}
		slices.Sort(names)
		out[id] = names
	}
	return out, nil
}
