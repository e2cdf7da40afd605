package segments

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/clv"
	"github.com/prevoir/prevoir/serve/publish"
)

// Task is the task name of segment publications, and Table its table's.
const (
	Task  = "segments"
	Table = "segments"
)

// Default models looked for when their publications of the date are
// missing.
const (
	DefaultChurnModel = "churn@champion"
	DefaultCLVModel   = "clv@champion"
)

// Options describe one segments run.
type Options struct {
	// Dataset is the dataset (required); AsOf the date, YYYY-MM-DD,
	// latest (default) or today.
	Dataset, AsOf string
	// ChurnModel and CLVModel score the churn and clv publications of the
	// date when they are missing (defaults DefaultChurnModel and
	// DefaultCLVModel); a model that does not exist is left out.
	ChurnModel, CLVModel string
	// Kinds are the model kinds that can be loaded.
	Kinds models.Kinds
	// Format is the parts' format (publish.FormatParquet by default).
	Format         string
	PrevoirVersion string
	Now            func() time.Time
}

// Result is what Score did: the publication, and what the value tiers
// and risk levels came from.
type Result struct {
	Manifest *publish.Manifest
	ValueBy  string
	RiskBy   string
}

// columns of the segments table.
var columns = []publish.Column{
	{Name: "customer_id", Type: publish.TypeString, Description: "the customer (one with a purchase in the 365 days before as_of)"},
	{Name: "as_of", Type: publish.TypeString, Description: "the date (YYYY-MM-DD)"},
	{Name: "r", Type: publish.TypeInt64, Description: "recency score 1-5 (5: the most recent last order)"},
	{Name: "f", Type: publish.TypeInt64, Description: "frequency score 1-5 (orders in the lookback)"},
	{Name: "m", Type: publish.TypeInt64, Description: "monetary score 1-5 (spend in the lookback)"},
	{Name: "rfm", Type: publish.TypeString, Description: "the three scores, e.g. 535"},
	{Name: "segment", Type: publish.TypeString, Description: "the segment of r and f (docs/FEATURES.md)"},
	{Name: "value_tier", Type: publish.TypeString, Description: "high, medium or low by CLV (by spend without a clv model)"},
	{Name: "risk", Type: publish.TypeString, Description: "high, medium or low by the churn probability (by 1 - p_alive without a churn model)"},
	{Name: "cell", Type: publish.TypeString, Description: "value tier and risk joined: high-value/high-risk"},
	{Name: "spend", Type: publish.TypeDouble, Description: "sales value in the lookback"},
	{Name: "clv", Type: publish.TypeDouble, Description: "the clv publication's CLV; null without one"},
}

// Score publishes the segments of every customer with a purchase in the
// 365 days before the date, under scores/<dataset>/segments/<as_of>/.
func Score(ctx context.Context, st datasets.Store, o Options) (*Result, error) {
	if o.Dataset == "" {
		return nil, datasets.Fieldf("Dataset", "", "segments need a dataset")
	}
	if o.AsOf == "" {
		o.AsOf = datasets.AsOfLatest
	}
	if o.ChurnModel == "" {
		o.ChurnModel = DefaultChurnModel
	}
	if o.CLVModel == "" {
		o.CLVModel = DefaultCLVModel
	}
	asOf, err := publish.ScoringDate(ctx, st, o.Dataset, o.AsOf, o.Now)
	if err != nil {
		return nil, err
	}
	o.AsOf = asOf
	fr, err := features.Build(ctx, st, features.Options{Dataset: o.Dataset, Task: features.TaskChurn, AsOf: asOf, FeatureSet: features.SetChurn, Now: o.Now})
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	frame, err := features.ReadFrame(ctx, st, fr.Manifest)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	col := func(name string) ([]float64, error) {
		i := frame.Schema.Index(name)
		if i < 0 {
			return nil, fmt.Errorf("segments: feature table %s lacks %s", fr.Manifest.Key(), name)
		}
		return frame.Values[i], nil
	}
	rec, err := col("recency_days")
	if err != nil {
		return nil, err
	}
	ord, err := col("orders_365d")
	if err != nil {
		return nil, err
	}
	spend, err := col("spend_365d")
	if err != nil {
		return nil, err
	}
	res := &Result{}
	value, clvs, risk, err := assess(ctx, st, o, frame.IDs, spend, res)
	if err != nil {
		return nil, err
	}
	rs, fs, ms, vs := Quintiles(rec, true), Quintiles(ord, false), Quintiles(spend, false), Quintiles(value, false)
	rows := make([][]any, len(frame.IDs))
	for i, id := range frame.IDs {
		tier := Tier(vs[i])
		var c any
		if clvs != nil {
			if v, ok := clvs[id]; ok {
				c = v
			}
		}
		rows[i] = []any{id, asOf, int64(rs[i]), int64(fs[i]), int64(ms[i]), fmt.Sprintf("%d%d%d", rs[i], fs[i], ms[i]),
			Segment(rs[i], fs[i]), tier, risk[i], Cell(tier, risk[i]), spend[i], c}
	}
	lin := publish.Lineage{
		Features: &publish.FeatureRef{Key: fr.Manifest.Key(), Spec: fr.Manifest.Spec, SchemaFingerprint: fr.Manifest.Fingerprint, Rows: fr.Manifest.Rows},
		Params:   map[string]any{"value_by": res.ValueBy, "risk_by": res.RiskBy, "risk_high": RiskHigh, "risk_medium": RiskMedium},
	}
	for _, in := range fr.Manifest.Inputs {
		lin.Datasets = append(lin.Datasets, publish.DatasetInput{Table: in.Table, Seq: in.Seq, SHA256: in.SHA256})
	}
	src := func(ctx context.Context, fn func([]any) error) error {
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	pm, err := publish.Publish(ctx, st, publish.Options{Dataset: o.Dataset, Task: Task, AsOf: asOf, Format: o.Format, Lineage: lin,
		PrevoirVersion: o.PrevoirVersion, Now: o.Now}, src, passThrough{})
	if pm == nil {
		return nil, err
	}
	res.Manifest = pm
	return res, err
}

// assess reads (or scores) the clv and churn publications of the date and
// returns each customer's value (CLV, or spend without a clv model), the
// CLVs by id (nil without), and the risk levels; res records what they
// came from.
func assess(ctx context.Context, st datasets.Store, o Options, ids []string, spend []float64, res *Result) ([]float64, map[string]float64, []string, error) {
	clvPub, err := publication(ctx, st, o, clv.Task, func() error {
		_, err := clv.Score(ctx, st, clv.Options{Dataset: o.Dataset, Model: o.CLVModel, AsOf: o.AsOf, Discount: clv.DefaultDiscount,
			Kinds: o.Kinds, Format: o.Format, PrevoirVersion: o.PrevoirVersion, Now: o.Now})
		return err
	}, o.CLVModel)
	if err != nil {
		return nil, nil, nil, err
	}
	churnPub, err := publication(ctx, st, o, churn.Task, func() error {
		_, err := churn.Score(ctx, st, churn.Options{Dataset: o.Dataset, Model: o.ChurnModel, AsOf: o.AsOf,
			Kinds: o.Kinds, Format: o.Format, PrevoirVersion: o.PrevoirVersion, Now: o.Now})
		return err
	}, o.ChurnModel)
	if err != nil {
		return nil, nil, nil, err
	}
	var clvs, alive, churnP map[string]float64
	if clvPub != nil {
		if clvs, err = columnByID(ctx, st, clvPub, "clv_"); err != nil {
			return nil, nil, nil, err
		}
		if alive, err = columnByID(ctx, st, clvPub, "p_alive"); err != nil {
			return nil, nil, nil, err
		}
	}
	if churnPub != nil {
		if churnP, err = columnByID(ctx, st, churnPub, "probability"); err != nil {
			return nil, nil, nil, err
		}
	}
	n := len(ids)
	value := spend
	res.ValueBy = "spend (no clv model " + o.CLVModel + ")"
	if clvs != nil {
		value = make([]float64, n)
		for i, id := range ids {
			v, ok := clvs[id]
			if !ok {
				v = math.Inf(-1) // not in the clv summary: lowest tier
			}
			value[i] = v
		}
		res.ValueBy = "clv of " + clvPub.Model.Name + "@" + strconv.Itoa(clvPub.Model.Version)
	}
	risk := make([]string, n)
	switch {
	case churnP != nil:
		res.RiskBy = "churn probability of " + churnPub.Model.Name + "@" + strconv.Itoa(churnPub.Model.Version)
		for i, id := range ids {
			p, ok := churnP[id]
			if !ok {
				return nil, nil, nil, fmt.Errorf("segments: customer %s has no row in the churn publication as of %s", id, o.AsOf)
			}
			risk[i] = RiskOf(p)
		}
	case alive != nil:
		res.RiskBy = "1 - p_alive of " + clvPub.Model.Name + "@" + strconv.Itoa(clvPub.Model.Version) + " (no churn model " + o.ChurnModel + ")"
		for i, id := range ids {
			p, ok := alive[id]
			if !ok {
				return nil, nil, nil, fmt.Errorf("segments: customer %s has no row in the clv publication as of %s", id, o.AsOf)
			}
			risk[i] = RiskOf(1 - p)
		}
	default:
		return nil, nil, nil, fmt.Errorf("segments as of %s: no churn publication or model %s, and no clv publication or model %s: the risk needs one (prevoir train --task churn or --task clv)", o.AsOf, o.ChurnModel, o.CLVModel)
	}
	return value, clvs, risk, nil
}

// publication returns the task's publication as of o.AsOf; when there is
// none, it scores one with model (score) if the model exists, and
// returns nil when it does not.
func publication(ctx context.Context, st datasets.Store, o Options, task string, score func() error, model string) (*publish.Manifest, error) {
	m, err := publish.ReadManifest(ctx, st, o.Dataset, task, o.AsOf)
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, publish.ErrNoPublication) {
		return nil, err
	}
	reg := registry.New(st, registry.Options{Kinds: o.Kinds})
	if _, _, err := reg.ResolveRef(ctx, model); errors.Is(err, models.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	if err := score(); err != nil {
		return nil, fmt.Errorf("segments: scoring %s with %s: %w", task, model, err)
	}
	return publish.ReadManifest(ctx, st, o.Dataset, task, o.AsOf)
}

// columnByID reads one double column (the first whose name starts with
// prefix) of a publication's main table, by customer_id.
func columnByID(ctx context.Context, st datasets.Store, m *publish.Manifest, prefix string) (map[string]float64, error) {
	t, err := m.Table("")
	if err != nil {
		return nil, err
	}
	ci, vi := -1, -1
	for i, c := range t.Columns {
		if c.Name == "customer_id" {
			ci = i
		}
		if vi < 0 && strings.HasPrefix(c.Name, prefix) && c.Type == publish.TypeDouble {
			vi = i
		}
	}
	if ci < 0 || vi < 0 {
		return nil, fmt.Errorf("segments: the %s publication as of %s has no customer_id or %s column", m.Task, m.AsOf, prefix)
	}
	out := make(map[string]float64, m.Rows)
	err = publish.Rows(ctx, st, m, "", func(r []any) error {
		id, _ := r[ci].(string)
		if v, ok := r[vi].(float64); ok {
			out[id] = v
		}
		return nil
	})
	return out, err
}

// passThrough publishes the rows computed beforehand (quintiles need every
// customer first).
type passThrough struct{}

func (passThrough) Tables() []publish.TableSpec {
	return []publish.TableSpec{{Name: Table, Columns: columns, SortBy: "customer_id", Customer: "customer_id"}}
}

func (passThrough) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	for _, r := range in {
		if err := emit(0, r); err != nil {
			return err
		}
	}
	return nil
}
