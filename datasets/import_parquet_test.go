package datasets_test

import (
	"context"
	"sort"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/datatest"
)

// TestImportParquetDuckDB imports an orders file DuckDB wrote: an
// unsigned 32-bit customer id and a DECIMAL(20,2) price stored as
// FIXED_LEN_BYTE_ARRAY. The former import code read the id as
// -294967296 and the price as raw bytes (refused as "not a number").
func TestImportParquetDuckDB(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	src := sources(t, datatest.Testdata(t, "parquet/orders_duckdb.parquet"))
	res, err := datasets.Import(ctx, st, src, datasets.ImportOptions{Dataset: "duck", Map: map[string]string{"timestamp": "ts"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 10 {
		t.Fatalf("%d rows, want 10", res.Rows)
	}
	var rows []datasets.Order
	for _, p := range res.Manifest.Parts {
		got, err := datasets.ReadPart(ctx, st, datasets.Orders, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, got...)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Timestamp < rows[j].Timestamp })
	// make.mjs: customer 4000000000 + i%3, price 1234567890123.45 + i,
	// quantity i%4+1, at 2024-03-01 12:00 UTC + i minutes.
	for i, r := range rows {
		wantCust := []string{"4000000000", "4000000001", "4000000002"}[i%3]
		if r.CustomerID != wantCust {
			t.Errorf("row %d: customer %q, want %q", i, r.CustomerID, wantCust)
		}
		if r.UnitPrice == nil || *r.UnitPrice != 1234567890123.45+float64(i) {
			t.Errorf("row %d: unit price %v, want %v", i, r.UnitPrice, 1234567890123.45+float64(i))
		}
		if r.Quantity != float64(i%4+1) {
			t.Errorf("row %d: quantity %v", i, r.Quantity)
		}
		if want := int64(1709294400+60*i) * 1e6; r.Timestamp != want {
			t.Errorf("row %d: timestamp %d, want %d", i, r.Timestamp, want)
		}
	}
}
