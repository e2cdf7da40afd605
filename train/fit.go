package train

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// MaxNewtonColumns is the widest design (without the intercept) that Fit
// solves by Newton's method when Options.Solver is Auto; wider designs use
// L-BFGS.
const MaxNewtonColumns = 256

// DefaultTol is the default stopping threshold on max |gradient of F|.
const DefaultTol = 1e-7

// Solver names a minimisation method.
type Solver string

// Solvers.
const (
	Auto   Solver = ""       // Newton up to MaxNewtonColumns, L-BFGS beyond
	Newton Solver = "newton" // Newton steps, Cholesky solve, backtracking line search
	LBFGS  Solver = "lbfgs"  // gonum/optimize L-BFGS
)

// Fit statuses.
const (
	StatusConverged     = "converged"
	StatusMaxIterations = "max_iterations"
	StatusLineSearch    = "line_search_failed"
	StatusNotPosDef     = "hessian_not_positive_definite"
	StatusFailed        = "failed"
)

// Options configure Fit. The zero value is the default fit at C = 1.
type Options struct {
	// C is the inverse regularisation strength, as in scikit-learn; 0
	// means 1. It must not be negative.
	C float64
	// Solver picks the method; Auto by default.
	Solver Solver
	// Tol stops the fit when max |gradient of F| <= Tol; 0 means
	// DefaultTol.
	Tol float64
	// MaxIter bounds the iterations; 0 means 100 for Newton and 10000
	// for L-BFGS.
	MaxIter int
	// Threads is the number of goroutines; 0 means GOMAXPROCS. The result
	// does not depend on it.
	Threads int
}

// Result is a fitted logistic regression.
type Result struct {
	// Coef holds one coefficient per design column.
	Coef      []float64
	Intercept float64
	// Solver is the method that ran: newton or lbfgs.
	Solver Solver
	// Status is StatusConverged or why the fit stopped short.
	Status     string
	Converged  bool
	Iterations int
	// GradNorm is max |gradient of F| at the solution (absolute).
	GradNorm float64
	// Objective is F at the solution.
	Objective float64
	Elapsed   time.Duration
}

// Fit minimises F(beta, b) = C * sum_i w_i * logloss(y_i, b + x_i.beta) +
// 1/2 ||beta||^2 over the n x d row-major design x (len n*d). y holds 0/1
// labels. If w is nil, all weights are 1. A fit that stops short of the
// tolerance is returned with Converged false and a Status saying why, not
// as an error; errors are for invalid input.
func Fit(x []float64, n, d int, y, w []float64, opt Options) (Result, error) {
	if n <= 0 || d < 0 || len(x) != n*d || len(y) != n || (w != nil && len(w) != n) {
		return Result{}, fmt.Errorf("fit: %d rows of %d columns need %d values, %d labels, %d weights; have %d, %d, %d",
			n, d, n*d, n, n, len(x), len(y), len(w))
	}
	if opt.C < 0 || math.IsNaN(opt.C) || math.IsInf(opt.C, 0) {
		return Result{}, fmt.Errorf("fit: C = %v: want a positive number", opt.C)
	}
	if opt.C == 0 {
		opt.C = 1
	}
	if opt.Tol == 0 {
		opt.Tol = DefaultTol
	}
	var sw, swy float64
	for i, v := range y {
		if v != 0 && v != 1 {
			return Result{}, fmt.Errorf("fit: label %d is %v: want 0 or 1", i, v)
		}
		wi := 1.0
		if w != nil {
			wi = w[i]
			if !(wi >= 0) || math.IsInf(wi, 0) {
				return Result{}, fmt.Errorf("fit: weight %d is %v: want a finite number >= 0", i, wi)
			}
		}
		sw += wi
		swy += wi * v
	}
	if swy <= 0 || swy >= sw {
		return Result{}, errors.New("fit: the weighted labels are all of one class")
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Result{}, fmt.Errorf("fit: row %d column %d is %v", i/max(d, 1), i%max(d, 1), v)
		}
	}
	solver := opt.Solver
	if solver == Auto {
		solver = Newton
		if d > MaxNewtonColumns {
			solver = LBFGS
		}
	}
	o := newObjective(x, n, d, y, w, opt.C, opt.Threads)
	params := make([]float64, d+1)
	// Start at beta = 0 and the intercept of the label rate: the
	// minimiser is unique, the start only saves an iteration.
	params[d] = math.Log(swy / (sw - swy))
	start := time.Now()
	var res Result
	switch solver {
	case Newton:
		res = newton(o, params, opt)
	case LBFGS:
		res = lbfgs(o, params, opt)
	default:
		return Result{}, fmt.Errorf("fit: unknown solver %q (newton or lbfgs)", solver)
	}
	res.Elapsed = time.Since(start)
	res.Solver = solver
	return res, nil
}

func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

func result(params, grad []float64, f float64, iter int, status string) Result {
	d := len(params) - 1
	return Result{
		Coef:       append([]float64(nil), params[:d]...),
		Intercept:  params[d],
		Status:     status,
		Converged:  status == StatusConverged,
		Iterations: iter,
		GradNorm:   maxAbs(grad),
		Objective:  f,
	}
}

// newton minimises F by Newton steps solved with a Cholesky factorisation
// of the Hessian and an Armijo backtracking line search. z is linear in
// the step, so a trial step costs O(n), not a pass over X.
func newton(o *objective, params []float64, opt Options) Result {
	maxIter := opt.MaxIter
	if maxIter == 0 {
		maxIter = 100
	}
	d := o.d
	m := d + 1
	grad := make([]float64, m)
	step := make([]float64, m)
	zd := make([]float64, o.n)
	hess := make([]float64, m*m)
	trial := make([]float64, m)
	gradTrial := make([]float64, m)
	zOld := make([]float64, o.n)
	var chol mat.Cholesky
	f := o.lossGrad(params, grad)
	for iter := 0; ; iter++ {
		if maxAbs(grad) <= opt.Tol {
			return result(params, grad, f, iter, StatusConverged)
		}
		if iter == maxIter {
			return result(params, grad, f, iter, StatusMaxIterations)
		}
		o.hessian(hess)
		if ok := chol.Factorize(mat.NewSymDense(m, hess)); !ok {
			return result(params, grad, f, iter, StatusNotPosDef)
		}
		sv := mat.NewVecDense(m, step)
		if err := chol.SolveVecTo(sv, mat.NewVecDense(m, grad)); err != nil {
			return result(params, grad, f, iter, StatusNotPosDef)
		}
		for j := range step {
			step[j] = -step[j]
		}
		slope := dot(grad, step) // < 0 for a descent direction
		if !(slope < 0) {
			return result(params, grad, f, iter, StatusLineSearch)
		}
		// Armijo: accept t with F(t) <= F(0) + 1e-4 t slope, allowing
		// for the rounding of F (a sum of positive terms) near the
		// minimum, where the decrease is below F's precision.
		slack := roundingSlack * math.Abs(f)
		// The full step is tried with a complete evaluation, which is
		// needed anyway when it is accepted (the usual case). Keep the
		// current predictor in case it is not.
		for j := range trial {
			trial[j] = params[j] + step[j]
		}
		o.z, zOld = zOld, o.z
		if ft := o.lossGrad(trial, gradTrial); ft <= f+armijoDecrease*slope+slack {
			copy(params, trial)
			copy(grad, gradTrial)
			f = ft
			continue
		}
		// Backtrack along the line: z is linear in the step, so a trial
		// costs O(n), not a pass over X.
		o.z, zOld = zOld, o.z
		o.direction(step, zd)
		t := 1.0
		accepted := false
		for range 60 {
			t /= 2
			for j := range trial {
				trial[j] = params[j] + t*step[j]
			}
			ft := o.lossAlong(t, zd) + o.penalty(trial)
			if ft <= f+armijoDecrease*t*slope+slack {
				accepted = true
				break
			}
		}
		if !accepted {
			return result(params, grad, f, iter, StatusLineSearch)
		}
		copy(params, trial)
		f = o.lossGrad(params, grad)
	}
}

// lbfgs minimises F with gonum's L-BFGS.
func lbfgs(o *objective, params []float64, opt Options) Result {
	maxIter := opt.MaxIter
	if maxIter == 0 {
		maxIter = 10000
	}
	m := o.d + 1
	// gonum asks for F and its gradient at the same point in turn: keep
	// the last evaluation.
	last := make([]float64, m)
	lastGrad := make([]float64, m)
	var lastF float64
	have := false
	eval := func(x []float64) {
		if have && equal(x, last) {
			return
		}
		copy(last, x)
		lastF = o.lossGrad(x, lastGrad)
		have = true
	}
	prob := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(g, x []float64) { eval(x); copy(g, lastGrad) },
	}
	settings := &optimize.Settings{
		// gonum stops on max|g| < threshold: nudge so that == tol stops.
		GradientThreshold: math.Nextafter(opt.Tol, math.Inf(1)),
		MajorIterations:   maxIter,
		Converger:         optimize.NeverTerminate{},
	}
	r, err := optimize.Minimize(prob, params, settings, &optimize.LBFGS{Linesearcher: &wolfeSearch{}})
	status := StatusConverged
	x := params
	if r != nil {
		x = r.X
	}
	grad := make([]float64, m)
	f := o.lossGrad(x, grad)
	iter := 0
	if r != nil {
		iter = r.MajorIterations
	}
	if maxAbs(grad) > opt.Tol {
		switch {
		case r != nil && r.Status == optimize.IterationLimit:
			status = StatusMaxIterations
		case err != nil && errors.Is(err, optimize.ErrLinesearcherFailure):
			status = StatusLineSearch
		default:
			status = StatusFailed
		}
	}
	return result(x, grad, f, iter, status)
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
