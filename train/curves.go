package train

import (
	"fmt"
	"sort"
)

// CurvePoints bounds the number of points a recorded ROC or
// precision-recall curve keeps (besides its end points).
const CurvePoints = 200

// HistogramBins is the number of equal-width score bins over [0, 1] of a
// recorded score histogram.
const HistogramBins = 20

// Curves are a holdout's ROC and precision-recall curves and its score
// histogram per class, recorded on the model card beside the metrics so
// a report can plot them without the holdout rows (and without any
// customer ID). They are computed from the same rows, weights and tie
// rule as Metrics.
type Curves struct {
	// Threshold, FPR, TPR and Precision are points of the ROC and
	// precision-recall curves by decreasing threshold: a row is called
	// positive when its score is at or above Threshold[k]. The first
	// point is (0, 0) at threshold +1 (nothing called positive, precision
	// 1 by convention), the last is (1, 1) at the lowest score. Every
	// point is an exact point of the curve; with more distinct scores
	// than CurvePoints, points are kept where the rows called positive
	// cross k/CurvePoints of all rows. Recall is TPR.
	Threshold []float64 `json:"threshold"`
	FPR       []float64 `json:"fpr"`
	TPR       []float64 `json:"tpr"`
	Precision []float64 `json:"precision"`
	// Positives and Negatives are the weighted counts of each class per
	// score bin [k/HistogramBins, (k+1)/HistogramBins) (the last bin
	// includes 1).
	Positives []float64 `json:"positives_per_bin"`
	Negatives []float64 `json:"negatives_per_bin"`
}

// ComputeCurves returns the Curves of labels y (0 or 1) and probabilities
// p; w as for Evaluate (nil: all weights 1). Both classes must be
// present.
func ComputeCurves(y, p, w []float64) (*Curves, error) {
	n := len(y)
	if len(p) != n || (w != nil && len(w) != n) {
		return nil, fmt.Errorf("curves: %d labels, %d probabilities, %d weights", n, len(p), len(w))
	}
	weight := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	c := &Curves{Positives: make([]float64, HistogramBins), Negatives: make([]float64, HistogramBins)}
	var pos, neg float64
	for i := range y {
		if y[i] != 0 && y[i] != 1 {
			return nil, fmt.Errorf("curves: label %d is %v: want 0 or 1", i, y[i])
		}
		if !(p[i] >= 0 && p[i] <= 1) {
			return nil, fmt.Errorf("curves: probability %d is %v", i, p[i])
		}
		b := min(int(p[i]*HistogramBins), HistogramBins-1)
		if y[i] == 1 {
			pos += weight(i)
			c.Positives[b] += weight(i)
		} else {
			neg += weight(i)
			c.Negatives[b] += weight(i)
		}
	}
	if pos <= 0 || neg <= 0 {
		return nil, fmt.Errorf("curves: %g positives and %g negatives: both classes are needed", pos, neg)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	add := func(th, tp, fp float64) {
		prec := 1.0
		if tp+fp > 0 {
			prec = tp / (tp + fp)
		}
		c.Threshold = append(c.Threshold, th)
		c.FPR = append(c.FPR, fp/neg)
		c.TPR = append(c.TPR, tp/pos)
		c.Precision = append(c.Precision, prec)
	}
	add(1, 0, 0)
	c.Threshold[0] = 1 + 1e-9 // above every score: nothing called positive
	var tp, fp float64
	next := 1 // the next row-count mark, in units of n/CurvePoints
	for g := 0; g < n; {
		h := g
		for ; h < n && p[idx[h]] == p[idx[g]]; h++ {
			wi := weight(idx[h])
			tp += wi * y[idx[h]]
			fp += wi * (1 - y[idx[h]])
		}
		if h == n || h*CurvePoints >= next*n {
			add(p[idx[g]], tp, fp)
			for next*n <= h*CurvePoints {
				next++
			}
		}
		g = h
	}
	// Every row is called positive at the lowest score: (1, 1) exactly,
	// whatever the rounding of the sums.
	last := len(c.FPR) - 1
	c.FPR[last], c.TPR[last] = 1, 1
	return c, nil
}

// TrapezoidAUC is the area under the polyline through the points (x, y),
// x non-decreasing: the ROC AUC when the points are a whole ROC curve.
func TrapezoidAUC(x, y []float64) float64 {
	var a float64
	for k := 1; k < len(x) && k < len(y); k++ {
		a += (x[k] - x[k-1]) * (y[k] + y[k-1]) / 2
	}
	return a
}
