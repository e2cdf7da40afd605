package clv

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// Task is the task name of clv publications, and Table its table's.
const (
	Task  = features.TaskCLV
	Table = "clv"
)

// Defaults of a clv scoring run.
var (
	// DefaultHorizon is the horizon of the expected purchases and CLV.
	DefaultHorizon = btyd.Horizon{Months: 12}
	// DefaultMinAge is the shortest history (first purchase to the end
	// of the calibration period) whose estimate is not "insufficient".
	DefaultMinAge = datasets.Span{Days: 30}
)

// DefaultDiscount is the default monthly discount rate (lifetimes'
// default, about 12.7% a year).
const DefaultDiscount = 0.01

// The basis of a row's estimate.
const (
	// BasisRepeat: the customer bought on two days or more.
	BasisRepeat = "repeat"
	// BasisSingle: one purchase day; under BG/NBD p_alive is then 1.
	BasisSingle = "single"
	// BasisInsufficient: the first purchase is less than the minimum
	// age before the end of the calibration period.
	BasisInsufficient = "insufficient"
)

// Options describe one clv scoring run.
type Options struct {
	// Dataset is the dataset to score (required).
	Dataset string
	// Model is NAME@ALIAS or NAME@VERSION of a bgnbd-gg model.
	Model string
	// AsOf is the scoring date, YYYY-MM-DD, latest (default) or today.
	AsOf string
	// Horizon of expected_purchases_<h> and clv_<h> (zero: DefaultHorizon).
	Horizon btyd.Horizon
	// Discount is the discount rate per calendar month of the horizon (0:
	// no discounting; the CLI's default is DefaultDiscount).
	Discount float64
	// MinAge is the basis' minimum history (zero: DefaultMinAge).
	MinAge datasets.Span
	// Kinds are the model kinds that can be loaded (btyd.Kind() among
	// them).
	Kinds models.Kinds
	// Format is the parts' format (publish.FormatParquet by default).
	Format string
	// Shard and Shards split the customers as churn's scoring does.
	Shard, Shards int
	// PrevoirVersion is recorded in the manifest.
	PrevoirVersion string
	// Now is the creation time recorded (default time.Now).
	Now func() time.Time
}

// Result is what Score did.
type Result struct {
	Manifest       *publish.Manifest
	Features       *features.Manifest
	FeaturesReused bool
}

// Score publishes every customer's clv row as of o.AsOf.
func Score(ctx context.Context, st datasets.Store, o Options) (*Result, error) {
	if o.Dataset == "" {
		return nil, datasets.Fieldf("Dataset", "", "scoring needs a dataset")
	}
	if o.Horizon == (btyd.Horizon{}) {
		o.Horizon = DefaultHorizon
	}
	if err := o.Horizon.Check(); err != nil {
		return nil, datasets.Fieldf("Horizon", o.Horizon.String(), "%v", err)
	}
	if !(o.Discount >= 0) || math.IsInf(o.Discount, 1) {
		return nil, datasets.Fieldf("Discount", fmt.Sprint(o.Discount), "want a monthly rate >= 0 (0.01 is 1%% a month)")
	}
	if o.MinAge.Days == 0 {
		o.MinAge = DefaultMinAge
	}
	if o.MinAge.Days < 0 {
		return nil, datasets.Fieldf("MinAge", o.MinAge.String(), "want a positive span")
	}
	asOf, err := publish.ScoringDate(ctx, st, o.Dataset, o.AsOf, o.Now)
	if err != nil {
		return nil, err
	}
	day, _ := time.Parse(time.DateOnly, asOf) // a date: ScoringDate checked it
	o.AsOf = asOf
	loaded, err := registry.New(st, registry.Options{Kinds: o.Kinds}).LoadForTask(ctx, o.Model, "")
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	name, version := loaded.Name, loaded.Version
	m, ok := loaded.Model.(*btyd.Model)
	if !ok {
		return nil, fmt.Errorf("score: model %s@%d is a %s model, the clv task scores %s models", name, version, loaded.Model.Card().Kind, btyd.KindName)
	}
	card := m.Card()
	unit, _ := m.Unit()
	fo := features.Options{Dataset: o.Dataset, Task: Task, AsOf: o.AsOf, FeatureSet: unit, Now: o.Now}
	if card.Lineage != nil {
		if s, ok := card.Lineage.Extra["lookback"].(string); ok && s != "" {
			if fo.Lookback, err = datasets.ParseSpan(s); err != nil {
				return nil, fmt.Errorf("score: model %s@%d: lineage lookback %q: %w", name, version, s, err)
			}
		}
	}
	fr, err := features.Build(ctx, st, fo)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	fm := fr.Manifest
	sc, err := NewScorer(m, fm, day, o)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	lin := publish.Lineage{
		Model: &publish.ModelRef{Name: name, Version: version, Kind: card.Kind, CardSHA256: loaded.CardSHA256},
		Params: map[string]any{"horizon": o.Horizon.String(), "discount_monthly": o.Discount, "min_age": o.MinAge.String(),
			"unit": unit, "variant": m.Params().Variant},
	}
	if err := lin.FromFeatures(ctx, st, fm); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	src := func(ctx context.Context, fn func([]any) error) error {
		return features.Rows(ctx, st, fm, func(r []any) error {
			if o.Shards > 1 {
				if c, _ := r[0].(string); features.ShardOf(c, o.Shards) != o.Shard {
					return nil
				}
			}
			return fn(r)
		})
	}
	pm, err := publish.Publish(ctx, st, publish.Options{
		Dataset: o.Dataset, Task: Task, AsOf: o.AsOf, Format: o.Format, Lineage: lin,
		Shard: o.Shard, Shards: o.Shards, PrevoirVersion: o.PrevoirVersion, Now: o.Now,
	}, src, sc)
	if pm == nil {
		return nil, err
	}
	return &Result{Manifest: pm, Features: fm, FeaturesReused: fr.Reused}, err
}

// Scorer is the clv task's publish.Scorer over the rows of one clv
// feature table.
type Scorer struct {
	model    *btyd.Model
	params   btyd.Params
	label    string
	asOf     string
	bounds   []float64
	discount float64
	minAge   float64 // in the unit
	cols     [4]int  // frequency, recency, age, monetary_value in the rows
	columns  []publish.Column
	// cache holds the expected and discounted purchases of summaries
	// seen: customers with one purchase share few summaries.
	cache map[btyd.Summary][2]float64
}

// cacheSize bounds the scorer's cache of summaries.
const cacheSize = 1 << 20

// NewScorer returns the scorer of a clv feature table's rows with m, as
// of the calendar date asOf: the horizon is converted to m's unit from
// that date (Horizon.Bounds).
func NewScorer(m *btyd.Model, fm *features.Manifest, asOf time.Time, o Options) (*Scorer, error) {
	unit, unitDays := m.Unit()
	if fm.Task != Task || fm.Params.FeatureSet != unit {
		return nil, fmt.Errorf("feature table %s is not a clv summary in %s", fm.Key(), unit)
	}
	card := m.Card()
	s := &Scorer{model: m, params: m.Params(), label: fmt.Sprintf("%s@%d", card.Name, card.Version), asOf: asOf.Format(time.DateOnly),
		bounds: o.Horizon.Bounds(asOf, unitDays), discount: o.Discount, minAge: float64(o.MinAge.Days) / unitDays,
		cache: map[btyd.Summary][2]float64{}}
	for i, name := range []string{features.CLVFrequency, features.CLVRecency, features.CLVAge, features.CLVMonetary} {
		s.cols[i] = -1
		for j, c := range fm.Schema {
			if c.Name == name {
				s.cols[i] = j
			}
		}
		if s.cols[i] < 0 {
			return nil, fmt.Errorf("feature table %s lacks %s", fm.Key(), name)
		}
	}
	h := o.Horizon.String()
	s.columns = []publish.Column{
		{Name: "customer_id", Type: publish.TypeString, Description: "the customer"},
		{Name: "as_of", Type: publish.TypeString, Description: "the scoring date (YYYY-MM-DD): the summary counts purchases before it"},
		{Name: "p_alive", Type: publish.TypeDouble, Description: "probability that the customer is still active (has not dropped out)"},
		{Name: "expected_purchases_" + h, Type: publish.TypeDouble, Description: "expected purchase days in [as_of, as_of + " + h + ")"},
		{Name: "expected_value", Type: publish.TypeDouble, Description: "expected mean value of a purchase day (Gamma-Gamma)"},
		{Name: "clv_" + h, Type: publish.TypeDouble, Description: "expected value of the purchases over " + h + ", discounted monthly (docs/CLV.md)"},
		{Name: "basis", Type: publish.TypeString, Description: "repeat (bought on 2+ days), single (one day) or insufficient (first purchase less than the minimum age ago)"},
		{Name: "model", Type: publish.TypeString, Description: "the model version that scored the row, NAME@VERSION"},
	}
	return s, nil
}

// Tables declares the one clv table.
func (s *Scorer) Tables() []publish.TableSpec {
	return []publish.TableSpec{{Name: Table, Columns: s.columns, SortBy: "customer_id", Customer: "customer_id"}}
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return math.NaN()
}

// Score scores a batch of clv feature rows.
func (s *Scorer) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	out := make([]any, len(s.columns))
	p := s.params
	for _, row := range in {
		sum := btyd.Summary{X: num(row[s.cols[0]]), Tx: num(row[s.cols[1]]), T: num(row[s.cols[2]])}
		if err := btyd.CheckSummary(sum); err != nil {
			return fmt.Errorf("customer %v: %w", row[0], err)
		}
		value := p.ExpectedValue(sum.X, num(row[s.cols[3]]))
		basis := BasisSingle
		switch {
		case sum.T < s.minAge:
			basis = BasisInsufficient
		case sum.X > 0:
			basis = BasisRepeat
		}
		out[0], out[1] = row[0], s.asOf
		out[2] = p.PAlive(sum)
		ed, ok := s.cache[sum]
		if !ok {
			ed[0], ed[1] = p.DiscountedPurchases(sum, s.bounds, s.discount)
			if len(s.cache) >= cacheSize {
				clear(s.cache)
			}
			s.cache[sum] = ed
		}
		out[3] = ed[0]
		out[4] = value
		out[5] = value * ed[1]
		out[6], out[7] = basis, s.label
		for _, v := range out[2:6] {
			if f := v.(float64); math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("model %s: customer %v: a prediction is %v (summary %+v)", s.label, row[0], f, sum)
			}
		}
		if err := emit(0, out); err != nil {
			return err
		}
	}
	return nil
}
