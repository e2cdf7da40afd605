package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
)

// CLVOptions describe a buy-till-you-die training run (`train --task
// clv`).
type CLVOptions struct {
	// Features is the clv feature table to fit on: Dataset and AsOf
	// (required), FeatureSet the unit (days by default), Lookback, and
	// CLVHoldout, which adds the calibration/holdout check.
	Features features.Options
	// Model is the transaction model registered: btyd.BGNBD (default) or
	// btyd.MBGNBD. Both are fitted and reported.
	Model string
	// Penalizer is lifetimes' penalizer_coef: the L2 penalty on the
	// parameters (0: plain maximum likelihood).
	Penalizer float64
}

// HoldoutRow is one frequency bucket of the calibration/holdout check:
// the customers with x repeat purchases in the calibration period, their
// mean purchase days in the holdout, and each model's mean conditional
// expectation over the holdout.
type HoldoutRow struct {
	Frequency string  `json:"frequency"`
	Customers int     `json:"customers"`
	Actual    float64 `json:"actual"`
	BGNBD     float64 `json:"bgnbd"`
	MBGNBD    float64 `json:"mbgnbd"`
}

// ChurnBaseline is the label-free churn baseline on the holdout.
type ChurnBaseline struct {
	// Churned is the number of customers without a purchase in the
	// holdout, of Customers.
	Churned   int `json:"churned"`
	Customers int `json:"customers"`
	// AUCPAlive is the ROC AUC of 1 - p_alive; AUCExpected that of minus
	// the expected purchases over the holdout.
	AUCPAlive   float64 `json:"auc_p_alive"`
	AUCExpected float64 `json:"auc_expected_purchases"`
}

// HoldoutBuckets is the number of frequency buckets: x = 0..6, and 7+.
const HoldoutBuckets = 8

// CLVOutcome is what TrainCLV fitted.
type CLVOutcome struct {
	// Card is ready for the registry (kind bgnbd-gg).
	Card   *models.Card
	Params btyd.Params
	// Fits are the transaction models' fits by variant, and the spend
	// model's ("gamma-gamma"); the variant not registered is fitted for
	// the comparison only.
	Fits map[string]BTYDFit
	// Alternative holds the other transaction model's parameters.
	Alternative btyd.Params
	// Holdout is the calibration/holdout table (nil without a holdout).
	Holdout []HoldoutRow
	// ChurnBaseline is, with a holdout, how well the registered model
	// separates the customers with no purchase in the holdout (churn
	// labels) without seeing any label: AUCs of 1 - p_alive and of minus
	// the expected purchases over the holdout.
	ChurnBaseline *ChurnBaseline
	// Features is the clv feature table fitted on.
	Features *features.Manifest
}

// TrainCLV builds (or reuses) the clv feature table as of
// o.Features.AsOf, fits BG/NBD, MBG/NBD and Gamma-Gamma, and returns the
// card of the chosen transaction model with the spend model, with the
// log-likelihoods and, with a holdout, the calibration/holdout table.
func TrainCLV(ctx context.Context, st datasets.Store, o CLVOptions) (*CLVOutcome, error) {
	if o.Model == "" {
		o.Model = btyd.BGNBD
	}
	if o.Model != btyd.BGNBD && o.Model != btyd.MBGNBD {
		return nil, datasets.Fieldf("Model", o.Model, "want %s or %s", btyd.BGNBD, btyd.MBGNBD)
	}
	if !(o.Penalizer >= 0) || math.IsInf(o.Penalizer, 1) {
		return nil, datasets.Fieldf("Penalizer", fmt.Sprint(o.Penalizer), "want a finite number >= 0")
	}
	fo := o.Features
	fo.Task = features.TaskCLV
	res, err := features.Build(ctx, st, fo)
	if err != nil {
		return nil, err
	}
	fm := res.Manifest
	fr, err := features.ReadFrame(ctx, st, fm)
	if err != nil {
		return nil, err
	}
	unit := fm.Params.FeatureSet
	unitDays, err := features.CLVUnitDays(unit)
	if err != nil {
		return nil, fmt.Errorf("feature table %s: %w", fm.Key(), err)
	}
	col := func(name string) []float64 {
		i := fr.Schema.Index(name)
		if i < 0 {
			return nil
		}
		return fr.Values[i]
	}
	xs, txs, ts, ms := col(features.CLVFrequency), col(features.CLVRecency), col(features.CLVAge), col(features.CLVMonetary)
	if xs == nil || txs == nil || ts == nil || ms == nil {
		return nil, fmt.Errorf("feature table %s is not a clv summary", fm.Key())
	}
	sums := make([]btyd.Summary, len(xs))
	for i := range xs {
		sums[i] = btyd.Summary{X: xs[i], Tx: txs[i], T: ts[i]}
	}
	out := &CLVOutcome{Features: fm, Fits: map[string]BTYDFit{}}
	params := map[string]btyd.Params{}
	for _, v := range []string{btyd.BGNBD, btyd.MBGNBD} {
		p, fit, err := FitTransactions(sums, v, o.Penalizer)
		if err != nil {
			if v != o.Model {
				continue // the comparison model is optional
			}
			return nil, fmt.Errorf("clv as of %s: %w", fm.AsOf, err)
		}
		params[v], out.Fits[v] = p, fit
	}
	pp, q, v, gfit, err := FitGammaGamma(xs, ms, o.Penalizer)
	if err != nil {
		return nil, fmt.Errorf("clv as of %s: %w", fm.AsOf, err)
	}
	out.Fits["gamma-gamma"] = gfit
	for k, p := range params {
		p.P, p.Q, p.V = pp, q, v
		params[k] = p
	}
	out.Params = params[o.Model]
	if o.Model == btyd.BGNBD {
		out.Alternative = params[btyd.MBGNBD]
	} else {
		out.Alternative = params[btyd.BGNBD]
	}
	if fr.Label != nil && fm.Params.Horizon != "" {
		h, err := datasets.ParseSpan(fm.Params.Horizon)
		if err != nil {
			return nil, fmt.Errorf("feature table %s: holdout %q: %w", fm.Key(), fm.Params.Horizon, err)
		}
		t := float64(h.Days) / unitDays
		out.Holdout = holdoutTable(sums, fr.Label, t, params)
		if out.ChurnBaseline, err = churnBaseline(sums, fr.Label, t, out.Params); err != nil {
			return nil, err
		}
	}
	card := btyd.NewCard(out.Params, unit)
	mb, err := datasets.ReadAll(ctx, st, fm.Key())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(mb)
	card.Lineage = &models.Lineage{Dataset: fm.Dataset, Table: fm.Key(), Cutoffs: []string{fm.AsOf}, Rows: len(xs),
		Manifests: []models.ManifestRef{{Key: fm.Key(), SHA256: hex.EncodeToString(sum[:])}},
		Extra:     map[string]any{"lookback": fm.Params.Lookback, "unit": unit}}
	card.Parameters["penalizer"] = o.Penalizer
	metrics := map[string]any{}
	ll := map[string]float64{}
	for k, f := range out.Fits {
		ll[k] = f.LogLik
	}
	metrics["log_likelihood"] = ll
	metrics["fits"] = out.Fits
	if alt, ok := params[other(o.Model)]; ok {
		metrics["alternative"] = map[string]any{"variant": alt.Variant, "r": alt.R, "alpha": alt.Alpha, "a": alt.A, "b": alt.B}
	}
	if out.Holdout != nil {
		metrics["holdout"] = fm.Params.Horizon
		metrics["calibration_holdout"] = out.Holdout
		metrics["churn_baseline"] = out.ChurnBaseline
	}
	card.Metrics = metrics
	out.Card = card
	return out, nil
}

func other(v string) string {
	if v == btyd.BGNBD {
		return btyd.MBGNBD
	}
	return btyd.BGNBD
}

// holdoutTable is the calibration/holdout check by frequency bucket: the
// mean actual purchase days in the holdout against each model's mean
// conditional expectation over the holdout's t units.
func holdoutTable(sums []btyd.Summary, actual []float64, t float64, params map[string]btyd.Params) []HoldoutRow {
	rows := make([]HoldoutRow, HoldoutBuckets)
	for i := range rows {
		rows[i].Frequency = strconv.Itoa(i)
	}
	rows[HoldoutBuckets-1].Frequency = strconv.Itoa(HoldoutBuckets-1) + "+"
	for i, s := range sums {
		k := min(int(s.X), HoldoutBuckets-1)
		r := &rows[k]
		r.Customers++
		r.Actual += actual[i]
		if p, ok := params[btyd.BGNBD]; ok {
			r.BGNBD += p.ConditionalExpected(t, s)
		}
		if p, ok := params[btyd.MBGNBD]; ok {
			r.MBGNBD += p.ConditionalExpected(t, s)
		}
	}
	for i := range rows {
		if n := float64(rows[i].Customers); n > 0 {
			rows[i].Actual /= n
			rows[i].BGNBD /= n
			rows[i].MBGNBD /= n
		}
	}
	return rows
}

// churnBaseline scores churn (no purchase in the holdout of t units) with
// p's probability alive and expected purchases; nil when the holdout has
// only one class.
func churnBaseline(sums []btyd.Summary, actual []float64, t float64, p btyd.Params) (*ChurnBaseline, error) {
	y := make([]float64, len(sums))
	dead, fewer := make([]float64, len(sums)), make([]float64, len(sums))
	b := &ChurnBaseline{Customers: len(sums)}
	for i, s := range sums {
		if actual[i] == 0 {
			y[i] = 1
			b.Churned++
		}
		dead[i] = 1 - p.PAlive(s)
		fewer[i] = math.Exp(-p.ConditionalExpected(t, s)) // in (0, 1], falling with E: the ranks of -E
	}
	if b.Churned == 0 || b.Churned == len(sums) {
		return nil, nil
	}
	m, err := Evaluate(y, dead, nil)
	if err != nil {
		return nil, err
	}
	b.AUCPAlive = m.AUC
	if m, err = Evaluate(y, fewer, nil); err != nil {
		return nil, err
	}
	b.AUCExpected = m.AUC
	return b, nil
}
