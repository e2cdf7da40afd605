package datasets_test

import (
	"context"
	"os"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
)

// BenchmarkImportFolder imports the folder in $PREVOIR_BENCH_SOURCE (for
// profiling; skipped when unset).
func BenchmarkImportFolder(b *testing.B) {
	dir := os.Getenv("PREVOIR_BENCH_SOURCE")
	if dir == "" {
		b.Skip("PREVOIR_BENCH_SOURCE not set")
	}
	srcs, err := datasets.LocalSources([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]string{}
	if os.Getenv("PREVOIR_BENCH_RETAIL") != "" {
		m = retailMap()
	}
	for b.Loop() {
		st, err := local.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		res, err := datasets.Import(context.Background(), st, srcs, datasets.ImportOptions{Dataset: "bench", Map: m})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Rows), "rows/op")
	}
}

func retailMap() map[string]string {
	return map[string]string{"customer_id": "CustomerID", "order_id": "InvoiceNo", "timestamp": "InvoiceDate", "product_id": "StockCode", "quantity": "Quantity", "unit_price": "UnitPrice", "warehouse": "Country"}
}
