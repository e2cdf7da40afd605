package train

import (
	"math"
	"testing"
	"time"

	"github.com/prevoir/prevoir/features"
)

// TestListMetrics: average precision at N as the Kaggle/recsys
// definition: hits at ranks 1 and 3 of 3 bought items give
// (1/1 + 2/3) / min(N, 3).
func TestListMetrics(t *testing.T) {
	m := listMetrics([]string{"a", "x", "b", "y"}, []string{"a", "b", "c"}, 4)
	if want := (1 + 2.0/3) / 3; math.Abs(m.MAP-want) > 1e-15 || m.Precision != 0.5 || m.Recall != 2.0/3 || m.HitRate != 1 {
		t.Errorf("%+v, want MAP %v", m, want)
	}
	m = listMetrics([]string{"x"}, []string{"a"}, 12)
	if m.MAP != 0 || m.HitRate != 0 || m.Precision != 0 {
		t.Errorf("no hit: %+v", m)
	}
}

// TestEvaluateRanking: customer A bought y (a candidate) and q (not one);
// B bought nothing and is not evaluated. At N = 2 the model and
// popularity put y first (AP 1/2: one hit at rank 1, two items bought),
// repeat and repeat-then-popularity propose A's own x and z (AP 0).
func TestEvaluateRanking(t *testing.T) {
	nan := math.NaN()
	fr := &features.Frame{
		Schema: features.Schema{Features: []features.Feature{{Name: "item_orders"}, {Name: "item_days_since"}, {Name: "buyers_30d"}, {Name: "buyers_90d"}}},
		IDs:    []string{"A", "A", "A", "B", "B"},
		Keys:   [][]string{{"x", "y", "z", "w", "x"}},
		AsOf:   []time.Time{time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
		Values: [][]float64{{2, 0, 1, 0, 0}, {5, nan, 3, nan, nan}, {1, 10, 5, 3, 1}, {1, 10, 5, 3, 1}},
		Label:  []float64{0, 1, 0, 0, 0},
	}
	rk, err := EvaluateRanking(fr, []float64{0.1, 0.9, 0.5, 0.7, 0.2}, map[string][]string{"A": {"q", "y"}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rk.Customers != 1 || rk.Purchases != 2 || rk.Covered != 1 || rk.Cutoff != "2024-03-01" {
		t.Fatalf("%+v", rk)
	}
	want := map[string]RankingMetrics{
		RankerModel:                {HitRate: 1, Precision: 0.5, Recall: 0.5, MAP: 0.5, AUC: 1},
		RankerPopularity:           {HitRate: 1, Precision: 0.5, Recall: 0.5, MAP: 0.5, AUC: 1},
		RankerRepeat:               {AUC: 0},
		RankerRepeatThenPopularity: {AUC: 0},
	}
	if len(rk.Rankers) != 4 || rk.Rankers[0].Ranker != RankerModel {
		t.Fatalf("rankers %+v", rk.Rankers)
	}
	for _, r := range rk.Rankers {
		w := want[r.Ranker]
		w.Ranker = r.Ranker
		if r != w {
			t.Errorf("%s: %+v, want %+v", r.Ranker, r, w)
		}
	}
	if _, err := EvaluateRanking(fr, []float64{1}, nil, 2); err == nil {
		t.Error("scores of the wrong length accepted")
	}
}
