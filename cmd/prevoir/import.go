package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt"
	"github.com/prevoir/prevoir/models/registry"
)

// maxSchemaFile bounds a --schema file.
const maxSchemaFile = 16 << 20

// modelsImportCommand is `prevoir models import`: the models command group
// lists it among its subcommands.
func modelsImportCommand() *cli.Command {
	a := &modelImportArgs{}
	return &cli.Command{
		Name:      "import",
		Usage:     "import a LightGBM or XGBoost model file as a new version, checked and bound to a feature schema",
		ArgsUsage: " ",
		Description: `The format is read from the file's bytes (--format only confirms it):
LightGBM text (v2, v3, v4) and dump_model() JSON, XGBoost JSON and UBJSON,
XGBoost binary up to 0.90. Every size inside the file is checked against
the file and the limits before anything is allocated; a file that is not a
supported model is refused with what it looks like. Features bind by the
file's names (reordering columns if needed), or by position when the file
has none (LightGBM Column_<i>, XGBoost f<i>). With --reference, the import
fails unless every score is within --tolerance * max(1, |framework|) of
the file's "prediction" column. See docs/GBDT.md.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "the model's name in the registry", Required: true, Destination: &a.name},
			&cli.StringFlag{Name: "file", Usage: "the model file", Required: true, Destination: &a.file},
			&cli.StringFlag{Name: "task", Usage: "bind to this task's current feature schema (churn, ...)", Destination: &a.opts.Task},
			&cli.StringFlag{Name: "dataset", Usage: "with --task: the dataset whose feature table gives the schema, recorded in the card (default: the store's only dataset with such a table)", Destination: &a.dataset},
			&cli.StringFlag{Name: "schema", Usage: `bind to this schema: a JSON array of {"name": ..., "kind": "numeric"|"categorical"}; may be left out when the file names its features`, Destination: &a.schema},
			&cli.BoolFlag{Name: "force", Usage: "register even when the file's SHA-256 equals the latest version's, or that version is of another dataset", Destination: &a.force},
			&cli.StringFlag{Name: "format", Value: "auto", Usage: "auto, lgb-text, lgb-json, xgb-bin, xgb-json or xgb-ubj", Destination: &a.format},
			&cli.StringFlag{Name: "reference", Usage: `a table (CSV, gzip or Parquet; a path or s3:// URL) of feature columns and a "prediction" column the framework computed`, Destination: &a.reference},
			&cli.StringFlag{Name: "reference-kind", Value: "response", Usage: `what "prediction" holds: response or raw`, Destination: &a.referenceKind},
			&cli.Float64Flag{Name: "tolerance", Value: gbdt.DefaultTolerance, Usage: "reference check: |prevoir - framework| <= tolerance * max(1, |framework|)", Destination: &a.opts.Tolerance},
			&cli.StringFlag{Name: "max-bytes", Value: "256MiB", Usage: "the largest model file read (B, KiB, MiB, GiB)", Destination: &a.maxBytes},
			&cli.StringFlag{Name: "objective", Usage: "the objective, only for files that do not name one (old LightGBM JSON dumps): binary, regression, poisson, gamma, tweedie", Destination: &a.opts.Objective},
			&cli.IntFlag{Name: "iterations", Usage: "score with only the first N trees (LightGBM num_iteration, XGBoost ntree_limit); 0 = all", Destination: &a.opts.Iterations},
		},
		Action: func(c *cli.Context) error { return modelsImport(c, a) },
	}
}

// modelImportArgs holds models import's flags: the task, objective,
// iterations and tolerance bind into gbdt.Options, the others are parsed
// into them by modelsImport.
type modelImportArgs struct {
	opts                                                                    gbdt.Options
	name, file, dataset, schema, format, reference, referenceKind, maxBytes string
	force                                                                   bool
}

func modelsImport(c *cli.Context, a *modelImportArgs) error {
	if err := needArgs(c, 0, 0, "--name NAME --file F [--task T | --schema S]"); err != nil {
		return err
	}
	name := a.name
	if err := registry.ValidName(name); err != nil {
		return &usageError{err: fmt.Errorf("models import: --name: %w", err)}
	}
	task, schemaPath := a.opts.Task, a.schema
	if task != "" && schemaPath != "" {
		return usageErrorf("models import: give one of --task and --schema, not both")
	}
	maxBytes, err := parseBytes(a.maxBytes)
	if err != nil {
		return usageErrorf("models import: --max-bytes: %v", err)
	}
	format := gbdt.Format(a.format)
	switch format {
	case gbdt.FormatAuto, gbdt.FormatLightGBMText, gbdt.FormatLightGBMJSON, gbdt.FormatXGBoostBinary, gbdt.FormatXGBoostJSON, gbdt.FormatXGBoostUBJSON:
	default:
		return usageErrorf("models import: --format %q: want auto, lgb-text, lgb-json, xgb-bin, xgb-json or xgb-ubj", format)
	}
	opts := a.opts
	opts.Format, opts.Limits = format, gbdt.Limits{MaxBytes: maxBytes}
	if !(opts.Tolerance >= 0) {
		return usageErrorf("models import: --tolerance %v: want a number >= 0", opts.Tolerance)
	}
	switch k := a.referenceKind; k {
	case "response":
	case "raw":
		opts.ReferenceKind = models.Raw
	default:
		return usageErrorf("models import: --reference-kind %q: want response or raw", k)
	}
	if schemaPath != "" {
		if opts.Schema, err = readSchemaFile(schemaPath); err != nil {
			return fmt.Errorf("models import: --schema %s: %w", schemaPath, err)
		}
	} else if task != "" {
		if opts.Schema, err = currentTaskSchema(c.Context, c, a.dataset, task); err != nil {
			return fmt.Errorf("models import: %w", err)
		}
	}
	if ref := a.reference; ref != "" {
		rt, err := openInputTable(c.Context, ref)
		if err != nil {
			return fmt.Errorf("models import: --reference: %w", err)
		}
		defer rt.Close()
		opts.Reference = rt
	}
	path := a.file
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("models import: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("models import: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("models import: %s is not a regular file", path)
	}
	m, err := gbdt.Import(c.Context, f, st.Size(), opts)
	if err != nil {
		return fmt.Errorf("models import %s: %w", path, err)
	}
	card := m.Card()
	if opts.Schema == nil && !namesFeatures(card) {
		return usageErrorf("models import: %s names no features (they read %s, ...): give --schema FILE or --task T to bind them", path, card.Inputs.Features[0].Name)
	}
	if ds := a.dataset; ds != "" {
		if card.Lineage == nil {
			card.Lineage = &models.Lineage{}
		}
		card.Lineage.Dataset = ds
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	if prev, err := latestCard(c.Context, reg, name); err != nil {
		return err
	} else if prev != nil && prev.Source != nil && card.Source != nil && prev.Source.SHA256 == card.Source.SHA256 && !a.force {
		if wantJSON(c) {
			return printJSON(c, map[string]any{"name": name, "version": prev.Version, "registered": false, "sha256": prev.Source.SHA256})
		}
		fmt.Fprintf(out(c), "%s@%d already holds this file (sha256 %s): nothing registered (--force registers it again)\n", name, prev.Version, prev.Source.SHA256)
		return nil
	}
	if err := checkScope(c.Context, reg, name, card, a.force); err != nil {
		return err
	}
	file := &registry.File{Name: storedFileName(gbdt.Format(card.Source.Format)), Body: io.NewSectionReader(f, 0, st.Size()), Size: st.Size()}
	stored, err := reg.Register(c.Context, name, card, file)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		return printJSON(c, stored)
	}
	w := out(c)
	s := stored.Source
	fmt.Fprintf(w, "imported %s@%d: %s %s (%s, %s), %d trees, %d inputs, link %s, output %s\n",
		stored.Name, stored.Version, stored.Kind, s.Format, s.Objective, s.Booster, s.Trees, len(stored.Inputs.Features), stored.Link, stored.Output)
	if rc := s.Reference; rc != nil {
		fmt.Fprintf(w, "reference check %s: %d rows, max |diff| %.3g, max relative %.3g (tolerance %g): passed\n", rc.File, rc.Rows, rc.MaxDiff, rc.MaxRel, rc.Tolerance)
	}
	printWarnings(c, stored.Warnings)
	return nil
}

// namesFeatures reports whether an imported model's inputs carry the
// file's own feature names, not the names given by position (f0, f1 for
// XGBoost; Column_0 for LightGBM).
func namesFeatures(card *models.Card) bool {
	for _, f := range card.Inputs.Features {
		n := f.Name
		if rest, ok := strings.CutPrefix(n, "Column_"); ok {
			n = rest
		} else if rest, ok := strings.CutPrefix(n, "f"); ok {
			n = rest
		} else {
			return true
		}
		if _, err := strconv.Atoi(n); err != nil {
			return true
		}
	}
	return false
}

// storedFileName names the model file in the version folder.
func storedFileName(f gbdt.Format) string {
	switch f {
	case gbdt.FormatLightGBMText:
		return "model.txt"
	case gbdt.FormatLightGBMJSON, gbdt.FormatXGBoostJSON:
		return "model.json"
	case gbdt.FormatXGBoostUBJSON:
		return "model.ubj"
	}
	return "model.bin"
}

// readSchemaFile reads an ordered JSON array of features.
func readSchemaFile(path string) (*features.Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSchemaFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSchemaFile {
		return nil, fmt.Errorf("larger than %d MiB", maxSchemaFile>>20)
	}
	var fs []features.Feature
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fs); err != nil {
		return nil, fmt.Errorf(`want a JSON array of {"name": ..., "kind": "numeric"|"categorical"}: %w`, err)
	}
	s := &features.Schema{Features: fs}
	if len(fs) == 0 {
		return nil, errors.New("no features")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseBytes reads 256MiB, 1GiB, 512KiB or a plain byte count.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(v), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q: want a positive size such as 256MiB", s)
	}
	return n * mult, nil
}
