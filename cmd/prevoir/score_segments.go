package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/serve/publish"
	"github.com/prevoir/prevoir/serve/segments"
)

// runScoreSegments is `prevoir score --task segments`: RFM scores,
// segment, value tier, risk and cell per customer, published.
func runScoreSegments(c *cli.Context, a *scoreArgs) error {
	for _, f := range []string{"model", "shard", "band-high", "band-medium", "horizon", "discount", "min-age"} {
		if c.IsSet(f) {
			return usageErrorf("score --task segments: --%s is not for segments (they use the churn and clv publications of the date, or %s and %s)", f, segments.DefaultChurnModel, segments.DefaultCLVModel)
		}
	}
	st, ds, err := openDataset(c)
	if err != nil {
		return err
	}
	done := stage("score", "dataset", ds, "task", segments.Task, "as_of", a.asOf)
	bar := newSpinner(c, "segmenting "+ds)
	res, err := segments.Score(c.Context, st, segments.Options{Dataset: ds, AsOf: a.asOf, Kinds: modelKinds(), Format: a.format, PrevoirVersion: Version()})
	bar.Finish()
	if res == nil {
		return err
	}
	m := res.Manifest
	done("publication", publish.Prefix(m.Dataset, m.Task, m.AsOf), "rows", m.Rows)
	if wantJSON(c) {
		if perr := printJSON(c, map[string]any{"publication": publish.Prefix(m.Dataset, m.Task, m.AsOf), "as_of": m.AsOf, "run": m.Run,
			"rows": m.Rows, "suppressed": m.Suppressed, "value_by": res.ValueBy, "risk_by": res.RiskBy}); perr != nil {
			return perr
		}
		return err
	}
	fmt.Fprintf(out(c), "published %s: %d rows, run %s\nvalue tiers by %s; risk by %s\n", publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Rows, m.Run, res.ValueBy, res.RiskBy)
	return err
}

// printSegmentSummary is what `scores show segments` adds: customers,
// mean spend and mean CLV per segment and per cell.
func printSegmentSummary(c *cli.Context, m *publish.Manifest, w io.Writer) error {
	st, err := openStore(c)
	if err != nil {
		return err
	}
	sum, err := segments.Summarize(c.Context, st, m)
	if err != nil {
		return err
	}
	for _, part := range []struct {
		title  string
		groups []segments.Group
	}{{"SEGMENT", sum.Segments}, {"CELL", sum.Cells}} {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tCUSTOMERS\tMEAN SPEND\tMEAN CLV\n", part.title)
		for _, g := range part.groups {
			clv := "-"
			if g.MeanCLV != nil {
				clv = fmt.Sprintf("%.2f", *g.MeanCLV)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%s\n", g.Name, g.Customers, g.MeanSpend, clv)
		}
		tw.Flush()
	}
	return nil
}
