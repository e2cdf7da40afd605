package btyd

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// Summary is one customer's buy-till-you-die summary, in the model's time
// unit: X repeat purchase periods (distinct purchase days after the
// first), recency Tx (first to last purchase) and age T (first purchase
// to the end of the calibration period), 0 <= Tx <= T.
type Summary struct {
	X, Tx, T float64
}

// logAddExp returns log(exp(a) + exp(b)) without overflow; either may be
// -Inf.
func logAddExp(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// XTerms are the parts of a transaction model's log-likelihood that depend
// on the frequency x only (and the parameters): computed once per
// distinct x, they leave two logarithms per customer.
type XTerms struct {
	// C is lnΓ(r+x) - lnΓ(r) + r ln α + the beta terms in a and b.
	C float64
	// LogA4 is the constant part of the dropout term (ln a - ln(b+x-1)
	// for BG/NBD, ln a - ln(b+x) for MBG/NBD); -Inf when there is none
	// (BG/NBD with x = 0).
	LogA4 float64
	// D is the gradient of C with respect to (r, α, a, b); DA4 that of
	// LogA4.
	D, DA4 [4]float64
}

// TermsOf returns the x-only terms of the log-likelihood of p's
// transaction model at frequency x; with grad it fills their gradients.
func (p Params) TermsOf(x float64, grad bool) XTerms {
	r, alpha, a, b := p.R, p.Alpha, p.A, p.B
	var t XTerms
	mbg := p.Variant == MBGNBD
	// shift is 0 for BG/NBD and 1 for MBG/NBD: the beta function's
	// argument b + x (+1) and the dropout term's b + x - 1 (+1).
	shift := 0.0
	if mbg {
		shift = 1
	}
	t.C = lgamma(r+x) - lgamma(r) + r*math.Log(alpha) +
		lgamma(a+b) + lgamma(b+x+shift) - lgamma(b) - lgamma(a+b+x+shift)
	if x > 0 || mbg {
		t.LogA4 = math.Log(a) - math.Log(b+x-1+shift)
	} else {
		t.LogA4 = math.Inf(-1)
	}
	if grad {
		dg := mathext.Digamma
		t.D[0] = dg(r+x) - dg(r) + math.Log(alpha)
		t.D[1] = r / alpha
		t.D[2] = dg(a+b) - dg(a+b+x+shift)
		t.D[3] = dg(a+b) + dg(b+x+shift) - dg(b) - dg(a+b+x+shift)
		if !math.IsInf(t.LogA4, -1) {
			t.DA4[2] = 1 / a
			t.DA4[3] = -1 / (b + x - 1 + shift)
		}
	}
	return t
}

// LogLik returns one customer's log-likelihood under p's transaction
// model (BG/NBD, Fader, Hardie and Lee 2005, eq. 6; or MBG/NBD,
// Batislam, Denizel and Filiztekin 2007), computed in log space:
//
//	LL = C(x) + logaddexp(-(r+x) ln(α+T), A4(x) - (r+x) ln(α+t_x))
//
// t are the x-only terms (TermsOf). When grad is not nil, the gradient
// with respect to (r, α, a, b) is added to it, times w.
func (p Params) LogLik(t *XTerms, s Summary, w float64, grad []float64) float64 {
	r, alpha := p.R, p.Alpha
	rx := r + s.X
	lT, lTx := math.Log(alpha+s.T), math.Log(alpha+s.Tx)
	a3 := -rx * lT
	a4 := t.LogA4 - rx*lTx
	l := logAddExp(a3, a4)
	if grad != nil {
		w3, w4 := math.Exp(a3-l), math.Exp(a4-l)
		if math.IsInf(a4, -1) {
			w4 = 0
		}
		grad[0] += w * (t.D[0] + w3*(-lT) + w4*(-lTx))
		grad[1] += w * (t.D[1] - w3*rx/(alpha+s.T) - w4*rx/(alpha+s.Tx))
		grad[2] += w * (t.D[2] + w4*t.DA4[2])
		grad[3] += w * (t.D[3] + w4*t.DA4[3])
	}
	return t.C + l
}

// GammaGammaLogLik returns the log-likelihood of one repeat buyer's mean
// spend m over x repeat purchases under the Gamma-Gamma model (Fader,
// Hardie and Lee 2005, "RFM and CLV", the form lifetimes uses):
//
//	lnΓ(px+q) - lnΓ(px) - lnΓ(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(xm+v)
//
// When grad is not nil, the gradient with respect to (p, q, v) is added,
// times w. x > 0 and m > 0.
func (p Params) GammaGammaLogLik(x, m, w float64, grad []float64) float64 {
	pp, q, v := p.P, p.Q, p.V
	px := pp * x
	lm, lx, lxv := math.Log(m), math.Log(x), math.Log(x*m+v)
	ll := lgamma(px+q) - lgamma(px) - lgamma(q) + q*math.Log(v) + (px-1)*lm + px*lx - (px+q)*lxv
	if grad != nil {
		dg := mathext.Digamma
		dpq := dg(px + q)
		grad[0] += w * x * (dpq - dg(px) + lm + lx - lxv)
		grad[1] += w * (dpq - dg(q) + math.Log(v) - lxv)
		grad[2] += w * (q/v - (px+q)/(x*m+v))
	}
	return ll
}
