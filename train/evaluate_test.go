package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestEvaluateMatchesScikitLearn: reference values from scikit-learn
// 1.2.1 roc_auc_score, average_precision_score, log_loss and
// brier_score_loss (testdata/train/make_parity.py), exact to rounding.
func TestEvaluateMatchesScikitLearn(t *testing.T) {
	b, err := os.ReadFile("../testdata/train/small_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Metrics []struct {
			Name             string    `json:"name"`
			Y, P, W          []float64 `json:"-"`
			YJ               []float64 `json:"y"`
			PJ               []float64 `json:"p"`
			WJ               []float64 `json:"w"`
			AUC              float64   `json:"roc_auc"`
			AveragePrecision float64   `json:"average_precision"`
			LogLoss          float64   `json:"log_loss"`
			Brier            float64   `json:"brier"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Metrics) == 0 {
		t.Fatal("no metrics in the fixture")
	}
	for _, want := range doc.Metrics {
		m, err := Evaluate(want.YJ, want.PJ, want.WJ)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			what      string
			got, want float64
		}{
			{"roc auc", m.AUC, want.AUC},
			{"average precision", m.AveragePrecision, want.AveragePrecision},
			{"log loss", m.LogLoss, want.LogLoss},
			{"brier", m.Brier, want.Brier},
		} {
			if math.Abs(c.got-c.want) > 1e-12 {
				t.Errorf("%s: %s = %.15g, scikit-learn %.15g", want.Name, c.what, c.got, c.want)
			}
		}
	}
}

func TestEvaluateBinsAndLift(t *testing.T) {
	// 20 rows, p = i/20; label 1 for the top 5 rows: decile 1 and 2 hold
	// rows 19,18 and 17,16: 4 of the 5 positives.
	n := 20
	y := make([]float64, n)
	p := make([]float64, n)
	for i := range p {
		p[i] = float64(i) / 20
		if i >= 15 {
			y[i] = 1
		}
	}
	m, err := Evaluate(y, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.AUC != 1 || m.AveragePrecision != 1 {
		t.Errorf("perfect ranking: auc %v ap %v", m.AUC, m.AveragePrecision)
	}
	if len(m.Deciles) != Bins || len(m.Calibration) != Bins {
		t.Fatalf("%d deciles, %d bins", len(m.Deciles), len(m.Calibration))
	}
	d1, d2, d3 := m.Deciles[0], m.Deciles[1], m.Deciles[2]
	if d1.Rows != 2 || d1.Positives != 2 || d1.Lift != 4 || d2.CumulativeGain != 0.8 || d3.CumulativeGain != 1 {
		t.Errorf("deciles %+v %+v %+v", d1, d2, d3)
	}
	top := m.Calibration[Bins-1]
	if top.MinP != 0.9 || top.MaxP != 0.95 || top.ObservedRate != 1 || math.Abs(top.MeanPredicted-0.925) > 1e-15 {
		t.Errorf("top calibration bin %+v", top)
	}
	if _, err := Evaluate([]float64{1, 1}, []float64{0.2, 0.3}, nil); err == nil {
		t.Error("one class: no error")
	}
}
