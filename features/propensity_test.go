package features

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// propHistory is a small hand-made history (docs in TestPropensityDefinitions).
func propHistory() *history {
	h := &history{}
	n := 0
	add := func(cust, day string, items ...string) {
		ts, err := time.Parse(time.DateOnly, day)
		if err != nil {
			panic(err)
		}
		n++
		for _, it := range items {
			price := 10.0
			if it == "P1" {
				price = 4
			}
			cat := "c" + it[1:]
			if it == "P1" || it == "P2" {
				cat = "c12"
			}
			h.orders = append(h.orders, datasets.Order{CustomerID: cust, OrderID: fmt.Sprint("O", n), Timestamp: ts.Add(10 * time.Hour).UnixMicro(),
				ProductID: it, Quantity: 1, UnitPrice: ptr(price), Category: cat, LineType: datasets.LineSale})
		}
	}
	add("A", "2024-01-01", "P1", "P2")
	add("A", "2024-02-01", "P1")
	add("A", "2024-02-20", "P3")
	add("A", "2024-03-05", "P1", "P9") // label window
	add("B", "2024-02-10", "P1", "P2")
	add("B", "2024-02-15", "P2", "P4")
	add("C", "2024-02-25", "P2", "P4")
	add("C", "2023-10-01", "P5")
	add("D", "2023-12-01", "P1", "P2")
	add("E", "2023-06-01", "P5")
	add("Z", "2024-04-15", "P1") // after as_of only: no row
	ev := func(cust, at, typ, item string) {
		ts, err := time.Parse(time.RFC3339, at)
		if err != nil {
			panic(err)
		}
		h.events = append(h.events, datasets.Event{CustomerID: cust, Timestamp: ts.UnixMicro(), EventType: typ, ProductID: item, Category: "c" + item[1:]})
	}
	ev("A", "2024-02-27T09:00:00Z", "view", "P4")
	ev("A", "2024-02-10T09:00:00Z", "view", "P4")
	ev("A", "2024-01-10T09:00:00Z", "view", "P4") // more than 30 days before as_of
	ev("A", "2024-03-02T09:00:00Z", "view", "P4") // after as_of
	ev("A", "2024-02-28T09:00:00Z", "cart_add", "P1")
	ev("A", "2024-02-28T09:00:00Z", "search", "P2")
	ev("B", "2024-02-28T09:00:00Z", "view", "P9") // not a candidate
	return h
}

// TestPropensityDefinitions checks every candidate source, count and
// feature on a history small enough to work out by hand. As of
// 2024-03-01 there are 9 baskets in the lookback; P1 is in 4, P2 in 5, P4
// in 2, P5 in 2; P1+P2 share 3 (lift 3*9/(4*5) = 1.35, P(P1|P2) = 0.6),
// P2+P4 share 2 (lift 2*9/(5*2) = 1.8, P(P4|P2) = 0.4). Buyers in the last
// 30 days: P1 2 (A, B), P2 2 (B, C), P4 2, P3 1; so with PopularK 2 the
// popular items are P2 (3 buyers in 90 days) and P1 (before P4 by name).
func TestPropensityDefinitions(t *testing.T) {
	st := newStore(t)
	propHistory().write(t, st, "h", 1000)
	r := mustBuild(t, st, Options{Dataset: "h", Task: TaskPropensity, AsOf: "2024-03-01", Labels: true, AssocK: 2, PopularK: 2})
	m := r.Manifest
	if m.Params.Level != LevelProduct || m.Params.Horizon != "30d" || m.Label != LabelBought {
		t.Fatalf("params %+v, label %q", m.Params, m.Label)
	}
	want := Candidates{Customers: 5, Own: 12, Associated: 3, Popular: 2, Purchases: 2, Covered: 1, Coverage: 0.5}
	if m.Candidates == nil || *m.Candidates != want {
		t.Fatalf("candidates %+v, want %+v", m.Candidates, want)
	}
	rows := map[string]map[string]any{}
	err := Rows(context.Background(), st, m, func(row []any) error {
		vals := map[string]any{}
		for i, c := range m.Schema {
			vals[c.Name] = row[i]
		}
		rows[row[0].(string)+"|"+row[1].(string)] = vals
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range rows {
		keys = append(keys, k)
	}
	if len(rows) != 17 || m.Rows != 17 {
		t.Fatalf("%d rows: %v", len(rows), keys)
	}
	for _, k := range []string{"A|P4", "C|P1", "D|P4", "E|P1", "E|P2", "E|P5"} {
		if rows[k] == nil {
			t.Errorf("no row %s", k)
		}
	}
	for _, k := range []string{"B|P3", "E|P4", "Z|P1", "A|P9", "A|P5"} {
		if rows[k] != nil {
			t.Errorf("unexpected row %s", k)
		}
	}
	check := func(key, col string, want any) {
		t.Helper()
		got := rows[key][col]
		if wf, ok := want.(float64); ok {
			if gf, ok := got.(float64); !ok || math.Abs(gf-wf) > 1e-12 {
				t.Errorf("%s %s = %v, want %v", key, col, got, want)
			}
			return
		}
		if got != want {
			t.Errorf("%s %s = %v (%T), want %v", key, col, got, got, want)
		}
	}
	check("A|P1", "cust_recency_days", int64(9)) // orders at 10:00: 9 days 14 hours
	check("A|P1", "cust_orders", int64(3))
	check("A|P1", "cust_spend", 28.0)
	check("A|P1", "cust_distinct_items", int64(3))
	check("A|P1", "item_orders", int64(2))
	check("A|P1", "item_orders_90d", int64(2))
	check("D|P1", "item_orders", int64(1))
	check("D|P1", "item_orders_90d", int64(0)) // 2023-12-01, before as_of - 90d
	check("A|P4", "item_orders_90d", int64(0))
	check("A|P1", "item_days_since", int64(28))
	check("A|P1", "item_spend_share", 8.0/28)
	check("A|P1", "item_cycle_days", 31.0)
	check("A|P1", "item_overdue", (29-10.0/24)/31)
	check("A|P1", "buyers_30d", int64(2))
	check("A|P1", "buyers_90d", int64(2))        // D bought on 2023-12-01, before as_of - 90d
	check("A|P1", "buyers_trend", (2.0-1)/(2+1)) // A on 2024-01-01 is in the 30 days before
	check("A|P1", "mean_price", 4.0)
	check("A|P1", "assoc_lift", 1.35)
	check("A|P1", "assoc_score", 0.6)
	check("A|P1", LabelBought, int64(1))
	check("A|P2", LabelBought, int64(0))
	check("A|P3", "item_cycle_days", nil)
	check("A|P3", "item_overdue", nil)
	check("A|P3", "assoc_lift", nil)
	check("A|P3", "assoc_score", 0.0)
	check("A|P3", "buyers_trend", 1.0)
	check("A|P4", "item_orders", int64(0))
	check("A|P4", "item_days_since", nil)
	check("A|P4", "item_spend_share", 0.0)
	check("A|P4", "assoc_lift", 1.8)
	check("A|P4", "assoc_score", 0.4)
	check("E|P5", "buyers_30d", int64(0))
	check("E|P5", "buyers_trend", nil)
	check("E|P2", "assoc_lift", nil)
	check("C|P1", "assoc_score", 0.6)
	check("A|P4", "item_views_7d", int64(1))
	check("A|P4", "item_views_30d", int64(2))
	check("A|P4", "item_cart_adds_30d", int64(0))
	check("A|P1", "item_cart_adds_7d", int64(1))
	check("A|P1", "item_cart_adds_30d", int64(1))
	check("A|P2", "item_views_30d", int64(0))
	if !m.Params.Events {
		t.Error("events not recorded in the params")
	}

	// The truth of the label window, non-candidate items included.
	got, err := Purchases(context.Background(), st, m, datasets.Span{Days: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || strings.Join(got["A"], ",") != "P1,P9" {
		t.Errorf("purchases %v", got)
	}
}

// TestPropensityShards: a build split into 3 shards gives the same rows
// bit for bit (the popularity and association statistics are global),
// and its committed manifest the same candidate counts.
func TestPropensityShards(t *testing.T) {
	st := newStore(t)
	randomHistory(4, 90).write(t, st, "r", 500)
	o := Options{Dataset: "r", Task: TaskPropensity, AsOf: "2024-03-01", Labels: true, AssocK: 4, PopularK: 3}
	whole := mustBuild(t, st, o)
	want := tableRows(t, st, whole.Manifest)
	got := map[string]string{}
	for i := 0; i < 3; i++ {
		so := o
		so.Shard, so.Shards = i, 3
		r := mustBuild(t, st, so)
		if r.Committed {
			t.Fatal("a shard committed")
		}
	}
	m, err := Commit(context.Background(), st, "r", TaskPropensity, whole.AsOf, whole.Spec, 3, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tableRows(t, st, m) {
		got[k] = v
	}
	if len(got) != len(want) || len(want) < 100 {
		t.Fatalf("%d rows from shards, %d whole", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("row %s differs:\n got %s\nwant %s", k, got[k], v)
		}
	}
	if *m.Candidates != *whole.Manifest.Candidates {
		t.Errorf("candidates %+v from shards, %+v whole", m.Candidates, whole.Manifest.Candidates)
	}
}

// TestPropensityLevels: with a products table the level defaults to
// category, whose items are the orders' categories; without one,
// category is refused, naming the field.
func TestPropensityLevels(t *testing.T) {
	st := newStore(t)
	h := propHistory()
	h.write(t, st, "h", 1000)
	_, err := Build(context.Background(), st, Options{Dataset: "h", Task: TaskPropensity, AsOf: "2024-03-01", Level: LevelCategory})
	var fe *datasets.FieldError
	if !errors.As(err, &fe) || fe.Field != "Level" {
		t.Fatalf("category without products: %v", err)
	}
	writeTable(t, st, datasets.Products, "h", []datasets.Product{{ProductID: "P1", Category: "c12"}, {ProductID: "P2", Category: "c12"}}, 100)
	r := mustBuild(t, st, Options{Dataset: "h", Task: TaskPropensity, AsOf: "2024-03-01", Labels: true})
	if r.Manifest.Params.Level != LevelCategory {
		t.Fatalf("level %q", r.Manifest.Params.Level)
	}
	rows := tableRows(t, st, r.Manifest)
	for _, k := range []string{"A|c12|", "A|c3|", "E|c5|"} {
		if _, ok := rows[k]; !ok {
			t.Errorf("no row %s in %v", k, rows)
		}
	}
	if _, ok := rows["A|P1|"]; ok {
		t.Error("product rows at category level")
	}
	// A bought c12 (P1) and c9 in the window; c12 is a candidate.
	if c := r.Manifest.Candidates; c.Purchases != 2 || c.Covered != 1 {
		t.Errorf("candidates %+v", c)
	}
	p := mustBuild(t, st, Options{Dataset: "h", Task: TaskPropensity, AsOf: "2024-03-01", Level: LevelProduct})
	if p.Spec == r.Spec || p.Manifest.Params.Level != LevelProduct {
		t.Errorf("product level: spec %s, params %+v", p.Spec, p.Manifest.Params)
	}
}
