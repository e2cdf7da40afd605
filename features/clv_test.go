package features

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

func clvHistory() *history {
	at := func(s string) int64 {
		t, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			panic(err)
		}
		return t.UnixMicro()
	}
	sale := func(id, oid, ts string, qty, price float64) datasets.Order {
		return datasets.Order{CustomerID: id, OrderID: oid, Timestamp: at(ts), ProductID: "P1", Quantity: qty, UnitPrice: ptr(price), LineType: datasets.LineSale}
	}
	h := &history{}
	h.orders = []datasets.Order{
		// A: first day 2024-01-01 (two orders), repeat days 01-10 and
		// 02-01, a fee and a return (not purchases), then two holdout
		// days, one with two orders.
		sale("A", "a1", "2024-01-01 10:00", 2, 5), sale("A", "a1", "2024-01-01 10:00", 1, 5), sale("A", "a2", "2024-01-01 18:00", 1, 5),
		sale("A", "a3", "2024-01-10 09:00", 3, 10),
		{CustomerID: "A", OrderID: "a3", Timestamp: at("2024-01-20 09:00"), ProductID: "POST", Quantity: 1, UnitPrice: ptr(4), LineType: datasets.LineFee},
		sale("A", "a4", "2024-02-01 23:59", 1, 10),
		{CustomerID: "A", OrderID: "Ca4", Timestamp: at("2024-02-05 12:00"), ProductID: "P1", Quantity: -1, UnitPrice: ptr(10), LineType: datasets.LineReturn},
		sale("A", "a5", "2024-03-01 00:00", 1, 10), sale("A", "a6", "2024-03-06 08:00", 1, 10), sale("A", "a7", "2024-03-06 20:00", 1, 10),
		sale("A", "a8", "2024-03-09 08:00", 1, 10), // after a 7-day holdout
		// B: one purchase, the day before as_of.
		sale("B", "b1", "2024-02-29 23:00", 1, 7),
		// C: first purchase after as_of: no row.
		sale("C", "c1", "2024-03-02 10:00", 1, 7),
		// D: a free item first (an adjustment of zero value), then a sale.
		{CustomerID: "D", OrderID: "d1", Timestamp: at("2024-01-05 10:00"), ProductID: "P2", Quantity: 1, UnitPrice: ptr(0), LineType: datasets.LineAdjustment},
		sale("D", "d2", "2024-01-06 10:00", 2, 4),
	}
	return h
}

// TestCLVSummary: x counts distinct purchase days after the first (sale
// lines and free items; not fees or returns), t_x and T count calendar
// days to the day before as_of, in days or weeks; monetary_value is the
// mean value of the repeat days; the holdout counts purchase days in
// [as_of, as_of + 7d).
func TestCLVSummary(t *testing.T) {
	st := newStore(t)
	clvHistory().write(t, st, "d", 0)
	r := mustBuild(t, st, Options{Dataset: "d", Task: TaskCLV, AsOf: "2024-03-01", Labels: true, Horizon: datasets.Span{Days: 7}})
	fr, err := ReadFrame(context.Background(), st, r.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ x, tx, T, m, hold float64 }
	want := map[string]row{
		"A": {2, 31, 59, 20, 2},
		"B": {0, 0, 0, math.NaN(), 0},
		"D": {1, 1, 55, 8, 0},
	}
	if len(fr.IDs) != len(want) || r.Manifest.Label != CLVHoldout {
		t.Fatalf("rows %v, label %q", fr.IDs, r.Manifest.Label)
	}
	for i, id := range fr.IDs {
		w := want[id]
		got := row{fr.Values[0][i], fr.Values[1][i], fr.Values[2][i], fr.Values[3][i], fr.Label[i]}
		if got.x != w.x || got.tx != w.tx || got.T != w.T || got.hold != w.hold ||
			!(got.m == w.m || math.IsNaN(w.m) && !fr.Valid[3][i]) {
			t.Errorf("%s: %+v, want %+v", id, got, w)
		}
	}
	if d, err := Describe(context.Background(), st, r.Manifest); err != nil || d == nil {
		t.Errorf("describe: %v", err)
	}
	// Weeks: the same days over 7.
	wk := mustBuild(t, st, Options{Dataset: "d", Task: TaskCLV, AsOf: "2024-03-01", FeatureSet: CLVWeeks})
	fw, err := ReadFrame(context.Background(), st, wk.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if fw.IDs[0] != "A" || fw.Values[1][0] != 31.0/7 || fw.Values[2][0] != 59.0/7 || fw.Label != nil || wk.Spec == r.Spec {
		t.Errorf("weeks: A t_x %v T %v, label %v", fw.Values[1][0], fw.Values[2][0], fw.Label)
	}
	// The data ends on 2024-03-09: a holdout to 03-10 is whole, one to
	// 03-11 is censored.
	if _, err := Build(context.Background(), st, Options{Dataset: "d", Task: TaskCLV, AsOf: "2024-03-01", Labels: true, Horizon: datasets.Span{Days: 9}}); err != nil {
		t.Errorf("holdout to the data's last day: %v", err)
	}
	if _, err := Build(context.Background(), st, Options{Dataset: "d", Task: TaskCLV, AsOf: "2024-03-01", Labels: true, Horizon: datasets.Span{Days: 10}}); !errors.Is(err, ErrCensored) {
		t.Errorf("holdout past the data: %v", err)
	}
	var fe *datasets.FieldError
	if _, err := Build(context.Background(), st, Options{Dataset: "d", Task: TaskCLV, AsOf: "2024-03-01", FeatureSet: "months"}); !errors.As(err, &fe) || fe.Field != "FeatureSet" {
		t.Errorf("unit months: %v", err)
	}
}

// TestCLVShards: the shards of a sharded clv build, committed, hold the
// rows of the unsharded build.
func TestCLVShards(t *testing.T) {
	st := newStore(t)
	randomHistory(3, 300).write(t, st, "r", 0)
	o := Options{Dataset: "r", Task: TaskCLV, AsOf: "2024-01-01"}
	whole := mustBuild(t, st, o)
	o.Shards = 3
	var spec string
	for i := 0; i < 3; i++ {
		o.Shard = i
		spec = mustBuild(t, st, o).Spec
	}
	if spec != whole.Spec {
		t.Fatalf("shard spec %s, whole %s", spec, whole.Spec)
	}
	m, err := Commit(context.Background(), st, "r", TaskCLV, "2024-01-01", spec, 3, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, b := tableRows(t, st, whole.Manifest), tableRows(t, st, m)
	if len(a) != len(b) || len(a) < 200 {
		t.Fatalf("%d rows whole, %d sharded", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: %s vs %s", k, v, b[k])
		}
	}
}
