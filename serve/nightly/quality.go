package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/demand"
	"github.com/prevoir/prevoir/serve/publish"
)

// QualityKey is where a task's quality series is kept.
func QualityKey(dataset, task string) string { return Root + dataset + "/quality/" + task + ".json" }

// QualityPoint is one after-the-fact check: the publication of one
// horizon ago against what happened since.
type QualityPoint struct {
	Task string `json:"task"`
	// Kind says which figures the point holds: QualityProbabilities
	// (AUC, Calibration, rates), QualityRanking (Figures: hit rate, MAP)
	// or QualityForecast (Figures: WAPE, bias, P90 coverage).
	Kind string `json:"kind"`
	// AsOf is the run that checked; Publication the as_of of the
	// publication checked.
	AsOf        string `json:"as_of"`
	Publication string `json:"publication_as_of"`
	Customers   int64  `json:"customers"`
	// ObservedRate is the share of customers who churned (no order in
	// the horizon); MeanPredicted the mean published probability.
	ObservedRate  float64 `json:"observed_rate"`
	MeanPredicted float64 `json:"mean_predicted"`
	// AUC is the ROC AUC of the published probabilities; Calibration the
	// expected calibration error over probability deciles.
	AUC         float64 `json:"roc_auc,omitempty"`
	Calibration float64 `json:"calibration_error,omitempty"`
	// Rows are the forecasts checked (demand).
	Rows int64 `json:"rows,omitempty"`
	// Figures are the offers' (hit_rate, map, top) and the forecasts'
	// (wape, bias, p90_coverage) figures: the Figure* names.
	Figures  map[string]float64 `json:"figures,omitempty"`
	Warnings []string           `json:"warnings,omitempty"`
}

// The kinds of quality points.
const (
	QualityProbabilities = "probabilities"
	QualityRanking       = "ranking"
	QualityForecast      = "forecast"
)

// Measure returns the point's Kind; for a point stored before kinds were
// recorded, the kind its figures show.
func (q *QualityPoint) Measure() string {
	switch {
	case q.Kind != "":
		return q.Kind
	case len(q.Figures) == 0:
		return QualityProbabilities
	case q.Rows > 0:
		return QualityForecast
	}
	return QualityRanking
}

// qualitySeries is the object under QualityKey.
type qualitySeries struct {
	Points []QualityPoint `json:"points"`
}

// qualityCheck measures a task's publication of one horizon before a
// run's as_of against what happened since; nil when there is none.
type qualityCheck func(ctx context.Context, st datasets.Store, dataset, asOf string, horizon datasets.Span) (*QualityPoint, error)

// qualityChecks are the tasks whose publications are checked after the
// fact.
var qualityChecks = map[string]qualityCheck{
	churnTask:               churnQuality,
	features.TaskPropensity: offersQuality,
	demand.Task:             demandQuality,
}

// quality checks a task's publication of one horizon ago (the latest at
// or before as_of - horizon) against the orders since, appends the point
// to the stored series and warns past the floors. A missing publication
// is a note, not an error; a failing check is a warning: the run's
// publications stand.
func quality(ctx context.Context, st datasets.Store, o Options, sum *Summary, task string, tc *TaskConfig, progress func(Event)) {
	check := qualityChecks[task]
	if check == nil {
		return
	}
	t0 := o.Now()
	progress(Event{Stage: StageQuality, Task: task})
	p, err := check(ctx, st, o.Dataset, sum.AsOf, tc.HorizonSpan())
	progress(Event{Stage: StageQuality, Task: task, Done: true, Err: err, Elapsed: o.Now().Sub(t0)})
	if err != nil {
		sum.Warnings = append(sum.Warnings, "quality check of "+task+": "+err.Error())
		return
	}
	if p == nil {
		sum.Notes = append(sum.Notes, fmt.Sprintf("quality check of %s: no publication at or before one horizon (%s) ago yet", task, tc.Horizon))
		return
	}
	p.Warnings = append(p.Warnings, o.Config.Quality.warnings(p)...)
	sum.Warnings = append(sum.Warnings, p.Warnings...)
	sum.Quality = append(sum.Quality, *p)
	if err := appendQuality(ctx, st, o.Dataset, *p); err != nil {
		sum.Warnings = append(sum.Warnings, "quality series: "+err.Error())
	}
}

// warnings are the floors and ceilings p passes.
func (q QualityConfig) warnings(p *QualityPoint) []string {
	var out []string
	below := func(what string, v, floor float64) {
		if v < floor {
			out = append(out, fmt.Sprintf("%s %s %.4f of the publication as of %s is below the floor %.4f: the model drifted from the outcomes", p.Task, what, v, p.Publication, floor))
		}
	}
	above := func(what string, v, ceiling float64) {
		if v > ceiling {
			out = append(out, fmt.Sprintf("%s %s %.4f of the publication as of %s is above the ceiling %.4f", p.Task, what, v, p.Publication, ceiling))
		}
	}
	switch p.Task {
	case churnTask:
		below("ROC AUC", p.AUC, q.ChurnAUCFloor)
		above("calibration error", p.Calibration, q.ChurnCalibrationCeiling)
	case features.TaskPropensity:
		if v, ok := p.Figures[FigureHitRate]; ok {
			below("hit rate", v, q.OffersHitRateFloor)
		}
		if v, ok := p.Figures[FigureMAP]; ok {
			below("MAP", v, q.OffersMAPFloor)
		}
	case demand.Task:
		if v, ok := p.Figures[FigureWAPE]; ok {
			above("WAPE", v, q.DemandWAPECeiling)
		}
		if v, ok := p.Figures[FigureP90Coverage]; ok {
			below("P90 coverage", v, q.DemandP90CoverageFloor)
		}
	}
	return out
}

// churnQuality measures the churn publication of one horizon before
// asOf; nil when there is none.
func churnQuality(ctx context.Context, st datasets.Store, dataset, asOf string, horizon datasets.Span) (*QualityPoint, error) {
	at, err := time.Parse(time.DateOnly, asOf)
	if err != nil {
		return nil, err
	}
	limit := horizon.Before(at, time.UTC).Format(time.DateOnly)
	es, err := publish.List(ctx, st, dataset, churnTask)
	if err != nil {
		return nil, err
	}
	best := ""
	for _, e := range es {
		if e.AsOf <= limit && e.AsOf > best {
			best = e.AsOf
		}
	}
	if best == "" {
		return nil, nil
	}
	m, err := publish.ReadManifest(ctx, st, dataset, churnTask, best)
	if err != nil {
		return nil, err
	}
	pubAt, _ := time.Parse(time.DateOnly, best)
	end := horizon.After(pubAt, time.UTC)
	probs := map[string]float64{}
	if err := publish.Rows(ctx, st, m, "", func(r []any) error {
		c, _ := r[0].(string)
		p, _ := r[2].(float64)
		probs[c] = p
		return nil
	}); err != nil {
		return nil, err
	}
	bought, err := buyers(ctx, st, dataset, pubAt, end)
	if err != nil {
		return nil, err
	}
	ps := make([]float64, 0, len(probs))
	ys := make([]bool, 0, len(probs))
	for c, p := range probs {
		ps = append(ps, p)
		ys = append(ys, !bought[c])
	}
	pt := &QualityPoint{Task: churnTask, Kind: QualityProbabilities, AsOf: asOf, Publication: best, Customers: int64(len(ps))}
	if len(ps) == 0 {
		return pt, nil
	}
	if pt.AUC = rocAUC(ps, ys); math.IsNaN(pt.AUC) {
		return nil, fmt.Errorf("the publication as of %s: every customer had the same outcome, no ROC AUC", best)
	}
	pt.Calibration, pt.MeanPredicted, pt.ObservedRate = calibration(ps, ys)
	return pt, nil
}

// buyers returns the customers with a sale line in [from, to).
func buyers(ctx context.Context, st datasets.Store, dataset string, from, to time.Time) (map[string]bool, error) {
	m, err := datasets.ReadManifest(ctx, st, dataset, "orders")
	if err != nil {
		return nil, err
	}
	syms := datasets.NewSymbols()
	out := map[string]bool{}
	cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{{Name: "line_type", As: datasets.AsSymbol}}, Symbols: syms,
		From: from.UnixMicro(), To: to.UnixMicro()}
	err = datasets.ScanColumns(ctx, st, datasets.Orders, m, cs, func(b *datasets.Block, i int) int32 {
		if c := b.Cols[0].Symbol; c != nil {
			return c[i]
		}
		return -1
	}, func(key []byte, rows []int32) error {
		sale := syms.Lookup(datasets.LineSale)
		for _, r := range rows {
			if r == sale {
				out[string(key)] = true
				break
			}
		}
		return nil
	})
	return out, err
}

// rocAUC is the probability that a positive scores above a negative
// (ties count half): the Mann-Whitney U over n_pos*n_neg. NaN without
// both classes.
func rocAUC(p []float64, y []bool) float64 {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean 1-based rank of the tie group
		for k := i; k < j; k++ {
			if y[idx[k]] {
				pos++
				rankSum += r
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// calibration returns the expected calibration error over ten equal
// probability bins (sum over bins of n_b/n * |mean p - observed rate|),
// the mean probability and the observed rate.
func calibration(p []float64, y []bool) (ece, meanP, rate float64) {
	var n [10]float64
	var sp, sy [10]float64
	for i, v := range p {
		b := min(int(v*10), 9)
		n[b]++
		sp[b] += v
		meanP += v
		if y[i] {
			sy[b]++
			rate++
		}
	}
	total := float64(len(p))
	for b := range n {
		if n[b] > 0 {
			ece += n[b] / total * math.Abs(sp[b]/n[b]-sy[b]/n[b])
		}
	}
	return ece, meanP / total, rate / total
}

// appendQuality adds p to the task's series (replacing a point of the
// same as_of) by compare-and-swap.
func appendQuality(ctx context.Context, st datasets.Store, dataset string, p QualityPoint) error {
	key := QualityKey(dataset, p.Task)
	for try := 0; try < 5; try++ {
		b, etag, err := datasets.ReadVersioned(ctx, st, key)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		var s qualitySeries
		if err == nil {
			if err := json.Unmarshal(b, &s); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
		kept := s.Points[:0]
		for _, q := range s.Points {
			if q.AsOf != p.AsOf {
				kept = append(kept, q)
			}
		}
		s.Points = append(kept, p)
		sort.Slice(s.Points, func(i, j int) bool { return s.Points[i].AsOf < s.Points[j].AsOf })
		nb, _ := json.MarshalIndent(s, "", " ")
		_, err = datasets.SwapObject(ctx, st, key, append(nb, '\n'), etag)
		if !errors.Is(err, datasets.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("%s: %w", key, datasets.ErrConflict)
}
