package train

import (
	"math"

	"gonum.org/v1/gonum/optimize"
)

// wolfeSearch is a bisection line search for the strong Wolfe conditions
// whose sufficient-decrease test allows for the rounding of F. Near the
// minimum of a sum over a million rows, a step's decrease is below F's
// precision, and gonum's searchers, which compare values strictly, stop
// with a failure while the gradient is still above the tolerance; the
// directional derivative stays accurate there, so this search goes on.
type wolfeSearch struct {
	f0, g0    float64
	slack     float64
	lo, hi, t float64
	evals     int
}

var _ optimize.Linesearcher = (*wolfeSearch)(nil)

const (
	armijoDecrease = 1e-4
	wolfeCurvature = 0.9
	// roundingSlack times |F| bounds the rounding of F, a sum of
	// non-negative terms, as computed.
	roundingSlack = 64 * 0x1p-52
)

func (s *wolfeSearch) Init(f, g, step float64) optimize.Operation {
	s.f0, s.g0 = f, g
	s.slack = roundingSlack * math.Abs(f)
	s.lo, s.hi, s.t = 0, math.Inf(1), step
	s.evals = 0
	return optimize.FuncEvaluation | optimize.GradEvaluation
}

func (s *wolfeSearch) Iterate(f, g float64) (optimize.Operation, float64, error) {
	s.evals++
	armijo := f <= s.f0+armijoDecrease*s.t*s.g0+s.slack
	switch {
	case armijo && math.Abs(g) <= wolfeCurvature*math.Abs(s.g0):
		return optimize.MajorIteration, s.t, nil
	case armijo && g < 0:
		s.lo = s.t
	default: // no sufficient decrease (or NaN), or past the minimum
		s.hi = s.t
	}
	next := 2 * s.t
	if !math.IsInf(s.hi, 1) {
		next = (s.lo + s.hi) / 2
	}
	if next == s.t || s.evals >= 60 {
		return optimize.NoOperation, s.t, optimize.ErrLinesearcherFailure
	}
	s.t = next
	return optimize.FuncEvaluation | optimize.GradEvaluation, s.t, nil
}
