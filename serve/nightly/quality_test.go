package nightly

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/serve/publish"
)

func TestRocAUCAndCalibration(t *testing.T) {
	// scikit-learn's roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75.
	if got := rocAUC([]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}); got != 0.75 {
		t.Errorf("auc %v, want 0.75", got)
	}
	// Ties count one half: every score equal gives 0.5.
	if got := rocAUC([]float64{0.3, 0.3, 0.3}, []bool{true, false, true}); got != 0.5 {
		t.Errorf("tied auc %v", got)
	}
	if got := rocAUC([]float64{0.3, 0.4}, []bool{true, true}); !math.IsNaN(got) {
		t.Errorf("one class: %v, want NaN", got)
	}
	// Bin 0.1-0.2 holds 0.15 and 0.15 with one positive (|0.15-0.5| =
	// 0.35), bin 0.9-1 holds 0.95 with a positive (0.05): (2*0.35 + 0.05)/3.
	ece, meanP, rate := calibration([]float64{0.15, 0.15, 0.95}, []bool{true, false, true})
	if math.Abs(ece-0.25) > 1e-12 || math.Abs(meanP-1.25/3) > 1e-12 || math.Abs(rate-2.0/3) > 1e-12 {
		t.Errorf("calibration %v %v %v", ece, meanP, rate)
	}
}

// TestQualityOneHorizonAgo: the run of 2024-12-01 checks the publication
// of 2024-09-01 (90 days before) against the orders since, stores the
// point and warns below the floor.
func TestQualityOneHorizonAgo(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 400, Days: 500, Seed: 5})
	h := readHistory(t, st)
	cfg := &Config{AsOf: "2024-09-01"}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Quality) != 0 || !strings.Contains(strings.Join(sum.Notes, "\n"), "no publication at or before one horizon") {
		t.Errorf("first run: quality %v, notes %v", sum.Quality, sum.Notes)
	}
	m, err := publish.ReadManifest(ctx, st, "demo", "churn", "2024-09-01")
	if err != nil {
		t.Fatal(err)
	}
	var published []string
	if err := publish.Rows(ctx, st, m, "", func(r []any) error { published = append(published, r[0].(string)); return nil }); err != nil {
		t.Fatal(err)
	}
	cfg.AsOf, cfg.Quality.ChurnAUCFloor = "2024-12-01", 0.999
	sum, err = Run(ctx, st, Options{Dataset: "demo", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Quality) != 1 {
		t.Fatalf("quality %v, warnings %v", sum.Quality, sum.Warnings)
	}
	q := sum.Quality[0]
	from := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 90)
	churned := 0
	for _, c := range published {
		bought := false
		for _, ts := range h.sales[c] {
			bought = bought || !ts.Before(from) && ts.Before(to)
		}
		if !bought {
			churned++
		}
	}
	want := float64(churned) / float64(len(published))
	if q.Kind != QualityProbabilities {
		t.Errorf("churn point of kind %q, want %q", q.Kind, QualityProbabilities)
	}
	if q.Publication != "2024-09-01" || q.Customers != int64(len(published)) || math.Abs(q.ObservedRate-want) > 1e-12 {
		t.Errorf("point %+v, want %d customers and observed rate %v", q, len(published), want)
	}
	if !(q.AUC > 0.5 && q.AUC <= 1) {
		t.Errorf("auc %v: the recency model should beat chance", q.AUC)
	}
	if !strings.Contains(strings.Join(sum.Warnings, "\n"), "below the floor 0.9990") {
		t.Errorf("warnings %v", sum.Warnings)
	}
	b, err := datasets.ReadAll(ctx, st, QualityKey("demo", "churn"))
	if err != nil {
		t.Fatal(err)
	}
	var s qualitySeries
	if err := json.Unmarshal(b, &s); err != nil || len(s.Points) != 1 || s.Points[0].AUC != q.AUC {
		t.Errorf("stored series %s (%v)", b, err)
	}
}

// TestQualityMeasure: a point says its kind; one stored before kinds were
// recorded gets the kind its figures show.
func TestQualityMeasure(t *testing.T) {
	for _, c := range []struct {
		p    QualityPoint
		want string
	}{
		{QualityPoint{Kind: QualityRanking, Figures: map[string]float64{FigureTop: 12}}, QualityRanking},
		{QualityPoint{Kind: QualityForecast}, QualityForecast},
		{QualityPoint{AUC: 0.7}, QualityProbabilities},
		{QualityPoint{Rows: 40, Figures: map[string]float64{FigureWAPE: 0.5}}, QualityForecast},
		{QualityPoint{Customers: 9, Figures: map[string]float64{FigureTop: 12, FigureMAP: 0.2}}, QualityRanking},
	} {
		if got := c.p.Measure(); got != c.want {
			t.Errorf("%+v: measure %q, want %q", c.p, got, c.want)
		}
	}
}
