package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCurvesMatchMetrics: the recorded ROC points are exact points of the
// curve and their area is Evaluate's AUC: exactly (1e-12) when every
// distinct score is kept, within 0.002 when the curve is thinned to
// CurvePoints points (a sample of 20,000 scores from a smooth model).
func TestCurvesMatchMetrics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n, ties  int
		weighted bool
		tol      float64
	}{
		{"few distinct scores, exact", 500, 50, false, 1e-12},
		{"weighted, exact", 300, 40, true, 1e-12},
		{"thinned", 20000, 0, false, 0.002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			y, p := make([]float64, tc.n), make([]float64, tc.n)
			var w []float64
			if tc.weighted {
				w = make([]float64, tc.n)
			}
			for i := range y {
				x := r.NormFloat64()
				p[i] = 1 / (1 + math.Exp(-x))
				if tc.ties > 0 {
					p[i] = math.Round(p[i]*float64(tc.ties)) / float64(tc.ties)
				}
				if r.Float64() < p[i] {
					y[i] = 1
				}
				if w != nil {
					w[i] = 0.5 + r.Float64()
				}
			}
			m, err := Evaluate(y, p, w)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ComputeCurves(y, p, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.FPR) > CurvePoints+2 {
				t.Errorf("%d points, want at most %d", len(c.FPR), CurvePoints+2)
			}
			if got := TrapezoidAUC(c.FPR, c.TPR); math.Abs(got-m.AUC) > tc.tol {
				t.Errorf("area under the recorded ROC points %.15g, Evaluate's AUC %.15g (tolerance %g)", got, m.AUC, tc.tol)
			}
			last := len(c.FPR) - 1
			if c.FPR[0] != 0 || c.TPR[0] != 0 || c.FPR[last] != 1 || c.TPR[last] != 1 {
				t.Errorf("ends (%g,%g) (%g,%g), want (0,0) and (1,1)", c.FPR[0], c.TPR[0], c.FPR[last], c.TPR[last])
			}
			// Each point is the curve at its threshold, recounted here.
			for k, th := range c.Threshold {
				var tp, fp, pos, neg float64
				for i := range y {
					wi := 1.0
					if w != nil {
						wi = w[i]
					}
					if y[i] == 1 {
						pos += wi
					} else {
						neg += wi
					}
					if p[i] >= th {
						if y[i] == 1 {
							tp += wi
						} else {
							fp += wi
						}
					}
				}
				if math.Abs(tp/pos-c.TPR[k]) > 1e-12 || math.Abs(fp/neg-c.FPR[k]) > 1e-12 {
					t.Fatalf("point %d at %g: (%g,%g), recounted (%g,%g)", k, th, c.FPR[k], c.TPR[k], fp/neg, tp/pos)
				}
				if tp+fp > 0 && math.Abs(tp/(tp+fp)-c.Precision[k]) > 1e-12 {
					t.Fatalf("point %d: precision %g, recounted %g", k, c.Precision[k], tp/(tp+fp))
				}
			}
			var hp, hn float64
			for k := range c.Positives {
				hp += c.Positives[k]
				hn += c.Negatives[k]
			}
			if math.Abs(hp-m.Positives) > 1e-9 || math.Abs(hp+hn-sum(w, tc.n)) > 1e-9 {
				t.Errorf("histogram: %g positives of %g, Evaluate %g positives", hp, hp+hn, m.Positives)
			}
		})
	}
}

func sum(w []float64, n int) float64 {
	if w == nil {
		return float64(n)
	}
	var s float64
	for _, v := range w {
		s += v
	}
	return s
}

func TestCurvesErrors(t *testing.T) {
	if _, err := ComputeCurves([]float64{1, 1}, []float64{0.2, 0.3}, nil); err == nil {
		t.Error("one class: no error")
	}
	if _, err := ComputeCurves([]float64{1, 0}, []float64{0.2, 1.3}, nil); err == nil {
		t.Error("probability 1.3: no error")
	}
}
