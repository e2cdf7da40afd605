package register

import (
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

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt"
	"github.com/prevoir/prevoir/models/gbdt/xgbjson"
)

var fixtureDir = filepath.Join("..", "..", "..", "..", "testdata", "xgboost")

var fixtures = []string{"binary_logistic", "reg_logistic", "reg_squarederror", "count_poisson", "reg_tweedie", "reg_gamma", "dart_binary"}

// TestSpellings checks that the seam spells links and outputs as xgbjson
// does.
func TestSpellings(t *testing.T) {
	if xgbjson.LinkLogit != gbdt.LinkLogit || xgbjson.LinkLog != gbdt.LinkLog || xgbjson.LinkIdentity != gbdt.LinkIdentity ||
		xgbjson.OutputProbability != gbdt.OutputProbability || xgbjson.OutputCount != gbdt.OutputCount || xgbjson.OutputValue != gbdt.OutputValue {
		t.Fatal("xgbjson and gbdt spell links or outputs differently")
	}
}

func importFile(t testing.TB, name string) (*gbdt.Model, error) {
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
	return gbdt.Import(context.Background(), f, st.Size(), gbdt.Options{})
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

// TestLeavesParity imports every fixture, JSON and UBJSON, through
// gbdt.Import (leaves evaluates the converted trees) and checks
// |prevoir - xgboost| <= 1e-5 * max(1, |xgboost|) against xgboost 1.7.4's
// Booster.predict, for the response and for the margin.
func TestLeavesParity(t *testing.T) {
	for _, name := range fixtures {
		b, pred, margin := readCSV(t, name)
		for _, ext := range []string{".json", ".ubj"} {
			m, err := importFile(t, name+ext)
			if err != nil {
				t.Fatalf("%s%s: %v", name, ext, err)
			}
			c := m.Card()
			if c.Kind != models.KindXGBoost || c.Source == nil || c.Source.Version != "1.7.4" {
				t.Errorf("%s%s: card kind %q source %+v", name, ext, c.Kind, c.Source)
			}
			for _, k := range []struct {
				kind models.OutputKind
				want []float64
			}{{models.Response, pred}, {models.Raw, margin}} {
				got := make([]float64, b.Rows)
				if err := m.Score(got, b, k.kind); err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for i := range got {
					d := math.Abs(got[i]-k.want[i]) / math.Max(1, math.Abs(k.want[i]))
					worst = max(worst, d)
					if d > 1e-5 {
						t.Errorf("%s%s row %d (kind %d): prevoir %.9g, xgboost %.9g", name, ext, i, k.kind, got[i], k.want[i])
						break
					}
				}
				t.Logf("%s%s kind %d: %d rows, max |prevoir-xgboost|/max(1,|xgboost|) = %.2g", name, ext, k.kind, b.Rows, worst)
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
		if el > time.Second {
			t.Errorf("%s: %v", c.name, el)
		}
		t.Logf("%s (%v): %v", c.name, el.Round(time.Microsecond), err)
	}
}
