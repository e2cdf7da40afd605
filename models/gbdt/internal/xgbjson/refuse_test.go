package xgbjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/models"
)

// doc is a decoded JSON fixture for tests to edit.
type doc = map[string]any

func loadDoc(t testing.TB, name string) doc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// at walks a path of object keys and array indices.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func obj(v any, path ...any) map[string]any { return at(v, path...).(map[string]any) }

func toJSON(t testing.TB, d doc) []byte {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toUBJSON encodes a decoded JSON document as UBJSON the way XGBoost
// does, except that numbers are float64 ('D') or int64 ('L') and arrays
// are counted but untyped.
func toUBJSON(v any) []byte {
	var b bytes.Buffer
	var enc func(v any)
	length := func(n int) {
		b.WriteByte('L')
		binary.Write(&b, binary.BigEndian, int64(n))
	}
	enc = func(v any) {
		switch x := v.(type) {
		case nil:
			b.WriteByte('Z')
		case bool:
			if x {
				b.WriteByte('T')
			} else {
				b.WriteByte('F')
			}
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				b.WriteByte('L')
				binary.Write(&b, binary.BigEndian, int64(x))
			} else {
				b.WriteByte('D')
				binary.Write(&b, binary.BigEndian, x)
			}
		case string:
			b.WriteByte('S')
			length(len(x))
			b.WriteString(x)
		case []any:
			b.WriteString("[#")
			length(len(x))
			for _, e := range x {
				enc(e)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteByte('{')
			for _, k := range keys {
				length(len(k))
				b.WriteString(k)
				enc(x[k])
			}
			b.WriteByte('}')
		}
	}
	enc(v)
	return b.Bytes()
}

// asV2 edits a 1.7 model into the shape XGBoost 2.x/3.x writes it: a
// later version, base_score as a one-element vector, size_leaf_vector 1,
// iteration_indptr and (3.1) empty category tables.
func asV2(t testing.TB, d doc, version float64) {
	t.Helper()
	l := obj(d, "learner")
	d["version"] = []any{version, 1.0, 0.0}
	p := obj(l, "learner_model_param")
	p["base_score"] = "[" + p["base_score"].(string) + "]"
	m := obj(l, "gradient_booster", "model")
	obj(m, "gbtree_model_param")["size_leaf_vector"] = "1"
	n := len(m["trees"].([]any))
	ptr := make([]any, n+1)
	for i := range ptr {
		ptr[i] = float64(i)
	}
	m["iteration_indptr"] = ptr
	if version >= 3 {
		m["cats"] = map[string]any{"enc": []any{}, "feature_segments": []any{}, "sorted_idx": []any{}}
	}
	for _, tr := range m["trees"].([]any) {
		obj(tr, "tree_param")["size_leaf_vector"] = "1"
	}
}

// TestLaterVersions checks that files shaped as XGBoost 2.x and 3.x write
// them, with no field 1.x lacks, convert to the same trees and score as
// the 1.7 original; and that one unknown field anywhere is refused by
// name.
func TestLaterVersions(t *testing.T) {
	orig := readFixture(t, "binary_logistic", ".json")
	ref := readReference(t, filepath.Join(fixtureDir, "binary_logistic.csv"))
	for _, v := range []float64{2, 3} {
		d := loadDoc(t, "binary_logistic")
		asV2(t, d, v)
		for _, enc := range []struct {
			name string
			b    []byte
			read func([]byte, Limits) (*Model, error)
		}{{"json", toJSON(t, d), ReadJSON}, {"ubjson", toUBJSON(d), ReadUBJSON}, {"sniffed", toUBJSON(d), Read}} {
			m, err := enc.read(enc.b, Limits{})
			if err != nil {
				t.Fatalf("%v.x %s: %v", v, enc.name, err)
			}
			if m.BaseScore != orig.BaseScore || len(m.Trees) != len(orig.Trees) {
				t.Fatalf("%v.x %s: base score %v, %d trees; 1.7: %v, %d", v, enc.name, m.BaseScore, len(m.Trees), orig.BaseScore, len(orig.Trees))
			}
			for i, row := range ref.rows {
				if a, b := margin(m, row), margin(orig, row); a != b {
					t.Fatalf("%v.x %s: row %d: margin %v, 1.7 file %v", v, enc.name, i, a, b)
				}
			}
		}
	}
	unknown := []struct {
		name  string
		edit  func(d doc)
		field string
	}{
		{"top", func(d doc) { d["format"] = "x" }, `"format"`},
		{"learner", func(d doc) { obj(d, "learner")["cats"] = map[string]any{} }, `"cats"`},
		{"model param", func(d doc) { obj(d, "learner", "learner_model_param")["multi_strategy"] = "1" }, `"multi_strategy"`},
		{"gbtree", func(d doc) { obj(d, "learner", "gradient_booster", "model")["weight_drop"] = []any{} }, `"weight_drop"`},
		{"cats", func(d doc) { obj(d, "learner", "gradient_booster", "model", "cats")["names"] = []any{} }, `"names"`},
		{"tree", func(d doc) { obj(d, "learner", "gradient_booster", "model", "trees", 3)["split_cats"] = []any{} }, `"split_cats"`},
		{"tree param", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "trees", 0, "tree_param")["num_roots"] = "1"
		}, `"num_roots"`},
		{"objective param", func(d doc) { obj(d, "learner", "objective", "reg_loss_param")["huber_slope"] = "1" }, `"huber_slope"`},
		{"objective object", func(d doc) { obj(d, "learner", "objective")["lambdarank_param"] = map[string]any{} }, `"lambdarank_param"`},
		// 1.0 wrote leaf_child_counts; a 2.x/3.x file must not have it.
		{"1.0 field in 3.x", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "trees", 1)["leaf_child_counts"] = []any{}
		}, `"leaf_child_counts"`},
	}
	for _, c := range unknown {
		d := loadDoc(t, "binary_logistic")
		asV2(t, d, 3)
		c.edit(d)
		for _, b := range [][]byte{toJSON(t, d), toUBJSON(d)} {
			_, err := Read(b, Limits{})
			wantRefused(t, c.name, err, c.field, "1.x")
		}
	}
}

func wantRefused(t *testing.T, name string, err error, words ...string) {
	t.Helper()
	var re *models.RefusedError
	if !errors.As(err, &re) || !errors.Is(err, models.ErrUnsupported) {
		t.Errorf("%s: error %v, want a *models.RefusedError", name, err)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not say %q", name, err, w)
		}
	}
}

// hostileUBJSON returns a UBJSON document whose learner holds an array
// declaring n elements (typed as float32 when typed), with nothing after.
func hostileUBJSON(n int64, typed bool) []byte {
	var b bytes.Buffer
	b.WriteString("{L\x00\x00\x00\x00\x00\x00\x00\x07learner{L\x00\x00\x00\x00\x00\x00\x00\x05trees[")
	if typed {
		b.WriteString("$d")
	}
	b.WriteString("#L")
	binary.Write(&b, binary.BigEndian, n)
	b.WriteString("\x00\x00\x00\x00")
	return b.Bytes()
}

// TestRefused checks that unsupported and hostile files are refused by
// name, quickly.
func TestRefused(t *testing.T) {
	file := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	edit := func(name string, f func(d doc)) []byte {
		d := loadDoc(t, name)
		f(d)
		return toJSON(t, d)
	}
	ubj := file("binary_logistic.ubj")
	// The count of the first tree's base_weights array, set to 2^40.
	huge := bytes.Clone(ubj)
	i := bytes.Index(huge, []byte("base_weights[$d#L"))
	binary.BigEndian.PutUint64(huge[i+len("base_weights[$d#L"):], 1<<40)

	cases := []struct {
		name  string
		b     []byte
		words []string
	}{
		{"binf binary", file("refuse_binf.model"), []string{"binf", "JSON"}},
		{"multiclass", file("refuse_multiclass.json"), []string{"multiclass", "num_class=3"}},
		{"gblinear", file("refuse_gblinear.json"), []string{"gblinear"}},
		{"categorical", file("refuse_categorical.json"), []string{"categorical"}},
		{"logitraw", file("refuse_logitraw.json"), []string{"binary:logitraw", "supported objectives"}},
		{"unknown booster", edit("reg_logistic", func(d doc) { obj(d, "learner", "gradient_booster")["name"] = "gbforest" }),
			[]string{`booster "gbforest"`, "unknown booster"}},
		{"vector leaf", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "trees", 0, "tree_param")["size_leaf_vector"] = "3"
		}), []string{"vector leaves", "size_leaf_vector=3"}},
		{"vector leaf weights", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "trees", 1)["leaf_weights"] = []any{1.0, 2.0}
		}), []string{"vector leaves", "tree 1 has leaf_weights"}},
		{"multi-target", edit("reg_logistic", func(d doc) { obj(d, "learner", "learner_model_param")["num_target"] = "2" }),
			[]string{"multi-target", "num_target=2"}},
		{"vector base_score", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "learner_model_param")["base_score"] = "[5E-1,5E-1]"
		}), []string{"vector base_score", "multi-target"}},
		{"output groups", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model")["tree_info"].([]any)[1] = 1.0
		}), []string{"output group 1"}},
		{"categorical split", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "trees", 2)["split_type"].([]any)[0] = 1.0
		}), []string{"tree 2 node 0", "by category"}},
		{"category tables", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model")["cats"] = map[string]any{"enc": []any{[]any{"a", "b"}}, "feature_segments": []any{0.0, 2.0}, "sorted_idx": []any{0.0, 1.0}}
		}), []string{"categorical features", "cats.enc"}},
		{"version 4", edit("reg_logistic", func(d doc) { d["version"] = []any{4.0, 0.0, 0.0} }), []string{"XGBoost 4.0.0"}},
		{"cycle", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "trees", 0)["left_children"].([]any)[1] = 0.0
		}), []string{"tree 0", "reached twice"}},
		{"child out of range", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "trees", 0)["right_children"].([]any)[0] = 1e6
		}), []string{"tree 0", "out of range"}},
		{"feature out of range", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "trees", 0)["split_indices"].([]any)[0] = 8.0
		}), []string{"tree 0", "feature 8 of 8"}},
		{"short array", edit("reg_logistic", func(d doc) {
			tr := obj(d, "learner", "gradient_booster", "model", "trees", 0)
			tr["default_left"] = tr["default_left"].([]any)[1:]
		}), []string{"default_left", "num_nodes"}},
		{"num_trees", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "gradient_booster", "model", "gbtree_model_param")["num_trees"] = "51"
		}), []string{"num_trees is 51"}},
		{"logistic base_score", edit("reg_logistic", func(d doc) {
			obj(d, "learner", "learner_model_param")["base_score"] = "1.5E0"
		}), []string{"base_score 1.5", "(0, 1)"}},
		{"UBJSON array of 2^40 floats", hostileUBJSON(1<<40, true), []string{"malformed", "1099511627776 items"}},
		{"UBJSON array of 2^40 values", hostileUBJSON(1<<40, false), []string{"malformed", "1099511627776 items"}},
		{"UBJSON negative count", hostileUBJSON(-1, false), []string{"malformed", "negative length"}},
		{"UBJSON model with 2^40 base weights", huge, []string{"malformed", "1099511627776 items"}},
		{"UBJSON truncated", ubj[:len(ubj)/2], []string{"malformed", "truncated"}},
		{"UBJSON cut at the end", ubj[:len(ubj)-1], []string{"malformed", "truncated"}},
		{"JSON truncated", file("binary_logistic.json")[:1000], []string{"malformed", "truncated"}},
		{"deep nesting", []byte(`{"learner":` + strings.Repeat("[", 100000)), []string{"malformed", "nested deeper"}},
		{"UBJSON deep nesting", append([]byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner"), bytes.Repeat([]byte("["), 100000)...),
			[]string{"malformed", "nested deeper"}},
		{"JSON array", []byte(`[1, 2]`), []string{"not an XGBoost"}},
		{"trailing bytes", append(file("reg_logistic.json"), "{}"...), []string{"malformed", "after the end"}},
		{"duplicate field", []byte(`{"version":[1,7,4],"version":[1,7,4]}`), []string{`"version" appears twice`}},
		{"no learner", []byte(`{"version":[1,7,4]}`), []string{"not an XGBoost model"}},
	}
	for _, c := range cases {
		start := time.Now()
		_, err := Read(c.b, Limits{})
		if d := time.Since(start); d > 30*time.Second { // a hang, not a slow machine: speed belongs to benchmarks
			t.Errorf("%s: took %v", c.name, d)
		}
		wantRefused(t, c.name, err, c.words...)
		t.Logf("%s: %v", c.name, err)
	}
}

// TestTruncations cuts a UBJSON and a JSON model at many points: each cut
// is refused, none panics.
func TestTruncations(t *testing.T) {
	for _, name := range []string{"dart_binary.ubj", "dart_binary.json"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(b)/293)
		for n := 0; n < len(b); n += step {
			if _, err := Read(b[:n], Limits{}); err == nil {
				t.Fatalf("%s cut at %d of %d bytes: accepted", name, n, len(b))
			}
		}
	}
}

// TestLimits checks that Limits are enforced.
func TestLimits(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtureDir, "count_poisson.ubj"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lim  Limits
		word string
	}{
		{Limits{MaxTrees: 149}, "too many trees"},
		{Limits{MaxLeaves: 4}, "leaves"},
		{Limits{MaxNodes: 1000}, "too many nodes"},
		{Limits{MaxFeatures: 7}, "8 features"},
	} {
		_, err := ReadUBJSON(b, c.lim)
		wantRefused(t, c.word, err, c.word)
	}
	if _, err := ReadUBJSON(b, Limits{MaxTrees: 150, MaxFeatures: 8}); err != nil {
		t.Fatal(err)
	}
}

// TestFloat32Rule shows the fixtures exercise XGBoost's `x < t in
// float32` rule: scoring them with `x <= t`, or without rounding inputs
// to float32, gets boundary rows wrong; the rule itself gets none wrong.
func TestFloat32Rule(t *testing.T) {
	var naive, unrounded int
	for _, fx := range fixtures {
		m := readFixture(t, fx.name, ".json")
		ref := readReference(t, filepath.Join(fixtureDir, fx.name+".csv"))
		alt := *m
		alt.Trees = make([]Tree, len(m.Trees))
		for i, tr := range m.Trees {
			tr.Value = append([]float32(nil), tr.Value...)
			for j := range tr.Value {
				if tr.Left[j] != -1 { // x < next float32 above t is x <= t
					tr.Value[j] = math.Nextafter32(tr.Value[j], float32(math.Inf(1)))
				}
			}
			alt.Trees[i] = tr
		}
		for i, row := range ref.rows {
			tol := 1e-5 * math.Max(1, math.Abs(ref.margin[i]))
			if math.Abs(float64(margin(&alt, row))-ref.margin[i]) > tol {
				naive++
			}
			if math.Abs(unroundedMargin(m, row)-ref.margin[i]) > tol {
				unrounded++
			}
		}
	}
	t.Logf("rows scored wrong: %d with x <= t, %d without float32 inputs", naive, unrounded)
	if naive == 0 || unrounded == 0 {
		t.Errorf("the fixtures do not exercise the float32 rule: %d, %d rows differ", naive, unrounded)
	}
}

// unroundedMargin scores a row comparing float64 inputs with the float32
// conditions, a mistake the fixtures must catch.
func unroundedMargin(m *Model, row []float64) float64 {
	s := float64(margin(m, make([]float64, len(row)))) // base margin plus trees at 0
	for i := range m.Trees {
		s -= float64(evalTree(&m.Trees[i], make([]float32, len(row))))
	}
	for i := range m.Trees {
		t := &m.Trees[i]
		k := int32(0)
		for t.Left[k] != -1 {
			v := row[t.Feature[k]]
			switch {
			case v < float64(t.Value[k]):
				k = t.Left[k]
			case v != v && t.DefaultLeft[k]:
				k = t.Left[k]
			default:
				k = t.Right[k]
			}
		}
		s += float64(t.Value[k])
	}
	return s
}
