package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/serve/demand"
	"github.com/prevoir/prevoir/serve/publish"
	"github.com/prevoir/prevoir/train"
)

// runTrainDemand is `prevoir train --task demand`: demand feature tables
// per origin, the count model's fit on the earlier origins, the backtest
// on the latest beside the classic forecasters, registration.
func runTrainDemand(c *cli.Context, a *trainArgs) error {
	for _, f := range []string{"table", "label", "positive", "id", "categorical", "weight", "missing", "holdout-frac", "seed", "no-standardize",
		"max-levels", "class-weight", "min-class", "solver", "predictions", "drop"} {
		if c.IsSet(f) {
			return usageErrorf("train --task demand: --%s is not a demand option", f)
		}
	}
	o := train.DemandOptions{Features: a.task.Features, Cutoffs: a.task.Cutoffs}
	if o.Features.AsOf == "" {
		return usageErrorf("train --task demand: --as-of DATE is required (the latest origin, held out)")
	}
	if o.Cutoffs < 2 {
		return usageErrorf("train --task demand: --cutoffs %d: want at least 2 (the latest is held out, earlier ones are trained on)", o.Cutoffs)
	}
	if a.step == "" {
		return usageErrorf("train --task demand: --step SPAN is required (e.g. 4w)")
	}
	if err := a.checkNameAlias(); err != nil {
		return err
	}
	if err := checkAsOf(o.Features.AsOf); err != nil {
		return err
	}
	var err error
	if o.Step, err = datasets.ParseSpan(a.step); err != nil {
		return usageErrorf("train: --step: %v", err)
	}
	if c.IsSet("horizon") {
		if o.Features.Horizon, err = datasets.ParseSpan(a.horizon); err != nil {
			return usageErrorf("train: --horizon: %v", err)
		}
	}
	if o.Features.Lookback, err = datasets.ParseSpan(a.lookback); err != nil {
		return usageErrorf("train: --lookback: %v", err)
	}
	if o.C, err = strconv.ParseFloat(strings.TrimSpace(a.c), 64); err != nil || !(o.C > 0) || math.IsInf(o.C, 0) {
		return usageErrorf("train --task demand: -c %q: want one positive number", a.c)
	}
	st, ds, err := openDataset(c)
	if err != nil {
		return err
	}
	o.Features.Dataset = ds
	if o.Features.AsOf, err = resolveAsOf(c, st, ds, o.Features.AsOf); err != nil {
		return err
	}
	name := a.name
	done := stage("train", "task", features.TaskDemand, "dataset", ds, "as_of", o.Features.AsOf, "cutoffs", o.Cutoffs)
	bar := newSpinner(c, "training "+name)
	res, err := train.TrainDemand(c.Context, st, o)
	bar.Finish()
	if err != nil {
		if errors.Is(err, features.ErrCensored) {
			return usageErrorf("train %s: %v", name, err)
		}
		return fmt.Errorf("train %s: %w", name, err)
	}
	done("train_rows", res.TrainRows, "holdout_rows", res.HoldoutRows)
	card := res.Card
	card.PrevoirVersion = Version()
	if !a.dryRun {
		if card, err = a.registerAndPromote(c, st, name, card); err != nil {
			return err
		}
	} else {
		card.Name = name
	}
	if wantJSON(c) {
		return printJSON(c, demandReport{Name: name, Version: card.Version, Registered: !a.dryRun, Promoted: a.promoted(),
			Dataset: ds, TrainingSet: res.TrainingSet, Holdout: res.Holdout, Train: res.Train, Excluded: res.Excluded,
			TrainRows: res.TrainRows, HoldoutRows: res.HoldoutRows, Fit: res.Fit, Alpha: res.Alpha, AlphaPower: res.AlphaPower,
			DispersionInput: res.DispersionInput, DispersionCoef: res.DispersionCoef, Backtest: res.Backtest,
			Warnings: res.Warnings, Card: card})
	}
	w := out(c)
	if !a.dryRun {
		fmt.Fprintf(w, "registered %s@%d: negbin, %d design columns from %d features\n", card.Name, card.Version, len(card.Preprocessing.Features), len(card.Inputs.Features))
	} else {
		fmt.Fprintf(w, "%s (dry run, not registered): negbin, %d design columns from %d features\n", name, len(card.Preprocessing.Features), len(card.Inputs.Features))
	}
	fmt.Fprintf(w, "split: holdout origin %s (%d rows); trained on %s (%d rows)\n", res.Holdout, res.HoldoutRows, strings.Join(res.Train, ", "), res.TrainRows)
	fmt.Fprintf(w, "fit: Poisson, C = %g, %s in %d iterations (%.2f s) on %d rows x %d columns; negative binomial alpha = %.4g * mu^%g", o.C, res.Fit.Status, res.Fit.Iterations, res.Fit.Seconds, res.TrainRows, len(res.Card.Preprocessing.Features), res.Alpha, res.AlphaPower)
	if res.DispersionInput != "" {
		fmt.Fprintf(w, " * exp(%g * %s)", res.DispersionCoef, res.DispersionInput)
	}
	fmt.Fprintln(w, " (maximum likelihood)")
	printBacktest(w, res.Backtest)
	printWarnings(c, res.Warnings)
	a.printPromoted(c, card)
	a.printWhere(c, st, card)
	if !a.dryRun {
		ref := fmt.Sprintf("%s@%d", card.Name, card.Version)
		if p := a.promoted(); p != "" {
			ref = card.Name + "@" + p
		}
		g := storeFlagText(c)
		fmt.Fprintf(c.App.ErrWriter, "next: forecast as of the latest data and publish the forecast and the pre-positioning plan:\n"+
			"  prevoir%s score --dataset %s --task demand --model %s\n"+
			"  prevoir%s scores export demand --dataset %s -o demand.csv\n", g, ds, ref, g, ds)
	}
	return nil
}

type demandReport struct {
	Name        string              `json:"name"`
	Version     int                 `json:"version,omitempty"`
	Registered  bool                `json:"registered"`
	Promoted    string              `json:"promoted,omitempty"`
	Dataset     string              `json:"dataset"`
	TrainingSet string              `json:"training_set"`
	Holdout     string              `json:"holdout_cutoff"`
	Train       []string            `json:"training_cutoffs"`
	Excluded    []string            `json:"excluded_cutoffs"`
	TrainRows   int                 `json:"train_rows"`
	HoldoutRows int                 `json:"holdout_rows"`
	Fit         train.PoissonResult `json:"fit"`
	Alpha       float64             `json:"alpha"`
	AlphaPower  float64             `json:"alpha_power"`
	// DispersionInput and DispersionCoef: alpha also scales by exp(coef * input).
	DispersionInput string          `json:"dispersion_input,omitempty"`
	DispersionCoef  float64         `json:"dispersion_coef"`
	Backtest        *train.Backtest `json:"backtest"`
	Warnings        []string        `json:"warnings"`
	Card            *models.Card    `json:"card"`
}

// printBacktest prints the backtest: every method's overall metrics at
// both levels, then WAPE per step.
func printBacktest(w io.Writer, b *train.Backtest) {
	f := func(m train.Metric) string {
		if math.IsNaN(float64(m)) {
			return "-"
		}
		return fmt.Sprintf("%.3f", float64(m))
	}
	for _, lv := range []struct {
		name string
		ms   []train.MethodBacktest
	}{{"product", b.Product}, {"product x warehouse", b.ProductWarehouse}} {
		n := 0
		if len(lv.ms) > 0 {
			n = lv.ms[0].Overall.Points
		}
		fmt.Fprintf(w, "backtest at origin %s, %d %s periods, %s level (%d points):\n", b.Origin, b.Horizon, b.Period, lv.name, n)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "METHOD\tWAPE\tBIAS\tMASE\tPINBALL50\tPINBALL90\tWQL50\tWQL90\tP90 COVER\t")
		for h := range b.Horizon {
			fmt.Fprintf(tw, "WAPE h%d\t", h+1)
		}
		fmt.Fprintln(tw)
		for _, m := range lv.ms {
			o := m.Overall
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", m.Method, f(o.WAPE), f(o.Bias), f(o.MASE), f(o.Pinball50), f(o.Pinball90), f(o.WQL50), f(o.WQL90), f(o.Coverage90))
			for _, s := range m.Steps {
				fmt.Fprintf(tw, "%s\t", f(s.WAPE))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	if b.SeasonLag == 0 {
		fmt.Fprintln(w, "seasonal naive left out: the data does not reach a year before the horizon")
	}
	fmt.Fprintf(w, "baselines: %s\n", b.Baselines)
}

// demandScoreArgs are `prevoir score`'s flags for --task demand.
type demandScoreArgs struct {
	quantiles    string
	serviceLevel float64
}

// publishedTable maps a TASK argument of `scores show/export` to the
// publication's task and table: "preposition" is the demand
// publication's plan table; any other name is a task (its main table).
func publishedTable(arg string) (task, table string) {
	if arg == demand.PlanTable {
		return demand.Task, demand.PlanTable
	}
	return arg, ""
}

// runScoreDemand is `prevoir score --task demand`.
func runScoreDemand(c *cli.Context, a *scoreArgs) error {
	for _, f := range []string{"band-high", "band-medium"} {
		if c.IsSet(f) {
			return usageErrorf("score --task demand: --%s is for churn", f)
		}
	}
	var qs []float64
	if s := strings.TrimSpace(a.demand.quantiles); s != "" {
		for _, f := range strings.Split(s, ",") {
			q, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || !(q > 0 && q < 1) {
				return usageErrorf("--quantiles %q: want probabilities strictly between 0 and 1, separated by commas", a.demand.quantiles)
			}
			qs = append(qs, q)
		}
	}
	if sl := a.demand.serviceLevel; !(sl > 0 && sl < 1) {
		return usageErrorf("--service-level %v: want a probability strictly between 0 and 1", sl)
	}
	shard, shards, err := parseShard(a.shard)
	if err != nil {
		return err
	}
	st, ds, err := openDataset(c)
	if err != nil {
		return err
	}
	done := stage("score", "dataset", ds, "task", demand.Task, "model", a.model, "as_of", a.asOf)
	bar := newSpinner(c, "forecasting "+ds+" with "+a.model)
	res, err := demand.Score(c.Context, st, demand.Options{Dataset: ds, Model: a.model, AsOf: a.asOf, Format: a.format,
		Quantiles: qs, ServiceLevel: a.demand.serviceLevel, Shard: shard, Shards: shards, PrevoirVersion: Version(), Kinds: modelKinds()})
	bar.Finish()
	if res == nil {
		return err
	}
	m := res.Manifest
	done("publication", publish.Prefix(m.Dataset, m.Task, m.AsOf), "rows", m.Rows, "features_reused", res.FeaturesReused)
	if wantJSON(c) {
		tables := map[string]int64{}
		for _, t := range m.Tables {
			tables[t.Name] = t.Rows
		}
		if perr := printJSON(c, map[string]any{"publication": publish.Prefix(m.Dataset, m.Task, m.AsOf), "as_of": m.AsOf, "run": m.Run,
			"rows": m.Rows, "tables": tables, "series": res.Series, "shard": m.Shard, "shards": m.Shards, "model": m.Model, "features": m.Features.Key,
			"features_reused": res.FeaturesReused}); perr != nil {
			return perr
		}
		return err
	}
	if m.Shards > 1 {
		fmt.Fprintf(out(c), "shard %d/%d: %d forecast rows under %s; commit with: prevoir scores commit %s --dataset %s --as-of %s --shards %d\n",
			m.Shard, m.Shards, m.Rows, publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Task, m.Dataset, m.AsOf, m.Shards)
		return err
	}
	fmt.Fprintf(out(c), "features %s\npublished %s: %d series, %d forecast rows (table demand), %d plan rows (table preposition), model %s@%d, run %s\n",
		m.Features.Key, publish.Prefix(m.Dataset, m.Task, m.AsOf), res.Series, m.Rows, m.Tables[len(m.Tables)-1].Rows, m.Model.Name, m.Model.Version, m.Run)
	for _, n := range m.Notes {
		fmt.Fprintf(out(c), "note: %s\n", n)
	}
	return err
}
