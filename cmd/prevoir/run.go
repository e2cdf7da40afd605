package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/demand"
	"github.com/prevoir/prevoir/serve/nightly"
	"github.com/prevoir/prevoir/serve/offers"
	"github.com/prevoir/prevoir/serve/publish"
	reports "github.com/prevoir/prevoir/serve/report"
)

// runArgs are the flags of `prevoir run`.
type runArgs struct {
	config, asOf string
	leaseTTL     time.Duration
	report       string
}

func runCommand() *cli.Command {
	a := &runArgs{}
	return &cli.Command{
		Name:  "run",
		Usage: "the nightly job: retrain what is due, publish every task's scores, fire the triggers, collect garbage",
		Description: "Runs the tasks of --config (without one: every task that has a champion model) as of --as-of,\n" +
			"in dependency order, under a lease in the store that a second run is refused by until it expires\n" +
			"(--lease-ttl after the last heartbeat). Exits 0 only when every task published; a failure names\n" +
			"the task and leaves every earlier publication in place. See docs/NIGHTLY.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "the job's YAML config `FILE` (docs/NIGHTLY.md)", Destination: &a.config},
			datasetFlag(),
			&cli.StringFlag{Name: "as-of", Usage: "the run's " + asOfUsage + " (default: the config's as_of, else latest)", Destination: &a.asOf},
			&cli.DurationFlag{Name: "lease-ttl", Usage: "how long the lease holds after the last heartbeat (default: the config's lease_ttl, else 2m)", Destination: &a.leaseTTL},
			&cli.StringFlag{Name: "report", Usage: "also write the run's HTML report to `FILE` (it is always kept in the store, runs/<dataset>/reports/)", Destination: &a.report},
		},
		Action: a.run,
	}
}

func (a *runArgs) run(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "[--config FILE] [--as-of DATE]"); err != nil {
		return err
	}
	cfg, err := readRunConfig(a.config)
	if err != nil {
		return err
	}
	if a.asOf != "" {
		if err := datasets.CheckAsOf(a.asOf); err != nil {
			return usageErrorf("--as-of %q: %v", a.asOf, err)
		}
		cfg.AsOf = a.asOf
	}
	if c.IsSet("lease-ttl") {
		if a.leaseTTL < time.Second {
			return usageErrorf("--lease-ttl %s: want at least 1s", a.leaseTTL)
		}
		cfg.LeaseTTL = nightly.Duration(a.leaseTTL)
	}
	var rules *nightly.Rules
	if p := cfg.Triggers; p != "" {
		if !filepath.IsAbs(p) && cfg.Dir != "" {
			p = filepath.Join(cfg.Dir, p)
		}
		if rules, err = readRules(p); err != nil {
			return err
		}
	}
	st, err := openStore(c)
	if cfg.Store != "" && !c.IsSet("store") {
		st, err = openStoreURL(c.Context, cfg.Store)
	}
	if err != nil {
		return err
	}
	ds := cfg.Dataset
	if c.String("dataset") != "" || ds == "" {
		if ds, err = resolveDataset(c, st); err != nil {
			return err
		}
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The tasks' estimates bound what runs at once; the soft limit makes
		// the garbage collector keep the process near what they hold
		// instead of twice that (the scans' garbage is most of it).
		prev := debug.SetMemoryLimit(int64(cfg.MemoryBudget) + nightly.MemoryHeadroom)
		defer debug.SetMemoryLimit(prev)
	}
	p := newRunProgress(c)
	sum, err := nightly.Run(c.Context, st, nightly.Options{
		Config: cfg, Dataset: ds, Rules: rules, Kinds: modelKinds(), GCLayers: gcLayers(), Retrain: retrainChallenger,
		PrevoirVersion: Version(), Progress: p.event,
	})
	p.finish()
	if sum == nil {
		return err
	}
	a.keepReport(c, st, sum)
	if wantJSON(c) {
		if perr := printJSON(c, sum); perr != nil {
			return perr
		}
		return err
	}
	printRunSummary(out(c), sum)
	printTopRisks(c, st, sum)
	printSomeOffers(c, st, sum)
	printPlan(c, st, sum)
	return err
}

// printTopRisks prints the five customers with the highest churn
// probability in tonight's churn publication, with their reasons: what
// the run says, not only where it went.
func printTopRisks(c *cli.Context, st datasets.Store, s *nightly.Summary) {
	for _, t := range s.Tasks {
		if t.Task != churn.Task || t.Status != nightly.StatusPublished {
			continue
		}
		m, err := publish.ReadManifest(c.Context, st, s.Dataset, churn.Task, s.AsOf)
		if err != nil {
			return
		}
		var top [][]any
		err = publish.Rows(c.Context, st, m, "", func(r []any) error {
			top = append(top, slices.Clone(r))
			sort.SliceStable(top, func(i, j int) bool { return top[i][2].(float64) > top[j][2].(float64) })
			top = top[:min(len(top), 5)]
			return nil
		})
		if err != nil || len(top) == 0 {
			return
		}
		fmt.Fprintf(out(c), "top churn risks as of %s (prevoir scores export churn):\n", s.AsOf)
		for _, r := range top {
			var reasons []string
			for _, x := range r[5:8] {
				if x, _ := x.(string); x != "" {
					reasons = append(reasons, x)
				}
			}
			fmt.Fprintf(out(c), "  %s  %.3f %-6s %s\n", r[0], r[2], r[3], strings.Join(reasons, "; "))
		}
	}
}

// runProgress prints each stage on stderr: a spinner on a terminal,
// plain lines (stage, task, rows, elapsed, rate) otherwise.
type runProgress struct {
	c    *cli.Context
	mu   sync.Mutex
	bars map[string]*progress
	w    io.Writer
}

func newRunProgress(c *cli.Context) *runProgress {
	return &runProgress{c: c, bars: map[string]*progress{}, w: c.App.ErrWriter}
}

func (p *runProgress) event(e nightly.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := e.Stage
	if e.Task != "" {
		name += " " + e.Task
	}
	if !e.Done {
		slog.Debug("run: " + name + " started")
		if interactive(p.c) {
			p.bars[name] = newSpinner(p.c, name)
		} else {
			fmt.Fprintf(p.w, "run: %s ...\n", name)
		}
		return
	}
	if b := p.bars[name]; b != nil {
		b.Finish()
		delete(p.bars, name)
	}
	line := fmt.Sprintf("run: %s done in %s", name, e.Elapsed.Round(time.Millisecond))
	if e.Rows > 0 {
		line += fmt.Sprintf(", %d rows", e.Rows)
		if s := e.Elapsed.Seconds(); s > 0 {
			line += fmt.Sprintf(" (%.0f rows/s)", float64(e.Rows)/s)
		}
	}
	if e.Err != nil {
		line = fmt.Sprintf("run: %s failed after %s: %v", name, e.Elapsed.Round(time.Millisecond), e.Err)
	}
	fmt.Fprintln(p.w, line)
}

func (p *runProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.bars {
		b.Finish()
	}
}

// printRunSummary writes the run's summary for a person.
func printRunSummary(w io.Writer, s *nightly.Summary) {
	status := "ok"
	if !s.OK {
		status = "FAILED"
	}
	fmt.Fprintf(w, "run %s of %s as of %s: %s in %s\n", s.Run, s.Dataset, s.AsOf, status, time.Duration(s.Elapsed).Round(time.Millisecond))
	for _, d := range s.Retrain {
		verb := "kept the champion"
		if d.Promoted {
			verb = "promoted the challenger"
		}
		fmt.Fprintf(w, "retrain %s: %s@%d (challenger) %s %.4f vs %s@%d (champion) %.4f on %s, margin %g: %s\n",
			d.Task, d.Model, d.Challenger, d.Metric, d.ChallengerValue, d.Model, d.Champion, d.ChampionValue, d.Holdout, d.Margin, verb)
	}
	for _, t := range s.Tasks {
		switch t.Status {
		case nightly.StatusPublished:
			fmt.Fprintf(w, "task %s: published %s, %d rows, model %s, %s\n", t.Task, t.Publication, t.Rows, t.Model, time.Duration(t.Elapsed).Round(time.Millisecond))
		default:
			fmt.Fprintf(w, "task %s: %s: %s\n", t.Task, t.Status, t.Error)
		}
	}
	for _, q := range s.Quality {
		switch q.Measure() {
		case nightly.QualityProbabilities:
			fmt.Fprintf(w, "quality %s: publication as of %s: roc auc %.4f, calibration error %.4f (predicted %.4f, observed %.4f, %d customers)\n",
				q.Task, q.Publication, q.AUC, q.Calibration, q.MeanPredicted, q.ObservedRate, q.Customers)
		case nightly.QualityForecast:
			fmt.Fprintf(w, "quality %s: publication as of %s: wape %.4f, bias %+.4f, p90 coverage %.4f (%d forecasts)\n",
				q.Task, q.Publication, q.Figures[nightly.FigureWAPE], q.Figures[nightly.FigureBias], q.Figures[nightly.FigureP90Coverage], q.Rows)
		default:
			fmt.Fprintf(w, "quality %s: publication as of %s: hit rate@%.0f %.4f, map@%.0f %.4f (%d customers who bought)\n",
				q.Task, q.Publication, q.Figures[nightly.FigureTop], q.Figures[nightly.FigureHitRate], q.Figures[nightly.FigureTop], q.Figures[nightly.FigureMAP], q.Customers)
		}
	}
	if t := s.Triggers; t != nil {
		if t.Status == nightly.StatusPublished {
			fmt.Fprintf(w, "triggers: published %s, %d events since %s\n", t.Publication, t.Events, t.Since)
			for _, r := range slices.Sorted(maps.Keys(t.ByRule)) {
				fmt.Fprintf(w, "  rule %s: %d fired, %d in cooldown, %d opted out\n", r, t.ByRule[r], t.CooledDown[r], t.OptedOut[r])
			}
			for _, n := range t.Notes {
				fmt.Fprintf(w, "  note: %s\n", n)
			}
		} else {
			fmt.Fprintf(w, "triggers: %s: %s\n", t.Status, t.Error)
		}
	}
	if s.GC != nil {
		fmt.Fprintf(w, "store gc: removed %d objects, %s (min age %s)\n", len(s.GC.Removed), humanBytes(s.GC.Bytes), s.GC.MinAge)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, n := range s.Warnings {
		fmt.Fprintf(w, "warning: %s\n", n)
	}
}

// keepReport writes the run's summary and HTML report into the store
// beside each other (nightly.ReportKey), and the report to --report. The
// run's outcome does not depend on them: a failure to write one is a
// warning on stderr.
func (a *runArgs) keepReport(c *cli.Context, st datasets.Store, sum *nightly.Summary) {
	doc, err := reports.RunDocument(sum, Version())
	if err != nil {
		slog.Warn("run report: " + err.Error())
		return
	}
	var html bytes.Buffer
	if err := reports.Render(&html, doc); err != nil {
		slog.Warn("run report: " + err.Error())
		return
	}
	js, _ := json.MarshalIndent(sum, "", "  ")
	for _, o := range []struct {
		ext, typ string
		b        []byte
	}{{"json", "application/json", js}, {"html", "text/html; charset=utf-8", html.Bytes()}} {
		key := nightly.ReportKey(sum.Dataset, sum.AsOf, sum.Run, o.ext)
		if _, err := datasets.PutBytes(c.Context, st, key, o.b, datasets.PutOptions{ContentType: o.typ}); err != nil {
			slog.Warn("run report: " + key + ": " + err.Error())
		}
	}
	if a.report != "" {
		if err := writeOutputAtomic(a.report, func(w io.Writer) error { _, err := w.Write(html.Bytes()); return err }); err != nil {
			slog.Warn("run report: --report " + a.report + ": " + err.Error())
		}
	}
}

// published returns tonight's manifest of a task the run published, nil
// when it did not.
func published(c *cli.Context, st datasets.Store, s *nightly.Summary, task string) *publish.Manifest {
	for _, t := range s.Tasks {
		if t.Task == task && t.Status == nightly.StatusPublished {
			m, err := publish.ReadManifest(c.Context, st, s.Dataset, task, s.AsOf)
			if err != nil {
				return nil
			}
			return m
		}
	}
	return nil
}

// printSomeOffers prints the top offers of the first three customers of
// tonight's offers publication.
func printSomeOffers(c *cli.Context, st datasets.Store, s *nightly.Summary) {
	m := published(c, st, s, offers.Task)
	if m == nil {
		return
	}
	lists := map[string][]string{}
	var order []string
	errEnough := errors.New("enough")
	err := publish.Rows(c.Context, st, m, offers.Table, func(r []any) error {
		id, _ := r[0].(string)
		if _, ok := lists[id]; !ok {
			if len(order) == 3 {
				return errEnough
			}
			order = append(order, id)
		}
		if len(lists[id]) < 5 {
			lists[id] = append(lists[id], fmt.Sprintf("%v (%.2f)", r[3], r[5]))
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) || len(order) == 0 {
		return
	}
	fmt.Fprintf(out(c), "top offers as of %s, first customers (prevoir scores export propensity):\n", s.AsOf)
	for _, id := range order {
		fmt.Fprintf(out(c), "  %s  %s\n", id, strings.Join(lists[id], ", "))
	}
}

// printPlan prints tonight's pre-positioning plan for the five best
// sellers, per warehouse.
func printPlan(c *cli.Context, st datasets.Store, s *nightly.Summary) {
	m := published(c, st, s, demand.Task)
	if m == nil {
		return
	}
	t, err := m.Table(demand.PlanTable)
	if err != nil {
		return
	}
	col := map[string]int{}
	for i, cl := range t.Columns {
		col[cl.Name] = i
	}
	var rows [][]any
	err = publish.Rows(c.Context, st, m, demand.PlanTable, func(r []any) error {
		if rank, _ := r[col["bestseller_rank"]].(int64); rank >= 1 && rank <= 3 {
			rows = append(rows, slices.Clone(r))
		}
		return nil
	})
	if err != nil || len(rows) == 0 {
		return
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i][col["bestseller_rank"]].(int64), rows[j][col["bestseller_rank"]].(int64)
		if a != b {
			return a < b
		}
		return fmt.Sprint(rows[i][col["warehouse"]]) < fmt.Sprint(rows[j][col["warehouse"]])
	})
	fmt.Fprintf(out(c), "pre-positioning plan as of %s, three best sellers (prevoir scores export preposition):\n", s.AsOf)
	fmt.Fprintf(out(c), "  %-4s %-12s %-10s %9s %9s %9s %9s\n", "rank", "product", "warehouse", "mean", "p90", "on hand", "move")
	for _, r := range rows {
		onHand := "-"
		if v, ok := r[col["stock_on_hand"]].(float64); ok {
			onHand = fmt.Sprintf("%.0f", v)
		}
		fmt.Fprintf(out(c), "  %-4d %-12v %-10v %9.1f %9.1f %9s %9.0f\n", r[col["bestseller_rank"]], r[col["product_id"]], r[col["warehouse"]],
			r[col["mean"]], r[col["p90"]], onHand, r[col["preposition_qty"]])
	}
}
