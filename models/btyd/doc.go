// Package btyd is the scoring side of prevoir's buy-till-you-die model,
// kind "bgnbd-gg": a transaction model, BG/NBD (Fader, Hardie and Lee
// 2005) or MBG/NBD (Batislam, Denizel and Filiztekin 2007), and the
// Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV").
//
// A customer is summarised (package features, task clv) by x, the
// repeat purchase days after the first, t_x the time from the first to
// the last purchase day, and T from the first purchase day to the end of
// the calibration period, in the model's unit (days or weeks), and by
// the mean value of the repeat purchase days. From these and the fitted
// parameters (r, α, a, b, p, q, v, the card's coefficients) the package
// computes the probability alive (PAlive), expected purchases
// (ExpectedPurchases, ConditionalExpected; Gauss's hypergeometric
// function through gonum's mathext.Hypergeo, with Euler's transformation
// where the series overflows), the expected mean spend (ExpectedValue)
// and the discounted CLV over a horizon in calendar months or days
// converted exactly to the unit (Horizon.Bounds, CLV). The
// log-likelihoods and their analytic gradients (LogLik,
// GammaGammaLogLik) are what package train maximises. See docs/CLV.md.
//
// As a models.Model, Score writes the probability alive.
package btyd
