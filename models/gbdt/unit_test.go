package gbdt

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt/internal/xgbjson"
)

func importBytes(t *testing.T, data []byte, opts Options) *Model {
	t.Helper()
	m, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestXGBoostFloat32Semantics: XGBoost sends x left when float32(x) < t,
// and so does prevoir's float32 scorer.
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
	// Logistic: sigmoid of the margin, in float32 as XGBoost computes it.
	m = importBytes(t, xgbBinary("binary:logistic", "dart", 2, 0, stumpTrees, -1), Options{})
	got := score(t, m, nil, [][]float64{{0, 0}}, models.Response)
	e := float32(math.Exp(0.75))
	assertClose(t, "logistic", got, []float64{float64(1 / (1 + e))}, 0, false)
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
		{xgbBinary("binary:logistic", "gbtree", 2, 0, [][]xnode{{{1, 1, 0, 0.5}, {-1, -1, 0, 1}}}, -1), "reached twice"},
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
	m := importFile(t, filepath.Join(dir, "rf_binary.txt"), Options{Reference: refTable(t, "ref.csv", ok), Tolerance: 1e-12})
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
	_, err = importPath(filepath.Join(dir, "rf_binary.txt"), Options{Reference: refTable(t, "ref.csv", bad)})
	var re *ReferenceError
	if !errors.Is(err, ErrReferenceMismatch) || !errors.As(err, &re) || re.Row != 42 || re.Check.Passed {
		t.Errorf("err = %v, want a mismatch at row 42", err)
	}
	_, err = importPath(filepath.Join(dir, "rf_binary.txt"), Options{Reference: refTable(t, "ref.csv", "Column_0,prediction\n1,0.5\n")})
	if !errors.Is(err, models.ErrSchemaMismatch) || !strings.Contains(err.Error(), "Column_1") {
		t.Errorf("err = %v, want missing columns named", err)
	}
}

// refTable opens text as a reference table named name.
func refTable(t testing.TB, name, text string) *table.Reader {
	t.Helper()
	r, err := table.Open(strings.NewReader(text), int64(len(text)), name)
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
	lm, err := Kinds().Load(context.Background(), &card, memObject{bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	header, rows := readCSV(t, filepath.Join(dir, "binary_categorical_input.csv"))
	assertClose(t, "loaded", score(t, lm, header, rows, models.Response), score(t, m, header, rows, models.Response), 0, false)
	if lm.Card() != &card {
		t.Errorf("loaded model's card is not the stored card")
	}
	changed := bytes.Replace(data, []byte("leaf_value=-0.14300910177363158"), []byte("leaf_value=-0.14300910177363159"), 1)
	if _, err := Kinds().Load(context.Background(), &card, memObject{bytes.NewReader(changed)}); err == nil || !strings.Contains(err.Error(), "sha256") {
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
	if fe, ok := datasets.AsFieldError(err); !ok || fe.Field != "Format" || strings.Contains(err.Error(), "--") {
		t.Errorf("err = %v, want a FieldError on Format naming no flag", err)
	}
	if _, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), Options{Format: FormatXGBoostBinary}); err != nil {
		t.Errorf("forced matching format: %v", err)
	}
}

// TestMissingObjective: a LightGBM JSON dump that names no objective
// needs Options.Objective, and the error says so by field.
func TestMissingObjective(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "leaves", "lg_1tree.json"))
	if err != nil {
		t.Skip(err)
	}
	_, err = Import(context.Background(), bytes.NewReader(data), int64(len(data)), Options{})
	fe, ok := datasets.AsFieldError(err)
	if !ok || fe.Field != "Objective" || !errors.Is(err, models.ErrUnsupported) || strings.Contains(err.Error(), "--") {
		t.Errorf("err = %v, want a FieldError on Objective", err)
	}
}

// TestForest32 checks the XGBoost scorer on a hand-made tree: x < t in
// float32, missing values to the default side, the float32 base margin,
// float32 accumulation; and that a malformed tree is refused.
func TestForest32(t *testing.T) {
	tree := func() xgbjson.Tree {
		return xgbjson.Tree{Left: []int32{1, -1, -1}, Right: []int32{2, -1, -1}, Feature: []int32{0, 0, 0},
			Value: []float32{0.5, -1, 1}, DefaultLeft: []bool{true, false, false}}
	}
	big := xgbjson.Tree{Left: []int32{-1}, Right: []int32{-1}, Feature: []int32{0}, Value: []float32{1e8}, DefaultLeft: []bool{false}}
	small := xgbjson.Tree{Left: []int32{-1}, Right: []int32{-1}, Feature: []int32{0}, Value: []float32{3}, DefaultLeft: []bool{false}}
	f, err := newForest32([]xgbjson.Tree{tree(), big, small}, 1, 0.25, LinkIdentity, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x    float32
		leaf float32 // the first tree's leaf
	}{{0.5, 1}, {math.Nextafter32(0.5, 0), -1}, {float32(math.NaN()), -1}, {float32(math.Inf(1)), 1}} {
		// Each addition rounds to float32: 1e8 + 3 is 1e8 in float32,
		// while a float64 sum would keep the 3.
		want := float32(0.25)
		want += c.leaf
		want += 1e8
		want += 3
		if got := f.margin([]float32{c.x}, 3); got != want {
			t.Errorf("x=%v: margin %v, want %v", c.x, got, want)
		}
		if float64(want) == 0.25+float64(c.leaf)+1e8+3 {
			t.Fatalf("x=%v: the float32 and float64 sums agree; the test cannot tell them apart", c.x)
		}
	}
	cyc := tree()
	cyc.Left[0] = 0
	oneChild := tree()
	oneChild.Right[1] = 2
	badFeat := tree()
	badFeat.Feature[0] = 1
	nanLeaf := tree()
	nanLeaf.Value[2] = float32(math.NaN())
	for name, tr := range map[string]xgbjson.Tree{"cycle": cyc, "one child": oneChild, "feature": badFeat, "NaN leaf": nanLeaf} {
		if _, err := newForest32([]xgbjson.Tree{tr}, 1, 0, LinkIdentity, DefaultLimits()); !errors.Is(err, models.ErrUnsupported) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestXGBoostRC1Binary: the legacy binary of XGBoost 1.0.0rc1 (no binf
// header, num_output_group deprecated to 0, extra attributes after the
// trees) is read when every byte is understood, and scores as the 0.90
// layout of the same trees; otherwise it is refused naming what it is.
// The old reader called it "XGBoost multiclass model (0 output groups)".
func TestXGBoostRC1Binary(t *testing.T) {
	old := xgbBinary("reg:squarederror", "gbtree", 2, 0.5, stumpTrees, -1)
	rc1 := xgbRC1(old, "reg:squarederror", "gbtree", stumpTrees, map[string]string{"best_iteration": "1"})
	rows := [][]float64{{0.5, 3}, {0.4999999, 1.99999}, {nan, nan}}
	want := score(t, importBytes(t, old, Options{}), nil, rows, models.Raw)
	m := importBytes(t, rc1, Options{})
	assertClose(t, "rc1", score(t, m, nil, rows, models.Raw), want, 0, false)
	if v := m.Card().Source.Version; !strings.Contains(v, "1.0.0rc1") {
		t.Errorf("version %q", v)
	}
	if w := strings.Join(m.Card().Warnings, "\n"); !strings.Contains(w, "best_iteration=1") {
		t.Errorf("warnings %q", w)
	}
	for name, data := range map[string][]byte{
		"trailing bytes": append(append([]byte(nil), rc1...), 1, 2, 3),
		"cut attributes": rc1[:len(rc1)-3],
		"multiclass rc1": xgbRC1(xgbBinary("multi:softprob", "gbtree", 2, 0.5, stumpTrees, -1), "multi:softprob", "gbtree", stumpTrees, nil),
	} {
		_, err := Import(context.Background(), bytes.NewReader(data), int64(len(data)), Options{})
		want := "1.0.0rc1"
		if name == "multiclass rc1" {
			want = "multiclass"
		}
		if !errors.Is(err, models.ErrUnsupported) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want a refusal naming %q", name, err, want)
		}
	}
}

// TestUnsplitFeatureKind: a feature no split uses (LightGBM lists its
// categories in feature_infos) gives no kind warning against a schema:
// the model does not split it at all. Before, the card warned "the model
// splits it as categorical" for a model with no categorical split.
func TestUnsplitFeatureKind(t *testing.T) {
	text := "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\n" +
		"objective=binary sigmoid:1\nfeature_names=a b\nfeature_infos=[0:1] 0:1:2\ntree_sizes=1\n\n" +
		"Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=10\n" +
		"left_child=-1\nright_child=-2\nleaf_value=-0.2 0.3\nleaf_count=1 1\ninternal_value=0\ninternal_count=2\n" +
		"is_linear=0\nshrinkage=1\n\n\nend of trees\n"
	m := importBytes(t, []byte(text), Options{Schema: schemaOf(nil, "a", "b")})
	if w := m.Card().Warnings; len(w) != 0 {
		t.Errorf("warnings %q, want none", w)
	}
	// A schema that disagrees with a split that exists still warns.
	m = importBytes(t, []byte(text), Options{Schema: schemaOf(map[string]features.Kind{"a": features.Categorical}, "a", "b")})
	if w := strings.Join(m.Card().Warnings, "\n"); !strings.Contains(w, `feature "a"`) {
		t.Errorf("warnings %q, want one about a", w)
	}
}

// TestLGBJSONBooster: a LightGBM JSON dump, which records no boosting
// type, gets a card that says so instead of an empty name.
func TestLGBJSONBooster(t *testing.T) {
	m := importFile(t, filepath.Join(fixtures, "leaves", "lg_1tree.json"), Options{Objective: "regression"})
	if b := m.Card().Source.Booster; !strings.Contains(b, "JSON dump") {
		t.Errorf("booster %q", b)
	}
	if o := m.Card().Source.Objective; o != "regression" {
		t.Errorf("objective %q, want the one given at import", o)
	}
}
