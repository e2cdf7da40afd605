package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/train"
)

// trainArgs holds train's flags: those shared by --table and --task bind
// into train.TableOptions, the task's into train.TaskOptions; spans, the C
// list, --missing and --solver are parsed into them by the action.
type trainArgs struct {
	fit                                                                            train.TableOptions
	task                                                                           train.TaskOptions
	ids, drop, categorical                                                         cli.StringSlice
	table, step, horizon, lookback, missing, c, solver, name, predictions, promote string
	dryRun, force                                                                  bool
	clv                                                                            clvTrainArgs
	top                                                                            int
}

func trainCommand() *cli.Command {
	a := &trainArgs{}
	return &cli.Command{
		Name:  "train",
		Usage: "fit a logistic regression (equal to scikit-learn's StandardScaler + LogisticRegression) on a table or a task's feature tables and register it",
		Description: `With --task churn: builds (or reuses) one churn feature table per cutoff
as_of - k*step, k = 0..K-1, with labels; holds out the latest cutoff
(time-based, never random); trains only on cutoffs whose label window
[cutoff, cutoff + horizon) ends at or before it; with several -c values
picks C on the cutoff before the holdout (lowest log loss); evaluates the
model and a one-feature recency baseline on the holdout, side by side.

With --task clv: builds (or reuses) the buy-till-you-die summary as of
--as-of (calibration to the day before; --unit days or weeks), fits BG/NBD,
MBG/NBD and Gamma-Gamma by maximum likelihood and registers --model (bgnbd
or mbgnbd) with Gamma-Gamma as kind bgnbd-gg; --horizon SPAN adds the
calibration/holdout table. See docs/CLV.md.

With --table: trains on any table a data scientist brings: CSV (delimiter , ; or tab,
detected from the header; optionally gzip-compressed) or Parquet, a local
file or an s3:// URL. String columns are one-hot encoded (every level,
sorted, named col=value); the fitted model carries its scaler, encoders and
imputation, and is registered as a new version of --name with a card
holding coefficients, solver status, metrics, warnings and lineage.

The fit minimises C * sum_i w_i * logloss_i + 1/2 ||beta||^2 (intercept
not penalised) on standardised columns, by Newton's method with a Cholesky
solve (L-BFGS beyond 256 columns), to max |gradient| <= 1e-7.
See docs/TRAINING.md.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "table", Usage: "the table to train on: a CSV or Parquet file, or an s3:// URL", Destination: &a.table},
			&cli.StringFlag{Name: "task", Usage: "train a prevoir task on its feature tables: " + strings.Join(tasks, ", ") + " (instead of --table)", Destination: &a.task.Features.Task},
			datasetFlag(),
			&cli.StringFlag{Name: "as-of", Usage: "--task: the latest cutoff, held out for evaluation: " + asOfUsage, Destination: &a.task.Features.AsOf},
			&cli.IntFlag{Name: "cutoffs", Usage: "--task: the number of cutoffs `K` (as_of - k*step, k = 0..K-1)", Destination: &a.task.Cutoffs},
			&cli.StringFlag{Name: "step", Usage: "--task: `SPAN` between cutoffs (Nd or Nw)", Destination: &a.step},
			&cli.StringFlag{Name: "horizon", Usage: "--task: label window `SPAN` (default " + features.DefaultHorizon.String() + ", propensity " + features.DefaultPropensityHorizon.String() + ", demand " + features.DefaultDemandHorizon.String() + ")", Destination: &a.horizon},
			&cli.StringFlag{Name: "lookback", Value: features.DefaultLookback.String(), Usage: "--task: history the features read, `SPAN`", Destination: &a.lookback},
			&cli.StringFlag{Name: "label", Usage: "the label column", Destination: &a.fit.Label},
			&cli.StringFlag{Name: "positive", Usage: "the label value of the positive class (default: the label must be 0/1 or true/false)", Destination: &a.fit.Positive},
			&cli.StringSliceFlag{Name: "id", Usage: "an identifier column: not a feature, written to --predictions (repeatable)", Destination: &a.ids},
			&cli.StringSliceFlag{Name: "drop", Usage: "a column not to use (repeatable)", Destination: &a.drop},
			&cli.StringSliceFlag{Name: "categorical", Usage: "a column to one-hot encode although its values are numbers (repeatable)", Destination: &a.categorical},
			&cli.StringFlag{Name: "weight", Usage: "a column of sample weights", Destination: &a.fit.Weight},
			&cli.StringFlag{Name: "missing", Value: "refuse", Usage: "empty or non-numeric cells: refuse (an error naming file:line:column), drop (the row), mean (impute the training mean and add <col>_missing)", Destination: &a.missing},
			&cli.Float64Flag{Name: "holdout-frac", Value: 0.2, Usage: "fraction of rows held out at random for evaluation (0: train on every row)", Destination: &a.fit.HoldoutFrac},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the holdout draw", Destination: &a.fit.Seed},
			&cli.StringFlag{Name: "c", Value: "1.0", Usage: "inverse regularisation strength C, as in scikit-learn; with --task, a list (0.01,0.1,1,10) is searched on the cutoff before the holdout", Destination: &a.c},
			&cli.BoolFlag{Name: "no-standardize", Usage: "fit on the raw design columns (no StandardScaler)", Destination: &a.fit.NoStandardize},
			&cli.StringFlag{Name: "class-weight", Usage: "balanced: weigh each class by n/(2*count), as scikit-learn", Destination: &a.fit.ClassWeight},
			&cli.IntFlag{Name: "min-class", Usage: "the fewest positives and negatives in the training rows (default: events per variable, the smaller class needs 10 per input column, at least 10)", Destination: &a.fit.MinClass},
			&cli.IntFlag{Name: "max-levels", Value: train.DefaultMaxLevels, Usage: "the most distinct values a categorical column may have", Destination: &a.fit.MaxLevels},
			&cli.StringFlag{Name: "solver", Value: "auto", Usage: "auto (Newton up to 256 columns, L-BFGS beyond), newton or lbfgs", Destination: &a.solver},
			&cli.StringFlag{Name: "name", Usage: "the model name to register a version of", Destination: &a.name},
			&cli.StringFlag{Name: "predictions", Usage: "write predictions to this CSV file: --table every row (ids, label, probability, set); --task the holdout (customer_id, as_of, label, score)", Destination: &a.predictions},
			&cli.StringFlag{Name: "promote", Usage: "after registering, point this `ALIAS` (champion, challenger) at the new version", Destination: &a.promote},
			&cli.BoolFlag{Name: "dry-run", Usage: "fit and evaluate, but do not register", Destination: &a.dryRun},
			&cli.BoolFlag{Name: "force", Usage: "register even when --name's latest version is of another dataset", Destination: &a.force},
			// --task demand
			&cli.StringFlag{Name: "period", Usage: "--task demand: week (default) or day periods", Destination: &a.task.Features.Period},
			&cli.IntFlag{Name: "top-products", Usage: "--task demand: only the `N` products with most units sold before each origin", Destination: &a.task.Features.TopProducts},
			&cli.StringFlag{Name: "measure", Usage: "--task demand: forecast units (default) or value", Destination: &a.task.Features.Measure},
			&cli.BoolFlag{Name: "clv-features", Usage: "--task churn: add p_alive and expected_purchases_<horizon> (BG/NBD fitted without labels on each cutoff's clv summary) to the features", Destination: &a.task.CLVFeatures},
			&cli.IntFlag{Name: "top", Value: train.DefaultTop, Usage: "--task propensity: the offer lists' length `N` the ranking evaluation measures", Destination: &a.top},
		}, append(a.clv.flags(), propensityFlags(&a.task.Features)...)...),
		Action: func(c *cli.Context) error { return runTrain(c, a) },
	}
}

func runTrain(c *cli.Context, a *trainArgs) error {
	if err := needArgs(c, 0, 0, "(--table F --label COL | --task churn --as-of D --cutoffs K --step S) --name NAME [flags]"); err != nil {
		return err
	}
	if err := a.clv.refuseOutsideCLV(c, a.task.Features.Task); err != nil {
		return err
	}
	if a.task.Features.Task != "" {
		return runTrainTask(c, a)
	}
	for _, f := range []string{"as-of", "cutoffs", "step", "horizon", "lookback", "dataset", "level", "assoc-k", "popular-k", "top", "clv-features"} {
		if c.IsSet(f) {
			return usageErrorf("train: --%s is for --task", f)
		}
	}
	for _, f := range []struct{ name, value string }{{"table", a.table}, {"label", a.fit.Label}, {"name", a.name}} {
		if f.value == "" {
			return usageErrorf("train: --%s is required", f.name)
		}
	}
	name := a.name
	if err := a.checkNameAlias(); err != nil {
		return err
	}
	cval, err := strconv.ParseFloat(strings.TrimSpace(a.c), 64)
	if err != nil || !(cval > 0) {
		return usageErrorf("train: -c %q: want one positive number (a search over several values is for --task churn)", a.c)
	}
	missing := train.Missing(a.missing)
	switch missing {
	case train.MissingRefuse, train.MissingDrop, train.MissingMean:
	default:
		return usageErrorf("train: --missing %q: want refuse, drop or mean", missing)
	}
	if cw := a.fit.ClassWeight; cw != "" && cw != "balanced" {
		return usageErrorf("train: --class-weight %q: want balanced", cw)
	}
	if f := a.fit.HoldoutFrac; !(f >= 0 && f < 1) {
		return usageErrorf("train: --holdout-frac %v: want 0 <= f < 1", f)
	}
	if a.fit.MinClass < 0 {
		return usageErrorf("train: --min-class %d: want 0 (events per variable) or a positive count", a.fit.MinClass)
	}
	if a.fit.MaxLevels < 1 {
		return usageErrorf("train: --max-levels %d: want at least 1", a.fit.MaxLevels)
	}
	var solver train.Solver
	switch s := a.solver; s {
	case "auto", "":
	case "newton", "lbfgs":
		solver = train.Solver(s)
	default:
		return usageErrorf("train: --solver %q: want auto, newton or lbfgs", s)
	}

	src := a.table
	rec, sum, err := openTable(c.Context, src)
	if err != nil {
		return err
	}
	defer rec.Close()
	opt := a.fit
	opt.IDs, opt.Drop, opt.Categorical = a.ids.Value(), a.drop.Value(), a.categorical.Value()
	opt.Missing, opt.C, opt.Solver = missing, cval, solver
	opt.Lineage = &models.Lineage{
		Table: src,
		Extra: map[string]any{"sha256": sum, "format": string(rec.Format())},
	}
	done := stage("train", "table", src)
	bar := newSpinner(c, "training "+name)
	out, err := train.TrainTable(c.Context, rec, opt)
	bar.Finish()
	if err == nil {
		done("train_rows", out.TrainRows, "holdout_rows", out.HoldoutRows)
	}
	if err != nil {
		return fmt.Errorf("train %s: %w", name, err)
	}
	if p := a.predictions; p != "" {
		if err := writeOutputAtomic(p, out.WritePredictions); err != nil {
			return fmt.Errorf("train %s: predictions: %w", name, err)
		}
	}
	card := out.Card
	card.PrevoirVersion = Version()
	if !a.dryRun {
		st, err := openStore(c)
		if err != nil {
			return err
		}
		if card, err = a.registerAndPromote(c, st, name, card); err != nil {
			return err
		}
	} else {
		card.Name = name
	}
	if wantJSON(c) {
		return printJSON(c, trainReport{
			Name: name, Version: card.Version, Registered: !a.dryRun, Promoted: a.promoted(),
			Fit: out.Fit, TrainRows: out.TrainRows, HoldoutRows: out.HoldoutRows,
			Train: out.Train, Holdout: out.Holdout, Warnings: out.Warnings, Card: card,
		})
	}
	printTrainText(out, card, !a.dryRun, c.App.Writer)
	printWarnings(c, out.Warnings)
	a.printPromoted(c, card)
	if !a.dryRun {
		st, err := openStore(c)
		if err != nil {
			return err
		}
		a.printWhere(c, st, card)
		fmt.Fprintf(c.App.ErrWriter, "next: prevoir%s models predict %s@%d --input TABLE --output scores.csv\n", storeFlagText(c), card.Name, card.Version)
	}
	return nil
}

// checkNameAlias checks --name (unless --dry-run) and --promote.
func (a *trainArgs) checkNameAlias() error {
	if a.dryRun {
		if a.promote != "" {
			return usageErrorf("train: --promote registers: leave out --dry-run")
		}
		return nil
	}
	if a.name == "" {
		return usageErrorf("train: --name is required")
	}
	if err := registry.ValidName(a.name); err != nil {
		return usageErrorf("train: --name: %v", err)
	}
	if alias := a.promote; alias != "" {
		if err := registry.ValidAlias(alias); err != nil {
			return usageErrorf("train: --promote: %v", err)
		}
	}
	return nil
}

// registerAndPromote registers card as the next version of name and,
// with --promote, points the alias at it.
func (a *trainArgs) registerAndPromote(c *cli.Context, st datasets.Store, name string, card *models.Card) (*models.Card, error) {
	reg := registry.New(st, registryOptions())
	if err := checkScope(c.Context, reg, name, card, a.force); err != nil {
		return nil, err
	}
	stored, err := reg.Register(c.Context, name, card, nil)
	if err != nil {
		return nil, err
	}
	if alias := a.promote; alias != "" {
		if _, err := reg.Promote(c.Context, name, stored.Version, alias); err != nil {
			return nil, fmt.Errorf("train: registered %s@%d, but promoting it to %s failed: %w", name, stored.Version, alias, err)
		}
	}
	return stored, nil
}

// printWarnings writes warnings to stderr, one a line: stdout holds the
// results only.
func printWarnings(c *cli.Context, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
	}
}

// printWhere says where a registered model went.
func (a *trainArgs) printWhere(c *cli.Context, st datasets.Store, card *models.Card) {
	if a.dryRun {
		return
	}
	fmt.Fprintf(out(c), "model %s@%d stored in %s under %s\n", card.Name, card.Version, st.URL(), fmt.Sprintf("%s/%s/%d/", registry.Root, card.Name, card.Version))
}

// storeFlagText is " --store URL" when --store is not the default, for
// the next commands printed.
func storeFlagText(c *cli.Context) string {
	if s := c.String("store"); s != DefaultStore {
		return " --store " + s
	}
	return ""
}

// promoted is the alias --promote points at the new version, "" when
// nothing is registered.
func (a *trainArgs) promoted() string {
	if a.dryRun {
		return ""
	}
	return a.promote
}

func (a *trainArgs) printPromoted(c *cli.Context, card *models.Card) {
	if alias := a.promoted(); alias != "" {
		fmt.Fprintf(out(c), "%s@%s -> %d\n", card.Name, alias, card.Version)
	}
}

type trainReport struct {
	Name        string         `json:"name"`
	Version     int            `json:"version,omitempty"`
	Registered  bool           `json:"registered"`
	Promoted    string         `json:"promoted,omitempty"`
	Fit         train.Result   `json:"fit"`
	TrainRows   int            `json:"train_rows"`
	HoldoutRows int            `json:"holdout_rows"`
	Train       train.Metrics  `json:"train"`
	Holdout     *train.Metrics `json:"holdout,omitempty"`
	Warnings    []string       `json:"warnings"`
	Card        *models.Card   `json:"card"`
}

func printTrainText(out *train.Outcome, card *models.Card, registered bool, w io.Writer) {
	pp := card.Preprocessing
	if registered {
		fmt.Fprintf(w, "registered %s@%d: logistic, %d design columns from %d inputs\n", card.Name, card.Version, len(pp.Features), len(card.Inputs.Features))
	} else {
		fmt.Fprintf(w, "%s (dry run, not registered): logistic, %d design columns from %d inputs\n", card.Name, len(pp.Features), len(card.Inputs.Features))
	}
	f := out.Fit
	fmt.Fprintf(w, "fit: %s, %s in %d iterations, max |gradient| %.2g, %.3fs\n", f.Solver, f.Status, f.Iterations, f.GradNorm, f.Elapsed.Seconds())
	fmt.Fprintf(w, "rows: %d training (%.0f positive), %d holdout\n", out.TrainRows, out.Train.Positives, out.HoldoutRows)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "METRIC\tTRAIN")
	if out.Holdout != nil {
		fmt.Fprint(tw, "\tHOLDOUT")
	}
	fmt.Fprintln(tw)
	row := func(label string, get func(m *train.Metrics) float64) {
		fmt.Fprintf(tw, "%s\t%.4f", label, get(&out.Train))
		if out.Holdout != nil {
			fmt.Fprintf(tw, "\t%.4f", get(out.Holdout))
		}
		fmt.Fprintln(tw)
	}
	row("roc auc", func(m *train.Metrics) float64 { return m.AUC })
	row("average precision", func(m *train.Metrics) float64 { return m.AveragePrecision })
	row("log loss", func(m *train.Metrics) float64 { return m.LogLoss })
	row("brier", func(m *train.Metrics) float64 { return m.Brier })
	row("base rate", func(m *train.Metrics) float64 { return m.BaseRate })
	tw.Flush()
	ev, which := &out.Train, "training rows"
	if out.Holdout != nil {
		ev, which = out.Holdout, "holdout"
	}
	printDeciles(w, "by score decile ("+which+"):", ev)
}

// printDeciles prints a decile table (train.Metrics.DecileTable) under a
// title: the one shape of `train --table` and `train --task`.
func printDeciles(w io.Writer, title string, m *train.Metrics) {
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DECILE\tROWS\tMEAN P\tRATE\tLIFT\tCUM GAIN\t")
	for _, d := range m.DecileTable() {
		fmt.Fprintf(tw, "%d\t%d\t%.3f\t%.3f\t%.2f\t%.3f\t\n", d.Decile, d.Rows, d.MeanPredicted, d.Rate, d.Lift, d.CumulativeGain)
	}
	tw.Flush()
}

// openTable opens a local table file or an s3:// URL and returns it with
// the SHA-256 of its bytes.
func openTable(ctx context.Context, src string) (*table.Reader, string, error) {
	if strings.HasPrefix(src, "s3://") {
		dir, key := path.Split(strings.TrimPrefix(src, "s3://"))
		if key == "" || dir == "" {
			return nil, "", usageErrorf("train: --table %q: want s3://bucket/key", src)
		}
		st, err := openStoreURL(ctx, "s3://"+strings.TrimSuffix(dir, "/"))
		if err != nil {
			return nil, "", err
		}
		o, err := st.Open(ctx, key)
		if err != nil {
			return nil, "", err
		}
		h := sha256.New()
		_, err = io.Copy(h, o)
		o.Close()
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", src, err)
		}
		r, err := table.OpenStore(ctx, st, key, src)
		if err != nil {
			return nil, "", err
		}
		return r, hex.EncodeToString(h.Sum(nil)), nil
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", src, err)
	}
	r, err := table.OpenFile(src)
	if err != nil {
		return nil, "", err
	}
	return r, hex.EncodeToString(h.Sum(nil)), nil
}

// runTrainTask is `prevoir train --task T`: features, time-based split,
// fit, evaluation beside the baseline, registration.
func runTrainTask(c *cli.Context, a *trainArgs) error {
	task := a.task.Features.Task
	if err := checkChoice("Task", task, tasks); err != nil {
		return err
	}
	if c.IsSet("clv-features") && task != features.TaskChurn {
		return usageErrorf("train: --clv-features is for --task %s", features.TaskChurn)
	}
	if task == features.TaskCLV {
		return runTrainCLV(c, a)
	}
	if task == features.TaskDemand {
		return runTrainDemand(c, a)
	}
	for _, f := range []string{"table", "label", "positive", "id", "categorical", "weight", "missing", "holdout-frac", "seed", "no-standardize", "max-levels"} {
		if c.IsSet(f) {
			return usageErrorf("train: --%s is for --table: a task defines its table, label and time-based holdout", f)
		}
	}
	if a.task.Features.AsOf == "" {
		return usageErrorf("train --task: --as-of DATE is required (the latest cutoff, held out)")
	}
	k := a.task.Cutoffs
	if k < 2 {
		return usageErrorf("train --task: --cutoffs %d: want at least 2 (the latest is held out, earlier ones are trained on)", k)
	}
	if a.step == "" {
		return usageErrorf("train --task: --step SPAN is required (e.g. 90d)")
	}
	if err := a.checkNameAlias(); err != nil {
		return err
	}
	if err := checkAsOf(a.task.Features.AsOf); err != nil {
		return err
	}
	var err error
	o := a.task
	if o.Step, err = datasets.ParseSpan(a.step); err != nil {
		return usageErrorf("train: --step: %v", err)
	}
	if a.horizon != "" {
		if o.Features.Horizon, err = datasets.ParseSpan(a.horizon); err != nil {
			return usageErrorf("train: --horizon: %v", err)
		}
	}
	if err := checkPropensityFlags(c, task); err != nil {
		return err
	}
	if c.IsSet("top") && task != features.TaskPropensity {
		return usageErrorf("train: --top is for --task %s", features.TaskPropensity)
	}
	if o.Features.Lookback, err = datasets.ParseSpan(a.lookback); err != nil {
		return usageErrorf("train: --lookback: %v", err)
	}
	for _, f := range strings.Split(a.c, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return usageErrorf("train: -c %q: want positive numbers separated by commas", a.c)
		}
		o.Fit.Cs = append(o.Fit.Cs, v)
	}
	if a.fit.MinClass < 0 {
		return usageErrorf("train: --min-class %d: want 0 (events per variable) or a positive count", a.fit.MinClass)
	}
	if cw := a.fit.ClassWeight; cw != "" && cw != "balanced" {
		return usageErrorf("train: --class-weight %q: want balanced", cw)
	}
	o.Fit.MinClass, o.Fit.Drop, o.Fit.ClassWeight = a.fit.MinClass, a.drop.Value(), a.fit.ClassWeight
	switch s := a.solver; s {
	case "auto", "":
	case "newton", "lbfgs":
		o.Fit.Solver = train.Solver(s)
	default:
		return usageErrorf("train: --solver %q: want auto, newton or lbfgs", s)
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
	done := stage("train", "task", task, "dataset", ds, "as_of", o.Features.AsOf, "cutoffs", k)
	bar := newSpinner(c, "training "+name)
	var res *train.TaskOutcome
	var rk *train.Ranking
	if task == features.TaskPropensity {
		res, rk, err = train.TrainPropensity(c.Context, st, o, a.top)
	} else {
		res, err = train.TrainTask(c.Context, st, o)
	}
	bar.Finish()
	if err == nil {
		done("c", res.C, "train_rows", res.Model.TrainRows, "holdout_rows", res.Model.HoldoutRows)
	}
	if err != nil {
		if errors.Is(err, features.ErrCensored) {
			return usageErrorf("train %s: %v", name, err)
		}
		return fmt.Errorf("train %s: %w", name, err)
	}
	if p := a.predictions; p != "" {
		if err := writeOutputAtomic(p, res.WritePredictions); err != nil {
			return fmt.Errorf("train %s: predictions: %w", name, err)
		}
	}
	card := res.Card
	card.PrevoirVersion = Version()
	if !a.dryRun {
		if card, err = a.registerAndPromote(c, st, name, card); err != nil {
			return err
		}
	} else {
		card.Name = name
	}
	m, b := res.Model, res.Baseline
	if wantJSON(c) {
		rep := taskReport{
			Name: name, Version: card.Version, Registered: !a.dryRun, Promoted: a.promoted(),
			Task: task, Dataset: o.Features.Dataset, TrainingSet: res.TrainingSet,
			Holdout: res.Holdout, Train: res.Train, Validation: res.Validation, Excluded: res.Excluded,
			C: res.C, Search: res.Search, TrainRows: m.TrainRows, HoldoutRows: m.HoldoutRows,
			Warnings: res.Warnings, Card: card, Ranking: rk, CLVBaseline: res.CLVBaseline,
		}
		rep.Model.Fit, rep.Model.Train, rep.Model.Holdout = m.Fit, m.Train, m.Holdout
		rep.Baseline.Feature, rep.Baseline.Fit, rep.Baseline.Train, rep.Baseline.Holdout = res.BaselineFeature, b.Fit, b.Train, b.Holdout
		return printJSON(c, rep)
	}
	printTaskText(res, card, o, !a.dryRun, out(c))
	if rk != nil {
		printRanking(out(c), rk)
	}
	printWarnings(c, res.Warnings)
	a.printPromoted(c, card)
	a.printWhere(c, st, card)
	if !a.dryRun {
		ref := fmt.Sprintf("%s@%d", card.Name, card.Version)
		if p := a.promoted(); p != "" {
			ref = card.Name + "@" + p
		}
		g := storeFlagText(c)
		fmt.Fprintf(c.App.ErrWriter, "next: score every customer as of the latest data and publish the scores, then export them:\n"+
			"  prevoir%s score --dataset %s --task %s --model %s\n"+
			"  prevoir%s scores export %s --dataset %s -o %s-scores.csv\n",
			g, ds, task, ref, g, task, ds, task)
	}
	return nil
}

// fitReport is one fit's outcome in `train --task --json`.
type fitReport struct {
	Feature string         `json:"feature,omitempty"`
	Fit     train.Result   `json:"fit"`
	Train   train.Metrics  `json:"train"`
	Holdout *train.Metrics `json:"holdout"`
}

type taskReport struct {
	Name        string        `json:"name"`
	Version     int           `json:"version,omitempty"`
	Registered  bool          `json:"registered"`
	Promoted    string        `json:"promoted,omitempty"`
	Task        string        `json:"task"`
	Dataset     string        `json:"dataset"`
	TrainingSet string        `json:"training_set"`
	Holdout     string        `json:"holdout_cutoff"`
	Train       []string      `json:"training_cutoffs"`
	Validation  string        `json:"validation_cutoff,omitempty"`
	Excluded    []string      `json:"excluded_cutoffs"`
	C           float64       `json:"c"`
	Search      *train.Search `json:"c_search,omitempty"`
	TrainRows   int           `json:"train_rows"`
	HoldoutRows int           `json:"holdout_rows"`
	Model       fitReport     `json:"model"`
	Baseline    fitReport     `json:"baseline"`
	Warnings    []string      `json:"warnings"`
	Card        *models.Card  `json:"card"`
	// Ranking is the propensity task's offer-list evaluation.
	Ranking *train.Ranking `json:"ranking,omitempty"`
	// CLVBaseline is churn's label-free BG/NBD baseline on the holdout.
	CLVBaseline *train.CLVBaseline `json:"clv_baseline,omitempty"`
}

func printTaskText(res *train.TaskOutcome, card *models.Card, o train.TaskOptions, registered bool, w io.Writer) {
	m, b := res.Model, res.Baseline
	pp := card.Preprocessing
	if registered {
		fmt.Fprintf(w, "registered %s@%d: %s logistic, %d design columns from %d features\n", card.Name, card.Version, card.Task, len(pp.Features), len(card.Inputs.Features))
	} else {
		fmt.Fprintf(w, "%s (dry run, not registered): %s logistic, %d design columns from %d features\n", card.Name, card.Task, len(pp.Features), len(card.Inputs.Features))
	}
	horizon := o.Features.Horizon.String()
	if h, ok := lineageString(card, "horizon"); ok && h != "" {
		horizon = h // the task's default when --horizon was left out
	}
	fmt.Fprintf(w, "data: dataset %s, horizon %s, lookback %s, training set %s\n", o.Features.Dataset, horizon, o.Features.Lookback, res.TrainingSet)
	fmt.Fprintf(w, "split: holdout %s (%d rows); trained on %s (%d rows)", res.Holdout, m.HoldoutRows, strings.Join(res.Train, ", "), m.TrainRows)
	if len(res.Excluded) > 0 {
		fmt.Fprintf(w, "; left out %s (label window passes the holdout)", strings.Join(res.Excluded, ", "))
	}
	fmt.Fprintln(w)
	if s := res.Search; s != nil {
		fmt.Fprintf(w, "C search: trained on %s (%d rows), validated on %s (%d rows):\n", strings.Join(s.TrainCutoffs, ", "), s.TrainRows, s.Validation, s.ValidationRows)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "C\tROC AUC\tAVG PREC\tLOG LOSS\tBRIER\t\t")
		for _, p := range s.Points {
			mark := ""
			if p.C == s.Chosen {
				mark = "chosen"
			}
			fmt.Fprintf(tw, "%g\t%.4f\t%.4f\t%.4f\t%.4f\t%s\t\n", p.C, p.AUC, p.AveragePrecision, p.LogLoss, p.Brier, mark)
		}
		tw.Flush()
	}
	f := m.Fit
	fmt.Fprintf(w, "fit: C = %g, %s, %s in %d iterations, max |gradient| %.2g, %.3fs\n", res.C, f.Solver, f.Status, f.Iterations, f.GradNorm, f.Elapsed.Seconds())
	rate := "churn"
	if card.Task == features.TaskPropensity {
		rate = "purchase"
	}
	fmt.Fprintf(w, "holdout %s, %s rate %.4f:\n", res.Holdout, rate, m.Holdout.BaseRate)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cb := res.CLVBaseline
	if cb != nil && cb.Holdout != nil {
		fmt.Fprintf(tw, "METRIC\tMODEL\tBASELINE (%s)\tDIFFERENCE\tBG/NBD (NO LABELS)\n", res.BaselineFeature)
	} else {
		fmt.Fprintf(tw, "METRIC\tMODEL\tBASELINE (%s)\tDIFFERENCE\n", res.BaselineFeature)
	}
	row := func(label string, get func(m *train.Metrics) float64) {
		a, z := get(m.Holdout), get(b.Holdout)
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%+.4f", label, a, z, a-z)
		if cb != nil && cb.Holdout != nil {
			fmt.Fprintf(tw, "\t%.4f", get(cb.Holdout))
		}
		fmt.Fprintln(tw)
	}
	row("roc auc", func(m *train.Metrics) float64 { return m.AUC })
	row("average precision", func(m *train.Metrics) float64 { return m.AveragePrecision })
	row("log loss", func(m *train.Metrics) float64 { return m.LogLoss })
	row("brier", func(m *train.Metrics) float64 { return m.Brier })
	tw.Flush()
	printCLVBaseline(w, cb)
	printDeciles(w, "by score decile (holdout), model:", m.Holdout)
	printDeciles(w, "by score decile (holdout), baseline ("+res.BaselineFeature+"):", b.Holdout)
}

// printCLVBaseline says what churn's label-free baseline is, or why
// there is none.
func printCLVBaseline(w io.Writer, cb *train.CLVBaseline) {
	switch {
	case cb == nil:
	case cb.Holdout == nil:
		fmt.Fprintf(w, "BG/NBD baseline (no labels): not computed: %s\n", cb.Note)
	default:
		fmt.Fprintf(w, "BG/NBD (no labels): P(no purchase in the horizon) from BG/NBD fitted on the clv summary as of %s (r %.4g, alpha %.4g, a %.4g, b %.4g, days); roc auc of 1 - p_alive alone %.4f, of expected purchases %.4f",
			cb.Cutoff, cb.Params["r"], cb.Params["alpha"], cb.Params["a"], cb.Params["b"], cb.AUCPAlive, cb.AUCExpected)
		if cb.Missing > 0 {
			fmt.Fprintf(w, "; %d holdout rows without a summary scored with the mean", cb.Missing)
		}
		fmt.Fprintln(w)
	}
}

// printRanking prints the propensity task's offer-list evaluation: the
// model and the baselines side by side.
func printRanking(w io.Writer, rk *train.Ranking) {
	fmt.Fprintf(w, "offers, top %d at %s level, holdout %s: %d customers with a purchase in the window (%d purchases, %d with a candidate row):\n",
		rk.Top, rk.Level, rk.Cutoff, rk.Customers, rk.Purchases, rk.Covered)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "RANKER\tHIT@%d\tPRECISION@%d\tRECALL@%d\tMAP@%d\tPAIR AUC\t\n", rk.Top, rk.Top, rk.Top, rk.Top)
	for _, r := range rk.Rankers {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t\n", r.Ranker, r.HitRate, r.Precision, r.Recall, r.MAP, r.AUC)
	}
	tw.Flush()
}

// lineageString returns a string of the card's lineage extras.
func lineageString(card *models.Card, key string) (string, bool) {
	if card.Lineage == nil {
		return "", false
	}
	s, ok := card.Lineage.Extra[key].(string)
	return s, ok
}
