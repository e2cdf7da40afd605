package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/negbin"
)

// DemandOptions configure TrainDemand.
type DemandOptions struct {
	// Features describe the demand feature tables: Dataset, AsOf (the
	// latest origin: the holdout), Horizon, Lookback, Period, TopProducts,
	// Measure. Task is set to demand and labels are always built.
	Features features.Options
	// Cutoffs and Step: the origins are AsOf - k*Step, k = 0..Cutoffs-1.
	Cutoffs int
	Step    datasets.Span
	// C is the inverse L2 strength of the Poisson fit (default 1); Tol and
	// MaxIter are passed to FitPoisson.
	C       float64
	Tol     float64
	MaxIter int
	// Drop are features not to use.
	Drop []string
	// Lineage is recorded on the card (may be nil).
	Lineage *models.Lineage
}

// CalendarFeatures are the demand features that place a period in the
// year. A linear model learns nothing of the year's shape from origins
// spanning less than a year, only a slope it would extrapolate: they are
// left out of the fit then (with a warning).
var CalendarFeatures = []string{"period_of_year", "month", "season_sin", "season_cos"}

// DemandOutcome is a count model trained on demand origins and its
// backtest on the held-out origin.
type DemandOutcome struct {
	Card *models.Card
	Fit  PoissonResult
	// Alpha, AlphaPower and DispersionCoef are the dispersion: alpha =
	// Alpha * mu^AlphaPower * exp(DispersionCoef * DispersionInput).
	Alpha, AlphaPower, DispersionCoef float64
	DispersionInput                   string
	Holdout                           string
	Train, Excluded                   []string
	TrainRows, HoldoutRows            int
	Backtest                          *Backtest
	TrainingSet                       string
	Warnings                          []string
}

// Validate checks the options TrainDemand needs besides the features'.
func (o DemandOptions) Validate() error {
	if o.Cutoffs < 2 {
		return datasets.Fieldf("Cutoffs", strconv.Itoa(o.Cutoffs), "want at least 2 (the latest is held out, earlier ones are trained on)")
	}
	if o.Step.Days < 1 {
		return datasets.Fieldf("Step", o.Step.String(), "a step of at least one day between origins is required (the horizon keeps every origin)")
	}
	if o.C < 0 || math.IsNaN(o.C) || math.IsInf(o.C, 0) {
		return datasets.Fieldf("C", strconv.FormatFloat(o.C, 'g', -1, 64), "want a positive number")
	}
	return nil
}

// TrainDemand builds (or reuses) the demand feature tables of the origins,
// with labels, fits the count model (FitPoisson, then FitAlpha) on the
// origins whose horizon ends by the latest, scores the latest and
// backtests it beside the classic forecasters (RunBacktest).
func TrainDemand(ctx context.Context, st datasets.Store, opt DemandOptions) (*DemandOutcome, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if opt.C == 0 {
		opt.C = 1
	}
	fo := opt.Features
	fo.Task, fo.Labels = features.TaskDemand, true
	ts, key, err := features.BuildTrainingSet(ctx, st, fo, opt.Cutoffs, opt.Step)
	if err != nil {
		return nil, err
	}
	_, ms, err := features.ReadTrainingSet(ctx, st, key)
	if err != nil {
		return nil, err
	}
	lin := models.Lineage{Dataset: ts.Dataset, Table: key, Extra: map[string]any{}}
	if opt.Lineage != nil {
		lin = *opt.Lineage
		lin.Dataset, lin.Table = ts.Dataset, key
		if lin.Extra == nil {
			lin.Extra = map[string]any{}
		}
	}
	cuts, err := demandCutoffs(ctx, st, ms, &lin)
	if err != nil {
		return nil, err
	}
	plain := make([]Cutoff, len(cuts))
	for i := range cuts {
		plain[i] = cuts[i].Cutoff
	}
	split, err := TimeSplit(plain)
	if err != nil {
		return nil, err
	}
	for _, i := range append([]int{split.Holdout}, split.Train...) {
		if cuts[i].Frame, err = features.ReadFrame(ctx, st, ms[i]); err != nil {
			return nil, fmt.Errorf("feature table %s: %w", ms[i].Key(), err)
		}
	}
	names := func(idx []int) []string {
		out := []string{}
		for _, i := range idx {
			out = append(out, cuts[i].Name)
		}
		return out
	}
	out := &DemandOutcome{Holdout: cuts[split.Holdout].Name, Train: names(split.Train), Excluded: names(split.Excluded), TrainingSet: key, Warnings: []string{}}
	if w := excludedWarning(cuts, split); w != "" {
		out.Warnings = append(out.Warnings, w)
	}
	var train []*features.Frame
	for _, i := range split.Train {
		train = append(train, cuts[i].Frame)
	}
	drop := slices.Clone(opt.Drop)
	first := cuts[split.Holdout].AsOf
	for _, i := range split.Train {
		if cuts[i].AsOf.Before(first) {
			first = cuts[i].AsOf
		}
	}
	if span := cuts[split.Holdout].AsOf.Sub(first); span < 364*24*time.Hour {
		drop = append(drop, CalendarFeatures...)
		out.Warnings = append(out.Warnings, fmt.Sprintf("calendar features (%s) left out: the origins span %d days, less than a year", strings.Join(CalendarFeatures, ", "), int(span.Hours()/24)))
	}
	dz, err := newDemandDesign(train, drop)
	if err != nil {
		return nil, err
	}
	out.TrainRows = len(dz.y)
	if out.Fit, err = FitPoisson(dz.x, len(dz.y), len(dz.cols), dz.y, opt.C, opt.Tol, opt.MaxIter); err != nil {
		return nil, err
	}
	if out.Fit.Status != "converged" {
		out.Warnings = append(out.Warnings, "the Poisson fit did not converge: "+out.Fit.Status)
	}
	mu := make([]float64, len(dz.y))
	for i := range mu {
		mu[i] = math.Exp(out.Fit.Intercept + dot(dz.x[i*len(dz.cols):(i+1)*len(dz.cols)], out.Fit.Coef))
	}
	z := dz.raw(train, DispersionFeature)
	for _, i := range split.Train {
		cuts[i].Frame = nil // the design holds what the fit needs
	}
	train = nil
	if z != nil {
		out.DispersionInput = DispersionFeature
	}
	if out.Alpha, out.AlphaPower, out.DispersionCoef, err = FitDispersion(dz.y, mu, z); err != nil {
		return nil, err
	}
	m0 := ms[split.Holdout]
	card := dz.card(out.Fit, opt.C)
	card.Parameters[negbin.AlphaParam], card.Parameters[negbin.AlphaPowerParam] = out.Alpha, out.AlphaPower
	if z != nil {
		card.Parameters[negbin.DispersionInputParam], card.Parameters[negbin.DispersionCoefParam] = DispersionFeature, out.DispersionCoef
	}
	card.Task = features.TaskDemand
	model, err := negbin.New(card)
	if err != nil {
		return nil, fmt.Errorf("the fitted card does not load: %w", err)
	}
	hold := cuts[split.Holdout].Frame
	out.HoldoutRows = len(hold.IDs)
	pred, batch, err := scoreFrame(model, hold)
	if err != nil {
		return nil, err
	}
	hf := fo
	hf.AsOf = m0.AsOf
	hist, err := features.ReadDemandSeries(ctx, st, hf)
	if err != nil {
		return nil, err
	}
	alphas := make([]float64, len(pred))
	for i, m := range pred {
		alphas[i] = model.Alpha(m, batch.Row(i))
	}
	if out.Backtest, err = demandBacktest(hist, hold, pred, alphas, m0.AsOf); err != nil {
		return nil, err
	}
	demandLineage(&lin, out, m0, key, ts.Step)
	card.Lineage = &lin
	card.Metrics = map[string]any{
		"train_rows": out.TrainRows, "holdout_rows": out.HoldoutRows,
		"train_deviance": out.Fit.Deviance, "backtest": out.Backtest,
	}
	card.Warnings = out.Warnings
	out.Card = card
	return out, nil
}

// demandCutoffs returns the origins of the training set's tables (latest
// first) and adds each manifest read, with its SHA-256, to lin.
func demandCutoffs(ctx context.Context, st datasets.Store, ms []*features.Manifest, lin *models.Lineage) ([]CutoffFrame, error) {
	cuts := make([]CutoffFrame, len(ms))
	for i, m := range ms {
		if m.AsOfTime == nil || m.Label == "" {
			return nil, fmt.Errorf("feature table %s: no as_of instant or no labels", m.Key())
		}
		h, err := datasets.ParseSpan(m.Params.Horizon)
		if err != nil {
			return nil, fmt.Errorf("feature table %s: horizon: %w", m.Key(), err)
		}
		loc, err := time.LoadLocation(m.TZ)
		if err != nil {
			return nil, fmt.Errorf("feature table %s: zone: %w", m.Key(), err)
		}
		cuts[i].Cutoff = Cutoff{Name: m.AsOf, AsOf: m.AsOfTime.UTC(), LabelEnd: h.After(*m.AsOfTime, loc).UTC()}
		b, err := datasets.ReadAll(ctx, st, m.Key())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		lin.Manifests = append(lin.Manifests, models.ManifestRef{Key: m.Key(), SHA256: hex.EncodeToString(sum[:])})
	}
	return cuts, nil
}

// demandLineage records the split and the feature options on lin: scoring
// rebuilds the same features from them.
func demandLineage(lin *models.Lineage, out *DemandOutcome, m0 *features.Manifest, key, step string) {
	lin.Cutoffs = append([]string{out.Holdout}, out.Train...)
	lin.Rows = out.TrainRows + out.HoldoutRows
	lin.Extra["training_set"] = key
	lin.Extra["feature_spec"] = m0.Spec
	lin.Extra["feature_fingerprint"] = m0.Fingerprint
	lin.Extra["holdout_cutoff"] = out.Holdout
	lin.Extra["training_cutoffs"] = out.Train
	lin.Extra["excluded_cutoffs"] = out.Excluded
	lin.Extra["horizon"] = m0.Params.Horizon
	lin.Extra["lookback"] = m0.Params.Lookback
	lin.Extra["period"] = m0.Params.Period
	lin.Extra["measure"] = m0.Params.Measure
	lin.Extra["top_products"] = m0.Params.TopProducts
	lin.Extra["step"] = step
	lin.Extra["label_meaning"] = m0.LabelMeaning
	lin.Extra["dataset_manifests"] = m0.Inputs
}

// scoreFrame returns the model's mean of every row of a frame, and the
// rows as the model reads them.
func scoreFrame(m *negbin.Model, fr *features.Frame) ([]float64, models.Batch, error) {
	in := m.Card().Inputs.Features
	n := len(fr.IDs)
	b := models.Batch{Rows: n, Cols: len(in), Values: make([]float64, n*len(in))}
	for j, f := range in {
		k := fr.Schema.Index(f.Name)
		if k < 0 {
			return nil, b, fmt.Errorf("%w: the feature table has no column %q", models.ErrSchemaMismatch, f.Name)
		}
		for i := 0; i < n; i++ {
			v := fr.Values[k][i]
			if !fr.Valid[k][i] {
				v = math.NaN()
			}
			b.Values[i*len(in)+j] = v
		}
	}
	dst := make([]float64, n)
	return dst, b, m.Score(dst, b, models.Response)
}

// demandBacktest matches the model's holdout means to the history's series
// and runs the backtest.
func demandBacktest(hist *features.DemandHistory, hold *features.Frame, pred, alphas []float64, origin string) (*Backtest, error) {
	if len(hold.Keys) == 0 || len(hold.Ints) == 0 {
		return nil, fmt.Errorf("the holdout table has no warehouse or step column")
	}
	type key struct {
		p, w string
		h    int64
	}
	mu := make(map[key]Dist, len(pred))
	for i := range pred {
		mu[key{hold.IDs[i], hold.Keys[0][i], hold.Ints[0][i]}] = Dist{Mean: pred[i], Alpha: alphas[i]}
	}
	horizon, l := hist.Steps, hist.Lookback
	if len(hist.Series) == 0 {
		return nil, fmt.Errorf("the holdout origin %s has no series", origin)
	}
	ss := make([]BacktestSeries, len(hist.Series))
	for i, s := range hist.Series {
		ss[i] = BacktestSeries{Product: s.Product, Warehouse: s.Warehouse, History: s.History, Actual: s.Future}
		for h := 1; h <= horizon; h++ {
			if _, ok := mu[key{s.Product, s.Warehouse, int64(h)}]; !ok {
				return nil, fmt.Errorf("series %s/%s step %d: in the history but not in the holdout table", s.Product, s.Warehouse, h)
			}
		}
	}
	lag := 364
	if hist.Period == features.PeriodWeek {
		lag = 52
	}
	if l < lag || hist.First.After(hist.Starts[l-lag]) {
		lag = 0 // the history does not reach a whole year back
	}
	dist := func(i, h int) Dist {
		s := hist.Series[i]
		return mu[key{s.Product, s.Warehouse, int64(h)}]
	}
	pw, prod := RunBacktest(ss, horizon, lag, dist)
	bt := &Backtest{Origin: origin, Period: hist.Period, Horizon: horizon, SeasonLag: lag, Product: prod, ProductWarehouse: pw, Baselines: BaselineNote,
		TopProducts: TopProducts(ss, horizon, TopSeries, TopHistory, dist)}
	if len(bt.TopProducts) > 0 {
		bt.HistoryStart = hist.Starts[l-len(bt.TopProducts[0].History)].Format(time.DateOnly)
	}
	return bt, nil
}

// demandDesign is the standardised design of the training rows.
type demandDesign struct {
	schema features.Schema
	cols   []string  // design columns: features and <feature>_missing flags
	mean   []float64 // per design column
	scale  []float64
	impute map[string]float64 // per feature: its training mean
	x      []float64          // standardised, row-major
	y      []float64
}

// newDemandDesign stacks the training frames: a null feature is imputed
// with its training mean and flagged by a "<name>_missing" column when the
// training rows have nulls; constant columns are dropped; every column is
// standardised with its training mean and population standard deviation.
func newDemandDesign(frames []*features.Frame, drop []string) (*demandDesign, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("no training origin")
	}
	dz := &demandDesign{schema: frames[0].Schema, impute: map[string]float64{}}
	n := 0
	for _, fr := range frames {
		if fr.Schema.Fingerprint() != dz.schema.Fingerprint() {
			return nil, fmt.Errorf("the training tables' feature schemas differ")
		}
		if fr.Label == nil {
			return nil, fmt.Errorf("a training table has no labels")
		}
		n += len(fr.IDs)
		dz.y = append(dz.y, fr.Label...)
	}
	if n == 0 {
		return nil, fmt.Errorf("the training origins have no rows")
	}
	for _, d := range drop {
		if dz.schema.Index(d) < 0 {
			return nil, &datasets.FieldError{Field: "Drop", Value: d, Msg: "no such feature (features: " + strings.Join(dz.schema.Names(), ", ") + ")"}
		}
	}
	valid := func(fr *features.Frame, j, i int) (float64, bool) {
		v := fr.Values[j][i]
		return v, fr.Valid[j][i] && !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	// Pass 1: each column's mean and population standard deviation after
	// imputation (an imputed value is the mean: it adds no deviation; a
	// flag with missing share q has mean q and deviation sqrt(q(1-q))).
	type designCol struct {
		feat        int
		flag        bool
		mean, scale float64
	}
	var cols []designCol
	for j, f := range dz.schema.Features {
		if slices.Contains(drop, f.Name) {
			continue
		}
		var sum float64
		k := 0
		for _, fr := range frames {
			for i := range fr.Values[j] {
				if v, ok := valid(fr, j, i); ok {
					sum += v
					k++
				}
			}
		}
		mean := 0.0
		if k > 0 {
			mean = sum / float64(k)
		}
		var ss float64
		for _, fr := range frames {
			for i := range fr.Values[j] {
				if v, ok := valid(fr, j, i); ok {
					ss += (v - mean) * (v - mean)
				}
			}
		}
		dz.impute[f.Name] = mean
		if sd := math.Sqrt(ss / float64(n)); sd > 0 {
			cols = append(cols, designCol{feat: j, mean: mean, scale: sd})
			dz.cols = append(dz.cols, f.Name)
		}
		if k < n {
			q := float64(n-k) / float64(n)
			if sd := math.Sqrt(q * (1 - q)); sd > 0 {
				cols = append(cols, designCol{feat: j, flag: true, mean: q, scale: sd})
				dz.cols = append(dz.cols, f.Name+"_missing")
			}
		}
	}
	// Pass 2: the standardised design, row-major.
	d := len(cols)
	dz.x = make([]float64, n*d)
	r := 0
	for _, fr := range frames {
		for i := range fr.IDs {
			row := dz.x[r*d : (r+1)*d]
			for c, dc := range cols {
				v, ok := valid(fr, dc.feat, i)
				switch {
				case dc.flag && ok:
					v = 0
				case dc.flag:
					v = 1
				case !ok:
					v = dc.mean
				}
				row[c] = (v - dc.mean) / dc.scale
			}
			r++
		}
	}
	for _, dc := range cols {
		dz.mean = append(dz.mean, dc.mean)
		dz.scale = append(dz.scale, dc.scale)
	}
	return dz, nil
}

// DispersionFeature is the demand feature the dispersion depends on: how
// lumpy the series has been.
const DispersionFeature = "log_vmr_13"

// raw returns feature name's values over the training rows, nulls imputed
// with the training mean; nil when the schema has no such feature.
func (dz *demandDesign) raw(frames []*features.Frame, name string) []float64 {
	j := dz.schema.Index(name)
	if j < 0 {
		return nil
	}
	imp := dz.impute[name]
	var out []float64
	for _, fr := range frames {
		for i, v := range fr.Values[j] {
			if !fr.Valid[j][i] || math.IsNaN(v) || math.IsInf(v, 0) {
				v = imp
			}
			out = append(out, v)
		}
	}
	return out
}

// card returns the negbin card of a fit on the design.
func (dz *demandDesign) card(fit PoissonResult, c float64) *models.Card {
	pp := &models.Preprocessing{Mean: map[string]float64{}, Scale: map[string]float64{}, Impute: dz.impute, Features: dz.cols}
	coef := map[string]float64{}
	for k, name := range dz.cols {
		coef[name] = fit.Coef[k]
		pp.Mean[name], pp.Scale[name] = dz.mean[k], dz.scale[k]
	}
	icpt := fit.Intercept
	in := features.Schema{Features: make([]features.Feature, len(dz.schema.Features))}
	copy(in.Features, dz.schema.Features)
	return &models.Card{
		Kind: models.KindNegBin, Output: negbin.Output, Link: negbin.Link,
		Inputs: in, SchemaFingerprint: in.Fingerprint(),
		Coefficients: coef, Intercept: &icpt, Preprocessing: pp,
		Parameters: map[string]any{
			"alpha_method": "maximum likelihood of the negative binomial with alpha = alpha * mu^alpha_power * exp(dispersion_coef * dispersion_input) on the training rows, given the Poisson fit's means (train.FitDispersion)",
			"c":            c,
			"objective":    "C * sum (mu - y log mu) + 1/2 ||beta||^2 on standardised columns, intercept not penalised",
			"solver":       "newton",
			"iterations":   fit.Iterations,
			"status":       fit.Status,
		},
	}
}
