package btyd

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// The buy-till-you-die columns a churn model may take (`train --task
// churn --with-clv`): package train computes them for every training
// cutoff, serve/churn for the scoring date, both with ChurnFeatures.
const (
	// ChurnPAlive is the probability alive at the end of the calibration
	// period (the day before as_of).
	ChurnPAlive = "p_alive"
	// ChurnExpectedPrefix starts the name of the expected purchase days
	// in [as_of, as_of + horizon): expected_purchases_90d.
	ChurnExpectedPrefix = "expected_purchases_"
	// ChurnParam is the key of a churn card's Parameters that holds its
	// ChurnFeatures; a card without it takes no such column.
	ChurnParam = "clv_features"
)

// ChurnFeatures say how a churn model's buy-till-you-die columns are
// computed from the clv summary (package features, task clv) as of a
// date: with the transaction model's parameters recorded here (fitted,
// without labels, on the summary as of FittedAsOf), in Unit, over the
// churn horizon. It is stored in the churn card's Parameters under
// ChurnParam.
type ChurnFeatures struct {
	// Variant is BGNBD or MBGNBD; R, Alpha, A and B its parameters in
	// Unit.
	Variant string  `json:"variant"`
	R       float64 `json:"r"`
	Alpha   float64 `json:"alpha"`
	A       float64 `json:"a"`
	B       float64 `json:"b"`
	// Unit is the summary's unit (features.CLVDays or CLVWeeks) and
	// Lookback the history it reads (a span, features.CLVDefaultLookback
	// by default).
	Unit     string `json:"unit"`
	Lookback string `json:"lookback"`
	// Horizon is the span of the expected purchases: the churn horizon.
	Horizon string `json:"horizon"`
	// FittedAsOf is the cutoff whose summary the parameters were fitted
	// on (the training's holdout cutoff); Customers its rows.
	FittedAsOf string `json:"fitted_as_of"`
	Customers  int    `json:"customers"`
}

// NewChurnFeatures records p (transaction part only) for a churn model.
func NewChurnFeatures(p Params, unit string, lookback, horizon datasets.Span, fittedAsOf string, customers int) ChurnFeatures {
	return ChurnFeatures{Variant: p.Variant, R: p.R, Alpha: p.Alpha, A: p.A, B: p.B, Unit: unit,
		Lookback: lookback.String(), Horizon: horizon.String(), FittedAsOf: fittedAsOf, Customers: customers}
}

// Params returns the transaction model's parameters (P, Q and V zero:
// the churn columns need no spend model).
func (c ChurnFeatures) Params() Params {
	return Params{Variant: c.Variant, R: c.R, Alpha: c.Alpha, A: c.A, B: c.B}
}

// Check refuses a malformed record: an unknown variant or unit,
// parameters that are not finite and positive, or spans that do not
// parse.
func (c ChurnFeatures) Check() error {
	p := c.Params()
	p.P, p.Q, p.V = 1, 1, 1
	if err := p.Check(); err != nil {
		return err
	}
	if _, err := features.CLVUnitDays(c.Unit); err != nil {
		return err
	}
	if _, err := datasets.ParseSpan(c.Lookback); err != nil {
		return fmt.Errorf("lookback: %w", err)
	}
	if h, err := datasets.ParseSpan(c.Horizon); err != nil || h.Days < 1 {
		return fmt.Errorf("horizon %q: want a span of at least a day", c.Horizon)
	}
	return nil
}

// ExpectedColumn is the name of the expected purchases column:
// expected_purchases_<horizon>.
func (c ChurnFeatures) ExpectedColumn() string { return ChurnExpectedPrefix + c.Horizon }

// Columns are the two features the churn model takes, in the order they
// follow the churn features.
func (c ChurnFeatures) Columns() []features.Column {
	return []features.Column{
		{Name: ChurnPAlive, Type: "double", Kind: features.Numeric, Nullable: true, Role: "feature",
			Description: "BG/NBD probability that the customer is alive at the day before as_of, from the clv summary as of the same as_of; null without one"},
		{Name: c.ExpectedColumn(), Type: "double", Kind: features.Numeric, Nullable: true, Role: "feature",
			Description: "BG/NBD expected purchase days in [as_of, as_of + " + c.Horizon + "), from the clv summary as of the same as_of; null without one"},
	}
}

// HorizonUnits is the horizon in Unit.
func (c ChurnFeatures) HorizonUnits() (float64, error) {
	h, err := datasets.ParseSpan(c.Horizon)
	if err != nil {
		return 0, err
	}
	d, err := features.CLVUnitDays(c.Unit)
	if err != nil {
		return 0, err
	}
	return float64(h.Days) / d, nil
}

// ChurnValues returns the two churn columns of a summary: the
// probability alive and the expected purchases over t units.
func (p Params) ChurnValues(s Summary, t float64) (pAlive, expected float64) {
	return p.PAlive(s), p.ConditionalExpected(t, s)
}

// PNoPurchase is the probability that a customer with summary s makes no
// purchase in the t units after the calibration period, the churn label's
// event: dead, or alive with no purchase. Alive, the purchase rate's
// posterior is Gamma(r + x, α + T), and no dropout happens without a
// purchase, so
//
//	P = 1 - P_alive + P_alive ((α+T)/(α+T+t))^(r+x)
func (p Params) PNoPurchase(t float64, s Summary) float64 {
	pa := p.PAlive(s)
	if t <= 0 {
		return 1
	}
	stay := math.Exp((p.R + s.X) * (math.Log(p.Alpha+s.T) - math.Log(p.Alpha+s.T+t)))
	return 1 - pa + pa*stay
}

// ChurnFeaturesOf returns the ChurnFeatures a churn card records, nil
// when it takes no buy-till-you-die column.
func ChurnFeaturesOf(card *models.Card) (*ChurnFeatures, error) {
	if card == nil || card.Parameters == nil {
		return nil, nil
	}
	v, ok := card.Parameters[ChurnParam]
	if !ok || v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("model %s@%d: parameters.%s: %w", card.Name, card.Version, ChurnParam, err)
	}
	var c ChurnFeatures
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("model %s@%d: parameters.%s: %w", card.Name, card.Version, ChurnParam, err)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("model %s@%d: parameters.%s: %w", card.Name, card.Version, ChurnParam, err)
	}
	return &c, nil
}
