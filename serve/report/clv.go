package report

import (
	"encoding/json"
	"fmt"

	"github.com/prevoir/prevoir/models"
)

// clvMetrics are the parts of a bgnbd-gg card's metrics the report reads
// (train/clv.go writes them).
type clvMetrics struct {
	LogLik      map[string]float64 `json:"log_likelihood"`
	Holdout     string             `json:"holdout"`
	Calibration []struct {
		Frequency string  `json:"frequency"`
		Customers int     `json:"customers"`
		Actual    float64 `json:"actual"`
		BGNBD     float64 `json:"bgnbd"`
		MBGNBD    float64 `json:"mbgnbd"`
	} `json:"calibration_holdout"`
	Churn *struct {
		Churned     int     `json:"churned"`
		Customers   int     `json:"customers"`
		AUCPAlive   float64 `json:"auc_p_alive"`
		AUCExpected float64 `json:"auc_expected_purchases"`
	} `json:"churn_baseline"`
}

// clvSections are a customer-value model's (kind bgnbd-gg): the fitted
// parameters, the log-likelihoods, and with a holdout the classic
// calibration/holdout table and plot (mean purchases in the holdout by
// calibration frequency, actual against each model's expectation) and the
// label-free churn baseline.
func clvSections(c *models.Card) ([]Section, error) {
	var m clvMetrics
	b, err := json.Marshal(c.Metrics)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model %s: metrics: %w", ref(c), err)
	}
	r := ref(c)
	out := []Section{overviewSection(c)}
	unit, _ := c.Parameters["unit"].(string)
	variant, _ := c.Parameters["variant"].(string)
	pt := &Table{Caption: fmt.Sprintf("Fitted parameters (%s; time in %s)", variant, unit), Head: []string{"Parameter", "Value", "Meaning"},
		Numeric: []bool{false, true, false}}
	for _, p := range []struct{ name, meaning string }{
		{"r", "shape of the purchase-rate distribution"}, {"alpha", "scale of the purchase-rate distribution"},
		{"a", "dropout: beta shape a"}, {"b", "dropout: beta shape b"},
		{"p", "spend per purchase: gamma shape p"}, {"q", "spend: gamma shape q of the mixing"}, {"v", "spend: gamma scale v of the mixing"},
	} {
		if v, ok := c.Coefficients[p.name]; ok {
			pt.Rows = append(pt.Rows, []string{p.name, Num(v, 4), p.meaning})
		}
	}
	params := []Block{{Table: pt}}
	if len(m.LogLik) > 0 {
		lt := &Table{Caption: "Log-likelihood of each fit", Head: []string{"Model", "Log-likelihood"}, Numeric: []bool{false, true}}
		for _, k := range sortedKeys(toAny(m.LogLik)) {
			lt.Rows = append(lt.Rows, []string{k, Num(m.LogLik[k], 2)})
		}
		params = append(params, Block{Table: lt})
	}
	out = append(out, sub(r, "parameters", "Parameters", params...))
	if len(m.Calibration) == 0 {
		out = append(out, sub(r, "holdout", "Calibration and holdout", Block{Note: "This model was fitted without a holdout period: no calibration/holdout check (train --task clv --horizon SPAN adds one)."}))
		return out, nil
	}
	t := &Table{Caption: fmt.Sprintf("Mean repeat purchases in the %s holdout, by repeat purchases in the calibration period", m.Holdout),
		Head: []string{"Calibration purchases", "Customers", "Actual", "BG/NBD", "MBG/NBD"}, Numeric: []bool{false, true, true, true, true}}
	var xs, actual, bg, mbg []float64
	var names []string
	for i, row := range m.Calibration {
		t.Rows = append(t.Rows, []string{row.Frequency, Int(int64(row.Customers)), Num(row.Actual, 3), Num(row.BGNBD, 3), Num(row.MBGNBD, 3)})
		xs = append(xs, float64(i))
		names = append(names, row.Frequency)
		actual, bg, mbg = append(actual, row.Actual), append(bg, row.BGNBD), append(mbg, row.MBGNBD)
	}
	svg, err := BarChart(Chart{Title: "Calibration and holdout: actual against expected",
		X: "repeat purchases in the calibration period", Y: "mean purchases in the holdout (per customer)"}, names,
		[]Bars{{Name: "actual", Values: actual}, {Name: "BG/NBD", Values: bg}, {Name: "MBG/NBD", Values: mbg}})
	if err != nil {
		return nil, err
	}
	blocks := []Block{{Table: t}, {Figures: []Figure{{ID: slug(r) + "-calibration-holdout", Caption: "Each group of bars is the customers with that many repeat purchases before the holdout: what they bought in it, and what each model expected.", SVG: svg}}}}
	if ch := m.Churn; ch != nil {
		blocks = append(blocks, Block{Facts: []Fact{
			{"Customers without a purchase in the holdout", fmt.Sprintf("%s of %s", Int(int64(ch.Churned)), Int(int64(ch.Customers)))},
			{"ROC AUC of 1 - p_alive", Num(ch.AUCPAlive, 3)}, {"ROC AUC of expected purchases", Num(ch.AUCExpected, 3)},
		}}, Block{Text: "A label-free churn baseline: how well the model, which never saw a churn label, separates the customers who bought nothing in the holdout."})
	}
	out = append(out, sub(r, "holdout", "Calibration and holdout", blocks...))
	return out, nil
}

func toAny(m map[string]float64) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
