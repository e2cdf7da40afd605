package btyd

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// cdnow are the BG/NBD and Gamma-Gamma parameters of the CDNOW 1/10
// sample in weeks: r, α, a, b as lifetimes' documentation prints them
// (0.242593, 4.413532, 0.792886, 2.425752), p, q, v of Fader, Hardie and
// Lee (2005, "RFM and CLV") as lifetimes' fit gives them to 4 decimals.
var cdnow = Params{Variant: BGNBD, R: 0.242593, Alpha: 4.413532, A: 0.792886, B: 2.425752, P: 6.2488, Q: 3.7446, V: 15.4477}

func relClose(got, want, tol float64) bool { return math.Abs(got-want) <= tol*math.Abs(want) }

// TestCDNOWFigures: the published figures of Fader, Hardie and Lee
// (2005), from the published parameters, within 1e-3 relative (the
// figures are rounded to 4 significant digits, so the rounding itself
// is up to 5e-4).
func TestCDNOWFigures(t *testing.T) {
	if got := cdnow.ConditionalExpected(39, Summary{X: 2, Tx: 30.43, T: 38.86}); !relClose(got, 1.226, 1e-3) {
		t.Errorf("conditional expectation over 39 weeks = %v, want 1.226", got)
	}
	for _, c := range []struct{ t, want float64 }{{0.1429, 0.0078}, {1, 0.0532}, {3, 0.1506}, {31.8571, 1.0405}, {32, 1.0437}, {78, 1.8576}} {
		// 0.0078 has two significant digits: its rounding is 6e-3.
		tol := 1e-3
		if c.want < 0.01 {
			tol = 7e-3
		}
		if got := cdnow.ExpectedPurchases(c.t); !relClose(got, c.want, tol) {
			t.Errorf("E[X(%v)] = %v, want %v", c.t, got, c.want)
		}
	}
	// The first ten customers of cdnow_customers_summary_with_transactions.csv
	// (x, zbar) and their conditional expected spends in SOURCE.md (cut, not
	// rounded, to 2 decimals: lifetimes prints 24.658619).
	first := []struct{ x, m, want float64 }{{2, 22.35, 24.65}, {1, 11.77, 18.91}, {0, 0, 35.17}, {0, 0, 35.17}, {0, 0, 35.17},
		{7, 73.74, 71.46}, {1, 11.77, 18.91}, {0, 0, 35.17}, {2, 25.55, 27.28}, {0, 0, 35.17}}
	for i, c := range first {
		if got := cdnow.ExpectedValue(c.x, c.m); !relClose(got, c.want, 1e-3) {
			t.Errorf("customer %d: expected spend %v, want %v", i+1, got, c.want)
		}
	}
	// p_alive of a one-time buyer is 1 under BG/NBD, below 1 under MBG/NBD.
	if p := cdnow.PAlive(Summary{T: 30}); p != 1 {
		t.Errorf("BG/NBD p_alive of a one-time buyer = %v", p)
	}
	m := cdnow
	m.Variant = MBGNBD
	if p := m.PAlive(Summary{T: 30}); !(p > 0 && p < 1) {
		t.Errorf("MBG/NBD p_alive of a one-time buyer = %v", p)
	}
}

// TestConditionalLimits: the conditional expectation of a customer seen
// for 0 weeks equals the unconditional one; it grows with t and stays
// finite where the direct hypergeometric series overflows.
func TestConditionalLimits(t *testing.T) {
	for _, v := range []string{BGNBD, MBGNBD} {
		p := cdnow
		p.Variant = v
		// A new customer (x = 0, T = 0) is a fresh draw from the population.
		if a, b := p.ConditionalExpected(20, Summary{}), p.ExpectedPurchases(20); v == BGNBD && !relClose(a, b, 1e-9) {
			t.Errorf("%s: conditional at T=0 %v, unconditional %v", v, a, b)
		}
		prev := 0.0
		for _, h := range []float64{1, 10, 100, 1000} {
			e := p.ConditionalExpected(h, Summary{X: 150, Tx: 300, T: 301})
			if !(e > prev) || math.IsInf(e, 0) {
				t.Errorf("%s: E(%v) = %v after %v", v, h, e, prev)
			}
			prev = e
		}
	}
}

// TestLogLikGradient: the analytic gradients of the log-likelihoods
// equal central finite differences (step 1e-6, relative error 1e-6).
func TestLogLikGradient(t *testing.T) {
	sums := []Summary{{0, 0, 38.86}, {1, 1.71, 38.86}, {2, 30.43, 38.86}, {7, 29.43, 38.86}, {25, 37.1, 38}, {3, 3, 3}}
	for _, v := range []string{BGNBD, MBGNBD} {
		base := []float64{0.24, 4.4, 0.79, 2.4}
		mk := func(x []float64) Params { return Params{Variant: v, R: x[0], Alpha: x[1], A: x[2], B: x[3]} }
		for _, s := range sums {
			p := mk(base)
			tt := p.TermsOf(s.X, true)
			g := make([]float64, 4)
			p.LogLik(&tt, s, 1, g)
			for i := range base {
				h := 1e-6 * base[i]
				up, dn := append([]float64(nil), base...), append([]float64(nil), base...)
				up[i] += h
				dn[i] -= h
				pu, pd := mk(up), mk(dn)
				tu, td := pu.TermsOf(s.X, false), pd.TermsOf(s.X, false)
				fd := (pu.LogLik(&tu, s, 1, nil) - pd.LogLik(&td, s, 1, nil)) / (2 * h)
				if math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s %+v: d/dθ%d analytic %v, finite differences %v", v, s, i, g[i], fd)
				}
			}
		}
	}
	base := []float64{6.25, 3.74, 15.44}
	for _, c := range []struct{ x, m float64 }{{1, 11.77}, {2, 22.35}, {7, 73.74}, {30, 1.5}} {
		g := make([]float64, 3)
		Params{P: base[0], Q: base[1], V: base[2]}.GammaGammaLogLik(c.x, c.m, 1, g)
		for i := range base {
			h := 1e-6 * base[i]
			up, dn := append([]float64(nil), base...), append([]float64(nil), base...)
			up[i] += h
			dn[i] -= h
			fd := (Params{P: up[0], Q: up[1], V: up[2]}.GammaGammaLogLik(c.x, c.m, 1, nil) -
				Params{P: dn[0], Q: dn[1], V: dn[2]}.GammaGammaLogLik(c.x, c.m, 1, nil)) / (2 * h)
			if math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("gamma-gamma %+v: d/dθ%d analytic %v, finite differences %v", c, i, g[i], fd)
			}
		}
	}
}

// TestBounds: calendar months are counted on the calendar (a 12-month
// horizon from 2024-01-31 is 366 days, February clamped to its last
// day); a day horizon is cut at its end.
func TestBounds(t *testing.T) {
	start := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
	b := Horizon{Months: 12}.Bounds(start, 1)
	if len(b) != 12 || b[0] != 29 || b[1] != 60 || b[11] != 366 {
		t.Errorf("12m from 2024-01-31: %v", b)
	}
	b = Horizon{Days: 45}.Bounds(time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC), 7)
	if len(b) != 2 || b[0] != 4 || b[1] != 45.0/7 {
		t.Errorf("45d from 2023-02-01 in weeks: %v", b)
	}
	for _, c := range []struct {
		in   string
		want Horizon
	}{{"12m", Horizon{Months: 12}}, {"90d", Horizon{Days: 90}}, {"2w", Horizon{Days: 14}}} {
		if h, err := ParseHorizon(c.in); err != nil || h != c.want {
			t.Errorf("ParseHorizon(%q) = %+v, %v", c.in, h, err)
		}
	}
	for _, bad := range []string{"", "12", "0m", "-1m", "1y", "1.5m", "+3m", "601m", "99999999999m", "18301d"} {
		if _, err := ParseHorizon(bad); err == nil {
			t.Errorf("ParseHorizon(%q) accepted", bad)
		}
	}
}

// TestCLV: with a zero discount rate CLV is value times the expected
// purchases at the horizon; discounting lowers it.
func TestCLV(t *testing.T) {
	s := Summary{X: 2, Tx: 30.43, T: 38.86}
	bounds := Horizon{Months: 12}.Bounds(time.Date(1997, 10, 1, 0, 0, 0, 0, time.UTC), 7)
	v := cdnow.ExpectedValue(2, 22.35)
	undiscounted := cdnow.CLV(s, v, bounds, 0)
	if want := v * cdnow.ConditionalExpected(365.0/7, s); !relClose(undiscounted, want, 1e-12) {
		t.Errorf("CLV at rate 0 = %v, want %v", undiscounted, want)
	}
	if d := cdnow.CLV(s, v, bounds, 0.01); !(d < undiscounted && d > undiscounted/1.01/1.13) {
		t.Errorf("CLV at 1%% a month = %v, undiscounted %v", d, undiscounted)
	}
}

// BenchmarkScoreRow scores one customer as the clv publication does:
// p_alive, the expected purchases over 12 months and the monthly
// discounted CLV, in days.
func BenchmarkScoreRow(b *testing.B) {
	p := Params{Variant: BGNBD, R: 0.8, Alpha: 40, A: 1.2, B: 2.8, P: 4, Q: 3.5, V: 60}
	bounds := Horizon{Months: 12}.Bounds(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	sums := []Summary{{}, {X: 1, Tx: 30, T: 400}, {X: 5, Tx: 300, T: 320}, {X: 20, Tx: 600, T: 700}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := sums[i%len(sums)]
		v := p.ExpectedValue(s.X, 50)
		_ = p.PAlive(s) + p.ConditionalExpected(bounds[len(bounds)-1], s) + p.CLV(s, v, bounds, 0.01)
	}
}

// TestConditionalExpectedAt: the shared series equals one
// hypergeometric function per t (1e-12 relative), where it applies and
// where it falls back.
func TestConditionalExpectedAt(t *testing.T) {
	ts := Horizon{Months: 24}.Bounds(time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC), 1)
	for _, v := range []string{BGNBD, MBGNBD} {
		for _, p := range []Params{
			{Variant: v, R: 0.8, Alpha: 40, A: 1.2, B: 2.8},
			{Variant: v, R: 0.24, Alpha: 4.4 / 7, A: 0.79, B: 2.4},
			{Variant: v, R: 3, Alpha: 2, A: 0.2, B: 0.3},
		} {
			for _, s := range []Summary{{}, {T: 5}, {X: 1, Tx: 30, T: 400}, {X: 5, Tx: 300, T: 320}, {X: 60, Tx: 600, T: 700}, {X: 300, Tx: 20, T: 700}} {
				got := make([]float64, len(ts))
				p.ConditionalExpectedAt(got, ts, s)
				for k, tt := range ts {
					if want := p.ConditionalExpected(tt, s); !relClose(got[k], want, 1e-12) && math.Abs(got[k]-want) > 1e-15 {
						t.Errorf("%+v %+v t=%v: %v, one by one %v", p, s, tt, got[k], want)
					}
				}
			}
		}
	}
}

func BenchmarkScoreKinds(b *testing.B) {
	p := Params{Variant: BGNBD, R: 0.8, Alpha: 40, A: 1.2, B: 2.8, P: 4, Q: 3.5, V: 60}
	bounds := Horizon{Months: 12}.Bounds(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	for _, s := range []Summary{{}, {X: 1, Tx: 30, T: 400}, {X: 5, Tx: 300, T: 320}, {X: 20, Tx: 600, T: 700}} {
		b.Run(fmt.Sprint(s), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_ = p.CLV(s, 50, bounds, 0.01)
			}
		})
	}
}

// FuzzParseHorizon: a horizon that parses prints back as itself (weeks
// as days) and is positive.
func FuzzParseHorizon(f *testing.F) {
	for _, s := range []string{"12m", "90d", "13w", "0m", "1y", "", "-3d", "+3m", "007d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHorizon(s)
		if err != nil {
			return
		}
		if h.Months < 0 || h.Days < 0 || (h.Months > 0) == (h.Days > 0) {
			t.Fatalf("%q: %+v", s, h)
		}
		if h2, err := ParseHorizon(h.String()); err != nil || h2 != h {
			t.Fatalf("%q: %+v prints %q, which parses as %+v, %v", s, h, h.String(), h2, err)
		}
	})
}
