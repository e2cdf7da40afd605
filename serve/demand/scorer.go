package demand

import (
	"context"
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
	"github.com/prevoir/prevoir/serve/publish"
)

// Task is the task name of demand publications; Table and PlanTable the
// names of its two tables (the first is the main one).
const (
	Task      = features.TaskDemand
	Table     = "demand"
	PlanTable = "preposition"
)

// Defaults.
var (
	// DefaultQuantiles are always published, as p50 and p90.
	DefaultQuantiles = []float64{0.5, 0.9}
	// DefaultServiceLevel is the critical fractile used without one.
	DefaultServiceLevel = 0.95
)

// QuantileColumn names the column of quantile q: p50 and p90 for the
// defaults, else q<percent> with "_" for a decimal point (q95, q97_5).
func QuantileColumn(q float64) string {
	switch q {
	case 0.5:
		return "p50"
	case 0.9:
		return "p90"
	}
	return "q" + strings.ReplaceAll(strconv.FormatFloat(q*100, 'f', -1, 64), ".", "_")
}

// series is one product x warehouse of the feature table: its rows.
type series struct {
	product, warehouse string
	lo, hi             int
}

// Scorer is the demand task's publish.Scorer. Its input rows are series
// indexes ([]any{int64(i)}): a series' steps are scored together, so the
// horizon's plan row follows its forecast rows.
type Scorer struct {
	model        *negbin.Model
	label        string
	asOf         string
	horizon      string
	extra        []float64 // asked quantiles beyond p50 and p90
	serviceLevel float64
	fr           *features.Frame
	series       []series
	starts       []string // period start of each step, YYYY-MM-DD
	ranks        map[string]int
	stock        map[[2]string]float64
	cols         []int // frame feature of each model input
	batch        models.Batch
	mu           []float64
	demandCols   []publish.Column
}

// ScorerOptions configure NewScorer.
type ScorerOptions struct {
	AsOf    string
	Horizon string
	// Starts are the steps' period starts.
	Starts []time.Time
	// Quantiles are published besides p50 and p90 (those two always).
	Quantiles    []float64
	ServiceLevel float64
	// Ranks are the products' bestseller ranks; Stock the units on hand
	// per product and warehouse (absent: unknown).
	Ranks map[string]int
	Stock map[[2]string]float64
}

// NewScorer checks that the model's inputs are features of the frame
// (models.ErrSchemaMismatch otherwise) and returns the scorer of its
// series.
func NewScorer(m *negbin.Model, fr *features.Frame, o ScorerOptions) (*Scorer, error) {
	if !(o.ServiceLevel > 0 && o.ServiceLevel < 1) {
		return nil, datasets.Fieldf("ServiceLevel", strconv.FormatFloat(o.ServiceLevel, 'g', -1, 64), "want a probability strictly between 0 and 1")
	}
	card := m.Card()
	s := &Scorer{model: m, label: fmt.Sprintf("%s@%d", card.Name, card.Version), asOf: o.AsOf, horizon: o.Horizon,
		serviceLevel: o.ServiceLevel, fr: fr, ranks: o.Ranks, stock: o.Stock}
	for _, q := range o.Quantiles {
		if !(q > 0 && q < 1) {
			return nil, datasets.Fieldf("Quantiles", strconv.FormatFloat(q, 'g', -1, 64), "want probabilities strictly between 0 and 1")
		}
		if q != 0.5 && q != 0.9 && !slices.Contains(s.extra, q) {
			s.extra = append(s.extra, q)
		}
	}
	for _, t := range o.Starts {
		s.starts = append(s.starts, t.Format(time.DateOnly))
	}
	var se features.SchemaError
	for _, f := range card.Inputs.Features {
		j := fr.Schema.Index(f.Name)
		if j < 0 {
			se.Missing = append(se.Missing, f.Name)
			continue
		}
		s.cols = append(s.cols, j)
	}
	if len(se.Missing) > 0 {
		return nil, fmt.Errorf("model %s does not fit the demand feature table: %w: %w", s.label, models.ErrSchemaMismatch, &se)
	}
	if len(fr.Keys) == 0 || len(fr.Ints) == 0 {
		return nil, fmt.Errorf("the feature table has no warehouse or step column: not a demand table")
	}
	for i := 0; i < len(fr.IDs); {
		j := i
		for j < len(fr.IDs) && fr.IDs[j] == fr.IDs[i] && fr.Keys[0][j] == fr.Keys[0][i] {
			j++
		}
		s.series = append(s.series, series{product: fr.IDs[i], warehouse: fr.Keys[0][i], lo: i, hi: j})
		i = j
	}
	s.demandCols = append(s.demandCols, demandHead...)
	for _, q := range DefaultQuantiles {
		s.demandCols = append(s.demandCols, publish.Column{Name: QuantileColumn(q), Type: publish.TypeDouble, Description: fmt.Sprintf("the %g quantile of the period's demand", q)})
	}
	for _, q := range s.extra {
		s.demandCols = append(s.demandCols, publish.Column{Name: QuantileColumn(q), Type: publish.TypeDouble, Description: fmt.Sprintf("the %g quantile of the period's demand", q)})
	}
	s.demandCols = append(s.demandCols, publish.Column{Name: "model", Type: publish.TypeString, Description: "the model version, NAME@VERSION"})
	return s, nil
}

// Series returns the number of series: the input rows are 0..Series()-1.
func (s *Scorer) Series() int { return len(s.series) }

// Product returns series i's product.
func (s *Scorer) Product(i int) string { return s.series[i].product }

var demandHead = []publish.Column{
	{Name: "product_id", Type: publish.TypeString, Description: "the product"},
	{Name: "warehouse", Type: publish.TypeString, Description: "the warehouse (empty for lines without one)"},
	{Name: "as_of", Type: publish.TypeString, Description: "the forecast origin (YYYY-MM-DD): features use only facts before it"},
	{Name: "period_start", Type: publish.TypeString, Description: "the first day of the step's period (YYYY-MM-DD)"},
	{Name: "step", Type: publish.TypeInt64, Description: "h = 1..H: the period [as_of + (h-1)p, as_of + hp)"},
	{Name: "mean", Type: publish.TypeDouble, Description: "the forecast mean of the period's demand (the model's measure: units or value)"},
}

var planCols = []publish.Column{
	{Name: "product_id", Type: publish.TypeString, Description: "the product"},
	{Name: "warehouse", Type: publish.TypeString, Description: "the warehouse"},
	{Name: "as_of", Type: publish.TypeString, Description: "the forecast origin (YYYY-MM-DD)"},
	{Name: "horizon", Type: publish.TypeString, Description: "the horizon the plan covers (4w)"},
	{Name: "mean", Type: publish.TypeDouble, Description: "the mean of the horizon's demand: the sum of the steps' means"},
	{Name: "p50", Type: publish.TypeDouble, Description: "the median of the horizon's demand (negative binomial with the steps' summed mean and variance)"},
	{Name: "p90", Type: publish.TypeDouble, Description: "the 0.9 quantile of the horizon's demand"},
	{Name: "bestseller_rank", Type: publish.TypeInt64, Description: "the product's rank by units sold before as_of (1: the most)"},
	{Name: "stock_on_hand", Type: publish.TypeDouble, Description: "units on hand at the latest stock count before as_of; null without one"},
	{Name: "service_level", Type: publish.TypeDouble, Description: "the critical fractile: the probability that the horizon's demand is covered"},
	{Name: "preposition_qty", Type: publish.TypeDouble, Description: "the service-level quantile of the horizon's demand minus the stock on hand (0 when unknown), floored at 0"},
}

// Tables declares the demand table (main) and the preposition table.
func (s *Scorer) Tables() []publish.TableSpec {
	return []publish.TableSpec{
		{Name: Table, Columns: s.demandCols, SortBy: "product_id", ThenBy: []string{"warehouse", "step"}},
		{Name: PlanTable, Columns: planCols, SortBy: "product_id", ThenBy: []string{"warehouse"}},
	}
}

// Score scores a batch of series: every step's forecast row, then the
// series' plan row.
func (s *Scorer) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	row := make([]any, len(s.demandCols))
	plan := make([]any, len(planCols))
	k := len(s.cols)
	for _, r := range in {
		i, ok := r[0].(int64)
		if !ok || i < 0 || int(i) >= len(s.series) {
			return fmt.Errorf("demand scorer: input %v is not a series index", r[0])
		}
		se := s.series[i]
		n := se.hi - se.lo
		if cap(s.batch.Values) < n*k {
			s.batch.Values, s.mu = make([]float64, n*k), make([]float64, n)
		}
		s.batch = models.Batch{Rows: n, Cols: k, Values: s.batch.Values[:n*k]}
		for t := 0; t < n; t++ {
			for j, c := range s.cols {
				v := s.fr.Values[c][se.lo+t]
				if !s.fr.Valid[c][se.lo+t] {
					v = math.NaN()
				}
				s.batch.Values[t*k+j] = v
			}
		}
		mu := s.mu[:n]
		if err := s.model.Score(mu, s.batch, models.Response); err != nil {
			return fmt.Errorf("model %s: %w", s.label, err)
		}
		var sum, variance float64
		for t := 0; t < n; t++ {
			m := mu[t]
			if math.IsNaN(m) || math.IsInf(m, 0) || m < 0 {
				return fmt.Errorf("model %s: %s/%s step %d: mean %v", s.label, se.product, se.warehouse, t+1, m)
			}
			h := s.fr.Ints[0][se.lo+t]
			start := ""
			if h >= 1 && int(h) <= len(s.starts) {
				start = s.starts[h-1]
			}
			row[0], row[1], row[2], row[3], row[4], row[5] = se.product, se.warehouse, s.asOf, start, h, m
			in := s.batch.Row(t)
			row[6], row[7] = s.model.Quantile(0.5, m, in), s.model.Quantile(0.9, m, in)
			for q, p := range s.extra {
				row[8+q] = s.model.Quantile(p, m, in)
			}
			row[len(row)-1] = s.label
			if err := emit(0, row); err != nil {
				return err
			}
			sum += m
			variance += negbin.Variance(m, s.model.Alpha(m, in))
		}
		hm, ha := negbin.MomentMatch(sum, variance)
		onHand, known := s.stock[[2]string{se.product, se.warehouse}]
		need := negbin.Quantile(s.serviceLevel, hm, ha)
		plan[0], plan[1], plan[2], plan[3], plan[4] = se.product, se.warehouse, s.asOf, s.horizon, sum
		plan[5], plan[6] = negbin.Quantile(0.5, hm, ha), negbin.Quantile(0.9, hm, ha)
		plan[7] = nil
		if rk, ok := s.ranks[se.product]; ok {
			plan[7] = int64(rk)
		}
		plan[8] = nil
		if known {
			plan[8] = onHand
		}
		plan[9], plan[10] = s.serviceLevel, max(0, need-onHand)
		if err := emit(1, plan); err != nil {
			return err
		}
	}
	return nil
}
