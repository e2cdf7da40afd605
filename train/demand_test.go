package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/negbin"
)

// TestFitPoisson: on 20,000 rows drawn from a Poisson with log mean 0.5 +
// 0.8 x1 - 0.3 x2, the nearly unpenalised fit (C = 1e6) recovers the
// coefficients within 0.03 (their standard errors are about 0.005), and
// the returned point is stationary: C * X'(mu - y) + beta = 0 to 1e-6
// relative to C * n.
func TestFitPoisson(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n, d := 20000, 2
	x := make([]float64, n*d)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		x[i*d], x[i*d+1] = r.NormFloat64(), r.NormFloat64()
		mu := math.Exp(0.5 + 0.8*x[i*d] - 0.3*x[i*d+1])
		y[i] = distuv.Poisson{Lambda: mu, Src: r}.Rand()
	}
	for _, c := range []float64{1e6, 1e-5} {
		res, err := FitPoisson(x, n, d, y, c, 0, 0)
		if err != nil || res.Status != "converged" {
			t.Fatalf("C = %g: %v, %+v", c, err, res)
		}
		grad := []float64{res.Coef[0], res.Coef[1], 0}
		for i := 0; i < n; i++ {
			mu := math.Exp(res.Intercept + res.Coef[0]*x[i*d] + res.Coef[1]*x[i*d+1])
			grad[0] += c * (mu - y[i]) * x[i*d]
			grad[1] += c * (mu - y[i]) * x[i*d+1]
			grad[2] += c * (mu - y[i])
		}
		for j, g := range grad {
			if math.Abs(g) > 1e-6*c*float64(n) {
				t.Errorf("C = %g: gradient[%d] = %g", c, j, g)
			}
		}
		if c == 1e6 && (math.Abs(res.Intercept-0.5) > 0.03 || math.Abs(res.Coef[0]-0.8) > 0.03 || math.Abs(res.Coef[1]+0.3) > 0.03) {
			t.Errorf("coefficients %v, intercept %v; want 0.8, -0.3, 0.5", res.Coef, res.Intercept)
		}
		if c == 1e-5 && (math.Abs(res.Coef[0]) > 0.5 || math.Abs(res.Coef[1]) > 0.2) {
			t.Errorf("C = 1e-5: the penalty does not shrink: %v", res.Coef)
		}
	}
	if _, err := FitPoisson(x, n, d, make([]float64, n), 1, 0, 0); err == nil {
		t.Error("all-zero labels fitted")
	}
}

// nbDraw draws a negative binomial of mean mu and dispersion alpha as a
// gamma-Poisson mixture.
func nbDraw(r *rand.Rand, mu, alpha float64) float64 {
	lambda := mu
	if alpha > 0 {
		lambda = distuv.Gamma{Alpha: 1 / alpha, Beta: 1 / (alpha * mu), Src: r}.Rand()
	}
	return distuv.Poisson{Lambda: lambda, Src: r}.Rand()
}

// TestFitDispersion: counts drawn with known means and alpha = 0.5 (NB2)
// give back p = 0, g = 0 and alpha within 10%; with alpha = 2 / mu (NB1)
// p = -1; Poisson counts give alpha below 0.02.
func TestFitDispersion(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 12000
	mu := make([]float64, n)
	for i := range mu {
		mu[i] = math.Exp(r.NormFloat64() + 1)
	}
	draw := func(alpha func(m float64) float64) []float64 {
		y := make([]float64, n)
		for i, m := range mu {
			y[i] = nbDraw(r, m, alpha(m))
		}
		return y
	}
	a, p, g, err := FitDispersion(draw(func(float64) float64 { return 0.5 }), mu, nil)
	if err != nil || p != 0 || g != 0 || math.Abs(a-0.5) > 0.05 {
		t.Errorf("NB2 alpha 0.5: a %v p %v g %v (%v)", a, p, g, err)
	}
	a, p, _, _ = FitDispersion(draw(func(m float64) float64 { return 2 / m }), mu, nil)
	if p != -1 || math.Abs(a-2) > 0.3 {
		t.Errorf("NB1 alpha 2/mu: a %v p %v", a, p)
	}
	a, _, _, _ = FitDispersion(draw(func(float64) float64 { return 0 }), mu, nil)
	if a > 0.02 {
		t.Errorf("Poisson: a %v", a)
	}
}

// TestBaselines: Croston/SBA, moving averages, naive and seasonal naive on
// hand-computed histories.
func TestBaselines(t *testing.T) {
	h := []float64{0, 2, 0, 0, 4}
	// First demand 2 after 2 periods: z = 2, p = 2; then 4 after 3:
	// z = 2 + 0.1 (4 - 2) = 2.2, p = 2 + 0.1 (3 - 2) = 2.1; SBA 0.95 z / p.
	if got, want := croston(h, 0.1), 0.95*2.2/2.1; math.Abs(got-want) > 1e-12 {
		t.Errorf("croston %v, want %v", got, want)
	}
	for _, c := range []struct {
		method string
		h      int
		want   float64
		ok     bool
	}{
		{MethodNaive, 1, 4, true},
		{MethodMA4, 2, 1.5, true},
		{MethodMA8, 1, 1.2, true}, // 5 periods only
		{MethodSeasonalNaive, 1, 2, true},
		{MethodSeasonalNaive, 2, 0, true},
		{MethodSeasonalNaive, 5, 0, false},
	} {
		got, ok := baselineForecast(c.method, h, c.h, 4)
		if ok != c.ok || ok && math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s h=%d: %v %v, want %v %v", c.method, c.h, got, ok, c.want, c.ok)
		}
	}
	if croston([]float64{0, 0}, 0.1) != 0 {
		t.Error("croston without demand")
	}
}

// TestRunBacktest: metrics by hand on two series of one product, the
// model a Poisson of known mean.
func TestRunBacktest(t *testing.T) {
	ss := []BacktestSeries{
		{Product: "P", Warehouse: "A", History: []float64{1, 3, 2, 2}, Actual: []float64{4, 0}},
		{Product: "P", Warehouse: "B", History: []float64{0, 0, 0, 0}, Actual: []float64{1, 1}},
	}
	pw, prod := RunBacktest(ss, 2, 0, func(i, h int) Dist { return Dist{Mean: []float64{2, 1}[i]} })
	var model, ma4 *MethodBacktest
	for i := range pw {
		switch pw[i].Method {
		case MethodModel:
			model = &pw[i]
		case MethodMA4:
			ma4 = &pw[i]
		case MethodSeasonalNaive:
			t.Error("seasonal naive without a lag")
		}
	}
	o := model.Overall
	// |4-2| + |0-2| + |1-1| + |1-1| = 4 over 6; bias (6 - 6) / 6.
	if o.Points != 4 || math.Abs(float64(o.WAPE)-4.0/6) > 1e-12 || math.Abs(float64(o.Bias)) > 1e-12 {
		t.Errorf("model: %+v", o)
	}
	// MASE: series A's scale is (2 + 1 + 0) / 3 = 1, its mean error 2;
	// series B is constant (left out).
	if math.Abs(float64(o.MASE)-2) > 1e-12 {
		t.Errorf("MASE %v", o.MASE)
	}
	// Poisson(2): P50 = 2, P90 = 4; Poisson(1): P50 = 1, P90 = 2. Covered:
	// 4 <= 4, 0, 1, 1: all. Pinball at 0.9: 0.9*0 + 0.1*4 + 0 + 0.1*1 + 0.1*1 = 0.6.
	if o.Coverage90 != 1 || math.Abs(float64(o.Pinball90)-0.6/4) > 1e-12 || math.Abs(float64(o.WQL90)-2*0.6/6) > 1e-12 {
		t.Errorf("quantiles: %+v", o)
	}
	if got := ma4.Steps[0]; math.Abs(float64(got.WAPE)-(2+1)/5.0) > 1e-12 {
		t.Errorf("MA(4) step 1: %+v", got) // forecasts 2 and 0 against 4 and 1
	}
	if len(prod) != len(pw) || prod[0].Overall.Points != 2 {
		t.Fatalf("product level: %+v", prod)
	}
	// Product level: means 3 and 3 against 5 and 1.
	if w := prod[0].Overall.WAPE; math.Abs(float64(w)-4.0/6) > 1e-12 {
		t.Errorf("product WAPE %v", w)
	}
}

// TestDemandOnGenerated: on the generator's history (latent demand known:
// sales come from customers' own purchase processes), the count model's
// P90 covers between 0.85 and 0.95 of the held-out product x warehouse
// values and of the product ones, the card loads as a negbin model, and
// the backtest lists every method.
func TestDemandOnGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history")
	}
	ctx := context.Background()
	st := newTaskStore(t)
	if _, err := synth.Generate(ctx, st, synth.Options{Name: "gen", Customers: 4000, Seed: 7, Products: 300}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := TrainDemand(ctx, st, DemandOptions{
		Features: features.Options{Dataset: "gen", AsOf: "2024-10-01", TopProducts: 100},
		Cutoffs:  12, Step: datasets.Span{Days: 14},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (models.Kinds{negbin.Kind()}).Load(ctx, out.Card, nil); err != nil {
		t.Fatalf("card: %v", err)
	}
	b := out.Backtest
	if len(b.TopProducts) != TopSeries || len(b.TopProducts[0].History) != TopHistory || len(b.TopProducts[0].P90) != b.Horizon {
		t.Fatalf("top products: %+v", b.TopProducts)
	}
	if s, err := time.Parse(time.DateOnly, b.HistoryStart); err != nil || s.AddDate(0, 0, 7*TopHistory).Format(time.DateOnly) != b.Origin {
		t.Errorf("history starts %s, %d weeks before the origin %s", b.HistoryStart, TopHistory, b.Origin)
	}
	for _, lv := range [][]MethodBacktest{b.ProductWarehouse, b.Product} {
		m := lv[0].Overall
		t.Logf("model: WAPE %.3f bias %.3f wQL90 %.3f P90 coverage %.3f over %d points; MA(4) WAPE %.3f", m.WAPE, m.Bias, m.WQL90, m.Coverage90, m.Points, lv[3].Overall.WAPE)
		if lv[0].Method != MethodModel || len(lv) < 6 {
			t.Fatalf("methods: %+v", lv)
		}
		if m.Coverage90 < 0.85 || m.Coverage90 > 0.95 {
			t.Errorf("P90 coverage %.3f, want 0.85-0.95", m.Coverage90)
		}
	}
}

// TestTopProducts: the products with the most units in their history,
// their warehouses summed over the last k periods, with the model's mean
// and the quantiles of the moment-matched product-level distribution.
func TestTopProducts(t *testing.T) {
	ss := []BacktestSeries{
		{Product: "A", Warehouse: "n", History: []float64{1, 2, 3}, Actual: []float64{2, 1}},
		{Product: "A", Warehouse: "s", History: []float64{0, 0, 4}, Actual: []float64{3, 0}},
		{Product: "B", Warehouse: "n", History: []float64{9, 9, 9}, Actual: []float64{9, 9}},
		{Product: "C", Warehouse: "n", History: []float64{0, 0, 1}, Actual: []float64{0, 0}},
	}
	dist := func(i, h int) Dist { return Dist{Mean: float64(i + h), Alpha: 0.5} }
	top := TopProducts(ss, 2, 2, 2, dist)
	if len(top) != 2 || top[0].Product != "B" || top[1].Product != "A" {
		t.Fatalf("%+v", top)
	}
	a := top[1]
	if !slices.Equal(a.History, []float64{2, 7}) || !slices.Equal(a.Actual, []float64{5, 1}) || !slices.Equal(a.Mean, []float64{3, 5}) {
		t.Fatalf("A: %+v", a)
	}
	// Step 1: means 1 and 2, variances 1 + 0.5 and 2 + 2: mean 3, variance 5.5.
	mu, alpha := negbin.MomentMatch(3, 5.5)
	if a.P50[0] != negbin.Quantile(0.5, mu, alpha) || a.P90[0] != negbin.Quantile(0.9, mu, alpha) || a.P90[0] < a.P50[0] {
		t.Errorf("A step 1: P50 %v P90 %v", a.P50[0], a.P90[0])
	}
}
