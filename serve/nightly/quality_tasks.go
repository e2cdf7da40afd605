package nightly

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/demand"
	"github.com/prevoir/prevoir/serve/publish"
)

// The figures of the offers' and the forecasts' quality points
// (QualityPoint.Figures).
const (
	FigureHitRate     = "hit_rate"     // share of buying customers with a bought item among their offers
	FigureMAP         = "map"          // mean average precision of the offer lists at their length
	FigureTop         = "top"          // the offer lists' length N
	FigureWAPE        = "wape"         // sum |actual - mean| / sum actual over every forecast row
	FigureP90Coverage = "p90_coverage" // share of forecast rows whose actual is at most p90
	FigureBias        = "bias"         // sum (mean - actual) / sum actual
)

// publicationBefore returns the as_of of task's latest publication at or
// before asOf - horizon ("" when none).
func publicationBefore(ctx context.Context, st datasets.Store, dataset, task, asOf string, horizon datasets.Span) (string, error) {
	at, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		return "", err
	}
	limit := horizon.Before(at, time.UTC).Format(time.DateOnly)
	es, err := publish.List(ctx, st, dataset, task)
	if err != nil {
		return "", err
	}
	best := ""
	for _, e := range es {
		if e.AsOf <= limit && e.AsOf > best {
			best = e.AsOf
		}
	}
	return best, nil
}

// scoredFeatures reads the feature table a publication scored (its
// lineage names it).
func scoredFeatures(ctx context.Context, st datasets.Store, m *publish.Manifest) (*features.Manifest, error) {
	if m.Lineage.Features == nil {
		return nil, fmt.Errorf("the publication as of %s names no feature table", m.AsOf)
	}
	fm, err := features.ReadManifest(ctx, st, m.Dataset, m.Task, m.AsOf, m.Lineage.Features.Spec)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the feature table the publication as of %s scored (%s) is gone", m.AsOf, m.Lineage.Features.Key)
	}
	return fm, err
}

// offersQuality measures the propensity publication of one horizon
// before asOf: over its customers who bought in [as_of, as_of +
// horizon), the share with a bought item among their offers (hit rate)
// and the mean average precision of their lists at the lists' length
// (MAP at N, as train's ranking evaluation defines it). nil when there is
// no such publication.
func offersQuality(ctx context.Context, st datasets.Store, dataset, asOf string, horizon datasets.Span) (*QualityPoint, error) {
	best, err := publicationBefore(ctx, st, dataset, features.TaskPropensity, asOf, horizon)
	if err != nil || best == "" {
		return nil, err
	}
	m, err := publish.ReadManifest(ctx, st, dataset, features.TaskPropensity, best)
	if err != nil {
		return nil, err
	}
	fm, err := scoredFeatures(ctx, st, m)
	if err != nil {
		return nil, err
	}
	truth, err := features.Purchases(ctx, st, fm, horizon)
	if err != nil {
		return nil, err
	}
	lists := map[string][]string{}
	if err := publish.Rows(ctx, st, m, "", func(r []any) error {
		c, _ := r[0].(string)
		item, _ := r[3].(string)
		lists[c] = append(lists[c], item) // rows come by customer, then rank
		return nil
	}); err != nil {
		return nil, err
	}
	top := 0
	if v, ok := m.Lineage.Params["top"].(float64); ok {
		top = int(v)
	}
	for _, list := range lists {
		top = max(top, len(list))
	}
	var n, hits int64
	var sumAP float64
	for c, list := range lists {
		bought := truth[c]
		if len(bought) == 0 {
			continue
		}
		in := make(map[string]bool, len(bought))
		for _, b := range bought {
			in[b] = true
		}
		n++
		found, ap := 0, 0.0
		for k, item := range list {
			if in[item] {
				found++
				ap += float64(found) / float64(k+1)
			}
		}
		if found > 0 {
			hits++
		}
		sumAP += ap / float64(min(top, len(bought)))
	}
	pt := &QualityPoint{Task: features.TaskPropensity, Kind: QualityRanking, AsOf: asOf, Publication: best, Customers: n, Figures: map[string]float64{FigureTop: float64(top)}}
	if n > 0 {
		pt.Figures[FigureHitRate] = float64(hits) / float64(n)
		pt.Figures[FigureMAP] = sumAP / float64(n)
	}
	return pt, nil
}

// demandQuality measures the demand publication of one horizon before
// asOf against the sales of its periods since: WAPE, bias and the share
// of forecasts whose actual is at most their p90. nil when there is no
// such publication.
func demandQuality(ctx context.Context, st datasets.Store, dataset, asOf string, horizon datasets.Span) (*QualityPoint, error) {
	best, err := publicationBefore(ctx, st, dataset, demand.Task, asOf, horizon)
	if err != nil || best == "" {
		return nil, err
	}
	m, err := publish.ReadManifest(ctx, st, dataset, demand.Task, best)
	if err != nil {
		return nil, err
	}
	fm, err := scoredFeatures(ctx, st, m)
	if err != nil {
		return nil, err
	}
	type key struct {
		p, w string
		h    int64
	}
	type fc struct{ mean, p90 float64 }
	fcs := map[key]fc{}
	steps := int64(0)
	t, err := m.Table(demand.Table)
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, c := range t.Columns {
		col[c.Name] = i
	}
	if err := publish.Rows(ctx, st, m, demand.Table, func(r []any) error {
		p, _ := r[col["product_id"]].(string)
		w, _ := r[col["warehouse"]].(string)
		h, _ := r[col["step"]].(int64)
		mean, _ := r[col["mean"]].(float64)
		p90, _ := r[col["p90"]].(float64)
		fcs[key{p, w, h}] = fc{mean, p90}
		steps = max(steps, h)
		return nil
	}); err != nil {
		return nil, err
	}
	lookback, err := datasets.ParseSpan(fm.Params.Lookback)
	if err != nil {
		return nil, fmt.Errorf("feature table %s: lookback: %w", fm.Key(), err)
	}
	days := 7
	if fm.Params.Period == features.PeriodDay {
		days = 1
	}
	hist, err := features.ReadDemandSeries(ctx, st, features.Options{Dataset: dataset, AsOf: best, Period: fm.Params.Period,
		TopProducts: fm.Params.TopProducts, Measure: fm.Params.Measure, Lookback: lookback, Horizon: datasets.Span{Days: int(steps) * days}})
	if err != nil {
		return nil, err
	}
	var absErr, sumAct, sumErr float64
	var rows, covered int64
	for _, s := range hist.Series {
		for i, act := range s.Future {
			f, ok := fcs[key{s.Product, s.Warehouse, int64(i + 1)}]
			if !ok {
				continue
			}
			rows++
			absErr += math.Abs(act - f.mean)
			sumErr += f.mean - act
			sumAct += act
			if act <= f.p90 {
				covered++
			}
		}
	}
	pt := &QualityPoint{Task: demand.Task, Kind: QualityForecast, AsOf: asOf, Publication: best, Rows: rows, Figures: map[string]float64{}}
	if rows > 0 {
		pt.Figures[FigureP90Coverage] = float64(covered) / float64(rows)
	}
	if sumAct > 0 {
		pt.Figures[FigureWAPE] = absErr / sumAct
		pt.Figures[FigureBias] = sumErr / sumAct
	}
	return pt, nil
}
