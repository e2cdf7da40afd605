package nightly

import (
	"context"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/churn"
)

// Churn is the churn task's adapter: serve/churn's Score with the
// config's model and bands.
func Churn() Adapter {
	return Adapter{
		Name:   churn.Task,
		Memory: 256 << 20,
		Run: func(ctx context.Context, st datasets.Store, in Input) (*Output, error) {
			res, err := churn.Score(ctx, st, churn.Options{
				Dataset: in.Dataset, Model: in.Task.Model, AsOf: in.AsOf, Format: in.Format, Kinds: in.Kinds,
				Bands:          churn.Bands{High: in.Task.BandHigh, Medium: in.Task.BandMedium},
				PrevoirVersion: in.PrevoirVersion, Now: in.Now,
			})
			if res == nil {
				return nil, err
			}
			return &Output{Manifest: res.Manifest, FeaturesReused: res.FeaturesReused}, err
		},
	}
}
