package btyd

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// KindName is the kind of a buy-till-you-die model's card: a transaction
// model (BG/NBD or MBG/NBD) and the Gamma-Gamma spend model.
const KindName = "bgnbd-gg"

// Output of a model's Score: the probability that the customer is alive.
const Output = "probability"

// The card's parameters that are not coefficients.
const (
	// ParamVariant is BGNBD or MBGNBD.
	ParamVariant = "variant"
	// ParamUnit is the summaries' time unit: features.CLVDays or
	// features.CLVWeeks.
	ParamUnit = "unit"
)

// Kind is the "bgnbd-gg" kind for a models.Kinds list: its Loader builds
// the model from the card alone (New).
func Kind() models.Kind {
	return models.Kind{Name: KindName, Load: func(_ context.Context, card *models.Card, _ datasets.Object) (models.Model, error) {
		return New(card)
	}}
}

// ErrInvalid is wrapped by every error New returns for a malformed card.
var ErrInvalid = errors.New("invalid bgnbd-gg model")

// Model is a fitted buy-till-you-die model: immutable, safe for
// concurrent use.
type Model struct {
	card     *models.Card
	params   Params
	unit     string
	unitDays float64
	cols     [4]int // frequency, recency, age, monetary_value in Inputs (-1: absent)
}

var _ models.Model = (*Model)(nil)

// Inputs are the columns a bgnbd-gg model reads: the clv feature task's
// summary.
func Inputs() features.Schema {
	return features.Schema{Features: []features.Feature{
		{Name: features.CLVFrequency, Kind: features.Numeric, Description: "repeat purchase days"},
		{Name: features.CLVRecency, Kind: features.Numeric, Description: "first to last purchase day, in the unit"},
		{Name: features.CLVAge, Kind: features.Numeric, Description: "first purchase day to the calibration end, in the unit"},
		{Name: features.CLVMonetary, Kind: features.Numeric, Nullable: true, Description: "mean value of the repeat purchase days"},
	}}
}

// ParamNames are the card's coefficients, in the order they are shown.
var ParamNames = []string{"r", "alpha", "a", "b", "p", "q", "v"}

// NewCard returns the card of a fitted model (name, version, lineage and
// metrics are the caller's): coefficients r, alpha, a, b, p, q, v in the
// summaries' unit.
func NewCard(p Params, unit string) *models.Card {
	in := Inputs()
	return &models.Card{
		Kind: KindName, Task: features.TaskCLV, Output: Output, Link: "identity",
		Inputs: in, SchemaFingerprint: in.Fingerprint(),
		Coefficients: map[string]float64{"r": p.R, "alpha": p.Alpha, "a": p.A, "b": p.B, "p": p.P, "q": p.Q, "v": p.V},
		Parameters:   map[string]any{ParamVariant: p.Variant, ParamUnit: unit},
	}
}

// New validates a bgnbd-gg card and returns the Model it describes. The
// card is kept, not copied.
func New(card *models.Card) (*Model, error) {
	if card == nil {
		return nil, fmt.Errorf("%w: nil card", ErrInvalid)
	}
	c := card.Coefficients
	variant, _ := card.Parameters[ParamVariant].(string)
	unit, _ := card.Parameters[ParamUnit].(string)
	p := Params{Variant: variant, R: c["r"], Alpha: c["alpha"], A: c["a"], B: c["b"], P: c["p"], Q: c["q"], V: c["v"]}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	days, err := features.CLVUnitDays(unit)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	m := &Model{card: card, params: p, unit: unit, unitDays: days}
	for i, name := range []string{features.CLVFrequency, features.CLVRecency, features.CLVAge, features.CLVMonetary} {
		m.cols[i] = card.Inputs.Index(name)
		if m.cols[i] < 0 && i < 3 {
			return nil, fmt.Errorf("%w: inputs lack %s", ErrInvalid, name)
		}
	}
	return m, nil
}

// Card returns the model's card.
func (m *Model) Card() *models.Card { return m.card }

// Params returns the fitted parameters.
func (m *Model) Params() Params { return m.params }

// Unit returns the summaries' time unit and its length in days.
func (m *Model) Unit() (string, float64) { return m.unit, m.unitDays }

// Summary reads a row of inputs (in the card's order) as a summary and
// the mean repeat spend (NaN when absent).
func (m *Model) Summary(row []float64) (Summary, float64) {
	s := Summary{X: row[m.cols[0]], Tx: row[m.cols[1]], T: row[m.cols[2]]}
	mv := math.NaN()
	if m.cols[3] >= 0 {
		mv = row[m.cols[3]]
	}
	return s, mv
}

// Score writes each row's probability of being alive (models.Response);
// a bgnbd-gg model has no raw margin.
func (m *Model) Score(dst []float64, b models.Batch, kind models.OutputKind) error {
	if err := b.Check(len(m.card.Inputs.Features)); err != nil {
		return err
	}
	if kind != models.Response {
		return fmt.Errorf("%w: a %s model has no raw margin, only the probability alive", models.ErrUnsupported, KindName)
	}
	for i := 0; i < b.Rows; i++ {
		s, _ := m.Summary(b.Row(i))
		if err := CheckSummary(s); err != nil {
			return fmt.Errorf("row %d: %w", i+1, err)
		}
		dst[i] = m.params.PAlive(s)
	}
	return nil
}

// CheckSummary refuses a summary that is not x >= 0 whole, 0 <= t_x <=
// T, t_x = 0 exactly when x = 0.
func CheckSummary(s Summary) error {
	if !(s.X >= 0 && s.Tx >= 0 && s.T >= s.Tx) || math.IsInf(s.T, 1) || s.X != math.Trunc(s.X) || (s.X == 0) != (s.Tx == 0) {
		return fmt.Errorf("summary x=%v t_x=%v T=%v: want a whole x >= 0, 0 <= t_x <= T, t_x = 0 exactly when x = 0", s.X, s.Tx, s.T)
	}
	return nil
}
