package churn_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/publish"
)

// testCLV are the clv columns' parameters of the test model (values of
// the order BG/NBD gives daily summaries).
var testCLV = btyd.ChurnFeatures{Variant: btyd.BGNBD, R: 0.4, Alpha: 18, A: 1.2, B: 4.5, Unit: features.CLVDays,
	Lookback: features.CLVDefaultLookback.String(), Horizon: "90d", FittedAsOf: "2024-01-01", Customers: 1000}

// TestScoreCLVFeatures: a churn model that takes p_alive and
// expected_purchases_90d scores every customer of the scoring table with
// the columns computed, with the card's parameters, from the clv summary
// as of the scoring date: each published probability equals the model's
// score of the churn features and the values btyd gives for that
// customer's summary. The publication records the summary table; a
// plain feature table is refused, naming the columns.
func TestScoreCLVFeatures(t *testing.T) {
	st, fm, asOf := setup(t)
	ctx := context.Background()
	inputs := fm.FeatureSchema()
	inputs.Features = append(inputs.Features,
		features.Feature{Name: "p_alive", Kind: features.Numeric, Nullable: true},
		features.Feature{Name: "expected_purchases_90d", Kind: features.Numeric, Nullable: true})
	intercept := -0.5
	card := &models.Card{Kind: models.KindLogistic, Task: "churn", Output: logistic.Output, Link: logistic.Link, Inputs: inputs,
		Intercept: &intercept, Coefficients: map[string]float64{},
		Preprocessing: &models.Preprocessing{Mean: map[string]float64{}, Scale: map[string]float64{}, Impute: map[string]float64{}},
		Parameters:    map[string]any{btyd.ChurnParam: testCLV}}
	for _, f := range inputs.Features {
		card.Coefficients[f.Name] = 0
		card.Preprocessing.Impute[f.Name] = 0
	}
	card.Coefficients["p_alive"], card.Preprocessing.Mean["p_alive"], card.Preprocessing.Scale["p_alive"] = -2, 0.6, 0.2
	card.Coefficients["expected_purchases_90d"], card.Preprocessing.Mean["expected_purchases_90d"], card.Preprocessing.Scale["expected_purchases_90d"] = -1, 0.5, 0.5
	reg := registry.New(st, registry.Options{Kinds: testKinds})
	if _, err := reg.Register(ctx, "churn", card, nil); err != nil {
		t.Fatal(err)
	}
	res, err := churn.Score(ctx, st, churn.Options{Dataset: "demo", Model: "churn@1", AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	cp, _ := m.Params["clv_features"].(map[string]any)
	if cp == nil || !strings.Contains(cp["table"].(string), "/clv/"+asOf+"/") || len(cp["manifest_sha256"].(string)) != 64 {
		t.Errorf("the publication does not record the clv summary: %v", m.Params)
	}
	if m.Rows != fm.Rows {
		t.Errorf("%d rows, the feature table has %d", m.Rows, fm.Rows)
	}

	// Expected: the churn features, then btyd's values of the summary.
	cr, err := features.Build(ctx, st, features.Options{Dataset: "demo", Task: features.TaskCLV, AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	cfr, err := features.ReadFrame(ctx, st, cr.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]btyd.Summary{}
	for i, id := range cfr.IDs {
		sums[id] = btyd.Summary{X: cfr.Values[0][i], Tx: cfr.Values[1][i], T: cfr.Values[2][i]}
	}
	model, err := reg.Load(ctx, "churn", 1)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := features.ReadFrame(ctx, st, fm)
	if err != nil {
		t.Fatal(err)
	}
	nf := len(fr.Schema.Features)
	want := map[string]float64{}
	p := testCLV.Params()
	lowAlive := 0
	for i, id := range fr.IDs {
		s, ok := sums[id]
		if !ok {
			t.Fatalf("customer %s has churn features but no clv summary", id)
		}
		row := make([]float64, nf+2)
		for j := 0; j < nf; j++ {
			row[j] = fr.Values[j][i]
		}
		row[nf], row[nf+1] = p.PAlive(s), p.ConditionalExpected(90, s)
		if row[nf] < 0.6 {
			lowAlive++
		}
		var out [1]float64
		if err := model.Score(out[:], models.Batch{Rows: 1, Cols: nf + 2, Values: row}, models.Response); err != nil {
			t.Fatal(err)
		}
		want[id] = out[0]
	}
	if lowAlive == 0 {
		t.Fatal("no customer with p_alive below its mean: the test separates nothing")
	}
	n, aliveReasons := 0, 0
	err = publish.Rows(ctx, st, m, "", func(r []any) error {
		n++
		if p := r[2].(float64); p != want[r[0].(string)] {
			t.Fatalf("customer %s: published %v, want %v", r[0], p, want[r[0].(string)])
		}
		if strings.Contains(r[5].(string), "likely still active") {
			aliveReasons++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) || aliveReasons == 0 {
		t.Errorf("%d rows (want %d), %d with p_alive as the first reason", n, len(want), aliveReasons)
	}

	// The plain feature table lacks the columns: refused, by name.
	_, err = churn.NewScorer(model, fm, asOf, churn.DefaultBands)
	var se *features.SchemaError
	if !errors.Is(err, models.ErrSchemaMismatch) || !errors.As(err, &se) || strings.Join(se.Missing, " ") != "p_alive expected_purchases_90d" {
		t.Errorf("a clv model on the plain table: %v", err)
	}
}
