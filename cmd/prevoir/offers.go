package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/offers"
)

// offersArgs are the flags of `prevoir score --task propensity`.
type offersArgs struct {
	top                  int
	excludeBought, rules string
	features             features.Options // Level, AssocK, PopularK
}

func (a *offersArgs) flags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "top", Value: offers.DefaultTop, Usage: "--task propensity: offers per customer, `N`", Destination: &a.top},
		&cli.StringFlag{Name: "exclude-bought", Usage: "--task propensity: leave out items the customer bought in the last `SPAN` (e.g. 30d; default off)", Destination: &a.excludeBought},
		&cli.StringFlag{Name: "rules", Usage: "--task propensity: eligibility rules `FILE` (YAML: deny, allow, in_stock, min_price, max_per_category; docs/PUBLISHING.md)", Destination: &a.rules},
		// For a model whose card does not record them (an imported one).
		&cli.StringFlag{Name: "level", Usage: "--task propensity: product or category, for a model whose card does not say (an imported one)", Destination: &a.features.Level},
		&cli.IntFlag{Name: "assoc-k", Usage: "--task propensity: the feature option `K` for a model whose card does not say", Destination: &a.features.AssocK},
		&cli.IntFlag{Name: "popular-k", Usage: "--task propensity: the feature option `K` for a model whose card does not say", Destination: &a.features.PopularK},
	}
}

// check refuses the offer flags with another task.
func (a *offersArgs) check(c *cli.Context, task string) error {
	if task == offers.Task {
		for _, f := range []string{"band-high", "band-medium"} {
			if c.IsSet(f) {
				return usageErrorf("--%s is for --task %s", f, churn.Task)
			}
		}
		return nil
	}
	for _, f := range []string{"top", "exclude-bought", "rules", "level", "assoc-k", "popular-k"} {
		if c.IsSet(f) {
			return usageErrorf("--%s is for --task %s", f, offers.Task)
		}
	}
	return nil
}

// score publishes offers; the result reads as churn's for the shared
// printing of `prevoir score`.
func (a *offersArgs) score(c *cli.Context, st datasets.Store, o offers.Options) (*churn.Result, error) {
	o.Top = a.top
	o.Level, o.AssocK, o.PopularK = a.features.Level, a.features.AssocK, a.features.PopularK
	if s := a.excludeBought; s != "" {
		span, err := datasets.ParseSpan(s)
		if err != nil {
			return nil, usageErrorf("--exclude-bought: %v", err)
		}
		o.ExcludeBought = span
	}
	if f := a.rules; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if o.Rules, err = offers.ParseRules(f, b); err != nil {
			return nil, err
		}
	}
	res, err := offers.Score(c.Context, st, o)
	if res == nil {
		return nil, err
	}
	return &churn.Result{Manifest: res.Manifest, Features: res.Features, FeaturesReused: res.FeaturesReused}, err
}
