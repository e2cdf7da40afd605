package features

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/datatest"
)

func importRetail(t *testing.T, st datasets.Store, name string, files []string) {
	t.Helper()
	srcs, err := datasets.LocalSources(files)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{"customer_id": "CustomerID", "order_id": "InvoiceNo", "timestamp": "InvoiceDate", "product_id": "StockCode",
		"quantity": "Quantity", "unit_price": "UnitPrice", "warehouse": "Country"}
	if _, err := datasets.Import(context.Background(), st, srcs, datasets.ImportOptions{Dataset: name, Map: m, TZ: "Europe/London", Currency: "GBP"}); err != nil {
		t.Fatal(err)
	}
}

// TestOnlineRetail: as of 2011-09-01 the churn rows are the 3,314
// customers with a sale line in the year before (fees and adjustments are
// not sales), and describe --json from all 305 days equals, byte for
// byte, the one from only the days before 2011-09-01.
func TestOnlineRetail(t *testing.T) {
	dir := datatest.Shared(t, "online_retail/by-day")
	ctx := context.Background()
	st := newStore(t)
	all, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil || len(all) != 305 {
		t.Fatalf("%d files, %v", len(all), err)
	}
	var before []string
	for _, f := range all {
		if filepath.Base(f) < "2011-09-01" {
			before = append(before, f)
		}
	}
	importRetail(t, st, "all", all)
	importRetail(t, st, "before", before)
	describe := func(name string) []byte {
		r := mustBuild(t, st, Options{Dataset: name, AsOf: "2011-09-01"})
		if r.Rows != 3314 {
			t.Errorf("%s: %d churn rows as of 2011-09-01, want 3314", name, r.Rows)
		}
		d, err := Describe(ctx, st, r.Manifest)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(d, "", "  ")
		return b
	}
	a, b := describe("all"), describe("before")
	if !bytes.Equal(a, b) {
		t.Errorf("describe --json differs between all days and the days before as_of:\n%s\n---\n%s", a, b)
	}
	for _, name := range []string{`"recency_days"`, `"orders_90d"`, `"spend_90d"`} {
		if !strings.Contains(string(a), name) {
			t.Errorf("describe lacks %s", name)
		}
	}
	// Labels: a 90-day window from 2011-09-01 ends before 2011-12-09.
	r := mustBuild(t, st, Options{Dataset: "all", AsOf: "2011-09-01", Labels: true})
	if b := r.Manifest.Balance; b == nil || b.Positives+b.Negatives != 3314 || b.Positives == 0 || b.Negatives == 0 {
		t.Errorf("balance %+v", r.Manifest.Balance)
	}
	if _, err := Build(ctx, st, Options{Dataset: "before", AsOf: "2011-09-01", Labels: true}); err == nil {
		t.Error("labels built past the end of the data")
	}
	t.Logf("%s", a)
}
