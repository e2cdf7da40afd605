package churn

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/serve/publish"
)

// Task is the task name of churn publications.
const Task = features.TaskChurn

// Table is the name of the churn publication's table.
const Table = "churn"

// Bands are the probability thresholds of the band column: high from
// High up, medium from Medium up to High, low below Medium.
type Bands struct {
	High   float64 `json:"high"`
	Medium float64 `json:"medium"`
}

// DefaultBands are the thresholds used when none are given: a customer
// at 0.7 or more is high risk, from 0.4 medium, below low.
var DefaultBands = Bands{High: 0.7, Medium: 0.4}

// Check refuses thresholds that are not 0 <= Medium <= High <= 1.
func (b Bands) Check() error {
	if !(b.Medium >= 0 && b.Medium <= b.High && b.High <= 1) {
		return datasets.Fieldf("Bands", fmt.Sprintf("high %v, medium %v", b.High, b.Medium), "want 0 <= medium <= high <= 1")
	}
	return nil
}

// Band returns the band of a probability.
func (b Bands) Band(p float64) string {
	switch {
	case p >= b.High:
		return "high"
	case p >= b.Medium:
		return "medium"
	}
	return "low"
}

// NoReasonsNote is recorded in the manifest when the model gives no
// per-customer reasons.
const NoReasonsNote = "reason_1..3 are empty: the model is an imported %s model, whose trees give no per-customer contributions prevoir can state in words (only native logistic models have reasons)"

// Scorer is the churn task's publish.Scorer over the rows of one scoring
// feature table.
type Scorer struct {
	model models.Model
	label string // name@version
	asOf  string
	bands Bands
	idCol int   // customer_id in the feature rows
	cols  []int // feature row index of each model input
	// explain is set for logistic models: the reasons.
	explain *logistic.Model
	terms   []string
	// Buffers, reused between batches.
	batch   models.Batch
	probs   []float64
	contrib []float64
}

// NewScorer checks that the model's inputs are features of the table,
// of the same kind (a refusal wraps models.ErrSchemaMismatch, and a
// *features.SchemaError naming the missing columns), and returns the
// scorer of that table's rows. The table may have features the model does
// not take: training leaves out constant columns.
func NewScorer(m models.Model, fm *features.Manifest, asOf string, bands Bands) (*Scorer, error) {
	return newScorer(m, fm.Schema, fm.Key(), asOf, bands)
}

// NewInputScorer is NewScorer for the rows of in (Input.Rows): the
// feature table's columns and the clv columns a model trained with them
// takes.
func NewInputScorer(m models.Model, in *Input, asOf string, bands Bands) (*Scorer, error) {
	return newScorer(m, in.Columns(), in.Features.Key(), asOf, bands)
}

func newScorer(m models.Model, schema []features.Column, key, asOf string, bands Bands) (*Scorer, error) {
	if err := bands.Check(); err != nil {
		return nil, err
	}
	card := m.Card()
	s := &Scorer{model: m, label: fmt.Sprintf("%s@%d", card.Name, card.Version), asOf: asOf, bands: bands, idCol: -1}
	pos := map[string]int{}
	kinds := map[string]features.Kind{}
	for i, c := range schema {
		switch c.Role {
		case "feature":
			pos[c.Name] = i
			kinds[c.Name] = c.Kind
		case "id":
			if c.Type == "string" {
				s.idCol = i
			}
		}
	}
	if s.idCol < 0 {
		return nil, fmt.Errorf("feature table %s has no customer id column", key)
	}
	var se features.SchemaError
	for _, f := range card.Inputs.Features {
		i, ok := pos[f.Name]
		if !ok {
			se.Missing = append(se.Missing, f.Name)
			continue
		}
		if f.Kind != "" && kinds[f.Name] != "" && f.Kind != kinds[f.Name] {
			return nil, fmt.Errorf("model %s: %w: input %q is %s, the feature table's column is %s", s.label, models.ErrSchemaMismatch, f.Name, f.Kind, kinds[f.Name])
		}
		s.cols = append(s.cols, i)
	}
	if len(se.Missing) > 0 {
		return nil, fmt.Errorf("model %s does not fit the feature table %s (the model's inputs must be among the task's features): %w", s.label, key, schemaMismatch{&se})
	}
	if lm, ok := m.(*logistic.Model); ok {
		s.explain, s.terms = lm, lm.Terms()
		s.contrib = make([]float64, len(s.terms))
	}
	return s, nil
}

// schemaMismatch is a *features.SchemaError that is also
// models.ErrSchemaMismatch.
type schemaMismatch struct{ *features.SchemaError }

func (e schemaMismatch) Is(target error) bool { return target == models.ErrSchemaMismatch }
func (e schemaMismatch) Unwrap() error        { return e.SchemaError }

// Explains reports whether the rows carry reasons.
func (s *Scorer) Explains() bool { return s.explain != nil }

// Columns of the churn table.
var columns = []publish.Column{
	{Name: "customer_id", Type: publish.TypeString, Description: "the customer"},
	{Name: "as_of", Type: publish.TypeString, Description: "the scoring date (YYYY-MM-DD): features use only facts before it"},
	{Name: "probability", Type: publish.TypeDouble, Description: "probability of no purchase within the model's horizon"},
	{Name: "band", Type: publish.TypeString, Description: "high, medium or low, by the thresholds in the manifest's params"},
	{Name: "model", Type: publish.TypeString, Description: "the model version that scored the row, NAME@VERSION"},
	{Name: "reason_1", Type: publish.TypeString, Description: "the feature raising this customer's score most, in words (logistic models)"},
	{Name: "reason_2", Type: publish.TypeString, Description: "the second"},
	{Name: "reason_3", Type: publish.TypeString, Description: "the third"},
}

// Tables declares the one churn table.
func (s *Scorer) Tables() []publish.TableSpec {
	return []publish.TableSpec{{Name: Table, Columns: columns, SortBy: "customer_id", Customer: "customer_id"}}
}

// Score scores a batch of feature rows.
func (s *Scorer) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	n, k := len(in), len(s.cols)
	if cap(s.batch.Values) < n*k {
		s.batch.Values = make([]float64, n*k)
		s.probs = make([]float64, n)
	}
	s.batch = models.Batch{Rows: n, Cols: k, Values: s.batch.Values[:n*k]}
	for r, row := range in {
		for j, c := range s.cols {
			s.batch.Values[r*k+j] = value(row[c])
		}
	}
	if err := s.model.Score(s.probs, s.batch, models.Response); err != nil {
		return fmt.Errorf("model %s: %w", s.label, err)
	}
	out := make([]any, len(columns))
	for r, row := range in {
		p := s.probs[r]
		if math.IsNaN(p) || p < 0 || p > 1 {
			return fmt.Errorf("model %s: customer %v: probability %v outside [0, 1]", s.label, row[s.idCol], p)
		}
		out[0], out[1], out[2], out[3], out[4] = row[s.idCol], s.asOf, p, s.bands.Band(p), s.label
		out[5], out[6], out[7] = "", "", ""
		if s.explain != nil {
			reasons, err := s.reasons(s.batch.Row(r))
			if err != nil {
				return fmt.Errorf("model %s: customer %v: %w", s.label, row[s.idCol], err)
			}
			for i, rs := range reasons {
				out[5+i] = rs
			}
		}
		if err := emit(0, out); err != nil {
			return err
		}
	}
	return nil
}

// value turns a feature value into a model input (NaN for a null).
func value(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return math.NaN()
}

// reasons returns, in words, up to three design columns with the largest
// positive contribution to the row's score.
func (s *Scorer) reasons(row []float64) ([]string, error) {
	if err := s.explain.Contributions(s.contrib, row); err != nil {
		return nil, err
	}
	idx := make([]int, 0, len(s.contrib))
	for i, c := range s.contrib {
		if c > 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.contrib[idx[a]] > s.contrib[idx[b]] })
	inputs := s.model.Card().Inputs
	var out []string
	for _, i := range idx[:min(3, len(idx))] {
		name := s.terms[i]
		j := inputs.Index(name)
		if j < 0 {
			out = append(out, Describe(name, math.NaN()))
			continue
		}
		out = append(out, Describe(name, row[j]))
	}
	return out, nil
}
