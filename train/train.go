package train

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
)

// TableOptions configure TrainTable. The zero value (with a Label) fits
// at C = 1 on every row, standardised, refusing missing values.
type TableOptions struct {
	// Label is the label column.
	Label string
	// Positive is the label value of the positive class; empty means the
	// label must be 0/1 or true/false with 1 (true) positive.
	Positive string
	// IDs are identifier columns: not features, written beside the
	// predictions.
	IDs []string
	// Drop are columns that are not features.
	Drop []string
	// Categorical are columns to one-hot encode even though their values
	// are numbers (codes, ZIP codes). Other columns are categorical when
	// most of their non-empty cells are not numbers.
	Categorical []string
	// Weight is a column of sample weights (>= 0); empty means 1.
	Weight string
	// Missing is the policy for missing and non-numeric cells; empty
	// means MissingRefuse.
	Missing Missing
	// HoldoutFrac of the rows, drawn at random with Seed, are held out
	// and evaluated on; 0 trains on every row.
	HoldoutFrac float64
	Seed        uint64
	// C is the inverse regularisation strength; 0 means 1.
	C float64
	// NoStandardize fits on the raw design columns (then the fit equals
	// LogisticRegression without StandardScaler).
	NoStandardize bool
	// ClassWeight "balanced" weighs each class by n/(2 * its count) in
	// the training rows, as scikit-learn; empty means none.
	ClassWeight string
	// MinClass is the fewest positives and negatives the training rows
	// must have. 0 applies the events-per-variable rule instead: the
	// smaller class needs max(MinEvents, EventsPerInput x the model's
	// input columns) rows.
	MinClass int
	// MaxLevels is the most distinct values of a categorical column; 0
	// means DefaultMaxLevels.
	MaxLevels int
	// Solver, Tol, MaxIter and Threads are passed to Fit.
	Solver  Solver
	Tol     float64
	MaxIter int
	Threads int
	// Lineage is recorded on the card (with Rows set to the training
	// rows); may be nil.
	Lineage *models.Lineage
}

// Outcome is a trained model: its card (not yet registered), the fit,
// metrics and a prediction per row.
type Outcome struct {
	Card    *models.Card
	Fit     Result
	Train   Metrics
	Holdout *Metrics // nil without a holdout
	// Rows kept (after MissingDrop), training and holdout.
	TrainRows, HoldoutRows int
	Warnings               []string

	ids     [][]string
	idNames []string
	label   string
	y, p    []float64
	holdout []bool
}

// WritePredictions writes one CSV line per row kept, in table order: the
// ID columns, the label (0/1), the probability and the set (train or
// holdout).
func (o *Outcome) WritePredictions(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := append(slices.Clone(o.idNames), o.label, "probability", "set")
	if err := cw.Write(head); err != nil {
		return err
	}
	rec := make([]string, len(head))
	for i := range o.y {
		for k := range o.idNames {
			rec[k] = o.ids[k][i]
		}
		k := len(o.idNames)
		rec[k] = strconv.FormatFloat(o.y[i], 'g', -1, 64)
		rec[k+1] = strconv.FormatFloat(o.p[i], 'g', -1, 64)
		rec[k+2] = "train"
		if o.holdout[i] {
			rec[k+2] = "holdout"
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Probabilities returns the predicted probability of each row kept, in
// table order.
func (o *Outcome) Probabilities() []float64 { return o.p }

// designCol is one column of the design matrix.
type designCol struct {
	name string
	src  *column
	kind int // dNum, dNumMissing, dLevel, dCatMissing
	code int32
}

const (
	dNum = iota
	dNumMissing
	dLevel
	dCatMissing
)

// value returns the design column's raw value at row i; mean is the
// training mean that imputes a missing number.
func (dc *designCol) value(i int, mean float64) float64 {
	c := dc.src
	switch dc.kind {
	case dNum:
		if v := c.num[i]; !math.IsNaN(v) {
			return v
		}
		return mean
	case dNumMissing, dCatMissing:
		if c.missing(i) {
			return 1
		}
		return 0
	default:
		if c.codes[i] == dc.code {
			return 1
		}
		return 0
	}
}

// TrainTable reads a table, encodes it, fits a logistic regression on the
// training rows, evaluates it and describes it in a card ready for the
// registry. ctx is checked between stages.
func TrainTable(ctx context.Context, rec Records, opt TableOptions) (*Outcome, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	t, err := readTable(rec, &opt)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &Outcome{label: t.label, idNames: t.idNames, Warnings: []string{}}

	// Missing values: refuse names the first bad cell in table order;
	// drop keeps complete rows.
	keep := make([]bool, t.rows)
	for i := range keep {
		keep[i] = !t.yMiss[i]
	}
	switch opt.Missing {
	case MissingRefuse:
		var first error
		firstRow := t.rows
		for _, c := range t.cols {
			if c.firstEmpty != nil && c.firstEmptyR < firstRow {
				first, firstRow = c.firstEmpty, c.firstEmptyR
			}
			if !c.categorical && c.firstText != nil && c.firstTextR < firstRow {
				first, firstRow = c.firstText, c.firstTextR
			}
		}
		if first != nil {
			return nil, first
		}
	case MissingDrop:
		for _, c := range t.cols {
			for i := range keep {
				if c.missing(i) {
					keep[i] = false
				}
			}
		}
	}
	var kept []int
	for i, k := range keep {
		if k {
			kept = append(kept, i)
		}
	}
	if dropped := t.rows - len(kept); dropped > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%d of %d rows dropped for missing values", dropped, t.rows))
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("no rows left after dropping %d with missing values", t.rows)
	}

	// Holdout: a seeded random subset of the kept rows.
	isHold := make([]bool, t.rows)
	nHold := int(math.Round(opt.HoldoutFrac * float64(len(kept))))
	if nHold > 0 {
		rng := rand.New(rand.NewPCG(opt.Seed, 0x70726576))
		perm := rng.Perm(len(kept))
		for _, j := range perm[:nHold] {
			isHold[kept[j]] = true
		}
	}
	return fitSplit(ctx, t, kept, isHold, opt, out)
}

// defaults fills zero fields and checks the options.
func (opt *TableOptions) defaults() error {
	if opt.Missing == "" {
		opt.Missing = MissingRefuse
	}
	switch opt.Missing {
	case MissingRefuse, MissingDrop, MissingMean:
	default:
		return datasets.Fieldf("Missing", string(opt.Missing), "want refuse, drop or mean")
	}
	if opt.MinClass < 0 {
		return datasets.Fieldf("MinClass", strconv.Itoa(opt.MinClass), "want 0 (the events-per-variable rule) or a positive count")
	}
	if opt.MaxLevels == 0 {
		opt.MaxLevels = DefaultMaxLevels
	}
	if opt.MaxLevels < 0 {
		return datasets.Fieldf("MaxLevels", strconv.Itoa(opt.MaxLevels), "want at least 1")
	}
	if opt.C == 0 {
		opt.C = 1
	}
	if !(opt.C > 0) || math.IsInf(opt.C, 0) {
		return datasets.Fieldf("C", strconv.FormatFloat(opt.C, 'g', -1, 64), "want a positive number")
	}
	if !(opt.HoldoutFrac >= 0 && opt.HoldoutFrac < 1) {
		return datasets.Fieldf("HoldoutFrac", strconv.FormatFloat(opt.HoldoutFrac, 'g', -1, 64), "want 0 <= f < 1")
	}
	if opt.ClassWeight != "" && opt.ClassWeight != "balanced" {
		return datasets.Fieldf("ClassWeight", opt.ClassWeight, "want balanced or nothing")
	}
	return nil
}

// fitSplit fits on the kept rows that are not held out, evaluates, scores
// every kept row and describes the model in a card. kept lists the rows
// used (in table order); isHold marks the holdout rows.
func fitSplit(ctx context.Context, t *rawTable, kept []int, isHold []bool, opt TableOptions, out *Outcome) (*Outcome, error) {
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	var trainRows, holdRows []int
	for _, i := range kept {
		if isHold[i] {
			holdRows = append(holdRows, i)
		} else {
			trainRows = append(trainRows, i)
		}
	}
	out.TrainRows, out.HoldoutRows = len(trainRows), len(holdRows)
	var npos int
	for _, i := range trainRows {
		if t.y[i] == 1 {
			npos++
		}
	}
	nneg := len(trainRows) - npos
	if opt.MinClass > 0 && (npos < opt.MinClass || nneg < opt.MinClass) {
		return nil, &TooFewError{TrainRows: len(trainRows), Positives: npos, Negatives: nneg, Need: opt.MinClass, MinClass: true}
	}
	enc, err := encode(t, trainRows, opt, &out.Warnings)
	if err != nil {
		return nil, err
	}
	need := eventsNeeded(len(enc.inputs()))
	if opt.MinClass == 0 && min(npos, nneg) < need {
		return nil, &TooFewError{TrainRows: len(trainRows), Positives: npos, Negatives: nneg, Need: need, Inputs: len(enc.inputs())}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := enc.fit(t, trainRows, npos, nneg, opt)
	if err != nil {
		return nil, err
	}
	out.Fit = res
	card, inputs := enc.card(t, res, opt, &out.Warnings)
	card.Parameters["min_class"] = opt.MinClass
	if opt.MinClass == 0 {
		card.Parameters["min_class"] = need
		card.Parameters["min_class_rule"] = fmt.Sprintf("events per variable: the smaller class needs max(%d, %d x %d inputs) training rows", MinEvents, EventsPerInput, len(inputs))
	}
	card.Warnings = out.Warnings
	if out.p, err = scoreRows(card, inputs, t, kept); err != nil {
		return nil, err
	}
	if err := out.evaluate(t, kept, isHold, holdRows); err != nil {
		return nil, err
	}
	card.Warnings = out.Warnings
	card.Metrics = map[string]any{
		"solver": map[string]any{
			"solver":       string(res.Solver),
			"status":       res.Status,
			"iterations":   res.Iterations,
			"grad_max_abs": res.GradNorm,
			"objective":    res.Objective,
			"seconds":      res.Elapsed.Seconds(),
		},
		"train": out.Train,
	}
	if out.Holdout != nil {
		card.Metrics["holdout"] = *out.Holdout
	}
	lin := models.Lineage{}
	if opt.Lineage != nil {
		lin = *opt.Lineage
	}
	lin.Rows = len(trainRows)
	lin.Extra = maps.Clone(lin.Extra)
	if lin.Extra == nil {
		lin.Extra = map[string]any{}
	}
	lin.Extra["rows_read"] = t.rows
	lin.Extra["holdout_rows"] = len(holdRows)
	card.Lineage = &lin
	out.Card = card
	return out, nil
}

// Eligibility: the events-per-variable rule applied when
// TableOptions.MinClass (CutoffOptions.MinClass) is 0.
const (
	// EventsPerInput is the rows of the smaller class needed per model
	// input column (a categorical column counts once, however many
	// levels it has: L2 keeps its one-hot columns well-posed).
	EventsPerInput = 10
	// MinEvents is the fewest rows of the smaller class, whatever the
	// number of inputs.
	MinEvents = 10
)

// eventsNeeded is the events-per-variable bar for a model of inputs
// input columns.
func eventsNeeded(inputs int) int { return max(MinEvents, EventsPerInput*inputs) }

// TooFewError refuses training rows with too few examples of a class.
type TooFewError struct {
	TrainRows, Positives, Negatives int
	// Need is the bar; MinClass says it was set explicitly (both classes
	// need Need rows), otherwise it is the events-per-variable rule for
	// Inputs input columns (the smaller class needs Need rows).
	Need     int
	MinClass bool
	Inputs   int
}

func (e *TooFewError) Error() string {
	head := fmt.Sprintf("too few examples to train: the %d training rows have %d positives and %d negatives", e.TrainRows, e.Positives, e.Negatives)
	if e.MinClass {
		return fmt.Sprintf("%s; at least %d of each are needed (the minimum set in MinClass)", head, e.Need)
	}
	return fmt.Sprintf("%s; the smaller class needs at least %d (events per variable: %d per input column, %d inputs, at least %d): give more rows, fewer columns, or set MinClass explicitly",
		head, e.Need, EventsPerInput, e.Inputs, MinEvents)
}

// encoding is the design of a fit: its columns from the training rows,
// the imputed means and the standardisation.
type encoding struct {
	design        []designCol
	means, scales []float64
	impute        map[*column]float64
	nullable      map[string]bool
}

// inputs returns the input columns the design uses, in table order.
func (e *encoding) inputs() []*column {
	var out []*column
	for _, dc := range e.design {
		if len(out) == 0 || out[len(out)-1] != dc.src {
			out = append(out, dc.src)
		}
	}
	return out
}

// encode builds the design columns from the training rows: one-hot levels
// (sorted), missing indicators, imputed means and the standardisation;
// constant design columns are dropped with a warning (one per input when
// the whole input is constant).
func encode(t *rawTable, trainRows []int, opt TableOptions, warnings *[]string) (*encoding, error) {
	e := &encoding{nullable: map[string]bool{}, impute: map[*column]float64{}}
	var design []designCol
	for _, c := range t.cols {
		var miss int
		for _, i := range trainRows {
			if c.missing(i) {
				miss++
			}
		}
		if miss > 0 && opt.Missing != MissingMean {
			// Only non-numeric text in a categorical-looking numeric
			// column can get here under refuse; drop removed them.
			return nil, fmt.Errorf("column %q has %d missing values", c.name, miss)
		}
		if !c.categorical {
			design = append(design, designCol{name: c.name, src: c, kind: dNum})
		} else {
			design = append(design, levelColumns(c, trainRows)...)
		}
		if miss > 0 {
			e.nullable[c.name] = true
			kind := dNumMissing
			if c.categorical {
				kind = dCatMissing
			}
			design = append(design, designCol{name: c.name + "_missing", src: c, kind: kind})
		}
	}
	seen := map[string]bool{}
	for _, dc := range design {
		if seen[dc.name] {
			return nil, fmt.Errorf("design column %q arises twice (a column's name collides with an encoded column): rename or drop one", dc.name)
		}
		seen[dc.name] = true
	}
	// Means of numeric columns over their present training values.
	for _, c := range t.cols {
		if c.categorical {
			continue
		}
		var s float64
		var k int
		for _, i := range trainRows {
			if v := c.num[i]; !math.IsNaN(v) {
				s += v
				k++
			}
		}
		if k > 0 {
			e.impute[c] = s / float64(k)
		}
	}
	// Standardisation statistics; constant columns are dropped.
	nt := len(trainRows)
	vals := make([]float64, nt)
	constant := map[*column][]string{}
	for _, dc := range design {
		m := e.impute[dc.src]
		for r, i := range trainRows {
			vals[r] = dc.value(i, m)
		}
		mean, sd := meanStd(vals)
		if sd == 0 || (vals[0] == vals[nt-1] && allEqual(vals)) {
			constant[dc.src] = append(constant[dc.src], fmt.Sprintf("design column %q is constant (%g) in the training rows: dropped", dc.name, vals[0]))
			continue
		}
		e.design = append(e.design, dc)
		if opt.NoStandardize {
			mean, sd = 0, 1
		}
		e.means = append(e.means, mean)
		e.scales = append(e.scales, sd)
	}
	used := map[*column]bool{}
	for _, dc := range e.design {
		used[dc.src] = true
	}
	for _, c := range t.cols {
		switch {
		case constant[c] == nil:
		case used[c]:
			*warnings = append(*warnings, constant[c]...)
		case !c.categorical && len(constant[c]) == 1:
			*warnings = append(*warnings, fmt.Sprintf("column %q is constant (%g) in the training rows: not used", c.name, e.impute[c]))
		default:
			*warnings = append(*warnings, fmt.Sprintf("column %q is constant in the training rows: not used", c.name))
		}
	}
	if len(e.design) == 0 {
		return nil, fmt.Errorf("no feature columns left to fit (every column is constant, dropped, an ID or the label)")
	}
	return e, nil
}

// levelColumns returns a categorical column's one-hot design columns:
// one per level present in the training rows, levels sorted.
func levelColumns(c *column, trainRows []int) []designCol {
	present := map[int32]bool{}
	for _, i := range trainRows {
		if k := c.codes[i]; k >= 0 {
			present[k] = true
		}
	}
	var codes []int32
	for k := range present {
		codes = append(codes, k)
	}
	sort.Slice(codes, func(a, b int) bool { return c.levels[codes[a]] < c.levels[codes[b]] })
	out := make([]designCol, len(codes))
	for j, k := range codes {
		out[j] = designCol{name: c.name + "=" + c.levels[k], src: c, kind: dLevel, code: k}
	}
	return out
}

// fit builds the standardised design matrix of the training rows, the
// weights, and fits; a fit that did not converge is an error.
func (e *encoding) fit(t *rawTable, trainRows []int, npos, nneg int, opt TableOptions) (Result, error) {
	nt, d := len(trainRows), len(e.design)
	x := make([]float64, nt*d)
	for j, dc := range e.design {
		m := e.impute[dc.src]
		for r, i := range trainRows {
			x[r*d+j] = (dc.value(i, m) - e.means[j]) / e.scales[j]
		}
	}
	y := make([]float64, nt)
	var w []float64
	if t.weights != nil || opt.ClassWeight == "balanced" {
		w = make([]float64, nt)
	}
	classW := [2]float64{1, 1}
	if opt.ClassWeight == "balanced" {
		classW = [2]float64{float64(nt) / (2 * float64(nneg)), float64(nt) / (2 * float64(npos))}
	}
	for r, i := range trainRows {
		y[r] = t.y[i]
		if w != nil {
			w[r] = classW[int(t.y[i])]
			if t.weights != nil {
				w[r] *= t.weights[i]
			}
		}
	}
	res, err := Fit(x, nt, d, y, w, Options{C: opt.C, Solver: opt.Solver, Tol: opt.Tol, MaxIter: opt.MaxIter, Threads: opt.Threads})
	if err != nil {
		return res, err
	}
	if !res.Converged {
		return res, fmt.Errorf("the fit did not converge: %s after %d iterations, max |gradient| %.3g > %.3g", res.Status, res.Iterations, res.GradNorm, tolOrDefault(opt.Tol))
	}
	return res, nil
}

// card describes the fitted model: inputs, coefficients, preprocessing
// and parameters (metrics and lineage are added by the caller). It
// returns the inputs in the model's order.
func (e *encoding) card(t *rawTable, res Result, opt TableOptions, warnings *[]string) (*models.Card, []*column) {
	card := &models.Card{
		Kind:          models.KindLogistic,
		Output:        logistic.Output,
		Link:          logistic.Link,
		Coefficients:  map[string]float64{},
		Intercept:     &res.Intercept,
		Preprocessing: &models.Preprocessing{Encoders: map[string][]string{}},
	}
	pp := card.Preprocessing
	if !opt.NoStandardize {
		pp.Mean, pp.Scale = map[string]float64{}, map[string]float64{}
	}
	for j, dc := range e.design {
		pp.Features = append(pp.Features, dc.name)
		card.Coefficients[dc.name] = res.Coef[j]
		if !opt.NoStandardize {
			pp.Mean[dc.name], pp.Scale[dc.name] = e.means[j], e.scales[j]
		}
		if dc.kind == dLevel {
			pp.Encoders[dc.src.name] = append(pp.Encoders[dc.src.name], dc.src.levels[dc.code])
		}
	}
	inputs := e.inputs()
	for _, c := range inputs {
		card.Inputs.Features = append(card.Inputs.Features, c.feature(e.nullable[c.name]))
		if !c.categorical && opt.Missing == MissingMean {
			if pp.Impute == nil {
				pp.Impute = map[string]float64{}
			}
			pp.Impute[c.name] = e.impute[c]
		}
	}
	if len(pp.Encoders) == 0 {
		pp.Encoders = nil
	}
	card.Parameters = map[string]any{
		"c":             opt.C,
		"penalty":       "l2",
		"standardize":   !opt.NoStandardize,
		"class_weight":  opt.ClassWeight,
		"missing":       string(opt.Missing),
		"holdout_frac":  opt.HoldoutFrac,
		"seed":          opt.Seed,
		"label":         opt.Label,
		"positive":      opt.Positive,
		"ids":           opt.IDs,
		"drop":          opt.Drop,
		"weight_column": opt.Weight,
		"solver":        string(res.Solver),
		"tol":           tolOrDefault(opt.Tol),
	}
	return card, inputs
}

// scoreRows scores every kept row with the model exactly as it will
// score: through the card, loaded by models/logistic.
func scoreRows(card *models.Card, inputs []*column, t *rawTable, kept []int) ([]float64, error) {
	model, err := logistic.New(card)
	if err != nil {
		return nil, fmt.Errorf("trained card does not load: %w", err)
	}
	pp := card.Preprocessing
	levelIndex := map[*column]map[int32]int{}
	for _, c := range inputs {
		if c.categorical {
			m := map[int32]int{}
			for k, l := range pp.Encoders[c.name] {
				m[c.lookup[l]] = k
			}
			levelIndex[c] = m
		}
	}
	batch := models.Batch{Rows: len(kept), Cols: len(inputs), Values: make([]float64, len(kept)*len(inputs))}
	for r, i := range kept {
		for j, c := range inputs {
			v := math.NaN()
			if c.categorical {
				if k := c.codes[i]; k >= 0 {
					v = -1
					if idx, ok := levelIndex[c][k]; ok {
						v = float64(idx)
					}
				}
			} else {
				v = c.num[i]
			}
			batch.Values[r*len(inputs)+j] = v
		}
	}
	p := make([]float64, len(kept))
	if err := model.Score(p, batch, models.Response); err != nil {
		return nil, fmt.Errorf("scoring the training table: %w", err)
	}
	return p, nil
}

// evaluate records the kept rows' labels, sets and ids beside their
// probabilities (o.p), and evaluates the training rows and the holdout. A
// holdout that cannot be evaluated (one class only) is a warning.
func (o *Outcome) evaluate(t *rawTable, kept []int, isHold []bool, holdRows []int) error {
	o.y = make([]float64, len(kept))
	o.holdout = make([]bool, len(kept))
	o.ids = make([][]string, len(t.ids))
	for r, i := range kept {
		o.y[r] = t.y[i]
		o.holdout[r] = isHold[i]
		for k := range t.ids {
			o.ids[k] = append(o.ids[k], t.ids[k][i])
		}
	}
	split := func(hold bool) (ys, ps, ws []float64) {
		for r, i := range kept {
			if isHold[i] != hold {
				continue
			}
			ys = append(ys, o.y[r])
			ps = append(ps, o.p[r])
			if t.weights != nil {
				ws = append(ws, t.weights[i])
			}
		}
		return
	}
	var err error
	ys, ps, ws := split(false)
	if o.Train, err = Evaluate(ys, ps, ws); err != nil {
		return err
	}
	if len(holdRows) > 0 {
		ys, ps, ws := split(true)
		hm, err := Evaluate(ys, ps, ws)
		if err != nil {
			o.Warnings = append(o.Warnings, "holdout not evaluated: "+err.Error())
		} else {
			if hm.Curves, err = ComputeCurves(ys, ps, ws); err != nil {
				return err
			}
			o.Holdout = &hm
		}
	}
	return nil
}

func tolOrDefault(t float64) float64 {
	if t == 0 {
		return DefaultTol
	}
	return t
}

// meanStd returns the mean and population standard deviation of v.
func meanStd(v []float64) (mean, sd float64) {
	var s float64
	for _, x := range v {
		s += x
	}
	mean = s / float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)))
}

func allEqual(v []float64) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}
