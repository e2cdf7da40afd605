package segments

import (
	"slices"
)

// Quintiles returns the score 1-5 of each value: 1 + floor(5 L / n),
// where L is the number of values strictly below it (strictly above it,
// for reverse). Equal values share a score; without ties the five scores
// hold n/5 values each, rounded.
func Quintiles(vals []float64, reverse bool) []int {
	n := len(vals)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sign := 1.0
	if reverse {
		sign = -1
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		x, y := sign*vals[a], sign*vals[b]
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	out := make([]int, n)
	below := 0
	for i, k := range idx {
		if i > 0 && vals[k] != vals[idx[i-1]] {
			below = i
		}
		out[k] = 1 + 5*below/n
	}
	return out
}

// The segment names.
const (
	Champions      = "champions"
	Loyal          = "loyal"
	Promising      = "promising"
	New            = "new"
	NeedsAttention = "needs attention"
	AtRisk         = "at risk"
	CannotLose     = "cannot lose"
	Hibernating    = "hibernating"
	Lost           = "lost"
)

// Segment names the segment of recency score r and frequency score f
// (each 1-5), by the table in docs/FEATURES.md:
//
//	r \ f   1               2               3               4           5
//	5       new             promising       promising       champions   champions
//	4       new             promising       promising       loyal       loyal
//	3       needs attention needs attention needs attention loyal       loyal
//	2       hibernating     hibernating     at risk         at risk     cannot lose
//	1       lost            lost            at risk         at risk     cannot lose
func Segment(r, f int) string {
	switch {
	case r >= 4 && f == 1:
		return New
	case r >= 4 && f <= 3:
		return Promising
	case r == 5:
		return Champions
	case r >= 3 && f >= 4:
		return Loyal
	case r == 3:
		return NeedsAttention
	case f == 5:
		return CannotLose
	case f >= 3:
		return AtRisk
	case r == 2:
		return Hibernating
	}
	return Lost
}

// Tier maps a value's quintile score to its tier: 5 high, 3-4 medium,
// 1-2 low (the top fifth, the next two fifths, the bottom two).
func Tier(q int) string {
	switch {
	case q >= 5:
		return "high"
	case q >= 3:
		return "medium"
	}
	return "low"
}

// Risk levels by probability of churn (or 1 - p_alive): high from
// RiskHigh, medium from RiskMedium (churn's default bands).
const (
	RiskHigh   = 0.7
	RiskMedium = 0.4
)

// RiskOf returns the risk level of a churn probability.
func RiskOf(p float64) string {
	switch {
	case p >= RiskHigh:
		return "high"
	case p >= RiskMedium:
		return "medium"
	}
	return "low"
}

// Cell joins a value tier and a risk level: "high-value/high-risk".
func Cell(tier, risk string) string { return tier + "-value/" + risk + "-risk" }
