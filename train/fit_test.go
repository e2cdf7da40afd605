package train

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// synthetic returns n rows of d N(0,1) columns and labels drawn from a
// logistic model with coefficients 1/(j+1) and intercept -0.5.
func synthetic(n, d int, seed uint64) (x, y []float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	x = make([]float64, n*d)
	y = make([]float64, n)
	for i := 0; i < n; i++ {
		z := -0.5
		for j := 0; j < d; j++ {
			v := rng.NormFloat64()
			x[i*d+j] = v
			z += v / float64(j+1)
		}
		if rng.Float64() < sigmoid(z) {
			y[i] = 1
		}
	}
	return x, y
}

func randomWeights(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.5 + rng.Float64()
	}
	return w
}

// TestGradientFiniteDifference checks lossGrad's gradient against central
// differences of F: step 1e-5, F ~ 1e2, so truncation O(h^2 F”') and
// rounding O(eps F / h) are both under 1e-6 relative.
func TestGradientFiniteDifference(t *testing.T) {
	const n, d = 300, 5
	x, y := synthetic(n, d, 1)
	w := randomWeights(n, 2)
	o := newObjective(x, n, d, y, w, 0.7, 2)
	params := []float64{0.3, -0.2, 0.1, 0.5, -1, 0.25}
	grad := make([]float64, d+1)
	o.lossGrad(params, grad)
	const h = 1e-5
	p := append([]float64(nil), params...)
	for j := range params {
		p[j] = params[j] + h
		fp := o.lossGrad(p, nil)
		p[j] = params[j] - h
		fm := o.lossGrad(p, nil)
		p[j] = params[j]
		fd := (fp - fm) / (2 * h)
		if math.Abs(fd-grad[j]) > 1e-6*max(1, math.Abs(fd)) {
			t.Errorf("grad[%d] = %.10g, finite difference %.10g", j, grad[j], fd)
		}
	}
}

// TestHessianFiniteDifference checks the Hessian against central
// differences of the analytic gradient (step 1e-5, same error budget).
func TestHessianFiniteDifference(t *testing.T) {
	const n, d = 300, 5
	x, y := synthetic(n, d, 3)
	w := randomWeights(n, 4)
	o := newObjective(x, n, d, y, w, 2.5, 2)
	params := []float64{0.3, -0.2, 0.1, 0.5, -1, 0.25}
	m := d + 1
	hess := make([]float64, m*m)
	o.lossGrad(params, make([]float64, m))
	o.hessian(hess)
	const h = 1e-5
	gp, gm := make([]float64, m), make([]float64, m)
	p := append([]float64(nil), params...)
	for j := 0; j < m; j++ {
		p[j] = params[j] + h
		o.lossGrad(p, gp)
		p[j] = params[j] - h
		o.lossGrad(p, gm)
		p[j] = params[j]
		for i := 0; i < m; i++ {
			fd := (gp[i] - gm[i]) / (2 * h)
			if got := hess[i*m+j]; math.Abs(fd-got) > 1e-6*max(1, math.Abs(fd)) {
				t.Errorf("H[%d,%d] = %.10g, finite difference %.10g", i, j, got, fd)
			}
		}
	}
}

func TestFitSolversAgree(t *testing.T) {
	const n, d = 5000, 12
	x, y := synthetic(n, d, 5)
	w := randomWeights(n, 6)
	nt, err := Fit(x, n, d, y, w, Options{C: 0.3, Solver: Newton})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := Fit(x, n, d, y, w, Options{C: 0.3, Solver: LBFGS})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Result{nt, lb} {
		if !r.Converged || r.GradNorm > DefaultTol {
			t.Fatalf("%s: status %s, grad %g after %d iterations", r.Solver, r.Status, r.GradNorm, r.Iterations)
		}
	}
	// Both at max|grad| <= 1e-7 on a problem whose Hessian is >= I:
	// parameters agree to ~1e-7.
	for j := range nt.Coef {
		if math.Abs(nt.Coef[j]-lb.Coef[j]) > 1e-6 {
			t.Errorf("coef %d: newton %v, lbfgs %v", j, nt.Coef[j], lb.Coef[j])
		}
	}
	if math.Abs(nt.Intercept-lb.Intercept) > 1e-6 {
		t.Errorf("intercept: newton %v, lbfgs %v", nt.Intercept, lb.Intercept)
	}
}

// TestFitDeterministic: the same bits whatever the number of goroutines.
func TestFitDeterministic(t *testing.T) {
	const n, d = 40000, 9 // several chunks
	x, y := synthetic(n, d, 8)
	var ref Result
	for i, threads := range []int{1, 2, 3, 7} {
		r, err := Fit(x, n, d, y, nil, Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			ref = r
			continue
		}
		for j := range r.Coef {
			if r.Coef[j] != ref.Coef[j] {
				t.Fatalf("threads %d: coef %d = %v, with 1 thread %v", threads, j, r.Coef[j], ref.Coef[j])
			}
		}
		if r.Intercept != ref.Intercept || r.Iterations != ref.Iterations {
			t.Fatalf("threads %d: intercept %v iterations %d, with 1 thread %v %d", threads, r.Intercept, r.Iterations, ref.Intercept, ref.Iterations)
		}
	}
	_ = runtime.GOMAXPROCS(0)
}

// TestFitCollinear: duplicated and one-hot-complete columns (the sum of
// a categorical's indicators equals the intercept's column) fit under L2,
// and duplicated columns share their weight equally.
func TestFitCollinear(t *testing.T) {
	const n = 2000
	rng := rand.New(rand.NewPCG(9, 9))
	const d = 5 // a, a again, three indicators of one categorical
	x := make([]float64, n*d)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		a := rng.NormFloat64()
		lvl := rng.IntN(3)
		x[i*d], x[i*d+1] = a, a
		x[i*d+2+lvl] = 1
		if rng.Float64() < sigmoid(a+0.5*float64(lvl)-0.5) {
			y[i] = 1
		}
	}
	r, err := Fit(x, n, d, y, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Converged {
		t.Fatalf("status %s grad %g", r.Status, r.GradNorm)
	}
	if math.Abs(r.Coef[0]-r.Coef[1]) > 1e-9 {
		t.Errorf("duplicated columns got %v and %v", r.Coef[0], r.Coef[1])
	}
}

func TestFitRejects(t *testing.T) {
	x := []float64{1, 2, 3}
	for name, tc := range map[string]struct {
		y, w []float64
		opt  Options
	}{
		"one class":    {y: []float64{1, 1, 1}},
		"bad label":    {y: []float64{0, 2, 1}},
		"negative C":   {y: []float64{0, 1, 1}, opt: Options{C: -1}},
		"nan weight":   {y: []float64{0, 1, 1}, w: []float64{1, math.NaN(), 1}},
		"short labels": {y: []float64{0, 1}},
	} {
		if _, err := Fit(x, 3, 1, tc.y, tc.w, tc.opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
