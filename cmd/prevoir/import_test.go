package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runImportCLI runs the CLI in-process, returning stdout and stderr
// together, and the error.
func runImportCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := newApp(&stdout, &stderr)
	err := app.RunContext(context.Background(), append([]string{"prevoir"}, args...))
	return stdout.String() + stderr.String(), err
}

func readFloats(t *testing.T, path string, col string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	if col != "" {
		k = -1
		for i, h := range recs[0] {
			if h == col {
				k = i
			}
		}
		if k < 0 {
			t.Fatalf("%s: no column %q in %v", path, col, recs[0])
		}
		recs = recs[1:]
	}
	out := make([]float64, len(recs))
	for i, r := range recs {
		if out[i], err = strconv.ParseFloat(r[k], 64); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func closeRel(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= tol*math.Max(1, math.Abs(want[i]))) {
			t.Fatalf("%s row %d: %.17g, want %.17g", name, i, got[i], want[i])
		}
	}
}

// TestModelsImportPredict: a LightGBM 4 model imported with a schema in
// another order and a reference check, then scored by `models predict`,
// gives LightGBM's predictions (1e-12 relative) and raw scores.
func TestModelsImportPredict(t *testing.T) {
	dir := t.TempDir()
	fx := filepath.Join("..", "..", "testdata", "gbdt", "lgb4")
	schema := writeImportFile(t, dir, "schema.json", `[{"name":"loyalty_score","kind":"numeric"},{"name":"region","kind":"categorical"},
		{"name":"price_index","kind":"numeric"},{"name":"visits_30d","kind":"numeric"},{"name":"days_since_promo","kind":"numeric"},{"name":"basket_size","kind":"numeric"}]`)
	input, err := os.ReadFile(filepath.Join(fx, "binary_categorical_input.csv"))
	if err != nil {
		t.Fatal(err)
	}
	pred, err := os.ReadFile(filepath.Join(fx, "binary_categorical_pred.txt"))
	if err != nil {
		t.Fatal(err)
	}
	in, pr := strings.Split(strings.TrimSpace(string(input)), "\n"), strings.Split(strings.TrimSpace(string(pred)), "\n")
	var ref strings.Builder
	ref.WriteString(in[0] + ",prediction\n")
	for i, p := range pr {
		ref.WriteString(in[i+1] + "," + p + "\n")
	}
	refPath := writeImportFile(t, dir, "reference.csv", ref.String())
	store := filepath.Join(dir, "store")
	out, err := runImportCLI(t, "--store", store, "models", "import", "--name", "propensity", "--file", filepath.Join(fx, "binary_categorical.txt"),
		"--schema", schema, "--reference", refPath, "--tolerance", "1e-12")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if !strings.Contains(out, "imported propensity@1: lightgbm lgb-text") || !strings.Contains(out, "reference check reference.csv: 2000 rows") {
		t.Errorf("import output:\n%s", out)
	}
	inPath := filepath.Join(fx, "binary_categorical_input.csv")
	for _, c := range []struct{ kind, want string }{{"response", "binary_categorical_pred.txt"}, {"raw", "binary_categorical_raw.txt"}} {
		outPath := filepath.Join(dir, c.kind+".csv")
		if o, err := runImportCLI(t, "--store", store, "models", "predict", "--input", inPath, "--output", outPath, "--output-kind", c.kind, "propensity"); err != nil {
			t.Fatalf("predict: %v\n%s", err, o)
		}
		closeRel(t, c.kind, readFloats(t, outPath, lastHeader(t, outPath)), readFloats(t, filepath.Join(fx, c.want), ""), 1e-12)
	}

	zeros := writeImportFile(t, dir, "zeros.bin", string(make([]byte, 4096)))
	if out, err := runImportCLI(t, "--store", store, "models", "import", "--name", "z", "--file", zeros, "--schema", schema); err == nil || !strings.Contains(err.Error(), "zero bytes") {
		t.Errorf("zeros: err = %v\n%s", err, out)
	}
	if _, err := runImportCLI(t, "--store", store, "models", "import", "--name", "z", "--file", zeros); err == nil {
		t.Errorf("neither --task nor --schema: no error")
	}
}

func lastHeader(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := strings.Split(strings.SplitN(string(b), "\n", 2)[0], ",")
	return strings.TrimSpace(h[len(h)-1])
}

// TestModelsImportXGBoostJSON: an XGBoost 1.7.4 JSON and UBJSON fixture of
// package gbdt (through its internal xgbjson reader) passes its
// reference check within 1e-5.
func TestModelsImportXGBoostJSON(t *testing.T) {
	fx := filepath.Join("..", "..", "testdata", "xgboost")
	if _, err := os.Stat(filepath.Join(fx, "binary_logistic.json")); err != nil {
		t.Skipf("xgboost fixtures not present: %v", err)
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	header := strings.Split(strings.SplitN(string(must(os.ReadFile(filepath.Join(fx, "binary_logistic.csv")))), "\n", 2)[0], ",")
	var fs []string
	for _, h := range header {
		if h != "prediction" && h != "margin" {
			fs = append(fs, `{"name":"`+h+`","kind":"numeric"}`)
		}
	}
	schema := writeImportFile(t, dir, "schema.json", "["+strings.Join(fs, ",")+"]")
	for _, ext := range []string{"json", "ubj"} {
		out, err := runImportCLI(t, "--store", store, "models", "import", "--name", "xgb"+ext, "--file", filepath.Join(fx, "binary_logistic."+ext),
			"--schema", schema, "--reference", filepath.Join(fx, "binary_logistic.csv"), "--tolerance", "1e-5")
		if err != nil {
			t.Fatalf("%s: %v\n%s", ext, err, out)
		}
		t.Logf("%s", out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func writeImportFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
