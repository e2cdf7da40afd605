package main

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
)

// TestOnlineRetailScores follows the README on UCI Online Retail: import
// it with the README's mapping, train churn, publish the scores as of
// 2011-11-01 and export them. The export holds one row per customer with
// a sale in the lookback (the scoring feature table's rows, no more, no
// fewer, no duplicates), sorted by customer_id, and its probabilities
// equal `models predict` on the same feature table.
func TestOnlineRetailScores(t *testing.T) {
	if testing.Short() {
		t.Skip("imports Online Retail and trains; skipped under -short")
	}
	src := datatest.Shared(t, "online_retail/by-day")
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := cliIn(t, store)
	cli("datasets", "import", "--dataset", "retail",
		"--map", "customer_id=CustomerID,order_id=InvoiceNo,timestamp=InvoiceDate,product_id=StockCode,quantity=Quantity,unit_price=UnitPrice,warehouse=Country",
		"--tz", "Europe/London", "--currency", "GBP", src)
	cli("train", "--dataset", "retail", "--task", "churn", "--as-of", "2011-09-01", "--cutoffs", "3", "--step", "90d", "--name", "churn", "--promote", "champion")
	cli("score", "--dataset", "retail", "--task", "churn", "--model", "churn@champion", "--as-of", "2011-11-01")
	export := filepath.Join(dir, "scores.csv")
	cli("scores", "export", "churn", "--dataset", "retail", "-o", export)

	table := filepath.Join(dir, "features.csv")
	cli("features", "export", "--dataset", "retail", "--task", "churn", "--as-of", "2011-11-01", table)
	pred := filepath.Join(dir, "predict.csv")
	cli("models", "predict", "churn@champion", "--input", table, "--id", "customer_id", "--output", pred)

	got, feats, want := readCSV(t, export), readCSV(t, table), readCSV(t, pred)
	if len(got) < 1000 || len(got) != len(feats) {
		t.Fatalf("export has %d rows, the feature table %d", len(got)-1, len(feats)-1)
	}
	gid, gp, gas := colIndex(t, got[0], "customer_id"), colIndex(t, got[0], "probability"), colIndex(t, got[0], "as_of")
	fid := colIndex(t, feats[0], "customer_id")
	wid, wp := colIndex(t, want[0], "customer_id"), colIndex(t, want[0], "score")
	pred1 := map[string]float64{}
	for _, r := range want[1:] {
		p, err := strconv.ParseFloat(r[wp], 64)
		if err != nil {
			t.Fatal(err)
		}
		pred1[r[wid]] = p
	}
	inTable := map[string]bool{}
	for _, r := range feats[1:] {
		inTable[r[fid]] = true
	}
	prev := ""
	for _, r := range got[1:] {
		id := r[gid]
		if id <= prev {
			t.Fatalf("export not sorted by customer_id or has duplicates: %q after %q", id, prev)
		}
		prev = id
		if !inTable[id] {
			t.Errorf("customer %s is published but not in the feature table", id)
		}
		if r[gas] != "2011-11-01" {
			t.Errorf("customer %s: as_of %s", id, r[gas])
		}
		p, err := strconv.ParseFloat(r[gp], 64)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := pred1[id]; !ok || math.Abs(p-w) > 1e-12 {
			t.Errorf("customer %s: published %v, models predict %v", id, p, w)
		}
	}
}
