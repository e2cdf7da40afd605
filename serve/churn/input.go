package churn

import (
	"context"
	"fmt"
	"slices"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
)

// Input is what a churn model scores as of a date: the rows of the churn
// feature table and, for a model trained with the buy-till-you-die
// columns (btyd.ChurnFeaturesOf its card), p_alive and
// expected_purchases_<horizon> appended to each row, computed with the
// parameters the card records from the clv summary as of the same date
// (purchases before it only). A customer without a summary gets nulls,
// which the model imputes as in training.
type Input struct {
	// Features is the churn feature table; Reused whether it existed.
	Features *features.Manifest
	Reused   bool
	// CLV is the clv summary table the appended columns come from, and
	// CLVFeatures how they are computed; both nil for a model without
	// them.
	CLV         *features.Manifest
	CLVFeatures *btyd.ChurnFeatures
	values      map[string][2]float64
}

// BuildInput builds (or reuses) the tables card's model needs: the churn
// feature table fo describes (FeatureOptions gives it from the card), and
// the clv summary as of fo.AsOf when the card takes its columns.
func BuildInput(ctx context.Context, st datasets.Store, card *models.Card, fo features.Options) (*Input, error) {
	cf, err := btyd.ChurnFeaturesOf(card)
	if err != nil {
		return nil, err
	}
	fr, err := features.Build(ctx, st, fo)
	if err != nil {
		return nil, err
	}
	in := &Input{Features: fr.Manifest, Reused: fr.Reused}
	if cf == nil {
		return in, nil
	}
	lookback, err := datasets.ParseSpan(cf.Lookback)
	if err != nil {
		return nil, err
	}
	cr, err := features.Build(ctx, st, features.Options{Dataset: fo.Dataset, Task: features.TaskCLV, AsOf: fo.AsOf,
		FeatureSet: cf.Unit, Lookback: lookback, Now: fo.Now})
	if err != nil {
		return nil, fmt.Errorf("clv summary for %s: %w", cf.ExpectedColumn(), err)
	}
	in.CLV, in.CLVFeatures = cr.Manifest, cf
	if in.values, err = clvValues(ctx, st, cr.Manifest, *cf); err != nil {
		return nil, err
	}
	return in, nil
}

// clvValues computes each customer's p_alive and expected purchases from
// the clv summary table m with cf; customers of one summary share one
// computation.
func clvValues(ctx context.Context, st datasets.Store, m *features.Manifest, cf btyd.ChurnFeatures) (map[string][2]float64, error) {
	t, err := cf.HorizonUnits()
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, c := range m.Schema {
		idx[c.Name] = i
	}
	cols := make([]int, 3)
	id, ok := idx["customer_id"]
	for k, name := range []string{features.CLVFrequency, features.CLVRecency, features.CLVAge} {
		j, has := idx[name]
		if !has || !ok {
			return nil, fmt.Errorf("feature table %s is not a clv summary", m.Key())
		}
		cols[k] = j
	}
	p := cf.Params()
	out := make(map[string][2]float64, m.Rows)
	seen := map[btyd.Summary][2]float64{}
	err = features.Rows(ctx, st, m, func(r []any) error {
		c, _ := r[id].(string)
		s := btyd.Summary{X: value(r[cols[0]]), Tx: value(r[cols[1]]), T: value(r[cols[2]])}
		if err := btyd.CheckSummary(s); err != nil {
			return fmt.Errorf("feature table %s: customer %s: %w", m.Key(), c, err)
		}
		v, ok := seen[s]
		if !ok {
			pa, e := p.ChurnValues(s, t)
			v = [2]float64{pa, e}
			if len(seen) < cacheSize {
				seen[s] = v
			}
		}
		out[c] = v
		return nil
	})
	return out, err
}

// cacheSize bounds the distinct summaries whose values are remembered.
const cacheSize = 1 << 20

// Columns are the columns of the rows Rows gives: the feature table's,
// then the clv columns when the model takes them.
func (in *Input) Columns() []features.Column {
	cols := slices.Clone(in.Features.Schema)
	if in.CLVFeatures != nil {
		cols = append(cols, in.CLVFeatures.Columns()...)
	}
	return cols
}

// Rows streams the rows of the feature table with the clv values
// appended (nil for a customer without a summary). The row passed to fn
// is reused: fn must copy what it keeps.
func (in *Input) Rows(ctx context.Context, st datasets.Store, fn func(row []any) error) error {
	if in.CLVFeatures == nil {
		return features.Rows(ctx, st, in.Features, fn)
	}
	id := -1
	for i, c := range in.Features.Schema {
		if c.Role == "id" && c.Type == "string" {
			id = i
			break
		}
	}
	if id < 0 {
		return fmt.Errorf("feature table %s has no customer id column", in.Features.Key())
	}
	var buf []any
	return features.Rows(ctx, st, in.Features, func(r []any) error {
		buf = append(buf[:0], r...)
		c, _ := r[id].(string)
		if v, ok := in.values[c]; ok {
			buf = append(buf, v[0], v[1])
		} else {
			buf = append(buf, nil, nil)
		}
		return fn(buf)
	})
}
