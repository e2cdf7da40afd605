package logistic_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
)

// doc (testdata/models/churn_logistic.json, shared with the CLI tests)
// is a model over a numeric input with imputation and a missing flag,
// and a categorical input. Values are chosen so margins are exact:
// z(tenure) = (tenure - 10) / 2.
var doc = datatest.ReadTestdata("models/churn_logistic.json")

func mustParse(t *testing.T, s string) *logistic.Model {
	t.Helper()
	card, err := logistic.ParseDocument([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	m, err := logistic.New(card)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDocumentInputs(t *testing.T) {
	m := mustParse(t, doc)
	got := m.Card().Inputs.Features
	want := []features.Feature{{Name: "tenure", Kind: features.Numeric}, {Name: "segment", Kind: features.Categorical}}
	if len(got) != len(want) {
		t.Fatalf("inputs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("input %d = %v, want %v", i, got[i], want[i])
		}
	}
	c := m.Card()
	if c.Output != "probability" || c.Link != "logit" || c.SchemaFingerprint != c.Inputs.Fingerprint() {
		t.Errorf("card output/link/fingerprint = %q %q %q", c.Output, c.Link, c.SchemaFingerprint)
	}
}

func TestScore(t *testing.T) {
	m := mustParse(t, doc)
	nan := math.NaN()
	// Columns: tenure, segment code (0 gold, 1 silver, -1 unknown, NaN missing).
	rows := [][]float64{
		{14, 0},    // -1 + 0.5*2 + 1 = 1
		{10, 1},    // -1 + 0 - 1 = -2
		{nan, -1},  // imputed 12: -1 + 0.5*1 + 2 = 1.5
		{8, nan},   // -1 + 0.5*-1 = -1.5
		{12, -1},   // -1 + 0.5 = -0.5
		{1e6, nan}, // -1 + 0.5*(1e6-10)/2 = 249996.5
	}
	wantRaw := []float64{1, -2, 1.5, -1.5, -0.5, 249996.5}
	var b models.Batch
	b.Cols = 2
	for _, r := range rows {
		b.Values = append(b.Values, r...)
		b.Rows++
	}
	raw := make([]float64, b.Rows)
	if err := m.Score(raw, b, models.Raw); err != nil {
		t.Fatal(err)
	}
	resp := make([]float64, b.Rows)
	if err := m.Score(resp, b, models.Response); err != nil {
		t.Fatal(err)
	}
	for i := range wantRaw {
		if raw[i] != wantRaw[i] {
			t.Errorf("row %d: raw = %v, want %v", i, raw[i], wantRaw[i])
		}
		want := 1 / (1 + math.Exp(-wantRaw[i]))
		if math.Abs(resp[i]-want) > 1e-15 {
			t.Errorf("row %d: response = %v, want %v", i, resp[i], want)
		}
	}
}

// TestSigmoid checks exact points and that large margins neither overflow
// nor lose the tail.
func TestSigmoid(t *testing.T) {
	cases := []struct{ x, want float64 }{
		{0, 0.5},
		{math.Log(3), 0.75}, // 1/(1+1/3)
		{-math.Log(3), 0.25},
		{800, 1},
		{-800, 0}, // exp(-800) underflows to 0
		{-700, math.Exp(-700) / (1 + math.Exp(-700))},
	}
	for _, c := range cases {
		if got := logistic.Sigmoid(c.x); math.Abs(got-c.want) > 1e-15 || math.IsNaN(got) {
			t.Errorf("Sigmoid(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

func TestScoreErrors(t *testing.T) {
	// No imputation and no mean for x: a missing x is an error.
	m := mustParse(t, `{"kind":"logistic","features":["x"],"intercept":0,"coefficients":{"x":1}}`)
	err := m.Score(make([]float64, 1), models.Batch{Rows: 1, Cols: 1, Values: []float64{math.NaN()}}, models.Response)
	if err == nil || !strings.Contains(err.Error(), `"x" is missing`) {
		t.Errorf("missing without imputation: err = %v", err)
	}
	err = m.Score(make([]float64, 1), models.Batch{Rows: 1, Cols: 2, Values: []float64{1, 2}}, models.Response)
	if !errors.Is(err, models.ErrSchemaMismatch) {
		t.Errorf("wrong width: err = %v, want ErrSchemaMismatch", err)
	}
	if err := m.Score(nil, models.Batch{Rows: 1, Cols: 1, Values: []float64{1}}, models.Response); err == nil {
		t.Error("short dst: no error")
	}
	// Mean imputation when there is a mean but no impute value.
	m = mustParse(t, `{"kind":"logistic","features":["x"],"intercept":0.25,"coefficients":{"x":3},"preprocessing":{"mean":{"x":5},"scale":{"x":2}}}`)
	dst := []float64{-1}
	if err := m.Score(dst, models.Batch{Rows: 1, Cols: 1, Values: []float64{math.NaN()}}, models.Raw); err != nil || dst[0] != 0.25 {
		t.Errorf("mean imputation: raw = %v, err %v; want the intercept 0.25", dst[0], err)
	}
	// An out-of-range level code.
	m = mustParse(t, doc)
	if err := m.Score(make([]float64, 1), models.Batch{Rows: 1, Cols: 2, Values: []float64{1, 7}}, models.Raw); err == nil {
		t.Error("level code 7 of 2 levels: no error")
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string]string{
		"not json":          `{"kind":`,
		"unknown field":     `{"kind":"logistic","features":["x"],"intercept":0,"coefficients":{"x":1},"coefs":{}}`,
		"no kind":           `{"features":["x"],"intercept":0,"coefficients":{"x":1}}`,
		"other kind":        `{"kind":"lightgbm","features":["x"],"intercept":0,"coefficients":{"x":1}}`,
		"no features":       `{"kind":"logistic","intercept":0,"coefficients":{}}`,
		"no intercept":      `{"kind":"logistic","features":["x"],"coefficients":{"x":1}}`,
		"missing coef":      `{"kind":"logistic","features":["x","y"],"intercept":0,"coefficients":{"x":1}}`,
		"extra coef":        `{"kind":"logistic","features":["x"],"intercept":0,"coefficients":{"x":1,"z":2}}`,
		"zero scale":        `{"kind":"logistic","features":["x"],"intercept":0,"coefficients":{"x":1},"preprocessing":{"scale":{"x":0}}}`,
		"negative scale":    `{"kind":"logistic","features":["x"],"intercept":0,"coefficients":{"x":1},"preprocessing":{"scale":{"x":-1}}}`,
		"mean of unknown":   `{"kind":"logistic","features":["x"],"intercept":0,"coefficients":{"x":1},"preprocessing":{"mean":{"y":1}}}`,
		"duplicate feature": `{"kind":"logistic","features":["x","x"],"intercept":0,"coefficients":{"x":1}}`,
		"unknown level":     `{"kind":"logistic","features":["s=a"],"inputs":[{"name":"s","kind":"categorical"}],"intercept":0,"coefficients":{"s=a":1},"preprocessing":{"encoders":{"s":["b"]}}}`,
		"trailing data":     `{"kind":"logistic","features":["x"],"intercept":0,"coefficients":{"x":1}} {}`,
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := logistic.ParseDocument([]byte(s))
			if !errors.Is(err, logistic.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestLoad checks that Kind loads a logistic card through models.Kinds.
func TestLoad(t *testing.T) {
	card, err := logistic.ParseDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	kinds := models.Kinds{logistic.Kind()}
	m, err := kinds.Load(t.Context(), card, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*logistic.Model); !ok {
		t.Errorf("Load returned %T", m)
	}
	card.Kind = "tensorflow"
	if _, err := kinds.Load(t.Context(), card, nil); !errors.Is(err, models.ErrUnsupported) {
		t.Errorf("unknown kind: err = %v, want ErrUnsupported", err)
	}
}

// TestBinderToScore binds table text to a Batch and scores it.
func TestBinderToScore(t *testing.T) {
	m := mustParse(t, doc)
	header := []string{"id", "segment", "extra", "tenure"}
	b, err := models.NewBinder(m.Card(), header)
	if err != nil {
		t.Fatal(err)
	}
	recs := [][]string{
		{"a", "gold", "x", "14"},
		{"b", " silver ", "", "10"},
		{"c", "platinum", "", ""},
		{"d", "", "", "8"},
	}
	batch := models.Batch{Rows: len(recs), Cols: b.Cols(), Values: make([]float64, len(recs)*b.Cols())}
	for i, r := range recs {
		if err := b.Bind(batch.Row(i), r); err != nil {
			t.Fatal(err)
		}
	}
	raw := make([]float64, len(recs))
	if err := m.Score(raw, batch, models.Raw); err != nil {
		t.Fatal(err)
	}
	want := []float64{1, -2, 1.5, -1.5}
	for i := range want {
		if raw[i] != want[i] {
			t.Errorf("row %d: raw = %v, want %v", i, raw[i], want[i])
		}
	}
	if _, err := models.NewBinder(m.Card(), []string{"id", "segment"}); !errors.Is(err, models.ErrSchemaMismatch) || !strings.Contains(err.Error(), `"tenure"`) {
		t.Errorf("missing column: err = %v", err)
	}
	var se *features.SchemaError
	if _, err := models.NewBinder(m.Card(), []string{"id"}); !errors.As(err, &se) || len(se.Missing) != 2 {
		t.Errorf("missing columns: err = %v, want a SchemaError with 2 missing", err)
	}
	var be *models.BindError
	if err := b.Bind(make([]float64, 2), []string{"e", "gold", "", "abc"}); !errors.As(err, &be) || be.Name != "tenure" || be.Column != 3 {
		t.Errorf("bad number: err = %v", err)
	}
	if err := b.Bind(make([]float64, 2), []string{"e", "gold", "", "1e999"}); err == nil {
		t.Error("infinite value: no error")
	}
}

func TestContributions(t *testing.T) {
	m := mustParse(t, doc)
	nan := math.NaN()
	terms := m.Terms()
	dst := make([]float64, len(terms))
	for _, row := range [][]float64{{14, 0}, {10, 1}, {nan, -1}, {8, nan}} {
		if err := m.Contributions(dst, row); err != nil {
			t.Fatal(err)
		}
		var raw [1]float64
		if err := m.Score(raw[:], models.Batch{Rows: 1, Cols: 2, Values: row}, models.Raw); err != nil {
			t.Fatal(err)
		}
		sum := *m.Card().Intercept
		for _, c := range dst {
			sum += c
		}
		if math.Abs(sum-raw[0]) > 1e-12 {
			t.Errorf("row %v: intercept + contributions %v = %v, raw score %v", row, dst, sum, raw[0])
		}
	}
	// tenure 14: z = (14-10)/2 = 2, coefficient 0.5 (the document's values).
	if err := m.Contributions(dst, []float64{14, 0}); err != nil {
		t.Fatal(err)
	}
	if terms[0] != "tenure" || dst[0] != 1 {
		t.Errorf("term %q = %v, want tenure = 1", terms[0], dst[0])
	}
	if err := m.Contributions(dst, []float64{14}); !errors.Is(err, models.ErrSchemaMismatch) {
		t.Errorf("short row: %v, want ErrSchemaMismatch", err)
	}
}
