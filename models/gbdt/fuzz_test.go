package gbdt

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/models"
)

// fuzzLimits keep fuzzing fast; they bound, they do not change, what is
// accepted.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxTrees: 1000, MaxLeaves: 4096, MaxNodes: 1 << 16, MaxFeatures: 1000, MaxCategory: 1 << 12, MaxLine: 1 << 20}

// addSeeds adds every committed fixture model plus synthetic XGBoost
// binaries and the hostile shapes of TestHostileInputs.
func addSeeds(f *testing.F) {
	for _, pattern := range []string{"lgb4/*.txt", "leaves/*", "fuzz/*"} {
		paths, _ := filepath.Glob(filepath.Join(fixtures, pattern))
		for _, p := range paths {
			if strings.HasSuffix(p, "_pred.txt") || strings.HasSuffix(p, "_raw.txt") || strings.HasSuffix(p, ".md") {
				continue
			}
			if b, err := os.ReadFile(p); err == nil && len(b) <= 16<<10 {
				f.Add(b)
			}
		}
	}
	f.Add(xgbBinary("binary:logistic", "gbtree", 2, 0, stumpTrees, -1))
	f.Add(xgbBinary("reg:tweedie", "dart", 2, 0.5, stumpTrees, -1))
	f.Add(xgbBinary("binary:logistic", "gbtree", 2, 0, stumpTrees, 1<<31))
	f.Add([]byte("binf"))
	f.Add([]byte{0x80, 4, 0x95})
	f.Add([]byte(`{"learner": {"gradient_booster": {}}}`))
	f.Add([]byte(`{"name":"tree","version":"v4","num_class":1,"num_tree_per_iteration":1,"max_feature_idx":0,"objective":"regression","tree_info":[{"num_leaves":1,"num_cat":0,"tree_structure":{"leaf_value":1}}]}`))
	f.Add([]byte("{U\x07learner{}}"))
	f.Add(make([]byte, 512))
}

// FuzzSniff: Sniff never panics and either names a format or refuses.
func FuzzSniff(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		head := b[:min(len(b), SniffLen)]
		fm, err := Sniff(head, int64(len(b)))
		if (fm == "") == (err == nil) {
			t.Fatalf("Sniff = %q, %v", fm, err)
		}
	})
}

// FuzzLightGBMText: the text parser never panics, and what it accepts
// leaves loads.
func FuzzLightGBMText(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseLightGBMText(context.Background(), bytes.NewReader(b), fuzzLimits)
		if err != nil {
			return
		}
		if _, err := loadLeaves(m.ens.leavesText()); err != nil {
			t.Fatalf("validated model not loadable: %v", err)
		}
	})
}

// FuzzLightGBMJSON: the JSON parser never panics, and what it accepts
// leaves loads.
func FuzzLightGBMJSON(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseLightGBMJSON(context.Background(), bytes.NewReader(b), fuzzLimits)
		if err != nil {
			return
		}
		if _, err := loadLeaves(m.ens.leavesText()); err != nil {
			t.Fatalf("validated model not loadable: %v", err)
		}
	})
}

// FuzzXGBoostBinary: the binary validator never panics, and leaves loads
// what it accepts.
func FuzzXGBoostBinary(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		xm, err := parseXGBoostBinary(b, fuzzLimits)
		if err != nil {
			return
		}
		if _, err := fromXGBoostBinary(xm); err != nil {
			t.Fatalf("validated model not loadable: %v", err)
		}
	})
}

// FuzzImport: the whole path (sniff, parse, leaves, bind) never panics,
// and an imported model scores zeros, NaNs and extremes without error.
func FuzzImport(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Import(context.Background(), bytes.NewReader(b), int64(len(b)), Options{Limits: fuzzLimits, Objective: "regression", Threads: 1})
		if err != nil {
			return
		}
		n := len(m.Card().Inputs.Features)
		vals := make([]float64, 0, 4*n)
		for _, v := range []float64{0, math.NaN(), -1e308, 3e9} {
			for j := 0; j < n; j++ {
				vals = append(vals, v)
			}
		}
		out := make([]float64, 4)
		for _, k := range []models.OutputKind{models.Raw, models.Response} {
			if err := m.Score(out, models.Batch{Rows: 4, Cols: n, Values: vals}, k); err != nil {
				t.Fatalf("score: %v", err)
			}
		}
	})
}

// FuzzReference: the reference check over the table reader never panics.
func FuzzReference(f *testing.F) {
	m := importFile(f, filepath.Join(fixtures, "leaves", "model_simple.txt"), Options{})
	if b, err := os.ReadFile(filepath.Join(fixtures, "fuzz", "reference.csv")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("prediction\n1\n"))
	f.Add([]byte("Column_1,Column_0,prediction,x\n\"1\",2,3,4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := table.Open(bytes.NewReader(b), int64(len(b)), "fuzz.csv")
		if err != nil {
			return
		}
		_, _ = CheckReference(context.Background(), m, r, "fuzz.csv", models.Response, 1e-6)
	})
}
