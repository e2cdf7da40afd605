package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/serve/publish"
	"github.com/prevoir/prevoir/train"
)

// classifierCard is a card as train writes it, with holdout metrics
// computed by train.Evaluate on n synthetic rows (a model whose score is
// the true probability) and a weaker baseline, through JSON like a card
// read from the registry.
func classifierCard(t *testing.T, name string, version, n int, seed uint64) *models.Card {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	y, p, pb := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		x := 1.5 * r.NormFloat64()
		p[i] = 1 / (1 + math.Exp(-x))
		pb[i] = 1 / (1 + math.Exp(-(x/2 + r.NormFloat64())))
		if r.Float64() < p[i] {
			y[i] = 1
		}
	}
	metrics := func(p []float64) train.Metrics {
		m, err := train.Evaluate(y, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Curves, err = train.ComputeCurves(y, p, nil); err != nil {
			t.Fatal(err)
		}
		return m
	}
	hold, base := metrics(p), metrics(pb)
	icpt := -0.25
	c := &models.Card{Name: name, Version: version, Kind: models.KindLogistic, Task: "churn", Output: "probability", Link: "logit",
		Inputs:       features.Schema{Features: []features.Feature{{Name: "recency_days", Kind: features.Numeric}, {Name: "orders_90d", Kind: features.Numeric}}},
		Coefficients: map[string]float64{"recency_days": 0.9, "orders_90d": -0.4 - float64(version)/10, "recency_days_missing": 0.05},
		Intercept:    &icpt,
		Metrics: map[string]any{"holdout": hold, "train": hold,
			"baseline": map[string]any{"feature": "recency_days", "holdout": base}},
		Lineage: &models.Lineage{Dataset: "demo", Rows: n, Extra: map[string]any{"holdout_cutoff": "2024-10-01"}},
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out models.Card
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func render(t *testing.T, d *Document) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	figureRE = regexp.MustCompile(`(?s)<figure id="([^"]+)" class="plot">(.*?)</figure>`)
	pathRE   = regexp.MustCompile(`<path d="(M[^"]*)"\s*style="fill:none;stroke:(#[0-9A-Fa-f]{6})`)
)

// plottedLine returns the points of the first line drawn in colour col
// in the figure id of the page, in SVG coordinates.
func plottedLine(t *testing.T, page, id, col string) (xs, ys []float64) {
	t.Helper()
	for _, f := range figureRE.FindAllStringSubmatch(page, -1) {
		if f[1] != id {
			continue
		}
		for _, m := range pathRE.FindAllStringSubmatch(f[2], -1) {
			if !strings.EqualFold(m[2], col) || strings.Count(m[1], "L") < 2 {
				continue
			}
			for _, pt := range strings.Split(strings.NewReplacer("M", "", "L", " ").Replace(m[1]), " ") {
				x, y, ok := strings.Cut(pt, ",")
				if !ok {
					t.Fatalf("figure %s: point %q", id, pt)
				}
				fx, err1 := strconv.ParseFloat(x, 64)
				fy, err2 := strconv.ParseFloat(y, 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("figure %s: point %q", id, pt)
				}
				xs, ys = append(xs, fx), append(ys, fy)
			}
			return xs, ys
		}
	}
	t.Fatalf("no line of colour %s in figure %s", col, id)
	return nil, nil
}

// TestROCPlotMatchesTrainMetrics reads the model's ROC line back from the
// SVG of the report: mapped back to rates (the curve runs from (0,0) to
// (1,1), the axes are linear), its points are the card's points, within
// the SVG's rounding (5 significant digits), and the area under them is
// the AUC train.Evaluate computed, within the thinning of the curve
// (train.CurvePoints) and the rounding.
func TestROCPlotMatchesTrainMetrics(t *testing.T) {
	card := classifierCard(t, "churn", 3, 5000, 1)
	d, err := ModelReport([]*models.Card{card}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	m, err := readMetrics(card)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Holdout
	for _, c := range []struct {
		name string
		col  string
		cm   *classMetrics
	}{{"model", "#0072B2", h}, {"baseline", "#E69F00", m.Baseline.Holdout}} {
		xs, ys := plottedLine(t, page, "churn-3-roc", c.col)
		if len(xs) != len(c.cm.Curves.FPR) {
			t.Fatalf("%s: %d points plotted, the card has %d", c.name, len(xs), len(c.cm.Curves.FPR))
		}
		x0, x1, y0, y1 := xs[0], xs[len(xs)-1], ys[0], ys[len(ys)-1]
		fpr, tpr := make([]float64, len(xs)), make([]float64, len(xs))
		for k := range xs {
			fpr[k], tpr[k] = (xs[k]-x0)/(x1-x0), (ys[k]-y0)/(y1-y0)
			if math.Abs(fpr[k]-c.cm.Curves.FPR[k]) > 1e-3 || math.Abs(tpr[k]-c.cm.Curves.TPR[k]) > 1e-3 {
				t.Fatalf("%s point %d: plotted (%.5f, %.5f), card (%.5f, %.5f)", c.name, k, fpr[k], tpr[k], c.cm.Curves.FPR[k], c.cm.Curves.TPR[k])
			}
		}
		if got := train.TrapezoidAUC(fpr, tpr); math.Abs(got-c.cm.AUC) > 0.003 {
			t.Errorf("%s: area under the plotted ROC %.5f, train's AUC %.5f", c.name, got, c.cm.AUC)
		}
		if legend := "(AUC " + Num(c.cm.AUC, 3) + ")"; !strings.Contains(page, legend) {
			t.Errorf("%s: the legend does not say %q", c.name, legend)
		}
	}
}

// TestModelReportSections: one classifier shows every part, two add the
// comparison and the card diff; text from the card is escaped.
func TestModelReportSections(t *testing.T) {
	a := classifierCard(t, "churn", 1, 2000, 1)
	b := classifierCard(t, "churn", 2, 2000, 2)
	b.Warnings = []string{`<script>alert(1)</script>`}
	// Churn's label-free baseline (train.CLVBaseline), as a card stores it.
	a.Metrics["clv_baseline"] = map[string]any{"name": "bgnbd", "score": "P(no purchase)", "cutoff": "2024-10-01", "missing": 3,
		"holdout": map[string]any{"roc_auc": 0.8149, "log_loss": 0.4321, "brier": 0.1234}, "roc_auc_p_alive": 0.5475}
	b.Metrics["clv_baseline"] = map[string]any{"name": "bgnbd", "note": "no repeat buyers"}
	d, err := ModelReport([]*models.Card{a, b}, Options{PrevoirVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	for _, want := range []string{`id="comparison"`, `id="diff-churn-2"`, `id="comparison-roc"`, `id="comparison-gains"`,
		`id="model-churn-1"`, `id="churn-1-metrics"`, `id="churn-1-roc"`, `id="churn-1-pr"`, `id="churn-1-calibration"`,
		`id="churn-1-gains"`, `id="churn-1-lift"`, `id="churn-1-distribution"`, `id="churn-1-coefficients"`, `id="churn-2-coefficients"`,
		"coefficients.orders_90d", "Baseline, holdout", `href="#churn-2-calibration"`,
		"Label-free baseline (bgnbd, as of 2024-10-01: P(no purchase)): ROC AUC 0.8149, log loss 0.4321, Brier 0.1234", "1 − p_alive alone: ROC AUC 0.5475",
		"No label-free baseline: no repeat buyers"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("a card's text reached the page unescaped")
	}
	if strings.Contains(page, ".curves.") {
		t.Error("the card diff lists curve points")
	}
	for _, bad := range regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(page, -1) {
		t.Errorf("the page refers to %s", bad[1])
	}
}

// TestModelReportWithoutCurves: a card with metrics but no curve points
// (trained before they were recorded) or no metrics at all still makes a
// report that says so.
func TestModelReportWithoutCurves(t *testing.T) {
	old := classifierCard(t, "old", 1, 500, 3)
	delete(old.Metrics["holdout"].(map[string]any), "curves")
	imported := &models.Card{Name: "xgb", Version: 1, Kind: models.KindXGBoost, Output: "probability"}
	count := &models.Card{Name: "demand", Version: 1, Kind: models.KindXGBoost, Output: "count", Metrics: map[string]any{"mae": 1.5}}
	d, err := ModelReport([]*models.Card{old, imported, count}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	for _, want := range []string{"records no curve points", "no holdout metrics", "<td>mae</td><td>1.5</td>", `id="old-1-calibration"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Int(0), "0"}, {Int(999), "999"}, {Int(1000), "1,000"}, {Int(-1234567), "-1,234,567"},
		{Count(1442), "1,442"}, {Count(1234.56), "1,234.6"}, {Count(9.97), "10"},
		{Pct(0.1234, 1), "12.3%"}, {Points(-0.015, 1), "-1.5 pp"}, {Points(0.02, 1), "+2.0 pp"},
		{Signed(0.5, 2), "+0.50"}, {Signed(-0.5, 2), "-0.50"}, {Num(math.NaN(), 2), "n/a"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestChurnChanges: customers entering the high band (new or moved up)
// and leaving it (moved down or no longer scored) are counted and
// listed.
func TestChurnChanges(t *testing.T) {
	prev := []churnRow{{id: "a", p: 0.9, band: "high"}, {id: "b", p: 0.5, band: "medium"}, {id: "c", p: 0.8, band: "high"}, {id: "d", p: 0.75, band: "high"}}
	cur := []churnRow{{id: "a", p: 0.95, band: "high"}, {id: "b", p: 0.72, band: "high"}, {id: "c", p: 0.3, band: "low"}, {id: "e", p: 0.71, band: "high"}}
	p := &Publication{Manifest: &publish.Manifest{AsOf: "2025-01-01"}, Previous: &publish.Manifest{AsOf: "2024-10-01"}, Top: 10}
	s := churnChanges(p, cur, prev)
	facts := map[string]string{}
	for _, b := range s.Blocks {
		for _, f := range b.Facts {
			facts[f.Label] = f.Value
		}
	}
	want := map[string]string{"Entered the high band": "2", "Left the high band": "2", "Changed band (any)": "2", "New customers": "1", "No longer scored": "1"}
	for k, v := range want {
		if facts[k] != v {
			t.Errorf("%s: %q, want %q", k, facts[k], v)
		}
	}
	page := render(t, &Document{Sections: []Section{s}})
	for _, row := range []string{"<td>b</td><td class=\"num\">50.0%</td><td>medium</td><td class=\"num\">72.0%</td><td>high</td>",
		"<td>e</td><td class=\"num\">—</td><td>not scored</td>", "<td>d</td><td class=\"num\">75.0%</td><td>high</td><td class=\"num\">—</td><td>not scored</td>"} {
		if !strings.Contains(page, row) {
			t.Errorf("no row %s", row)
		}
	}
	if psi := PSI([]float64{0.5, 0.5}, []float64{0.5, 0.5}); psi != 0 {
		t.Errorf("PSI of equal distributions %v", psi)
	}
}
