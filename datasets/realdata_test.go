package datasets_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
)

// Figures from ../shared/data/online_retail/SOURCE.md (counted there with
// Python's csv module): 541,909 lines, 4,372 customers, sum of
// Quantity*UnitPrice 9,747,747.93.
func checkOnlineRetail(t *testing.T, st datasets.Store, name string) {
	t.Helper()
	d, err := datasets.Describe(context.Background(), st, name)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, v := range d.Value {
		total += v
	}
	if d.Lines != 541909 || d.Customers != 4372 || d.Products != 4070 || d.Warehouses != 38 || d.Orders != 25900 {
		t.Errorf("online retail: %d lines, %d customers, %d products, %d countries, %d orders", d.Lines, d.Customers, d.Products, d.Warehouses, d.Orders)
	}
	if math.Abs(total-9747747.93) > 0.005 {
		t.Errorf("sum of quantity x unit price = %.4f, want 9747747.93", total)
	}
	if d.First != "2010-12-01T08:26:00Z" || d.Last != "2011-12-09T12:50:00Z" {
		t.Errorf("range %s .. %s", d.First, d.Last)
	}
}

func TestRealOnlineRetail(t *testing.T) {
	dir := datatest.Shared(t, "online_retail/by-day")
	ctx := context.Background()
	st := newStore(t)
	res, err := datasets.Import(ctx, st, sources(t, dir), datasets.ImportOptions{Dataset: "retail", Map: retailMap(), TZ: "Europe/London", Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 0 || len(res.Files) != 305 {
		t.Errorf("%d rejected, %d files", res.Rejected, len(res.Files))
	}
	checkOnlineRetail(t, st, "retail")
	if _, err := datasets.Validate(ctx, st, "retail"); err != nil {
		t.Error(err)
	}

	// The customers with a sale line in [2010-09-01, 2011-09-01) in
	// London time: fees and adjustments are not sales (3,314, the churn
	// population of the features issue).
	m, _ := datasets.ReadManifest(ctx, st, "retail", "orders")
	loc, _ := m.Zone()
	end, _ := datasets.ParseDate("2011-09-01", loc)
	w := datasets.Window{Start: end.AddDate(-1, 0, 0), End: end}
	buyers := map[string]bool{}
	syms := datasets.NewSymbols()
	sale := syms.ID([]byte(datasets.LineSale))
	cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{{Name: "line_type", As: datasets.AsSymbol}},
		Symbols: syms, From: w.Start.UnixMicro(), To: w.End.UnixMicro()}
	err = datasets.ScanColumns(ctx, st, datasets.Orders, m, cs, func(b *datasets.Block, i int) int32 {
		return b.Cols[0].Symbol[i]
	}, func(key []byte, kinds []int32) error {
		if slices.Contains(kinds, sale) {
			buyers[string(key)] = true
		}
		return nil
	})
	if err != nil || len(buyers) != 3314 {
		t.Errorf("customers with a sale in %v: %d (%v), want 3314", w, len(buyers), err)
	}

	before := snapshot(t, st)
	res, err = datasets.Import(ctx, st, sources(t, dir), datasets.ImportOptions{Dataset: "retail", Map: retailMap(), TZ: "Europe/London", Currency: "GBP"})
	if err != nil || res.Manifest != nil || res.Rows != 0 {
		t.Errorf("re-import: %+v %v", res, err)
	}
	sameSnapshot(t, before, snapshot(t, st))
}

// Figures from ../shared/data/cdnow_sample/SOURCE.md: 6,919 purchases,
// 2,357 customers.
func TestRealCDNOW(t *testing.T) {
	f := datatest.Shared(t, "cdnow_sample/CDNOW_sample.txt")
	st := newStore(t)
	res, err := datasets.Import(context.Background(), st, sources(t, f), datasets.ImportOptions{
		Dataset: "cdnow", Format: datasets.TextFormat{Whitespace: true}, NoHeader: true, Currency: "USD",
		Map: map[string]string{"customer_id": "#1", "timestamp": "#3", "quantity": "#4", "amount": "#5"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := datasets.Describe(context.Background(), st, "cdnow")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 6919 || d.Customers != 2357 || d.First != "1997-01-01T00:00:00Z" || d.Last != "1998-06-30T00:00:00Z" {
		t.Errorf("cdnow: %d rows, %d customers, %s .. %s", res.Rows, d.Customers, d.First, d.Last)
	}
}

// Figures from ../shared/data/walmart_weekly_store_sales/SOURCE.md:
// 6,435 rows, 45 stores, total Weekly_Sales 6,737,218,987.11,
// weeks 2010-02-05 .. 2012-10-26 (DD/MM/YY).
func TestRealWalmart(t *testing.T) {
	f := datatest.Shared(t, "walmart_weekly_store_sales/Walmart.csv")
	st := newStore(t)
	_, err := datasets.Import(context.Background(), st, sources(t, f), datasets.ImportOptions{
		Dataset: "walmart", TimeFormat: "02/01/06", Currency: "USD",
		Map: map[string]string{"warehouse": "Store", "timestamp": "Date", "amount": "Weekly_Sales"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := datasets.Describe(context.Background(), st, "walmart")
	if err != nil {
		t.Fatal(err)
	}
	if d.Lines != 6435 || d.Warehouses != 45 || d.Customers != 0 || math.Abs(d.Value["sale"]-6737218987.11) > 0.005 ||
		d.First != "2010-02-05T00:00:00Z" || d.Last != "2012-10-26T00:00:00Z" {
		t.Errorf("walmart: %+v", d)
	}
}

// TestRealOnlineRetailFromS3 imports the daily files from a MinIO prefix,
// as from a data lake, then again: nothing is added.
func TestRealOnlineRetailFromS3(t *testing.T) {
	dir := datatest.Shared(t, "online_retail/by-day")
	srv := s3test.Start(t)
	ctx := context.Background()
	bucket := srv.NewBucket(t)
	lake, err := s3.New(ctx, bucket, "", srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := datasets.PutBytes(ctx, lake, "exports/online-retail/by-day/"+filepath.Base(f), b, datasets.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The dataset itself goes to another S3 store.
	st, err := s3.New(ctx, srv.NewBucket(t), "prevoir", srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := datasets.StoreSources(ctx, lake, "s3://"+bucket, "exports/online-retail/by-day")
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 305 {
		t.Fatalf("%d sources under the prefix", len(srcs))
	}
	t0 := time.Now()
	if _, err := datasets.Import(ctx, st, srcs, datasets.ImportOptions{Dataset: "retail", Map: retailMap()}); err != nil {
		t.Fatal(err)
	}
	t.Logf("import from S3 into S3: %s", time.Since(t0))
	checkOnlineRetail(t, st, "retail")
	before := snapshot(t, st)
	res, err := datasets.Import(ctx, st, srcs, datasets.ImportOptions{Dataset: "retail", Map: retailMap()})
	if err != nil || res.Manifest != nil {
		t.Errorf("re-import: %+v %v", res, err)
	}
	sameSnapshot(t, before, snapshot(t, st))
}
