package gbdt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dmitryikh/leaves"

	"github.com/prevoir/prevoir/models"
)

// TestLightGBM2Text imports LightGBM 2.0 and 2.1 text models (no "end of
// trees" line; 2.0 also no tree_sizes and no parameters block; made by
// testdata/gbdt/lgb2/make_lgb2.py from the LightGBM 4 fixture) and checks
// they score exactly as LightGBM 4 scored the same trees. The 2.1 file is
// also loaded by leaves' own loader, which must agree. Before this change
// both were refused ("want Tree= or \"end of trees\"", "no tree_sizes").
func TestLightGBM2Text(t *testing.T) {
	dir := filepath.Join(fixtures, "lgb4")
	header, rows := readCSV(t, filepath.Join(dir, "binary_categorical_input.csv"))
	wantRaw := readColumn(t, filepath.Join(dir, "binary_categorical_raw.txt"))
	wantPred := readColumn(t, filepath.Join(dir, "binary_categorical_pred.txt"))
	v20, err := os.ReadFile(filepath.Join(fixtures, "lgb2", "binary_v20.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// 2.0 writes a bare "boost_from_average" header line when its first
	// tree holds the starting average (summed like the others).
	bfa := strings.Replace(string(v20), "feature_names=", "boost_from_average\nfeature_names=", 1)
	for _, name := range []string{"binary_v20.txt", "binary_v21.txt", "boost_from_average"} {
		path := filepath.Join(fixtures, "lgb2", name)
		var m *Model
		if name == "boost_from_average" {
			m = importBytes(t, []byte(bfa), Options{})
		} else {
			m = importFile(t, path, Options{})
		}
		if c := m.Card(); c.Source.Version != "v2" || c.Source.Trees != 100 {
			t.Errorf("%s: source %+v", name, c.Source)
		}
		assertClose(t, name+" raw", score(t, m, header, rows, models.Raw), wantRaw, 0, false)
		assertClose(t, name+" response", score(t, m, header, rows, models.Response), wantPred, 1e-12, false)
	}
	le, err := leaves.LGEnsembleFromFile(filepath.Join(fixtures, "lgb2", "binary_v21.txt"), false)
	if err != nil {
		t.Fatalf("leaves' loader: %v", err)
	}
	if le.NEstimators() != 100 {
		t.Errorf("leaves reads %d trees", le.NEstimators())
	}
}

// TestLightGBM2Bounds: without "end of trees" the same checks hold: a
// file cut inside a tree, a tree out of order, more trees than tree_sizes
// declares, an unknown line where a tree should start, and the pre-2.0.4
// default_value form are refused by name.
func TestLightGBM2Bounds(t *testing.T) {
	v20, err := os.ReadFile(filepath.Join(fixtures, "lgb2", "binary_v20.txt"))
	if err != nil {
		t.Fatal(err)
	}
	v21, err := os.ReadFile(filepath.Join(fixtures, "lgb2", "binary_v21.txt"))
	if err != nil {
		t.Fatal(err)
	}
	s20, s21 := string(v20), string(v21)
	cut := s20[:strings.Index(s20, "Tree=3\n")+40]
	cases := []struct {
		name, data, want string
	}{
		{"cut in a tree", cut, "truncated"},
		{"no trees", s20[:strings.Index(s20, "Tree=0")] + "feature importances:\n", "no trees"},
		{"out of order", strings.Replace(s20, "Tree=5\n", "Tree=6\n", 1), "out of order"},
		{"stray line", strings.Replace(s20, "feature importances:", "feature imp:", 1), "want Tree="},
		{"fewer than tree_sizes", s21[:strings.Index(s21, "Tree=99\n")] + "feature importances:\n", "tree_sizes declares"},
		{"v3 without end of trees", strings.Replace(s21, "version=v2", "version=v3", 1), "want Tree="},
		{"default_value", strings.Replace(s20, "left_child=", "default_value=0\nleft_child=", 1), "default_value"},
		{"has_categorical", strings.Replace(s20, "num_cat=4\n", "has_categorical=1\n", 1), "has_categorical=1"},
	}
	for _, c := range cases {
		_, err := Import(context.Background(), bytes.NewReader([]byte(c.data)), int64(len(c.data)), Options{})
		if !errors.Is(err, models.ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want a refusal mentioning %q", c.name, err, c.want)
		}
	}
}
