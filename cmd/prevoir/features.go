package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/features"
)

// tableArgs holds the flags naming one built feature table (tableFlags).
type tableArgs struct{ task, asOf, spec string }

func featuresCommand() *cli.Command {
	var (
		commit           tableArgs
		shards           int
		lsDataset        string
		describe, export tableArgs
	)
	return &cli.Command{
		Name:  "features",
		Usage: "build, list, describe and export point-in-time feature tables",
		Subcommands: []*cli.Command{
			featuresBuildCommand(),
			{
				Name:  "commit",
				Usage: "write the manifest of a sharded build once every shard has written its parts",
				Flags: []cli.Flag{
					datasetFlag(),
					&cli.StringFlag{Name: "task", Value: features.TaskChurn, Usage: "task", Destination: &commit.task},
					&cli.StringFlag{Name: "as-of", Usage: "the build's as_of: " + asOfUsage + ", or entities", Required: true, Destination: &commit.asOf},
					&cli.StringFlag{Name: "spec", Usage: "the spec `HASH` the shard builds printed", Required: true, Destination: &commit.spec},
					&cli.IntFlag{Name: "shards", Usage: "number of shards `n`", Required: true, Destination: &shards},
				},
				Action: func(c *cli.Context) error {
					if err := checkTask(c, commit.task); err != nil {
						return err
					}
					if err := checkAsOf(commit.asOf); err != nil {
						return err
					}
					st, ds, err := openDataset(c)
					if err != nil {
						return err
					}
					asOf, err := resolveAsOf(c, st, ds, commit.asOf)
					if err != nil {
						return err
					}
					m, err := features.Commit(c.Context, st, ds, commit.task, asOf, commit.spec, shards, time.Now())
					if err != nil {
						return err
					}
					if wantJSON(c) {
						return printJSON(c, map[string]any{"manifest": m.Key(), "rows": m.Rows, "shards": m.Shards, "spec": m.Spec})
					}
					fmt.Fprintf(out(c), "committed %s: %d rows from %d shards\n", m.Key(), m.Rows, m.Shards)
					return nil
				},
			},
			{
				Name:  "ls",
				Usage: "list the committed feature tables",
				Flags: []cli.Flag{&cli.StringFlag{Name: "dataset", Usage: "only this dataset's tables", Destination: &lsDataset}},
				Action: func(c *cli.Context) error {
					st, err := openStore(c)
					if err != nil {
						return err
					}
					tabs, err := features.List(c.Context, st, lsDataset)
					if err != nil {
						return err
					}
					if wantJSON(c) {
						if tabs == nil {
							tabs = []features.Table{}
						}
						return printJSON(c, tabs)
					}
					if len(tabs) == 0 {
						fmt.Fprintf(out(c), "no feature tables in %s (prevoir features build --task churn --as-of DATE)\n", st.URL())
						return nil
					}
					tw := tabwriter.NewWriter(out(c), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "DATASET\tTASK\tAS_OF\tSPEC\tSET\tLABELS\tROWS\tBUILT")
					for _, t := range tabs {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%d\t%s\n", t.Dataset, t.Task, t.AsOf, t.Spec, t.Set, t.Labels, t.Rows, t.Created.Format(time.RFC3339))
					}
					return tw.Flush()
				},
			},
			{
				Name:  "describe",
				Usage: "row count, schema and per-feature min, mean, max and null share; --json prints only row-derived facts",
				Flags: tableFlags(&describe),
				Action: func(c *cli.Context) error {
					st, err := openStore(c)
					if err != nil {
						return err
					}
					m, err := lookupTable(c, st, &describe)
					if err != nil {
						return err
					}
					d, err := features.Describe(c.Context, st, m)
					if err != nil {
						return err
					}
					if wantJSON(c) {
						return printJSON(c, d)
					}
					w := out(c)
					fmt.Fprintf(w, "%s\n%s %s as of %s, spec %s (%s, lookback %s", m.Key(), m.Dataset, m.Task, m.AsOf, m.Spec, m.Params.FeatureSet, m.Params.Lookback)
					if m.Params.Horizon != "" {
						fmt.Fprintf(w, ", horizon %s", m.Params.Horizon)
					}
					if p := m.Params; p.Level != "" {
						fmt.Fprintf(w, ", level %s, assoc_k %d, popular_k %d", p.Level, p.AssocK, p.PopularK)
					}
					fmt.Fprintf(w, "): %d rows\n", d.Rows)
					if m.Balance != nil {
						fmt.Fprintf(w, "label %s: %d positive, %d negative (rate %.4f): %s\n", m.Label, m.Balance.Positives, m.Balance.Negatives, m.Balance.Rate, m.LabelMeaning)
					}
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "FEATURE\tTYPE\tMIN\tMEAN\tMAX\tNULLS")
					for _, f := range d.Features {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f%%\n", f.Name, f.Type, num(f.Min), num(f.Mean), num(f.Max), 100*f.NullShare)
					}
					return tw.Flush()
				},
			},
			{
				Name:      "export",
				Usage:     "write a feature table as CSV (nulls empty), to FILE or stdout",
				ArgsUsage: "[FILE]",
				Flags:     tableFlags(&export),
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 0, 1, "[FILE]"); err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					m, err := lookupTable(c, st, &export)
					if err != nil {
						return err
					}
					if c.Args().Len() == 1 {
						// Atomic, mode 0644: a failed export leaves no file.
						return writeOutputAtomic(c.Args().First(), func(w io.Writer) error {
							return features.WriteCSV(c.Context, st, m, w)
						})
					}
					bw := bufio.NewWriterSize(out(c), 1<<20)
					if err := features.WriteCSV(c.Context, st, m, bw); err != nil {
						return err
					}
					return bw.Flush()
				},
			},
		},
	}
}

func num(p *float64) string {
	if p == nil {
		return "-"
	}
	x := *p
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', 6, 64)
}

// tableFlags are the flags naming one built feature table, bound to a.
func tableFlags(a *tableArgs) []cli.Flag {
	return []cli.Flag{
		datasetFlag(),
		&cli.StringFlag{Name: "task", Value: features.TaskChurn, Usage: "task", Destination: &a.task},
		&cli.StringFlag{Name: "as-of", Usage: "as_of `DATE` of the table, latest (the latest built), today, or entities", Required: true, Destination: &a.asOf},
		&cli.StringFlag{Name: "spec", Usage: "spec `HASH` (default: the latest built)", Destination: &a.spec},
	}
}

// lookupTable returns the manifest of the feature table a's flags name.
func lookupTable(c *cli.Context, st datasets.Store, a *tableArgs) (*features.Manifest, error) {
	if err := checkTask(c, a.task); err != nil {
		return nil, err
	}
	if a.asOf != features.AsOfEntities {
		if err := datasets.CheckAsOf(a.asOf); err != nil {
			return nil, err
		}
	}
	ds, err := resolveDataset(c, st)
	if err != nil {
		return nil, err
	}
	asOf, err := resolveTableAsOf(c, st, ds, a.task, a.asOf)
	if err != nil {
		return nil, err
	}
	return features.Latest(c.Context, st, ds, a.task, asOf, a.spec)
}

func featuresBuildCommand() *cli.Command {
	// The flags bind into the library's options; spans, the shard and the
	// entities file are parsed by the action.
	var (
		o                                        features.Options
		horizon, lookback, step, shard, entities string
		cutoffs                                  int
	)
	return &cli.Command{
		Name:  "build",
		Usage: "build a point-in-time feature table as of a date (or one per cutoff, or per entity row)",
		Description: "Features use only facts strictly before as_of; labels look at [as_of, as_of + horizon) and are refused when that passes the data's end.\n" +
			"The table goes to features/<dataset>/<task>/<as_of>/<spec>/; the spec (a hash of everything that changes the rows) is printed.",
		Flags: append([]cli.Flag{
			datasetFlag(),
			&cli.StringFlag{Name: "task", Value: features.TaskChurn, Usage: "task: " + strings.Join(tasks, ", "), Destination: &o.Task},
			&cli.StringFlag{Name: "as-of", Usage: "cutoff " + asOfUsage + "; the latest with --cutoffs", Destination: &o.AsOf},
			&cli.StringFlag{Name: "horizon", Usage: "label window `SPAN` (Nd or Nw; default " + features.DefaultHorizon.String() + ", propensity " + features.DefaultPropensityHorizon.String() + ", demand " + features.DefaultDemandHorizon.String() + ")", Destination: &horizon},
			&cli.StringFlag{Name: "lookback", Value: features.DefaultLookback.String(), Usage: "history the features read, `SPAN`", Destination: &lookback},
			&cli.BoolFlag{Name: "labels", Usage: "add the label column", Destination: &o.Labels},
			&cli.StringFlag{Name: "feature-set", Value: features.SetChurn, Usage: "columns: churn, or rfm-anchor (the DuckDB anchor's columns and names)", Destination: &o.FeatureSet},
			&cli.IntFlag{Name: "cutoffs", Value: 1, Usage: "build `K` tables, as_of - k*step for k = 0..K-1, and a training-set manifest", Destination: &cutoffs},
			&cli.StringFlag{Name: "step", Usage: "`SPAN` between cutoffs", Destination: &step},
			&cli.StringFlag{Name: "entities", Usage: "table `FILE` (CSV or Parquet) of customer_id, as_of[, label]: one row each, as of its own time", Destination: &entities},
			&cli.StringFlag{Name: "shard", Usage: "`i/n`: build only the customers with FNV-1a64(customer_id) mod n = i; then features commit", Destination: &shard},
			&cli.BoolFlag{Name: "force", Usage: "rebuild even when an identical table exists", Destination: &o.Force},
			// --task demand
			&cli.StringFlag{Name: "period", Usage: "--task demand: week (default) or day periods, anchored at as_of", Destination: &o.Period},
			&cli.IntFlag{Name: "top-products", Usage: "--task demand: only the `N` products with most units sold before as_of", Destination: &o.TopProducts},
			&cli.StringFlag{Name: "measure", Usage: "--task demand: forecast units (default) or value", Destination: &o.Measure},
		}, propensityFlags(&o)...),
		Action: func(c *cli.Context) error {
			if err := checkChoice("Task", o.Task, tasks); err != nil {
				return err
			}
			// Another task checks its own feature set and picks its
			// defaults for the flags left out (clv: the unit, the whole
			// history; propensity: no feature set).
			if o.Task != features.TaskChurn && !c.IsSet("feature-set") {
				o.FeatureSet = ""
			}
			if err := checkChoice("FeatureSet", o.FeatureSet, featureSets); o.Task == features.TaskChurn && err != nil {
				return err
			}
			if err := checkPropensityFlags(c, o.Task); err != nil {
				return err
			}
			var err error
			if horizon != "" {
				if o.Horizon, err = datasets.ParseSpan(horizon); err != nil {
					return usageErrorf("--horizon: %v", err)
				}
			}
			if o.Task == features.TaskChurn || c.IsSet("lookback") {
				if o.Lookback, err = datasets.ParseSpan(lookback); err != nil {
					return usageErrorf("--lookback: %v", err)
				}
			}
			if s := shard; s != "" {
				i, n, ok := strings.Cut(s, "/")
				o.Shard, err = strconv.Atoi(i)
				var err2 error
				o.Shards, err2 = strconv.Atoi(n)
				if !ok || err != nil || err2 != nil || o.Shards < 1 || o.Shard < 0 || o.Shard >= o.Shards {
					return usageErrorf("--shard %q: want i/n with 0 <= i < n", s)
				}
				if o.Shards == 1 {
					o.Shards = 0
				}
			}
			if f := entities; f != "" {
				r, err := table.OpenFile(f)
				if err != nil {
					return err
				}
				o.Entities, err = features.ReadEntities(r)
				r.Close()
				if err != nil {
					return err
				}
				if o.Entities == nil {
					o.Entities = []features.EntityRow{}
				}
			} else if o.AsOf == "" {
				return usageErrorf("features build: --as-of DATE is required (or --entities FILE)")
			} else if err := checkAsOf(o.AsOf); err != nil {
				return err
			}
			st, ds, err := openDataset(c)
			if err != nil {
				return err
			}
			o.Dataset = ds
			if o.AsOf != "" {
				if o.AsOf, err = resolveAsOf(c, st, ds, o.AsOf); err != nil {
					return err
				}
			}
			if k := cutoffs; k != 1 || step != "" {
				step, s := datasets.Span{}, step
				if s != "" {
					if step, err = datasets.ParseSpan(s); err != nil {
						return usageErrorf("--step: %v", err)
					}
				}
				done := stage("features build", "dataset", ds, "task", o.Task, "as_of", o.AsOf, "cutoffs", k)
				bar := newSpinner(c, fmt.Sprintf("building %d %s feature tables", k, o.Task))
				ts, key, err := features.BuildTrainingSet(c.Context, st, o, k, step)
				bar.Finish()
				if err != nil {
					return err
				}
				done("rows", ts.Rows)
				if wantJSON(c) {
					return printJSON(c, map[string]any{"training_set": key, "spec": ts.Spec, "tables": ts.Tables, "rows": ts.Rows})
				}
				fmt.Fprintf(out(c), "spec %s\ntraining set %s: %d tables, %d rows\n", ts.Spec, key, len(ts.Tables), ts.Rows)
				for _, t := range ts.Tables {
					reused := ""
					if t.Reused {
						reused = " (reused)"
					}
					fmt.Fprintf(out(c), "  %s  %d rows%s\n", t.AsOf, t.Rows, reused)
				}
				return nil
			}
			done := stage("features build", "dataset", ds, "task", o.Task, "as_of", o.AsOf)
			bar := newSpinner(c, "building "+o.Task+" features")
			res, err := features.Build(c.Context, st, o)
			bar.Finish()
			if err == nil {
				done("rows", res.Rows, "reused", res.Reused)
			}
			if err != nil {
				if errors.Is(err, features.ErrCensored) {
					return usageErrorf("%v", err)
				}
				return err
			}
			if wantJSON(c) {
				return printJSON(c, res)
			}
			switch {
			case res.Reused:
				fmt.Fprintf(out(c), "spec %s\nreused %s: %d rows (identical inputs; --force rebuilds)\n", res.Spec, res.Prefix, res.Rows)
			case !res.Committed:
				fmt.Fprintf(out(c), "spec %s\nshard %d/%d: %d rows under %s; commit with: prevoir features commit --dataset %s --task %s --as-of %s --spec %s --shards %d\n",
					res.Spec, res.Shard, res.Shards, res.Rows, res.Prefix, res.Dataset, res.Task, res.AsOf, res.Spec, res.Shards)
			default:
				fmt.Fprintf(out(c), "spec %s\nbuilt %s: %d rows\n", res.Spec, res.Prefix, res.Rows)
			}
			return nil
		},
	}
}

// propensityFlags are the propensity task's feature flags, on features
// build and train, bound to o.
func propensityFlags(o *features.Options) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "level", Usage: "propensity: items are a product or a category (default: category when the dataset has a products table and categories, else product)", Destination: &o.Level},
		&cli.IntFlag{Name: "assoc-k", Usage: fmt.Sprintf("propensity: `K` candidates per customer from items co-bought with theirs, and associations kept per item (default %d; -1 none)", features.DefaultAssocK), Destination: &o.AssocK},
		&cli.IntFlag{Name: "popular-k", Usage: fmt.Sprintf("propensity: the `K` items with the most distinct buyers in the last 30 days are candidates for everyone (default %d; -1 none)", features.DefaultPopularK), Destination: &o.PopularK},
	}
}

// checkPropensityFlags refuses the propensity flags with another task.
func checkPropensityFlags(c *cli.Context, task string) error {
	if task == features.TaskPropensity {
		return nil
	}
	for _, f := range []string{"level", "assoc-k", "popular-k"} {
		if c.IsSet(f) {
			return usageErrorf("--%s is for --task %s", f, features.TaskPropensity)
		}
	}
	return nil
}
