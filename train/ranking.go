package train

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
)

// DefaultTop is the length N of the offer lists a ranking is measured on.
const DefaultTop = 12

// PropensityTol is the propensity fits' stopping threshold on max
// |gradient of F| when none is given: F sums a loss over every customer x
// candidate row (millions on 100,000 customers), and the one-feature
// baseline on item_orders (a long-tailed count) was seen creeping at
// max |gradient| 5e-5 after 100 Newton steps on 1.3 million rows, where
// the default 1e-7 is below what the sum resolves in practice.
const PropensityTol = 1e-4

// PropensityBaseline is the feature of the propensity task's one-feature
// logistic baseline: how often the customer bought the item.
const PropensityBaseline = "item_orders"

// Rankers of a ranking evaluation, in the order they are reported.
const (
	RankerModel                = "model"
	RankerPopularity           = "popularity"
	RankerRepeat               = "repeat"
	RankerRepeatThenPopularity = "repeat_then_popularity"
)

// RankingMetrics are the means over the evaluated customers of a
// ranker's top-N list against the items they bought in the label window
// (hit rate, precision, recall, MAP), and the ROC AUC of its scores over
// the candidate rows of those customers (pair AUC).
type RankingMetrics struct {
	Ranker    string  `json:"ranker"`
	HitRate   float64 `json:"hit_rate"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	MAP       float64 `json:"map"`
	AUC       float64 `json:"pair_roc_auc"`
}

// Ranking is the ranking evaluation of one cutoff.
type Ranking struct {
	Cutoff string `json:"cutoff"`
	Level  string `json:"level"`
	Top    int    `json:"top"`
	// Customers are the table's customers with a purchase in the label
	// window: the ones evaluated. Purchases are their distinct (customer,
	// item) purchases there, Covered those with a candidate row.
	Customers int `json:"customers"`
	Purchases int `json:"purchases"`
	Covered   int `json:"covered"`
	// Rankers: the model, then the baselines.
	Rankers []RankingMetrics `json:"rankers"`
	// Definitions says how each figure is computed.
	Definitions map[string]string `json:"definitions"`
}

// rankingDefinitions are the Ranking's Definitions.
var rankingDefinitions = map[string]string{
	"customers":                "the table's customers (a sale in the lookback) with at least one purchase in [as_of, as_of + horizon)",
	"hit_rate":                 "share of customers with at least one bought item among their top N",
	"precision":                "bought items among the top N, over N",
	"recall":                   "bought items among the top N, over the distinct items the customer bought",
	"map":                      "mean average precision at N: sum over ranks k <= N of precision@k at each bought item, over min(N, items bought)",
	"pair_roc_auc":             "ROC AUC of the ranker's scores over the candidate rows of the evaluated customers",
	RankerModel:                "candidates by the model's probability",
	RankerPopularity:           "items by distinct buyers in the last 30 days (then 90 days)",
	RankerRepeat:               "the customer's own items by their orders of it (then the most recent)",
	RankerRepeatThenPopularity: "repeat, then popularity for the remaining places",
}

// EvaluateRanking measures the top-top lists of the model (scores, one
// per row of fr) and of the three baselines over the customers of fr
// with a purchase in truth (customer -> the distinct items bought). Rows
// of a customer are contiguous in fr (feature tables are sorted by
// customer). The baselines rank the candidate rows, which hold every
// item they would propose as long as fr's PopularK >= top.
func EvaluateRanking(fr *features.Frame, scores []float64, truth map[string][]string, top int) (*Ranking, error) {
	if top < 1 {
		return nil, datasets.Fieldf("Top", fmt.Sprint(top), "want at least 1")
	}
	n := len(fr.IDs)
	if len(scores) != n || len(fr.Keys) < 1 || len(fr.Keys[0]) != n {
		return nil, fmt.Errorf("ranking: %d scores for %d rows (want a customer x item table)", len(scores), n)
	}
	col := func(name string) ([]float64, error) {
		j := fr.Schema.Index(name)
		if j < 0 {
			return nil, fmt.Errorf("ranking: the table has no feature %q", name)
		}
		return fr.Values[j], nil
	}
	orders, err := col("item_orders")
	if err != nil {
		return nil, err
	}
	since, err := col("item_days_since")
	if err != nil {
		return nil, err
	}
	b30, err := col("buyers_30d")
	if err != nil {
		return nil, err
	}
	b90, err := col("buyers_90d")
	if err != nil {
		return nil, err
	}
	items := fr.Keys[0]
	// Each ranker orders a customer's rows; before(a, b) is a's place
	// before b's, and score the row's value for the pair AUC.
	type ranker struct {
		name   string
		keep   func(i int) bool
		before func(a, b int) int
		score  func(i int) float64
	}
	pop := func(a, b int) int {
		if c := cmp.Compare(b30[b], b30[a]); c != 0 {
			return c
		}
		return cmp.Compare(b90[b], b90[a])
	}
	rep := func(a, b int) int {
		if c := cmp.Compare(orders[b], orders[a]); c != 0 {
			return c
		}
		return cmp.Compare(nanHigh(since[a]), nanHigh(since[b]))
	}
	own := func(i int) bool { return orders[i] > 0 }
	rankers := []ranker{
		{RankerModel, nil, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) }, func(i int) float64 { return scores[i] }},
		{RankerPopularity, nil, pop, func(i int) float64 { return b30[i] + b90[i]/1e9 }},
		{RankerRepeat, own, rep, func(i int) float64 { return orders[i] - nanHigh(since[i])/1e9 }},
		{RankerRepeatThenPopularity, nil, func(a, b int) int {
			oa, ob := own(a), own(b)
			switch {
			case oa && ob:
				return rep(a, b)
			case oa != ob:
				if oa {
					return -1
				}
				return 1
			}
			return pop(a, b)
		}, func(i int) float64 {
			if own(i) {
				return 1e12 + orders[i]*1e6 - min(nanHigh(since[i]), 1e5)
			}
			return b30[i] + b90[i]/1e9
		}},
	}
	rk := &Ranking{Top: top, Definitions: rankingDefinitions}
	if len(fr.AsOf) > 0 {
		rk.Cutoff = fr.AsOf[0].Format("2006-01-02")
	}
	sums := make([]RankingMetrics, len(rankers))
	var evalRows []int
	idx := []int{}
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && fr.IDs[hi] == fr.IDs[lo] {
			hi++
		}
		cust := fr.IDs[lo]
		bought := truth[cust]
		rows := lo
		lo = hi
		if len(bought) == 0 {
			continue
		}
		rk.Customers++
		rk.Purchases += len(bought)
		for i := rows; i < hi; i++ {
			evalRows = append(evalRows, i)
			if _, ok := slices.BinarySearch(bought, items[i]); ok {
				rk.Covered++
			}
		}
		for r, kr := range rankers {
			idx = idx[:0]
			for i := rows; i < hi; i++ {
				if kr.keep == nil || kr.keep(i) {
					idx = append(idx, i)
				}
			}
			slices.SortFunc(idx, func(a, b int) int {
				if c := kr.before(a, b); c != 0 {
					return c
				}
				return strings.Compare(items[a], items[b])
			})
			list := make([]string, 0, top)
			for _, i := range idx[:min(len(idx), top)] {
				list = append(list, items[i])
			}
			m := listMetrics(list, bought, top)
			sums[r].HitRate += m.HitRate
			sums[r].Precision += m.Precision
			sums[r].Recall += m.Recall
			sums[r].MAP += m.MAP
		}
	}
	if rk.Customers == 0 {
		return nil, fmt.Errorf("ranking: no customer of the table bought anything in the label window")
	}
	y := make([]float64, len(evalRows))
	for k, i := range evalRows {
		y[k] = fr.Label[i]
	}
	s := make([]float64, len(evalRows))
	for r, kr := range rankers {
		for k, i := range evalRows {
			s[k] = kr.score(i)
		}
		c := float64(rk.Customers)
		rk.Rankers = append(rk.Rankers, RankingMetrics{Ranker: kr.name, HitRate: sums[r].HitRate / c, Precision: sums[r].Precision / c,
			Recall: sums[r].Recall / c, MAP: sums[r].MAP / c, AUC: rocAUC(y, s)})
	}
	return rk, nil
}

func nanHigh(x float64) float64 {
	if x != x {
		return 1e18
	}
	return x
}

// listMetrics measures one top-N list against the sorted items bought.
func listMetrics(list, bought []string, top int) RankingMetrics {
	var hits int
	var ap float64
	for k, it := range list {
		if _, ok := slices.BinarySearch(bought, it); ok {
			hits++
			ap += float64(hits) / float64(k+1)
		}
	}
	m := RankingMetrics{Precision: float64(hits) / float64(top), Recall: float64(hits) / float64(len(bought)),
		MAP: ap / float64(min(top, len(bought)))}
	if hits > 0 {
		m.HitRate = 1
	}
	return m
}

// rocAUC is the ROC AUC of scores s for 0/1 labels y (ties count half);
// NaN without both classes.
func rocAUC(y, s []float64) float64 {
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return s[idx[a]] < s[idx[b]] })
	var rankSum, npos float64
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && s[idx[j]] == s[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSum += mid
				npos++
			}
		}
		i = j
	}
	nneg := float64(len(y)) - npos
	if npos == 0 || nneg == 0 {
		return math.NaN()
	}
	return (rankSum - npos*(npos+1)/2) / (npos * nneg)
}

// TrainPropensity trains the propensity task as TrainTask does (the
// cutoff fit, unchanged; the one-feature baseline is item_orders unless
// opt.Fit.Baseline says otherwise), then measures the model's and the
// baselines' top-top offer lists on the holdout cutoff. The evaluation is
// added to the card's metrics ("ranking") and its lineage records the
// level and candidate options the scorer must rebuild features with.
func TrainPropensity(ctx context.Context, st datasets.Store, opt TaskOptions, top int) (*TaskOutcome, *Ranking, error) {
	if top == 0 {
		top = DefaultTop
	}
	if top < 1 {
		return nil, nil, datasets.Fieldf("Top", fmt.Sprint(top), "want at least 1")
	}
	opt.Features.Task = features.TaskPropensity
	if opt.Fit.Baseline == "" {
		opt.Fit.Baseline = PropensityBaseline
	}
	if opt.Fit.Tol == 0 {
		opt.Fit.Tol = PropensityTol
	}
	out, err := TrainTask(ctx, st, opt)
	if err != nil {
		return nil, nil, err
	}
	_, ms, err := features.ReadTrainingSet(ctx, st, out.TrainingSet)
	if err != nil {
		return nil, nil, err
	}
	var hm *features.Manifest
	for _, m := range ms {
		if m.AsOf == out.Holdout {
			hm = m
		}
	}
	if hm == nil {
		return nil, nil, fmt.Errorf("training set %s has no table for the holdout %s", out.TrainingSet, out.Holdout)
	}
	fr, err := features.ReadFrame(ctx, st, hm)
	if err != nil {
		return nil, nil, fmt.Errorf("feature table %s: %w", hm.Key(), err)
	}
	m := out.Model
	nh := len(fr.IDs)
	if len(m.p) < nh || len(m.holdout) < nh || (nh > 0 && (!m.holdout[nh-1] || m.ids[0][nh-1] != fr.IDs[nh-1])) {
		return nil, nil, fmt.Errorf("ranking: the holdout predictions do not line up with %s", hm.Key())
	}
	horizon, err := datasets.ParseSpan(hm.Params.Horizon)
	if err != nil {
		return nil, nil, fmt.Errorf("feature table %s: horizon: %w", hm.Key(), err)
	}
	truth, err := features.Purchases(ctx, st, hm, horizon)
	if err != nil {
		return nil, nil, err
	}
	rk, err := EvaluateRanking(fr, m.p[:nh], truth, top)
	if err != nil {
		return nil, nil, err
	}
	rk.Cutoff, rk.Level = hm.AsOf, hm.Params.Level
	if hm.Params.PopularK < top {
		out.Warnings = append(out.Warnings, fmt.Sprintf("popular_k %d < top %d: the popularity baselines are cut to the candidate rows", hm.Params.PopularK, top))
		out.Card.Warnings = out.Warnings
	}
	out.Card.Metrics["ranking"] = rk
	if lin := out.Card.Lineage; lin != nil {
		lin.Extra["level"] = hm.Params.Level
		lin.Extra["assoc_k"] = hm.Params.AssocK
		lin.Extra["popular_k"] = hm.Params.PopularK
		lin.Extra["top"] = top
	}
	return out, rk, nil
}
