package offers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// Options describe one offers run.
type Options struct {
	// Dataset is the dataset to score (required).
	Dataset string
	// Model is NAME@ALIAS or NAME@VERSION of a propensity model.
	Model string
	// AsOf is the scoring date, YYYY-MM-DD, latest (default) or today.
	AsOf string
	// Top is the offers per customer (0: DefaultTop).
	Top int
	// ExcludeBought drops items the customer bought in that span before
	// as_of (zero: none).
	ExcludeBought datasets.Span
	// Rules are the eligibility rules (nil: none).
	Rules *Rules
	// Level, AssocK and PopularK build the scoring features of a model
	// whose lineage does not record them (an imported one); zero: the
	// model's, else the defaults. A value the model's lineage contradicts
	// is refused.
	Level            string
	AssocK, PopularK int
	// Kinds are the model kinds that can be loaded (nil: logistic only).
	Kinds models.Kinds
	// Format is the parts' format (publish.FormatParquet by default).
	Format string
	// Shard and Shards: with Shards > 1 only the customers with
	// features.ShardOf(customer_id, Shards) == Shard are scored, for
	// publish.Commit.
	Shard, Shards int
	// PrevoirVersion is recorded in the manifest.
	PrevoirVersion string
	// Now is the creation time recorded (default time.Now).
	Now func() time.Time
}

// Result is what Score did.
type Result struct {
	Manifest       *publish.Manifest
	Features       *features.Manifest
	FeaturesReused bool
	// Removed counts what each rule removed.
	Removed Removed
}

// Score publishes the offers of every customer of the propensity scoring
// feature table as of o.AsOf (built without labels with the model's
// level and candidate options, or reused) under
// scores/<dataset>/propensity/<as_of>/offers/.
func Score(ctx context.Context, st datasets.Store, o Options) (*Result, error) {
	if o.Dataset == "" {
		return nil, datasets.Fieldf("Dataset", "", "scoring needs a dataset")
	}
	if o.Top == 0 {
		o.Top = DefaultTop
	}
	if o.Top < 1 {
		return nil, datasets.Fieldf("Top", strconv.Itoa(o.Top), "want at least 1")
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
	fr, err := features.Build(ctx, st, fo)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	fm := fr.Manifest
	cat, notes, err := readCatalogue(ctx, st, o.Dataset, fm, o.Rules)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	sel := Selection{Top: o.Top, ExcludeBoughtDays: o.ExcludeBought.Days, Rules: o.Rules, Level: fm.Params.Level}
	sc, err := NewScorer(m, fm, o.AsOf, sel, cat)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	// The scorer's counts fill while it scores; the manifest is encoded
	// after the last batch.
	removed := sc.removed
	params := map[string]any{"top": o.Top, "level": fm.Params.Level, "lookback": fm.Params.Lookback,
		"assoc_k": fm.Params.AssocK, "popular_k": fm.Params.PopularK, "exclude_bought": o.ExcludeBought.String(),
		"removed": removed, "candidates": fm.Candidates}
	if o.ExcludeBought.Days == 0 {
		params["exclude_bought"] = "off"
	}
	if o.Rules != nil {
		params["rules"] = o.Rules
	}
	lin := publish.Lineage{
		Model:  &publish.ModelRef{Name: name, Version: version, Kind: card.Kind, CardSHA256: lm.CardSHA256},
		Params: params, Notes: notes,
	}
	if err := lin.FromFeatures(ctx, st, fm); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	var keep func(string) bool
	if o.Shards > 1 {
		keep = func(id string) bool { return features.ShardOf(id, o.Shards) == o.Shard }
	}
	rows := func(ctx context.Context, fn func([]any) error) error { return features.Rows(ctx, st, fm, fn) }
	src := sc.Source(rows, keep)
	pm, err := publish.Publish(ctx, st, publish.Options{
		Dataset: o.Dataset, Task: Task, AsOf: o.AsOf, Format: o.Format, Lineage: lin,
		Shard: o.Shard, Shards: o.Shards, PrevoirVersion: o.PrevoirVersion, Now: o.Now, BatchRows: 256,
	}, src, sc)
	if pm == nil {
		return nil, err
	}
	return &Result{Manifest: pm, Features: fm, FeaturesReused: fr.Reused, Removed: sc.Removed()}, err
}

// featureOptions are the scoring feature table's: no labels, and the
// lookback, level and candidate options the model was trained with (its
// lineage; defaults for an imported model).
func featureOptions(o Options, card *models.Card) (features.Options, error) {
	fo := features.Options{Dataset: o.Dataset, Task: Task, AsOf: o.AsOf, Lookback: features.DefaultLookback, Now: o.Now,
		Level: o.Level, AssocK: o.AssocK, PopularK: o.PopularK}
	if card.Lineage == nil {
		return fo, nil
	}
	ex := card.Lineage.Extra
	if s, ok := ex["lookback"].(string); ok && s != "" {
		span, err := datasets.ParseSpan(s)
		if err != nil {
			return fo, fmt.Errorf("score: model %s@%d: lineage lookback %q: %w", card.Name, card.Version, s, err)
		}
		fo.Lookback = span
	}
	ref := fmt.Sprintf("%s@%d", card.Name, card.Version)
	if s, ok := ex["level"].(string); ok && s != "" {
		if fo.Level != "" && fo.Level != s {
			return fo, datasets.Fieldf("Level", fo.Level, "model %s was trained at level %s", ref, s)
		}
		fo.Level = s
	}
	for _, k := range []struct {
		field, key string
		v          *int
	}{{"AssocK", "assoc_k", &fo.AssocK}, {"PopularK", "popular_k", &fo.PopularK}} {
		if n := intOf(ex[k.key]); n != 0 {
			if *k.v != 0 && *k.v != n {
				return fo, datasets.Fieldf(k.field, strconv.Itoa(*k.v), "model %s was trained with %s %d", ref, k.key, n)
			}
			*k.v = n
		}
	}
	return fo, nil
}

func intOf(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	}
	return 0
}

// readCatalogue reads what the rules need: the products table's
// categories and prices, and the stock on hand before as_of. Without
// rules it reads nothing.
func readCatalogue(ctx context.Context, st datasets.Store, dataset string, fm *features.Manifest, r *Rules) (*Catalogue, []string, error) {
	cat := &Catalogue{Category: map[string]string{}, Price: map[string]float64{}}
	if r == nil || fm.Params.Level != features.LevelProduct {
		if r != nil && r.InStock {
			return cat, []string{"in_stock is not applied at category level"}, nil
		}
		return cat, nil, nil
	}
	var notes []string
	pm, err := datasets.ReadManifest(ctx, st, dataset, "products")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !r.Deny.empty() && len(r.Deny.Categories) > 0 || len(r.Allow.Categories) > 0 || r.MaxPerCategory > 0 {
			notes = append(notes, "no products table: products have no category (category rules match nothing)")
		}
	case err != nil:
		return nil, nil, err
	default:
		for _, p := range pm.Parts {
			rows, err := datasets.ReadPart(ctx, st, datasets.Products, p.Key)
			if err != nil {
				return nil, nil, err
			}
			for _, pr := range rows {
				if pr.Category != "" {
					cat.Category[pr.ProductID] = pr.Category
				}
				if pr.Price != nil {
					cat.Price[pr.ProductID] = *pr.Price
				}
			}
		}
	}
	if !r.InStock {
		return cat, notes, nil
	}
	sm, err := datasets.ReadManifest(ctx, st, dataset, "stock")
	if errors.Is(err, fs.ErrNotExist) {
		return cat, append(notes, "no stock table: in_stock is not applied"), nil
	}
	if err != nil {
		return nil, nil, err
	}
	asOf := fm.AsOfTime.UnixMicro()
	type key struct{ product, warehouse string }
	latest := map[key]datasets.StockLevel{}
	for _, p := range sm.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.Stock, p.Key)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range rows {
			if s.AsOf >= asOf {
				continue
			}
			k := key{s.ProductID, s.Warehouse}
			if cur, ok := latest[k]; !ok || s.AsOf > cur.AsOf {
				latest[k] = s
			}
		}
	}
	cat.OnHand = map[string]float64{}
	for k, s := range latest {
		cat.OnHand[k.product] += s.OnHand
	}
	return cat, notes, nil
}
