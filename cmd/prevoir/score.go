package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/clv"
	"github.com/prevoir/prevoir/serve/demand"
	"github.com/prevoir/prevoir/serve/offers"
	"github.com/prevoir/prevoir/serve/publish"
	"github.com/prevoir/prevoir/serve/segments"
)

// scoreArgs are the flags of `prevoir score`.
type scoreArgs struct {
	task, model, asOf, format, shard string
	bands                            churn.Bands
	clv                              clvScoreArgs
	offers                           offersArgs
	demand                           demandScoreArgs // --task demand
}

func scoreCommand() *cli.Command {
	a := &scoreArgs{}
	return &cli.Command{
		Name:  "score",
		Usage: "score every customer with a registered model and publish the scores atomically",
		Description: "Builds the task's scoring feature table as of --as-of (no labels; reused when it exists), scores\n" +
			"every row with --model, and publishes scores/<dataset>/<task>/<as_of>/: parts, then _manifest.json,\n" +
			"then the LATEST pointer. A rerun for the same date replaces the publication; readers never see a mix.\n" +
			"See docs/PUBLISHING.md.",
		Flags: append([]cli.Flag{
			datasetFlag(),
			&cli.StringFlag{Name: "task", Value: churn.Task, Usage: "task: churn, propensity (offers), clv or segments", Destination: &a.task},
			&cli.StringFlag{Name: "model", Usage: "`NAME@ALIAS` or NAME@VERSION of a registered model (every task but segments)", Destination: &a.model},
			&cli.StringFlag{Name: "as-of", Usage: "scoring " + asOfUsage + " (default: latest, the day after the orders' last timestamp)", Destination: &a.asOf},
			&cli.StringFlag{Name: "format", Value: publish.FormatParquet, Usage: "parts' format: parquet or csv", Destination: &a.format},
			&cli.Float64Flag{Name: "band-high", Value: churn.DefaultBands.High, Usage: "probability from which the band is high", Destination: &a.bands.High},
			&cli.Float64Flag{Name: "band-medium", Value: churn.DefaultBands.Medium, Usage: "probability from which the band is medium (below: low)", Destination: &a.bands.Medium},
			&cli.StringFlag{Name: "shard", Usage: "`i/n`: score only the customers with FNV-1a64(customer_id) mod n = i; then scores commit", Destination: &a.shard},
			&cli.StringFlag{Name: "quantiles", Usage: "--task demand: `Q,...` quantiles to publish besides p50 and p90 (e.g. 0.5,0.9,0.95)", Destination: &a.demand.quantiles},
			&cli.Float64Flag{Name: "service-level", Value: 0.95, Usage: "--task demand: the pre-positioning plan's critical fractile", Destination: &a.demand.serviceLevel},
		}, append(a.clv.flags(), a.offers.flags()...)...),
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 0, 0, "--model NAME@REF [--as-of DATE]"); err != nil {
				return err
			}
			if err := a.clv.refuseOutsideCLV(c, a.task); err != nil {
				return err
			}
			if err := a.offers.check(c, a.task); err != nil {
				return err
			}
			if a.task == segments.Task {
				return runScoreSegments(c, a)
			}
			if a.model == "" {
				return usageErrorf("score --task %s: --model NAME@ALIAS is required", a.task)
			}
			if a.task == clv.Task {
				return runScoreCLV(c, a)
			}
			if a.task == demand.Task {
				return runScoreDemand(c, a)
			}
			if t := a.task; t != churn.Task && t != offers.Task {
				return usageErrorf("--task %q: the tasks that publish scores are: %s, %s, %s, %s, %s", t, churn.Task, offers.Task, demand.Task, clv.Task, segments.Task)
			}
			shard, shards, err := parseShard(a.shard)
			if err != nil {
				return err
			}
			st, ds, err := openDataset(c)
			if err != nil {
				return err
			}
			done := stage("score", "dataset", ds, "task", a.task, "model", a.model, "as_of", a.asOf)
			bar := newSpinner(c, "scoring "+ds+" "+a.task+" with "+a.model)
			var res *churn.Result
			if a.task == offers.Task {
				res, err = a.offers.score(c, st, offers.Options{Dataset: ds, Model: a.model, AsOf: a.asOf, Format: a.format,
					Shard: shard, Shards: shards, PrevoirVersion: Version(), Kinds: modelKinds()})
			} else {
				res, err = churn.Score(c.Context, st, churn.Options{
					Dataset: ds, Model: a.model, AsOf: a.asOf, Format: a.format, Bands: a.bands,
					Shard: shard, Shards: shards, PrevoirVersion: Version(), Kinds: modelKinds(),
				})
			}
			bar.Finish()
			if res == nil {
				return err
			}
			done("publication", publish.Prefix(res.Manifest.Dataset, res.Manifest.Task, res.Manifest.AsOf), "rows", res.Manifest.Rows, "features_reused", res.FeaturesReused)
			m := res.Manifest
			if m.Shards > 1 {
				if wantJSON(c) {
					if perr := printJSON(c, map[string]any{"receipt": publish.ShardKey(m.Dataset, m.Task, m.AsOf, m.Shard, m.Shards), "as_of": m.AsOf,
						"shard": m.Shard, "shards": m.Shards, "run": m.Run, "rows": m.Rows}); perr != nil {
						return perr
					}
					return err
				}
				fmt.Fprintf(out(c), "shard %d/%d: %d rows under %s; commit with: prevoir scores commit %s --dataset %s --as-of %s --shards %d\n",
					m.Shard, m.Shards, m.Rows, publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Task, m.Dataset, m.AsOf, m.Shards)
				return err
			}
			if wantJSON(c) {
				if perr := printJSON(c, map[string]any{"publication": publish.Prefix(m.Dataset, m.Task, m.AsOf), "as_of": m.AsOf, "run": m.Run,
					"rows": m.Rows, "suppressed": m.Suppressed, "model": m.Model, "features": m.Features.Key, "features_reused": res.FeaturesReused}); perr != nil {
					return perr
				}
				return err
			}
			reused := "built"
			if res.FeaturesReused {
				reused = "reused"
			}
			fmt.Fprintf(out(c), "features %s (%s)\npublished %s: %d rows, model %s@%d, run %s\n", m.Features.Key, reused,
				publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Rows, m.Model.Name, m.Model.Version, m.Run)
			for _, n := range m.Notes {
				fmt.Fprintf(out(c), "note: %s\n", n)
			}
			return err
		},
	}
}

// scoresArgs are the flags of the `prevoir scores` subcommands.
type scoresArgs struct {
	task, dataset, asOf, format, channel, table, output string
	shards, keep                                        int
	dryRun                                              bool
}

func scoresCommand() *cli.Command {
	a := &scoresArgs{}
	asOf := &cli.StringFlag{Name: "as-of", Usage: "the publication's `DATE`, or latest (the default: what LATEST points to)", Destination: &a.asOf}
	return &cli.Command{
		Name:  "scores",
		Usage: "list, show, export and retain published scores",
		Subcommands: []*cli.Command{
			scoresPullCommand(), // serve.go
			{
				Name:  "ls",
				Usage: "list the publications",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "task", Usage: "only this task's publications", Destination: &a.task},
					&cli.StringFlag{Name: "dataset", Usage: "only this dataset's publications", Destination: &a.dataset},
				},
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 0, 0, "[--task T]"); err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					es, err := publish.List(c.Context, st, a.dataset, a.task)
					if err != nil {
						return err
					}
					if wantJSON(c) {
						if es == nil {
							es = []publish.Entry{}
						}
						return printJSON(c, es)
					}
					if len(es) == 0 {
						fmt.Fprintf(out(c), "no publications in %s (prevoir score --task churn --model NAME@ALIAS)\n", st.URL())
						return nil
					}
					tw := tabwriter.NewWriter(out(c), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "DATASET\tTASK\tAS_OF\tLATEST\tROWS\tMODEL\tTABLES\tCREATED")
					for _, e := range es {
						latest := ""
						if e.Latest {
							latest = "*"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.Dataset, e.Task, e.AsOf, latest, e.Rows, e.Model, strings.Join(e.Tables, ","), e.CreatedAt.Format(time.RFC3339))
					}
					return tw.Flush()
				},
			},
			{
				Name:      "show",
				Usage:     "summarise a publication's manifest",
				ArgsUsage: "TASK",
				Flags:     []cli.Flag{datasetFlag(), asOf},
				Action: func(c *cli.Context) error {
					st, m, err := resolvePublication(c, a.asOf)
					if err != nil {
						return err
					}
					if wantJSON(c) {
						return printJSON(c, m)
					}
					showPublication(c, st, m)
					if m.Task == segments.Task {
						return printSegmentSummary(c, m, out(c))
					}
					return nil
				},
			},
			{
				Name:      "export",
				Usage:     "write a publication's rows as CSV, JSON lines or Parquet (stdout by default): what a CRM job scripts",
				ArgsUsage: "TASK",
				Flags: []cli.Flag{datasetFlag(), asOf,
					&cli.StringFlag{Name: "format", Value: publish.ExportCSV, Usage: "csv, jsonl or parquet", Destination: &a.format},
					&cli.StringFlag{Name: "channel", Usage: "leave out the customers opted out of `CHANNEL` (" + strings.Join(privacy.Channels, ", ") + ")", Destination: &a.channel},
					&cli.StringFlag{Name: "table", Usage: "the publication's `TABLE` (default: its main one)", Destination: &a.table},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "`FILE` to write (written whole or not at all); default stdout", Destination: &a.output},
				},
				Action: a.export,
			},
			{
				Name:      "commit",
				Usage:     "publish a sharded run once every shard (score --shard i/n) has written its scores",
				ArgsUsage: "TASK",
				Flags: []cli.Flag{datasetFlag(),
					&cli.StringFlag{Name: "as-of", Usage: "the run's `DATE`", Required: true, Destination: &a.asOf},
					&cli.IntFlag{Name: "shards", Usage: "number of shards `n`", Required: true, Destination: &a.shards},
				},
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 1, 1, "TASK --as-of DATE --shards N"); err != nil {
						return err
					}
					st, ds, err := openDataset(c)
					if err != nil {
						return err
					}
					m, err := publish.Commit(c.Context, st, ds, c.Args().First(), a.asOf, a.shards, publish.CommitOptions{})
					if m == nil {
						return err
					}
					if wantJSON(c) {
						if perr := printJSON(c, map[string]any{"publication": publish.Prefix(m.Dataset, m.Task, m.AsOf), "run": m.Run, "rows": m.Rows, "shards": m.Shards}); perr != nil {
							return perr
						}
						return err
					}
					fmt.Fprintf(out(c), "published %s: %d rows from %d shards, run %s\n", publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Rows, m.Shards, m.Run)
					return err
				},
			},
			{
				Name:  "gc",
				Usage: "remove publications beyond retention (never the one LATEST points to)",
				Description: "Keeps, per dataset and task, the --keep publications with the latest dates and the one LATEST\n" +
					"points to; removes the others' manifests, then their parts. Parts of replaced or killed runs go\n" +
					"with `prevoir store gc`.",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "keep", Value: DefaultKeepPublications, Usage: "publications to keep per dataset and task, `N` >= 1", Destination: &a.keep},
					&cli.BoolFlag{Name: "dry-run", Usage: "print what would be removed, remove nothing", Destination: &a.dryRun},
				},
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 0, 0, "[--keep N] [--dry-run]"); err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					rm, err := publish.Retain(c.Context, st, a.keep, a.dryRun)
					if err != nil {
						return err
					}
					if wantJSON(c) {
						return printJSON(c, rm)
					}
					verb := "removed"
					if a.dryRun {
						verb = "would remove"
					}
					var bytes int64
					for _, r := range rm {
						fmt.Fprintf(out(c), "%s %s %s as of %s: %d objects, %s\n", verb, r.Dataset, r.Task, r.AsOf, r.Objects, humanBytes(r.Bytes))
						bytes += r.Bytes
					}
					fmt.Fprintf(out(c), "%s %d publications, %s (keep %d)\n", verb, len(rm), humanBytes(bytes), a.keep)
					return nil
				},
			},
		},
	}
}

// parseShard parses --shard i/n; "" and i/1 mean unsharded (0, 0).
func parseShard(s string) (shard, shards int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	i, n, ok := strings.Cut(s, "/")
	shard, err1 := strconv.Atoi(i)
	shards, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || shards < 1 || shard < 0 || shard >= shards {
		return 0, 0, usageErrorf("--shard %q: want i/n with 0 <= i < n", s)
	}
	if shards == 1 {
		return 0, 0, nil
	}
	return shard, shards, nil
}

// DefaultKeepPublications is how many publications per dataset and task
// `scores gc` keeps by default: a month of nightly runs.
const DefaultKeepPublications = 30

// resolvePublication reads the publication of TASK that --dataset and
// asOf (--as-of) name.
func resolvePublication(c *cli.Context, asOf string) (datasets.Store, *publish.Manifest, error) {
	if err := needArgs(c, 1, 1, "TASK [--as-of DATE|latest]"); err != nil {
		return nil, nil, err
	}
	st, ds, err := openDataset(c)
	if err != nil {
		return nil, nil, err
	}
	task, _ := publishedTable(c.Args().First())
	m, err := publish.Resolve(c.Context, st, ds, task, asOf)
	if errors.Is(err, publish.ErrNoPublication) {
		return nil, nil, fmt.Errorf("%w (prevoir score --dataset %s --task %s --model NAME@ALIAS)", err, ds, task)
	}
	if err != nil {
		return nil, nil, err
	}
	return st, m, nil
}

func showPublication(c *cli.Context, st datasets.Store, m *publish.Manifest) {
	w := out(c)
	latest := ""
	if p, err := publish.ReadLatest(c.Context, st, m.Dataset, m.Task); err == nil && p.AsOf == m.AsOf {
		latest = " (LATEST)"
	}
	fmt.Fprintf(w, "%s%s\n%s scores of %s as of %s: %d rows (%d forgotten customers left out), run %s, created %s by prevoir %s\n",
		publish.Prefix(m.Dataset, m.Task, m.AsOf), latest, m.Task, m.Dataset, m.AsOf, m.Rows, m.Suppressed, m.Run, m.CreatedAt.Format(time.RFC3339), m.PrevoirVersion)
	if m.Model != nil {
		fmt.Fprintf(w, "model %s@%d (%s), card sha256 %s\n", m.Model.Name, m.Model.Version, m.Model.Kind, m.Model.CardSHA256)
	}
	if m.Features != nil {
		fmt.Fprintf(w, "features %s: spec %s, schema %s, %d rows\n", m.Features.Key, m.Features.Spec, m.Features.SchemaFingerprint, m.Features.Rows)
	}
	for _, d := range m.Datasets {
		fmt.Fprintf(w, "dataset table %s version %d, manifest sha256 %s\n", d.Table, d.Seq, d.SHA256)
	}
	keys := make([]string, 0, len(m.Params))
	for k := range m.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, _ := json.Marshal(m.Params[k])
		fmt.Fprintf(w, "param %s: %s\n", k, b)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tPARTS\tFORMAT\tCOLUMNS")
	for _, t := range m.Tables {
		var cols []string
		for _, col := range t.Columns {
			cols = append(cols, col.Name)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", t.Name, t.Rows, len(t.Parts), m.Format, strings.Join(cols, ","))
	}
	tw.Flush()
	for _, n := range m.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// export is `prevoir scores export`.
func (a *scoresArgs) export(c *cli.Context) error {
	format := a.format
	if format != publish.ExportCSV && format != publish.ExportJSONL && format != publish.ExportParquet {
		return usageErrorf("--format %q: want csv, jsonl or parquet", format)
	}
	ch := a.channel
	if ch != "" && !privacy.ValidChannel(ch) {
		return usageErrorf("--channel %q: want one of %s", ch, strings.Join(privacy.Channels, ", "))
	}
	st, m, err := resolvePublication(c, a.asOf)
	if err != nil {
		return err
	}
	o := publish.ExportOptions{Table: a.table, Format: format}
	if _, t := publishedTable(c.Args().First()); o.Table == "" {
		o.Table = t
	}
	// Forgotten customers are never published; one forgotten since is
	// left out of the export all the same.
	sup, err := privacy.Load(c.Context, st)
	if err != nil {
		return err
	}
	now := time.Now()
	o.Skip = func(id string) bool {
		return sup.Forgotten(id) || ch != "" && sup.OptedOut(id, ch, now)
	}
	write := func(w io.Writer) error {
		_, err := publish.Export(c.Context, st, m, w, o)
		return err
	}
	if f := a.output; f != "" && f != "-" {
		return writeOutputAtomic(f, write)
	}
	if format == publish.ExportParquet && isTerminal(out(c)) {
		return usageErrorf("scores export --format parquet: stdout is a terminal; pass -o FILE")
	}
	return write(out(c))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
