package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/offers"
)

// offersArgs are the flags of `prevoir score --task propensity`.
type offersArgs struct {
	top                  int
	excludeBought, rules string
}

func (a *offersArgs) flags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "top", Value: offers.DefaultTop, Usage: "--task propensity: offers per customer, `N`", Destination: &a.top},
		&cli.StringFlag{Name: "exclude-bought", Usage: "--task propensity: leave out items the customer bought in the last `SPAN` (e.g. 30d; default off)", Destination: &a.excludeBought},
		&cli.StringFlag{Name: "rules", Usage: "--task propensity: eligibility rules `FILE` (YAML: deny, allow, in_stock, min_price, max_per_category; docs/PUBLISHING.md)", Destination: &a.rules},
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
	for _, f := range []string{"top", "exclude-bought", "rules"} {
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
