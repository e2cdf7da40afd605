package datasets_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
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
// (customer_id, timestamp); a merged read of a month's parts is sorted
// and complete; ScanMonths sees every row once, months in order.
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
		parts := m.PartsIn(month)
		if len(parts) > 1 {
			multi++
		}
		mr, err := datasets.NewMergeReader(ctx, st, datasets.Orders, parts)
		if err != nil {
			t.Fatal(err)
		}
		var got []datasets.Order
		buf := make([]datasets.Order, 77)
		for {
			n, err := mr.Read(buf)
			got = append(got, buf[:n]...)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		mr.Close()
		var want int64
		for _, p := range parts {
			want += p.Rows
		}
		if int64(len(got)) != want {
			t.Errorf("%s: merged %d rows, parts hold %d", month, len(got), want)
		}
		if !slices.IsSortedFunc(got, func(a, b datasets.Order) int {
			if a.CustomerID != b.CustomerID {
				if a.CustomerID < b.CustomerID {
					return -1
				}
				return 1
			}
			return int(a.Timestamp - b.Timestamp)
		}) {
			t.Errorf("%s: merged rows not sorted", month)
		}
		for _, o := range got {
			if datasets.MonthOf(o.Timestamp) != month || o.UnitPrice == nil {
				t.Fatalf("%s: row %+v", month, o)
			}
		}
	}
	if multi == 0 {
		t.Error("no month has several parts: the merge was not exercised")
	}
	var seen int
	last := ""
	err := datasets.ScanMonths(ctx, st, datasets.Orders, m, func(month string, rows []datasets.Order) error {
		if month < last {
			t.Errorf("month %s after %s", month, last)
		}
		last = month
		seen += len(rows)
		return nil
	})
	if err != nil || seen != len(rows) {
		t.Errorf("ScanMonths: %d rows, %v", seen, err)
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
