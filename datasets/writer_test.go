package datasets_test

import (
	"context"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// synthOrders returns n deterministic order lines over 2023-2024.
func synthOrders(n int, seed uint64) []datasets.Order {
	r := rand.New(rand.NewPCG(seed, 1))
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	span := int64(731 * 24 * time.Hour / time.Microsecond)
	out := make([]datasets.Order, n)
	for i := range out {
		p := float64(r.IntN(10000)) / 100
		out[i] = datasets.Order{
			CustomerID: strconv.Itoa(r.IntN(500)),
			OrderID:    strconv.Itoa(i / 3),
			Timestamp:  start + r.Int64N(span),
			ProductID:  "P" + strconv.Itoa(r.IntN(200)),
			Quantity:   float64(1 + r.IntN(3)),
			UnitPrice:  &p,
			Warehouse:  "W" + strconv.Itoa(r.IntN(8)),
			LineType:   datasets.LineSale,
		}
		if i%10 == 0 {
			out[i].CustomerID = ""
		}
	}
	return out
}

func writeAll(t *testing.T, st datasets.Store, rows []datasets.Order, opts datasets.WriterOptions, batch int) *datasets.Manifest {
	t.Helper()
	ctx := context.Background()
	w, err := datasets.NewWriter(st, datasets.Orders, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(rows); i += batch {
		if err := w.Write(ctx, rows[i:min(i+batch, len(rows))]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Commit(ctx, datasets.CommitOptions{Operation: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWriterDeterministic: the same rows in the same order give the same
// parts, byte for byte, whatever the parallelism and the write batches.
func TestWriterDeterministic(t *testing.T) {
	rows := synthOrders(20000, 7)
	a := writeAll(t, newStore(t), rows, datasets.WriterOptions{Dataset: "d", Run: "r1", SpillRows: 5000, Parallelism: 1}, 1000)
	b := writeAll(t, newStore(t), rows, datasets.WriterOptions{Dataset: "d", Run: "r1", SpillRows: 5000, Parallelism: 4}, 333)
	if len(a.Parts) != len(b.Parts) || len(a.Parts) < 24 {
		t.Fatalf("parts: %d and %d", len(a.Parts), len(b.Parts))
	}
	for i := range a.Parts {
		if a.Parts[i].Key != b.Parts[i].Key || a.Parts[i].SHA256 != b.Parts[i].SHA256 {
			t.Errorf("part %d: %s %s vs %s %s", i, a.Parts[i].Key, a.Parts[i].SHA256, b.Parts[i].Key, b.Parts[i].SHA256)
		}
	}
	if a.Rows != 20000 {
		t.Errorf("rows %d", a.Rows)
	}
}

// TestWriterSortedMonthsAndMerge: parts hold one month each, sorted by
// (customer_id, timestamp); ScanColumns merges a month's parts so that
// each customer's rows of the month come in one call, customers in
// order, months in order, every row once.
func TestWriterSortedMonthsAndMerge(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	rows := synthOrders(30000, 11)
	m := writeAll(t, st, rows, datasets.WriterOptions{Dataset: "d", SpillRows: 4000, RowGroupRows: 1000}, 4096)
	if vs, err := datasets.Validate(ctx, st, "d"); err != nil {
		t.Fatalf("validate: %v %+v", err, vs)
	}
	months := m.Months()
	if len(months) != 24 || months[0] != "2023-01" || months[23] != "2024-12" {
		t.Fatalf("months %v", months)
	}
	multi := 0
	for _, month := range months {
		if len(m.PartsIn(month)) > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no month has several parts: the merge was not exercised")
	}
	type row struct {
		ts    int64
		price float64
		ok    bool
	}
	want := map[string]int{}
	for _, o := range rows {
		if o.CustomerID != "" {
			want[o.CustomerID+"|"+datasets.MonthOf(o.Timestamp)]++
		}
	}
	seen := map[string]int{}
	lastMonth, lastKey := "", ""
	cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{{Name: "unit_price", As: datasets.AsFloat64}}, From: math.MinInt64, To: math.MaxInt64}
	err := datasets.ScanColumns(ctx, st, datasets.Orders, m, cs, func(b *datasets.Block, i int) row {
		return row{ts: b.Time[i], price: b.Cols[0].Float64[i], ok: b.Cols[0].Valid[i]}
	}, func(key []byte, rs []row) error {
		month := datasets.MonthOf(rs[0].ts)
		switch {
		case month < lastMonth:
			t.Errorf("month %s after %s", month, lastMonth)
		case month == lastMonth && string(key) <= lastKey:
			t.Errorf("%s: customer %s after %s", month, key, lastKey)
		}
		lastMonth, lastKey = month, string(key)
		for _, r := range rs {
			if datasets.MonthOf(r.ts) != month || !r.ok {
				t.Fatalf("%s %s: row %+v", month, key, r)
			}
		}
		seen[string(key)+"|"+month] += len(rs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(seen, want) {
		t.Errorf("ScanColumns: %d customer-months, want %d", len(seen), len(want))
	}
}

func TestWriterAbortAndConflict(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	rows := synthOrders(5000, 3)
	w, _ := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "d", SpillRows: 1000})
	w.Write(ctx, rows)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if objs, _ := st.List(ctx, ""); len(objs) == 0 {
		t.Fatal("flush wrote nothing")
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if objs, _ := st.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("abort left %d objects", len(objs))
	}

	writeAll(t, st, rows[:100], datasets.WriterOptions{Dataset: "d"}, 100)
	base, err := datasets.ReadManifest(ctx, st, "d", "orders")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st)
	w1, _ := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "d"})
	w2, _ := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "d", Run: "other"})
	w1.Write(ctx, rows[100:200])
	w2.Write(ctx, rows[200:300])
	m1, err := w1.Commit(ctx, datasets.CommitOptions{Base: base})
	if err != nil || m1.Seq != 2 || m1.Rows != 200 {
		t.Fatalf("first commit: %v %+v", err, m1)
	}
	after1 := snapshot(t, st)
	if _, err := w2.Commit(ctx, datasets.CommitOptions{Base: base}); !errors.Is(err, datasets.ErrConflict) {
		t.Fatalf("second commit on the same base: %v, want ErrConflict", err)
	}
	sameSnapshot(t, after1, snapshot(t, st))
	if len(after1) <= len(before) {
		t.Error("first commit added nothing")
	}
	// Forget's path: drop a part, mark kept manifests.
	cur, _ := datasets.ReadManifest(ctx, st, "d", "orders")
	drop := map[string]bool{cur.Parts[0].Key: true}
	w3, _ := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "d"})
	m3, err := w3.Commit(ctx, datasets.CommitOptions{Base: cur, Drop: drop, Operation: "forget"})
	if err != nil || len(m3.Parts) != len(cur.Parts)-1 {
		t.Fatalf("drop commit: %v", err)
	}
	st.Delete(ctx, cur.Parts[0].Key)
	listing := 0
	for seq := 1; seq <= 2; seq++ {
		m, _ := datasets.ReadManifestKey(ctx, st, datasets.HistoryKey("d", "orders", seq))
		for _, p := range m.Parts {
			if drop[p.Key] {
				listing++
			}
		}
	}
	rewritten, err := datasets.MarkRedacted(ctx, st, "d", "orders", drop)
	if err != nil || len(rewritten) != listing || listing == 0 {
		t.Fatalf("MarkRedacted: %v %v, want the %d kept manifests listing the part", rewritten, err, listing)
	}
	old, _ := datasets.ReadManifestKey(ctx, st, datasets.HistoryKey("d", "orders", 2))
	if !old.Parts[0].RedactedByForget || old.Parts[1].RedactedByForget {
		t.Error("kept manifest 2 does not mark exactly the deleted part")
	}
	if now, _ := datasets.ReadManifest(ctx, st, "d", "orders"); now.Seq != 3 || now.Parts[0].Key == cur.Parts[0].Key {
		t.Error("the current manifest changed or still lists the part")
	}
}
