package train

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"

	"github.com/prevoir/prevoir/models/btyd"
)

// Minimum data for a buy-till-you-die fit.
const (
	// MinBTYDCustomers is the fewest customers a transaction model
	// (BG/NBD, MBG/NBD) is fitted on.
	MinBTYDCustomers = 10
	// MinRepeatBuyers is the fewest repeat buyers (x > 0) the
	// transaction model and the Gamma-Gamma spend model need.
	MinRepeatBuyers = 3
)

// ErrNoRepeatBuyers is returned (wrapped) when too few customers bought
// twice: the dropout process and the spend model cannot be estimated.
var ErrNoRepeatBuyers = errors.New("too few repeat buyers")

// BTYDFit is the outcome of a maximum-likelihood fit.
type BTYDFit struct {
	// LogLik is the (unpenalised) log-likelihood at the estimate, summed
	// over customers.
	LogLik float64 `json:"log_likelihood"`
	// Customers is the number of customers; Groups the distinct
	// summaries the likelihood was evaluated on.
	Customers  int    `json:"customers"`
	Groups     int    `json:"groups"`
	Iterations int    `json:"iterations"`
	Status     string `json:"status"`
}

// summaryGroups are customers with identical summaries, grouped: the
// distinct summaries sorted by x, with their counts, and for each
// distinct x the range of its summaries.
type summaryGroups struct {
	sums   []btyd.Summary
	w      []float64
	xs     []float64
	ranges [][2]int
	total  float64
}

func groupSummaries(in []btyd.Summary) *summaryGroups {
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b btyd.Summary) int {
		switch {
		case a.X != b.X:
			return cmpF(a.X, b.X)
		case a.Tx != b.Tx:
			return cmpF(a.Tx, b.Tx)
		}
		return cmpF(a.T, b.T)
	})
	g := &summaryGroups{total: float64(len(in))}
	for i, v := range s {
		if i > 0 && v == s[i-1] {
			g.w[len(g.w)-1]++
			continue
		}
		if len(g.xs) == 0 || g.xs[len(g.xs)-1] != v.X {
			g.xs = append(g.xs, v.X)
			g.ranges = append(g.ranges, [2]int{len(g.sums), len(g.sums)})
		}
		g.sums = append(g.sums, v)
		g.w = append(g.w, 1)
		g.ranges[len(g.ranges)-1][1] = len(g.sums)
	}
	return g
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// logLik returns the summed log-likelihood of the groups under p, and
// adds its gradient with respect to (r, α, a, b) to grad when not nil.
func (g *summaryGroups) logLik(p btyd.Params, grad []float64) float64 {
	ll := 0.0
	for k, x := range g.xs {
		t := p.TermsOf(x, grad != nil)
		for i := g.ranges[k][0]; i < g.ranges[k][1]; i++ {
			ll += g.w[i] * p.LogLik(&t, g.sums[i], g.w[i], grad)
		}
	}
	return ll
}

// TransactionLogLik returns the summed log-likelihood of the summaries
// under p's transaction model (BG/NBD or MBG/NBD).
func TransactionLogLik(p btyd.Params, sums []btyd.Summary) float64 {
	return groupSummaries(sums).logLik(p, nil)
}

// FitTransactions fits a BG/NBD or MBG/NBD model (variant) to customers'
// summaries by maximum likelihood, as lifetimes does: it minimises
//
//	-sum_i LL_i / n + penalizer * (r² + α² + a² + b²)
//
// over the logarithms of the parameters with gonum's BFGS and the
// analytic gradient, times scaled so that the largest T is 10 (α and the
// penalty are in the scaled unit, as lifetimes'; α is returned in the
// summaries' unit). Customers with identical summaries are evaluated once,
// weighted by their count. It returns the parameters with P, Q, V zero.
func FitTransactions(sums []btyd.Summary, variant string, penalizer float64) (btyd.Params, BTYDFit, error) {
	p := btyd.Params{Variant: variant}
	if variant != btyd.BGNBD && variant != btyd.MBGNBD {
		return p, BTYDFit{}, fmt.Errorf("model %q: want %s or %s", variant, btyd.BGNBD, btyd.MBGNBD)
	}
	if !(penalizer >= 0) || math.IsInf(penalizer, 1) {
		return p, BTYDFit{}, fmt.Errorf("penalizer %v: want a finite number >= 0", penalizer)
	}
	if len(sums) < MinBTYDCustomers {
		return p, BTYDFit{}, fmt.Errorf("%s fit: %d customers, want at least %d", variant, len(sums), MinBTYDCustomers)
	}
	maxT, repeat := 0.0, 0
	for i, s := range sums {
		if !(s.X >= 0 && s.Tx >= 0 && s.T >= s.Tx) || math.IsInf(s.T, 1) || s.X != math.Trunc(s.X) || (s.X == 0) != (s.Tx == 0) {
			return p, BTYDFit{}, fmt.Errorf("%s fit: customer %d: summary x=%v t_x=%v T=%v: want a whole x >= 0, 0 <= t_x <= T, t_x = 0 exactly when x = 0", variant, i+1, s.X, s.Tx, s.T)
		}
		maxT = max(maxT, s.T)
		if s.X > 0 {
			repeat++
		}
	}
	if repeat < MinRepeatBuyers {
		return p, BTYDFit{}, fmt.Errorf("%s fit: %w: %d of %d customers bought again, want at least %d", variant, ErrNoRepeatBuyers, repeat, len(sums), MinRepeatBuyers)
	}
	if maxT <= 0 {
		return p, BTYDFit{}, fmt.Errorf("%s fit: every customer's age T is 0: the calibration period ends on their first purchase day", variant)
	}
	scale := 10 / maxT
	scaled := make([]btyd.Summary, len(sums))
	for i, s := range sums {
		scaled[i] = btyd.Summary{X: s.X, Tx: s.Tx * scale, T: s.T * scale}
	}
	g := groupSummaries(scaled)
	at := func(x []float64) btyd.Params {
		return btyd.Params{Variant: variant, R: math.Exp(x[0]), Alpha: math.Exp(x[1]), A: math.Exp(x[2]), B: math.Exp(x[3])}
	}
	var grad [4]float64
	obj := func(x, dst []float64) float64 {
		q := at(x)
		var gp []float64
		if dst != nil {
			grad = [4]float64{}
			gp = grad[:]
		}
		ll := g.logLik(q, gp)
		th := [4]float64{q.R, q.Alpha, q.A, q.B}
		f := -ll / g.total
		for i, v := range th {
			f += penalizer * v * v
			if dst != nil {
				dst[i] = (-grad[i]/g.total + 2*penalizer*v) * v
			}
		}
		if math.IsNaN(f) {
			return math.Inf(1)
		}
		return f
	}
	x, res, err := minimize(obj, []float64{0.1, 0.1, 0.1, 0.1})
	fit := BTYDFit{Customers: len(sums), Groups: len(g.sums)}
	if res != nil {
		fit.Iterations, fit.Status = res.Stats.MajorIterations, res.Status.String()
	}
	if err != nil {
		return p, fit, fmt.Errorf("%s fit: %w", variant, err)
	}
	p = at(x)
	p.Alpha /= scale
	// The log-likelihood in the summaries' own unit (the scaled one
	// differs by the time scale's Jacobian).
	fit.LogLik = groupSummaries(sums).logLik(p, nil)
	if err := finite(p.R, p.Alpha, p.A, p.B); err != nil {
		return p, fit, fmt.Errorf("%s fit: %w", variant, err)
	}
	return p, fit, nil
}

// FitGammaGamma fits the Gamma-Gamma spend model to the repeat buyers'
// frequencies x and mean repeat spends m, by maximum likelihood as
// lifetimes does (-sum LL / n + penalizer (p² + q² + v²), over the
// logarithms of the parameters). Customers with x = 0 are left out; a
// repeat buyer's mean spend must be positive (refused with a count).
func FitGammaGamma(x, m []float64, penalizer float64) (p, q, v float64, fit BTYDFit, err error) {
	if len(x) != len(m) {
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: %d frequencies, %d spends", len(x), len(m))
	}
	if !(penalizer >= 0) || math.IsInf(penalizer, 1) {
		return 0, 0, 0, fit, fmt.Errorf("penalizer %v: want a finite number >= 0", penalizer)
	}
	type key struct{ x, m float64 }
	counts := map[key]float64{}
	bad, n, sum := 0, 0, 0.0
	for i := range x {
		if !(x[i] > 0) {
			continue
		}
		if !(m[i] > 0) || math.IsInf(m[i], 1) {
			bad++
			continue
		}
		counts[key{x[i], m[i]}]++
		n++
		sum += m[i]
	}
	if bad > 0 {
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: %d of %d repeat buyers have a mean repeat spend that is zero, negative or not a number: the spend model needs positive values (leave them out, or net returns elsewhere)", bad, bad+n)
	}
	if n < MinRepeatBuyers {
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: %w: %d, want at least %d", ErrNoRepeatBuyers, n, MinRepeatBuyers)
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.x != b.x {
			return cmpF(a.x, b.x)
		}
		return cmpF(a.m, b.m)
	})
	total := float64(n)
	ll := func(pr btyd.Params, grad []float64) float64 {
		s := 0.0
		for _, k := range keys {
			w := counts[k]
			s += w * pr.GammaGammaLogLik(k.x, k.m, w, grad)
		}
		return s
	}
	at := func(z []float64) btyd.Params {
		return btyd.Params{P: math.Exp(z[0]), Q: math.Exp(z[1]), V: math.Exp(z[2])}
	}
	var grad [3]float64
	obj := func(z, dst []float64) float64 {
		pr := at(z)
		var gp []float64
		if dst != nil {
			grad = [3]float64{}
			gp = grad[:]
		}
		l := ll(pr, gp)
		th := [3]float64{pr.P, pr.Q, pr.V}
		f := -l / total
		for i, t := range th {
			f += penalizer * t * t
			if dst != nil {
				dst[i] = (-grad[i]/total + 2*penalizer*t) * t
			}
		}
		if math.IsNaN(f) {
			return math.Inf(1)
		}
		return f
	}
	// Start from a population mean spend near the data's: p = q = 2,
	// v = mean / 2 gives pv/(q-1) = mean.
	z, res, err := minimize(obj, []float64{math.Log(2), math.Log(2), math.Log(sum / total / 2)})
	fit = BTYDFit{Customers: n, Groups: len(keys)}
	if res != nil {
		fit.Iterations, fit.Status = res.Stats.MajorIterations, res.Status.String()
	}
	if err != nil {
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: %w", err)
	}
	pr := at(z)
	fit.LogLik = ll(pr, nil)
	if err := finite(pr.P, pr.Q, pr.V); err != nil {
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: %w", err)
	}
	return pr.P, pr.Q, pr.V, fit, nil
}

// minimize runs BFGS on f (f(x, nil) the value, f(x, grad) the value and
// gradient) from x0, to a gradient below 1e-9 in the log parameters.
func minimize(f func(x, grad []float64) float64, x0 []float64) ([]float64, *optimize.Result, error) {
	pr := optimize.Problem{
		Func: func(x []float64) float64 { return f(x, nil) },
		Grad: func(grad, x []float64) { f(x, grad) },
	}
	set := &optimize.Settings{GradientThreshold: 1e-9, MajorIterations: 1000,
		Converger: &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 50}}
	res, err := optimize.Minimize(pr, x0, set, &optimize.BFGS{})
	if res == nil {
		return nil, nil, fmt.Errorf("the optimiser failed: %w", err)
	}
	// A line search that cannot improve any more at the optimum is not a
	// failure: the gradient says whether this is a maximum.
	g := make([]float64, len(x0))
	f(res.X, g)
	for i, v := range g {
		if math.IsNaN(v) || math.Abs(v) > 1e-6 {
			return res.X, res, fmt.Errorf("no convergence after %d iterations (%s, gradient %.3g at parameter %d, %v): the data may not identify the model (too few repeat buyers, or all customers alike)", res.Stats.MajorIterations, res.Status, v, i+1, err)
		}
	}
	return res.X, res, nil
}

func finite(vs ...float64) error {
	for _, v := range vs {
		if !(v > 0) || math.IsInf(v, 0) || v > 1e12 || v < 1e-12 {
			return fmt.Errorf("a parameter ran off to %v: the data do not identify the model (too few repeat buyers, or the model does not fit)", v)
		}
	}
	return nil
}
