package train

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/prevoir/prevoir/models/btyd"
)

// simulateBTYD draws n customers from a BG/NBD process in days (λ ~
// Gamma(r, α), dropout p ~ Beta(a, b) after each repeat purchase, T
// uniform in [0, 730)), purchases rounded to whole days, and each repeat
// buyer's mean spend from the Gamma-Gamma model.
func simulateBTYD(n int, seed uint64, p btyd.Params) (sums []btyd.Summary, x, m []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	gamma := func(shape, scale float64) float64 { // Marsaglia and Tsang
		boost := 1.0
		if shape < 1 {
			boost = math.Pow(r.Float64(), 1/shape)
			shape++
		}
		d := shape - 1.0/3
		c := 1 / math.Sqrt(9*d)
		for {
			z := r.NormFloat64()
			v := 1 + c*z
			if v <= 0 {
				continue
			}
			v = v * v * v
			if u := r.Float64(); math.Log(u) < z*z/2+d-d*v+d*math.Log(v) {
				return d * v * scale * boost
			}
		}
	}
	for i := 0; i < n; i++ {
		lam := gamma(p.R, 1/p.Alpha)
		ga, gb := gamma(p.A, 1), gamma(p.B, 1)
		drop := ga / (ga + gb)
		T := math.Floor(r.Float64() * 730)
		t, last, days := 0.0, 0.0, 0.0
		for {
			t += r.ExpFloat64() / lam
			if math.Floor(t) > T {
				break
			}
			if d := math.Floor(t); d != last {
				last = d
				days++
			}
			if r.Float64() < drop {
				break
			}
		}
		nu := gamma(p.Q, 1/p.V)
		mean := 0.0
		for k := 0.0; k < days; k++ {
			mean += gamma(p.P, 1/nu)
		}
		if days > 0 {
			mean /= days
		}
		sums = append(sums, btyd.Summary{X: days, Tx: last, T: T})
		x, m = append(x, days), append(m, mean)
	}
	return sums, x, m
}

var simParams = btyd.Params{Variant: btyd.BGNBD, R: 0.8, Alpha: 40, A: 1.2, B: 2.8, P: 4, Q: 3.5, V: 60}

// TestSimulatedRecovery: the fit recovers the parameters of 50,000
// simulated customers within sampling error (10%).
func TestSimulatedRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 50,000 customers")
	}
	sums, x, m := simulateBTYD(50000, 1, simParams)
	p, _, err := FitTransactions(sums, btyd.BGNBD, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.P, p.Q, p.V, _, err = FitGammaGamma(x, m, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][3]float64{{p.R, simParams.R}, {p.Alpha, simParams.Alpha}, {p.A, simParams.A}, {p.B, simParams.B}, {p.P, simParams.P}, {p.Q, simParams.Q}, {p.V, simParams.V}} {
		if math.Abs(c[0]-c[1]) > 0.1*c[1] {
			t.Errorf("fitted %+v, simulated from %+v", p, simParams)
			break
		}
	}
}

// BenchmarkFit1M fits BG/NBD and Gamma-Gamma to 1,000,000 simulated
// customers (summaries in days over two years).
func BenchmarkFit1M(b *testing.B) {
	sums, x, m := simulateBTYD(1_000_000, 2, simParams)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		_, fit, err := FitTransactions(sums, btyd.BGNBD, 0)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		_, _, _, gfit, err := FitGammaGamma(x, m, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(t1.Sub(t0).Seconds(), "bgnbd_s")
		b.ReportMetric(time.Since(t1).Seconds(), "gg_s")
		b.ReportMetric(float64(fit.Groups), "groups")
		b.ReportMetric(float64(gfit.Groups), "gg_groups")
	}
}

// TestLogLikWorkers: the chunked log-likelihood and gradient are the same
// bits whatever the number of goroutines.
func TestLogLikWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 200,000 customers")
	}
	sums, _, _ := simulateBTYD(200_000, 3, simParams)
	g := groupSummaries(sums)
	if g.groups() < 1<<16 {
		t.Fatalf("%d groups: too few to be chunked", g.groups())
	}
	eval := func(procs int) (float64, []float64) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		grad := make([]float64, 4)
		return g.logLik(simParams, grad), grad
	}
	l1, g1 := eval(1)
	l4, g4 := eval(4)
	if l1 != l4 || !slices.Equal(g1, g4) {
		t.Errorf("1 goroutine: %v %v; 4: %v %v", l1, g1, l4, g4)
	}
}
