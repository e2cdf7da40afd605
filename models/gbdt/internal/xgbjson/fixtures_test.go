package xgbjson

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// fixtureDir holds models made by testdata/xgboost/make_fixtures.py with
// Debian's xgboost 1.7.4, and xgboost's own predictions for them.
var fixtureDir = filepath.Join("..", "..", "..", "..", "testdata", "xgboost")

// fixtures are the supported models: one per objective, plus dart.
var fixtures = []struct {
	name, objective, booster string
	trees                    int
	named                    bool
}{
	{"binary_logistic", "binary:logistic", "gbtree", 100, true},
	{"reg_logistic", "reg:logistic", "gbtree", 50, false},
	{"reg_squarederror", "reg:squarederror", "gbtree", 80, true},
	{"count_poisson", "count:poisson", "gbtree", 150, false},
	{"reg_tweedie", "reg:tweedie", "gbtree", 100, true},
	{"reg_gamma", "reg:gamma", "gbtree", 80, false},
	{"dart_binary", "binary:logistic", "dart", 60, false},
}

// reference is a fixture's scoring rows and xgboost's outputs.
type reference struct {
	names          []string
	rows           [][]float64
	pred, margin   []float64
	boundaryRowsAt int
}

func readReference(t testing.TB, path string) reference {
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
	head := recs[0]
	nf := len(head) - 2
	if head[nf] != "prediction" || head[nf+1] != "margin" {
		t.Fatalf("%s: header %v", path, head)
	}
	ref := reference{names: head[:nf]}
	parse := func(s string) float64 {
		if s == "" {
			return math.NaN()
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return v
	}
	for _, rec := range recs[1:] {
		row := make([]float64, nf)
		for j := range row {
			row[j] = parse(rec[j])
		}
		ref.rows = append(ref.rows, row)
		ref.pred = append(ref.pred, parse(rec[nf]))
		ref.margin = append(ref.margin, parse(rec[nf+1]))
	}
	return ref
}

// evalTree evaluates t as XGBoost does: x < Value in float32, a missing
// x to the default side.
func evalTree(t *Tree, x []float32) float32 {
	i := int32(0)
	for t.Left[i] != -1 {
		v := x[t.Feature[i]]
		switch {
		case v < t.Value[i]:
			i = t.Left[i]
		case v != v && t.DefaultLeft[i]:
			i = t.Left[i]
		default:
			i = t.Right[i]
		}
	}
	return t.Value[i]
}

// link is each fixture objective's link, for these tests only (package
// gbdt owns the mapping).
func link(objective string) string {
	switch objective {
	case "binary:logistic", "reg:logistic":
		return "logit"
	case "count:poisson", "reg:tweedie", "reg:gamma":
		return "log"
	}
	return "identity"
}

// margin scores a row as XGBoost does: inputs rounded to float32, tree
// outputs added in float32 to the float32 base margin, in order.
func margin(m *Model, row []float64) float32 {
	x := make([]float32, len(row))
	for i, v := range row {
		x[i] = float32(v)
	}
	s := m.BaseScore
	switch link(m.Objective) {
	case "logit":
		s = -float32(math.Log(float64(1/s-1))) + 0
	case "log":
		s = float32(math.Log(float64(s)))
	}
	for i := range m.Trees {
		s += evalTree(&m.Trees[i], x)
	}
	return s
}

func response(link string, m float32) float64 {
	switch link {
	case "logit":
		return 1 / (1 + math.Exp(-float64(m)))
	case "log":
		return math.Exp(float64(m))
	}
	return float64(m)
}

func readFixture(t testing.TB, name, ext string) *Model {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name+ext))
	if err != nil {
		t.Fatal(err)
	}
	var m *Model
	if ext == ".json" {
		m, err = ReadJSON(b, Limits{})
	} else {
		m, err = ReadUBJSON(b, Limits{})
	}
	if err != nil {
		t.Fatalf("%s%s: %v", name, ext, err)
	}
	return m
}

// TestFixtureParity checks every fixture, JSON and UBJSON, against
// xgboost 1.7.4's own Booster.predict outputs: the margin, evaluated with
// XGBoost's float32 arithmetic on the trees Read returns, bit for bit;
// the prediction within 1e-6 * max(1, |xgboost|).
func TestFixtureParity(t *testing.T) {
	for _, fx := range fixtures {
		ref := readReference(t, filepath.Join(fixtureDir, fx.name+".csv"))
		for _, ext := range []string{".json", ".ubj"} {
			t.Run(fx.name+ext, func(t *testing.T) {
				m := readFixture(t, fx.name, ext)
				if m.Objective != fx.objective || m.Booster != fx.booster ||
					len(m.Trees) != fx.trees || m.Version != "1.7.4" || m.NumFeatures != len(ref.names) {
					t.Fatalf("model %s %s, %d trees, version %s, %d features", m.Objective, m.Booster,
						len(m.Trees), m.Version, m.NumFeatures)
				}
				if fx.named != (m.FeatureNames != nil) || fx.named && !reflect.DeepEqual(m.FeatureNames, ref.names) {
					t.Fatalf("feature names %v, csv header %v", m.FeatureNames, ref.names)
				}
				var worstM, worstP float64
				for i, row := range ref.rows {
					got32 := margin(m, row)
					got := float64(got32)
					if d := math.Abs(got-ref.margin[i]) / math.Max(1, math.Abs(ref.margin[i])); d > worstM {
						worstM = d
					}
					p := response(link(m.Objective), got32)
					if d := math.Abs(p-ref.pred[i]) / math.Max(1, math.Abs(ref.pred[i])); d > worstP {
						worstP = d
					}
					if d := math.Abs(p - ref.pred[i]); d > 1e-6*math.Max(1, math.Abs(ref.pred[i])) {
						t.Errorf("row %d: prediction %.9g, xgboost %.9g (margin %.9g, xgboost %.9g)", i, p, ref.pred[i], got, ref.margin[i])
					}
					if got != ref.margin[i] {
						t.Errorf("row %d: margin %.9g, xgboost %.9g", i, got, ref.margin[i])
					}
				}
				t.Logf("%d rows: max scaled difference margin %.2g, prediction %.2g", len(ref.rows), worstM, worstP)
			})
		}
	}
}

// TestJSONEqualsUBJSON checks that both encodings of a model convert to
// the same Model.
func TestJSONEqualsUBJSON(t *testing.T) {
	for _, fx := range fixtures {
		a, b := readFixture(t, fx.name, ".json"), readFixture(t, fx.name, ".ubj")
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: JSON and UBJSON differ", fx.name)
		}
	}
}
