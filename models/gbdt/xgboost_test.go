package gbdt_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tablepkg "github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt"
)

var fixtureDir = filepath.Join("..", "..", "testdata", "xgboost")

// xgbFixtures are made by testdata/xgboost/make_fixtures.py (one per
// objective, and dart) and make_float32.py (f32_*: models whose float32
// and float64 tree sums differ on most rows) with xgboost 1.7.4.
var xgbFixtures = []string{"binary_logistic", "reg_logistic", "reg_squarederror", "count_poisson", "reg_tweedie", "reg_gamma", "dart_binary", "f32_reg", "f32_poisson"}

func importFile(t testing.TB, name string) (*gbdt.Model, error) {
	t.Helper()
	return importFileOpts(t, name, gbdt.Options{})
}

// table opens b, named name, with datasets/table.
func table(t testing.TB, name string, b []byte) *tablepkg.Reader {
	t.Helper()
	r, err := tablepkg.Open(bytes.NewReader(b), int64(len(b)), name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func importFileOpts(t testing.TB, name string, opts gbdt.Options) (*gbdt.Model, error) {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return gbdt.Import(context.Background(), f, st.Size(), opts)
}

// readCSV returns a fixture's rows as a Batch and xgboost's predictions
// and margins.
func readCSV(t testing.TB, name string) (models.Batch, []float64, []float64) {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	nf := len(recs[0]) - 2
	b := models.Batch{Rows: len(recs) - 1, Cols: nf}
	var pred, margin []float64
	for _, rec := range recs[1:] {
		for j, s := range rec {
			v := math.NaN()
			if s != "" {
				if v, err = strconv.ParseFloat(s, 64); err != nil {
					t.Fatal(err)
				}
			}
			switch {
			case j < nf:
				b.Values = append(b.Values, v)
			case j == nf:
				pred = append(pred, v)
			default:
				margin = append(margin, v)
			}
		}
	}
	return b, pred, margin
}

// TestXGBoostExact imports every fixture, JSON and UBJSON, through
// gbdt.Import and checks Score against xgboost 1.7.4's Booster.predict:
// the raw margin bit for bit (XGBoost's float32 arithmetic), the response
// within one float32 ulp; and that --reference with xgboost's predictions
// passes at the default tolerance.
func TestXGBoostExact(t *testing.T) {
	for _, name := range xgbFixtures {
		b, pred, margin := readCSV(t, name)
		for _, ext := range []string{".json", ".ubj"} {
			if _, err := os.Stat(filepath.Join(fixtureDir, name+ext)); err != nil {
				continue // the f32_* fixtures are JSON only
			}
			m, err := importFile(t, name+ext)
			if err != nil {
				t.Fatalf("%s%s: %v", name, ext, err)
			}
			c := m.Card()
			if c.Kind != models.KindXGBoost || c.Source == nil || c.Source.Version != "1.7.4" {
				t.Errorf("%s%s: card kind %q source %+v", name, ext, c.Kind, c.Source)
			}
			raw := make([]float64, b.Rows)
			resp := make([]float64, b.Rows)
			if err := m.Score(raw, b, models.Raw); err != nil {
				t.Fatal(err)
			}
			if err := m.Score(resp, b, models.Response); err != nil {
				t.Fatal(err)
			}
			for i := range raw {
				if raw[i] != margin[i] {
					t.Errorf("%s%s row %d: margin %.9g, xgboost %.9g", name, ext, i, raw[i], margin[i])
					break
				}
				if ulps(resp[i], pred[i]) > 1 {
					t.Errorf("%s%s row %d: response %.9g, xgboost %.9g: %d float32 ulps apart", name, ext, i, resp[i], pred[i], ulps(resp[i], pred[i]))
					break
				}
			}
		}
	}
}

// TestXGBoost10JSON imports an XGBoost 1.0 JSON file (made by
// testdata/xgboost/make_v10.py: 1.0's layout, leaf_child_counts and all)
// and checks it scores exactly as the 1.7.4 file it was made from; the
// old reader refused it ("tree 0 has field \"leaf_child_counts\"").
func TestXGBoost10JSON(t *testing.T) {
	b, _, margin := readCSV(t, "binary_logistic")
	m, err := importFile(t, "v1_0_binary_logistic.json")
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Card().Source.Version; v != "1.0.0" {
		t.Errorf("version %q", v)
	}
	raw := make([]float64, b.Rows)
	if err := m.Score(raw, b, models.Raw); err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		if raw[i] != margin[i] {
			t.Fatalf("row %d: margin %.9g, xgboost %.9g", i, raw[i], margin[i])
		}
	}
}

// ulps is the distance between a and b in float32 steps.
func ulps(a, b float64) int64 {
	ia, ib := int64(math.Float32bits(float32(a))), int64(math.Float32bits(float32(b)))
	if float32(a) < 0 {
		ia = -(ia &^ (1 << 31))
	}
	if float32(b) < 0 {
		ib = -(ib &^ (1 << 31))
	}
	if ia > ib {
		return ia - ib
	}
	return ib - ia
}

// TestXGBoostReference checks --reference with xgboost's own predictions
// on the float32 fixtures, at the default tolerance, plain and gzipped.
func TestXGBoostReference(t *testing.T) {
	for _, name := range []string{"f32_reg", "f32_poisson"} {
		data, err := os.ReadFile(filepath.Join(fixtureDir, name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		// The reference wants feature columns and "prediction" only.
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		for i, l := range lines {
			lines[i] = l[:strings.LastIndexByte(l, ',')]
		}
		ref := []byte(strings.Join(lines, "\n") + "\n")
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(ref)
		zw.Close()
		for _, r := range []struct {
			name string
			b    []byte
		}{{name + ".csv", ref}, {name + ".csv.gz", gz.Bytes()}} {
			m, err := importFileOpts(t, name+".json", gbdt.Options{Reference: table(t, r.name, r.b)})
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			rc := m.Card().Source.Reference
			if rc == nil || !rc.Passed || rc.Rows != 1000 || rc.Tolerance != gbdt.DefaultTolerance {
				t.Errorf("%s: reference check %+v", r.name, rc)
			}
		}
	}
}

// TestImportRefused checks refusals through gbdt.Import: by name, as a
// *gbdt.RefusedError, in well under a second.
func TestImportRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, name)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	huge := []byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner{L\x00\x00\x00\x00\x00\x00\x00\x05trees[$d#L\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	ubj := read("reg_logistic.ubj")
	cases := []struct {
		name string
		path string
		word string
	}{
		{"binf", filepath.Join(fixtureDir, "refuse_binf.model"), "binf"},
		{"unknown booster", write("booster.json", []byte(strings.Replace(string(read("reg_logistic.json")), `"name":"gbtree"`, `"name":"gbforest"`, 1))), `booster "gbforest"`},
		{"UBJSON array of 2^40", write("huge.ubj", huge), "1099511627776 items"},
		{"truncated UBJSON", write("cut.ubj", ubj[:len(ubj)*2/3]), "truncated"},
		{"multiclass", filepath.Join(fixtureDir, "refuse_multiclass.json"), "multiclass"},
		{"gblinear", filepath.Join(fixtureDir, "refuse_gblinear.json"), "gblinear"},
		{"categorical", filepath.Join(fixtureDir, "refuse_categorical.json"), "categorical"},
	}
	for _, c := range cases {
		f, err := os.Open(c.path)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		start := time.Now()
		_, err = gbdt.Import(context.Background(), f, st.Size(), gbdt.Options{})
		el := time.Since(start)
		f.Close()
		var re *gbdt.RefusedError
		if !errors.As(err, &re) || !errors.Is(err, models.ErrUnsupported) || !strings.Contains(err.Error(), c.word) {
			t.Errorf("%s: %v, want a refusal naming %q", c.name, err, c.word)
		}
		if el > 30*time.Second { // a hang, not a slow machine: speed belongs to benchmarks
			t.Errorf("%s: refused in %v", c.name, el)
		}
		t.Logf("%s (%v): %v", c.name, el.Round(time.Microsecond), err)
	}
}
