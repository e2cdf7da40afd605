package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models/btyd"
)

// TestChurnCLVBaseline: on generated histories (the generator's
// customers drop out, a latent BG/NBD-like process), churn's evaluation
// reports the label-free BG/NBD baseline beside the recency baseline,
// fitted on the clv summary as of the holdout cutoff, and it separates
// the churners clearly: ROC AUC of P(no purchase) at least 0.75, with a
// Brier score below the base rate's. 1 - p_alive alone ranks barely
// above chance (every one-time buyer has p_alive = 1 under BG/NBD, and
// alive customers too may skip a 90-day window). Measured (4,000
// customers; seed: P(no purchase) / 1 - p_alive / expected purchases /
// recency baseline / model AUC): 42: 0.8149 / 0.5475 / 0.8149 / 0.7967 /
// 0.8228; 7: 0.8263 / 0.5481 / 0.8263 / 0.8046 / 0.8336. A plain churn
// model keeps its schema: no clv input, no clv parameters, and the same
// fit, bit for bit, as FitCutoffs on the churn feature tables alone.
func TestChurnCLVBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("generates histories")
	}
	ctx := context.Background()
	for _, seed := range []uint64{42, 7} {
		st := newTaskStore(t)
		if _, err := synth.Generate(ctx, st, synth.Options{Name: "gen", Customers: 4000, Seed: seed}, synth.StoreOptions{}); err != nil {
			t.Fatal(err)
		}
		opt := TaskOptions{
			Features: features.Options{Dataset: "gen", Task: features.TaskChurn, AsOf: "2024-10-01"},
			Cutoffs:  3, Step: datasets.Span{Days: 90},
		}
		out, err := TrainTask(ctx, st, opt)
		if err != nil {
			t.Fatal(err)
		}
		cb := out.CLVBaseline
		if cb == nil || cb.Holdout == nil {
			t.Fatalf("seed %d: no clv baseline: %+v", seed, cb)
		}
		m, b, h := out.Model.Holdout, out.Baseline.Holdout, cb.Holdout
		t.Logf("seed %d: holdout %d rows, churn rate %.3f: BG/NBD baseline AUC %.4f AP %.4f log loss %.4f Brier %.4f; 1 - p_alive AUC %.4f; expected purchases AUC %.4f; recency baseline AUC %.4f; model AUC %.4f; r %.4g alpha %.4g a %.4g b %.4g; %d rows without a summary",
			seed, m.Rows, m.BaseRate, h.AUC, h.AveragePrecision, h.LogLoss, h.Brier, cb.AUCPAlive, cb.AUCExpected, b.AUC, m.AUC,
			cb.Params["r"], cb.Params["alpha"], cb.Params["a"], cb.Params["b"], cb.Missing)
		if cb.Cutoff != "2024-10-01" || !strings.Contains(cb.Table, "/clv/2024-10-01/") || cb.Note != "" {
			t.Errorf("seed %d: baseline cutoff %s, table %s, note %q", seed, cb.Cutoff, cb.Table, cb.Note)
		}
		if h.Rows != m.Rows || h.Positives != m.Positives {
			t.Errorf("seed %d: the baseline is measured on %d rows (%v churners), the model on %d (%v)", seed, h.Rows, h.Positives, m.Rows, m.Positives)
		}
		if h.AUC < 0.75 || cb.AUCPAlive < 0.52 || cb.AUCExpected < 0.75 {
			t.Errorf("seed %d: BG/NBD baseline AUC %.4f, 1 - p_alive %.4f, expected purchases %.4f", seed, h.AUC, cb.AUCPAlive, cb.AUCExpected)
		}
		// A probability: calibrated well enough to beat the base rate.
		if br := m.BaseRate; h.Brier >= br*(1-br) {
			t.Errorf("seed %d: BG/NBD baseline Brier %.4f, the base rate's %.4f", seed, h.Brier, br*(1-br))
		}
		if got, ok := out.Card.Metrics["clv_baseline"].(*CLVBaseline); !ok || got != cb {
			t.Errorf("seed %d: the card's metrics lack the clv baseline", seed)
		}

		// The plain model's schema and fit are the churn tables' alone.
		for _, f := range out.Card.Inputs.Features {
			if f.Name == btyd.ChurnPAlive || strings.HasPrefix(f.Name, btyd.ChurnExpectedPrefix) {
				t.Errorf("seed %d: a plain churn model takes %s", seed, f.Name)
			}
		}
		if _, ok := out.Card.Parameters[btyd.ChurnParam]; ok {
			t.Errorf("seed %d: a plain churn model records clv features", seed)
		}
		_, ms, err := features.ReadTrainingSet(ctx, st, out.TrainingSet)
		if err != nil {
			t.Fatal(err)
		}
		cuts := make([]CutoffFrame, len(ms))
		for i, fm := range ms {
			fr, err := features.ReadFrame(ctx, st, fm)
			if err != nil {
				t.Fatal(err)
			}
			cuts[i] = CutoffFrame{Cutoff: Cutoff{Name: fm.AsOf, AsOf: fm.AsOfTime.UTC(), LabelEnd: fm.AsOfTime.AddDate(0, 0, 90).UTC()}, Frame: fr}
		}
		direct, err := FitCutoffs(ctx, cuts, CutoffOptions{Label: "churn"})
		if err != nil {
			t.Fatal(err)
		}
		if out.Card.SchemaFingerprint != direct.Card.SchemaFingerprint || *out.Card.Intercept != *direct.Card.Intercept ||
			fmt.Sprint(out.Card.Coefficients) != fmt.Sprint(direct.Card.Coefficients) || !slices.Equal(out.Model.p, direct.Model.p) {
			t.Errorf("seed %d: the plain model differs from FitCutoffs on the churn tables alone", seed)
		}
	}
}

// TestChurnCLVFeatures: --clv-features adds p_alive and
// expected_purchases_90d to every cutoff, each from BG/NBD fitted on the
// clv summary as of that cutoff; the card takes them and records the
// holdout cutoff's fit, which is the one its holdout columns come from.
// Measured (seed 42, 4,000 customers): holdout AUC 0.8275 with the
// columns, 0.8228 without; log loss 0.4378 and 0.4418.
func TestChurnCLVFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("generates histories")
	}
	ctx := context.Background()
	st := newTaskStore(t)
	if _, err := synth.Generate(ctx, st, synth.Options{Name: "gen", Customers: 4000, Seed: 42}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	opt := TaskOptions{
		Features: features.Options{Dataset: "gen", Task: features.TaskChurn, AsOf: "2024-10-01"},
		Cutoffs:  3, Step: datasets.Span{Days: 90}, CLVFeatures: true,
	}
	out, err := TrainTask(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := TrainTask(ctx, st, TaskOptions{Features: opt.Features, Cutoffs: 3, Step: opt.Step})
	if err != nil {
		t.Fatal(err)
	}
	m, p := out.Model.Holdout, plain.Model.Holdout
	t.Logf("with clv features: AUC %.4f AP %.4f log loss %.4f; without: AUC %.4f AP %.4f log loss %.4f; coefficients p_alive %.4f, expected_purchases_90d %.4f",
		m.AUC, m.AveragePrecision, m.LogLoss, p.AUC, p.AveragePrecision, p.LogLoss, out.Card.Coefficients["p_alive"], out.Card.Coefficients["expected_purchases_90d"])
	names := out.Card.Inputs.Names()
	if len(names) != len(plain.Card.Inputs.Names())+2 || names[len(names)-2] != "p_alive" || names[len(names)-1] != "expected_purchases_90d" {
		t.Fatalf("inputs %v", names)
	}
	if m.AUC < p.AUC-0.01 {
		t.Errorf("the clv columns cost AUC: %.4f with, %.4f without", m.AUC, p.AUC)
	}
	cf, err := btyd.ChurnFeaturesOf(out.Card)
	if err != nil || cf == nil {
		t.Fatalf("card parameters: %v, %v", cf, err)
	}
	if cf.FittedAsOf != "2024-10-01" || cf.Horizon != "90d" || cf.Unit != features.CLVDays || cf.Variant != btyd.BGNBD {
		t.Errorf("clv features %+v", cf)
	}
	fits, _ := out.Card.Lineage.Extra["clv_fits"].(map[string]any)
	var cutoffs []string
	for k, v := range fits {
		cutoffs = append(cutoffs, k)
		if l := v.(map[string]any); !strings.Contains(l["table"].(string), "/clv/"+k+"/") {
			t.Errorf("cutoff %s's columns come from %s", k, l["table"])
		}
	}
	slices.Sort(cutoffs)
	if strings.Join(cutoffs, " ") != "2024-04-04 2024-07-03 2024-10-01" {
		t.Errorf("clv fits at %v", cutoffs)
	}
	if h := fits["2024-10-01"].(map[string]any); h["r"] != cf.R || h["b"] != cf.B {
		t.Errorf("the card records %+v, the holdout's fit is %v", cf, h)
	}
	// The earlier cutoffs' fits differ from the holdout's: each is its own.
	if fits["2024-04-04"].(map[string]any)["r"] == cf.R {
		t.Error("the first cutoff's columns use the holdout's parameters")
	}
	// The CLI refuses the columns for another task.
	bad := opt
	bad.Features.Task = features.TaskPropensity
	var fe *datasets.FieldError
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "CLVFeatures") {
		t.Errorf("clv features for propensity: %v", err)
	} else if !errors.As(err, &fe) || fe.Field != "CLVFeatures" {
		t.Errorf("not a field error: %v", err)
	}
}

// TestCLVColumnsFutureLeak: adding, changing or deleting any order line
// at or after as_of leaves the clv summary, the BG/NBD fit on it and
// every p_alive and expected purchases value as of as_of unchanged, bit
// for bit.
func TestCLVColumnsFutureLeak(t *testing.T) {
	ctx := context.Background()
	st := newTaskStore(t)
	asOf := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	base := btydHistory(3, 400, end)
	writeOrders(t, st, "base", base)
	want, err := fitCLVAt(ctx, st, "base", "2024-03-01", nil)
	if err != nil {
		t.Fatal(err)
	}
	cf := want.churnFeatures(datasets.Span{Days: 90})
	ids := []string{"NEW"}
	for id := range want.sums {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	wantFr := &features.Frame{IDs: ids}
	if _, err := addCLVColumns(wantFr, want, cf); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	future := func() int64 { return asOf.UnixMicro() + r.Int64N(end.UnixMicro()-asOf.UnixMicro()) }
	for trial := 0; trial < 6; trial++ {
		h := slices.Clone(base)
		var what string
		switch trial % 3 {
		case 0:
			for k := 0; k < 50; k++ {
				o := h[r.IntN(len(h))]
				o.Timestamp, o.OrderID = future(), fmt.Sprintf("new%d", k)
				h = append(h, o)
			}
			h = append(h, datasets.Order{CustomerID: "NEW", OrderID: "n", Timestamp: future(), Quantity: 1, UnitPrice: ptrF(3), LineType: datasets.LineSale})
			what = "add sales"
		case 1:
			h = slices.DeleteFunc(h, func(o datasets.Order) bool { return o.Timestamp >= asOf.UnixMicro() && r.IntN(2) == 0 })
			what = "delete sales"
		case 2:
			for i := range h {
				if h[i].Timestamp >= asOf.UnixMicro() {
					h[i].Timestamp = future()
					h[i].UnitPrice = ptrF(99)
				}
			}
			what = "move and reprice sales"
		}
		name := fmt.Sprintf("t%d", trial)
		writeOrders(t, st, name, h)
		got, err := fitCLVAt(ctx, st, name, "2024-03-01", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.params != want.params || len(got.sums) != len(want.sums) {
			t.Fatalf("trial %d (%s): the fit moved: %+v, want %+v (%d customers, want %d)", trial, what, got.params, want.params, len(got.sums), len(want.sums))
		}
		fr := &features.Frame{IDs: ids}
		if _, err := addCLVColumns(fr, got, got.churnFeatures(datasets.Span{Days: 90})); err != nil {
			t.Fatal(err)
		}
		for j := range fr.Values {
			for i := range ids {
				a, b := fr.Values[j][i], wantFr.Values[j][i]
				if math.Float64bits(a) != math.Float64bits(b) || fr.Valid[j][i] != wantFr.Valid[j][i] {
					t.Fatalf("trial %d (%s): customer %s %s = %v, want %v", trial, what, ids[i], fr.Schema.Features[j].Name, a, b)
				}
			}
		}
	}
	// The columns' own rule: a customer without a summary (NEW, first
	// seen after as_of) gets nulls.
	if i := slices.Index(ids, "NEW"); wantFr.Valid[0][i] || wantFr.Valid[1][i] {
		t.Error("a customer without a summary has clv values")
	}
}

func ptrF(x float64) *float64 { return &x }

// btydHistory draws n customers as BG/NBD does: a first purchase in
// 2023, then purchases at a Gamma-distributed rate until a dropout after
// each purchase with a Beta-distributed probability, up to end.
func btydHistory(seed uint64, n int, end time.Time) []datasets.Order {
	r := rand.New(rand.NewPCG(seed, 1))
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []datasets.Order
	for c := 0; c < n; c++ {
		id := fmt.Sprintf("C%04d", c)
		rate := (0.2 + 2*r.Float64()) / 30 // purchases a day
		drop := 0.05 + 0.4*r.Float64()
		ts := start.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
		for k := 0; ts.Before(end); k++ {
			out = append(out, datasets.Order{CustomerID: id, OrderID: fmt.Sprintf("%s-%d", id, k), Timestamp: ts.UnixMicro(), ProductID: "P1",
				Quantity: float64(1 + r.IntN(3)), UnitPrice: ptrF(float64(1+r.IntN(4000)) / 100), LineType: datasets.LineSale})
			if r.Float64() < drop {
				break
			}
			ts = ts.Add(time.Duration(r.ExpFloat64() / rate * float64(24*time.Hour)))
		}
	}
	return out
}

func writeOrders(t *testing.T, st datasets.Store, name string, rows []datasets.Order) {
	t.Helper()
	ctx := context.Background()
	w, err := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: name, SpillRows: 500})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, datasets.CommitOptions{Operation: "test", TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
}
