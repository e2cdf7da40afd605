// Package negbin is the scoring side of prevoir's count model: a Poisson
// regression (log link) over standardised design columns, whose forecasts
// carry a negative binomial distribution with one dispersion alpha:
//
//	mean mu = exp(intercept + sum_j coef_j * (x_j - mean_j) / scale_j)
//	Var(Y)  = mu + alpha * mu^2          (alpha = 0: Poisson)
//	alpha   = a * mu^p * exp(g * z)      (p = 0, g = 0: one alpha, the classic NB2)
//
// A negbin card holds the same fields as a logistic one (Inputs,
// Preprocessing, Coefficients, Intercept; see package logistic for the
// design columns, standardisation and imputation) with Kind "negbin",
// Link "log", Output "count", Parameters["alpha"] (a) and optionally
// Parameters["alpha_power"] (p, default 0), Parameters["dispersion_input"]
// (the input z, none by default: g = 0) and Parameters["dispersion_coef"]
// (g). Score's Response is
// mu, Raw the linear predictor. Quantile gives any quantile of the
// forecast distribution exactly: the smallest integer k with
// P(Y <= k) >= q, P(Y <= k) computed as the regularised incomplete beta
// function I_p(r, k+1) with r = 1/alpha and p = r/(r + mu) (the Poisson
// CDF, a regularised incomplete gamma, when alpha = 0).
//
// Package train fits it (docs/TRAINING.md, "demand").
package negbin
