package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/stores"
)

// datasetFlag is the --dataset flag every command reading a dataset
// takes: the store's only dataset by default.
func datasetFlag() cli.Flag {
	return &cli.StringFlag{Name: "dataset", Usage: "dataset `NAME` (default: the store's only dataset)"}
}

// deprecatedNameFlag is --name, the old spelling of --dataset in
// datasets import and generate: accepted, hidden from the help, bound to
// dest.
func deprecatedNameFlag(dest *string) cli.Flag {
	return &cli.StringFlag{Name: "name", Hidden: true, Usage: "deprecated: --dataset", Destination: dest}
}

// datasetArg returns d (--dataset), or n (the deprecated --name); giving
// both with different values is a usage error.
func datasetArg(c *cli.Context, d, n string) (string, error) {
	if d != "" && n != "" && d != n {
		return "", usageErrorf("%s: --name is the old spelling of --dataset: give one", commandPath(c))
	}
	if d == "" {
		d = n
	}
	return d, nil
}

// openDataset opens the store and resolves --dataset in it.
func openDataset(c *cli.Context) (datasets.Store, string, error) {
	st, err := openStore(c)
	if err != nil {
		return nil, "", err
	}
	name, err := resolveDataset(c, st)
	if err != nil {
		return nil, "", err
	}
	return st, name, nil
}

func datasetsCommand() *cli.Command {
	return &cli.Command{
		Name:  "datasets",
		Usage: "import, list, describe and validate retail datasets",
		Subcommands: []*cli.Command{
			importCommand(),
			datasetsGenerateCommand(), // generate.go
			{
				Name:  "ls",
				Usage: "list the datasets and their tables",
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 0, 0, ""); err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					sums, err := datasets.Summaries(c.Context, st)
					if err != nil {
						return err
					}
					if wantJSON(c) {
						return printJSON(c, sums)
					}
					if len(sums) == 0 {
						fmt.Fprintf(out(c), "no datasets in %s (prevoir datasets import --dataset NAME SOURCE..., or prevoir datasets generate --dataset demo)\n", st.URL())
						return nil
					}
					tw := tabwriter.NewWriter(out(c), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "DATASET\tTABLE\tROWS\tPARTS\tSIZE\tFROM\tTO\tTZ\tVERSION")
					for _, d := range sums {
						for _, t := range d.Tables {
							from, to := "-", "-"
							if t.Range != nil {
								from, to = t.Range.Min.Format(time.RFC3339), t.Range.Max.Format(time.RFC3339)
							}
							fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d\n", d.Name, t.Table, t.Rows, t.Parts, humanBytes(t.Bytes), from, to, t.TZ, t.Seq)
						}
					}
					return tw.Flush()
				},
			},
			{
				Name:  "describe",
				Usage: "summarise a dataset's rows: counts per table and line type, customers, products, time range, top products; --json prints only row-derived facts",
				Flags: []cli.Flag{datasetFlag()},
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 0, 0, ""); err != nil {
						return err
					}
					st, name, err := openDataset(c)
					if err != nil {
						return err
					}
					d, err := datasets.Describe(c.Context, st, name)
					if err != nil {
						return err
					}
					if wantJSON(c) {
						return printJSON(c, d)
					}
					return printDescription(out(c), c, st, name, d)
				},
			},
			{
				Name:  "validate",
				Usage: "re-read every part of a dataset and check it against its manifest (size, SHA-256, rows, order, months)",
				Flags: []cli.Flag{datasetFlag()},
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 0, 0, ""); err != nil {
						return err
					}
					st, name, err := openDataset(c)
					if err != nil {
						return err
					}
					vs, verr := datasets.Validate(c.Context, st, name)
					if wantJSON(c) && vs != nil {
						if err := printJSON(c, vs); err != nil {
							return err
						}
						return verr
					}
					for _, v := range vs {
						status := "ok"
						if len(v.Problems) > 0 {
							status = fmt.Sprintf("%d problems", len(v.Problems))
						}
						fmt.Fprintf(out(c), "%s/%s: %d parts, %d rows: %s\n", name, v.Table, v.Parts, v.Rows, status)
						for _, p := range v.Problems {
							fmt.Fprintf(out(c), "  %s\n", p)
						}
						if len(v.Orphans) > 0 {
							fmt.Fprintf(out(c), "  %d orphaned objects (not read; prevoir store gc removes them)\n", len(v.Orphans))
						}
					}
					return verr
				},
			},
		},
	}
}

func printDescription(w io.Writer, c *cli.Context, st datasets.Store, name string, d *datasets.Description) error {
	fmt.Fprintf(w, "dataset %s in %s\n", name, st.URL())
	if m, err := datasets.ReadManifest(c.Context, st, name, "orders"); err == nil {
		fmt.Fprintf(w, "zone %s, currency %q, %d source files, version %d\n", m.TZ, m.Currency, len(m.Sources), m.Seq)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range datasets.TableNames {
		if n, ok := d.Tables[t]; ok {
			fmt.Fprintf(tw, "table %s\t%d rows\n", t, n)
		}
	}
	tw.Flush()
	if _, ok := d.Tables["orders"]; !ok {
		return nil
	}
	fmt.Fprintf(w, "order lines %d, orders %d, customers %d, products %d, warehouses %d\n", d.Lines, d.Orders, d.Customers, d.Products, d.Warehouses)
	fmt.Fprintf(w, "time range %s .. %s\n", d.First, d.Last)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "LINE TYPE\tLINES\tQUANTITY\tVALUE\t")
	for _, lt := range datasets.LineTypes {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t\n", lt, d.LineTypes[lt], d.Quantity[lt], d.Value[lt])
	}
	tw.Flush()
	fmt.Fprintf(w, "returns share %.2f%% of sale and return lines, anonymous share %.2f%% of lines\n", 100*d.ReturnsShare, 100*d.AnonymousShare)
	if len(d.TopProducts) > 0 {
		fmt.Fprintln(w, "top products by sale lines:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, p := range d.TopProducts {
			fmt.Fprintf(tw, "  %s\t%d lines\t%g units\n", p.ProductID, p.Lines, p.Quantity)
		}
		tw.Flush()
	}
	return nil
}

// importArgs holds datasets import's flags: most bind straight into the
// library's options, the others are parsed into them by runImport.
type importArgs struct {
	opts                                                                      datasets.ImportOptions
	maps                                                                      cli.StringSlice
	mapFile, delimiter, mode, rejects, feeCodes, adjustmentCodes, invalidUTF8 string
	dataset, oldName                                                          string
	memoryLimit                                                               int
}

func importCommand() *cli.Command {
	a := &importArgs{}
	return &cli.Command{
		Name:      "import",
		Usage:     "import order history (or another table) from CSV, TSV, whitespace, gzip or Parquet files, folders or s3:// prefixes",
		ArgsUsage: "SOURCE...",
		Description: `Reads every SOURCE (a file, a folder, or an s3:// prefix) into the dataset's table
as zstd Parquet parts with a new manifest version. Atomic: on any error nothing changes.

A mapping names the source column of each canonical column:
  --map customer_id=CustomerID,order_id=InvoiceNo,timestamp=InvoiceDate,product_id=StockCode,quantity=Quantity,unit_price=UnitPrice,warehouse=Country
or by position in a headerless file: --map customer_id=#1. A source column named like a
canonical column maps to it without --map. See docs/DATA.md for the schema and the time rules.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Usage: "dataset `NAME` to import into (default: the store's only dataset)", Destination: &a.dataset},
			deprecatedNameFlag(&a.oldName),
			&cli.StringFlag{Name: "table", Value: "orders", Usage: "canonical table: " + strings.Join(datasets.TableNames, ", "), Destination: &a.opts.Table},
			&cli.StringSliceFlag{Name: "map", Usage: "canonical=SOURCE[,...]: source column of a canonical column (SOURCE: header name, or #N)", Destination: &a.maps},
			&cli.StringFlag{Name: "map-file", Usage: "`FILE` of canonical=SOURCE lines ('#' starts a comment)", Destination: &a.mapFile},
			&cli.StringFlag{Name: "delimiter", Usage: "field delimiter `C`: ',', ';', '|', 'tab' (default: detected from the header line)", Destination: &a.delimiter},
			&cli.BoolFlag{Name: "whitespace", Usage: "fields are separated by runs of spaces or tabs", Destination: &a.opts.Format.Whitespace},
			&cli.BoolFlag{Name: "no-header", Usage: "the files have no header line (map with #N)", Destination: &a.opts.NoHeader},
			&cli.StringFlag{Name: "time-format", Usage: "Go time `LAYOUT` of time columns, e.g. 02/01/06 for DD/MM/YY (default: ISO 8601 only)", Destination: &a.opts.TimeFormat},
			&cli.StringFlag{Name: "tz", Value: "UTC", Usage: "IANA `ZONE` for times without an offset, and for what a DATE means", Destination: &a.opts.TZ},
			&cli.StringFlag{Name: "currency", Usage: "the dataset's currency `CODE` (ISO 4217), recorded", Destination: &a.opts.Currency},
			&cli.StringFlag{Name: "mode", Value: "append", Usage: "append (skip files already imported) or replace", Destination: &a.mode},
			&cli.IntFlag{Name: "max-bad-rows", Value: 0, Usage: "bad lines to skip before failing", Destination: &a.opts.MaxBadRows},
			&cli.StringFlag{Name: "rejects", Usage: "write bad lines to `FILE` (CSV)", Destination: &a.rejects},
			&cli.StringFlag{Name: "invalid-utf8", Value: "refuse", Usage: "text that is not UTF-8: refuse (a bad line) or replace (with U+FFFD)", Destination: &a.invalidUTF8},
			&cli.StringFlag{Name: "fee-codes", Usage: "product codes of fee lines, comma-separated, '*' suffix for a prefix (default " + strings.Join(datasets.DefaultFeeCodes, ",") + ")", Destination: &a.feeCodes},
			&cli.StringFlag{Name: "adjustment-codes", Usage: "product codes of adjustment lines (default " + strings.Join(datasets.DefaultAdjustmentCodes, ",") + ")", Destination: &a.adjustmentCodes},
			&cli.StringFlag{Name: "cancel-prefix", Usage: "order ids starting with this are cancellations (returns)", Destination: &a.opts.LineTypes.CancelPrefix},
			&cli.IntFlag{Name: "memory-limit", Value: 120, Usage: "soft limit of the Go heap in `MiB` while importing (ignored when GOMEMLIMIT is set): rows are spilled every 32Ki, so about 60 MiB is live whatever the input size, and the limit keeps the garbage collector from growing the heap far past that", Destination: &a.memoryLimit},
		},
		Action: func(c *cli.Context) error { return runImport(c, a) },
	}
}

// runImport is "datasets import": it checks the flags, lists the sources
// and imports them into the dataset's table.
func runImport(c *cli.Context, a *importArgs) error {
	if err := needArgs(c, 1, -1, "SOURCE..."); err != nil {
		return err
	}
	opts, err := a.importOptions(c)
	if err != nil {
		return err
	}
	st, err := openStore(c)
	if err != nil {
		return err
	}
	name, err := importDataset(c, st, a)
	if err != nil {
		return err
	}
	opts.Dataset = name
	sources, err := importSources(c)
	if err != nil {
		return err
	}
	if f := a.rejects; f != "" {
		bw, closeRejects, err := createRejects(f)
		if err != nil {
			return err
		}
		defer closeRejects()
		opts.Rejects = bw
	}
	if os.Getenv("GOMEMLIMIT") == "" && a.memoryLimit > 0 {
		prev := debug.SetMemoryLimit(int64(a.memoryLimit) << 20)
		defer debug.SetMemoryLimit(prev)
	}
	start := time.Now()
	var total int64
	for _, s := range sources {
		total += s.Size
	}
	done := stage("import", "dataset", name, "table", opts.Table, "files", len(sources), "bytes", total)
	bar := newBytesProgress(c, "importing "+name+"/"+opts.Table, total)
	res, err := datasets.Import(c.Context, st, countSources(sources, bar), opts)
	bar.Finish()
	if err != nil {
		return err
	}
	done("rows", res.Rows, "rejected", res.Rejected, "suppressed", res.Suppressed)
	if wantJSON(c) {
		return printJSON(c, res)
	}
	printImport(c, res, time.Since(start))
	return nil
}

// importOptions checks the import flags and returns the options they give
// (all but the dataset and the rejects writer).
func (a *importArgs) importOptions(c *cli.Context) (datasets.ImportOptions, error) {
	opts := a.opts
	if err := checkChoice("Table", opts.Table, datasets.TableNames); err != nil {
		return opts, err
	}
	if err := checkChoice("InvalidUTF8", a.invalidUTF8, []string{string(datasets.InvalidUTF8Refuse), string(datasets.InvalidUTF8Replace)}); err != nil {
		return opts, err
	}
	opts.InvalidUTF8 = datasets.InvalidUTF8(a.invalidUTF8)
	switch a.mode {
	case "append":
	case "replace":
		opts.Replace = true
	default:
		return opts, usageErrorf("import: --mode %q: append or replace", a.mode)
	}
	if err := datasets.CheckTimeLayout(opts.TimeFormat); err != nil {
		return opts, usageErrorf("import: --time-format: %v", err)
	}
	if _, err := datasets.LoadZone(opts.TZ); err != nil {
		return opts, usageErrorf("import: --tz: %v", err)
	}
	if opts.Format.Whitespace {
		if c.IsSet("delimiter") {
			return opts, usageErrorf("import: --whitespace and --delimiter are exclusive")
		}
	} else if d := a.delimiter; d != "" {
		switch d {
		case "tab", `\t`, "\t":
			opts.Format.Delimiter = '\t'
		default:
			if len(d) != 1 || d == `"` || d == "\n" || d == "\r" {
				return opts, usageErrorf("import: --delimiter %q: want one character such as ',' ';' '|' or 'tab'", d)
			}
			opts.Format.Delimiter = d[0]
		}
	}
	m, err := a.columnMap()
	if err != nil {
		return opts, err
	}
	opts.Map = m
	if c.IsSet("fee-codes") {
		opts.LineTypes.FeeCodes = splitCodes(a.feeCodes)
	}
	if c.IsSet("adjustment-codes") {
		opts.LineTypes.AdjustmentCodes = splitCodes(a.adjustmentCodes)
	}
	return opts, nil
}

// columnMap returns the column mapping of --map-file, then the --map
// items over it.
func (a *importArgs) columnMap() (map[string]string, error) {
	m := map[string]string{}
	if f := a.mapFile; f != "" {
		if err := readMapFile(f, m); err != nil {
			return nil, usageErrorf("import: --map-file: %v", err)
		}
	}
	for _, item := range a.maps.Value() {
		if err := parseMapping(item, m); err != nil {
			return nil, usageErrorf("import: --map: %v", err)
		}
	}
	return m, nil
}

// splitCodes splits a comma-separated list of line-type codes, dropping
// blanks; an empty list is not nil.
func splitCodes(s string) []string {
	out := []string{}
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// importDataset returns the dataset to import into: --dataset, or the
// store's only dataset.
func importDataset(c *cli.Context, st datasets.Store, a *importArgs) (string, error) {
	name, err := datasetArg(c, a.dataset, a.oldName)
	if err != nil {
		return "", err
	}
	if name == "" {
		names, err := datasets.ListDatasets(c.Context, st)
		if err != nil {
			return "", err
		}
		if len(names) != 1 {
			return "", usageErrorf("datasets import: --dataset NAME is required: the store %s holds %d datasets%s", st.URL(), len(names), listSuffix(names))
		}
		return names[0], nil
	}
	if err := datasets.ValidDatasetName(name); err != nil {
		return "", &datasets.FieldError{Field: "Dataset", Value: name, Msg: err.Error(), Err: err}
	}
	return name, nil
}

// importSources lists the files of every SOURCE argument: local files and
// folders, or s3:// prefixes.
func importSources(c *cli.Context) ([]datasets.SourceFile, error) {
	var sources []datasets.SourceFile
	for _, a := range c.Args().Slice() {
		var got []datasets.SourceFile
		if stores.IsRemote(a) {
			bucket, prefix, err := stores.SplitS3URL(a)
			if err != nil {
				return nil, err
			}
			src, err := openStoreURL(c.Context, "s3://"+bucket)
			if err != nil {
				return nil, err
			}
			got, err = datasets.StoreSources(c.Context, src, "s3://"+bucket, prefix)
			if err != nil {
				return nil, err
			}
		} else {
			var err error
			got, err = datasets.LocalSources([]string{a})
			if err != nil {
				return nil, err
			}
		}
		sources = append(sources, got...)
	}
	return sources, nil
}

// createRejects creates the --rejects file f (mode 0644 whatever the
// umask, as every file prevoir writes) and returns a buffered writer on it
// and the function that flushes and closes it.
func createRejects(f string) (*bufio.Writer, func(), error) {
	rf, err := os.Create(f)
	if err != nil {
		return nil, nil, err
	}
	if err := rf.Chmod(0o644); err != nil {
		rf.Close()
		return nil, nil, err
	}
	bw := bufio.NewWriter(rf)
	return bw, func() {
		bw.Flush()
		rf.Close()
	}, nil
}

// printImport prints what an import did and what to run next.
func printImport(c *cli.Context, res *datasets.ImportResult, el time.Duration) {
	w := out(c)
	skipped := 0
	for _, f := range res.Files {
		if f.Skipped != "" {
			skipped++
		}
	}
	if res.Manifest == nil {
		fmt.Fprintf(w, "nothing to import into %s/%s: all %d files already imported (same path and SHA-256)\n", res.Dataset, res.Table, skipped)
		return
	}
	fmt.Fprintf(w, "imported %d rows from %d files into %s/%s in %s (%.0f rows/s): %d rejected, %d suppressed, %d files skipped as already imported\n",
		res.Rows, len(res.Files)-skipped, res.Dataset, res.Table, el.Round(time.Millisecond), float64(res.Rows)/el.Seconds(), res.Rejected, res.Suppressed, skipped)
	fmt.Fprintf(w, "%s/%s version %d: %d rows in %d parts (%d new)\n", res.Dataset, res.Table, res.Manifest.Seq, res.Manifest.Rows, len(res.Manifest.Parts), res.Parts)
	fmt.Fprintf(c.App.ErrWriter, "next: prevoir%s datasets describe --dataset %s\n", storeFlagText(c), res.Dataset)
}

// parseMapping adds "canonical=SOURCE[,canonical=SOURCE...]" to m.
func parseMapping(s string, m map[string]string) error {
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return fmt.Errorf("%q: want canonical=SOURCE (e.g. customer_id=CustomerID or customer_id=#1)", item)
		}
		if prev, dup := m[k]; dup && prev != v {
			return fmt.Errorf("%s is mapped twice (%s and %s)", k, prev, v)
		}
		m[k] = v
	}
	return nil
}

// readMapFile reads canonical=SOURCE lines; SOURCE may contain commas.
func readMapFile(path string, m map[string]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return fmt.Errorf("%s:%d: want canonical=SOURCE", path, i+1)
		}
		m[k] = v
	}
	return nil
}
