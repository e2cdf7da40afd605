package churn

import (
	"context"
	"fmt"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// Options describe one churn scoring run.
type Options struct {
	// Dataset is the dataset to score (required).
	Dataset string
	// Model is NAME@ALIAS or NAME@VERSION (NAME alone is its latest
	// version).
	Model string
	// AsOf is the scoring date, YYYY-MM-DD, or latest (the default: the
	// day after the orders' last timestamp) or today, as
	// datasets.ResolveAsOf reads them.
	AsOf string
	// Kinds are the model kinds that can be loaded (nil: logistic only,
	// as registry.Options says).
	Kinds models.Kinds
	// Format is the parts' format: publish.FormatParquet (default) or
	// publish.FormatCSV.
	Format string
	// Bands are the band thresholds; the zero value means DefaultBands.
	Bands Bands
	// Shard and Shards: with Shards > 1 only the customers with
	// features.ShardOf(customer_id, Shards) == Shard are scored, and their
	// parts are left for publish.Commit (`prevoir scores commit`).
	Shard, Shards int
	// PrevoirVersion is recorded in the manifest.
	PrevoirVersion string
	// Now is the creation time recorded (default time.Now).
	Now func() time.Time
}

// Result is what Score did.
type Result struct {
	Manifest *publish.Manifest
	// Features is the scoring feature table; FeaturesReused whether it
	// existed already.
	Features       *features.Manifest
	FeaturesReused bool
}

// Score publishes the churn scores of every customer of the scoring
// feature table as of o.AsOf (built without labels, or reused when it
// exists) with the model o.Model, under scores/<dataset>/churn/<as_of>/.
func Score(ctx context.Context, st datasets.Store, o Options) (*Result, error) {
	if o.Dataset == "" {
		return nil, datasets.Fieldf("Dataset", "", "scoring needs a dataset")
	}
	if o.Bands == (Bands{}) {
		o.Bands = DefaultBands
	}
	if err := o.Bands.Check(); err != nil {
		return nil, err
	}
	asOf, err := publish.ScoringDate(ctx, st, o.Dataset, o.AsOf, o.Now)
	if err != nil {
		return nil, err
	}
	o.AsOf = asOf
	lm, err := registry.New(st, registry.Options{Kinds: o.Kinds}).LoadForTask(ctx, o.Model, Task)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	m, name, version, card := lm.Model, lm.Name, lm.Version, lm.Model.Card()
	fo, err := featureOptions(o, card)
	if err != nil {
		return nil, err
	}
	in, err := BuildInput(ctx, st, card, fo)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	fm := in.Features
	sc, err := NewInputScorer(m, in, o.AsOf, o.Bands)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	lin := publish.Lineage{
		Model:  &publish.ModelRef{Name: name, Version: version, Kind: card.Kind, CardSHA256: lm.CardSHA256},
		Params: map[string]any{"bands": o.Bands, "feature_set": fo.FeatureSet, "lookback": fo.Lookback.String()},
	}
	if err := lin.FromFeatures(ctx, st, fm); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	if cf := in.CLVFeatures; cf != nil {
		cb, err := datasets.ReadAll(ctx, st, in.CLV.Key())
		if err != nil {
			return nil, fmt.Errorf("score: %w", err)
		}
		lin.Params["clv_features"] = map[string]any{"table": in.CLV.Key(), "manifest_sha256": publish.SHA256Hex(cb),
			"columns": []string{btyd.ChurnPAlive, cf.ExpectedColumn()}, "fitted_as_of": cf.FittedAsOf}
	}
	if !sc.Explains() {
		lin.Notes = append(lin.Notes, fmt.Sprintf(NoReasonsNote, card.Kind))
	}
	src := func(ctx context.Context, fn func([]any) error) error { return in.Rows(ctx, st, fn) }
	if o.Shards > 1 {
		id := sc.idCol
		src = func(ctx context.Context, fn func([]any) error) error {
			return in.Rows(ctx, st, func(r []any) error {
				if c, _ := r[id].(string); features.ShardOf(c, o.Shards) != o.Shard {
					return nil
				}
				return fn(r)
			})
		}
	}
	pm, err := publish.Publish(ctx, st, publish.Options{
		Dataset: o.Dataset, Task: Task, AsOf: o.AsOf, Format: o.Format, Lineage: lin,
		Shard: o.Shard, Shards: o.Shards, PrevoirVersion: o.PrevoirVersion, Now: o.Now,
	}, src, sc)
	if pm == nil {
		return nil, err
	}
	return &Result{Manifest: pm, Features: fm, FeaturesReused: in.Reused}, err
}

// featureOptions are the scoring feature table's: no labels, the model's
// lookback (default 365d), and the feature set whose columns the model
// takes.
func featureOptions(o Options, card *models.Card) (features.Options, error) {
	fo := features.Options{Dataset: o.Dataset, Task: Task, AsOf: o.AsOf, FeatureSet: features.SetChurn, Lookback: features.DefaultLookback, Now: o.Now}
	if card.Inputs.Index("frequency_30") >= 0 {
		fo.FeatureSet = features.SetRFMAnchor
	}
	if card.Lineage != nil {
		if s, ok := card.Lineage.Extra["lookback"].(string); ok && s != "" {
			span, err := datasets.ParseSpan(s)
			if err != nil {
				return fo, fmt.Errorf("score: model %s@%d: lineage lookback %q: %w", card.Name, card.Version, s, err)
			}
			fo.Lookback = span
		}
	}
	return fo, nil
}
