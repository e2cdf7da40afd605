package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/serve/clv"
	"github.com/prevoir/prevoir/serve/publish"
)

// clvScoreArgs are score's flags for --task clv.
type clvScoreArgs struct {
	horizon, minAge string
	discount        float64
}

func (a *clvScoreArgs) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "horizon", Value: clv.DefaultHorizon.String(), Usage: "--task clv: `SPAN` of the expected purchases and CLV: Nm calendar months, Nd days or Nw weeks", Destination: &a.horizon},
		&cli.Float64Flag{Name: "discount", Value: clv.DefaultDiscount, Usage: "--task clv: discount `RATE` per calendar month (0.01 = 1%)", Destination: &a.discount},
		&cli.StringFlag{Name: "min-age", Value: clv.DefaultMinAge.String(), Usage: "--task clv: `SPAN` of history below which the basis is insufficient", Destination: &a.minAge},
	}
}

// refuseOutsideCLV refuses the clv flags with another task.
func (a *clvScoreArgs) refuseOutsideCLV(c *cli.Context, task string) error {
	if task == clv.Task {
		return nil
	}
	for _, f := range []string{"horizon", "discount", "min-age"} {
		if c.IsSet(f) {
			return usageErrorf("score: --%s is for --task clv", f)
		}
	}
	return nil
}

// runScoreCLV is `prevoir score --task clv`.
func runScoreCLV(c *cli.Context, a *scoreArgs) error {
	h, err := btyd.ParseHorizon(a.clv.horizon)
	if err != nil {
		return usageErrorf("score: --horizon: %v", err)
	}
	minAge, err := datasets.ParseSpan(a.clv.minAge)
	if err != nil {
		return usageErrorf("score: --min-age: %v", err)
	}
	shard, shards, err := parseShard(a.shard)
	if err != nil {
		return err
	}
	st, ds, err := openDataset(c)
	if err != nil {
		return err
	}
	done := stage("score", "dataset", ds, "task", clv.Task, "model", a.model, "as_of", a.asOf)
	bar := newSpinner(c, "scoring "+ds+" clv with "+a.model)
	res, err := clv.Score(c.Context, st, clv.Options{Dataset: ds, Model: a.model, AsOf: a.asOf, Horizon: h, Discount: a.clv.discount, MinAge: minAge,
		Format: a.format, Shard: shard, Shards: shards, PrevoirVersion: Version(), Kinds: modelKinds()})
	bar.Finish()
	if res == nil {
		return err
	}
	m := res.Manifest
	done("publication", publish.Prefix(m.Dataset, m.Task, m.AsOf), "rows", m.Rows, "features_reused", res.FeaturesReused)
	if wantJSON(c) {
		rep := map[string]any{"publication": publish.Prefix(m.Dataset, m.Task, m.AsOf), "as_of": m.AsOf, "run": m.Run, "rows": m.Rows,
			"suppressed": m.Suppressed, "model": m.Model, "features": m.Features.Key, "features_reused": res.FeaturesReused}
		if m.Shards > 1 {
			rep["receipt"], rep["shard"], rep["shards"] = publish.ShardKey(m.Dataset, m.Task, m.AsOf, m.Shard, m.Shards), m.Shard, m.Shards
		}
		if perr := printJSON(c, rep); perr != nil {
			return perr
		}
		return err
	}
	if m.Shards > 1 {
		fmt.Fprintf(out(c), "shard %d/%d: %d rows under %s; commit with: prevoir scores commit %s --dataset %s --as-of %s --shards %d\n",
			m.Shard, m.Shards, m.Rows, publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Task, m.Dataset, m.AsOf, m.Shards)
		return err
	}
	fmt.Fprintf(out(c), "features %s\npublished %s: %d rows, model %s@%d, horizon %s, discount %g a month, run %s\n", m.Features.Key,
		publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Rows, m.Model.Name, m.Model.Version, h, a.clv.discount, m.Run)
	return err
}
