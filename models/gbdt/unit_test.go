package gbdt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

func importBytes(t *testing.T, data []byte, opts Options) *Model {
	t.Helper()
	m, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestXGBoostFloat32Semantics: XGBoost sends x left when float32(x) < t;
// leaves compares x <= t in float64. With the patched thresholds and
// float32 inputs, the boundary goes right as in XGBoost.
func TestXGBoostFloat32Semantics(t *testing.T) {
	m := importBytes(t, xgbBinary("reg:squarederror", "gbtree", 2, 0.5, stumpTrees, -1), Options{})
	rows := [][]float64{
		{0.5, 3},             // x0 == t: right (1); x1 >= 2: right (-0.25)
		{0.49999999999, 2},   // rounds to 0.5 in float32: right; x1 == 2: right
		{0.4999999, 1.99999}, // float32 below 0.5: left (-1); below 2: left (0.25)
		{nan, nan},           // missing: right (1); missing left (0.25)
	}
	// base_score 0.5 is stored as the margin in 0.90 binaries.
	want := []float64{0.5 + 1 - 0.25, 0.5 + 1 - 0.25, 0.5 - 1 + 0.25, 0.5 + 1 + 0.25}
	assertClose(t, "stumps", score(t, m, nil, rows, models.Response), want, 0, false)
	c := m.Card()
	if c.Kind != models.KindXGBoost || c.Link != LinkIdentity || c.Source.Trees != 2 || c.Source.Format != "xgb-bin" {
		t.Errorf("card %+v source %+v", c, c.Source)
	}
	if c.Inputs.Names()[1] != "f1" {
		t.Errorf("inputs %v, want f0, f1", c.Inputs.Names())
	}
	// Logistic: sigmoid of the margin.
	m = importBytes(t, xgbBinary("binary:logistic", "dart", 2, 0, stumpTrees, -1), Options{})
	got := score(t, m, nil, [][]float64{{0, 0}}, models.Response)
	assertClose(t, "logistic", got, []float64{1 / (1 + math.Exp(0.75))}, 1e-15, false)
}

func TestXGBoostRefusals(t *testing.T) {
	for _, c := range []struct {
		data []byte
		want string
	}{
		{xgbBinary("multi:softprob", "gbtree", 2, 0, stumpTrees, -1), "multiclass"},
		{xgbBinary("binary:logistic", "gblinear", 2, 0, stumpTrees, -1), "gblinear"},
		{xgbBinary("rank:pairwise", "gbtree", 2, 0, stumpTrees, -1), "not supported"},
		{xgbBinary("binary:logistic", "gbtree", 1, 0, stumpTrees, -1), "feature 1 of 1"},
		{xgbBinary("binary:logistic", "gbtree", 2, 0, [][]xnode{{{1, 1, 0, 0.5}, {-1, -1, 0, 1}}}, -1), "children"},
		{xgbBinary("binary:logistic", "gbtree", 2, 0, [][]xnode{{{1, 2, 0, 0.5}, {-1, -1, 0, float32(math.NaN())}, {-1, -1, 0, 1}}}, -1), "NaN"},
	} {
		_, err := Import(context.Background(), bytes.NewReader(c.data), int64(len(c.data)), Options{})
		if !errors.Is(err, models.ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want a refusal mentioning %q", err, c.want)
		}
	}
}

func schemaOf(kinds map[string]features.Kind, names ...string) *features.Schema {
	s := &features.Schema{}
	for _, n := range names {
		k := kinds[n]
		if k == "" {
			k = features.Numeric
		}
		s.Features = append(s.Features, features.Feature{Name: n, Kind: k})
	}
	return s
}

// TestBinding: names bind by name and reorder; missing and extra features
// are refused by name; kinds that disagree are card warnings.
func TestBinding(t *testing.T) {
	dir := filepath.Join(fixtures, "lgb4")
	path := filepath.Join(dir, "binary_categorical.txt")
	names := []string{"region", "price_index", "visits_30d", "days_since_promo", "basket_size", "loyalty_score"}
	rev := append([]string(nil), names...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	m := importFile(t, path, Options{Schema: schemaOf(nil, rev...), Task: "propensity"})
	if got := m.Card().Inputs.Names(); strings.Join(got, ",") != strings.Join(rev, ",") {
		t.Errorf("inputs %v, want the schema order %v", got, rev)
	}
	if w := strings.Join(m.Card().Warnings, "\n"); !strings.Contains(w, `feature "region": the schema says numeric, the model splits it as categorical`) {
		t.Errorf("warnings %q, want one about region's kind", w)
	}
	header, rows := readCSV(t, filepath.Join(dir, "binary_categorical_input.csv"))
	got := score(t, m, header, rows, models.Raw)
	assertClose(t, "reordered", got, readColumn(t, filepath.Join(dir, "binary_categorical_raw.txt")), 0, false)

	_, err := importPath(path, Options{Schema: schemaOf(nil, append(names[1:], "tenure")...)})
	var se *features.SchemaError
	if !errors.Is(err, models.ErrSchemaMismatch) || !errors.As(err, &se) || len(se.Missing) != 1 || se.Missing[0] != "region" || len(se.Extra) != 1 || se.Extra[0] != "tenure" {
		t.Errorf("err = %v (%+v), want region missing and tenure extra", err, se)
	}
	// Generated names (Column_<i>) bind by position, whatever the names.
	rf := filepath.Join(dir, "rf_binary.txt")
	m = importFile(t, rf, Options{Schema: schemaOf(nil, "a", "b", "c", "d", "e", "f", "g", "h")})
	if m.Card().Inputs.Names()[0] != "a" {
		t.Errorf("inputs %v", m.Card().Inputs.Names())
	}
	if _, err := importPath(rf, Options{Schema: schemaOf(nil, "a", "b")}); !errors.Is(err, models.ErrSchemaMismatch) || !strings.Contains(err.Error(), "has 8") {
		t.Errorf("err = %v, want a count mismatch", err)
	}
}

// TestReferenceCheck: the check passes on LightGBM's predictions and
// fails, naming the row, when one is off.
func TestReferenceCheck(t *testing.T) {
	dir := filepath.Join(fixtures, "lgb4")
	input, err := os.ReadFile(filepath.Join(dir, "rf_binary_input.csv"))
	if err != nil {
		t.Fatal(err)
	}
	preds, err := os.ReadFile(filepath.Join(dir, "rf_binary_pred.txt"))
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Split(strings.TrimSpace(string(input)), "\n")
	pr := strings.Split(strings.TrimSpace(string(preds)), "\n")
	build := func(mutate func(i int, p string) string) string {
		var b strings.Builder
		b.WriteString("prediction," + in[0] + "\n")
		for i, p := range pr {
			b.WriteString(mutate(i, p) + "," + in[i+1] + "\n")
		}
		return b.String()
	}
	ok := build(func(i int, p string) string { return p })
	m := importFile(t, filepath.Join(dir, "rf_binary.txt"), Options{Reference: refTable(t, ok), ReferenceName: "ref.csv", Tolerance: 1e-12})
	rc := m.Card().Source.Reference
	if rc == nil || !rc.Passed || rc.Rows != 300 || rc.MaxDiff > 1e-15 || rc.File != "ref.csv" {
		t.Errorf("reference check %+v", rc)
	}
	bad := build(func(i int, p string) string {
		if i == 41 {
			return "0.5"
		}
		return p
	})
	_, err = importPath(filepath.Join(dir, "rf_binary.txt"), Options{Reference: refTable(t, bad), ReferenceName: "ref.csv"})
	var re *ReferenceError
	if !errors.Is(err, ErrReferenceMismatch) || !errors.As(err, &re) || re.Row != 42 || re.Check.Passed {
		t.Errorf("err = %v, want a mismatch at row 42", err)
	}
	_, err = importPath(filepath.Join(dir, "rf_binary.txt"), Options{Reference: refTable(t, "Column_0,prediction\n1,0.5\n")})
	if !errors.Is(err, models.ErrSchemaMismatch) || !strings.Contains(err.Error(), "Column_1") {
		t.Errorf("err = %v, want missing columns named", err)
	}
}

// refTable opens a reference CSV held in text with the one table reader.
func refTable(t testing.TB, text string) *table.Reader {
	t.Helper()
	r, err := table.Open(strings.NewReader(text), int64(len(text)), "ref.csv")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// memObject is a datasets.Object over bytes.
type memObject struct{ *bytes.Reader }

func (o memObject) Close() error { return nil }
func (o memObject) Size() int64  { return o.Reader.Size() }

// TestLoad: a stored card and file give back the same scores; a changed
// file is refused.
func TestLoad(t *testing.T) {
	dir := filepath.Join(fixtures, "lgb4")
	data, err := os.ReadFile(filepath.Join(dir, "binary_categorical.txt"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"loyalty_score", "region", "price_index", "visits_30d", "days_since_promo", "basket_size"}
	m := importBytes(t, data, Options{Schema: schemaOf(map[string]features.Kind{"region": features.Categorical}, names...)})
	card := *m.Card()
	card.Name, card.Version = "propensity", 3
	lm, err := models.Load(context.Background(), &card, memObject{bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	header, rows := readCSV(t, filepath.Join(dir, "binary_categorical_input.csv"))
	assertClose(t, "loaded", score(t, lm, header, rows, models.Response), score(t, m, header, rows, models.Response), 0, false)
	if lm.Card() != &card {
		t.Errorf("loaded model's card is not the stored card")
	}
	changed := bytes.Replace(data, []byte("leaf_value=-0.14300910177363158"), []byte("leaf_value=-0.14300910177363159"), 1)
	if _, err := models.Load(context.Background(), &card, memObject{bytes.NewReader(changed)}); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("changed file: err = %v, want a sha256 mismatch", err)
	}
}

// TestForcedFormat: --format that contradicts the bytes is refused.
func TestForcedFormat(t *testing.T) {
	data := xgbBinary("binary:logistic", "gbtree", 2, 0, stumpTrees, -1)
	_, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Format: FormatLightGBMText})
	if !errors.Is(err, models.ErrUnsupported) || !strings.Contains(err.Error(), "xgb-bin") {
		t.Errorf("err = %v", err)
	}
	if _, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Format: FormatXGBoostBinary}); err != nil {
		t.Errorf("forced matching format: %v", err)
	}
}

// TestConverterSeam: a Converter's trees go through the same validation,
// then leaves; base margin and float32 inputs apply.
func TestConverterSeam(t *testing.T) {
	trees := []Tree{{
		SplitFeature: []int32{0}, Threshold: []float64{float64(math.Nextafter32(0.5, -1))},
		DecisionType: []uint8{DecisionNumerical(true)}, LeftChild: []int32{-1}, RightChild: []int32{-2},
		LeafValue: []float64{-1, 1},
	}}
	conv := func(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Converted, error) {
		return &Converted{Trees: trees, Kind: models.KindXGBoost, Version: "1.7.4", Booster: "gbtree", Objective: "count:poisson",
			Link: LinkLog, Output: OutputCount, NumFeatures: 1, FeatureNames: []string{"orders"}, Float32Inputs: true, BaseMargin: 0.25}, nil
	}
	convMu.Lock()
	old := converters[FormatXGBoostJSON]
	converters[FormatXGBoostJSON] = conv
	convMu.Unlock()
	defer func() { convMu.Lock(); converters[FormatXGBoostJSON] = old; convMu.Unlock() }()
	doc := []byte(`{"learner": {}, "version": [1, 7, 4]}`)
	m := importBytes(t, doc, Options{})
	got := score(t, m, nil, [][]float64{{0.5}, {0.49999999999}, {0.4}, {nan}}, models.Raw)
	assertClose(t, "converted", got, []float64{1.25, 1.25, -0.75, -0.75}, 0, false)
	c := m.Card()
	if c.Kind != models.KindXGBoost || c.Link != LinkLog || c.Output != OutputCount || c.Inputs.Names()[0] != "orders" || c.Source.Format != "xgb-json" || c.Source.Version != "1.7.4" {
		t.Errorf("card %+v source %+v", c, c.Source)
	}
	trees[0].LeftChild[0] = 0 // a cycle
	if _, err := Import(context.Background(), bytes.NewReader(doc), int64(len(doc)), Options{}); !errors.Is(err, models.ErrUnsupported) {
		t.Errorf("bad converted tree: err = %v", err)
	}
}
