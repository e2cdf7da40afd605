package train

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
)

// DefaultBaseline is the feature of the one-feature baseline a task model
// is compared with: how long since the customer's last order.
const DefaultBaseline = "recency_days"

// Cutoff is one cutoff of a time-based training set: features as of AsOf,
// the label over [AsOf, LabelEnd).
type Cutoff struct {
	// Name is the cutoff as the feature tables name it (2024-10-01).
	Name     string    `json:"as_of"`
	AsOf     time.Time `json:"as_of_time"`
	LabelEnd time.Time `json:"label_end"`
}

// Split is a time-based split of a list of cutoffs, by index into it.
// Nothing is drawn at random.
type Split struct {
	// Holdout is the latest cutoff: the model is evaluated on it.
	Holdout int
	// Train are the cutoffs whose label window ends at or before the
	// holdout's as_of, latest first: their labels were known at the
	// holdout cutoff.
	Train []int
	// Validation is the latest cutoff before the holdout (-1 when there
	// is none): a search over C is evaluated on it, after fitting on
	// ValidationTrain, the cutoffs whose label window ends at or before
	// the validation's as_of, latest first.
	Validation      int
	ValidationTrain []int
	// Excluded are the cutoffs before the holdout that the final fit
	// does not use: their label window passes the holdout cutoff (the
	// validation cutoff may be among them).
	Excluded []int
}

// TimeSplit splits cutoffs in time. The holdout is the latest; training
// uses only cutoffs whose label window [as_of, label_end) ends at or
// before the holdout's as_of, so no training label looks at a day the
// holdout's features could not see. It fails when no cutoff qualifies.
func TimeSplit(cuts []Cutoff) (Split, error) {
	if len(cuts) == 0 {
		return Split{}, errors.New("time split: no cutoffs")
	}
	order := make([]int, len(cuts))
	for i := range order {
		order[i] = i
		if !cuts[i].LabelEnd.After(cuts[i].AsOf) {
			return Split{}, fmt.Errorf("time split: cutoff %s: label window ends at %s, not after its as_of", cuts[i].Name, cuts[i].LabelEnd.Format(time.RFC3339))
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return cuts[order[a]].AsOf.After(cuts[order[b]].AsOf) })
	for k := 1; k < len(order); k++ {
		if cuts[order[k]].AsOf.Equal(cuts[order[k-1]].AsOf) {
			return Split{}, fmt.Errorf("time split: cutoffs %s and %s are the same instant", cuts[order[k-1]].Name, cuts[order[k]].Name)
		}
	}
	s := Split{Holdout: order[0], Validation: -1}
	hold := cuts[order[0]]
	for _, i := range order[1:] {
		if !cuts[i].LabelEnd.After(hold.AsOf) {
			s.Train = append(s.Train, i)
		} else {
			s.Excluded = append(s.Excluded, i)
		}
	}
	if len(order) > 1 {
		s.Validation = order[1]
		val := cuts[order[1]]
		for _, i := range order[2:] {
			if !cuts[i].LabelEnd.After(val.AsOf) {
				s.ValidationTrain = append(s.ValidationTrain, i)
			}
		}
	}
	if len(s.Train) == 0 {
		span := hold.LabelEnd.Sub(hold.AsOf).Round(time.Hour)
		return s, fmt.Errorf("time split: no cutoff to train on: the holdout is %s and %d earlier cutoff(s) have label windows (%s long) that end after it; give more cutoffs, or a step of at least the horizon",
			hold.Name, len(cuts)-1, span)
	}
	return s, nil
}

// CutoffFrame is one cutoff's feature table, with labels. Frame may be
// nil for a cutoff the split does not use.
type CutoffFrame struct {
	Cutoff
	Frame *features.Frame
}

// CutoffOptions configure FitCutoffs. The zero value fits at C = 1 with
// the default eligibility bar and compares with a recency baseline.
type CutoffOptions struct {
	// Task is recorded on the card (churn).
	Task string
	// Label names the label column in the card and predictions; empty
	// means "label".
	Label string
	// Cs are the values of C to try. One value (or none: 1) is used as
	// is; with several, each is fitted on the validation split and the
	// one with the lowest validation log loss is kept (ties: the
	// smallest C).
	Cs []float64
	// Baseline is the feature of the one-feature baseline; empty means
	// DefaultBaseline.
	Baseline string
	// MinClass is the fewest positives and negatives the training rows
	// must have; 0 applies the events-per-variable rule (TableOptions).
	MinClass int
	// Drop are features not to use (a feature constant on the data, say).
	// The baseline's feature is fitted even when dropped from the model.
	Drop []string
	// ClassWeight "balanced" weighs each class by n/(2 * its count) in
	// the training rows; empty means none.
	ClassWeight string
	// Solver, Tol, MaxIter and Threads are passed to Fit.
	Solver  Solver
	Tol     float64
	MaxIter int
	Threads int
	// Lineage is recorded on the card (cutoffs and rows are added); may
	// be nil.
	Lineage *models.Lineage
}

// SearchPoint is one value of C tried on the validation cutoff.
type SearchPoint struct {
	C                float64 `json:"c"`
	AUC              float64 `json:"roc_auc"`
	AveragePrecision float64 `json:"average_precision"`
	LogLoss          float64 `json:"log_loss"`
	Brier            float64 `json:"brier"`
	Iterations       int     `json:"iterations"`
}

// Search records a search over C.
type Search struct {
	Criterion      string        `json:"criterion"`
	Validation     string        `json:"validation_cutoff"`
	TrainCutoffs   []string      `json:"training_cutoffs"`
	TrainRows      int           `json:"training_rows"`
	ValidationRows int           `json:"validation_rows"`
	Points         []SearchPoint `json:"results"`
	Chosen         float64       `json:"chosen"`
}

// TaskOutcome is a task model trained on cutoffs and the baseline it was
// compared with on the same holdout.
type TaskOutcome struct {
	// Card is the model's card, ready for the registry: the model's fit
	// and metrics, the baseline's, the search and the split.
	Card *models.Card
	// Model is the model's fit; Baseline the one-feature baseline's.
	Model, Baseline *Outcome
	BaselineFeature string
	// C is the C of the final fit; Search is nil without a search.
	C      float64
	Search *Search
	// Holdout, Train, Validation and Excluded name the cutoffs.
	Holdout    string
	Train      []string
	Validation string
	Excluded   []string
	// TrainingSet is the training-set manifest's key (TrainTask only).
	TrainingSet string
	// CLVBaseline is churn's label-free baseline on the holdout (TrainTask
	// on churn only; nil otherwise).
	CLVBaseline *CLVBaseline
	Warnings    []string
}

// WritePredictions writes the holdout rows as CSV: customer_id, as_of,
// label (0/1) and score (the model's probability).
func (o *TaskOutcome) WritePredictions(w io.Writer) error {
	m := o.Model
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"customer_id", "as_of", "label", "score"}); err != nil {
		return err
	}
	for i := range m.y {
		if !m.holdout[i] {
			continue
		}
		if err := cw.Write([]string{m.ids[0][i], m.ids[1][i], strconv.FormatFloat(m.y[i], 'g', -1, 64), strconv.FormatFloat(m.p[i], 'g', -1, 64)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// FitCutoffs trains a task model on a stack of cutoffs split in time
// (TimeSplit): it fits on the training cutoffs (after a search over C on
// the validation cutoff when several are given), evaluates on the
// holdout, and does the same for a one-feature logistic baseline so the
// gain is visible. Null features are imputed with the training mean and
// flagged with a "<name>_missing" column, as MissingMean.
func FitCutoffs(ctx context.Context, cuts []CutoffFrame, opt CutoffOptions) (*TaskOutcome, error) {
	if opt.Baseline == "" {
		opt.Baseline = DefaultBaseline
	}
	if opt.Label == "" {
		opt.Label = "label"
	}
	cs := slices.Clone(opt.Cs)
	if len(cs) == 0 {
		cs = []float64{1}
	}
	for _, c := range cs {
		if !(c > 0) || math.IsInf(c, 0) {
			return nil, datasets.Fieldf("Cs", strconv.FormatFloat(c, 'g', -1, 64), "want positive numbers")
		}
	}
	slices.Sort(cs)
	cs = slices.Compact(cs)
	plain := make([]Cutoff, len(cuts))
	for i, c := range cuts {
		plain[i] = c.Cutoff
	}
	split, err := TimeSplit(plain)
	if err != nil {
		return nil, err
	}
	names := func(idx []int) []string {
		out := []string{}
		for _, i := range idx {
			out = append(out, cuts[i].Name)
		}
		return out
	}
	out := &TaskOutcome{Holdout: cuts[split.Holdout].Name, Train: names(split.Train), Excluded: names(split.Excluded), BaselineFeature: opt.Baseline,
		Warnings: []string{}}
	if w := excludedWarning(cuts, split); w != "" {
		out.Warnings = append(out.Warnings, w)
	}
	base := TableOptions{Label: opt.Label, IDs: []string{"customer_id", "as_of"}, Missing: MissingMean, MinClass: opt.MinClass,
		Drop: opt.Drop, ClassWeight: opt.ClassWeight,
		Solver: opt.Solver, Tol: opt.Tol, MaxIter: opt.MaxIter, Threads: opt.Threads, Lineage: opt.Lineage}
	fit := func(train []int, hold int, only string, c float64) (*Outcome, error) {
		drop := opt.Drop
		if only != "" {
			drop = nil
		}
		t, kept, isHold, err := frameTable(cuts, train, hold, opt.Label, only, drop)
		if err != nil {
			return nil, err
		}
		o := base
		o.C = c
		if err := o.defaults(); err != nil {
			return nil, err
		}
		return fitSplit(ctx, t, kept, isHold, o, &Outcome{label: t.label, idNames: t.idNames})
	}

	// The search over C, on the validation cutoff.
	c := cs[0]
	if len(cs) > 1 {
		if split.Validation < 0 || len(split.ValidationTrain) == 0 {
			return nil, fmt.Errorf("a search over C needs a validation cutoff before the holdout %s and an earlier cutoff whose label window ends by it: give more cutoffs (or a larger step), or one C", out.Holdout)
		}
		s := &Search{Criterion: "lowest log loss on the validation cutoff (ties: smallest C)", Validation: cuts[split.Validation].Name, TrainCutoffs: names(split.ValidationTrain)}
		best := math.Inf(1)
		for _, ci := range cs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			o, err := fit(split.ValidationTrain, split.Validation, "", ci)
			if err != nil {
				return nil, fmt.Errorf("C search, C = %g (training on %s, validating on %s): %w", ci, strings.Join(s.TrainCutoffs, ", "), s.Validation, err)
			}
			if o.Holdout == nil {
				return nil, fmt.Errorf("C search, C = %g: the validation cutoff %s could not be evaluated: %s", ci, s.Validation, strings.Join(o.Warnings, "; "))
			}
			h := o.Holdout
			s.TrainRows, s.ValidationRows = o.TrainRows, o.HoldoutRows
			s.Points = append(s.Points, SearchPoint{C: ci, AUC: h.AUC, AveragePrecision: h.AveragePrecision, LogLoss: h.LogLoss, Brier: h.Brier, Iterations: o.Fit.Iterations})
			if h.LogLoss < best {
				best, c = h.LogLoss, ci
			}
		}
		s.Chosen = c
		out.Search, out.Validation = s, s.Validation
	}
	out.C = c

	// The model and the baseline, on the same rows.
	if out.Model, err = fit(split.Train, split.Holdout, "", c); err != nil {
		return nil, err
	}
	if out.Model.Holdout == nil {
		return nil, fmt.Errorf("the holdout cutoff %s could not be evaluated: %s", out.Holdout, strings.Join(out.Model.Warnings, "; "))
	}
	if out.Baseline, err = fit(split.Train, split.Holdout, opt.Baseline, c); err != nil {
		return nil, fmt.Errorf("baseline on %s: %w", opt.Baseline, err)
	}
	if out.Baseline.Holdout == nil {
		return nil, fmt.Errorf("baseline on %s: the holdout could not be evaluated: %s", opt.Baseline, strings.Join(out.Baseline.Warnings, "; "))
	}
	out.Warnings = append(out.Warnings, out.Model.Warnings...)
	out.Card = taskCard(out, cuts, split, opt)
	out.Card.Warnings = out.Warnings
	return out, nil
}

// excludedWarning says which cutoffs the split leaves out of training
// because their label windows pass the holdout, and the step that keeps
// them; empty when none is left out.
func excludedWarning(cuts []CutoffFrame, split Split) string {
	if len(split.Excluded) == 0 {
		return ""
	}
	hold := cuts[split.Holdout]
	var names []string
	days := 0
	for _, i := range split.Excluded {
		names = append(names, cuts[i].Name)
	}
	for i := range cuts {
		// Whole days, rounded up (a window across a DST change is an hour
		// longer or shorter).
		d := int((cuts[i].LabelEnd.Sub(cuts[i].AsOf) + 24*time.Hour - 2*time.Hour) / (24 * time.Hour))
		days = max(days, d)
	}
	return fmt.Sprintf("%d of %d earlier cutoffs left out of training (%s): their %d-day label windows end after the holdout cutoff %s, so their labels were not known then; trained on %d cutoff(s). Cutoffs %dd or more apart (a step of at least the horizon) keep every cutoff",
		len(split.Excluded), len(cuts)-1, strings.Join(names, ", "), days, hold.Name, len(split.Train), days)
}

// taskCard completes the model's card with the task, the split, the
// baseline and the search.
func taskCard(out *TaskOutcome, cuts []CutoffFrame, split Split, opt CutoffOptions) *models.Card {
	card := out.Model.Card
	card.Task = opt.Task
	p := card.Parameters
	for _, k := range []string{"holdout_frac", "seed", "positive", "weight_column"} {
		delete(p, k)
	}
	if p["drop"] == nil {
		p["drop"] = []string{}
	}
	p["holdout"] = "time-based: the latest cutoff; training cutoffs' label windows end at or before it"
	p["baseline_feature"] = out.BaselineFeature
	if out.Search != nil {
		p["c_search"] = out.Search.Points
		cands := make([]float64, len(out.Search.Points))
		for i, pt := range out.Search.Points {
			cands[i] = pt.C
		}
		p["c_candidates"] = cands
	}
	b := out.Baseline
	bm := map[string]any{
		"feature":   out.BaselineFeature,
		"c":         out.C,
		"intercept": b.Fit.Intercept,
		"train":     b.Train,
		"holdout":   b.Holdout,
	}
	if len(b.Fit.Coef) == 1 {
		bm["coefficient"] = b.Fit.Coef[0]
	}
	if pp := b.Card.Preprocessing; pp != nil && pp.Mean != nil {
		bm["mean"], bm["scale"] = pp.Mean[out.BaselineFeature], pp.Scale[out.BaselineFeature]
	}
	card.Metrics["baseline"] = bm
	m, bh := out.Model.Holdout, b.Holdout
	card.Metrics["holdout_gain"] = map[string]float64{
		"roc_auc":           m.AUC - bh.AUC,
		"average_precision": m.AveragePrecision - bh.AveragePrecision,
		"log_loss":          m.LogLoss - bh.LogLoss,
		"brier":             m.Brier - bh.Brier,
	}
	if out.Search != nil {
		card.Metrics["c_search"] = out.Search
	}
	lin := card.Lineage
	lin.Cutoffs = nil
	used := append([]int{split.Holdout}, split.Train...)
	if out.Search != nil {
		used = append(used, split.Validation)
		used = append(used, split.ValidationTrain...)
	}
	seen := map[int]bool{}
	for _, i := range used {
		if !seen[i] {
			seen[i] = true
			lin.Cutoffs = append(lin.Cutoffs, cuts[i].Name)
		}
	}
	slices.SortFunc(lin.Cutoffs, func(a, b string) int { return strings.Compare(b, a) })
	lin.Extra["holdout_cutoff"] = out.Holdout
	lin.Extra["training_cutoffs"] = out.Train
	if out.Validation != "" {
		lin.Extra["validation_cutoff"] = out.Validation
	}
	lin.Extra["excluded_cutoffs"] = out.Excluded
	windows := map[string]string{}
	for _, i := range used {
		windows[cuts[i].Name] = "[" + cuts[i].AsOf.Format(time.RFC3339) + ", " + cuts[i].LabelEnd.Format(time.RFC3339) + ")"
	}
	lin.Extra["label_windows"] = windows
	return card
}

// frameTable stacks the rows of the training cutoffs train and of the
// holdout cutoff hold into a table (the holdout first), every feature
// numeric with NaN for a null; only, when not empty, keeps that one
// feature; drop names features left out.
func frameTable(cuts []CutoffFrame, train []int, hold int, label, only string, drop []string) (*rawTable, []int, []bool, error) {
	use := append([]int{hold}, train...)
	var schema *features.Schema
	for _, i := range use {
		fr := cuts[i].Frame
		if fr == nil {
			return nil, nil, nil, fmt.Errorf("cutoff %s: no feature table", cuts[i].Name)
		}
		if fr.Label == nil {
			return nil, nil, nil, fmt.Errorf("cutoff %s: the feature table has no labels", cuts[i].Name)
		}
		if len(fr.Label) != len(fr.IDs) {
			return nil, nil, nil, fmt.Errorf("cutoff %s: %d labels for %d rows", cuts[i].Name, len(fr.Label), len(fr.IDs))
		}
		if schema == nil {
			schema = &fr.Schema
		} else if fr.Schema.Fingerprint() != schema.Fingerprint() {
			return nil, nil, nil, fmt.Errorf("cutoff %s: its feature schema (%s) differs from cutoff %s's (%s)", cuts[i].Name, fr.Schema.Fingerprint(), cuts[use[0]].Name, schema.Fingerprint())
		}
	}
	for _, d := range drop {
		if !slices.Contains(schema.Names(), d) {
			return nil, nil, nil, &datasets.FieldError{Field: "Drop", Value: d, Msg: "no such feature (features: " + strings.Join(schema.Names(), ", ") + ")"}
		}
	}
	var feats []int
	for j, f := range schema.Features {
		if only != "" && f.Name != only || slices.Contains(drop, f.Name) {
			continue
		}
		if f.Kind != features.Numeric {
			return nil, nil, nil, fmt.Errorf("feature %q is %s: training on feature tables takes numeric features only", f.Name, f.Kind)
		}
		feats = append(feats, j)
	}
	if len(feats) == 0 {
		return nil, nil, nil, fmt.Errorf("the feature tables have no feature %q (features: %s)", only, strings.Join(schema.Names(), ", "))
	}
	t := &rawTable{label: label, idNames: []string{"customer_id", "as_of"}, ids: make([][]string, 2)}
	for _, j := range feats {
		t.cols = append(t.cols, &column{name: schema.Features[j].Name, index: j})
	}
	var isHold []bool
	for _, i := range use {
		fr := cuts[i].Frame
		n := len(fr.IDs)
		for k, j := range feats {
			c := t.cols[k]
			vals, valid := fr.Values[j], fr.Valid[j]
			if len(vals) != n || len(valid) != n {
				return nil, nil, nil, fmt.Errorf("cutoff %s: feature %q has %d values for %d rows", cuts[i].Name, c.name, len(vals), n)
			}
			for r, v := range vals {
				if !valid[r] || math.IsInf(v, 0) {
					v = math.NaN()
				}
				c.num = append(c.num, v)
			}
		}
		for r, y := range fr.Label {
			if y != 0 && y != 1 {
				return nil, nil, nil, fmt.Errorf("cutoff %s: row %d (customer %s): label %v, want 0 or 1", cuts[i].Name, r+1, fr.IDs[r], y)
			}
		}
		t.y = append(t.y, fr.Label...)
		t.ids[0] = append(t.ids[0], fr.IDs...)
		for range n {
			t.ids[1] = append(t.ids[1], cuts[i].Name)
			isHold = append(isHold, i == hold)
		}
		t.rows += n
	}
	t.yMiss = make([]bool, t.rows)
	kept := make([]int, t.rows)
	for i := range kept {
		kept[i] = i
	}
	return t, kept, isHold, nil
}

// TaskOptions configure TrainTask.
type TaskOptions struct {
	// Features describe the feature tables: Dataset, Task, AsOf (the
	// latest cutoff: the holdout), Horizon, Lookback. Labels are always
	// built.
	Features features.Options
	// Cutoffs and Step: the cutoffs are AsOf - k*Step, k = 0..Cutoffs-1.
	Cutoffs int
	Step    datasets.Span
	// Fit configures the fits.
	Fit CutoffOptions
	// CLVFeatures adds to the churn features the buy-till-you-die
	// columns p_alive and expected_purchases_<horizon>: at each cutoff,
	// from BG/NBD fitted without labels on the clv summary as of that
	// cutoff (purchases before it only). The card records the holdout
	// cutoff's fit (btyd.ChurnParam), which scoring applies to the
	// summary as of the scoring date. Churn only.
	CLVFeatures bool
}

// Validate checks the options TrainTask needs besides the features':
// at least two cutoffs (the latest is held out, earlier ones are trained
// on) and a step between them.
func (o TaskOptions) Validate() error {
	if o.Cutoffs < 2 {
		return datasets.Fieldf("Cutoffs", strconv.Itoa(o.Cutoffs), "want at least 2 (the latest is held out, earlier ones are trained on)")
	}
	if o.Step.Days < 1 {
		return datasets.Fieldf("Step", o.Step.String(), "a step of at least one day between cutoffs is required (the horizon, %s by default, keeps every cutoff)", features.DefaultHorizon)
	}
	if o.Fit.ClassWeight != "" && o.Fit.ClassWeight != "balanced" {
		return datasets.Fieldf("ClassWeight", o.Fit.ClassWeight, "want balanced or nothing")
	}
	if t := o.Features.Task; o.CLVFeatures && t != "" && t != features.TaskChurn {
		return datasets.Fieldf("CLVFeatures", "true", "the buy-till-you-die columns are churn features; task %s takes none", t)
	}
	return nil
}

// TrainTask builds (or reuses) a task's feature tables, one per cutoff,
// with labels, and trains on them with FitCutoffs. The card's lineage
// names the dataset, the training-set manifest, every feature manifest
// read with its SHA-256, the dataset manifests they were built from, and
// the cutoffs.
func TrainTask(ctx context.Context, st datasets.Store, opt TaskOptions) (*TaskOutcome, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	fo := opt.Features
	fo.Labels = true
	ts, key, err := features.BuildTrainingSet(ctx, st, fo, opt.Cutoffs, opt.Step)
	if err != nil {
		return nil, err
	}
	_, ms, err := features.ReadTrainingSet(ctx, st, key)
	if err != nil {
		return nil, err
	}
	cuts := make([]CutoffFrame, len(ms))
	lin := models.Lineage{Dataset: ts.Dataset, Table: key, Extra: map[string]any{}}
	if opt.Fit.Lineage != nil {
		lin = *opt.Fit.Lineage
		lin.Dataset, lin.Table = ts.Dataset, key
		if lin.Extra == nil {
			lin.Extra = map[string]any{}
		}
	}
	label := ""
	for i, m := range ms {
		if m.AsOfTime == nil {
			return nil, fmt.Errorf("feature table %s has no as_of instant", m.Key())
		}
		if m.Label == "" {
			return nil, fmt.Errorf("feature table %s has no labels", m.Key())
		}
		label = m.Label
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
	plain := make([]Cutoff, len(cuts))
	for i := range cuts {
		plain[i] = cuts[i].Cutoff
	}
	split, err := TimeSplit(plain)
	if err != nil {
		return nil, err
	}
	need := append([]int{split.Holdout}, split.Train...)
	if len(opt.Fit.Cs) > 1 && split.Validation >= 0 {
		need = append(need, split.Validation)
		need = append(need, split.ValidationTrain...)
	}
	for _, i := range need {
		if cuts[i].Frame != nil {
			continue
		}
		if cuts[i].Frame, err = features.ReadFrame(ctx, st, ms[i]); err != nil {
			return nil, fmt.Errorf("feature table %s: %w", ms[i].Key(), err)
		}
	}
	m0 := ms[split.Holdout]
	lin.Extra["training_set"] = key
	lin.Extra["feature_spec"] = m0.Spec
	lin.Extra["feature_fingerprint"] = m0.Fingerprint
	lin.Extra["horizon"] = m0.Params.Horizon
	lin.Extra["lookback"] = m0.Params.Lookback
	lin.Extra["step"] = ts.Step
	lin.Extra["label_meaning"] = m0.LabelMeaning
	lin.Extra["dataset_manifests"] = m0.Inputs
	var base *CLVBaseline
	var cf *btyd.ChurnFeatures
	if m0.Task == features.TaskChurn {
		if base, cf, err = churnCLV(ctx, st, opt, cuts, need, split.Holdout, m0, &lin); err != nil {
			return nil, err
		}
	}
	fit := opt.Fit
	fit.Lineage = &lin
	if fit.Task == "" {
		fit.Task = m0.Task
	}
	fit.Label = label
	out, err := FitCutoffs(ctx, cuts, fit)
	if err != nil {
		return nil, err
	}
	out.TrainingSet = key
	if base != nil {
		out.CLVBaseline = base
		out.Card.Metrics["clv_baseline"] = base
	}
	if cf != nil {
		out.Card.Parameters[btyd.ChurnParam] = *cf
	}
	return out, nil
}
