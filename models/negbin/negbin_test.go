package negbin_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/negbin"
)

// pmfCDF sums the negative binomial pmf by its recurrence, p(0) =
// (r/(r+mu))^r, p(k+1) = p(k) (k+r)/(k+1) mu/(r+mu): an independent
// computation of the CDF (the Poisson's when alpha is 0).
func pmfCDF(k int, mu, alpha float64) float64 {
	var p, sum float64
	if alpha == 0 {
		p = math.Exp(-mu)
	} else {
		r := 1 / alpha
		p = math.Exp(r * math.Log(r/(r+mu)))
	}
	for i := 0; i <= k; i++ {
		sum += p
		if alpha == 0 {
			p *= mu / float64(i+1)
		} else {
			r := 1 / alpha
			p *= (float64(i) + r) / float64(i+1) * mu / (r + mu)
		}
	}
	return sum
}

// TestQuantile: Quantile is the smallest k with CDF(k) >= q, the CDF
// equal to the pmf's sum to 1e-10, over means, dispersions and levels.
func TestQuantile(t *testing.T) {
	for _, mu := range []float64{0.05, 0.7, 3, 12.5, 80} {
		for _, alpha := range []float64{0, 0.01, 0.3, 2} {
			for k := 0; k < 200; k += 7 {
				if got, want := negbin.CDF(float64(k), mu, alpha), pmfCDF(k, mu, alpha); math.Abs(got-want) > 1e-10 {
					t.Fatalf("CDF(%d; mu=%v, alpha=%v) = %v, want %v", k, mu, alpha, got, want)
				}
			}
			for _, q := range []float64{0.05, 0.5, 0.9, 0.95, 0.99} {
				k := negbin.Quantile(q, mu, alpha)
				if pmfCDF(int(k), mu, alpha) < q-1e-12 || k > 0 && pmfCDF(int(k)-1, mu, alpha) >= q+1e-12 {
					t.Errorf("Quantile(%v; mu=%v, alpha=%v) = %v: CDF there %v, before %v", q, mu, alpha, k, pmfCDF(int(k), mu, alpha), pmfCDF(int(k)-1, mu, alpha))
				}
			}
		}
	}
	if negbin.Quantile(0.9, 0, 1) != 0 || !math.IsNaN(negbin.Quantile(1, 3, 1)) {
		t.Error("edge cases")
	}
	// A large mean (sales value): the quantile brackets a normal
	// approximation's within a few units.
	if k := negbin.Quantile(0.5, 1.5e6, 0.001); math.Abs(k-1.5e6) > 1000 {
		t.Errorf("median of mu = 1.5e6, alpha = 0.001: %v", k)
	}
	mu, a := negbin.MomentMatch(10, 30)
	if mu != 10 || a != 0.2 || negbin.Variance(mu, a) != 30 {
		t.Errorf("MomentMatch(10, 30) = %v, %v", mu, a)
	}
	if _, a := negbin.MomentMatch(10, 5); a != 0 {
		t.Errorf("under-dispersed: alpha %v", a)
	}
}

func card(alpha any) *models.Card {
	icpt := 0.5
	return &models.Card{Kind: models.KindNegBin, Output: negbin.Output, Link: negbin.Link,
		Inputs:       features.Schema{Features: []features.Feature{{Name: "x", Kind: features.Numeric}}},
		Intercept:    &icpt,
		Coefficients: map[string]float64{"x": 0.25},
		Preprocessing: &models.Preprocessing{Mean: map[string]float64{"x": 2}, Scale: map[string]float64{"x": 4},
			Impute: map[string]float64{"x": 2}},
		Parameters: map[string]any{negbin.AlphaParam: alpha}}
}

// TestModel: Response is exp(Raw); a malformed card is ErrInvalid naming
// the problem.
func TestModel(t *testing.T) {
	m, err := negbin.New(card(0.4))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 2)
	b := models.Batch{Rows: 2, Cols: 1, Values: []float64{6, math.NaN()}}
	if err := m.Score(dst, b, models.Response); err != nil {
		t.Fatal(err)
	}
	if want := math.Exp(0.5 + 0.25*(6-2)/4); math.Abs(dst[0]-want) > 1e-12 || math.Abs(dst[1]-math.Exp(0.5)) > 1e-12 {
		t.Errorf("response %v", dst)
	}
	if err := m.Score(dst, b, models.Raw); err != nil || math.Abs(dst[0]-0.75) > 1e-12 {
		t.Errorf("raw %v %v", dst, err)
	}
	if m.Alpha(3, nil) != 0.4 || m.Quantile(0.9, 3, nil) != negbin.Quantile(0.9, 3, 0.4) {
		t.Error("alpha")
	}
	c := card(0.4)
	c.Parameters[negbin.AlphaPowerParam] = -0.5
	if m, err := negbin.New(c); err != nil || math.Abs(m.Alpha(4, nil)-0.2) > 1e-15 {
		t.Errorf("alpha(4) with power -0.5: %v", err)
	}
	// A dispersion input: alpha = 0.4 * 4^-0.5 * exp(0.5 z), z = 2 (the
	// imputed value) for a missing x.
	c.Parameters[negbin.DispersionInputParam], c.Parameters[negbin.DispersionCoefParam] = "x", 0.5
	if m, err := negbin.New(c); err != nil || math.Abs(m.Alpha(4, []float64{1})-0.2*math.Exp(0.5)) > 1e-15 ||
		math.Abs(m.Alpha(4, []float64{math.NaN()})-0.2*math.E) > 1e-15 {
		t.Errorf("alpha with a dispersion input: %v", err)
	}
	c.Parameters[negbin.DispersionInputParam] = "y"
	if _, err := negbin.New(c); !errors.Is(err, negbin.ErrInvalid) {
		t.Errorf("unknown dispersion input: %v", err)
	}
	for what, c := range map[string]*models.Card{
		"no alpha":    card(nil),
		"-1":          card(-1.0),
		"a string":    card("x"),
		"kind":        func() *models.Card { c := card(1.0); c.Kind = models.KindLogistic; return c }(),
		"link":        func() *models.Card { c := card(1.0); c.Link = "logit"; return c }(),
		"coefficient": func() *models.Card { c := card(1.0); c.Coefficients = map[string]float64{}; return c }(),
		"power":       func() *models.Card { c := card(1.0); c.Parameters[negbin.AlphaPowerParam] = 3.0; return c }(),
	} {
		if what == "no alpha" {
			delete(c.Parameters, negbin.AlphaParam)
		}
		if _, err := negbin.New(c); !errors.Is(err, negbin.ErrInvalid) {
			t.Errorf("%s: %v", what, err)
		}
	}
	if _, err := (models.Kinds{negbin.Kind()}).Load(t.Context(), card(0.1), nil); err != nil {
		t.Errorf("Kinds.Load: %v", err)
	}
}

// ExampleQuantile: the P50 and P90 of a forecast of mean 4 units with
// dispersion 0.5 (variance 4 + 0.5 x 16 = 12).
func ExampleQuantile() {
	fmt.Println(negbin.Quantile(0.5, 4, 0.5), negbin.Quantile(0.9, 4, 0.5))
	// Output: 3 9
}
