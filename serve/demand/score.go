package demand

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/negbin"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// Options describe one demand scoring run.
type Options struct {
	// Dataset is the dataset to forecast (required).
	Dataset string
	// Model is NAME@ALIAS or NAME@VERSION of a negbin demand model.
	Model string
	// AsOf is the forecast origin, YYYY-MM-DD, latest (the default) or
	// today, as datasets.ResolveAsOf reads them.
	AsOf string
	// Kinds are the model kinds that can be loaded (must list negbin).
	Kinds models.Kinds
	// Quantiles are published besides p50 and p90.
	Quantiles []float64
	// ServiceLevel is the critical fractile of the plan (default 0.95).
	ServiceLevel float64
	// Format is the parts' format (publish.FormatParquet by default).
	Format string
	// Shard and Shards: with Shards > 1 only the products with
	// features.ShardOf(product_id, Shards) == Shard are published, for
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
	Series         int
}

// Score publishes the demand forecast and the pre-positioning plan of
// every series of the scoring feature table as of o.AsOf (built without
// labels with the model's feature options, or reused), under
// scores/<dataset>/demand/<as_of>/.
func Score(ctx context.Context, st datasets.Store, o Options) (*Result, error) {
	if o.Dataset == "" {
		return nil, datasets.Fieldf("Dataset", "", "a forecast needs a dataset")
	}
	if o.ServiceLevel == 0 {
		o.ServiceLevel = DefaultServiceLevel
	}
	if !(o.ServiceLevel > 0 && o.ServiceLevel < 1) {
		return nil, datasets.Fieldf("ServiceLevel", strconv.FormatFloat(o.ServiceLevel, 'g', -1, 64), "want a probability strictly between 0 and 1")
	}
	asOf, err := publish.ScoringDate(ctx, st, o.Dataset, o.AsOf, o.Now)
	if err != nil {
		return nil, err
	}
	o.AsOf = asOf
	loaded, err := registry.New(st, registry.Options{Kinds: o.Kinds}).LoadForTask(ctx, o.Model, "")
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	name, version := loaded.Name, loaded.Version
	m, ok := loaded.Model.(*negbin.Model)
	card := loaded.Model.Card()
	if !ok || card.Task != Task {
		return nil, fmt.Errorf("score: model %s@%d is a %s %s model, not a negbin %s model", name, version, card.Kind, card.Task, Task)
	}
	fo, err := FeatureOptions(card)
	if err != nil {
		return nil, fmt.Errorf("score: model %s@%d: %w", name, version, err)
	}
	fo.Dataset, fo.AsOf, fo.Now = o.Dataset, o.AsOf, o.Now
	fr, err := features.Build(ctx, st, fo)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	fm := fr.Manifest
	frame, err := features.ReadFrame(ctx, st, fm)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	hist, err := features.ReadDemandHistory(ctx, st, fo)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	ranks := map[string]int{}
	for _, s := range hist.Series {
		ranks[s.Product] = s.Rank
	}
	stock, stockNote, err := ReadStock(ctx, st, o.Dataset, hist.AsOf)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	sc, err := NewScorer(m, frame, ScorerOptions{AsOf: o.AsOf, Horizon: fm.Params.Horizon, Starts: hist.Starts[hist.Lookback:],
		Quantiles: o.Quantiles, ServiceLevel: o.ServiceLevel, Ranks: ranks, Stock: stock})
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	lin := publish.Lineage{
		Model: &publish.ModelRef{Name: name, Version: version, Kind: card.Kind, CardSHA256: loaded.CardSHA256},
		Params: map[string]any{"period": fm.Params.Period, "horizon": fm.Params.Horizon, "measure": fm.Params.Measure,
			"top_products": fm.Params.TopProducts, "lookback": fm.Params.Lookback, "quantiles": append(append([]float64{}, DefaultQuantiles...), sc.extra...),
			"service_level": o.ServiceLevel, "alpha": card.Parameters[negbin.AlphaParam], "alpha_power": card.Parameters[negbin.AlphaPowerParam]},
		Notes: []string{HorizonNote, ServiceLevelNote, stockNote},
	}
	if err := lin.FromFeatures(ctx, st, fm); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	src := func(ctx context.Context, fn func([]any) error) error {
		row := make([]any, 1)
		for i := 0; i < sc.Series(); i++ {
			if o.Shards > 1 && features.ShardOf(sc.Product(i), o.Shards) != o.Shard {
				continue
			}
			row[0] = int64(i)
			if err := fn(row); err != nil {
				return err
			}
		}
		return nil
	}
	pm, err := publish.Publish(ctx, st, publish.Options{
		Dataset: o.Dataset, Task: Task, AsOf: o.AsOf, Format: o.Format, Lineage: lin,
		Shard: o.Shard, Shards: o.Shards, PrevoirVersion: o.PrevoirVersion, Now: o.Now,
	}, src, sc)
	if pm == nil {
		return nil, err
	}
	return &Result{Manifest: pm, Features: fm, FeaturesReused: fr.Reused, Series: sc.Series()}, err
}

// Notes recorded in every demand publication.
const (
	HorizonNote      = "preposition: the horizon's demand is the sum of the steps taken as independent: mean and variance are the sums of the steps', its distribution the negative binomial with that mean and variance"
	ServiceLevelNote = "preposition_qty is the service-level quantile of the horizon's demand (the newsvendor critical fractile, (price - cost) / (price - salvage) when those are known; the products table has no cost or salvage columns, so --service-level is used) minus stock_on_hand, floored at 0"
)

// FeatureOptions are the scoring feature table's options: the demand task
// with the period, horizon, lookback, top-products count and measure the
// model was trained with (its card's lineage).
func FeatureOptions(card *models.Card) (features.Options, error) {
	fo := features.Options{Task: Task}
	if card.Lineage == nil {
		return fo, fmt.Errorf("the card has no lineage: its feature options are unknown")
	}
	x := card.Lineage.Extra
	str := func(k string) string { s, _ := x[k].(string); return s }
	var err error
	if s := str("horizon"); s != "" {
		if fo.Horizon, err = datasets.ParseSpan(s); err != nil {
			return fo, fmt.Errorf("lineage horizon %q: %w", s, err)
		}
	}
	if s := str("lookback"); s != "" {
		if fo.Lookback, err = datasets.ParseSpan(s); err != nil {
			return fo, fmt.Errorf("lineage lookback %q: %w", s, err)
		}
	}
	fo.Period, fo.Measure = str("period"), str("measure")
	switch n := x["top_products"].(type) {
	case float64:
		fo.TopProducts = int(n)
	case int:
		fo.TopProducts = n
	case json.Number:
		v, _ := n.Int64()
		fo.TopProducts = int(v)
	}
	return fo, nil
}

// ReadStock returns the units on hand of every product and warehouse at
// its latest stock count strictly before asOf, from the dataset's stock
// table; an empty map, and a note saying so, without one.
func ReadStock(ctx context.Context, st datasets.Store, dataset string, asOf time.Time) (map[[2]string]float64, string, error) {
	out := map[[2]string]float64{}
	d, err := datasets.ReadDatasetManifest(ctx, st, dataset)
	if err != nil {
		return nil, "", err
	}
	ref, ok := d.Tables[datasets.Stock.Name]
	if !ok {
		return out, "stock_on_hand is null: the dataset has no stock table; preposition_qty assumes nothing on hand", nil
	}
	b, err := datasets.ReadAll(ctx, st, ref.Manifest)
	if err != nil {
		return nil, "", err
	}
	var m datasets.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", fmt.Errorf("stock manifest: %w", err)
	}
	type level struct {
		ts      int64
		wh      int32
		onHand  float64
		present bool
	}
	syms := datasets.NewSymbols()
	latest := map[[2]string]int64{}
	cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{{Name: "warehouse", As: datasets.AsSymbol}, {Name: "on_hand", As: datasets.AsFloat64}},
		Symbols: syms, From: math.MinInt64, To: asOf.UnixMicro()}
	err = datasets.ScanColumns(ctx, st, datasets.Stock, &m, cs, func(b *datasets.Block, i int) level {
		l := level{ts: b.Time[i], wh: -1}
		if s := b.Cols[0].Symbol; s != nil {
			l.wh = s[i]
		}
		if f := b.Cols[1].Float64; f != nil && b.Cols[1].Valid[i] {
			l.onHand, l.present = f[i], true
		}
		return l
	}, func(key []byte, rows []level) error {
		for _, r := range rows {
			if !r.present {
				continue
			}
			wh := ""
			if r.wh >= 0 {
				wh = syms.Name(r.wh)
			}
			k := [2]string{string(key), wh}
			if t, seen := latest[k]; !seen || r.ts > t || r.ts == t && r.onHand < out[k] {
				latest[k], out[k] = r.ts, r.onHand
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("stock: %w", err)
	}
	return out, "stock_on_hand is the latest count strictly before as_of (stock table); null for a series without one, whose preposition_qty assumes nothing on hand", nil
}
