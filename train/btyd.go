package train

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/mathext"
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
	Customers  int `json:"customers"`
	Groups     int `json:"groups"`
	Iterations int `json:"iterations"`
	// Status is "converged" with gonum's reason: GradientThreshold, or
	// a line search that could not improve further at a point whose
	// gradient is within tolerance (Failure).
	Status string `json:"status"`
	// MaxGradient is the largest absolute gradient of the objective (a
	// mean over customers) in the log parameters at the estimate.
	MaxGradient float64 `json:"max_gradient"`
	// Seconds is the fit's wall time, grouping included.
	Seconds float64 `json:"seconds"`
}

// summaryGroups are customers with identical summaries, grouped and
// weighted by their count, with the distinct values of x, T and t_x
// indexed: one evaluation of the likelihood computes the terms of x once
// per distinct x, ln(α+T) once per distinct T and ln(α+t_x) once per
// distinct t_x, leaving one exp and one log1p per group.
type summaryGroups struct {
	xs, nx   []float64 // distinct x, and customers per x
	tv, txv  []float64 // distinct T and t_x
	gx       []int32   // per group: index in xs, tv, txv
	gt, gtx  []int32
	w        []float64 // per group: customers
	total    float64
	lT, iT   []float64 // per evaluation: ln(α+T), 1/(α+T)
	lTx, iTx []float64
	terms    []btyd.XTerms
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
	tIdx, txIdx := map[float64]int32{}, map[float64]int32{}
	index := func(m map[float64]int32, vals *[]float64, v float64) int32 {
		i, ok := m[v]
		if !ok {
			i = int32(len(*vals))
			m[v] = i
			*vals = append(*vals, v)
		}
		return i
	}
	for i, v := range s {
		if len(g.xs) == 0 || g.xs[len(g.xs)-1] != v.X {
			g.xs = append(g.xs, v.X)
			g.nx = append(g.nx, 0)
		}
		g.nx[len(g.nx)-1]++
		if i > 0 && v == s[i-1] {
			g.w[len(g.w)-1]++
			continue
		}
		g.gx = append(g.gx, int32(len(g.xs)-1))
		g.gt = append(g.gt, index(tIdx, &g.tv, v.T))
		g.gtx = append(g.gtx, index(txIdx, &g.txv, v.Tx))
		g.w = append(g.w, 1)
	}
	g.lT, g.iT = make([]float64, len(g.tv)), make([]float64, len(g.tv))
	g.lTx, g.iTx = make([]float64, len(g.txv)), make([]float64, len(g.txv))
	g.terms = make([]btyd.XTerms, len(g.xs))
	return g
}

// scaled returns the groups with times multiplied by s (the same groups:
// scaling keeps distinct values distinct).
func (g *summaryGroups) scaled(s float64) *summaryGroups {
	c := *g
	c.tv, c.txv = slices.Clone(g.tv), slices.Clone(g.txv)
	for i := range c.tv {
		c.tv[i] *= s
	}
	for i := range c.txv {
		c.txv[i] *= s
	}
	c.lT, c.iT = make([]float64, len(c.tv)), make([]float64, len(c.tv))
	c.lTx, c.iTx = make([]float64, len(c.txv)), make([]float64, len(c.txv))
	c.terms = make([]btyd.XTerms, len(c.xs))
	return &c
}

// groups is the number of distinct summaries.
func (g *summaryGroups) groups() int { return len(g.w) }

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// logLik returns the summed log-likelihood of the groups under p (what
// btyd.Params.LogLik gives customer by customer), and adds its gradient
// with respect to (r, α, a, b) to grad when not nil.
func (g *summaryGroups) logLik(p btyd.Params, grad []float64) float64 {
	r, alpha := p.R, p.Alpha
	for k, v := range g.tv {
		g.lT[k], g.iT[k] = math.Log(alpha+v), 1/(alpha+v)
	}
	for k, v := range g.txv {
		g.lTx[k], g.iTx[k] = math.Log(alpha+v), 1/(alpha+v)
	}
	withGrad := grad != nil
	ll := 0.0
	var d [4]float64
	for k, x := range g.xs {
		t := p.TermsOf(x, withGrad)
		g.terms[k] = t
		ll += g.nx[k] * t.C
		for j := range d {
			d[j] += g.nx[k] * t.D[j]
		}
	}
	// The groups in a fixed number of chunks, summed in chunk order:
	// the result does not depend on how many goroutines ran them.
	n := len(g.w)
	chunks := 1
	if n >= 1<<16 {
		chunks = logLikChunks
	}
	var parts [logLikChunks]partial
	run := func(c int) { parts[c] = g.partial(r, withGrad, c*n/chunks, (c+1)*n/chunks) }
	workers := min(chunks, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for c := 0; c < chunks; c++ {
			run(c)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan int, chunks)
		for c := 0; c < chunks; c++ {
			next <- c
		}
		close(next)
		for range workers {
			wg.Go(func() {
				for c := range next {
					run(c)
				}
			})
		}
		wg.Wait()
	}
	for c := 0; c < chunks; c++ {
		ll += parts[c].ll
		for j := range d {
			d[j] += parts[c].d[j]
		}
	}
	if withGrad {
		for j := range d {
			grad[j] += d[j]
		}
	}
	return ll
}

// logLikChunks is the number of chunks a large likelihood is summed in.
const logLikChunks = 8

// partial is one chunk's log-likelihood and gradient.
type partial struct {
	ll float64
	d  [4]float64
}

// partial sums the groups [lo, hi), with the tables of logLik.
func (g *summaryGroups) partial(r float64, withGrad bool, lo, hi int) partial {
	var out partial
	d := &out.d
	for i := lo; i < hi; i++ {
		w := g.w[i]
		k := g.gx[i]
		t := &g.terms[k]
		rx := r + g.xs[k]
		lt := g.lT[g.gt[i]]
		a3 := -rx * lt
		if math.IsInf(t.LogA4, -1) {
			out.ll += w * a3
			if withGrad {
				d[0] -= w * lt
				d[1] -= w * rx * g.iT[g.gt[i]]
			}
			continue
		}
		ltx := g.lTx[g.gtx[i]]
		diff := t.LogA4 - rx*ltx - a3
		e := math.Exp(-math.Abs(diff))
		// ln(1+e) rather than log1p: e <= 1, and the absolute error of
		// ln(1+e) (1e-16) is nothing next to a log-likelihood; log1p is
		// four times slower.
		var sp, w4 float64
		if diff >= 0 {
			sp, w4 = diff+math.Log(1+e), 1/(1+e)
		} else {
			sp, w4 = math.Log(1+e), e/(1+e)
		}
		out.ll += w * (a3 + sp)
		if withGrad {
			w3 := 1 - w4
			d[0] -= w * (w3*lt + w4*ltx)
			d[1] -= w * rx * (w3*g.iT[g.gt[i]] + w4*g.iTx[g.gtx[i]])
			d[2] += w * w4 * t.DA4[2]
			d[3] += w * w4 * t.DA4[3]
		}
	}
	return out
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
	start := time.Now()
	scale := 10 / maxT
	orig := groupSummaries(sums)
	g := orig.scaled(scale)
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
	x0 := []float64{0.1, 0.1, 0.1, 0.1}
	x, res, maxG, err := minimize(obj, x0)
	fit := BTYDFit{Customers: len(sums), Groups: g.groups()}
	if res != nil {
		fit.Iterations, fit.Status, fit.MaxGradient = res.Stats.MajorIterations, "converged ("+res.Status.String()+")", maxG
	}
	if err != nil {
		fit.Status = "not converged"
		return p, fit, fmt.Errorf("%s fit: %w", variant, err)
	}
	p = at(x)
	p.Alpha /= scale
	// The log-likelihood in the summaries' own unit (the scaled one
	// differs by the time scale's Jacobian).
	fit.LogLik = orig.logLik(p, nil)
	fit.Seconds = time.Since(start).Seconds()
	if err := finite(p.R, p.Alpha, p.A, p.B); err != nil {
		return p, fit, fmt.Errorf("%s fit: %w", variant, err)
	}
	return p, fit, nil
}

// spendData are the repeat buyers' spends, by distinct x: the
// Gamma-Gamma log-likelihood's terms in x alone and the sums of ln m are
// computed once, leaving one log and one division per customer and
// evaluation.
type spendData struct {
	xs, nx, slm []float64 // distinct x, customers, sum of ln m
	cx          []int32   // per customer: index in xs
	xm          []float64 // per customer: x m
	sl, si      []float64 // per evaluation and x: sum of ln(xm+v), of 1/(xm+v)
}

// newSpendData keeps the customers with x > 0; their mean spends must be
// positive (refused with a count).
func newSpendData(x, m []float64) (*spendData, error) {
	if len(x) != len(m) {
		return nil, fmt.Errorf("%d frequencies, %d spends", len(x), len(m))
	}
	idx := map[float64]int32{}
	sd := &spendData{}
	bad, n := 0, 0
	for i := range x {
		if !(x[i] > 0) {
			continue
		}
		if !(m[i] > 0) || math.IsInf(m[i], 1) {
			bad++
			continue
		}
		k, ok := idx[x[i]]
		if !ok {
			k = int32(len(sd.xs))
			idx[x[i]] = k
			sd.xs, sd.nx, sd.slm = append(sd.xs, x[i]), append(sd.nx, 0), append(sd.slm, 0)
		}
		sd.nx[k]++
		sd.slm[k] += math.Log(m[i])
		sd.cx = append(sd.cx, k)
		sd.xm = append(sd.xm, x[i]*m[i])
		n++
	}
	if bad > 0 {
		return nil, fmt.Errorf("%d of %d repeat buyers have a mean repeat spend that is zero, negative or not a number: the spend model needs positive values (leave them out, or net returns elsewhere)", bad, bad+n)
	}
	if n < MinRepeatBuyers {
		return nil, fmt.Errorf("%w: %d, want at least %d", ErrNoRepeatBuyers, n, MinRepeatBuyers)
	}
	sd.sl, sd.si = make([]float64, len(sd.xs)), make([]float64, len(sd.xs))
	return sd, nil
}

// logLik returns the summed Gamma-Gamma log-likelihood (what
// btyd.Params.GammaGammaLogLik gives customer by customer) and adds its
// gradient with respect to (p, q, v) to grad when not nil.
func (sd *spendData) logLik(pr btyd.Params, grad []float64) float64 {
	p, q, v := pr.P, pr.Q, pr.V
	clear(sd.sl)
	clear(sd.si)
	withGrad := grad != nil
	for i, xm := range sd.xm {
		k := sd.cx[i]
		sd.sl[k] += math.Log(xm + v)
		if withGrad {
			sd.si[k] += 1 / (xm + v)
		}
	}
	ll, lq, lv := 0.0, lgammaF(q), math.Log(v)
	for k, x := range sd.xs {
		n, px := sd.nx[k], p*sd.xs[k]
		lx := math.Log(x)
		ll += n*(lgammaF(px+q)-lgammaF(px)-lq+q*lv+px*lx) + (px-1)*sd.slm[k] - (px+q)*sd.sl[k]
		if withGrad {
			dg := mathext.Digamma
			dpq := dg(px + q)
			grad[0] += n*x*(dpq-dg(px)+lx) + x*sd.slm[k] - x*sd.sl[k]
			grad[1] += n*(dpq-dg(q)+lv) - sd.sl[k]
			grad[2] += n*q/v - (px+q)*sd.si[k]
		}
	}
	return ll
}

func lgammaF(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// FitGammaGamma fits the Gamma-Gamma spend model to the repeat buyers'
// frequencies x and mean repeat spends m, by maximum likelihood as
// lifetimes does (-sum LL / n + penalizer (p² + q² + v²), over the
// logarithms of the parameters). Customers with x = 0 are left out; a
// repeat buyer's mean spend must be positive (refused with a count).
func FitGammaGamma(x, m []float64, penalizer float64) (p, q, v float64, fit BTYDFit, err error) {
	if !(penalizer >= 0) || math.IsInf(penalizer, 1) {
		return 0, 0, 0, fit, fmt.Errorf("penalizer %v: want a finite number >= 0", penalizer)
	}
	start := time.Now()
	sd, err := newSpendData(x, m)
	if err != nil {
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: %w", err)
	}
	total := float64(len(sd.xm))
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
		l := sd.logLik(pr, gp)
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
	sum := 0.0
	for i, xm := range sd.xm {
		sum += xm / sd.xs[sd.cx[i]]
	}
	z0 := []float64{math.Log(2), math.Log(2), math.Log(sum / total / 2)}
	z, res, maxG, err := minimize(obj, z0)
	fit = BTYDFit{Customers: len(sd.xm), Groups: len(sd.xs)}
	if res != nil {
		fit.Iterations, fit.Status, fit.MaxGradient = res.Stats.MajorIterations, "converged ("+res.Status.String()+")", maxG
	}
	if err != nil {
		fit.Status = "not converged"
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: %w", err)
	}
	pr := at(z)
	fit.LogLik = sd.logLik(pr, nil)
	fit.Seconds = time.Since(start).Seconds()
	if err := finite(pr.P, pr.Q, pr.V); err != nil {
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: %w", err)
	}
	if pr.Q <= 1 {
		return 0, 0, 0, fit, fmt.Errorf("gamma-gamma fit: q = %.4g <= 1: the population's mean spend pv/(q-1) is not finite; the spend model does not fit these spends (very heavy-tailed?)", pr.Q)
	}
	return pr.P, pr.Q, pr.V, fit, nil
}

// minimize runs BFGS on f (f(x, nil) the value, f(x, grad) the value and
// gradient) from x0, to a gradient below 1e-7 in the log parameters
// (the objective is a mean over customers: the estimates are then good to
// about 1e-6 relative).
func minimize(f func(x, grad []float64) float64, x0 []float64) ([]float64, *optimize.Result, float64, error) {
	// The line search asks for the value and then the gradient at the
	// same point: both come from one pass over the data, kept for the
	// second call.
	var lastX, lastG []float64
	var lastF float64
	eval := func(x []float64) {
		if lastX != nil && slices.Equal(x, lastX) {
			return
		}
		lastX, lastG = append(lastX[:0], x...), make([]float64, len(x))
		lastF = f(x, lastG)
	}
	pr := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(grad, x []float64) { eval(x); copy(grad, lastG) },
	}
	set := &optimize.Settings{GradientThreshold: 1e-7, MajorIterations: 1000,
		Converger: &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 50}}
	res, err := optimize.Minimize(pr, x0, set, &optimize.BFGS{})
	if res == nil {
		return nil, nil, 0, fmt.Errorf("the optimiser failed: %w", err)
	}
	// A line search that cannot improve any more at the optimum is not a
	// failure: the gradient says whether this is a maximum.
	g := make([]float64, len(x0))
	f(res.X, g)
	maxG := 0.0
	for i, v := range g {
		maxG = max(maxG, math.Abs(v))
		if math.IsNaN(v) || math.Abs(v) > 1e-6 {
			return res.X, res, maxG, fmt.Errorf("no convergence after %d iterations (%s, gradient %.3g at parameter %d, %v): the data may not identify the model (too few repeat buyers, or all customers alike)", res.Stats.MajorIterations, res.Status, v, i+1, err)
		}
	}
	return res.X, res, maxG, nil
}

func finite(vs ...float64) error {
	for _, v := range vs {
		if !(v > 0) || math.IsInf(v, 0) || v > 1e12 || v < 1e-12 {
			return fmt.Errorf("a parameter ran off to %v: the data do not identify the model (too few repeat buyers, or the model does not fit)", v)
		}
	}
	return nil
}
