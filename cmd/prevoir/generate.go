package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/synth"
)

// datasetsGenerateCommand is `prevoir datasets generate`: a synthetic
// history with known truth, into the store or a CSV file.
func datasetsGenerateCommand() *cli.Command {
	// The flags bind into the generator's options; end, format and out
	// are parsed by the action.
	var (
		o                synth.Options
		so               synth.StoreOptions
		end, format, dst string
		oldName          string // --name, the old spelling of --dataset
	)
	return &cli.Command{
		Name:  "generate",
		Usage: "generate a synthetic retail history with known ground truth (docs/GENERATOR.md)",
		Description: "Writes dataset --dataset NAME into the store (every canonical table, plus the truth under datasets/NAME/_latent/),\n" +
			"or with --format csv the order lines alone to --out FILE. The same flags give the same bytes.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Usage: "dataset `NAME` (required for --format parquet)", Destination: &o.Name},
			deprecatedNameFlag(&oldName),
			&cli.IntFlag{Name: "customers", Value: 20000, Usage: "number of customers (each has at least one order)", Destination: &o.Customers},
			&cli.StringFlag{Name: "end", Value: synth.DefaultEnd.Format(time.DateOnly), Usage: "exclusive end of the history, a `DATE` (00:00 UTC)", Destination: &end},
			&cli.IntFlag{Name: "days", Value: synth.DefaultDays, Usage: "length of the history in days", Destination: &o.Days},
			&cli.Uint64Flag{Name: "seed", Value: 42, Usage: "random seed", Destination: &o.Seed},
			&cli.IntFlag{Name: "products", Value: synth.DefaultProducts, Usage: "catalogue size", Destination: &o.Products},
			&cli.IntFlag{Name: "warehouses", Value: synth.DefaultWarehouses, Usage: "number of warehouses (1..26)", Destination: &o.Warehouses},
			&cli.Float64Flag{Name: "basket-lines", Value: synth.DefaultBasketLines, Usage: "mean lines of an order (1.5..50; larger for a wholesale or grocery history)", Destination: &o.BasketLines},
			&cli.StringFlag{Name: "format", Value: "parquet", Usage: "parquet (into the store) or csv (order lines to --out)", Destination: &format},
			&cli.StringFlag{Name: "out", Usage: "CSV output `FILE` for --format csv ('-' for stdout)", Destination: &dst},
			&cli.BoolFlag{Name: "replace", Usage: "replace an existing dataset of that name generated or imported otherwise", Destination: &so.Replace},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 0, 0, ""); err != nil {
				return err
			}
			var err error
			if o.End, err = datasets.ParseDate(end, time.UTC); err != nil {
				return usageErrorf("--end %q: %v", end, err)
			}
			if o.Name, err = datasetArg(c, o.Name, oldName); err != nil {
				return err
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(synth.MemoryLimit)
			}
			start := time.Now()
			switch format {
			case "csv":
				path := dst
				if path == "" {
					return usageErrorf("--format csv needs --out FILE")
				}
				var sum synth.Summary
				write := func(w io.Writer) error {
					var err error
					sum, err = synth.WriteCSV(c.Context, o, w)
					return err
				}
				if path == "-" {
					bw := bufio.NewWriterSize(out(c), 1<<20)
					if err = write(bw); err == nil {
						err = bw.Flush()
					}
				} else {
					// Atomic, mode 0644: a failed generation leaves no file.
					err = writeOutputAtomic(path, write)
				}
				if err != nil {
					return fmt.Errorf("generate %s: %w", path, err)
				}
				el := time.Since(start)
				if wantJSON(c) {
					return printJSON(c, sum)
				}
				fmt.Fprintf(c.App.ErrWriter, "wrote %s: %s in %v (%.0f lines/s)\n", path, sum, el.Round(time.Millisecond), float64(sum.Lines)/el.Seconds())
				return nil
			case "parquet":
				if o.Name == "" {
					return usageErrorf("datasets generate: --dataset NAME is required (the dataset to write)")
				}
				if dst != "" {
					return usageErrorf("--out is for --format csv; parquet goes into the store")
				}
			default:
				return usageErrorf("--format %q: want parquet or csv", format)
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			done := stage("generate", "dataset", o.Name, "customers", o.Customers, "days", o.Days)
			bar := newSpinner(c, "generating "+o.Name)
			res, err := synth.Generate(c.Context, st, o, so)
			bar.Finish()
			if err != nil {
				return err
			}
			done("reused", res.Reused)
			el := time.Since(start)
			if wantJSON(c) {
				return printJSON(c, res)
			}
			w := out(c)
			if res.Reused {
				fmt.Fprintf(w, "dataset %s already holds this generation (run %s): nothing to do\n", o.Name, res.RunID)
				return nil
			}
			fmt.Fprintf(w, "generated dataset %s (run %s) in %v: %s\n", o.Name, res.RunID, el.Round(time.Millisecond), res.Summary)
			fmt.Fprintf(w, "truth: %s\n", synth.LatentKey(o.Name, ""))
			fmt.Fprintf(c.App.ErrWriter, "next: prevoir%s datasets describe --dataset %s, then prevoir%s train --dataset %s --task churn --as-of DATE --cutoffs 3 --step 90d --name churn\n",
				storeFlagText(c), o.Name, storeFlagText(c), o.Name)
			return nil
		},
	}
}
