package report

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
)

// Options are what every report records in its footer.
type Options struct {
	// Now is when the report was made (zero: not printed).
	Now            time.Time
	PrevoirVersion string
}

// ModelSections returns the sections of one model in a model report,
// chosen by the card's task and output. A new kind or task adds its case
// here, above the generic ones, and its builder in its own file.
func ModelSections(c *models.Card) ([]Section, error) {
	switch {
	case c.Kind == models.KindNegBin:
		return demandModelSections(c)
	case c.Task == "propensity" && c.Output == "probability":
		return propensitySections(c)
	case c.Kind == btyd.KindName:
		return clvSections(c)
	case c.Output == "probability":
		return classifierSections(c)
	}
	return genericSections(c), nil
}

// genericSections are what any card shows: the overview and its metrics
// as a flat table.
func genericSections(c *models.Card) []Section {
	s := overviewSection(c)
	flat := map[string]any{}
	flatten("", c.Metrics, flat)
	if len(flat) == 0 {
		s.Blocks = append(s.Blocks, Block{Note: "This card records no metrics."})
		return []Section{s}
	}
	t := &Table{Caption: "Metrics recorded on the card", Head: []string{"Metric", "Value"}}
	for _, k := range sortedKeys(flat) {
		t.Rows = append(t.Rows, []string{k, value(flat[k])})
	}
	s.Blocks = append(s.Blocks, Block{Table: t})
	return []Section{s}
}

// ModelReport is the report of one or more registered models: each
// model's sections (ModelSections), then, with several, a comparison
// side by side and what differs between their cards (the first is the
// reference: the champion, the others challengers).
func ModelReport(cards []*models.Card, o Options) (*Document, error) {
	if len(cards) == 0 {
		return nil, fmt.Errorf("model report: no model")
	}
	refs := make([]string, len(cards))
	for i, c := range cards {
		refs[i] = ref(c)
	}
	d := &Document{Title: "Model report: " + strings.Join(refs, ", "), Generated: o.Now, PrevoirVersion: o.PrevoirVersion}
	d.Subtitle = "One model's holdout evaluation."
	if len(cards) > 1 {
		d.Subtitle = fmt.Sprintf("%d models side by side; %s is the reference the others are compared with.", len(cards), refs[0])
		cmp, err := comparisonSections(cards)
		if err != nil {
			return nil, err
		}
		d.Sections = append(d.Sections, cmp...)
	}
	for _, c := range cards {
		s, err := ModelSections(c)
		if err != nil {
			return nil, err
		}
		d.Sections = append(d.Sections, s...)
	}
	return d, nil
}

// comparisonSections put several models side by side: the holdout
// metrics of each (classifiers), their ROC and gains curves on one plot,
// and each challenger's card diff against the first card.
func comparisonSections(cards []*models.Card) ([]Section, error) {
	sec := Section{ID: "comparison", Title: "Comparison"}
	ms := make([]*cardMetrics, len(cards))
	classifiers := true
	for i, c := range cards {
		m, err := readMetrics(c)
		if err != nil {
			return nil, err
		}
		ms[i] = m
		if c.Output != "probability" || m.Holdout == nil {
			classifiers = false
		}
	}
	if classifiers {
		blocks, err := compareClassifiers(cards, ms)
		if err != nil {
			return nil, err
		}
		sec.Blocks = append(sec.Blocks, blocks...)
		rb, err := compareRankings(cards)
		if err != nil {
			return nil, err
		}
		sec.Blocks = append(sec.Blocks, rb...)
		if ms[0].Holdout.Rows > 0 {
			for i := 1; i < len(ms); i++ {
				if ms[i].Holdout.Rows != ms[0].Holdout.Rows || ms[i].Holdout.Positives != ms[0].Holdout.Positives {
					sec.Blocks = append(sec.Blocks, Block{Note: fmt.Sprintf("%s and %s were evaluated on different holdouts (%s and %s rows): compare their metrics with care.", ref(cards[0]), ref(cards[i]), Int(int64(ms[0].Holdout.Rows)), Int(int64(ms[i].Holdout.Rows)))})
				}
			}
		}
	} else if dms, ok, err := allDemand(cards); err != nil {
		return nil, err
	} else if ok {
		blocks, err := compareDemand(cards, dms)
		if err != nil {
			return nil, err
		}
		sec.Blocks = append(sec.Blocks, blocks...)
	} else {
		sec.Blocks = append(sec.Blocks, Block{Text: "These models are not all classifiers with holdout metrics nor all demand models with a backtest: each one's metrics are in its own section below; the card differences follow."})
	}
	out := []Section{sec}
	for i := 1; i < len(cards); i++ {
		s, err := diffSection(cards[0], cards[i])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// allDemand reads every card's demand metrics; ok is false unless every
// card is a demand model with a backtest.
func allDemand(cards []*models.Card) ([]*demandMetrics, bool, error) {
	ms := make([]*demandMetrics, len(cards))
	for i, c := range cards {
		m, err := readDemand(c)
		if err != nil || m == nil {
			return nil, false, err
		}
		ms[i] = m
	}
	return ms, true, nil
}

func compareClassifiers(cards []*models.Card, ms []*cardMetrics) ([]Block, error) {
	head := []string{"Measure"}
	num := []bool{false}
	for _, c := range cards {
		head = append(head, ref(c))
		num = append(num, true)
	}
	t := &Table{Caption: "Holdout metrics side by side (best in each row marked ★)", Head: head, Numeric: num}
	for _, mr := range metricRows {
		row := []string{mr.name}
		best := -1
		for i, m := range ms {
			v := mr.value(m.Holdout)
			if best < 0 || (mr.higher && v > mr.value(ms[best].Holdout)) || (!mr.higher && v < mr.value(ms[best].Holdout)) {
				best = i
			}
			row = append(row, mr.format(v))
		}
		row[best+1] += " ★"
		t.Rows = append(t.Rows, row)
	}
	var roc, gains []Series
	for i, c := range cards {
		h := ms[i].Holdout
		if h.Curves != nil && len(h.Curves.FPR) > 1 {
			roc = append(roc, rocSeries(ref(c), h.Curves, h.AUC))
		}
		xs, ys := []float64{0}, []float64{0}
		rows := 0
		for _, d := range h.Deciles {
			rows += d.Rows
			xs, ys = append(xs, float64(rows)/float64(max(1, h.Rows))), append(ys, d.CumulativeGain)
		}
		gains = append(gains, Series{Name: ref(c), X: xs, Y: ys, Points: true})
	}
	blocks := []Block{{Table: t}}
	var figs []Figure
	if len(roc) > 0 {
		roc = append(roc, Series{Name: "chance", X: []float64{0, 1}, Y: []float64{0, 1}, Dashed: true})
		svg, err := LineChart(Chart{Title: "ROC curves, holdout", X: "false positive rate (share of negatives flagged)", Y: "true positive rate (recall)",
			XMin: 0, XMax: 1, YMin: 0, YMax: 1, Legend: "bottom right", PercentX: true, PercentY: true}, roc)
		if err != nil {
			return nil, err
		}
		figs = append(figs, Figure{ID: "comparison-roc", Caption: "Every model's ROC curve on its holdout.", SVG: svg})
	}
	gains = append(gains, Series{Name: "random", X: []float64{0, 1}, Y: []float64{0, 1}, Dashed: true})
	svg, err := LineChart(Chart{Title: "Cumulative gains, holdout", X: "customers contacted, by decreasing score", Y: "share of all positives found",
		XMin: 0, XMax: 1, YMin: 0, YMax: 1, Legend: "bottom right", PercentX: true, PercentY: true}, gains)
	if err != nil {
		return nil, err
	}
	figs = append(figs, Figure{ID: "comparison-gains", Caption: "Every model's cumulative gains by decile.", SVG: svg})
	return append(blocks, Block{Figures: figs}), nil
}

// diffHidden are card paths the diff table leaves out: the plotted
// curves, bins, deciles and forecast series (compared in the plots), the C search points
// (each model's search table) and timestamps.
var diffHidden = []string{".curves", ".calibration", ".deciles", ".c_search", ".top_products", ".history_start", "created", "version", "solver.seconds"}

// diffSection lists what differs between two cards (models.Diff), with
// the plotted series and timings left out.
func diffSection(a, b *models.Card) (Section, error) {
	ch, err := models.Diff(a, b)
	if err != nil {
		return Section{}, err
	}
	sort.SliceStable(ch, func(i, j int) bool { return diffRank(ch[i].Path) < diffRank(ch[j].Path) })
	t := &Table{Caption: "Card fields that differ: settings first, then metrics, coefficients and lineage", Class: "diff",
		Head: []string{"Field", ref(a), ref(b), "Change"}, Numeric: []bool{false, false, false, true}}
	hidden := 0
	for _, c := range ch {
		if hide(c.Path) {
			hidden++
			continue
		}
		change := ""
		if x, ok := c.A.(float64); ok {
			if y, ok := c.B.(float64); ok {
				change = strings.TrimSuffix(strings.TrimRight(Signed(y-x, 6), "0"), ".")
			}
		}
		t.Rows = append(t.Rows, []string{c.Path, value(c.A), value(c.B), change})
	}
	s := Section{ID: "diff-" + slug(ref(b)), Title: "Card diff: " + ref(a) + " → " + ref(b), Level: 2}
	if len(t.Rows) == 0 {
		s.Blocks = append(s.Blocks, Block{Text: "The cards agree on every field compared."})
	} else {
		s.Blocks = append(s.Blocks, Block{Text: fmt.Sprintf("%s fields differ (the same list as `prevoir models diff`); a dash is a field one card does not have.", Int(int64(len(t.Rows))))}, Block{Table: t})
	}
	if hidden > 0 {
		s.Blocks = append(s.Blocks, Block{Text: fmt.Sprintf("%s further differences in curve points, calibration bins, deciles, C search points and timings are in the plots and tables above, not listed.", Int(int64(hidden)))})
	}
	return s, nil
}

// diffRank orders the diff: what was asked for (parameters, inputs), then
// what came out (holdout metrics, baseline, gain), then the fit itself
// (coefficients, preprocessing), then where the data came from.
func diffRank(path string) int {
	for i, p := range []string{"parameters.", "input", "schema_", "metrics.holdout.", "metrics.holdout_gain.", "metrics.baseline.", "metrics.", "coefficients.", "intercept", "preprocessing.", "lineage."} {
		if strings.HasPrefix(path, p) {
			return i
		}
	}
	return 99
}

func hide(path string) bool {
	for _, h := range diffHidden {
		if strings.Contains(path, h+".") || strings.Contains(path, h+"[") || strings.HasSuffix(path, h) || path == strings.TrimPrefix(h, ".") {
			return true
		}
	}
	return false
}

// value formats a card value for a table cell: numbers as written, other
// values as compact JSON, long ones cut.
func value(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	case float64:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", x), "0"), ".")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := strings.ReplaceAll(string(b), ",", ", ")
	if len(s) > 160 {
		s = s[:157] + "…"
	}
	return s
}

// flatten is a nested map's leaves by dotted path; lists stay whole.
func flatten(prefix string, v any, out map[string]any) {
	if m, ok := v.(map[string]any); ok {
		for k, e := range m {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
		return
	}
	if prefix != "" {
		out[prefix] = v
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
