package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// offersTable is the offers publication's table ([offers]): a customer's
// next-best items, one row per customer and rank.
const offersTable = "offers"

var offerCols = []string{"customer_id", "rank", "item", "level", "probability"}

// offer is one row of the offers table.
type offer struct {
	customer, item, level string
	rank                  int
	p                     float64
}

func readOffers(ctx context.Context, p *Publication, prev bool) ([]offer, []string, error) {
	m := p.Manifest
	if prev {
		m = p.Previous
	}
	table := ""
	if hasTable(m, offersTable) {
		table = offersTable
	}
	rows, missing, err := readColumns(ctx, p, m, table, offerCols)
	if err != nil {
		return nil, nil, err
	}
	out := make([]offer, len(rows))
	for i, r := range rows {
		out[i] = offer{customer: str(r[0]), rank: int(num(r[1])), item: str(r[2]), level: str(r[3]), p: num(r[4])}
	}
	return out, missing, nil
}

// offersSections: what was offered (customers, offers per customer, the
// most offered items), the probability by rank, the strongest offers,
// and how the first offers changed since the previous publication.
func offersSections(ctx context.Context, p *Publication) ([]Section, error) {
	cur, missing, err := readOffers(ctx, p, false)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return []Section{{ID: "offers", Title: "Offers", Blocks: []Block{{Note: "The offers table has no column " + strings.Join(missing, ", ") + ": no offer sections."}}}}, nil
	}
	items, err := offeredItems(p, cur)
	if err != nil {
		return nil, err
	}
	ranks, err := offerRanks(cur)
	if err != nil {
		return nil, err
	}
	out := []Section{items, ranks, topOffers(p, cur)}
	if p.Previous != nil {
		prev, missing, err := readOffers(ctx, p, true)
		if err != nil {
			return nil, err
		}
		if len(missing) == 0 {
			out = append(out, offerChanges(p, cur, prev))
		}
	}
	return out, nil
}

type itemCount struct {
	item, level string
	customers   int
	first       int
	sumP        float64
}

func countItems(rows []offer) []*itemCount {
	by := map[string]*itemCount{}
	for _, o := range rows {
		c := by[o.item]
		if c == nil {
			c = &itemCount{item: o.item, level: o.level}
			by[o.item] = c
		}
		c.customers++
		c.sumP += o.p
		if o.rank == 1 {
			c.first++
		}
	}
	out := make([]*itemCount, 0, len(by))
	for _, c := range by {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].customers != out[j].customers {
			return out[i].customers > out[j].customers
		}
		return out[i].item < out[j].item
	})
	return out
}

func offeredItems(p *Publication, rows []offer) (Section, error) {
	customers := map[string]bool{}
	for _, o := range rows {
		customers[o.customer] = true
	}
	items := countItems(rows)
	facts := []Fact{{"Customers with offers", Int(int64(len(customers)))}, {"Offers", Int(int64(len(rows)))},
		{"Offers per customer (mean)", Num(float64(len(rows))/float64(max(1, len(customers))), 1)}, {"Distinct items offered", Int(int64(len(items)))}}
	shown := items[:min(15, len(items))]
	t := &Table{Caption: fmt.Sprintf("The %d most offered items", len(shown)), Head: []string{"Item", "Level", "Customers offered", "Share of customers", "Offered first", "Mean probability"},
		Numeric: []bool{false, false, true, true, true, true}}
	cats := make([]string, len(shown))
	anyRank, first := Bars{Name: "offered at any rank"}, Bars{Name: "offered first"}
	for i, c := range shown {
		t.Rows = append(t.Rows, []string{c.item, c.level, Int(int64(c.customers)), Pct(float64(c.customers)/float64(max(1, len(customers))), 1), Int(int64(c.first)), Pct(c.sumP/float64(c.customers), 1)})
		cats[i] = c.item
		anyRank.Values = append(anyRank.Values, float64(c.customers))
		first.Values = append(first.Values, float64(c.first))
	}
	blocks := []Block{{Facts: facts}}
	if len(shown) > 0 {
		svg, err := BarChart(Chart{Title: "Most offered items", X: "item", Y: "customers"}, cats, []Bars{anyRank, first})
		if err != nil {
			return Section{}, err
		}
		blocks = append(blocks, Block{Figures: []Figure{{ID: "offers-items", Caption: "Customers offered each item, at any rank and first.", SVG: svg}}})
	}
	blocks = append(blocks, Block{Table: t})
	return Section{ID: "offers", Title: "What is offered", Blocks: blocks}, nil
}

func offerRanks(rows []offer) (Section, error) {
	sum, n := map[int]float64{}, map[int]int{}
	for _, o := range rows {
		sum[o.rank] += o.p
		n[o.rank]++
	}
	var ranks []int
	for r := range n {
		ranks = append(ranks, r)
	}
	sort.Ints(ranks)
	s := Series{Name: "mean probability", Points: true}
	t := &Table{Caption: "Purchase probability by rank", Head: []string{"Rank", "Offers", "Mean probability"}, Numeric: []bool{true, true, true}}
	for _, r := range ranks {
		m := sum[r] / float64(n[r])
		s.X, s.Y = append(s.X, float64(r)), append(s.Y, m)
		t.Rows = append(t.Rows, []string{Int(int64(r)), Int(int64(n[r])), Pct(m, 1)})
	}
	blocks := []Block{{Text: "The mean predicted probability that the customer buys the item within the horizon, by its rank among the customer's offers."}}
	if len(ranks) > 0 {
		svg, err := LineChart(Chart{Title: "Purchase probability by rank", X: "rank among the customer's offers", Y: "mean probability of purchase", YMin: 0, YMax: maxOf(s.Y) * 1.15, PercentY: true}, []Series{s})
		if err != nil {
			return Section{}, err
		}
		blocks = append(blocks, Block{Figures: []Figure{{ID: "offers-ranks", Caption: "Mean probability per rank.", SVG: svg}}})
	}
	blocks = append(blocks, Block{Table: t})
	return Section{ID: "offers-ranks", Title: "Probability by rank", Level: 2, Blocks: blocks}, nil
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	if m == 0 {
		return 1
	}
	return m
}

func topOffers(p *Publication, rows []offer) Section {
	top := make([]offer, len(rows))
	copy(top, rows)
	sort.SliceStable(top, func(i, j int) bool {
		if top[i].p != top[j].p {
			return top[i].p > top[j].p
		}
		return top[i].customer+"\x00"+top[i].item < top[j].customer+"\x00"+top[j].item
	})
	top = top[:min(p.Top, len(top))]
	t := &Table{Caption: fmt.Sprintf("The %d offers most likely to convert", len(top)), Head: []string{"Customer", "Rank", "Item", "Level", "Probability"}, Numeric: []bool{false, true, false, false, true}}
	for _, o := range top {
		t.Rows = append(t.Rows, []string{o.customer, Int(int64(o.rank)), o.item, o.level, Pct(o.p, 1)})
	}
	return Section{ID: "offers-top", Title: "Strongest offers", Level: 2, Blocks: []Block{{Table: t}}}
}

// offerChanges compares each customer's first offer with the previous
// publication's, and the items most offered in each.
func offerChanges(p *Publication, cur, prev []offer) Section {
	firstOf := func(rows []offer) map[string]string {
		m := map[string]string{}
		for _, o := range rows {
			if o.rank == 1 {
				m[o.customer] = o.item
			}
		}
		return m
	}
	fc, fp := firstOf(cur), firstOf(prev)
	var both, changed, added, gone int
	for c, it := range fc {
		if pit, ok := fp[c]; ok {
			both++
			if pit != it {
				changed++
			}
		} else {
			added++
		}
	}
	for c := range fp {
		if _, ok := fc[c]; !ok {
			gone++
		}
	}
	ci, pi := countItems(cur), countItems(prev)
	rank := func(list []*itemCount) map[string]int {
		m := map[string]int{}
		for i, c := range list[:min(15, len(list))] {
			m[c.item] = i + 1
		}
		return m
	}
	rc, rp := rank(ci), rank(pi)
	var entered, left []string
	for _, c := range ci[:min(15, len(ci))] {
		if rp[c.item] == 0 {
			entered = append(entered, c.item)
		}
	}
	for _, c := range pi[:min(15, len(pi))] {
		if rc[c.item] == 0 {
			left = append(left, c.item)
		}
	}
	facts := []Fact{{"First offer changed", Pct(float64(changed)/float64(max(1, both)), 1) + " of " + Int(int64(both))}, {"New customers", Int(int64(added))}, {"No longer offered anything", Int(int64(gone))}}
	blocks := []Block{{Text: "Each customer's first offer against the previous publication (as of " + p.Previous.AsOf + "), and the items that entered or left the 15 most offered."}, {Facts: facts}}
	list := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	blocks = append(blocks, Block{Text: "Entered the most offered: " + list(entered) + ". Left it: " + list(left) + "."})
	return Section{ID: "offers-changes", Title: "What changed since " + p.Previous.AsOf, Level: 2, Blocks: blocks}
}
