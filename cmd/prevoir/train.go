package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/train"
)

func init() {
	register(trainCommand)
}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "fit a logistic regression (equal to scikit-learn's StandardScaler + LogisticRegression) on a table and register it",
		Description: `Trains on any table a data scientist brings: CSV (delimiter , ; or tab,
detected from the header; optionally gzip-compressed) or Parquet, a local
file or an s3:// URL. String columns are one-hot encoded (every level,
sorted, named col=value); the fitted model carries its scaler, encoders and
imputation, and is registered as a new version of --name with a card
holding coefficients, solver status, metrics, warnings and lineage.

The fit minimises C * sum_i w_i * logloss_i + 1/2 ||beta||^2 (intercept
not penalised) on standardised columns, by Newton's method with a Cholesky
solve (L-BFGS beyond 256 columns), to max |gradient| <= 1e-7.
See docs/TRAINING.md.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "table", Usage: "the table to train on: a CSV or Parquet file, or an s3:// URL"},
			&cli.StringFlag{Name: "task", Usage: "a prevoir task to train (churn); not yet available"},
			&cli.StringFlag{Name: "label", Usage: "the label column"},
			&cli.StringFlag{Name: "positive", Usage: "the label value of the positive class (default: the label must be 0/1 or true/false)"},
			&cli.StringSliceFlag{Name: "id", Usage: "an identifier column: not a feature, written to --predictions (repeatable)"},
			&cli.StringSliceFlag{Name: "drop", Usage: "a column not to use (repeatable)"},
			&cli.StringSliceFlag{Name: "categorical", Usage: "a column to one-hot encode although its values are numbers (repeatable)"},
			&cli.StringFlag{Name: "weight", Usage: "a column of sample weights"},
			&cli.StringFlag{Name: "missing", Value: "refuse", Usage: "empty or non-numeric cells: refuse (an error naming file:line:column), drop (the row), mean (impute the training mean and add <col>_missing)"},
			&cli.Float64Flag{Name: "holdout-frac", Value: 0.2, Usage: "fraction of rows held out at random for evaluation (0: train on every row)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the holdout draw"},
			&cli.StringFlag{Name: "c", Value: "1.0", Usage: "inverse regularisation strength C, as in scikit-learn"},
			&cli.BoolFlag{Name: "no-standardize", Usage: "fit on the raw design columns (no StandardScaler)"},
			&cli.StringFlag{Name: "class-weight", Usage: "balanced: weigh each class by n/(2*count), as scikit-learn"},
			&cli.IntFlag{Name: "min-class", Value: train.DefaultMinClass, Usage: "the fewest positives and negatives in the training rows"},
			&cli.IntFlag{Name: "max-levels", Value: train.DefaultMaxLevels, Usage: "the most distinct values a categorical column may have"},
			&cli.StringFlag{Name: "solver", Value: "auto", Usage: "auto (Newton up to 256 columns, L-BFGS beyond), newton or lbfgs"},
			&cli.StringFlag{Name: "name", Usage: "the model name to register a version of"},
			&cli.StringFlag{Name: "predictions", Usage: "write every row's probability to this CSV file (ids, label, probability, set)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "fit and evaluate, but do not register"},
		},
		Action: runTrain,
	}
}

func runTrain(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "--table F --label COL --name NAME [flags]"); err != nil {
		return err
	}
	if task := c.String("task"); task != "" {
		if task != "churn" {
			return usageErrorf("train: unknown task %q (churn)", task)
		}
		return fmt.Errorf("train --task churn: not available yet: it needs the churn feature tables; train on a table with --table")
	}
	for _, f := range []string{"table", "label", "name"} {
		if c.String(f) == "" {
			return usageErrorf("train: --%s is required", f)
		}
	}
	name := c.String("name")
	if !c.Bool("dry-run") {
		if err := registry.ValidName(name); err != nil {
			return usageErrorf("train: --name: %v", err)
		}
	}
	cval, err := strconv.ParseFloat(strings.TrimSpace(c.String("c")), 64)
	if err != nil || !(cval > 0) {
		return usageErrorf("train: --c %q: want one positive number (a search over several values is for --task churn)", c.String("c"))
	}
	missing := train.Missing(c.String("missing"))
	switch missing {
	case train.MissingRefuse, train.MissingDrop, train.MissingMean:
	default:
		return usageErrorf("train: --missing %q: want refuse, drop or mean", missing)
	}
	if cw := c.String("class-weight"); cw != "" && cw != "balanced" {
		return usageErrorf("train: --class-weight %q: want balanced", cw)
	}
	if f := c.Float64("holdout-frac"); !(f >= 0 && f < 1) {
		return usageErrorf("train: --holdout-frac %v: want 0 <= f < 1", f)
	}
	if c.Int("min-class") < 1 {
		return usageErrorf("train: --min-class %d: want at least 1", c.Int("min-class"))
	}
	if c.Int("max-levels") < 1 {
		return usageErrorf("train: --max-levels %d: want at least 1", c.Int("max-levels"))
	}
	var solver train.Solver
	switch s := c.String("solver"); s {
	case "auto", "":
	case "newton", "lbfgs":
		solver = train.Solver(s)
	default:
		return usageErrorf("train: --solver %q: want auto, newton or lbfgs", s)
	}

	src := c.String("table")
	rec, sum, err := openTable(c.Context, src)
	if err != nil {
		return err
	}
	defer rec.Close()
	opt := train.TableOptions{
		Label:         c.String("label"),
		Positive:      c.String("positive"),
		IDs:           c.StringSlice("id"),
		Drop:          c.StringSlice("drop"),
		Categorical:   c.StringSlice("categorical"),
		Weight:        c.String("weight"),
		Missing:       missing,
		HoldoutFrac:   c.Float64("holdout-frac"),
		Seed:          c.Uint64("seed"),
		C:             cval,
		NoStandardize: c.Bool("no-standardize"),
		ClassWeight:   c.String("class-weight"),
		MinClass:      c.Int("min-class"),
		MaxLevels:     c.Int("max-levels"),
		Solver:        solver,
		Lineage: &models.Lineage{
			Table: src,
			Extra: map[string]any{"sha256": sum, "format": string(rec.Format())},
		},
	}
	out, err := train.TrainTable(c.Context, rec, opt)
	if err != nil {
		return fmt.Errorf("train %s: %w", name, err)
	}
	if p := c.String("predictions"); p != "" {
		if err := writeFileAtomic(p, out.WritePredictions); err != nil {
			return fmt.Errorf("train %s: predictions: %w", name, err)
		}
	}
	card := out.Card
	card.PrevoirVersion = Version()
	if !c.Bool("dry-run") {
		st, err := openStore(c)
		if err != nil {
			return err
		}
		reg := registry.New(st, registry.Options{PrevoirVersion: Version()})
		if card, err = reg.Register(c.Context, name, card, nil); err != nil {
			return err
		}
	} else {
		card.Name = name
	}
	if wantJSON(c) {
		return printJSON(c, trainReport{
			Name: name, Version: card.Version, Registered: !c.Bool("dry-run"),
			Fit: out.Fit, TrainRows: out.TrainRows, HoldoutRows: out.HoldoutRows,
			Train: out.Train, Holdout: out.Holdout, Warnings: out.Warnings, Card: card,
		})
	}
	printTrainText(out, card, !c.Bool("dry-run"), c.App.Writer)
	return nil
}

type trainReport struct {
	Name        string         `json:"name"`
	Version     int            `json:"version,omitempty"`
	Registered  bool           `json:"registered"`
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
	fmt.Fprintf(w, "by score decile (%s):\n", which)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "DECILE\tROWS\tRATE\tLIFT\tCUM GAIN\tMEAN P (CALIB BIN)\tOBSERVED\t")
	for k, d := range ev.Deciles {
		cb := ev.Calibration[len(ev.Calibration)-1-k]
		fmt.Fprintf(tw, "%d\t%d\t%.3f\t%.2f\t%.3f\t%.3f\t%.3f\t\n", d.Decile, d.Rows, d.Rate, d.Lift, d.CumulativeGain, cb.MeanPredicted, cb.ObservedRate)
	}
	tw.Flush()
	for _, warn := range out.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
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

// writeFileAtomic writes a file through a temporary file renamed into
// place, so a failed write leaves no partial file.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(path.Dir(name), ".prevoir-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
