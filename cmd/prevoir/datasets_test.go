package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dsTestdata = "../../testdata/datasets/"

const retailMapFlag = "customer_id=CustomerID,order_id=InvoiceNo,timestamp=InvoiceDate,product_id=StockCode,quantity=Quantity,unit_price=UnitPrice,warehouse=Country"

func TestDatasetsImportDescribeCLI(t *testing.T) {
	store := t.TempDir()
	// Flags may follow the positional SOURCE.
	code, out, errOut := runCLI(t, "--store", store, "datasets", "import", dsTestdata+"retail_ok", "--name", "retail", "--map", retailMapFlag, "--tz", "Europe/London", "--currency", "GBP")
	if code != 0 || !strings.Contains(out, "imported 11 rows from 2 files into retail/orders") {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "--store", store, "datasets", "import", dsTestdata+"retail_ok", "--map", retailMapFlag, "--tz", "Europe/London", "--currency", "GBP")
	if code != 0 || !strings.Contains(out, "nothing to import into retail/orders: all 2 files already imported") {
		t.Errorf("re-import (dataset defaulted): %d %q", code, out)
	}
	code, out1, _ := runCLI(t, "--store", store, "datasets", "describe", "--json")
	_, out2, _ := runCLI(t, "--store", store, "--json", "datasets", "describe", "--dataset", "retail")
	if code != 0 || out1 != out2 {
		t.Fatalf("describe --json: %d\n%s\n%s", code, out1, out2)
	}
	var d struct {
		Lines     int64            `json:"lines"`
		Customers int64            `json:"customers"`
		LineTypes map[string]int64 `json:"line_types"`
	}
	if err := json.Unmarshal([]byte(out1), &d); err != nil || d.Lines != 11 || d.Customers != 5 || d.LineTypes["sale"] != 6 {
		t.Errorf("describe: %+v %v\n%s", d, err, out1)
	}
	for _, forbidden := range []string{store, "run", "seq", "created", "sha256"} {
		if strings.Contains(out1, forbidden) {
			t.Errorf("describe --json mentions %q", forbidden)
		}
	}
	code, out, _ = runCLI(t, "--store", store, "datasets", "describe")
	if code != 0 || !strings.Contains(out, "zone Europe/London, currency \"GBP\"") || !strings.Contains(out, "order lines 11, orders 10, customers 5") {
		t.Errorf("describe: %d %s", code, out)
	}
	code, out, _ = runCLI(t, "--store", store, "datasets", "ls")
	if code != 0 || !strings.Contains(out, "retail   orders  11") {
		t.Errorf("ls: %d %s", code, out)
	}
	code, out, _ = runCLI(t, "--store", store, "datasets", "validate")
	if code != 0 || !strings.Contains(out, "retail/orders: 2 parts, 11 rows: ok") {
		t.Errorf("validate: %d %s", code, out)
	}

	// A second dataset: --dataset is now required, and the error lists them.
	code, _, errOut = runCLI(t, "--store", store, "datasets", "import", "--name", "walmart", "--time-format", "02/01/06", "--map", "warehouse=Store,timestamp=Date,amount=Weekly_Sales", "--tz", "Europe/London", dsTestdata+"walmart_like")
	if code != 0 {
		t.Fatalf("walmart: %s", errOut)
	}
	code, _, errOut = runCLI(t, "--store", store, "datasets", "describe")
	if code != 2 || !strings.Contains(errOut, "holds 2 datasets: pass --dataset NAME (datasets: retail, walmart)") {
		t.Errorf("describe with two datasets: %d %s", code, errOut)
	}
}

func TestDatasetsImportErrorsCLI(t *testing.T) {
	store := t.TempDir()
	bad := dsTestdata + "bad_quantity/orders.csv"
	code, _, errOut := runCLI(t, "--store", store, "datasets", "import", "--name", "r", "--map", retailMapFlag, bad)
	if code != 1 || !strings.HasPrefix(errOut, "prevoir: "+bad+":3:3: column Quantity: value \"six\": not a number") {
		t.Errorf("bad quantity: %d %q", code, errOut)
	}
	if entries, _ := os.ReadDir(store); len(entries) != 0 {
		t.Errorf("a failed import left %d entries in the store", len(entries))
	}
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	code, out, errOut := runCLI(t, "--store", store, "datasets", "import", "--name", "r", "--map", retailMapFlag, "--max-bad-rows", "1", "--rejects", rejects, bad)
	if code != 0 || !strings.Contains(out, "1 rejected") {
		t.Errorf("--max-bad-rows 1: %d %q %q", code, out, errOut)
	}
	if b, _ := os.ReadFile(rejects); !strings.Contains(string(b), "six,not a number") {
		t.Errorf("rejects: %s", b)
	}
	// Usage errors exit 2.
	for _, args := range [][]string{
		{"--time-format", "%d/%m/%y"},
		{"--tz", "Mars/Olympus"},
		{"--mode", "merge"},
		{"--delimiter", "ab"},
		{"--map", "customer_id"},
	} {
		a := append([]string{"--store", store, "datasets", "import", "--name", "x", dsTestdata + "walmart_like"}, args...)
		code, _, errOut := runCLI(t, a...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
		if args[0] == "--time-format" && !strings.Contains(errOut, `"02/01/06"`) {
			t.Errorf("strftime hint missing: %s", errOut)
		}
	}
	// A map file, a headerless whitespace file.
	mf := filepath.Join(t.TempDir(), "cdnow.map")
	os.WriteFile(mf, []byte("# CDNOW\ncustomer_id=#1\ntimestamp=#3\nquantity=#4\namount=#5\n"), 0o644)
	code, out, errOut = runCLI(t, "--store", store, "datasets", "import", "--name", "cdnow", "--whitespace", "--no-header", "--map-file", mf, dsTestdata+"cdnow_like/CDNOW_sample.txt")
	if code != 0 || !strings.Contains(out, "imported 5 rows") {
		t.Errorf("cdnow: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "--store", store, "datasets", "import", "--name", "amb", "--map", retailMapFlag, dsTestdata+"ambiguous_date")
	if code != 1 || !strings.Contains(errOut, "ambiguous date layout") || !strings.HasPrefix(errOut, "prevoir: "+dsTestdata+"ambiguous_date/orders.csv:2:4:") {
		t.Errorf("ambiguous: %d %q", code, errOut)
	}
}
