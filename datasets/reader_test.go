package datasets_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// scanCount runs ScanColumns over orders and counts the rows passed on,
// checking that a column the parts lack decodes to nil.
func scanCount(st datasets.Store, m *datasets.Manifest, cs datasets.ColumnScan) (rows, keys int, err error) {
	cs.Columns = append(cs.Columns, datasets.ColumnRequest{Name: "no_such_column", As: datasets.AsFloat64})
	err = datasets.ScanColumns(context.Background(), st, datasets.Orders, m, cs, func(b *datasets.Block, i int) int64 {
		if b.Cols[len(b.Cols)-1].Float64 != nil {
			panic("a missing column decoded to values")
		}
		return b.Time[i]
	}, func(key []byte, ts []int64) error {
		keys++
		rows += len(ts)
		for _, t := range ts {
			if t < cs.From || t >= cs.To {
				return context.DeadlineExceeded // any error: a row outside the range
			}
		}
		return nil
	})
	return rows, keys, err
}

// TestScanColumnsBounds: From/To and Keep select rows and keys; anonymous
// lines (empty customer_id) never come.
func TestScanColumnsBounds(t *testing.T) {
	st := newStore(t)
	rows := synthOrders(5000, 3)
	m := writeAll(t, st, rows, datasets.WriterOptions{Dataset: "d", SpillRows: 700, RowGroupRows: 100}, 512)
	from := time.Date(2023, 6, 15, 0, 0, 0, 0, time.UTC).UnixMicro()
	to := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	keep := func(k []byte) bool { return k[len(k)-1] == '7' }
	want := 0
	for _, o := range rows {
		if o.CustomerID != "" && o.Timestamp >= from && o.Timestamp < to && keep([]byte(o.CustomerID)) {
			want++
		}
	}
	got, _, err := scanCount(st, m, datasets.ColumnScan{From: from, To: to, Keep: keep})
	if err != nil || got != want || want == 0 {
		t.Errorf("bounded scan: %d rows (%v), want %d", got, err, want)
	}
	all := 0
	for _, o := range rows {
		if o.CustomerID != "" {
			all++
		}
	}
	if got, _, err := scanCount(st, m, datasets.ColumnScan{From: math.MinInt64, To: math.MaxInt64}); err != nil || got != all {
		t.Errorf("full scan: %d rows (%v), want %d", got, err, all)
	}
	cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{{Name: "category", As: datasets.AsSymbol}}, From: math.MinInt64, To: math.MaxInt64}
	if _, _, err := scanCount(st, m, cs); err == nil || !strings.Contains(err.Error(), "Symbols") {
		t.Errorf("symbols without a table: %v", err)
	}
}

// TestScanColumnsMalformedPart: a part whose bytes are damaged gives an
// error naming it (the decoders are guarded), never a crash; so does a
// part that is not Parquet at all.
func TestScanColumnsMalformedPart(t *testing.T) {
	ctx := context.Background()
	rows := synthOrders(3000, 5)
	cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{
		{Name: "order_id", As: datasets.AsHash}, {Name: "unit_price", As: datasets.AsFloat64}, {Name: "category", As: datasets.AsSymbol},
	}, Symbols: datasets.NewSymbols(), From: math.MinInt64, To: math.MaxInt64}
	st := newStore(t)
	m := writeAll(t, st, rows, datasets.WriterOptions{Dataset: "d", RowGroupRows: 200}, 512)
	key := m.Parts[0].Key
	good, err := datasets.ReadAll(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	damaged := 0
	for _, frac := range []float64{0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9} {
		b := append([]byte(nil), good...)
		at := int(frac * float64(len(b)))
		for i := at; i < at+64 && i < len(b)-8; i++ {
			b[i] ^= 0x5a
		}
		if _, err := datasets.PutBytes(ctx, st, key, b, datasets.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := scanCount(st, m, cs); err != nil {
			damaged++
			if !strings.Contains(err.Error(), key) {
				t.Errorf("damage at %.0f%%: error does not name the part: %v", frac*100, err)
			}
		}
	}
	if damaged == 0 {
		t.Error("no damage was detected")
	}
	if _, err := datasets.PutBytes(ctx, st, key, []byte("not parquet at all"), datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := scanCount(st, m, cs); err == nil || !strings.Contains(err.Error(), key) {
		t.Errorf("garbage part: %v", err)
	}
}

// TestScanColumnsAnonymous: with Anonymous the lines without a customer
// come too, under the empty key; Keep still applies.
func TestScanColumnsAnonymous(t *testing.T) {
	st := newStore(t)
	rows := synthOrders(5000, 3)
	m := writeAll(t, st, rows, datasets.WriterOptions{Dataset: "d", SpillRows: 700, RowGroupRows: 100}, 512)
	anon := 0
	for _, o := range rows {
		if o.CustomerID == "" {
			anon++
		}
	}
	if anon == 0 {
		t.Fatal("the synthetic orders have no anonymous line")
	}
	got, _, err := scanCount(st, m, datasets.ColumnScan{From: math.MinInt64, To: math.MaxInt64, Anonymous: true})
	if err != nil || got != len(rows) {
		t.Errorf("anonymous scan: %d rows (%v), want %d", got, err, len(rows))
	}
	none := func(k []byte) bool { return len(k) == 0 }
	if got, _, err := scanCount(st, m, datasets.ColumnScan{From: math.MinInt64, To: math.MaxInt64, Anonymous: true, Keep: none}); err != nil || got != anon {
		t.Errorf("anonymous only: %d rows (%v), want %d", got, err, anon)
	}
}
