package nightly

import (
	"context"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/clv"
	"github.com/prevoir/prevoir/serve/segments"
)

// CLV is the clv task's adapter: serve/clv's Score with the config's
// model, over clv's own horizon (clv.DefaultHorizon, calendar months)
// and discount (clv.DefaultDiscount): the config's horizon is a label
// window in days, which is not how CLV counts.
func CLV() Adapter {
	return Adapter{
		Name:   clv.Task,
		Memory: 256 << 20,
		Run: func(ctx context.Context, st datasets.Store, in Input) (*Output, error) {
			res, err := clv.Score(ctx, st, clv.Options{
				Dataset: in.Dataset, Model: in.Task.Model, AsOf: in.AsOf, Format: in.Format, Kinds: in.Kinds,
				Discount: clv.DefaultDiscount, PrevoirVersion: in.PrevoirVersion, Now: in.Now,
			})
			if res == nil {
				return nil, err
			}
			return &Output{Manifest: res.Manifest, FeaturesReused: res.FeaturesReused}, err
		},
	}
}

// Segments is the segments task's adapter: serve/segments' Score, after
// churn and clv when the run has them (their publications of the date are
// read; without them segments scores churn@champion and clv@champion
// itself, or falls back as docs/FEATURES.md says). It has no model of its
// own, so a run without --config runs it only when the config names it.
func Segments() Adapter {
	return Adapter{
		Name:   segments.Task,
		After:  []string{churn.Task, clv.Task},
		Memory: 256 << 20,
		Run: func(ctx context.Context, st datasets.Store, in Input) (*Output, error) {
			res, err := segments.Score(ctx, st, segments.Options{
				Dataset: in.Dataset, AsOf: in.AsOf, Format: in.Format, Kinds: in.Kinds,
				PrevoirVersion: in.PrevoirVersion, Now: in.Now,
			})
			if res == nil {
				return nil, err
			}
			return &Output{Manifest: res.Manifest}, err
		},
	}
}
