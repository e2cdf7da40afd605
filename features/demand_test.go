package features

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// demandHistory makes sales of 20 products in two warehouses over
// histStart..histEnd: repeat customers, anonymous lines, returns, promo
// lines and fees.
func demandHistory(seed uint64) *history {
	r := rand.New(rand.NewPCG(seed, 11))
	h := &history{}
	span := histEnd.Sub(histStart)
	at := func() time.Time { return histStart.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second) }
	for n := 0; n < 3000; n++ {
		p := r.IntN(20)
		p = p * p / 20 // a few bestsellers
		o := datasets.Order{OrderID: fmt.Sprintf("O%d", n), Timestamp: at().UnixMicro(), ProductID: fmt.Sprintf("P%02d", p),
			Quantity: float64(1 + r.IntN(4)), UnitPrice: ptr(float64(100+r.IntN(900)) / 100), Warehouse: []string{"W1", "W2"}[r.IntN(2)], LineType: datasets.LineSale}
		if r.IntN(4) != 0 {
			o.CustomerID = fmt.Sprintf("C%03d", r.IntN(80))
		}
		if r.IntN(6) == 0 {
			o.Promo = "SPRING"
		}
		h.orders = append(h.orders, o)
		if r.IntN(15) == 0 {
			ret := o
			ret.OrderID, ret.Quantity, ret.Timestamp, ret.LineType = "C"+o.OrderID, -1, o.Timestamp+3*microsPerDay, datasets.LineReturn
			h.orders = append(h.orders, ret)
		}
		if r.IntN(20) == 0 {
			h.orders = append(h.orders, datasets.Order{CustomerID: o.CustomerID, OrderID: o.OrderID, Timestamp: o.Timestamp, ProductID: "POST", Quantity: 1, UnitPrice: ptr(5), LineType: datasets.LineFee})
		}
	}
	return h
}

// TestDemandFutureLeak: adding, changing or deleting any order line at or
// after as_of leaves every feature of every series and step unchanged,
// bit for bit; labels move. The rows are the same under other part
// boundaries.
func TestDemandFutureLeak(t *testing.T) {
	st := newStore(t)
	base := demandHistory(1)
	base.write(t, st, "base", 500)
	o := Options{Dataset: "base", Task: TaskDemand, AsOf: "2024-03-01", Labels: true}
	want := tableRows(t, st, mustBuild(t, st, o).Manifest)
	if len(want) < 100 {
		t.Fatalf("only %d rows", len(want))
	}
	wantF := withoutLabel(want, "units")
	r := rand.New(rand.NewPCG(2, 3))
	asOf := asOfTest.UnixMicro()
	future := func() int64 { return asOf + r.Int64N(histEnd.UnixMicro()-asOf) }
	labelsMoved := false
	for trial := 0; trial < 10; trial++ {
		h := base.clone()
		var what string
		switch trial % 5 {
		case 0:
			c := h.orders[r.IntN(len(h.orders))]
			c.Timestamp, c.OrderID = asOf+r.Int64N(28*microsPerDay), "new"
			h.orders = append(h.orders, c)
			what = "add sale"
		case 1:
			h.orders = append(h.orders, datasets.Order{Timestamp: future(), ProductID: "P01", Warehouse: "W1", Quantity: 50, UnitPrice: ptr(1), LineType: datasets.LineSale},
				datasets.Order{CustomerID: "C001", Timestamp: future(), ProductID: "P00", Warehouse: "W2", Quantity: -3, UnitPrice: ptr(1), LineType: datasets.LineReturn})
			what = "add anonymous sale and a return"
		case 2:
			idx := futureIndex(r, h.orders, asOf, func(o datasets.Order) int64 { return o.Timestamp })
			h.orders[idx].Quantity *= 7
			h.orders[idx].Promo = "X"
			what = "change line"
		case 3:
			h.orders = slices.DeleteFunc(h.orders, func(o datasets.Order) bool { return o.Timestamp >= asOf && r.IntN(2) == 0 })
			what = "delete lines"
		case 4:
			h.orders = append(h.orders, datasets.Order{CustomerID: "NEW", Timestamp: asOf, ProductID: "PNEW", Warehouse: "W9", Quantity: 1, UnitPrice: ptr(1), LineType: datasets.LineSale})
			what = "a new product at as_of"
		}
		name := fmt.Sprintf("t%d", trial)
		h.write(t, st, name, 300+trial*41)
		o.Dataset = name
		got := tableRows(t, st, mustBuild(t, st, o).Manifest)
		gotF := withoutLabel(got, "units")
		if len(gotF) != len(wantF) {
			t.Fatalf("trial %d (%s): %d rows, want %d", trial, what, len(gotF), len(wantF))
		}
		for k, v := range wantF {
			if gotF[k] != v {
				t.Fatalf("trial %d (%s): series %s features moved:\n got %s\nwant %s", trial, what, k, gotF[k], v)
			}
		}
		for k, v := range want {
			if got[k] != v {
				labelsMoved = true
			}
		}
	}
	if !labelsMoved {
		t.Error("no future change moved any label")
	}
}

// TestDemandShards: builds split by product into 3 shards give the same
// rows, bit for bit.
func TestDemandShards(t *testing.T) {
	st := newStore(t)
	demandHistory(5).write(t, st, "d", 211)
	ctx := context.Background()
	o := Options{Dataset: "d", Task: TaskDemand, AsOf: "2024-03-01", Labels: true, TopProducts: 12}
	ref := tableRows(t, st, mustBuild(t, st, o).Manifest)
	n := 3
	var spec string
	for i := 0; i < n; i++ {
		oo := o
		oo.Shard, oo.Shards, oo.Force = i, n, true
		spec = mustBuild(t, st, oo).Spec
	}
	m, err := Commit(ctx, st, "d", TaskDemand, "2024-03-01", spec, n, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := tableRows(t, st, m)
	if len(got) != len(ref) || len(ref) == 0 {
		t.Fatalf("%d rows, want %d", len(got), len(ref))
	}
	for k, v := range ref {
		if got[k] != v {
			t.Fatalf("row %s differs:\n got %s\nwant %s", k, got[k], v)
		}
	}
}

// TestDemandTopProducts: --top-products keeps the products with the most
// units sold before as_of over the whole history (counted here from the
// orders themselves), and their rows are the rows the build of every
// product gives them, bit for bit: the first pass that selects them and
// the lookback's scan that keeps only their series change no value.
func TestDemandTopProducts(t *testing.T) {
	st := newStore(t)
	h := demandHistory(7)
	h.write(t, st, "d", 211)
	asOf := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	units := map[string]float64{}
	for _, o := range h.orders {
		if o.LineType == datasets.LineSale && o.Timestamp < asOf {
			units[o.ProductID] += o.Quantity
		}
	}
	ids := slices.Collect(maps.Keys(units))
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(units[b], units[a]), strings.Compare(a, b)) })
	top := 6
	want := map[string]bool{}
	for _, id := range ids[:top] {
		want[id] = true
	}
	// A lookback shorter than the history: the ranks read further back
	// than the series, and a series may have no sale in the lookback.
	o := Options{Dataset: "d", Task: TaskDemand, AsOf: "2024-03-01", Labels: true, Lookback: datasets.Span{Days: 182}}
	lb := asOf - 182*microsPerDay
	inLookback := map[string]bool{}
	for _, o := range h.orders {
		if o.LineType == datasets.LineSale && o.Timestamp >= lb && o.Timestamp < asOf {
			inLookback[o.ProductID+"|"+o.Warehouse] = true
		}
	}
	all := tableRows(t, st, mustBuild(t, st, o).Manifest)
	o.TopProducts = top
	sel := tableRows(t, st, mustBuild(t, st, o).Manifest)
	got := map[string]bool{}
	for k, v := range sel {
		f := strings.Split(k, "|")
		got[f[0]] = true
		w, ok := all[k]
		if !ok && !inLookback[f[0]+"|"+f[1]] {
			continue // sold before the lookback only: a series of the top products, not of every product's build
		}
		if !ok || w != v {
			t.Fatalf("row %s of the top %d differs from the build of every product:\n got %s\nwant %s", k, top, v, w)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("top %d products %v, want %v", top, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

// TestDemandDefinitions: a hand-made history, every value checked by hand.
// Weekly periods from as_of 2024-03-01 (a Friday): period -1 is
// [02-23, 03-01), step 1 is [03-01, 03-08).
func TestDemandDefinitions(t *testing.T) {
	st := newStore(t)
	day := func(m time.Month, d int) int64 { return time.Date(2024, m, d, 12, 0, 0, 0, time.UTC).UnixMicro() }
	sale := func(cust, prod, wh string, ts int64, q, price float64) datasets.Order {
		return datasets.Order{CustomerID: cust, Timestamp: ts, ProductID: prod, Warehouse: wh, Quantity: q, UnitPrice: ptr(price), LineType: datasets.LineSale}
	}
	h := &history{orders: []datasets.Order{
		sale("A", "P1", "W1", day(2, 24), 2, 10), // period -1
		sale("", "P1", "W1", day(2, 25), 3, 10),  // anonymous, period -1
		sale("A", "P1", "W1", day(2, 10), 1, 5),  // period -3: A's gap is 14 days
		sale("B", "P1", "W2", day(1, 5), 4, 2),   // another warehouse
		sale("B", "P2", "W1", day(2, 1), 100, 1), // most units: rank 1
		sale("A", "P1", "W1", day(3, 2), 6, 10),  // step 1: label
		sale("A", "P1", "W1", day(3, 20), 1, 10), // step 3: label
		{CustomerID: "A", Timestamp: day(2, 26), ProductID: "P1", Warehouse: "W1", Quantity: -1, UnitPrice: ptr(10), LineType: datasets.LineReturn},
		sale("C", "P3", "W1", day(4, 30), 1, 1), // the data's end
	}}
	h.write(t, st, "d", 100)
	o := Options{Dataset: "d", Task: TaskDemand, AsOf: "2024-03-01", Labels: true}
	r := mustBuild(t, st, o)
	fr, err := ReadFrame(context.Background(), st, r.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.IDs) != 3*4 { // P1/W1, P1/W2, P2/W1, 4 steps each
		t.Fatalf("%d rows: %v %v", len(fr.IDs), fr.IDs, fr.Keys)
	}
	get := func(row int, name string) (float64, bool) {
		j := fr.Schema.Index(name)
		return fr.Values[j][row], fr.Valid[j][row]
	}
	// Rows: P1/W1 steps 1-4 first.
	if fr.IDs[0] != "P1" || fr.Keys[0][0] != "W1" || fr.Ints[0][0] != 1 || fr.Ints[0][3] != 4 || fr.Keys[0][4] != "W2" {
		t.Fatalf("row order: %v %v %v", fr.IDs, fr.Keys, fr.Ints)
	}
	checks := []struct {
		row  int
		name string
		want float64
		ok   bool
	}{
		{0, "log_units_1", math.Log1p(5), true}, // the anonymous line counts
		{0, "log_units_4", math.Log1p(6), true},
		{0, "log_mean_4", math.Log1p(1.5), true},
		{0, "periods_since_sale", 0, true},
		{0, "zero_share", 1.0 / 3, true},                // periods -3..-1: one without a sale
		{0, "log_buyers_13", math.Log1p(1), true},       // A only (the anonymous line is nobody)
		{0, "return_rate_13", 1.0 / 6, true},            // 1 returned of 6 sold
		{0, "log_mean_price", math.Log(55.0 / 6), true}, // (20+30+5)/6
		{1, "log_due_buyers", math.Log1p(1), true},      // A: 02-24 + 14d = 03-09, step 2
		{0, "log_due_buyers", 0, true},                  // nobody due in step 1
		{0, "log_last_year", 0, false},                  // period -52 is before the data's first day (01-05)
		{0, "log_mean_13", 0, false},                    // so are periods -13..-9
		{0, "log_units_52", 0, false},
		{0, "step_ahead", 1, true},
		{2, "step_ahead", 3, true},
		{4, "periods_since_sale", 7, true}, // P1/W2: 01-05 is in period -8
		{8, "log_units_4", 0, true},        // P2's sale (02-01) is in period -5
		{8, "cv_4", 0, false},              // mean 0
		{8, "log_mean_4", 0, true},
		{8, "periods_since_sale", 4, true},
	}
	for _, c := range checks {
		got, ok := get(c.row, c.name)
		if ok != c.ok || ok && math.Abs(got-c.want) > 1e-12 {
			t.Errorf("row %d %s = %v (%v), want %v (%v)", c.row, c.name, got, ok, c.want, c.ok)
		}
	}
	if want := []float64{6, 0, 1, 0}; !slices.Equal(fr.Label[:4], want) {
		t.Errorf("labels %v, want %v", fr.Label[:4], want)
	}
	// --top-products 1: P2 only; the rank ignores the warehouse.
	o.TopProducts = 1
	r = mustBuild(t, st, o)
	if r.Rows != 4 {
		t.Errorf("top 1: %d rows, want 4", r.Rows)
	}
	hist, err := ReadDemandHistory(context.Background(), st, o)
	if err != nil || len(hist.Series) != 1 || hist.Series[0].Product != "P2" || hist.Series[0].Rank != 1 {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	if got := hist.Series[0].History[len(hist.Series[0].History)-5]; got != 100 {
		t.Errorf("P2 history: period -5 = %v, want 100", got)
	}
	// Without ranks: the same series and values, rank 0.
	o.TopProducts = 0
	full, err1 := ReadDemandHistory(context.Background(), st, o)
	light, err2 := ReadDemandSeries(context.Background(), st, o)
	if err1 != nil || err2 != nil || len(full.Series) != 3 || len(light.Series) != 3 {
		t.Fatalf("%v %v", err1, err2)
	}
	for i := range full.Series {
		f, l := full.Series[i], light.Series[i]
		if l.Rank != 0 || f.Rank == 0 || f.Product != l.Product || !slices.Equal(f.History, l.History) || !slices.Equal(f.Future, l.Future) {
			t.Errorf("series %d: %+v vs %+v", i, f, l)
		}
	}
	// Value measure: the label is the sales value.
	o.TopProducts, o.Measure = 0, MeasureValue
	fr2, err := ReadFrame(context.Background(), st, mustBuild(t, st, o).Manifest)
	if err != nil || fr2.Label[0] != 60 {
		t.Errorf("value label %v, %v", fr2.Label[:1], err)
	}
	// A horizon that is not whole weeks is a field error.
	o.Horizon = datasets.Span{Days: 10}
	var fe *datasets.FieldError
	if _, err := Build(context.Background(), st, o); !errors.As(err, &fe) || fe.Field != "Horizon" || !strings.Contains(err.Error(), "week") {
		t.Errorf("horizon 10d: %v", err)
	}
}
