package main

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/demand"
	"github.com/prevoir/prevoir/serve/publish"
)

// forecastHistory is how many periods of history a chart shows.
const forecastHistory = 26

func forecastCommand() *cli.Command {
	var warehouse, asOf string
	var periods int
	return &cli.Command{
		Name:  "forecast",
		Usage: "show published demand forecasts",
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "print a product's history and forecast band as a text chart, one per warehouse",
			ArgsUsage: "PRODUCT",
			Description: "Reads the demand publication (--as-of, default LATEST) and the dataset's history before it:\n" +
				"'#' bars are the periods' actual measure, then the forecast periods show the mean ('o') inside\n" +
				"the band from p50 to p90 ('-').",
			Flags: []cli.Flag{datasetFlag(),
				&cli.StringFlag{Name: "warehouse", Usage: "only this `WAREHOUSE`", Destination: &warehouse},
				&cli.StringFlag{Name: "as-of", Usage: "the publication's `DATE`, or latest (the default)", Destination: &asOf},
				&cli.IntFlag{Name: "history", Value: forecastHistory, Usage: "periods of history to show, `N`", Destination: &periods},
			},
			Action: func(c *cli.Context) error {
				if err := needArgs(c, 1, 1, "PRODUCT [--warehouse W]"); err != nil {
					return err
				}
				if periods < 1 {
					return usageErrorf("--history %d: want at least 1", periods)
				}
				product := c.Args().First()
				st, ds, err := openDataset(c)
				if err != nil {
					return err
				}
				m, err := publish.Resolve(c.Context, st, ds, demand.Task, asOf)
				if err != nil {
					return err
				}
				type step struct {
					start          string
					mean, p50, p90 float64
				}
				fc := map[string][]step{}
				var order []string
				err = publish.Rows(c.Context, st, m, demand.Table, func(r []any) error {
					p, _ := r[0].(string)
					w, _ := r[1].(string)
					if p != product || warehouse != "" && w != warehouse {
						return nil
					}
					if _, ok := fc[w]; !ok {
						order = append(order, w)
					}
					s := step{start: fmt.Sprint(r[3])}
					s.mean, _ = r[5].(float64)
					s.p50, _ = r[6].(float64)
					s.p90, _ = r[7].(float64)
					fc[w] = append(fc[w], s)
					return nil
				})
				if err != nil {
					return err
				}
				if len(order) == 0 {
					where := ""
					if warehouse != "" {
						where = " in warehouse " + warehouse
					}
					return fmt.Errorf("product %s%s: no forecast in %s: %w", product, where, publish.Prefix(m.Dataset, m.Task, m.AsOf), fs.ErrNotExist)
				}
				fo := features.Options{Dataset: ds, Task: features.TaskDemand, AsOf: m.AsOf}
				fo.Period, _ = m.Params["period"].(string)
				fo.Measure, _ = m.Params["measure"].(string)
				if n, ok := m.Params["top_products"].(float64); ok {
					fo.TopProducts = int(n)
				}
				if s, _ := m.Params["horizon"].(string); s != "" {
					fo.Horizon, _ = datasets.ParseSpan(s)
				}
				if s, _ := m.Params["lookback"].(string); s != "" {
					fo.Lookback, _ = datasets.ParseSpan(s)
				}
				hist, err := features.ReadDemandSeries(c.Context, st, fo)
				if err != nil {
					return err
				}
				past := map[string][]float64{}
				for _, s := range hist.Series {
					if s.Product == product {
						past[s.Warehouse] = s.History
					}
				}
				w := out(c)
				for _, wh := range order {
					h := past[wh]
					k := min(periods, len(h))
					starts := hist.Starts[hist.Lookback-k : hist.Lookback]
					var rows []chartRow
					for i, v := range h[len(h)-k:] {
						rows = append(rows, chartRow{label: starts[i].Format(time.DateOnly), actual: v, past: true})
					}
					for _, s := range fc[wh] {
						rows = append(rows, chartRow{label: s.start, mean: s.mean, lo: s.p50, hi: s.p90})
					}
					fmt.Fprintf(w, "%s / %s: %s per %s, forecast as of %s by %s@%d\n", product, whName(wh), hist.Measure, hist.Period, m.AsOf, m.Model.Name, m.Model.Version)
					drawChart(w, rows, 50)
					fmt.Fprintln(w)
				}
				return nil
			},
		}},
	}
}

func whName(w string) string {
	if w == "" {
		return "(no warehouse)"
	}
	return w
}

// chartRow is one period of a text chart: an actual value (past) or a
// forecast mean with its band.
type chartRow struct {
	label        string
	past         bool
	actual       float64
	mean, lo, hi float64
}

// drawChart prints one line per period: the label, a bar of width
// columns scaled to the largest value, and the numbers.
func drawChart(w io.Writer, rows []chartRow, width int) {
	top := 0.0
	for _, r := range rows {
		top = math.Max(top, math.Max(r.actual, math.Max(r.hi, r.mean)))
	}
	if top <= 0 {
		top = 1
	}
	col := func(v float64) int { return int(math.Round(v / top * float64(width))) }
	for _, r := range rows {
		line := []byte(strings.Repeat(" ", width+1))
		if r.past {
			for i := 0; i < col(r.actual); i++ {
				line[i] = '#'
			}
			fmt.Fprintf(w, "%s |%s %g\n", r.label, line, r.actual)
			continue
		}
		for i := col(r.lo); i <= col(r.hi) && i <= width; i++ {
			line[i] = '-'
		}
		if i := col(r.mean); i <= width {
			line[i] = 'o'
		}
		fmt.Fprintf(w, "%s :%s mean %.1f, p50 %g, p90 %g\n", r.label, line, r.mean, r.lo, r.hi)
	}
}
