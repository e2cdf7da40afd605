package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestImportedAndNativeChurnModels: an XGBoost churn model trained in
// Python on prevoir's own churn feature table (testdata/gbdt/churn, made
// by make_churn_xgb.py from the generator flags below) and a native model
// trained by prevoir score the same feature table through
// `models predict`: every row, in order, the imported one as xgboost did.
func TestImportedAndNativeChurnModels(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	fx := filepath.Join("..", "..", "testdata", "gbdt", "churn")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "2000", "--seed", "7", "--end", "2025-01-01", "--days", "500")
	cli("features", "build", "--task", "churn", "--as-of", "2024-10-01", "--labels")
	table := filepath.Join(dir, "churn.csv")
	cli("features", "export", "--task", "churn", "--as-of", "2024-10-01", table)

	// The exported table is the one the fixture was made from.
	exported := readCSV(t, table)
	ref := readCSV(t, filepath.Join(fx, "churn_xgb_reference.csv"))
	if len(exported) != len(ref) {
		t.Fatalf("exported %d rows, fixture %d", len(exported), len(ref))
	}
	for i := 1; i < len(ref); i++ {
		for j, name := range ref[0][:len(ref[0])-1] {
			if got := exported[i][colIndex(t, exported[0], name)]; got != ref[i][j] {
				t.Fatalf("row %d column %s: table %q, fixture %q", i, name, got, ref[i][j])
			}
		}
	}

	cli("models", "import", "--name", "churn-xgb", "--file", filepath.Join(fx, "churn_xgb.json"), "--task", "churn",
		"--reference", filepath.Join(fx, "churn_xgb_reference.csv"), "--tolerance", "1e-5")
	cli("train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "120d", "--name", "churn", "--min-class", "50")

	imported := readCSV(t, writeOut(t, dir, "xgb.csv", cli("models", "predict", "churn-xgb@latest", "--input", table, "--id", "customer_id")))
	native := readCSV(t, writeOut(t, dir, "native.csv", cli("models", "predict", "churn@latest", "--input", table, "--id", "customer_id")))
	if len(imported) != len(exported) || len(native) != len(exported) {
		t.Fatalf("rows: table %d, imported %d, native %d", len(exported), len(imported), len(native))
	}
	idCol := colIndex(t, exported[0], "customer_id")
	pred := len(ref[0]) - 1
	for i := 1; i < len(exported); i++ {
		id := exported[i][idCol]
		if imported[i][0] != id || native[i][0] != id {
			t.Fatalf("row %d: ids %s / %s, want %s", i, imported[i][0], native[i][0], id)
		}
		x := parseF(t, imported[i][1])
		want := parseF(t, ref[i][pred])
		if math.Abs(x-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("row %d (%s): imported model %v, xgboost %v", i, id, x, want)
		}
		if p := parseF(t, native[i][1]); !(p > 0 && p < 1) {
			t.Errorf("row %d (%s): native probability %v", i, id, p)
		}
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func writeOut(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func colIndex(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return -1
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}
