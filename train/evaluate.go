package train

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Metrics describe how well probabilities p predict 0/1 labels y: the
// figures recorded on a model card for the training rows and the holdout.
type Metrics struct {
	Rows      int     `json:"rows"`
	Positives float64 `json:"positives"` // weighted count
	BaseRate  float64 `json:"base_rate"` // weighted share of positives
	// AUC is the area under the ROC curve (ties count one half).
	AUC float64 `json:"roc_auc"`
	// AveragePrecision is the PR AUC as scikit-learn's
	// average_precision_score: sum over thresholds of (R_k - R_{k-1}) P_k.
	AveragePrecision float64 `json:"average_precision"`
	// LogLoss is the mean negative log-likelihood, p clipped to
	// [1e-15, 1-1e-15].
	LogLoss float64 `json:"log_loss"`
	// Brier is the mean squared error of p.
	Brier float64 `json:"brier"`
	// Calibration is 10 bins of (nearly) equal row counts by increasing
	// p: the rows of Deciles in reverse order.
	Calibration []CalibrationBin `json:"calibration"`
	// Deciles are the rows by decreasing p in 10 groups of (nearly)
	// equal row counts: lift and cumulative gains.
	Deciles []Decile `json:"deciles"`
	// Curves are set for a holdout only (see Outcome): the ROC and
	// precision-recall points and the score histogram per class that
	// reports plot.
	Curves *Curves `json:"curves,omitempty"`
}

// CalibrationBin compares mean predicted and observed rates in one bin.
type CalibrationBin struct {
	Rows          int     `json:"rows"`
	MinP          float64 `json:"min_p"`
	MaxP          float64 `json:"max_p"`
	MeanPredicted float64 `json:"mean_predicted"`
	ObservedRate  float64 `json:"observed_rate"`
}

// Decile is one tenth of the rows ranked by decreasing score.
type Decile struct {
	Decile    int     `json:"decile"` // 1 is the highest scores
	Rows      int     `json:"rows"`
	Positives float64 `json:"positives"`
	Rate      float64 `json:"rate"`
	// Lift is Rate over the base rate.
	Lift float64 `json:"lift"`
	// CumulativeGain is the share of all positives in deciles 1..Decile.
	CumulativeGain float64 `json:"cumulative_gain"`
	// CumulativeLift is the rate in deciles 1..Decile over the base rate.
	CumulativeLift float64 `json:"cumulative_lift"`
}

// Bins is the number of calibration bins and of lift groups.
const Bins = 10

// Evaluate computes Metrics for labels y (0 or 1) and probabilities p. If
// w is nil, all weights are 1; otherwise rows are weighted (bins still
// hold equal row counts). Both classes must be present.
func Evaluate(y, p, w []float64) (Metrics, error) {
	n := len(y)
	if len(p) != n || (w != nil && len(w) != n) {
		return Metrics{}, fmt.Errorf("evaluate: %d labels, %d probabilities, %d weights", n, len(p), len(w))
	}
	if n == 0 {
		return Metrics{}, errors.New("evaluate: no rows")
	}
	weight := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	var sw, pos, ll, brier float64
	for i := range y {
		if y[i] != 0 && y[i] != 1 {
			return Metrics{}, fmt.Errorf("evaluate: label %d is %v: want 0 or 1", i, y[i])
		}
		if !(p[i] >= 0 && p[i] <= 1) {
			return Metrics{}, fmt.Errorf("evaluate: probability %d is %v", i, p[i])
		}
		wi := weight(i)
		sw += wi
		pos += wi * y[i]
		q := min(max(p[i], 1e-15), 1-1e-15)
		if y[i] == 1 {
			ll -= wi * math.Log(q)
		} else {
			ll -= wi * math.Log1p(-q)
		}
		brier += wi * (p[i] - y[i]) * (p[i] - y[i])
	}
	neg := sw - pos
	if pos <= 0 || neg <= 0 {
		return Metrics{}, fmt.Errorf("evaluate: %g positives and %g negatives: both classes are needed", pos, neg)
	}
	m := Metrics{Rows: n, Positives: pos, BaseRate: pos / sw, LogLoss: ll / sw, Brier: brier / sw}

	// Rows by decreasing p; ties in row order, so bins are deterministic.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })

	// ROC AUC and average precision over distinct thresholds, walking
	// down the scores: a group of tied scores moves both rates at once.
	var tp, fp, auc, ap float64
	for g := 0; g < n; {
		h := g
		var dtp, dfp float64
		for ; h < n && p[idx[h]] == p[idx[g]]; h++ {
			wi := weight(idx[h])
			dtp += wi * y[idx[h]]
			dfp += wi * (1 - y[idx[h]])
		}
		// trapezoid: the tied group adds dfp * (tp + dtp/2)
		auc += dfp * (tp + dtp/2)
		tp += dtp
		fp += dfp
		if dtp > 0 {
			ap += (dtp / pos) * (tp / (tp + fp))
		}
		g = h
	}
	m.AUC = auc / (pos * neg)
	m.AveragePrecision = ap

	// Deciles by decreasing p.
	var cumPos, cumW float64
	for k := 0; k < Bins; k++ {
		lo, hi := k*n/Bins, (k+1)*n/Bins
		var dp, dw float64
		for _, i := range idx[lo:hi] {
			dp += weight(i) * y[i]
			dw += weight(i)
		}
		cumPos += dp
		cumW += dw
		d := Decile{Decile: k + 1, Rows: hi - lo, Positives: dp, CumulativeGain: cumPos / pos}
		if dw > 0 {
			d.Rate = dp / dw
			d.Lift = d.Rate / m.BaseRate
		}
		if cumW > 0 {
			d.CumulativeLift = cumPos / cumW / m.BaseRate
		}
		m.Deciles = append(m.Deciles, d)
	}
	// Calibration by increasing p: the deciles' rows, lowest scores
	// first.
	for k := 0; k < Bins; k++ {
		j := Bins - 1 - k
		lo, hi := j*n/Bins, (j+1)*n/Bins
		b := CalibrationBin{Rows: hi - lo}
		if hi > lo {
			b.MinP, b.MaxP = p[idx[hi-1]], p[idx[lo]]
			var sp, sy, sw float64
			for _, i := range idx[lo:hi] {
				sp += weight(i) * p[i]
				sy += weight(i) * y[i]
				sw += weight(i)
			}
			if sw > 0 {
				b.MeanPredicted, b.ObservedRate = sp/sw, sy/sw
			}
		}
		m.Calibration = append(m.Calibration, b)
	}
	return m, nil
}

// DecileRow is one line of the decile table printed for a model: the
// rows of one score decile with their mean predicted probability (the
// calibration bin of those rows) beside the observed rate.
type DecileRow struct {
	Decile        int     `json:"decile"` // 1 is the highest scores
	Rows          int     `json:"rows"`
	MeanPredicted float64 `json:"mean_predicted"`
	// Rate is the observed rate of positives (equal to the calibration
	// bin's ObservedRate: the same rows).
	Rate           float64 `json:"rate"`
	Lift           float64 `json:"lift"`
	CumulativeGain float64 `json:"cumulative_gain"`
}

// DecileTable returns the deciles, highest scores first, each with its
// calibration bin's mean predicted probability: the one table shape
// every training report prints.
func (m *Metrics) DecileTable() []DecileRow {
	out := make([]DecileRow, 0, len(m.Deciles))
	for k, d := range m.Deciles {
		r := DecileRow{Decile: d.Decile, Rows: d.Rows, Rate: d.Rate, Lift: d.Lift, CumulativeGain: d.CumulativeGain}
		if j := len(m.Calibration) - 1 - k; j >= 0 && j < len(m.Calibration) {
			r.MeanPredicted = m.Calibration[j].MeanPredicted
		}
		out = append(out, r)
	}
	return out
}
