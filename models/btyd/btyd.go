package btyd

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mathext"
)

// Transaction model variants.
const (
	// BGNBD is the beta-geometric/NBD model (Fader, Hardie and Lee 2005):
	// a customer may drop out after each repeat purchase, so a one-time
	// buyer is alive with probability 1.
	BGNBD = "bgnbd"
	// MBGNBD is the modified BG/NBD (Batislam, Denizel and Filiztekin
	// 2007): a customer may also drop out right after the first purchase.
	MBGNBD = "mbgnbd"
)

// Params are a fitted model's parameters, in its time unit: the
// transaction model's r, α (Gamma purchase rates), a, b (Beta dropout
// probabilities), and the Gamma-Gamma spend model's p, q, v.
type Params struct {
	Variant        string
	R, Alpha, A, B float64
	P, Q, V        float64
}

// Check refuses parameters that are not finite and positive, or an
// unknown variant.
func (p Params) Check() error {
	if p.Variant != BGNBD && p.Variant != MBGNBD {
		return fmt.Errorf("variant %q: want %s or %s", p.Variant, BGNBD, MBGNBD)
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"r", p.R}, {"alpha", p.Alpha}, {"a", p.A}, {"b", p.B}, {"p", p.P}, {"q", p.Q}, {"v", p.V}} {
		if !(c.v > 0) || math.IsInf(c.v, 1) {
			return fmt.Errorf("parameter %s = %v: want a finite positive number", c.name, c.v)
		}
	}
	return nil
}

// logHyp2F1 returns ln 2F1(a, b; c; z) for 0 <= z < 1, through Euler's
// transformation 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a,c-b;c;z) when the
// direct series overflows.
func logHyp2F1(a, b, c, z float64) float64 {
	if z == 0 {
		return 0
	}
	if h := mathext.Hypergeo(a, b, c, z); h > 0 && !math.IsInf(h, 0) && !math.IsNaN(h) {
		return math.Log(h)
	}
	h := mathext.Hypergeo(c-a, c-b, c, z)
	return math.Log(h) + (c-a-b)*math.Log1p(-z)
}

// PAlive is the probability that a customer with summary s is alive at
// the end of the calibration period:
//
//	BG/NBD:  1 / (1 + [x > 0] a/(b+x-1) ((α+T)/(α+t_x))^(r+x))
//	MBG/NBD: 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x))
func (p Params) PAlive(s Summary) float64 {
	var la float64
	switch {
	case p.Variant == MBGNBD:
		la = math.Log(p.A) - math.Log(p.B+s.X)
	case s.X > 0:
		la = math.Log(p.A) - math.Log(p.B+s.X-1)
	default:
		return 1
	}
	e := la + (p.R+s.X)*(math.Log(p.Alpha+s.T)-math.Log(p.Alpha+s.Tx))
	return 1 / (1 + math.Exp(e))
}

// ExpectedPurchases is the expected number of repeat purchases of a new
// customer within t units of the first purchase (unconditional):
//
//	BG/NBD:  (a+b-1)/(a-1) [1 - (α/(α+t))^r 2F1(r, b; a+b-1; t/(α+t))]
//	MBG/NBD: b/(a-1) [1 - (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]
func (p Params) ExpectedPurchases(t float64) float64 {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	z := t / (alpha + t)
	lp := r * (math.Log(alpha) - math.Log(alpha+t))
	if p.Variant == MBGNBD {
		return b / (a - 1) * -math.Expm1(lp+logHyp2F1(r, b+1, a+b, z))
	}
	return (a + b - 1) / (a - 1) * -math.Expm1(lp+logHyp2F1(r, b, a+b-1, z))
}

// ConditionalExpected is the expected number of purchases in the t units
// after the end of the calibration period of a customer with summary s
// (Fader, Hardie and Lee 2005, eq. 10; Batislam et al. 2007 for MBG/NBD):
//
//	BG/NBD:  (a+b+x-1)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(α+T+t))]
//	         / (1 + [x > 0] a/(b+x-1) ((α+T)/(α+t_x))^(r+x))
//	MBG/NBD: (a+b+x)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]
//	         / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x))
func (p Params) ConditionalExpected(t float64, s Summary) float64 {
	if t <= 0 {
		return 0
	}
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	x, T := s.X, s.T
	rx := r + x
	z := t / (alpha + T + t)
	lp := rx * (math.Log(alpha+T) - math.Log(alpha+T+t))
	var first, lh float64
	if p.Variant == MBGNBD {
		first = (a + b + x) / (a - 1)
		lh = logHyp2F1(rx, b+x+1, a+b+x, z)
	} else {
		first = (a + b + x - 1) / (a - 1)
		lh = logHyp2F1(rx, b+x, a+b+x-1, z)
	}
	return first * -math.Expm1(lp+lh) * p.PAlive(s)
}

// ConditionalExpectedAt writes ConditionalExpected(ts[k], s) into
// dst[k] for increasing ts, sharing one hypergeometric series between
// them: the coefficients of 2F1(·,·;·;z) do not depend on t, so the
// series is summed for every z at once (about ten times faster than one
// call per t for a year of months). Where the series would converge
// slowly or overflow, each t is computed on its own.
func (p Params) ConditionalExpectedAt(dst, ts []float64, s Summary) {
	if len(ts) == 0 {
		return
	}
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	x, T := s.X, s.T
	rx := r + x
	var first, ha, hb, hc float64
	if p.Variant == MBGNBD {
		first, ha, hb, hc = (a+b+x)/(a-1), rx, b+x+1, a+b+x
	} else {
		first, ha, hb, hc = (a+b+x-1)/(a-1), rx, b+x, a+b+x-1
	}
	var zs, pw, sum [64]float64
	zmax := ts[len(ts)-1] / (alpha + T + ts[len(ts)-1])
	if len(ts) > len(zs) || hc <= 0 || zmax > 0.6 || !seriesAt(ha, hb, hc, ts, alpha+T, zs[:len(ts)], pw[:len(ts)], sum[:len(ts)]) {
		for k, t := range ts {
			dst[k] = p.ConditionalExpected(t, s)
		}
		return
	}
	pa := p.PAlive(s)
	lat := math.Log(alpha + T)
	for k, t := range ts {
		if t <= 0 {
			dst[k] = 0
			continue
		}
		lp := rx * (lat - math.Log(alpha+T+t))
		dst[k] = first * -math.Expm1(lp+math.Log(sum[k])) * pa
	}
}

// seriesAt sums 2F1(a, b; c; z_k) for z_k = t_k/(base+t_k) into sum,
// with a, b, c > 0 and every z_k <= 0.6; false when the series does not
// settle within 2,000 terms or overflows.
func seriesAt(a, b, c float64, ts []float64, base float64, zs, pw, sum []float64) bool {
	for k, t := range ts {
		zs[k] = t / (base + t)
		pw[k], sum[k] = 1, 1
	}
	zmax := zs[len(zs)-1]
	coef := 1.0
	for n := 0.0; n < 2000; n++ {
		ratio := (a + n) * (b + n) / ((c + n) * (n + 1))
		coef *= ratio
		for k := range zs {
			pw[k] *= zs[k]
			sum[k] += coef * pw[k]
		}
		// The coefficients' ratio tends to 1 monotonically for large n,
		// so later terms shrink at least by q = zmax * max(ratio, 1): the
		// tail is below last * q/(1-q).
		last := coef * pw[len(pw)-1]
		if q := zmax * max(ratio, 1); n >= 2 && q < 1 && last*q < 1e-17*(1-q)*sum[len(sum)-1] {
			return !math.IsInf(sum[len(sum)-1], 0) && !math.IsNaN(sum[len(sum)-1])
		}
		if sum[len(sum)-1] > 1e280 || math.IsNaN(last) {
			return false
		}
	}
	return false
}

// ExpectedValue is the Gamma-Gamma model's expected mean spend per
// purchase of a customer with x repeat purchases of mean spend m: the
// population mean pv/(q-1) shrunk towards m,
//
//	(1-w) pv/(q-1) + w m, w = px/(px+q-1).
//
// A customer without repeat purchases (x = 0), or whose mean spend is
// unknown (NaN), gets the population mean.
func (p Params) ExpectedValue(x, m float64) float64 {
	pop := p.P * p.V / (p.Q - 1)
	if x <= 0 || math.IsNaN(m) {
		return pop
	}
	w := p.P * x / (p.P*x + p.Q - 1)
	return (1-w)*pop + w*m
}

// CLV is the discounted value of a customer's expected purchases over the
// periods ending at bounds (in the model's unit, increasing, counted from
// the end of the calibration period):
//
//	CLV = value * sum_k (E[X(bounds[k])] - E[X(bounds[k-1])]) / (1+rate)^(k+1)
//
// with E the conditional expectation, bounds[-1] = 0 and value the
// expected mean spend (ExpectedValue). Purchases of the first period are
// discounted once, as lifetimes does.
func (p Params) CLV(s Summary, value float64, bounds []float64, rate float64) float64 {
	_, d := p.DiscountedPurchases(s, bounds, rate)
	return value * d
}

// DiscountedPurchases returns the expected purchases by the last bound
// and their discounted sum (CLV without the value factor).
func (p Params) DiscountedPurchases(s Summary, bounds []float64, rate float64) (expected, discounted float64) {
	var buf [32]float64
	var es []float64
	if len(bounds) <= len(buf) {
		es = buf[:len(bounds)]
	} else {
		es = make([]float64, len(bounds))
	}
	p.ConditionalExpectedAt(es, bounds, s)
	prev, d := 0.0, 1.0
	for _, e := range es {
		d *= 1 + rate
		discounted += (e - prev) / d
		prev = e
	}
	return prev, discounted
}

// Horizon is a span of time to predict over: calendar months or days
// (exactly one of them positive).
type Horizon struct {
	Months int
	Days   int
}

// MaxHorizonMonths bounds a horizon: 50 years (in days, 50 x 366).
const MaxHorizonMonths = 600

// Check refuses a horizon that is not exactly one positive span of at
// most 50 years.
func (h Horizon) Check() error {
	if h.Months < 0 || h.Days < 0 || (h.Months > 0) == (h.Days > 0) || h.Months > MaxHorizonMonths || h.Days > MaxHorizonMonths/12*366 {
		return fmt.Errorf("horizon %s: want a positive number of months or days, at most %d months", h, MaxHorizonMonths)
	}
	return nil
}

// ParseHorizon reads "12m" (calendar months), "90d" (days) or "13w"
// (weeks of 7 days), at most 50 years.
func ParseHorizon(s string) (Horizon, error) {
	if len(s) < 2 {
		return Horizon{}, fmt.Errorf("horizon %q: want Nm (calendar months), Nd (days) or Nw (weeks), e.g. 12m", s)
	}
	var n int
	if _, err := fmt.Sscanf(s[:len(s)-1], "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != s[:len(s)-1] {
		return Horizon{}, fmt.Errorf("horizon %q: want a positive whole number before the unit, e.g. 12m", s)
	}
	var h Horizon
	switch s[len(s)-1] {
	case 'm':
		h = Horizon{Months: n}
	case 'd':
		h = Horizon{Days: n}
	case 'w':
		h = Horizon{Days: 7 * n}
	default:
		return Horizon{}, fmt.Errorf("horizon %q: want Nm (calendar months), Nd (days) or Nw (weeks), e.g. 12m", s)
	}
	return h, h.Check()
}

// String is the horizon as ParseHorizon reads it, and the suffix of the
// published columns (expected_purchases_12m).
func (h Horizon) String() string {
	if h.Months > 0 {
		return fmt.Sprintf("%dm", h.Months)
	}
	return fmt.Sprintf("%dd", h.Days)
}

// addMonths returns the date k calendar months after d, clamped to the
// month's last day (31 January + 1 month = 28 or 29 February).
func addMonths(d time.Time, k int) time.Time {
	y, m, day := d.Date()
	first := time.Date(y, m+time.Month(k), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(day, last), 0, 0, 0, 0, time.UTC)
}

// Bounds converts a horizon starting on the calendar date of start into
// the ends of its discounting periods, in units of unitDays days: one
// period per calendar month (the last one cut at the horizon's end for a
// horizon in days). Days are counted on the calendar, so a 12-month
// horizon is 365 or 366 days, never 12 x 30.
func (h Horizon) Bounds(start time.Time, unitDays float64) []float64 {
	s := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	days := func(t time.Time) float64 { return math.Round(t.Sub(s).Hours() / 24) }
	var out []float64
	if h.Months > 0 {
		for k := 1; k <= h.Months; k++ {
			out = append(out, days(addMonths(s, k))/unitDays)
		}
		return out
	}
	for k := 1; ; k++ {
		d := days(addMonths(s, k))
		if d >= float64(h.Days) {
			return append(out, float64(h.Days)/unitDays)
		}
		out = append(out, d/unitDays)
	}
}
