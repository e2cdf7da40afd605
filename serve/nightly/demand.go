package nightly

import (
	"context"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/demand"
)

// Demand is the demand task's adapter: serve/demand's Score with the
// config's model, quantiles (p50 and p90 always) and service level. The
// forecast's period and horizon are the model's (its card records the
// feature options it was trained with).
func Demand() Adapter {
	return Adapter{
		Name:   demand.Task,
		Memory: 1 << 30,
		Run: func(ctx context.Context, st datasets.Store, in Input) (*Output, error) {
			res, err := demand.Score(ctx, st, demand.Options{
				Dataset: in.Dataset, Model: in.Task.Model, AsOf: in.AsOf, Format: in.Format, Kinds: in.Kinds,
				Quantiles: in.Task.Quantiles, ServiceLevel: in.Task.ServiceLevel, PrevoirVersion: in.PrevoirVersion, Now: in.Now,
			})
			if res == nil {
				return nil, err
			}
			return &Output{Manifest: res.Manifest, FeaturesReused: res.FeaturesReused}, err
		},
	}
}
