package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
)

// CLVBaselineName names churn's label-free baseline in reports.
const CLVBaselineName = "bgnbd"

// CLVBaselineScore says what the label-free baseline scores.
const CLVBaselineScore = "P(no purchase day in [as_of, as_of + horizon)) = 1 - p_alive + p_alive ((alpha+T)/(alpha+T+h))^(r+x), BG/NBD fitted without labels on the clv summary (days) as of the holdout cutoff"

// CLVBaseline is churn's label-free baseline on the holdout cutoff:
// BG/NBD fitted by maximum likelihood on the clv summary as of that
// cutoff (only purchases before it, no label), scoring each holdout row
// with the probability of no purchase within the horizon. Metrics are in
// the direction of the churn label (for the rfm-anchor feature set,
// whose label is 1 - churn, the score is 1 minus that probability).
type CLVBaseline struct {
	Name   string `json:"name"`
	Score  string `json:"score"`
	Cutoff string `json:"cutoff"`
	// Table is the clv summary's feature table, TableSHA256 its
	// manifest's checksum.
	Table       string `json:"table,omitempty"`
	TableSHA256 string `json:"table_sha256,omitempty"`
	// Params are r, alpha, a, b in days; Fit the maximum-likelihood fit.
	Params map[string]float64 `json:"params,omitempty"`
	Fit    *BTYDFit           `json:"fit,omitempty"`
	// Missing counts holdout rows without a clv summary (no purchase
	// day before as_of in the clv sense): scored with the mean of the
	// others.
	Missing int `json:"missing"`
	// Holdout are the score's metrics on the holdout rows.
	Holdout *Metrics `json:"holdout,omitempty"`
	// AUCPAlive is the ROC AUC of 1 - p_alive alone (BG/NBD gives every
	// one-time buyer p_alive = 1, so it ranks only repeat buyers);
	// AUCExpected that of minus the expected purchases over the horizon.
	AUCPAlive   float64 `json:"roc_auc_p_alive"`
	AUCExpected float64 `json:"roc_auc_expected_purchases"`
	// Note says why the baseline could not be computed (too few repeat
	// buyers to fit, one class in the holdout); empty otherwise.
	Note string `json:"note,omitempty"`
}

// clvAt is the clv summary as of one cutoff and the BG/NBD fit on it,
// without labels.
type clvAt struct {
	manifest *features.Manifest
	sha256   string
	sums     map[string]btyd.Summary
	params   btyd.Params
	fit      BTYDFit
}

// fitCLVAt builds (or reuses) the clv summary of a dataset as of asOf (in
// days, over the whole history, without a holdout: only purchases before
// asOf) and fits BG/NBD on it.
func fitCLVAt(ctx context.Context, st datasets.Store, dataset, asOf string, now func() time.Time) (*clvAt, error) {
	res, err := features.Build(ctx, st, features.Options{Dataset: dataset, Task: features.TaskCLV, AsOf: asOf,
		FeatureSet: features.CLVDays, Lookback: features.CLVDefaultLookback, Now: now})
	if err != nil {
		return nil, err
	}
	fm := res.Manifest
	b, err := datasets.ReadAll(ctx, st, fm.Key())
	if err != nil {
		return nil, err
	}
	fr, err := features.ReadFrame(ctx, st, fm)
	if err != nil {
		return nil, fmt.Errorf("feature table %s: %w", fm.Key(), err)
	}
	ix, it, iT := fr.Schema.Index(features.CLVFrequency), fr.Schema.Index(features.CLVRecency), fr.Schema.Index(features.CLVAge)
	if ix < 0 || it < 0 || iT < 0 {
		return nil, fmt.Errorf("feature table %s is not a clv summary", fm.Key())
	}
	sum := sha256.Sum256(b)
	c := &clvAt{manifest: fm, sha256: hex.EncodeToString(sum[:]), sums: make(map[string]btyd.Summary, len(fr.IDs))}
	list := make([]btyd.Summary, len(fr.IDs))
	for i, id := range fr.IDs {
		s := btyd.Summary{X: fr.Values[ix][i], Tx: fr.Values[it][i], T: fr.Values[iT][i]}
		c.sums[id], list[i] = s, s
	}
	if c.params, c.fit, err = FitTransactions(list, btyd.BGNBD, 0); err != nil {
		return nil, fmt.Errorf("clv summary as of %s: %w", asOf, err)
	}
	return c, nil
}

// churnFeatures records c's fit for a churn card.
func (c *clvAt) churnFeatures(horizon datasets.Span) btyd.ChurnFeatures {
	return btyd.NewChurnFeatures(c.params, features.CLVDays, features.CLVDefaultLookback, horizon, c.manifest.AsOf, len(c.sums))
}

// lineage is c in a card's lineage: the table, its fit.
func (c *clvAt) lineage() map[string]any {
	p := c.params
	return map[string]any{"table": c.manifest.Key(), "customers": len(c.sums), "variant": p.Variant,
		"r": p.R, "alpha": p.Alpha, "a": p.A, "b": p.B, "log_likelihood": c.fit.LogLik}
}

// addCLVColumns appends the churn columns of cf (p_alive and the
// expected purchases over the horizon) to fr, from each row's customer
// summary in c with c's parameters; a row whose customer has no summary
// gets nulls. It returns the number of such rows.
func addCLVColumns(fr *features.Frame, c *clvAt, cf btyd.ChurnFeatures) (int, error) {
	t, err := cf.HorizonUnits()
	if err != nil {
		return 0, err
	}
	cols := cf.Columns()
	for _, col := range cols {
		if fr.Schema.Index(col.Name) >= 0 {
			return 0, fmt.Errorf("the feature table already has a column %q", col.Name)
		}
	}
	n := len(fr.IDs)
	pa, ex := make([]float64, n), make([]float64, n)
	va, ve := make([]bool, n), make([]bool, n)
	missing := 0
	p := cf.Params()
	for i, id := range fr.IDs {
		s, ok := c.sums[id]
		if !ok {
			pa[i], ex[i] = math.NaN(), math.NaN()
			missing++
			continue
		}
		pa[i], ex[i] = p.ChurnValues(s, t)
		va[i], ve[i] = true, true
	}
	for _, col := range cols {
		fr.Schema.Features = append(fr.Schema.Features, features.Feature{Name: col.Name, Kind: col.Kind, Nullable: true, Description: col.Description, Type: col.Type})
	}
	fr.Values = append(fr.Values, pa, ex)
	fr.Valid = append(fr.Valid, va, ve)
	return missing, nil
}

// clvBaseline scores the holdout rows of fr (labels: churn when
// churnLabel, else purchase) with c's BG/NBD probability of no purchase
// over t days, and measures it. One class in the holdout gives a note.
func clvBaseline(fr *features.Frame, c *clvAt, t float64, churnLabel bool) (*CLVBaseline, error) {
	p := c.params
	fit := c.fit
	b := &CLVBaseline{Name: CLVBaselineName, Score: CLVBaselineScore, Cutoff: c.manifest.AsOf, Table: c.manifest.Key(), TableSHA256: c.sha256,
		Params: map[string]float64{"r": p.R, "alpha": p.Alpha, "a": p.A, "b": p.B}, Fit: &fit}
	n := len(fr.IDs)
	if len(fr.Label) != n {
		return nil, fmt.Errorf("clv baseline: %d labels for %d rows", len(fr.Label), n)
	}
	score, dead, fewer := make([]float64, n), make([]float64, n), make([]float64, n)
	have := make([]bool, n)
	var sum float64
	for i, id := range fr.IDs {
		s, ok := c.sums[id]
		if !ok {
			b.Missing++
			continue
		}
		have[i] = true
		score[i] = p.PNoPurchase(t, s)
		pa, e := p.ChurnValues(s, t)
		dead[i], fewer[i] = 1-pa, math.Exp(-e) // exp(-E) ranks as -E, in (0, 1]
		sum += score[i]
	}
	if b.Missing == n {
		b.Note = "no holdout customer has a clv summary"
		return b, nil
	}
	mean := sum / float64(n-b.Missing)
	for i := range score {
		if !have[i] {
			score[i], dead[i], fewer[i] = mean, mean, mean
		}
		if !churnLabel {
			score[i], dead[i], fewer[i] = 1-score[i], 1-dead[i], 1-fewer[i]
		}
	}
	pos := 0
	for _, y := range fr.Label {
		if y == 1 {
			pos++
		}
	}
	if pos == 0 || pos == n {
		b.Note = "the holdout has one class"
		return b, nil
	}
	m, err := Evaluate(fr.Label, score, nil)
	if err != nil {
		return nil, fmt.Errorf("clv baseline: %w", err)
	}
	b.Holdout = &m
	if m, err = Evaluate(fr.Label, dead, nil); err != nil {
		return nil, fmt.Errorf("clv baseline: %w", err)
	}
	b.AUCPAlive = m.AUC
	if m, err = Evaluate(fr.Label, fewer, nil); err != nil {
		return nil, fmt.Errorf("clv baseline: %w", err)
	}
	b.AUCExpected = m.AUC
	return b, nil
}

// churnCLV is the clv part of a churn training: the label-free baseline
// on the holdout cutoff, always, and with o.CLVFeatures the columns
// p_alive and expected_purchases_<horizon> added to every cutoff read,
// each from a fit on its own cutoff's summary. It records the summaries
// read and the fits in lin, and returns the baseline and, with the
// columns, the ChurnFeatures scoring uses (the holdout cutoff's fit).
func churnCLV(ctx context.Context, st datasets.Store, o TaskOptions, cuts []CutoffFrame, used []int, hold int, m0 *features.Manifest, lin *models.Lineage) (*CLVBaseline, *btyd.ChurnFeatures, error) {
	horizon, err := datasets.ParseSpan(m0.Params.Horizon)
	if err != nil {
		return nil, nil, fmt.Errorf("feature table %s: horizon: %w", m0.Key(), err)
	}
	churnLabel := m0.Params.FeatureSet != features.SetRFMAnchor
	// The holdout first: it is the baseline's cutoff.
	order := []int{hold}
	if o.CLVFeatures {
		for _, i := range used {
			if !slices.Contains(order, i) {
				order = append(order, i)
			}
		}
	}
	fits := map[int]*clvAt{}
	var base *CLVBaseline
	for _, i := range order {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		c, err := fitCLVAt(ctx, st, m0.Dataset, cuts[i].Name, o.Features.Now)
		if err != nil {
			if !o.CLVFeatures {
				// The baseline is a comparison: a dataset BG/NBD cannot
				// be fitted on still trains its churn model.
				return &CLVBaseline{Name: CLVBaselineName, Score: CLVBaselineScore, Cutoff: cuts[i].Name, Note: err.Error()}, nil, nil
			}
			return nil, nil, fmt.Errorf("clv features, cutoff %s: %w", cuts[i].Name, err)
		}
		fits[i] = c
		if o.CLVFeatures {
			// Inputs of the model; the baseline's table is in the baseline.
			lin.Manifests = append(lin.Manifests, models.ManifestRef{Key: c.manifest.Key(), SHA256: c.sha256})
		}
		if i == hold {
			if base, err = clvBaseline(cuts[i].Frame, c, float64(horizon.Days), churnLabel); err != nil {
				return nil, nil, err
			}
		}
	}
	if !o.CLVFeatures {
		return base, nil, nil
	}
	perCutoff := map[string]any{}
	for _, i := range order {
		c := fits[i]
		cf := c.churnFeatures(horizon)
		missing, err := addCLVColumns(cuts[i].Frame, c, cf)
		if err != nil {
			return nil, nil, fmt.Errorf("clv features, cutoff %s: %w", cuts[i].Name, err)
		}
		l := c.lineage()
		l["rows_without_summary"] = missing
		perCutoff[cuts[i].Name] = l
	}
	lin.Extra["clv_fits"] = perCutoff
	cf := fits[hold].churnFeatures(horizon)
	return base, &cf, nil
}
