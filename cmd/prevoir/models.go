package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/datasets/stores"
	"github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/models/gbdt"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/negbin"
	"github.com/prevoir/prevoir/models/registry"
)

// maxDocument bounds a register document read into memory.
const maxDocument = 64 << 20

// modelsArgs holds the flags of the models subcommands (import's are in
// modelImportArgs).
type modelsArgs struct {
	lsDataset        string
	showAll, diffAll bool
	alias            string
	register         struct{ name, file, task string }
	predict          struct {
		filter                    privacy.InputOptions // --channel binds into Channel
		ids                       cli.StringSlice
		input, output, outputKind string
	}
}

func modelsCommand() *cli.Command {
	a := &modelsArgs{}
	return &cli.Command{
		Name:  "models",
		Usage: "the model registry: versions, aliases, cards, batch prediction",
		Description: `Models live in the store under models/<name>/<version>/ with an
immutable card.json; aliases (champion, challenger...) are in
models/<name>/aliases.json. A model reference is NAME[@REF] where REF is a
version number, an alias or "latest" (the default).`,
		Subcommands: []*cli.Command{
			{
				Name:      "ls",
				Usage:     "list every version of every model (or of one model): dataset, task, kind, key metric, aliases",
				ArgsUsage: "[NAME]",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "dataset", Usage: "only the models of dataset `NAME`", Destination: &a.lsDataset}},
				Action:    func(c *cli.Context) error { return modelsList(c, a) },
			},
			{
				Name:      "show",
				Usage:     "print a version's card, metrics as tables",
				ArgsUsage: "NAME[@REF]",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "also print the bins: deciles, calibration, search points, curve points", Destination: &a.showAll}},
				Action:    func(c *cli.Context) error { return modelsShow(c, a) },
			},
			{
				Name:      "promote",
				Usage:     "point an alias at a version (moving it if it pointed elsewhere)",
				ArgsUsage: "NAME@VERSION",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "alias", Usage: "the alias to set, e.g. champion", Destination: &a.alias},
				},
				Action: func(c *cli.Context) error { return modelsPromote(c, a) },
			},
			{
				Name:      "diff",
				Usage:     "compare the cards of two versions: parameters, schema and headline metrics first",
				ArgsUsage: "NAME[@REF] NAME[@REF]",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "also compare the bins: deciles, calibration, search points, curve points", Destination: &a.diffAll}},
				Action:    func(c *cli.Context) error { return modelsDiff(c, a) },
			},
			{
				Name:      "rm",
				Usage:     "delete a version (refused while an alias points at it; its number is never reused)",
				ArgsUsage: "NAME@VERSION",
				Action:    modelsRemove,
			},
			{
				Name:  "register",
				Usage: "register a logistic model fitted elsewhere from a JSON document",
				Description: `The document is {"kind": "logistic", "features": [design columns in order],
"intercept": b, "coefficients": {name: w}, "preprocessing": {"mean": {name: m},
"scale": {name: s}, "encoders": {input: [levels]}, "impute": {input: v}}}
(preprocessing optional; see docs/MODELS.md).`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "the model's name", Destination: &a.register.name},
					&cli.StringFlag{Name: "file", Usage: "the model document (JSON); '-' reads stdin", Destination: &a.register.file},
					&cli.StringFlag{Name: "task", Usage: "the prevoir task the model scores (recorded in the card)", Destination: &a.register.task},
				},
				Action: func(c *cli.Context) error { return modelsRegister(c, a) },
			},
			{
				Name:      "predict",
				Usage:     "score a table (CSV or Parquet, local or s3://) with a model; CSV out",
				ArgsUsage: "NAME[@REF]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "input", Usage: "the table to score: a CSV (, ; or tab) or Parquet file, or an s3://bucket/key URL", Destination: &a.predict.input},
					&cli.StringFlag{Name: "output", Usage: "where to write the scores (CSV): a file, an s3://bucket/key URL, or '-' (the default) for stdout; a failed prediction leaves no output", Destination: &a.predict.output},
					&cli.StringSliceFlag{Name: "id", Usage: "a column copied to the output before the score (repeatable, in order)", Destination: &a.predict.ids},
					&cli.StringFlag{Name: "output-kind", Value: "response", Usage: "response (probability, count or value) or raw (the framework's raw margin)", Destination: &a.predict.outputKind},
					&cli.StringFlag{Name: "channel", Usage: "also drop customers opted out of `C` (email, sms, all); needs --id customer_id", Destination: &a.predict.filter.Channel},
				},
				Action: func(c *cli.Context) error { return modelsPredict(c, a) },
			},
			modelsImportCommand(), // import.go: LightGBM and XGBoost files
			modelsHistoryCommand(),
		},
	}
}

// openRegistry opens the registry of the --store.
func openRegistry(c *cli.Context) (*registry.Registry, error) {
	st, err := openStore(c)
	if err != nil {
		return nil, err
	}
	return registry.New(st, registryOptions()), nil
}

// modelKinds are the kinds of model this binary registers and loads.
func modelKinds() models.Kinds {
	return append(models.Kinds{logistic.Kind(), negbin.Kind(), btyd.Kind()}, gbdt.Kinds()...)
}

// refArg parses a positional NAME[@REF]: a malformed one is a usage error.
func refArg(c *cli.Context, s string) (name, ref string, err error) {
	name, ref, err = registry.ParseRef(s)
	if err != nil {
		return "", "", &usageError{err: fmt.Errorf("models %s: %w", c.Command.Name, err)}
	}
	return name, ref, nil
}

// versionArg parses a positional NAME@VERSION (an explicit number).
func versionArg(c *cli.Context, s string) (name string, version int, err error) {
	name, ref, err := refArg(c, s)
	if err != nil {
		return "", 0, err
	}
	v, perr := strconv.Atoi(ref)
	if !strings.Contains(s, "@") || perr != nil || v <= 0 {
		return "", 0, usageErrorf("models %s: %q: want NAME@VERSION with a version number", c.Command.Name, s)
	}
	return name, v, nil
}

func modelsList(c *cli.Context, a *modelsArgs) error {
	if err := needArgs(c, 0, 1, "[NAME]"); err != nil {
		return err
	}
	name := c.Args().First()
	if name != "" {
		if err := registry.ValidName(name); err != nil {
			return &usageError{err: err}
		}
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	entries, err := reg.List(c.Context, name)
	if err != nil {
		return err
	}
	type row struct {
		registry.Entry
		Dataset   string `json:"dataset"`
		KeyMetric string `json:"key_metric"`
	}
	rows := []row{}
	for _, e := range entries {
		card, err := reg.Card(c.Context, e.Name, e.Version)
		if err != nil {
			return err
		}
		r := row{Entry: e, Dataset: cardDataset(card), KeyMetric: keyMetric(card)}
		if ds := a.lsDataset; ds != "" && r.Dataset != ds {
			continue
		}
		rows = append(rows, r)
	}
	if wantJSON(c) {
		return printJSON(c, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(out(c), "no models in %s (prevoir train --task churn --as-of latest --name churn)\n", reg.Store().URL())
		return nil
	}
	tw := tabwriter.NewWriter(out(c), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tDATASET\tTASK\tKIND\tKEY METRIC\tALIASES\tCREATED")
	for _, e := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.Version, dash(e.Dataset), dash(e.Task), e.Kind, e.KeyMetric, dash(strings.Join(e.Aliases, ",")), e.Created.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// loadCard resolves a NAME[@REF] argument and reads its card.
func loadCard(c *cli.Context, reg *registry.Registry, arg string) (*models.Card, error) {
	name, ref, err := refArg(c, arg)
	if err != nil {
		return nil, err
	}
	v, err := reg.Resolve(c.Context, name, ref)
	if err != nil {
		return nil, err
	}
	return reg.Card(c.Context, name, v)
}

func modelsShow(c *cli.Context, a *modelsArgs) error {
	if err := needArgs(c, 1, 1, "NAME[@REF]"); err != nil {
		return err
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	card, err := loadCard(c, reg, c.Args().First())
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c, card)
	}
	aliases, err := reg.Aliases(c.Context, card.Name)
	if err != nil {
		return err
	}
	var mine []string
	for a, v := range aliases {
		if v == card.Version {
			mine = append(mine, a)
		}
	}
	sort.Strings(mine)
	w := out(c)
	fmt.Fprintf(w, "model:       %s@%d\n", card.Name, card.Version)
	fmt.Fprintf(w, "kind:        %s\n", card.Kind)
	if card.Task != "" {
		fmt.Fprintf(w, "task:        %s\n", card.Task)
	}
	if ds := cardDataset(card); ds != "" {
		fmt.Fprintf(w, "dataset:     %s\n", ds)
	}
	fmt.Fprintf(w, "output:      %s (link %s)\n", dash(card.Output), dash(card.Link))
	fmt.Fprintf(w, "aliases:     %s\n", dash(strings.Join(mine, ", ")))
	fmt.Fprintf(w, "created:     %s\n", card.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "prevoir:     %s\n", dash(card.PrevoirVersion))
	fmt.Fprintf(w, "schema:      %d inputs, fingerprint %s\n", len(card.Inputs.Features), card.SchemaFingerprint)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range card.Inputs.Features {
		fmt.Fprintf(tw, "  %s\t%s\n", f.Name, f.Kind)
	}
	tw.Flush()
	if card.Intercept != nil {
		fmt.Fprintf(w, "intercept:   %s\n", strconv.FormatFloat(*card.Intercept, 'g', -1, 64))
	}
	if len(card.Coefficients) > 0 {
		title, order := "coefficients (standardised):", card.Inputs.Names()
		if card.Preprocessing != nil && len(card.Preprocessing.Features) > 0 {
			order = card.Preprocessing.Features
		}
		if card.Kind == btyd.KindName {
			title, order = "parameters (in the summary's unit):", btyd.ParamNames
		}
		fmt.Fprintln(w, title)
		for _, d := range order {
			if v, ok := card.Coefficients[d]; ok {
				fmt.Fprintf(tw, "  %s\t%s\n", d, strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		tw.Flush()
	}
	if card.Source != nil {
		fmt.Fprintf(w, "source:      %s, sha256 %s, %d bytes\n", card.Source.Format, card.Source.SHA256, card.Source.Size)
	}
	if len(card.Metrics) > 0 {
		fmt.Fprintln(w, "metrics:")
		printMetrics(w, card.Metrics, a.showAll)
	}
	for _, warn := range card.Warnings {
		fmt.Fprintf(w, "warning:     %s\n", warn)
	}
	return nil
}

func modelsPromote(c *cli.Context, a *modelsArgs) error {
	if err := needArgs(c, 1, 1, "NAME@VERSION --alias ALIAS"); err != nil {
		return err
	}
	name, ref, err := refArg(c, c.Args().First())
	if err != nil {
		return err
	}
	if !strings.Contains(c.Args().First(), "@") {
		return usageErrorf("models promote: %q: want NAME@VERSION", c.Args().First())
	}
	alias := a.alias
	if alias == "" {
		return usageErrorf("models promote: --alias is required")
	}
	if err := registry.ValidAlias(alias); err != nil {
		return &usageError{err: fmt.Errorf("models promote: %w", err)}
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	v, err := reg.Resolve(c.Context, name, ref)
	if err != nil {
		return err
	}
	prev, err := reg.Promote(c.Context, name, v, alias)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c, map[string]any{"name": name, "alias": alias, "version": v, "previous": prev})
	}
	switch {
	case prev == 0:
		fmt.Fprintf(out(c), "%s@%s -> %d\n", name, alias, v)
	case prev == v:
		fmt.Fprintf(out(c), "%s@%s -> %d (unchanged)\n", name, alias, v)
	default:
		fmt.Fprintf(out(c), "%s@%s -> %d (was %d)\n", name, alias, v, prev)
	}
	return nil
}

func modelsDiff(c *cli.Context, args *modelsArgs) error {
	if err := needArgs(c, 2, 2, "NAME[@REF] NAME[@REF]"); err != nil {
		return err
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	a, err := loadCard(c, reg, c.Args().Get(0))
	if err != nil {
		return err
	}
	b, err := loadCard(c, reg, c.Args().Get(1))
	if err != nil {
		return err
	}
	all, err := models.Diff(a, b)
	if err != nil {
		return err
	}
	// Parameters, schema and headline metrics first; bins only with --all.
	sort.SliceStable(all, func(i, j int) bool {
		ri, _ := diffRank(all[i].Path)
		rj, _ := diffRank(all[j].Path)
		return ri < rj
	})
	var changes []models.Change
	hidden := 0
	for _, ch := range all {
		if _, bin := diffRank(ch.Path); bin && !args.diffAll {
			hidden++
			continue
		}
		changes = append(changes, ch)
	}
	if wantJSON(c) {
		// Machine-readable: every change, bins included, in the same order.
		changes = all
		if changes == nil {
			changes = []models.Change{}
		}
		return printJSON(c, map[string]any{
			"a":       fmt.Sprintf("%s@%d", a.Name, a.Version),
			"b":       fmt.Sprintf("%s@%d", b.Name, b.Version),
			"changes": changes,
		})
	}
	w := out(c)
	fmt.Fprintf(w, "a: %s@%d\nb: %s@%d\n", a.Name, a.Version, b.Name, b.Version)
	if len(changes) == 0 && hidden == 0 {
		fmt.Fprintln(w, "no differences")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tA\tB\tB-A")
	for _, ch := range changes {
		delta := ""
		if fa, ok := ch.A.(float64); ok {
			if fb, ok := ch.B.(float64); ok {
				delta = strconv.FormatFloat(fb-fa, 'g', 6, 64)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.Path, showValue(ch.A), showValue(ch.B), delta)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if hidden > 0 {
		fmt.Fprintf(w, "(%d differences in bins: deciles, calibration, search points, curve points; --all shows them)\n", hidden)
	}
	return nil
}

// showValue prints a card value in one short cell.
func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func modelsRemove(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "NAME@VERSION"); err != nil {
		return err
	}
	name, v, err := versionArg(c, c.Args().First())
	if err != nil {
		return err
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	if err := reg.Remove(c.Context, name, v); err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c, map[string]any{"name": name, "version": v, "removed": true})
	}
	fmt.Fprintf(out(c), "removed %s@%d\n", name, v)
	return nil
}

func modelsRegister(c *cli.Context, a *modelsArgs) error {
	if err := needArgs(c, 0, 0, "--name NAME --file model.json"); err != nil {
		return err
	}
	name := a.register.name
	if name == "" || a.register.file == "" {
		return usageErrorf("models register: --name and --file are required")
	}
	if err := registry.ValidName(name); err != nil {
		return &usageError{err: fmt.Errorf("models register: --name: %w", err)}
	}
	file := a.register.file
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("models register: %w", err)
		}
		defer f.Close()
		r = f
	} else {
		file = "stdin"
	}
	data, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return fmt.Errorf("models register: %s: %w", file, err)
	}
	if len(data) > maxDocument {
		return fmt.Errorf("models register: %s: larger than %d MiB", file, maxDocument>>20)
	}
	card, err := logistic.ParseDocument(data)
	if err != nil {
		return fmt.Errorf("models register: %s: %w", file, err)
	}
	if t := a.register.task; t != "" {
		card.Task = t
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	stored, err := reg.Register(c.Context, name, card, &registry.File{Name: "model.json", Body: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c, stored)
	}
	fmt.Fprintf(out(c), "registered %s@%d (%s, %d inputs)\n", stored.Name, stored.Version, stored.Kind, len(stored.Inputs.Features))
	return nil
}

func modelsPredict(c *cli.Context, a *modelsArgs) error {
	if err := needArgs(c, 1, 1, "NAME[@REF] --input FILE [--output out.csv] [--id COL...] [--output-kind response|raw]"); err != nil {
		return err
	}
	name, ref, err := refArg(c, c.Args().First())
	if err != nil {
		return err
	}
	if a.predict.input == "" {
		return usageErrorf("models predict: --input is required")
	}
	var kind models.OutputKind
	switch k := a.predict.outputKind; k {
	case "response", "":
		kind = models.Response
	case "raw":
		kind = models.Raw
	default:
		return usageErrorf("models predict: --output-kind %q: want response or raw", k)
	}
	ids := a.predict.ids.Value()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return usageErrorf("models predict: --id %q given twice", id)
		}
		seen[id] = true
	}
	dest := a.predict.output
	var outBucket, outKey string
	if stores.IsRemote(dest) {
		var err error
		if outBucket, outKey, err = s3Object(dest); err != nil {
			return usageErrorf("models predict: --output: %v", err)
		}
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	v, err := reg.Resolve(c.Context, name, ref)
	if err != nil {
		return err
	}
	m, err := reg.Load(c.Context, name, v)
	if err != nil {
		return err
	}
	in, err := openInputTable(c.Context, a.predict.input)
	if err != nil {
		return fmt.Errorf("models predict: %w", err)
	}
	defer in.Close()
	// Forgotten customers, and those opted out of --channel, are not scored.
	pst, err := openStore(c)
	if err != nil {
		return err
	}
	filter := a.predict.filter
	filter.IDs = ids
	fin, err := privacy.FilterInput(c.Context, pst, in, filter)
	if err != nil {
		return err
	}
	defer func() {
		if fin.Dropped() > 0 {
			fmt.Fprintf(c.App.ErrWriter, "dropped %d rows: %d of forgotten customers, %d opted out of %s\n", fin.Dropped(), fin.Forgotten, fin.OptedOut, filter.Channel)
		}
	}()
	opts := models.PredictOptions{IDs: ids, Kind: kind}
	if dest == "" || dest == "-" {
		bw := bufio.NewWriterSize(out(c), 64<<10)
		if _, err := models.Predict(c.Context, m, fin, bw, opts); err != nil {
			return fmt.Errorf("models predict %s@%d: %w", name, v, err)
		}
		return bw.Flush()
	}
	var rows int
	write := func(w io.Writer) error {
		var err error
		rows, err = models.Predict(c.Context, m, fin, w, opts)
		return err
	}
	if outBucket != "" {
		err = writeRemoteOutput(c.Context, outBucket, outKey, write)
	} else {
		err = writeOutputAtomic(dest, write)
	}
	if err != nil {
		return fmt.Errorf("models predict %s@%d: %w", name, v, err)
	}
	if wantJSON(c) {
		return printJSON(c, map[string]any{"model": name, "version": v, "input": a.predict.input, "output": dest, "rows": rows,
			"dropped_forgotten": fin.Forgotten, "dropped_opted_out": fin.OptedOut})
	}
	fmt.Fprintf(c.App.ErrWriter, "scored %d rows with %s@%d into %s\n", rows, name, v, dest)
	return nil
}

// openInputTable opens a table from a local path or an s3://bucket/key
// URL.
func openInputTable(ctx context.Context, src string) (*table.Reader, error) {
	if stores.IsRemote(src) {
		bucket, key, err := s3Object(src)
		if err != nil {
			return nil, err
		}
		st, err := openStoreURL(ctx, "s3://"+bucket)
		if err != nil {
			return nil, err
		}
		return table.OpenStore(ctx, st, key, src)
	}
	return table.OpenFile(src)
}

// s3Object splits an s3://bucket/key URL that names an object (not a
// bucket or a folder).
func s3Object(url string) (bucket, key string, err error) {
	bucket, key, err = stores.SplitS3URL(url)
	if err != nil {
		return "", "", err
	}
	if key == "" || strings.HasSuffix(url, "/") {
		return "", "", fmt.Errorf("%q: want s3://bucket/key", url)
	}
	return bucket, key, nil
}

// writeRemoteOutput streams what write writes to key in bucket. The
// object appears only once write has succeeded: an upload whose body
// fails is abandoned (a multipart upload is never completed).
func writeRemoteOutput(ctx context.Context, bucket, key string, write func(io.Writer) error) error {
	st, err := openStoreURL(ctx, "s3://"+bucket)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 64<<10)
		err := write(bw)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err) // nil: the upload reads EOF
		werr <- err
	}()
	_, perr := st.Put(ctx, key, pr, -1, datasets.PutOptions{ContentType: "text/csv"})
	pr.CloseWithError(perr) // a failed upload stops the writer
	if err := <-werr; err != nil {
		return err
	}
	if perr != nil {
		return fmt.Errorf("--output s3://%s/%s: %w", bucket, key, perr)
	}
	return nil
}

// writeOutputAtomic writes name through a temporary file in its folder,
// renamed into place only when write succeeds: a failed prediction leaves
// no partial output.
func writeOutputAtomic(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
