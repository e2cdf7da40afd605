package features

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
)

var asOfTest = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// TestFutureLeak: adding, changing or deleting any fact at or after as_of
// (order line, return, fee, anonymous line, event, ledger entry) leaves
// every feature of every row unchanged, bit for bit; labels move. Churn
// rows are customers; propensity rows are customer x item candidates, at
// both levels, with their global popularity and association statistics.
func TestFutureLeak(t *testing.T) {
	for _, tc := range []struct {
		name, label string
		o           Options
	}{
		{"churn", "churn", Options{}},
		{"propensity-product", LabelBought, Options{Task: TaskPropensity, Level: LevelProduct, AssocK: 5, PopularK: 4, Horizon: datasets.Span{Days: 60}}},
		{"propensity-category", LabelBought, Options{Task: TaskPropensity, Level: LevelProduct, AssocK: 2, PopularK: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) { testFutureLeak(t, tc.o, tc.label) })
	}
}

func testFutureLeak(t *testing.T, o Options, label string) {
	st := newStore(t)
	base := randomHistory(1, 120)
	base.write(t, st, "base", 700)
	o.Dataset, o.AsOf, o.Labels, o.Lookback = "base", "2024-03-01", true, datasets.Span{Days: 400}
	want := tableRows(t, st, mustBuild(t, st, o).Manifest)
	if len(want) < 50 {
		t.Fatalf("only %d rows", len(want))
	}
	wantF := withoutLabel(want, label)
	r := rand.New(rand.NewPCG(2, 3))
	asOf := asOfTest.UnixMicro()
	future := func() int64 {
		return asOf + r.Int64N(histEnd.UnixMicro()-asOf)
	}
	labelsMoved := false
	for trial := 0; trial < 16; trial++ {
		h := base.clone()
		var what string
		switch trial % 8 {
		case 0: // a new sale line for an existing customer
			c := h.orders[r.IntN(len(h.orders))]
			c.Timestamp, c.OrderID = future(), "new"
			h.orders = append(h.orders, c)
			what = "add sale"
		case 1: // a return
			h.orders = append(h.orders, datasets.Order{CustomerID: fmt.Sprintf("C%04d", r.IntN(120)), OrderID: "Cx", Timestamp: future(), Quantity: -2, UnitPrice: ptr(4), LineType: datasets.LineReturn})
			what = "add return"
		case 2: // an anonymous line
			h.orders = append(h.orders, datasets.Order{Timestamp: future(), Quantity: 1, UnitPrice: ptr(9), LineType: datasets.LineSale})
			what = "add anonymous"
		case 3: // change a future line
			idx := futureIndex(r, h.orders, asOf, func(o datasets.Order) int64 { return o.Timestamp })
			h.orders[idx].Quantity *= 3
			h.orders[idx].UnitPrice = ptr(123.45)
			h.orders[idx].Category = "changed"
			what = "change line"
		case 4: // delete future lines
			h.orders = slices.DeleteFunc(h.orders, func(o datasets.Order) bool { return o.Timestamp >= asOf && r.IntN(2) == 0 })
			what = "delete lines"
		case 5: // events
			h.events = append(h.events, datasets.Event{CustomerID: fmt.Sprintf("C%04d", r.IntN(120)), Timestamp: asOf, EventType: "cart_add"})
			h.events = slices.DeleteFunc(h.events, func(e datasets.Event) bool { return e.Timestamp > asOf && r.IntN(2) == 0 })
			what = "events"
		case 6: // ledger
			h.loyalty = append(h.loyalty, datasets.LoyaltyEntry{CustomerID: fmt.Sprintf("C%04d", r.IntN(120)), Timestamp: future(), Points: 1e6})
			idx := futureIndex(r, h.loyalty, asOf, func(l datasets.LoyaltyEntry) int64 { return l.Timestamp })
			h.loyalty[idx].Points = -7
			what = "ledger"
		case 7: // a brand-new customer after as_of, and a fee exactly at as_of
			h.orders = append(h.orders,
				datasets.Order{CustomerID: "NEW", OrderID: "n1", Timestamp: future(), Quantity: 1, UnitPrice: ptr(1), LineType: datasets.LineSale},
				datasets.Order{CustomerID: "C0001", OrderID: "f", Timestamp: asOf, ProductID: "POST", Quantity: 1, UnitPrice: ptr(5), LineType: datasets.LineFee})
			what = "new customer"
		}
		name := fmt.Sprintf("t%d", trial)
		h.write(t, st, name, 400+trial*37) // other part boundaries too
		o.Dataset = name
		got := tableRows(t, st, mustBuild(t, st, o).Manifest)
		gotF := withoutLabel(got, label)
		if len(gotF) != len(wantF) {
			t.Fatalf("trial %d (%s): %d rows, want %d", trial, what, len(gotF), len(wantF))
		}
		for k, v := range wantF {
			if gotF[k] != v {
				t.Fatalf("trial %d (%s): customer %s features moved:\n got %s\nwant %s", trial, what, k, gotF[k], v)
			}
		}
		for k, v := range want {
			if got[k] != v {
				labelsMoved = true
			}
		}
	}
	if !labelsMoved {
		t.Error("no future change moved any label: the labels do not look at the future")
	}
}

func futureIndex[T any](r *rand.Rand, rows []T, asOf int64, ts func(T) int64) int {
	var idx []int
	for i, x := range rows {
		if ts(x) >= asOf {
			idx = append(idx, i)
		}
	}
	return idx[r.IntN(len(idx))]
}

// TestShards: builds split into 1, 3 and 8 shards give the same multiset
// of rows, bit for bit; commit refuses while a shard is missing.
func TestShards(t *testing.T) {
	st := newStore(t)
	randomHistory(5, 200).write(t, st, "d", 113)
	ctx := context.Background()
	o := Options{Dataset: "d", AsOf: "2024-03-01", Labels: true}
	ref := tableRows(t, st, mustBuild(t, st, o).Manifest)
	for _, n := range []int{3, 8} {
		var spec string
		for i := 0; i < n; i++ {
			oo := o
			oo.Shard, oo.Shards, oo.Force = i, n, true
			r := mustBuild(t, st, oo)
			if r.Committed {
				t.Fatal("a shard build committed")
			}
			spec = r.Spec
			if i == n-2 {
				_, err := Commit(ctx, st, "d", TaskChurn, "2024-03-01", spec, n, time.Now())
				if !errors.Is(err, ErrShardsMissing) || !strings.Contains(err.Error(), fmt.Sprint(n-1)) {
					t.Fatalf("commit with shard %d missing: %v", n-1, err)
				}
			}
		}
		m, err := Commit(ctx, st, "d", TaskChurn, "2024-03-01", spec, n, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := tableRows(t, st, m)
		if len(got) != len(ref) {
			t.Fatalf("n=%d: %d rows, want %d", n, len(got), len(ref))
		}
		for k, v := range ref {
			if got[k] != v {
				t.Fatalf("n=%d: row %s differs:\n got %s\nwant %s", n, k, got[k], v)
			}
		}
	}
	for _, id := range []string{"", "a", "17850", "C0001"} {
		if ShardOf(id, 8) != int(datasets.FNV64([]byte(id))%8) {
			t.Fatal("ShardOf")
		}
	}
	// FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (the published test vector).
	if datasets.FNV64([]byte("a")) != 0xaf63dc4c8601ec8c {
		t.Fatalf("datasets.FNV64(a) = %x", datasets.FNV64([]byte("a")))
	}
}

// TestCensoredLabels: labels whose window passes the data's last
// timestamp are refused, naming the dates.
func TestCensoredLabels(t *testing.T) {
	st := newStore(t)
	randomHistory(9, 20).write(t, st, "d", 1000)
	_, err := Build(context.Background(), st, Options{Dataset: "d", AsOf: "2024-05-01", Labels: true})
	if !errors.Is(err, ErrCensored) || !strings.Contains(err.Error(), "2024-05-01") || !strings.Contains(err.Error(), "2024-07-30") {
		t.Fatalf("err = %v", err)
	}
	// Without labels the same cutoff builds (a scoring table).
	mustBuild(t, st, Options{Dataset: "d", AsOf: "2024-05-01"})
	_, _, err = BuildTrainingSet(context.Background(), st, Options{Dataset: "d", AsOf: "2024-05-01", Labels: true}, 3, datasets.Span{Days: 30})
	if !errors.Is(err, ErrCensored) || !strings.Contains(err.Error(), "2024-04-01") {
		t.Fatalf("training set: err = %v", err)
	}
}

// TestDefinitions checks the features against a direct computation of
// the documented definitions on a hand-written history.
func TestDefinitions(t *testing.T) {
	st := newStore(t)
	d := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	sale := func(c, o, ts, p, cat string, q, price float64) datasets.Order {
		return datasets.Order{CustomerID: c, OrderID: o, Timestamp: d(ts), ProductID: p, Category: cat, Quantity: q, UnitPrice: ptr(price), LineType: datasets.LineSale}
	}
	h := &history{orders: []datasets.Order{
		sale("A", "1", "2023-06-01T10:00:00Z", "p1", "x", 2, 10), // 20
		sale("A", "1", "2023-06-01T10:00:00Z", "p2", "y", 1, 5),  // 5: order 1 = 25
		sale("A", "2", "2024-01-15T09:00:00Z", "p1", "x", 1, 10), // order 2 = 10
		sale("A", "3", "2024-02-20T12:00:00Z", "p3", "z", 3, 1),  // order 3 = 3
		{CustomerID: "A", OrderID: "C3", Timestamp: d("2024-02-21T00:00:00Z"), ProductID: "p3", Quantity: -1, UnitPrice: ptr(1), LineType: datasets.LineReturn},
		{CustomerID: "A", OrderID: "3", Timestamp: d("2024-02-20T12:00:00Z"), ProductID: "POST", Quantity: 1, UnitPrice: ptr(4), LineType: datasets.LineFee},
		sale("A", "4", "2024-03-09T00:00:00Z", "p1", "x", 1, 99), // after as_of: label only
		sale("C", "5", "2024-03-10T00:00:00Z", "p1", "x", 1, 1),  // the last timestamp
		sale("B", "9", "2024-02-29T23:59:59Z", "p1", "x", 1, 7),  // one order, 1 second before as_of
	}}
	h.write(t, st, "d", 3)
	m := mustBuild(t, st, Options{Dataset: "d", AsOf: "2024-03-01", Labels: true, Horizon: datasets.Span{Days: 9}}).Manifest
	rows := map[string]map[string]any{}
	Rows(context.Background(), st, m, func(row []any) error {
		r := map[string]any{}
		for i, c := range m.Schema {
			r[c.Name] = row[i]
		}
		rows[r["customer_id"].(string)] = r
		return nil
	})
	a, b := rows["A"], rows["B"]
	gap1 := float64(d("2024-01-15T09:00:00Z")-d("2023-06-01T10:00:00Z")) / dayF
	gap2 := float64(d("2024-02-20T12:00:00Z")-d("2024-01-15T09:00:00Z")) / dayF
	mean := (gap1 + gap2) / 2
	checks := []struct {
		row  map[string]any
		name string
		want any
	}{
		{a, "recency_days", int64(9)}, // 2024-02-20T12 -> 2024-03-01: 9.5 days
		{a, "tenure_days", int64(273)},
		{a, "orders_30d", int64(1)},
		{a, "orders_90d", int64(2)},
		{a, "orders_365d", int64(3)},
		{a, "spend_30d", 3.0},
		{a, "spend_90d", 13.0},
		{a, "spend_365d", 38.0},
		{a, "gap_mean_days", mean},
		{a, "distinct_categories", int64(3)},
		{a, "distinct_products", int64(3)},
		{a, "return_rate", 0.25},
		{a, "basket_mean", 38.0 / 3},
		{a, "spend_trend", 1.0},
		{a, "churn", int64(0)},
		{b, "recency_days", int64(0)},
		{b, "gap_mean_days", nil},
		{b, "gap_std_days", nil},
		{b, "recency_gap_ratio", nil},
		{b, "churn", int64(1)},
	}
	for _, c := range checks {
		got := c.row[c.name]
		if f, ok := c.want.(float64); ok {
			g, ok := got.(float64)
			if !ok || g-f > 1e-9 || f-g > 1e-9 {
				t.Errorf("%s %s = %v, want %v", c.row["customer_id"], c.name, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s %s = %v, want %v", c.row["customer_id"], c.name, got, c.want)
		}
	}
	if r := a["recency_gap_ratio"].(float64); r < 9.4/mean || r > 9.6/mean {
		t.Errorf("recency_gap_ratio = %v", r)
	}
	if m.Balance.Positives != 1 || m.Balance.Negatives != 1 {
		t.Errorf("balance %+v", m.Balance)
	}
}

// TestEntitiesAndForget: per-row cutoffs, then forget removes a customer
// from every feature table.
func TestEntitiesAndForget(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	randomHistory(11, 40).write(t, st, "d", 200)
	ents := []EntityRow{{"C0001", "2024-03-01", ""}, {"C0001", "2024-01-01", ""}, {"C0002", "2024-03-01", ""}, {"NOBODY", "2024-02-01", ""}}
	r := mustBuild(t, st, Options{Dataset: "d", Entities: ents})
	if r.AsOf != AsOfEntities || r.Rows != 4 {
		t.Fatalf("entities: %+v", r)
	}
	rows := tableRows(t, st, r.Manifest)
	plain := tableRows(t, st, mustBuild(t, st, Options{Dataset: "d", AsOf: "2024-03-01"}).Manifest)
	// Same features as the plain build for the same cutoff.
	if !strings.HasPrefix(rows["C0002|2024-03-01 00:00:00 +0000 UTC|"], strings.Fields(plain["C0002|"])[0]) {
		t.Errorf("entity row %q vs plain %q", rows["C0002|2024-03-01 00:00:00 +0000 UTC|"], plain["C0002|"])
	}
	if v := rows["NOBODY|2024-02-01 00:00:00 +0000 UTC|"]; !strings.Contains(v, "recency_days=<nil>") {
		t.Errorf("a customer without history: %q", v)
	}
	rep, err := privacy.Forget(ctx, st, []string{"C0001"}, time.Now(), Forgetter{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows < 3 {
		t.Errorf("forget removed %d rows, want at least 3 (2 entity rows, 1 plain)", rep.Rows)
	}
	tabs, _ := List(ctx, st, "d")
	for _, tb := range tabs {
		m, err := readManifestKey(ctx, st, tb.Key)
		if err != nil {
			t.Fatal(err)
		}
		for k := range tableRows(t, st, m) {
			if strings.HasPrefix(k, "C0001|") {
				t.Errorf("%s still holds C0001", tb.Key)
			}
		}
	}
	rep2, err := privacy.Forget(ctx, st, []string{"C0001"}, time.Now(), Forgetter{Store: st})
	if err != nil || rep2.Rows != 0 {
		t.Errorf("forget again: %d rows, %v", rep2.Rows, err)
	}
	// A later build does not bring the customer back.
	r2 := mustBuild(t, st, Options{Dataset: "d", AsOf: "2024-04-01", Force: true})
	if _, ok := tableRows(t, st, r2.Manifest)["C0001|"]; ok {
		t.Error("forgotten customer rebuilt")
	}
}

// TestTrainingSetReuse: cutoffs build one table each and a second run
// reuses them.
func TestTrainingSetReuse(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	randomHistory(13, 60).write(t, st, "d", 300)
	o := Options{Dataset: "d", AsOf: "2024-03-01", Labels: true}
	ts, key, err := BuildTrainingSet(ctx, st, o, 3, datasets.Span{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.Tables) != 3 || ts.Tables[2].AsOf != "2024-01-01" {
		t.Fatalf("tables %+v", ts.Tables)
	}
	ts2, _, err := BuildTrainingSet(ctx, st, o, 3, datasets.Span{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range ts2.Tables {
		if !tb.Reused {
			t.Errorf("%s rebuilt", tb.AsOf)
		}
	}
	_, ms, err := ReadTrainingSet(ctx, st, key)
	if err != nil || len(ms) != 3 {
		t.Fatal(err)
	}
	fr, err := ReadFrame(ctx, st, ms[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.IDs) != int(ms[0].Rows) || len(fr.Label) != len(fr.IDs) || len(fr.Values) != len(fr.Schema.Features) {
		t.Fatalf("frame: %d ids, %d labels, %d columns", len(fr.IDs), len(fr.Label), len(fr.Values))
	}
}

func TestFsum(t *testing.T) {
	xs := []float64{1e100, 1, -1e100, 1e-3, 0.1, 0.2, 0.3, -0.6}
	var a, b fsum
	for _, x := range xs {
		a.add(x)
	}
	for i := len(xs) - 1; i >= 0; i-- {
		b.add(xs[i])
	}
	// math.fsum of the same values in Python: 1.0010000000000001
	if a.value() != b.value() || a.value() != 1.0010000000000001 {
		t.Fatalf("fsum = %v / %v", a.value(), b.value())
	}
}
