package churn_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/publish"
)

// constModel stands for an imported model without reasons: it scores
// every row 0.5.
type constModel struct{ card *models.Card }

func (c constModel) Card() *models.Card { return c.card }
func (c constModel) Score(dst []float64, b models.Batch, _ models.OutputKind) error {
	for i := 0; i < b.Rows; i++ {
		dst[i] = 0.5
	}
	return nil
}

// testKinds are the kinds these tests load: the native logistic model and
// a constant stand-in for an imported model (no reasons).
var testKinds = models.Kinds{logistic.Kind(), {Name: "testconst", Load: func(_ context.Context, card *models.Card, _ datasets.Object) (models.Model, error) {
	return constModel{card}, nil
}}}

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		feature string
		v       float64
		want    string
	}{
		{"recency_days", 143, "no order for 143 days"},
		{"recency_days", 1, "no order for 1 day"},
		{"orders_90d", 0, "no order in the last 90 days"},
		{"orders_30d", 2, "2 orders in the last 30 days"},
		{"frequency_365", 1, "1 order in the last 365 days"},
		{"spend_365d", 12.5, "spent 12.50 in the last 365 days"},
		{"monetary_30", 0, "nothing spent in the last 30 days"},
		{"gap_mean_days", 21.26, "orders every 21.3 days on average"},
		{"recency_gap_ratio", 3, "3 times the usual gap since the last order"},
		{"spend_trend", -0.4, "spending down 40% on the 90 days before"},
		{"distinct_categories", 1, "bought from 1 category"},
		{"return_rate", 0.25, "25% of lines returned"},
		{"abandoned_carts_7d", 2, "2 days with an abandoned cart in the last 7 days"},
		{"views_30d", 0, "no product view in the last 30 days"},
		{"gap_mean_days_missing", 1, "fewer than 2 orders"},
		{"basket_mean", math.NaN(), "no order in the lookback"},
		{"loyalty_points", 120, "120 loyalty points"},
		{"mystery", 2.5, "mystery = 2.5"},
		{"p_alive", 0.123, "12% likely still active (BG/NBD)"},
		{"expected_purchases_90d", 0.84, "0.8 purchase days expected in the next 90 days (BG/NBD)"},
		{"expected_purchases_13w", 2, "2 purchase days expected in the next 91 days (BG/NBD)"},
		{"p_alive", math.NaN(), "no purchase history for BG/NBD"},
		{"expected_purchases_90d_missing", 1, "no purchase history for BG/NBD"},
	} {
		if got := churn.Describe(c.feature, c.v); got != c.want {
			t.Errorf("Describe(%s, %v) = %q, want %q", c.feature, c.v, got, c.want)
		}
	}
}

func TestBands(t *testing.T) {
	b := churn.DefaultBands
	for p, want := range map[float64]string{0.7: "high", 0.99: "high", 0.4: "medium", 0.69: "medium", 0.39: "low", 0: "low"} {
		if got := b.Band(p); got != want {
			t.Errorf("band(%v) = %s, want %s", p, got, want)
		}
	}
	var fe *datasets.FieldError
	if err := (churn.Bands{High: 0.3, Medium: 0.5}).Check(); !errors.As(err, &fe) {
		t.Errorf("high below medium: %v", err)
	}
}

// setup generates a dataset and returns the store, the scoring feature
// table's manifest as of the default as_of, and that date.
func setup(t *testing.T) (datasets.Store, *features.Manifest, string) {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := synth.Generate(ctx, st, synth.Options{Name: "demo", Customers: 300, Days: 200, Seed: 7}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	asOf, err := datasets.ResolveAsOf(ctx, st, "demo", datasets.AsOfLatest, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := features.Build(ctx, st, features.Options{Dataset: "demo", AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	return st, res.Manifest, asOf
}

// register registers a logistic churn model over the table's features:
// recency raises the score (+1 per standardised unit), orders_90d lowers
// it; the other coefficients are 0.
func register(t *testing.T, st datasets.Store, fm *features.Manifest, inputs features.Schema) {
	t.Helper()
	intercept := -0.5
	card := &models.Card{Kind: models.KindLogistic, Task: "churn", Output: logistic.Output, Link: logistic.Link, Inputs: inputs,
		Intercept: &intercept, Coefficients: map[string]float64{},
		Preprocessing: &models.Preprocessing{Mean: map[string]float64{}, Scale: map[string]float64{}, Impute: map[string]float64{}}}
	for _, f := range inputs.Features {
		card.Coefficients[f.Name] = 0
		card.Preprocessing.Impute[f.Name] = 0
		switch f.Name {
		case "recency_days":
			card.Coefficients[f.Name] = 1
			card.Preprocessing.Mean[f.Name], card.Preprocessing.Scale[f.Name] = 60, 30
		case "orders_90d":
			card.Coefficients[f.Name] = -0.5
		}
	}
	if _, err := registry.New(st, registry.Options{Kinds: testKinds}).Register(context.Background(), "churn", card, nil); err != nil {
		t.Fatal(err)
	}
}

func TestScoreLogistic(t *testing.T) {
	st, fm, asOf := setup(t)
	register(t, st, fm, fm.FeatureSchema())
	ctx := context.Background()
	res, err := churn.Score(ctx, st, churn.Options{Dataset: "demo", Model: "churn@1", AsOf: asOf, PrevoirVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.FeaturesReused || res.Features.Key() != fm.Key() {
		t.Errorf("the scoring table was not reused: %s", res.Features.Key())
	}
	m, err := publish.Resolve(ctx, st, "demo", "churn", "latest")
	if err != nil || m.Run != res.Manifest.Run {
		t.Fatalf("LATEST: %v, %v", m, err)
	}
	if m.Rows != fm.Rows || m.Rows == 0 {
		t.Fatalf("published %d rows, the feature table has %d", m.Rows, fm.Rows)
	}
	if m.Model == nil || m.Model.Name != "churn" || m.Model.Version != 1 || len(m.Model.CardSHA256) != 64 ||
		m.Features == nil || m.Features.SchemaFingerprint != fm.Fingerprint || m.Features.Spec != fm.Spec ||
		len(m.Datasets) == 0 || len(m.Notes) != 0 || m.PrevoirVersion != "test" {
		t.Errorf("manifest lineage: %+v", m.Lineage)
	}
	if b, ok := m.Params["bands"].(map[string]any); !ok || b["high"] != 0.7 || b["medium"] != 0.4 {
		t.Errorf("bands not recorded: %v", m.Params)
	}
	// Expected: the model's own scores of the feature rows.
	model, err := registry.New(st, registry.Options{Kinds: testKinds}).Load(ctx, "churn", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	recency := map[string]float64{}
	fr, err := features.ReadFrame(ctx, st, fm)
	if err != nil {
		t.Fatal(err)
	}
	nf := len(fr.Schema.Features)
	ri := fr.Schema.Index("recency_days")
	for i, id := range fr.IDs {
		row := make([]float64, nf)
		for j := range row {
			row[j] = fr.Values[j][i]
		}
		var p [1]float64
		if err := model.Score(p[:], models.Batch{Rows: 1, Cols: nf, Values: row}, models.Response); err != nil {
			t.Fatal(err)
		}
		want[id], recency[id] = p[0], row[ri]
	}
	prev := ""
	n := 0
	err = publish.Rows(ctx, st, m, "", func(r []any) error {
		n++
		id := r[0].(string)
		if id <= prev {
			return fmt.Errorf("rows not sorted by customer_id: %s after %s", id, prev)
		}
		prev = id
		p := r[2].(float64)
		if p != want[id] || r[1] != asOf || r[3] != churn.DefaultBands.Band(p) || r[4] != "churn@1" {
			return fmt.Errorf("row %v: want probability %v", r, want[id])
		}
		wantReason := ""
		if recency[id] > 60 {
			wantReason = churn.Describe("recency_days", recency[id])
		}
		if r[5] != wantReason {
			return fmt.Errorf("row %v: reason_1 %q, want %q", r, r[5], wantReason)
		}
		if r[7] != "" {
			return fmt.Errorf("row %v: a third reason, but only two coefficients are non-zero", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("%d rows, want %d", n, len(want))
	}
}

func TestScoreSchemaMismatch(t *testing.T) {
	st, fm, asOf := setup(t)
	s := fm.FeatureSchema()
	s.Features = append(s.Features[1:], features.Feature{Name: "lifetime_value", Kind: features.Numeric})
	register(t, st, fm, s)
	_, err := churn.Score(context.Background(), st, churn.Options{Dataset: "demo", Model: "churn@1", AsOf: asOf})
	var se *features.SchemaError
	if !errors.Is(err, models.ErrSchemaMismatch) || !errors.As(err, &se) {
		t.Fatalf("err = %v, want a schema mismatch", err)
	}
	if len(se.Missing) != 1 || se.Missing[0] != "lifetime_value" {
		t.Errorf("missing %v", se.Missing)
	}
	if !strings.Contains(err.Error(), `missing column(s) "lifetime_value"`) {
		t.Errorf("the refusal does not name the column: %v", err)
	}
	if es, _ := publish.List(context.Background(), st, "", ""); len(es) != 0 {
		t.Errorf("a refused run published %v", es)
	}
	// A model taking some of the features (training leaves out constant
	// columns) scores.
	s.Features = fm.FeatureSchema().Features[:4]
	register(t, st, fm, s)
	if _, err := churn.Score(context.Background(), st, churn.Options{Dataset: "demo", Model: "churn@2", AsOf: asOf}); err != nil {
		t.Errorf("a model over a subset of the features: %v", err)
	}
}

func TestScoreWithoutReasons(t *testing.T) {
	st, fm, asOf := setup(t)
	card := &models.Card{Kind: "testconst", Task: "churn", Output: "probability", Inputs: fm.FeatureSchema()}
	if _, err := registry.New(st, registry.Options{Kinds: testKinds}).Register(context.Background(), "gbdt", card, nil); err != nil {
		t.Fatal(err)
	}
	res, err := churn.Score(context.Background(), st, churn.Options{Dataset: "demo", Model: "gbdt", AsOf: asOf, Kinds: testKinds, Bands: churn.Bands{High: 0.6, Medium: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if len(m.Notes) != 1 || !strings.Contains(m.Notes[0], "reason_1..3 are empty") {
		t.Errorf("notes %q", m.Notes)
	}
	err = publish.Rows(context.Background(), st, m, "", func(r []any) error {
		if r[3] != "medium" || r[5] != "" || r[6] != "" || r[7] != "" {
			return fmt.Errorf("row %v", r)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func TestLatestAsOf(t *testing.T) {
	st, _, _ := setup(t)
	ctx := context.Background()
	om, err := datasets.ReadManifest(ctx, st, "demo", "orders")
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := om.Zone()
	got, err := datasets.ResolveAsOf(ctx, st, "demo", datasets.AsOfLatest, time.Now())
	want := om.TimeRange.Max.In(loc).AddDate(0, 0, 1).Format("2006-01-02")
	if err != nil || got != want {
		t.Errorf("latest = %s, %v; want %s", got, err, want)
	}
}
