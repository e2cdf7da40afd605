package gbdt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// TestLeavesTestdata scores every binary and regression model of leaves'
// own test data with the inputs, expected outputs and tolerances of
// leaves' tests (leaves_test.go at 25d19a787328; see
// ../shared/data/leaves_testdata/SOURCE.md).
func TestLeavesTestdata(t *testing.T) {
	dir := datatest.Shared(t, "leaves_testdata")
	p := func(n string) string { return filepath.Join(dir, n) }
	tsv := func(n string) [][]float64 { return readMatrix(t, p(n), "\t", false) }
	cases := []struct {
		name  string
		model string
		opts  Options
		rows  func() [][]float64
		want  string
		kind  models.OutputKind
		tol   float64
	}{
		// TestLGDARTBreastCancer: probabilities, 1e-6.
		{"lg_dart", "lg_dart_breast_cancer.model", Options{}, func() [][]float64 { return tsv("breast_cancer_test.tsv") }, "lg_dart_breast_cancer_true_predictions.txt", models.Response, 1e-6},
		// TestLGJsonBreastCancer: the same model as JSON; the file has no
		// objective (leaves' test applies the sigmoid itself).
		{"lg_json", "lg_dart_breast_cancer.json", Options{Objective: "binary"}, func() [][]float64 { return tsv("breast_cancer_test.tsv") }, "lg_dart_breast_cancer_true_predictions.txt", models.Response, 1e-6},
		// TestLGRandomForestIris: CSR input, absent = 0 for LightGBM, 1e-6.
		{"lg_rf_iris", "lg_rf_iris.model", Options{}, func() [][]float64 { return readLibsvm(t, p("iris_test.libsvm"), 4, 0) }, "lg_rf_iris_true_predictions.txt", models.Response, 1e-6},
		// TestGenlinFMTP*: response scale (exp), 1e-6.
		{"poisson", "genlin_fmtp_poisson_Frequency.model", Options{}, func() [][]float64 { return tsv("genlin_fmtp_poisson_Frequency_features.tsv") }, "genlin_fmtp_poisson_Frequency_true_predictions.txt", models.Response, 1e-6},
		{"gamma", "genlin_fmtp_gamma_AvgClaimAmount.model", Options{}, func() [][]float64 { return tsv("genlin_fmtp_gamma_AvgClaimAmount_features.tsv") }, "genlin_fmtp_gamma_AvgClaimAmount_true_predictions.txt", models.Response, 1e-6},
		{"tweedie", "genlin_fmtp_tweedie_PurePremium.model", Options{}, func() [][]float64 { return tsv("genlin_fmtp_tweedie_PurePremium_features.tsv") }, "genlin_fmtp_tweedie_PurePremium_true_predictions.txt", models.Response, 1e-6},
		// TestXGAgaricus: CSR input, absent = missing for XGBoost, 1e-7.
		{"xg_agaricus", "xgagaricus.model", Options{}, func() [][]float64 { return readLibsvm(t, p("agaricus_test.libsvm"), 127, nan) }, "xgagaricus_true_predictions.txt", models.Response, 1e-7},
		// TestXGDARTAgaricus: raw margins with ntree_limit=10, 1e-5.
		{"xg_dart_agaricus", "xg_dart_agaricus.model", Options{Iterations: 10}, func() [][]float64 { return readLibsvm(t, p("agaricus_test.libsvm"), 127, nan) }, "xg_dart_agaricus_true_predictions.txt", models.Raw, 1e-5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := importFile(t, p(c.model), c.opts)
			got := score(t, m, nil, c.rows(), c.kind)
			worst := assertClose(t, c.name, got, readColumn(t, p(c.want)), c.tol, false)
			t.Logf("%s: %d rows, max |diff| %.3g (tolerance %g); card warnings %q", c.model, len(got), worst, c.tol, m.Card().Warnings)
		})
	}
}

// TestLeavesTestdataRefused: multiclass, gblinear, pickles and tree
// fragments are refused by name.
func TestLeavesTestdataRefused(t *testing.T) {
	dir := datatest.Shared(t, "leaves_testdata")
	for file, want := range map[string]string{
		"lgmulticlass.model":                    "multiclass",
		"lg_kddcup99.model":                     "multiclass",
		"xgdermatology.model":                   "multiclass",
		"xgblin_agaricus.model":                 "gblinear",
		"sk_gradient_boosting_classifier.model": "pickle",
		"sk_iris.model":                         "pickle",
		"tree_1leaf.txt":                        "fragment",
		"agaricus_test.libsvm":                  "text that is not",
		"breast_cancer_test.tsv":                "tab-separated",
		"internal_pickle/ndarray.pickle0":       "binary data",
	} {
		_, err := importPath(filepath.Join(dir, file), Options{})
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, models.ErrUnsupported) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want a refusal mentioning %q", file, err, want)
		}
	}
}

// TestModelSimple is leaves' TestLGEnsemble on the committed copy of
// model_simple.txt: raw outputs of both trees, tolerance 1e-7.
func TestModelSimple(t *testing.T) {
	m := importFile(t, filepath.Join(fixtures, "leaves", "model_simple.txt"), Options{})
	rows := [][]float64{{0, 0}, {1000, 0}, {800, 0}, {800, 100}, {0, 100}, {1000, nan}, {nan, nan}}
	want := []float64{0.29462594, 0.39565483, 0.39565483, 0.69580371, 0.69580371, 0.39565483, 0.29462594}
	assertClose(t, "model_simple", score(t, m, nil, rows, models.Raw), want, 1e-7, false)
	if got := m.Card().Inputs.Features[1].Kind; got != features.Categorical {
		t.Errorf("feature 1 kind %s, want categorical (the first split is categorical on it)", got)
	}
}

// TestLGBJSONTree is leaves' TestLGEnsembleJSON1tree: exact raw values.
func TestLGBJSONTree(t *testing.T) {
	dir := datatest.Shared(t, "leaves_testdata")
	m := importFile(t, filepath.Join(dir, "lg_1tree.json"), Options{Objective: "regression"})
	rows := [][]float64{{0, 0}, {0, 11}, {0.13, 11}, {0, 1}, {0, 10}, {0, 100}, {0.15, 0}}
	want := []float64{0.4242, 0.4242, 0.4242, 0.4703, 0.4703, 0.4703, 1.1111}
	assertClose(t, "lg_1tree", score(t, m, nil, rows, models.Raw), want, 0, false)
	m = importFile(t, filepath.Join(dir, "lg_1tree_1leaf.json"), Options{Objective: "regression"})
	assertClose(t, "lg_1tree_1leaf", score(t, m, nil, [][]float64{make([]float64, 41)}, models.Raw), []float64{0.42}, 0, false)
}

// lgb4Case checks one lightgbm4 case: _pred.txt and _raw.txt within
// 1e-12 * max(1, |LightGBM|) (LightGBM writes 17 significant digits).
func lgb4Case(t *testing.T, dir, name string) {
	m := importFile(t, filepath.Join(dir, name+".txt"), Options{})
	header, rows := readCSV(t, filepath.Join(dir, name+"_input.csv"))
	got := score(t, m, header, rows, models.Response)
	worst := assertClose(t, name+" pred", got, readColumn(t, filepath.Join(dir, name+"_pred.txt")), 1e-12, true)
	t.Logf("%s: %d rows, response max |diff| %.3g", name, len(rows), worst)
	rawPath := filepath.Join(dir, name+"_raw.txt")
	if _, err := os.Stat(rawPath); err == nil {
		got = score(t, m, header, rows, models.Raw)
		worst = assertClose(t, name+" raw", got, readColumn(t, rawPath), 1e-12, true)
		t.Logf("%s: raw max |diff| %.3g", name, worst)
	}
}

// TestLightGBM4 scores every model of ../shared/data/lightgbm4 against
// LightGBM's own predictions; the linear-tree model is refused by name.
func TestLightGBM4(t *testing.T) {
	dir := datatest.Shared(t, "lightgbm4")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), "_input.csv")
		if !ok {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			if name == "linear_tree_regression" {
				_, err := importPath(filepath.Join(dir, name+".txt"), Options{})
				if !errors.Is(err, models.ErrUnsupported) || !strings.Contains(err.Error(), "linear") {
					t.Fatalf("linear tree: err = %v, want a refusal naming the linear tree", err)
				}
				t.Logf("refused: %v", err)
				return
			}
			lgb4Case(t, dir, name)
		})
	}
	if n < 6 {
		t.Errorf("found %d cases in %s, want at least 6", n, dir)
	}
}

// TestLightGBM4Fixtures runs the committed copies: always, without
// ../shared.
func TestLightGBM4Fixtures(t *testing.T) {
	for _, name := range []string{"binary_categorical", "rf_binary"} {
		t.Run(name, func(t *testing.T) { lgb4Case(t, filepath.Join(fixtures, "lgb4"), name) })
	}
}
