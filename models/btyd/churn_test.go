package btyd_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
)

// TestChurnFeaturesOf: the card's record reads back from JSON (a stored
// card) and is checked; a card without it takes no clv column.
func TestChurnFeaturesOf(t *testing.T) {
	if cf, err := btyd.ChurnFeaturesOf(&models.Card{}); cf != nil || err != nil {
		t.Errorf("plain card: %v, %v", cf, err)
	}
	stored := map[string]any{"variant": "bgnbd", "r": 0.4, "alpha": 18.0, "a": 1.2, "b": 4.5, "unit": "days", "lookback": "36525d", "horizon": "90d", "fitted_as_of": "2024-01-01"}
	cf, err := btyd.ChurnFeaturesOf(&models.Card{Parameters: map[string]any{btyd.ChurnParam: stored}})
	if err != nil || cf == nil || cf.R != 0.4 || cf.ExpectedColumn() != "expected_purchases_90d" {
		t.Fatalf("stored card: %+v, %v", cf, err)
	}
	if u, err := cf.HorizonUnits(); u != 90 || err != nil {
		t.Errorf("horizon units %v, %v", u, err)
	}
	for _, bad := range []map[string]any{
		{"variant": "bgnbd", "r": -1.0, "alpha": 18.0, "a": 1.2, "b": 4.5, "unit": "days", "lookback": "36525d", "horizon": "90d"},
		{"variant": "bgnbd", "r": 0.4, "alpha": 18.0, "a": 1.2, "b": 4.5, "unit": "months", "lookback": "36525d", "horizon": "90d"},
		{"variant": "bgnbd", "r": 0.4, "alpha": 18.0, "a": 1.2, "b": 4.5, "unit": "days", "lookback": "36525d", "horizon": "0d"},
		{"variant": "pareto", "r": 0.4, "alpha": 18.0, "a": 1.2, "b": 4.5, "unit": "days", "lookback": "36525d", "horizon": "90d"},
	} {
		if _, err := btyd.ChurnFeaturesOf(&models.Card{Parameters: map[string]any{btyd.ChurnParam: bad}}); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}

// TestPNoPurchase: against a simulation of the BG/NBD process itself
// (rates from Gamma(r, alpha), dropout probabilities from Beta(a, b),
// dropout after each repeat purchase), the share of the customers with a
// summary who make no purchase in the next t units: for one-time buyers
// (no repeat purchase in (0, T]) exactly, and for the customers with one
// repeat purchase in (0, T] by buckets of t_x, within 4 standard errors.
func TestPNoPurchase(t *testing.T) {
	p := btyd.Params{Variant: btyd.BGNBD, R: 0.8, Alpha: 20, A: 0.9, B: 2.5}
	const T, horizon = 60.0, 30.0
	src := rand.New(rand.NewPCG(3, 4))
	gam := distuv.Gamma{Alpha: p.R, Beta: p.Alpha, Src: src}
	drop := distuv.Beta{Alpha: p.A, Beta: p.B, Src: src}
	// x = 0; x = 1 with t_x in [20, 22) and [50, 52).
	type bucket struct {
		x, lo, hi float64
		n, none   int
		pred      float64
	}
	buckets := []*bucket{{x: 0}, {x: 1, lo: 20, hi: 22}, {x: 1, lo: 50, hi: 52}}
	for k := 0; k < 400000; k++ {
		lam, q := gam.Rand(), drop.Rand()
		var times []float64
		now, alive := 0.0, true
		for alive {
			now += src.ExpFloat64() / lam
			if now > T+horizon {
				break
			}
			times = append(times, now)
			if now <= T && src.Float64() < q {
				alive = false // drops out after this purchase
			} else if now > T {
				break // the first purchase of the horizon is all we need
			}
		}
		var x, tx float64
		future := false
		for _, s := range times {
			if s <= T {
				x, tx = x+1, s
			} else {
				future = true
			}
		}
		for _, b := range buckets {
			if x == b.x && (b.x == 0 || tx >= b.lo && tx < b.hi) {
				b.n++
				if !future {
					b.none++
				}
				if b.pred == 0 || b.x > 0 {
					b.pred += p.PNoPurchase(horizon, btyd.Summary{X: x, Tx: tx, T: T})
				}
			}
		}
	}
	for _, b := range buckets {
		if b.x == 0 {
			b.pred *= float64(b.n)
		}
		pred, got := b.pred/float64(b.n), float64(b.none)/float64(b.n)
		se := math.Sqrt(pred * (1 - pred) / float64(b.n))
		t.Logf("x = %v, t_x in [%v, %v): %d customers, %.4f without a purchase in %v units, predicted %.4f (se %.4f)", b.x, b.lo, b.hi, b.n, got, horizon, pred, se)
		if b.n < 500 || math.Abs(got-pred) > 4*se {
			t.Errorf("x = %v, t_x in [%v, %v): simulated %.4f, predicted %.4f", b.x, b.lo, b.hi, got, pred)
		}
	}
}
