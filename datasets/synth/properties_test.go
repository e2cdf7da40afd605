package synth

import (
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// readOrders reads every order line of a dataset.
func readOrders(t testing.TB, st datasets.Store, name string) []datasets.Order {
	t.Helper()
	ctx := context.Background()
	m, err := datasets.ReadManifest(ctx, st, name, "orders")
	if err != nil {
		t.Fatal(err)
	}
	var out []datasets.Order
	for _, p := range m.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.Orders, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

// TestDocumentedProperties checks, on a 100,000-customer history, the
// properties docs/GENERATOR.md promises, computed from the stored Parquet
// and the _latent/ truth.
func TestDocumentedProperties(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100,000 customers")
	}
	ctx := context.Background()
	st := newStore(t)
	const name = "props"
	o := Options{Name: name, Customers: 100_000, Seed: 42}
	start := time.Now()
	if _, err := Generate(ctx, st, o, StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated in %v", time.Since(start))
	orders := readOrders(t, st, name)
	truth, err := ReadTruth(ctx, st, name)
	if err != nil {
		t.Fatal(err)
	}
	latent := map[string]*LatentCustomer{}
	if err := ReadLatentCustomers(ctx, st, name, func(c *LatentCustomer) error { latent[c.CustomerID] = c; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(latent) != o.Customers {
		t.Fatalf("%d latent customers", len(latent))
	}
	end := o.withDefaults().End

	type cust struct {
		orders    map[string]bool
		lastSale  time.Time
		firstCat  map[string]time.Time // first sale per category
		saleTimes map[string][]time.Time
		first     time.Time
	}
	cs := map[string]*cust{}
	units := map[string]float64{}
	byWeekday := make([]int, 7)
	whUnits := map[string]map[string]float64{}
	seenOrder := map[string]bool{}
	for i := range orders {
		r := &orders[i]
		ts := datasets.FromMicros(r.Timestamp)
		if !ts.Before(end) || ts.Before(o.Start()) {
			t.Fatalf("line at %v outside the history", ts)
		}
		c := cs[r.CustomerID]
		if c == nil {
			c = &cust{orders: map[string]bool{}, firstCat: map[string]time.Time{}, saleTimes: map[string][]time.Time{}}
			cs[r.CustomerID] = c
		}
		if r.LineType != datasets.LineSale {
			if r.Quantity >= 0 || r.LineType != datasets.LineReturn {
				t.Fatalf("line %+v: a non-sale line must be a return with negative quantity", r)
			}
			continue
		}
		c.orders[r.OrderID] = true
		if c.first.IsZero() || ts.Before(c.first) {
			c.first = ts
		}
		if ts.After(c.lastSale) {
			c.lastSale = ts
		}
		if f, ok := c.firstCat[r.Category]; !ok || ts.Before(f) {
			c.firstCat[r.Category] = ts
		}
		c.saleTimes[r.Category] = append(c.saleTimes[r.Category], ts)
		units[r.ProductID] += r.Quantity
		if whUnits[r.Warehouse] == nil {
			whUnits[r.Warehouse] = map[string]float64{}
		}
		whUnits[r.Warehouse][r.ProductID] += r.Quantity
		if !seenOrder[r.OrderID] {
			seenOrder[r.OrderID] = true
			byWeekday[ts.Weekday()]++
		}
	}
	if len(cs) != o.Customers {
		t.Errorf("%d customers with lines, want %d", len(cs), o.Customers)
	}

	// Latent truth agrees with the data: order counts, no sale after
	// dropping out.
	bad := 0
	for id, c := range cs {
		l := latent[id]
		if l == nil || len(c.orders) != l.Orders || (!l.DropoutAt.IsZero() && c.lastSale.After(l.DropoutAt)) {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d customers disagree with _latent (orders or sales after dropout)", bad)
	}

	// One-time buyers: 30% to 60%.
	one := 0
	for _, c := range cs {
		if len(c.orders) == 1 {
			one++
		}
	}
	share := float64(one) / float64(len(cs))
	t.Logf("one-time buyers: %.3f", share)
	if share < 0.30 || share > 0.60 {
		t.Errorf("one-time buyer share %.3f, want 0.30..0.60", share)
	}

	// Popularity: the top 1% of the catalogue carries at least 20% of units.
	var all []float64
	var total float64
	for _, u := range units {
		all = append(all, u)
		total += u
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(all)))
	top := int(math.Ceil(0.01 * float64(truth.Products)))
	var topUnits float64
	for _, u := range all[:top] {
		topUnits += u
	}
	t.Logf("top 1%% (%d products): %.3f of units", top, topUnits/total)
	if topUnits/total < 0.20 {
		t.Errorf("top 1%% of products carry %.3f of units, want >= 0.20", topUnits/total)
	}

	// Bestsellers differ by warehouse.
	best := map[string]bool{}
	for _, m := range whUnits {
		bp, bu := "", 0.0
		for p, u := range m {
			if u > bu || (u == bu && p < bp) {
				bp, bu = p, u
			}
		}
		best[bp] = true
	}
	if len(best) < 2 {
		t.Errorf("every warehouse has the same bestseller")
	}

	// Weekly seasonality: the documented peak day has the most orders, by a
	// clear margin (10%) over the next.
	peak, second := -1, -1
	for d := range 7 {
		if peak < 0 || byWeekday[d] > byWeekday[peak] {
			peak, second = d, peak
		} else if second < 0 || byWeekday[d] > byWeekday[second] {
			second = d
		}
	}
	t.Logf("orders by weekday (Sunday first): %v", byWeekday)
	if time.Weekday(peak).String() != truth.WeeklyPeak || float64(byWeekday[peak]) < 1.1*float64(byWeekday[second]) {
		t.Errorf("weekly peak %v (%d orders, next %d), truth says %s", time.Weekday(peak), byWeekday[peak], byWeekday[second], truth.WeeklyPeak)
	}

	// Cross-sell: from each planted source, its target is the category with
	// the strongest lift: P(buy X within 90 days after the first source
	// purchase) over P(buy X within 90 days after a first order).
	const window = 90 * 24 * time.Hour
	boughtWithin := func(c *cust, cat string, after time.Time) bool {
		for _, ts := range c.saleTimes[cat] {
			if ts.After(after) && !ts.After(after.Add(window)) {
				return true
			}
		}
		return false
	}
	base := map[string]float64{}
	nbase := 0
	for _, c := range cs {
		if c.first.Add(window).After(end) {
			continue
		}
		nbase++
		for _, cat := range categories {
			if boughtWithin(c, cat.name, c.first) {
				base[cat.name]++
			}
		}
	}
	for _, x := range truth.CrossSell {
		hits := map[string]float64{}
		n := 0
		for _, c := range cs {
			ta, ok := c.firstCat[x.Source]
			if !ok || ta.Add(window).After(end) {
				continue
			}
			n++
			for _, cat := range categories {
				if boughtWithin(c, cat.name, ta) {
					hits[cat.name]++
				}
			}
		}
		bestCat, bestLift, targetLift := "", 0.0, 0.0
		for _, cat := range categories {
			if cat.name == x.Source || base[cat.name] == 0 {
				continue
			}
			lift := (hits[cat.name] / float64(n)) / (base[cat.name] / float64(nbase))
			if lift > bestLift {
				bestCat, bestLift = cat.name, lift
			}
			if cat.name == x.Target {
				targetLift = lift
			}
		}
		t.Logf("cross-sell %s -> %s: %d source buyers, lift %.2f (strongest: %s %.2f)", x.Source, x.Target, n, targetLift, bestCat, bestLift)
		if bestCat != x.Target || n < 100 {
			t.Errorf("from %s the strongest lift is %s (%.2f), not the planted %s (%.2f), over %d buyers", x.Source, bestCat, bestLift, x.Target, targetLift, n)
		}
	}

	// Promotions raise their product's sales at their warehouse(s): units
	// per day during the promotion against the 28 days before it.
	var during, before float64
	promoLines := 0
	for i := range orders {
		if orders[i].Promo != "" {
			promoLines++
		}
	}
	byProduct := map[string][]int{}
	for i := range orders {
		if orders[i].LineType == datasets.LineSale {
			byProduct[orders[i].ProductID] = append(byProduct[orders[i].ProductID], i)
		}
	}
	for _, p := range truth.Promotions {
		s, _ := time.Parse(time.DateOnly, p.Start)
		e, _ := time.Parse(time.DateOnly, p.End)
		if s.Before(o.Start().AddDate(0, 0, 28)) {
			continue
		}
		for _, i := range byProduct[p.ProductID] {
			r := &orders[i]
			if p.Warehouse != "" && r.Warehouse != p.Warehouse {
				continue
			}
			ts := datasets.FromMicros(r.Timestamp)
			switch {
			case !ts.Before(s) && ts.Before(e):
				during += r.Quantity / e.Sub(s).Hours()
			case !ts.Before(s.AddDate(0, 0, -28)) && ts.Before(s):
				before += r.Quantity / (28 * 24)
			}
		}
	}
	t.Logf("promotions: %d lines under a promotion; units/hour during %.2f, before %.2f", promoLines, during, before)
	if promoLines == 0 || during < 1.5*before {
		t.Errorf("promotions show no uplift: during %.2f, before %.2f", during, before)
	}

	// Consent truth matches the consent table's last record per channel.
	cm, err := datasets.ReadManifest(ctx, st, name, "consent")
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]bool{}
	for _, p := range cm.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.ConsentTable, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			last[r.CustomerID+"/"+r.Channel] = r.OptedIn // rows sorted by (customer, time)
		}
	}
	out := 0
	for id, l := range latent {
		for _, ch := range []string{"email", "sms"} {
			if last[id+"/"+ch] != l.OptedIn[ch] {
				t.Fatalf("%s %s: consent table says opted in %v, latent %v", id, ch, last[id+"/"+ch], l.OptedIn[ch])
			}
			if _, ok := l.OptedOutAt[ch]; ok {
				out++
			}
		}
	}
	if out == 0 {
		t.Error("no customer opted out")
	}
}
