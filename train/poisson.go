package train

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/prevoir/prevoir/models/negbin"
)

// PoissonResult is a Poisson regression fit.
type PoissonResult struct {
	// Coef are the coefficients of the design columns; Intercept the
	// intercept (not penalised).
	Coef      []float64 `json:"coefficients"`
	Intercept float64   `json:"intercept"`
	// Iterations of Newton's method; Status "converged" or why not.
	Iterations int     `json:"iterations"`
	Status     string  `json:"status"`
	GradMax    float64 `json:"max_abs_gradient"`
	// Deviance is the Poisson deviance on the training rows.
	Deviance float64 `json:"deviance"`
	// Seconds is the fit's wall time.
	Seconds float64 `json:"seconds"`
}

// FitPoisson fits a Poisson regression with log link and an L2 penalty:
// it minimises
//
//	F(beta, b) = C * sum_i (mu_i - y_i * eta_i) + 1/2 ||beta||^2,  eta_i = b + x_i.beta, mu_i = exp(eta_i)
//
// (the negative log-likelihood up to a constant) by Newton's method
// (iteratively reweighted least squares) with a Cholesky solve and a
// halving line search, from b = log(mean y), beta = 0, until max
// |gradient of F| <= tol * C * max(n, sum y) (default tol 1e-8: the
// gradient's scale follows the labels', sales values as much as counts),
// or until the Newton decrement g'H^-1 g falls below 1e-12 (1 + |F|),
// the resolution of F in floating point. x is row-major, n
// rows of d columns (standardised by the caller); y >= 0.
func FitPoisson(x []float64, n, d int, y []float64, c, tol float64, maxIter int) (PoissonResult, error) {
	if n == 0 || len(y) != n || len(x) != n*d {
		return PoissonResult{}, fmt.Errorf("poisson fit: %d rows, %d labels, %d values for %d columns", n, len(y), len(x), d)
	}
	if !(c > 0) {
		return PoissonResult{}, fmt.Errorf("poisson fit: C = %v, want > 0", c)
	}
	if tol <= 0 {
		tol = 1e-8
	}
	if maxIter <= 0 {
		maxIter = 100
	}
	var sy float64
	for _, v := range y {
		if !(v >= 0) || math.IsInf(v, 0) {
			return PoissonResult{}, fmt.Errorf("poisson fit: label %v, want a finite count >= 0", v)
		}
		sy += v
	}
	if sy == 0 {
		return PoissonResult{}, errors.New("poisson fit: every label is 0")
	}
	start := time.Now()
	m := d + 1 // the intercept last
	beta := make([]float64, m)
	beta[d] = math.Log(sy / float64(n))
	eta := make([]float64, n)
	mu := make([]float64, n)
	obj := func(b []float64) float64 {
		var f float64
		for i := 0; i < n; i++ {
			e := b[d] + dot(x[i*d:(i+1)*d], b[:d])
			f += math.Exp(e) - y[i]*e
		}
		f *= c
		for _, v := range b[:d] {
			f += v * v / 2
		}
		return f
	}
	grad := make([]float64, m)
	h := make([]float64, m*m)
	g := newGram(d)
	res := PoissonResult{Status: "max iterations reached"}
	f := obj(beta)
	step := make([]float64, m)
	trial := make([]float64, m)
	for it := 0; it < maxIter; it++ {
		clear(grad)
		for i := 0; i < n; i++ {
			row := x[i*d : (i+1)*d]
			eta[i] = beta[d] + dot(row, beta[:d])
			mu[i] = math.Exp(eta[i])
			r := c * (mu[i] - y[i])
			axpy(r, row, grad[:d])
			grad[d] += r
		}
		for j := 0; j < d; j++ {
			grad[j] += beta[j]
		}
		res.GradMax = maxAbs(grad)
		res.Iterations = it
		if res.GradMax <= tol*c*math.Max(float64(n), sy) {
			res.Status = "converged"
			break
		}
		g.reset()
		g.add(x, mu)
		g.upper(h, c)
		for j := 0; j < d; j++ {
			h[j*m+j]++
		}
		for i := 0; i < m; i++ {
			for j := 0; j < i; j++ {
				h[i*m+j] = h[j*m+i]
			}
		}
		var chol mat.Cholesky
		if !chol.Factorize(mat.NewSymDense(m, h)) {
			res.Status = "the Hessian is not positive definite"
			break
		}
		sv := mat.NewVecDense(m, step)
		if err := chol.SolveVecTo(sv, mat.NewVecDense(m, grad)); err != nil {
			res.Status = "Cholesky solve: " + err.Error()
			break
		}
		if dot(grad, step) <= 1e-12*(1+math.Abs(f)) {
			// The Newton decrement is below what F's floating-point
			// resolution can show: no step can improve it further.
			res.Status = "converged"
			break
		}
		t := 1.0
		improved := false
		for k := 0; k < 40; k++ {
			for j := range trial {
				trial[j] = beta[j] - t*step[j]
			}
			if ft := obj(trial); ft <= f && !math.IsNaN(ft) {
				copy(beta, trial)
				f = ft
				improved = true
				break
			}
			t /= 2
		}
		if !improved {
			res.Status = "the line search found no decrease"
			break
		}
		res.Iterations = it + 1
	}
	res.Coef, res.Intercept = beta[:d], beta[d]
	for i := 0; i < n; i++ {
		e := beta[d] + dot(x[i*d:(i+1)*d], beta[:d])
		res.Deviance += poissonDeviance(y[i], math.Exp(e))
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func poissonDeviance(y, mu float64) float64 {
	if y == 0 {
		return 2 * mu
	}
	return 2 * (y*math.Log(y/mu) - (y - mu))
}

// nbLogLik is the negative binomial log-likelihood of counts y with means
// mu and dispersion alpha = a * mu^p * exp(g z) (Var = mu + alpha mu^2;
// z nil: g is not used); the Poisson's where alpha is 0. Non-integer y
// (sales values) are taken as they are, through lgamma.
func nbLogLik(y, mu, z []float64, a, p, g float64) float64 {
	var ll float64
	for i, v := range y {
		m := max(mu[i], 1e-12)
		lgy1, _ := math.Lgamma(v + 1)
		alpha := negbin.AlphaAt(m, a, p)
		if z != nil {
			alpha *= math.Exp(g * z[i])
		}
		if alpha <= 1e-12 {
			ll += v*math.Log(m) - m - lgy1
			continue
		}
		r := 1 / alpha
		lr, _ := math.Lgamma(v + r)
		lb, _ := math.Lgamma(r)
		ll += lr - lb - lgy1 + r*math.Log(r/(r+m)) + v*math.Log(m/(r+m))
	}
	return ll
}

// Dispersion search bounds.
const (
	minAlpha       = 1e-6
	maxAlpha       = 1e4
	dispersionRows = 20000
)

// FitDispersion returns the maximum-likelihood dispersion of a negative
// binomial with the given means, alpha = a * mu^p * exp(g * z) (z nil:
// g = 0): for each power p in -1, -0.75, ..., 0 (p = 0, g = 0 is the
// classic NB2 with one alpha) and each g in 0, 0.25, ..., 1.5, the best a
// over log a in [log 1e-6, log 1e4] (a grid of 13 points refined by 30
// steps of golden-section search); the (a, p, g) of the highest
// likelihood wins (ties: the first in that order), and a is 0 when the
// Poisson fits at least as well. Over 20,000 rows, every k-th row is used
// (k = ceil(n / 20,000)). The (p, g) pairs are searched on GOMAXPROCS
// goroutines; the result does not depend on their number.
func FitDispersion(y, mu, z []float64) (a, p, g float64, err error) {
	if len(y) != len(mu) || len(y) == 0 || z != nil && len(z) != len(y) {
		return 0, 0, 0, fmt.Errorf("dispersion fit: %d labels, %d means, %d covariates", len(y), len(mu), len(z))
	}
	if k := (len(y) + dispersionRows - 1) / dispersionRows; k > 1 {
		var ys, ms, zs []float64
		for i := 0; i < len(y); i += k {
			ys, ms = append(ys, y[i]), append(ms, mu[i])
			if z != nil {
				zs = append(zs, z[i])
			}
		}
		y, mu, z = ys, ms, zs
	}
	gs := []float64{0}
	if z != nil {
		gs = []float64{0, 0.25, 0.5, 0.75, 1, 1.25, 1.5}
	}
	type cand struct{ p, g, la, f float64 }
	var cands []cand
	for k := 0; k <= 4; k++ {
		for _, gv := range gs {
			cands = append(cands, cand{p: -1 + float64(k)/4, g: gv})
		}
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := &cands[i]
				f := func(la float64) float64 { return -nbLogLik(y, mu, z, math.Exp(la), c.p, c.g) }
				lo, hi := math.Log(minAlpha), math.Log(maxAlpha)
				c.la, c.f = lo, f(lo)
				for j := 1; j <= 12; j++ {
					la := lo + (hi-lo)*float64(j)/12
					if v := f(la); v < c.f {
						c.la, c.f = la, v
					}
				}
				step := (hi - lo) / 12
				if xm, fm := goldenMin(f, max(lo, c.la-step), min(hi, c.la+step)); fm < c.f {
					c.la, c.f = xm, fm
				}
			}
		}()
	}
	for i := range cands {
		next <- i
	}
	close(next)
	wg.Wait()
	bestF := -nbLogLik(y, mu, nil, 0, 0, 0)
	for _, c := range cands {
		if c.f < bestF {
			bestF, a, p, g = c.f, math.Exp(c.la), c.p, c.g
		}
	}
	return a, p, g, nil
}

// goldenMin minimises a unimodal f on [a, b] by golden-section search:
// 30 iterations shrink the bracket by 0.618^30 (about 5e-7).
func goldenMin(f func(float64) float64, a, b float64) (x, fx float64) {
	const g = 0.6180339887498949
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := f(c), f(d)
	for i := 0; i < 30; i++ {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = f(d)
		}
	}
	if fc < fd {
		return c, fc
	}
	return d, fd
}
