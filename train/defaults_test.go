package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/features"
)

// epvText is a table of n rows with pos positives and two numeric inputs
// and a constant one.
func epvText(n, pos int) string {
	var b strings.Builder
	b.WriteString("a,b,k,y\n")
	for i := 0; i < n; i++ {
		y := 0
		if i < pos {
			y = 1
		}
		fmt.Fprintf(&b, "%d,%d,7,%d\n", (i*7)%11, (i*5)%13+y, y)
	}
	return b.String()
}

// TestEventsPerVariable: with MinClass 0 the smaller class needs
// max(10, 10 x inputs) training rows; the constant column is not an input.
// A refusal states both counts and the bar.
func TestEventsPerVariable(t *testing.T) {
	ctx := context.Background()
	// Two inputs (a, b; k is constant): the bar is 20.
	rec, _ := newMemRecords(epvText(200, 19))
	_, err := TrainTable(ctx, rec, TableOptions{Label: "y"})
	var tf *TooFewError
	if !errors.As(err, &tf) || tf.Need != 20 || tf.Positives != 19 || tf.Negatives != 181 || tf.Inputs != 2 {
		t.Fatalf("19 positives for 2 inputs: %v (%+v)", err, tf)
	}
	for _, want := range []string{"200 training rows have 19 positives and 181 negatives", "at least 20", "2 inputs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	rec, _ = newMemRecords(epvText(200, 20))
	out, err := TrainTable(ctx, rec, TableOptions{Label: "y"})
	if err != nil {
		t.Fatalf("20 positives for 2 inputs: %v", err)
	}
	if out.Card.Parameters["min_class"] != 20 || !strings.Contains(strings.Join(out.Warnings, "\n"), `column "k" is constant (7) in the training rows: not used`) {
		t.Errorf("parameters %v, warnings %q", out.Card.Parameters, out.Warnings)
	}
	// An explicit MinClass applies to both classes, as before.
	rec, _ = newMemRecords(epvText(200, 20))
	if _, err := TrainTable(ctx, rec, TableOptions{Label: "y", MinClass: 21}); !errors.As(err, &tf) || !tf.MinClass ||
		!strings.Contains(err.Error(), "20 positives and 180 negatives; at least 21 of each") {
		t.Errorf("MinClass 21: %v", err)
	}
	rec, _ = newMemRecords(epvText(200, 20))
	if _, err := TrainTable(ctx, rec, TableOptions{Label: "y", MinClass: -1}); err == nil {
		t.Error("MinClass -1 accepted")
	} else if fe, ok := datasets.AsFieldError(err); !ok || fe.Field != "MinClass" {
		t.Errorf("MinClass -1: %v, want a FieldError on MinClass", err)
	}
}

// TestWarningsAreAList: the warnings of a fit without any are an empty
// list in JSON, never null.
func TestWarningsAreAList(t *testing.T) {
	rec, _ := newMemRecords(tableText(300, false))
	out, err := TrainTable(context.Background(), rec, TableOptions{Label: "y", IDs: []string{"id"}, Drop: []string{"flag"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(struct{ W []string }{out.Warnings})
	if string(b) != `{"W":[]}` {
		t.Errorf("warnings %s", b)
	}
	fcs := cutFrames(cutoffs(3, 90, 90))
	o, err := FitCutoffs(context.Background(), fcs, CutoffOptions{Label: "churn"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Warnings == nil || len(o.Warnings) != 0 {
		t.Errorf("task warnings %#v", o.Warnings)
	}
}

func cutFrames(cuts []Cutoff) []CutoffFrame {
	var out []CutoffFrame
	for i, c := range cuts {
		out = append(out, CutoffFrame{Cutoff: c, Frame: frame(uint64(i), 600+50*i, false)})
	}
	return out
}

// TestFitCutoffsExcludedWarning: cutoffs 60 days apart with 90-day label
// windows leave the one before the holdout out of training: the warnings
// say which, why, and the step that keeps it.
func TestFitCutoffsExcludedWarning(t *testing.T) {
	o, err := FitCutoffs(context.Background(), cutFrames(cutoffs(3, 60, 90)), CutoffOptions{Label: "churn"})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(o.Warnings, "\n")
	for _, want := range []string{"1 of 2 earlier cutoffs left out of training (2024-08-02)", "90-day label windows end after the holdout cutoff 2024-10-01", "trained on 1 cutoff(s)", "90d or more apart"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q lack %q", w, want)
		}
	}
	if !strings.Contains(strings.Join(o.Card.Warnings, "\n"), "left out of training") {
		t.Errorf("card warnings %q", o.Card.Warnings)
	}
}

// TestFitCutoffsDropAndClassWeight: Drop removes a feature from the model
// (not from the baseline), an unknown one is a FieldError; ClassWeight
// balanced reweighs the classes and is recorded.
func TestFitCutoffsDropAndClassWeight(t *testing.T) {
	ctx := context.Background()
	cuts := cutFrames(cutoffs(3, 90, 90))
	o, err := FitCutoffs(ctx, cuts, CutoffOptions{Label: "churn", Drop: []string{"x"}, ClassWeight: "balanced"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Card.Preprocessing.Features, ","); got != "recency_days" {
		t.Errorf("design columns %s, want recency_days alone", got)
	}
	if o.Card.Parameters["class_weight"] != "balanced" || fmt.Sprint(o.Card.Parameters["drop"]) != "[x]" {
		t.Errorf("parameters %v", o.Card.Parameters)
	}
	plain, err := FitCutoffs(ctx, cuts, CutoffOptions{Label: "churn", Drop: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Model.Fit.Intercept == o.Model.Fit.Intercept {
		t.Error("balanced class weights changed nothing")
	}
	// Balanced weights center the mean predicted probability near 1/2.
	var mean float64
	for _, p := range o.Model.p {
		mean += p
	}
	if mean /= float64(len(o.Model.p)); math.Abs(mean-0.5) > 0.1 {
		t.Errorf("balanced: mean probability %.3f", mean)
	}
	if _, err := FitCutoffs(ctx, cuts, CutoffOptions{Label: "churn", Drop: []string{"nosuch"}}); err == nil {
		t.Error("unknown feature dropped")
	} else if fe, ok := datasets.AsFieldError(err); !ok || fe.Field != "Drop" || fe.Value != "nosuch" {
		t.Errorf("drop nosuch: %v", err)
	}
}

// TestDecileTable: one row per decile, highest scores first, its mean
// predicted probability from the calibration bin of the same rows, whose
// observed rate is the decile's rate.
func TestDecileTable(t *testing.T) {
	var y, p []float64
	for i := 0; i < 100; i++ {
		p = append(p, float64(i)/100)
		y = append(y, float64(i%3%2))
	}
	m, err := Evaluate(y, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := m.DecileTable()
	if len(rows) != Bins || rows[0].Decile != 1 || rows[0].MeanPredicted < rows[9].MeanPredicted {
		t.Fatalf("rows %+v", rows)
	}
	for k, r := range rows {
		cb := m.Calibration[Bins-1-k]
		if r.MeanPredicted != cb.MeanPredicted || r.Rate != cb.ObservedRate || r.Rows != cb.Rows {
			t.Errorf("decile %d: %+v, calibration bin %+v", r.Decile, r, cb)
		}
	}
}

// TestRealDataTrainWithDefaults: UCI Bank Marketing's bank.csv (521
// positives in 4,521 rows) and Online Retail's churn with cutoffs 90 days
// apart train with the default eligibility rule, which a bar of 1,000 of
// each class refused. Skipped outside CI when ../shared/data is missing.
func TestRealDataTrainWithDefaults(t *testing.T) {
	ctx := context.Background()
	t.Run("bank", func(t *testing.T) {
		path := datatest.Shared(t, "bank_marketing/bank.csv")
		// The command's defaults: a 20% holdout drawn with seed 1.
		out, err := TrainTable(ctx, openCSV(t, path, ';'), TableOptions{Label: "y", Positive: "yes", HoldoutFrac: 0.2, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("bank.csv: %d training rows, %.0f positives, bar %v, holdout AUC %.4f", out.TrainRows, out.Train.Positives, out.Card.Parameters["min_class"], out.Holdout.AUC)
		if out.Holdout == nil || out.Holdout.AUC < 0.8 {
			t.Errorf("holdout %+v", out.Holdout)
		}
		_, err = TrainTable(ctx, openCSV(t, path, ';'), TableOptions{Label: "y", Positive: "yes", HoldoutFrac: 0.2, Seed: 1, MinClass: 1000})
		var tf *TooFewError
		if !errors.As(err, &tf) || tf.Positives+tf.Negatives != out.TrainRows || tf.Positives != int(out.Train.Positives) {
			t.Errorf("MinClass 1000: %v", err)
		}
	})
	t.Run("online_retail", func(t *testing.T) {
		st := importRetail(t)
		out, err := TrainTask(ctx, st, TaskOptions{
			Features: features.Options{Dataset: "retail", Task: features.TaskChurn, AsOf: "2011-09-01"},
			Cutoffs:  3, Step: features.DefaultHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("online retail: trained on %v (%d rows, %.0f positives), bar %v, holdout AUC %.4f, warnings %q",
			out.Train, out.Model.TrainRows, out.Model.Train.Positives, out.Card.Parameters["min_class"], out.Model.Holdout.AUC, out.Warnings)
		if len(out.Train) != 2 || len(out.Excluded) != 0 || strings.Contains(strings.Join(out.Warnings, "\n"), "left out") {
			t.Errorf("split: train %v, excluded %v, warnings %q", out.Train, out.Excluded, out.Warnings)
		}
	})
}

// TestTaskOptionsValidate: the task rules are FieldErrors on the option's
// field: at least two cutoffs, a step, a known class weight.
func TestTaskOptionsValidate(t *testing.T) {
	ok := TaskOptions{Cutoffs: 2, Step: datasets.Span{Days: 90}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, o := range map[string]TaskOptions{
		"Cutoffs":     {Cutoffs: 1, Step: datasets.Span{Days: 90}},
		"Step":        {Cutoffs: 3},
		"ClassWeight": {Cutoffs: 3, Step: datasets.Span{Days: 90}, Fit: CutoffOptions{ClassWeight: "heavy"}},
	} {
		if fe, isFE := datasets.AsFieldError(o.Validate()); !isFE || fe.Field != field {
			t.Errorf("%s: %v", field, o.Validate())
		}
		if _, err := TrainTask(context.Background(), nil, o); err == nil {
			t.Errorf("%s: TrainTask accepted %+v", field, o)
		}
	}
}
