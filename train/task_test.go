package train

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/features"
)

var t0 = time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)

// cutoffs returns k cutoffs t0 - i*step days, i = 0..k-1, with a label
// window of horizon days: latest first.
func cutoffs(k, step, horizon int) []Cutoff {
	var out []Cutoff
	for i := 0; i < k; i++ {
		a := t0.AddDate(0, 0, -i*step)
		out = append(out, Cutoff{Name: a.Format(time.DateOnly), AsOf: a, LabelEnd: a.AddDate(0, 0, horizon)})
	}
	return out
}

func names(cuts []Cutoff, idx []int) string {
	var s []string
	for _, i := range idx {
		s = append(s, cuts[i].Name)
	}
	return strings.Join(s, " ")
}

func TestTimeSplit(t *testing.T) {
	for _, tc := range []struct {
		k, step, horizon                int
		train, validation, vtrain, excl string
	}{
		// 90-day windows, 90 days apart: every earlier window ends by the
		// holdout (the equal end counts: [c, c+90) ends at the holdout).
		{3, 90, 90, "2024-07-03 2024-04-04", "2024-07-03", "2024-04-04", ""},
		// 60 days apart: the cutoff just before the holdout sees 30 days
		// past it and is left out.
		{3, 60, 90, "2024-06-03", "2024-08-02", "", "2024-08-02"},
		{5, 30, 90, "2024-07-03 2024-06-03", "2024-09-01", "2024-06-03", "2024-09-01 2024-08-02"},
		{2, 30, 30, "2024-09-01", "2024-09-01", "", ""},
	} {
		cuts := cutoffs(tc.k, tc.step, tc.horizon)
		// Shuffled input: the split goes by time, not by position.
		perm := rand.New(rand.NewPCG(uint64(tc.k), 1)).Perm(len(cuts))
		shuf := make([]Cutoff, len(cuts))
		for i, j := range perm {
			shuf[j] = cuts[i]
		}
		s, err := TimeSplit(shuf)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		got := fmt.Sprintf("%s|%s|%s|%s|%s", shuf[s.Holdout].Name, names(shuf, s.Train), shuf[s.Validation].Name, names(shuf, s.ValidationTrain), names(shuf, s.Excluded))
		want := fmt.Sprintf("2024-10-01|%s|%s|%s|%s", tc.train, tc.validation, tc.vtrain, tc.excl)
		if got != want {
			t.Errorf("k=%d step=%d horizon=%d: got %s, want %s", tc.k, tc.step, tc.horizon, got, want)
		}
	}
	// No cutoff to train on: 30 days apart with 90-day windows, 3 cutoffs.
	if _, err := TimeSplit(cutoffs(3, 30, 90)); err == nil || !strings.Contains(err.Error(), "no cutoff to train on") {
		t.Errorf("3 cutoffs 30 days apart, 90-day windows: %v", err)
	}
	if _, err := TimeSplit(append(cutoffs(2, 90, 90), cutoffs(1, 90, 90)...)); err == nil || !strings.Contains(err.Error(), "same instant") {
		t.Errorf("duplicate cutoff: %v", err)
	}
}

// TestTimeSplitNeverLeaks: over random stacks of cutoffs (any step,
// horizon, order), no training cutoff's label window passes the holdout
// cutoff, no search-training window passes the validation cutoff, and
// every earlier cutoff is either trained on or excluded.
func TestTimeSplitNeverLeaks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 2000; trial++ {
		k := 1 + r.IntN(8)
		var cuts []Cutoff
		seen := map[int]bool{}
		for len(cuts) < k {
			d := r.IntN(400)
			if seen[d] {
				continue
			}
			seen[d] = true
			a := t0.AddDate(0, 0, -d).Add(time.Duration(r.IntN(3)) * time.Hour)
			cuts = append(cuts, Cutoff{Name: fmt.Sprint(d), AsOf: a, LabelEnd: a.AddDate(0, 0, 1+r.IntN(120))})
		}
		s, err := TimeSplit(cuts)
		for i := range cuts {
			if cuts[i].AsOf.After(cuts[s.Holdout].AsOf) {
				t.Fatalf("holdout %s is not the latest", cuts[s.Holdout].Name)
			}
		}
		if err != nil {
			if len(s.Train) != 0 {
				t.Fatalf("error %v with training cutoffs", err)
			}
			continue
		}
		hold := cuts[s.Holdout].AsOf
		for _, i := range s.Train {
			if cuts[i].LabelEnd.After(hold) {
				t.Fatalf("trial %d: training cutoff %s's label window ends %s, after the holdout %s", trial, cuts[i].Name, cuts[i].LabelEnd, hold)
			}
		}
		if s.Validation >= 0 {
			for _, i := range s.ValidationTrain {
				if cuts[i].LabelEnd.After(cuts[s.Validation].AsOf) {
					t.Fatalf("trial %d: search cutoff %s passes the validation cutoff", trial, cuts[i].Name)
				}
			}
		}
		all := append(append([]int{s.Holdout}, s.Train...), s.Excluded...)
		slices.Sort(all)
		if len(all) != len(cuts) || len(slices.Compact(all)) != len(cuts) {
			t.Fatalf("trial %d: holdout %d, train %v, excluded %v of %d cutoffs", trial, s.Holdout, s.Train, s.Excluded, len(cuts))
		}
		for _, i := range s.Excluded {
			if !cuts[i].LabelEnd.After(hold) {
				t.Fatalf("trial %d: cutoff %s excluded although usable", trial, cuts[i].Name)
			}
		}
	}
}

// frame makes a cutoff's feature table: recency_days and a nullable x,
// with labels depending on both. poison flips labels and scrambles values.
func frame(seed uint64, n int, poison bool) *features.Frame {
	r := rand.New(rand.NewPCG(seed, 3))
	fr := &features.Frame{Schema: features.Schema{Features: []features.Feature{
		{Name: "recency_days", Kind: features.Numeric},
		{Name: "x", Kind: features.Numeric, Nullable: true},
	}}}
	fr.Values, fr.Valid = make([][]float64, 2), make([][]bool, 2)
	for i := 0; i < n; i++ {
		rec := float64(r.IntN(365))
		x, ok := r.NormFloat64(), r.IntN(5) != 0
		z := -1 + rec/120 + 0.8*x
		if !ok {
			z += 0.5
			x = math.NaN()
		}
		y := 0.0
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y = 1
		}
		if poison {
			y, rec = 1-y, 1e6*r.Float64()
		}
		fr.IDs = append(fr.IDs, fmt.Sprintf("c%d", i))
		fr.Values[0] = append(fr.Values[0], rec)
		fr.Valid[0] = append(fr.Valid[0], true)
		fr.Values[1] = append(fr.Values[1], x)
		fr.Valid[1] = append(fr.Valid[1], ok)
		fr.Label = append(fr.Label, y)
	}
	return fr
}

// TestFitCutoffsUsesOnlyClosedLabels: with cutoffs 30 days apart and
// 90-day label windows, the two cutoffs just before the holdout see past
// it. Poisoning them (labels flipped, values scrambled), or not reading
// them at all, leaves the model, its holdout metrics and the baseline
// unchanged; the card says which cutoffs were used.
func TestFitCutoffsUsesOnlyClosedLabels(t *testing.T) {
	ctx := context.Background()
	cuts := cutoffs(5, 30, 90)
	mk := func(poison bool, drop bool) []CutoffFrame {
		var out []CutoffFrame
		for i, c := range cuts {
			cf := CutoffFrame{Cutoff: c}
			late := i == 1 || i == 2
			if !(late && drop) {
				cf.Frame = frame(uint64(i), 600+50*i, late && poison)
			}
			out = append(out, cf)
		}
		return out
	}
	opt := CutoffOptions{Task: "churn", Label: "churn", MinClass: 50}
	clean, err := FitCutoffs(ctx, mk(false, false), opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, variant := range []struct {
		name         string
		poison, drop bool
	}{{"poisoned", true, false}, {"absent", false, true}} {
		o, err := FitCutoffs(ctx, mk(variant.poison, variant.drop), opt)
		if err != nil {
			t.Fatalf("%s: %v", variant.name, err)
		}
		if !slices.Equal(o.Model.Fit.Coef, clean.Model.Fit.Coef) || o.Model.Fit.Intercept != clean.Model.Fit.Intercept ||
			o.Model.Holdout.AUC != clean.Model.Holdout.AUC || o.Baseline.Holdout.LogLoss != clean.Baseline.Holdout.LogLoss {
			t.Errorf("%s late cutoffs changed the fit: %v vs %v", variant.name, o.Model.Fit.Coef, clean.Model.Fit.Coef)
		}
	}
	if want := 600 + 50*3 + 600 + 50*4; clean.Model.TrainRows != want || clean.Model.HoldoutRows != 600 {
		t.Errorf("rows %d training, %d holdout; want %d, 600", clean.Model.TrainRows, clean.Model.HoldoutRows, want)
	}
	card := clean.Card
	if got := strings.Join(card.Lineage.Cutoffs, " "); got != "2024-10-01 2024-07-03 2024-06-03" {
		t.Errorf("lineage cutoffs %s", got)
	}
	if got := fmt.Sprint(card.Lineage.Extra["excluded_cutoffs"]); got != "[2024-09-01 2024-08-02]" {
		t.Errorf("excluded %s", got)
	}
	// The model beats a recency-only baseline here: x matters.
	if clean.Model.Holdout.AUC <= clean.Baseline.Holdout.AUC {
		t.Errorf("model AUC %.4f <= baseline %.4f", clean.Model.Holdout.AUC, clean.Baseline.Holdout.AUC)
	}
	b, _ := json.Marshal(card.Metrics)
	for _, k := range []string{`"baseline":{`, `"feature":"recency_days"`, `"holdout_gain":`, `"holdout":{`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("card metrics lack %s: %s", k, b)
		}
	}
	if !slices.Contains(card.Preprocessing.Features, "x_missing") || card.Preprocessing.Impute["x"] == 0 {
		t.Errorf("x not imputed and flagged: %v %v", card.Preprocessing.Features, card.Preprocessing.Impute)
	}
	// Holdout predictions: the holdout cutoff's rows only.
	var buf bytes.Buffer
	if err := clean.WritePredictions(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 601 || strings.Join(recs[0], ",") != "customer_id,as_of,label,score" || recs[1][1] != "2024-10-01" || recs[600][1] != "2024-10-01" {
		t.Errorf("predictions: %d lines, %v ... %v", len(recs), recs[0], recs[len(recs)-1])
	}
}

// TestFitCutoffsSearch: several C are compared on the validation cutoff
// (the one before the holdout), training on the cutoffs whose windows
// end by it; the lowest validation log loss wins and the search is on
// the card.
func TestFitCutoffsSearch(t *testing.T) {
	ctx := context.Background()
	cuts := cutoffs(4, 90, 90)
	var cf []CutoffFrame
	for i, c := range cuts {
		cf = append(cf, CutoffFrame{Cutoff: c, Frame: frame(uint64(10+i), 500, false)})
	}
	o, err := FitCutoffs(ctx, cf, CutoffOptions{Cs: []float64{10, 0.001, 1, 0.1}, MinClass: 50})
	if err != nil {
		t.Fatal(err)
	}
	s := o.Search
	if s == nil || s.Validation != "2024-07-03" || strings.Join(s.TrainCutoffs, " ") != "2024-04-04 2024-01-05" || len(s.Points) != 4 || s.Points[0].C != 0.001 {
		t.Fatalf("search %+v", s)
	}
	best := s.Points[0]
	for _, p := range s.Points {
		if p.LogLoss < best.LogLoss {
			best = p
		}
	}
	if o.C != best.C || s.Chosen != best.C || o.Card.Parameters["c"] != best.C {
		t.Errorf("chose C = %g, search says %g, best %g", o.C, s.Chosen, best.C)
	}
	if _, ok := o.Card.Metrics["c_search"]; !ok {
		t.Error("no c_search on the card")
	}
	// Not enough cutoffs for a validation fit.
	_, err = FitCutoffs(ctx, cf[:2], CutoffOptions{Cs: []float64{0.1, 1}, MinClass: 50})
	if err == nil || !strings.Contains(err.Error(), "search over C needs") {
		t.Errorf("search on two cutoffs: %v", err)
	}
}
