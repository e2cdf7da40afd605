package nightly

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/offers"
)

// Propensity is the propensity task's adapter: serve/offers' Score with
// the config's model, top N, exclude_bought span and rules file (read
// relative to the config's folder, Input.Dir).
func Propensity() Adapter {
	return Adapter{
		Name:   offers.Task,
		Memory: 1 << 30,
		Run: func(ctx context.Context, st datasets.Store, in Input) (*Output, error) {
			o := offers.Options{
				Dataset: in.Dataset, Model: in.Task.Model, AsOf: in.AsOf, Format: in.Format, Kinds: in.Kinds,
				Top: in.Task.TopN, PrevoirVersion: in.PrevoirVersion, Now: in.Now,
			}
			if s := in.Task.ExcludeBought; s != "" {
				o.ExcludeBought, _ = datasets.ParseSpan(s) // checked by the config's defaults
			}
			if p := in.Task.Rules; p != "" {
				if !filepath.IsAbs(p) && in.Dir != "" {
					p = filepath.Join(in.Dir, p)
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, fmt.Errorf("rules: %w", err)
				}
				if o.Rules, err = offers.ParseRules(p, b); err != nil {
					return nil, err
				}
			}
			res, err := offers.Score(ctx, st, o)
			if res == nil {
				return nil, err
			}
			return &Output{Manifest: res.Manifest, FeaturesReused: res.FeaturesReused}, err
		},
	}
}
