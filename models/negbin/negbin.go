package negbin

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
)

// Kind name, output and link of every negbin model.
const (
	KindName = models.KindNegBin
	Output   = "count"
	Link     = "log"
	// AlphaParam is the card parameter holding the dispersion scale a;
	// AlphaPowerParam the optional power p (default 0): alpha(mu) = a *
	// mu^p.
	AlphaParam      = "alpha"
	AlphaPowerParam = "alpha_power"
	// DispersionInputParam optionally names an input z and
	// DispersionCoefParam its coefficient g: alpha = a * mu^p * exp(g *
	// z), z imputed as the linear predictor imputes it when missing.
	DispersionInputParam = "dispersion_input"
	DispersionCoefParam  = "dispersion_coef"
)

// ErrInvalid is wrapped by every error New returns for a malformed card.
var ErrInvalid = errors.New("invalid negbin model")

// Kind is the "negbin" kind for a models.Kinds list: its Loader builds the
// model from the card alone (New).
func Kind() models.Kind {
	return models.Kind{Name: KindName, Load: func(_ context.Context, card *models.Card, _ datasets.Object) (models.Model, error) {
		return New(card)
	}}
}

// Model is a fitted count model. It is immutable and safe for concurrent
// use.
type Model struct {
	card   *models.Card
	linear *logistic.Model // the linear predictor: the same card fields
	alpha  float64
	power  float64
	// zcol is the dispersion input's column (-1: none), g its
	// coefficient, zimp its value when missing.
	zcol    int
	g, zimp float64
}

var _ models.Model = (*Model)(nil)

// New validates a negbin card and returns the Model it describes. The card
// is kept, not copied: the caller must not change it afterwards.
func New(card *models.Card) (*Model, error) {
	if card == nil {
		return nil, fmt.Errorf("%w: nil card", ErrInvalid)
	}
	if card.Kind != KindName {
		return nil, fmt.Errorf("%w: kind is %q, not %q", ErrInvalid, card.Kind, KindName)
	}
	if card.Link != "" && card.Link != Link {
		return nil, fmt.Errorf("%w: link is %q, not %q", ErrInvalid, card.Link, Link)
	}
	a, err := number(card.Parameters, AlphaParam, true)
	if err != nil {
		return nil, err
	}
	pw, err := number(card.Parameters, AlphaPowerParam, false)
	if err != nil {
		return nil, err
	}
	if pw < -2 || pw > 2 {
		return nil, fmt.Errorf("%w: parameters.%s is %v, want -2 <= p <= 2", ErrInvalid, AlphaPowerParam, pw)
	}
	lin := *card
	lin.Kind, lin.Link = models.KindLogistic, logistic.Link
	lm, err := logistic.New(&lin)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, errors.Unwrap(err))
	}
	m := &Model{card: card, linear: lm, alpha: a, power: pw, zcol: -1}
	if v, ok := card.Parameters[DispersionInputParam]; ok {
		name, _ := v.(string)
		m.zcol = card.Inputs.Index(name)
		if m.zcol < 0 || card.Inputs.Features[m.zcol].Kind == features.Categorical {
			return nil, fmt.Errorf("%w: parameters.%s %v is not a numeric input", ErrInvalid, DispersionInputParam, v)
		}
		if m.g, err = number(card.Parameters, DispersionCoefParam, true); err != nil {
			return nil, err
		}
		imp, ok := card.Preprocessing.Impute[name]
		if !ok {
			return nil, fmt.Errorf("%w: the dispersion input %q has no imputation value", ErrInvalid, name)
		}
		m.zimp = imp
	}
	return m, nil
}

// number reads a finite number >= 0 (any finite number for the power)
// from the card's parameters.
func number(p map[string]any, name string, required bool) (float64, error) {
	v, ok := p[name]
	if !ok {
		if required {
			return 0, fmt.Errorf("%w: no parameters.%s (the dispersion)", ErrInvalid, name)
		}
		return 0, nil
	}
	var a float64
	switch x := v.(type) {
	case float64:
		a = x
	case int:
		a = float64(x)
	default:
		return 0, fmt.Errorf("%w: parameters.%s is %T, want a number", ErrInvalid, name, v)
	}
	if math.IsNaN(a) || math.IsInf(a, 0) || (name == AlphaParam) && a < 0 {
		return 0, fmt.Errorf("%w: parameters.%s is %v, want a finite number >= 0", ErrInvalid, name, a)
	}
	return a, nil
}

// Card returns the model's card. Callers must not change it.
func (m *Model) Card() *models.Card { return m.card }

// Alpha returns the dispersion of a forecast of mean mu for a Batch row:
// Var(Y) = mu + alpha * mu^2 with alpha = a * mu^p * exp(g * z) (a, p,
// g the card's alpha, alpha_power and dispersion_coef; z the row's
// dispersion input, when the card names one; row may be nil otherwise).
func (m *Model) Alpha(mu float64, row []float64) float64 {
	a := AlphaAt(mu, m.alpha, m.power)
	if m.zcol < 0 || a == 0 {
		return a
	}
	z := row[m.zcol]
	if math.IsNaN(z) {
		z = m.zimp
	}
	return a * math.Exp(m.g*z)
}

// AlphaAt returns a * mu^p (0 for mu <= 0).
func AlphaAt(mu, a, p float64) float64 {
	if mu <= 0 || a == 0 {
		return 0
	}
	if p == 0 {
		return a
	}
	return a * math.Pow(mu, p)
}

// Score writes the mean mu (Response) or the linear predictor log mu
// (Raw) of each row of b into dst[:b.Rows].
func (m *Model) Score(dst []float64, b models.Batch, kind models.OutputKind) error {
	if kind != models.Response && kind != models.Raw {
		return fmt.Errorf("negbin score: unknown output kind %d", kind)
	}
	if err := m.linear.Score(dst, b, models.Raw); err != nil {
		return fmt.Errorf("negbin score: %w", err)
	}
	if kind == models.Response {
		for i := range dst[:b.Rows] {
			dst[i] = math.Exp(dst[i])
		}
	}
	return nil
}

// CDF returns P(Y <= k) for Y negative binomial with mean mu and
// dispersion alpha (Poisson when alpha is 0).
func CDF(k, mu, alpha float64) float64 {
	k = math.Floor(k)
	switch {
	case k < 0:
		return 0
	case mu <= 0:
		return 1
	case alpha <= 0:
		return mathext.GammaIncRegComp(k+1, mu)
	}
	r := 1 / alpha
	return mathext.RegIncBeta(r, k+1, r/(r+mu))
}

// Quantile returns the q-quantile of a negative binomial with mean mu and
// dispersion alpha: the smallest integer k with P(Y <= k) >= q. q must be
// in (0, 1); mu <= 0 gives 0.
func Quantile(q, mu, alpha float64) float64 {
	if !(q > 0 && q < 1) || math.IsNaN(mu) || math.IsInf(mu, 0) {
		return math.NaN()
	}
	if mu <= 0 {
		return 0
	}
	sd := math.Sqrt(mu + alpha*mu*mu)
	hi := math.Ceil(mu + 4*sd)
	for CDF(hi, mu, alpha) < q {
		hi = 2*hi + 1
	}
	lo := -1.0 // CDF(lo) < q
	for hi-lo > 1 {
		mid := math.Floor((lo + hi) / 2)
		if CDF(mid, mu, alpha) >= q {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// Quantile returns the q-quantile of the forecast distribution of a Batch
// row whose mean (Score's Response) is mu.
func (m *Model) Quantile(q, mu float64, row []float64) float64 {
	return Quantile(q, mu, m.Alpha(mu, row))
}

// MomentMatch returns the negative binomial (mean, alpha) with the given
// mean and variance: alpha = (variance - mean) / mean^2, floored at 0 (a
// variance below the mean gives the Poisson). It combines forecasts: the
// sum of independent counts has the sum of their means and variances.
func MomentMatch(mean, variance float64) (mu, alpha float64) {
	if mean <= 0 {
		return 0, 0
	}
	return mean, max(0, (variance-mean)/(mean*mean))
}

// Variance returns mu + alpha * mu^2.
func Variance(mu, alpha float64) float64 { return mu + alpha*mu*mu }
