package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/train"
)

// clvTrainArgs are train's flags for --task clv.
type clvTrainArgs struct {
	model, unit string
	penalizer   float64
}

func (a *clvTrainArgs) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "model", Usage: "--task clv: the transaction model registered, bgnbd or mbgnbd (both are fitted and reported)", Value: btyd.BGNBD, Destination: &a.model},
		&cli.StringFlag{Name: "unit", Usage: "--task clv: the summary's time unit, days or weeks", Value: features.CLVDays, Destination: &a.unit},
		&cli.Float64Flag{Name: "penalizer", Usage: "--task clv: L2 penalty on the parameters, as lifetimes' penalizer_coef", Destination: &a.penalizer},
	}
}

// runTrainCLV is `prevoir train --task clv`: the clv summary as of
// --as-of, BG/NBD, MBG/NBD and Gamma-Gamma fits, with --horizon the
// calibration/holdout check, and the registration of a bgnbd-gg model.
func runTrainCLV(c *cli.Context, a *trainArgs) error {
	for _, f := range []string{"table", "label", "positive", "id", "categorical", "weight", "missing", "holdout-frac", "seed", "no-standardize",
		"max-levels", "cutoffs", "step", "c", "solver", "class-weight", "min-class", "drop", "predictions"} {
		if c.IsSet(f) {
			return usageErrorf("train --task clv: --%s is for the churn task or --table", f)
		}
	}
	if a.task.Features.AsOf == "" {
		return usageErrorf("train --task clv: --as-of DATE is required (the calibration period ends the day before)")
	}
	if err := a.checkNameAlias(); err != nil {
		return err
	}
	if err := checkAsOf(a.task.Features.AsOf); err != nil {
		return err
	}
	if _, err := features.CLVUnitDays(a.clv.unit); err != nil {
		return usageErrorf("train: --unit %q: want days or weeks", a.clv.unit)
	}
	o := train.CLVOptions{Model: a.clv.model, Penalizer: a.clv.penalizer,
		Features: features.Options{FeatureSet: a.clv.unit}}
	var err error
	if c.IsSet("lookback") {
		if o.Features.Lookback, err = datasets.ParseSpan(a.lookback); err != nil {
			return usageErrorf("train: --lookback: %v", err)
		}
	}
	if c.IsSet("horizon") {
		if o.Features.CLVHoldout, err = datasets.ParseSpan(a.horizon); err != nil {
			return usageErrorf("train: --horizon: %v", err)
		}
	}
	st, ds, err := openDataset(c)
	if err != nil {
		return err
	}
	o.Features.Dataset = ds
	if o.Features.AsOf, err = resolveAsOf(c, st, ds, a.task.Features.AsOf); err != nil {
		return err
	}
	name := a.name
	done := stage("train", "task", features.TaskCLV, "dataset", ds, "as_of", o.Features.AsOf, "model", o.Model)
	bar := newSpinner(c, "training "+name)
	res, err := train.TrainCLV(c.Context, st, o)
	bar.Finish()
	if err != nil {
		return fmt.Errorf("train %s: %w", name, err)
	}
	done("customers", res.Fits[o.Model].Customers)
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
		return printJSON(c, map[string]any{"name": name, "version": card.Version, "registered": !a.dryRun, "promoted": a.promoted(),
			"task": features.TaskCLV, "dataset": ds, "as_of": res.Features.AsOf, "features": res.Features.Key(),
			"fits": res.Fits, "calibration_holdout": res.Holdout, "churn_baseline": res.ChurnBaseline, "card": card})
	}
	printCLVText(res, card, !a.dryRun, out(c))
	a.printPromoted(c, card)
	a.printWhere(c, st, card)
	if !a.dryRun {
		fmt.Fprintf(c.App.ErrWriter, "next: publish every customer's p_alive, expected purchases and CLV:\n  prevoir%s score --dataset %s --task clv --model %s@%d\n",
			storeFlagText(c), ds, card.Name, card.Version)
	}
	return nil
}

func printCLVText(res *train.CLVOutcome, card *models.Card, registered bool, w io.Writer) {
	p := res.Params
	unit, _ := card.Parameters[btyd.ParamUnit].(string)
	if registered {
		fmt.Fprintf(w, "registered %s@%d: %s + gamma-gamma, unit %s, %s\n", card.Name, card.Version, p.Variant, unit, res.Features.Key())
	} else {
		fmt.Fprintf(w, "%s (dry run, not registered): %s + gamma-gamma, unit %s, %s\n", card.Name, p.Variant, unit, res.Features.Key())
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tPARAMETERS\tLOG-LIKELIHOOD\tCUSTOMERS\tGROUPS\tITERATIONS")
	for _, v := range []btyd.Params{p, res.Alternative} {
		f, ok := res.Fits[v.Variant]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "%s\tr=%.6g alpha=%.6g a=%.6g b=%.6g\t%.2f\t%d\t%d\t%d\n", v.Variant, v.R, v.Alpha, v.A, v.B, f.LogLik, f.Customers, f.Groups, f.Iterations)
	}
	g := res.Fits["gamma-gamma"]
	fmt.Fprintf(tw, "gamma-gamma\tp=%.6g q=%.6g v=%.6g\t%.2f\t%d\t%d\t%d\n", p.P, p.Q, p.V, g.LogLik, g.Customers, g.Groups, g.Iterations)
	tw.Flush()
	if res.Holdout == nil {
		fmt.Fprintln(w, "no calibration/holdout check (give --horizon SPAN to hold out the purchases after as_of)")
		return
	}
	fmt.Fprintf(w, "calibration/holdout: mean purchase days in [as_of, as_of + %s) by calibration frequency\n", res.Features.Params.Horizon)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "FREQUENCY\tCUSTOMERS\tACTUAL\tBGNBD\tMBGNBD\t")
	for _, r := range res.Holdout {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t\n", r.Frequency, r.Customers, r.Actual, r.BGNBD, r.MBGNBD)
	}
	tw.Flush()
	if b := res.ChurnBaseline; b != nil {
		fmt.Fprintf(w, "label-free churn baseline (%d of %d customers without a purchase in the holdout): AUC of 1 - p_alive %.4f, of expected purchases %.4f\n",
			b.Churned, b.Customers, b.AUCPAlive, b.AUCExpected)
	}
}

// refuseOutsideCLV refuses the clv flags with another task or --table.
func (a *clvTrainArgs) refuseOutsideCLV(c *cli.Context, task string) error {
	if task == features.TaskCLV {
		return nil
	}
	for _, f := range []string{"model", "unit", "penalizer"} {
		if c.IsSet(f) {
			return usageErrorf("train: --%s is for --task clv", f)
		}
	}
	return nil
}
