package report

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/prevoir/prevoir/models"
)

// rankingMetrics is train.Ranking as the card holds it (metrics.ranking):
// the model's and the baselines' top-N offer lists measured on the
// holdout cutoff.
type rankingMetrics struct {
	Cutoff    string `json:"cutoff"`
	Level     string `json:"level"`
	Top       int    `json:"top"`
	Customers int    `json:"customers"`
	Purchases int    `json:"purchases"`
	Covered   int    `json:"covered"`
	Rankers   []struct {
		Ranker    string  `json:"ranker"`
		HitRate   float64 `json:"hit_rate"`
		Precision float64 `json:"precision"`
		Recall    float64 `json:"recall"`
		MAP       float64 `json:"map"`
		AUC       float64 `json:"pair_roc_auc"`
	} `json:"rankers"`
	Definitions map[string]string `json:"definitions"`
}

// rankerNames are the rankers as people read them.
var rankerNames = map[string]string{
	"model": "model", "popularity": "popularity", "repeat": "repeat purchases", "repeat_then_popularity": "repeat, then popularity",
}

func rankerName(r string) string {
	if n, ok := rankerNames[r]; ok {
		return n
	}
	return r
}

// readRanking returns the card's metrics.ranking, nil when it has none.
func readRanking(c *models.Card) (*rankingMetrics, error) {
	v, ok := c.Metrics["ranking"]
	if !ok || v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var rk rankingMetrics
	if err := json.Unmarshal(b, &rk); err != nil {
		return nil, fmt.Errorf("model %s: metrics.ranking: %w", ref(c), err)
	}
	return &rk, nil
}

// propensitySections are a propensity model's: its sections as a
// classifier of the candidate rows (holdout metrics, curves, calibration,
// coefficients), then its offer lists against the baselines.
func propensitySections(c *models.Card) ([]Section, error) {
	out, err := classifierSections(c)
	if err != nil {
		return nil, err
	}
	rk, err := readRanking(c)
	if err != nil {
		return nil, err
	}
	r := ref(c)
	if rk == nil || len(rk.Rankers) == 0 {
		return append(out, sub(r, "ranking", "Offer lists against the baselines", Block{Note: "This card records no ranking evaluation (train --task propensity adds one)."})), nil
	}
	s, err := rankingSection(r, rk)
	if err != nil {
		return nil, err
	}
	return append(out, s), nil
}

// rankingSection: hit rate, precision, recall and MAP at N and the pair
// AUC of each ranker (the model highlighted, the best of each column
// marked ★), and MAP@N and hit@N as bars.
func rankingSection(r string, rk *rankingMetrics) (Section, error) {
	n := fmt.Sprintf("@%d", rk.Top)
	covered := "—"
	if rk.Purchases > 0 {
		covered = fmt.Sprintf("%s of %s (%s)", Int(int64(rk.Covered)), Int(int64(rk.Purchases)), Pct(float64(rk.Covered)/float64(rk.Purchases), 1))
	}
	facts := []Fact{{"Holdout cutoff", rk.Cutoff}, {"Level", rk.Level}, {"List length N", Int(int64(rk.Top))},
		{"Customers evaluated", Int(int64(rk.Customers))}, {"Purchases among the candidates", covered}}
	t := &Table{Caption: "Top-" + Int(int64(rk.Top)) + " lists on the holdout cutoff, model and baselines (best in each column marked ★)",
		Head:    []string{"Ranker", "Hit rate" + n, "Precision" + n, "Recall" + n, "MAP" + n, "Pair ROC AUC"},
		Numeric: []bool{false, true, true, true, true, true}}
	var names []string
	var maps, hits []float64
	for _, x := range rk.Rankers {
		t.Rows = append(t.Rows, []string{rankerName(x.Ranker), Pct(x.HitRate, 1), Pct(x.Precision, 1), Pct(x.Recall, 1), Num(x.MAP, 4), Num(x.AUC, 3)})
		t.Highlight = append(t.Highlight, x.Ranker == "model")
		names = append(names, rankerName(x.Ranker))
		maps, hits = append(maps, x.MAP), append(hits, x.HitRate)
	}
	for col, get := range []func(i int) float64{
		func(i int) float64 { return rk.Rankers[i].HitRate }, func(i int) float64 { return rk.Rankers[i].Precision },
		func(i int) float64 { return rk.Rankers[i].Recall }, func(i int) float64 { return rk.Rankers[i].MAP },
		func(i int) float64 { return rk.Rankers[i].AUC },
	} {
		best := -1
		for i := range rk.Rankers {
			if v := get(i); v == v && (best < 0 || v > get(best)) {
				best = i
			}
		}
		if best >= 0 {
			t.Rows[best][col+1] += " ★"
		}
	}
	svg, err := BarChart(Chart{Title: "MAP and hit rate at " + Int(int64(rk.Top)) + " by ranker", X: "ranker", Y: "share (MAP and hit rate, 0 to 1)", PercentY: true},
		names, []Bars{{Name: "MAP" + n, Values: maps}, {Name: "hit rate" + n, Values: hits}})
	if err != nil {
		return Section{}, err
	}
	blocks := []Block{{Facts: facts}, {Table: t},
		{Figures: []Figure{{ID: slug(r) + "-ranking-bars", Caption: "Each ranker's MAP" + n + " and hit rate" + n + " over the customers who bought something after the holdout cutoff.", SVG: svg}}}}
	var defs []string
	for _, k := range []string{"customers", "hit_rate", "precision", "recall", "map", "pair_roc_auc", "model", "popularity", "repeat", "repeat_then_popularity"} {
		if d, ok := rk.Definitions[k]; ok {
			defs = append(defs, k+": "+d)
		}
	}
	if len(defs) > 0 {
		blocks = append(blocks, Block{Text: "How they are computed. " + strings.Join(defs, "; ") + "."})
	}
	return sub(r, "ranking", "Offer lists against the baselines", blocks...), nil
}

// compareRankings puts the models' offer lists side by side when every
// card has a ranking evaluation: each model's own row (hit rate,
// precision, recall, MAP at N, pair AUC), the best of each row marked ★;
// nil when a card has none.
func compareRankings(cards []*models.Card) ([]Block, error) {
	rks := make([]*rankingMetrics, len(cards))
	for i, c := range cards {
		rk, err := readRanking(c)
		if err != nil {
			return nil, err
		}
		if rk == nil || len(rk.Rankers) == 0 || rk.Rankers[0].Ranker != "model" {
			return nil, nil
		}
		rks[i] = rk
	}
	head := []string{"Measure"}
	num := []bool{false}
	for _, c := range cards {
		head = append(head, ref(c))
		num = append(num, true)
	}
	t := &Table{Caption: "Each model's offer lists on its holdout cutoff (best in each row marked ★)", Head: head, Numeric: num}
	for _, row := range []struct {
		name   string
		get    func(*rankingMetrics) float64
		format func(float64) string
	}{
		{"Hit rate@N", func(r *rankingMetrics) float64 { return r.Rankers[0].HitRate }, pct1},
		{"Precision@N", func(r *rankingMetrics) float64 { return r.Rankers[0].Precision }, pct1},
		{"Recall@N", func(r *rankingMetrics) float64 { return r.Rankers[0].Recall }, pct1},
		{"MAP@N", func(r *rankingMetrics) float64 { return r.Rankers[0].MAP }, func(v float64) string { return Num(v, 4) }},
		{"Pair ROC AUC", func(r *rankingMetrics) float64 { return r.Rankers[0].AUC }, num3},
	} {
		cells := []string{row.name}
		best := -1
		for i, rk := range rks {
			v := row.get(rk)
			cells = append(cells, row.format(v))
			if v == v && (best < 0 || v > row.get(rks[best])) {
				best = i
			}
		}
		if best >= 0 {
			cells[best+1] += " ★"
		}
		t.Rows = append(t.Rows, cells)
	}
	blocks := []Block{{Table: t}}
	for i := 1; i < len(rks); i++ {
		if rks[i].Cutoff != rks[0].Cutoff || rks[i].Top != rks[0].Top {
			blocks = append(blocks, Block{Note: fmt.Sprintf("%s and %s were measured on different cutoffs or list lengths (%s, N = %d and %s, N = %d): compare their offer lists with care.",
				ref(cards[0]), ref(cards[i]), rks[0].Cutoff, rks[0].Top, rks[i].Cutoff, rks[i].Top)})
		}
	}
	return blocks, nil
}
