package main

import (
	"bufio"
	"fmt"
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
	return &cli.Command{
		Name:  "generate",
		Usage: "generate a synthetic retail history with known ground truth (docs/GENERATOR.md)",
		Description: "Writes dataset --dataset NAME into the store (every canonical table, plus the truth under datasets/NAME/_latent/),\n" +
			"or with --format csv the order lines alone to --out FILE. The same flags give the same bytes.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Usage: "dataset `NAME` (required for --format parquet)"},
			deprecatedNameFlag(),
			&cli.IntFlag{Name: "customers", Value: 20000, Usage: "number of customers (each has at least one order)"},
			&cli.StringFlag{Name: "end", Value: synth.DefaultEnd.Format(time.DateOnly), Usage: "exclusive end of the history, a `DATE` (00:00 UTC)"},
			&cli.IntFlag{Name: "days", Value: synth.DefaultDays, Usage: "length of the history in days"},
			&cli.Uint64Flag{Name: "seed", Value: 42, Usage: "random seed"},
			&cli.IntFlag{Name: "products", Value: synth.DefaultProducts, Usage: "catalogue size"},
			&cli.IntFlag{Name: "warehouses", Value: synth.DefaultWarehouses, Usage: "number of warehouses (1..26)"},
			&cli.StringFlag{Name: "format", Value: "parquet", Usage: "parquet (into the store) or csv (order lines to --out)"},
			&cli.StringFlag{Name: "out", Usage: "CSV output `FILE` for --format csv ('-' for stdout)"},
			&cli.BoolFlag{Name: "replace", Usage: "replace an existing dataset of that name generated or imported otherwise"},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 0, 0, ""); err != nil {
				return err
			}
			end, err := datasets.ParseDate(c.String("end"), time.UTC)
			if err != nil {
				return usageErrorf("--end %q: %v", c.String("end"), err)
			}
			name, err := datasetArg(c)
			if err != nil {
				return err
			}
			o := synth.Options{
				Name:       name,
				Customers:  c.Int("customers"),
				End:        end,
				Days:       c.Int("days"),
				Seed:       c.Uint64("seed"),
				Products:   c.Int("products"),
				Warehouses: c.Int("warehouses"),
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(synth.MemoryLimit)
			}
			start := time.Now()
			switch c.String("format") {
			case "csv":
				path := c.String("out")
				if path == "" {
					return usageErrorf("--format csv needs --out FILE")
				}
				w, closeFn := os.Stdout, func() error { return nil }
				if path != "-" {
					f, err := os.Create(path)
					if err != nil {
						return err
					}
					w, closeFn = f, f.Close
				}
				bw := bufio.NewWriterSize(w, 1<<20)
				sum, err := synth.WriteCSV(c.Context, o, bw)
				if err == nil {
					err = bw.Flush()
				}
				if cerr := closeFn(); err == nil {
					err = cerr
				}
				if err != nil {
					if path != "-" {
						os.Remove(path)
					}
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
				if c.String("out") != "" {
					return usageErrorf("--out is for --format csv; parquet goes into the store")
				}
			default:
				return usageErrorf("--format %q: want parquet or csv", c.String("format"))
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			done := stage("generate", "dataset", o.Name, "customers", o.Customers, "days", o.Days)
			bar := newSpinner(c, "generating "+o.Name)
			res, err := synth.Generate(c.Context, st, o, synth.StoreOptions{Replace: c.Bool("replace")})
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
			return nil
		},
	}
}
