package logistic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// Output and link of every logistic model.
const (
	Output = "probability"
	Link   = "logit"
)

// Kind is the "logistic" kind for a models.Kinds list: its Loader builds
// the model from the card alone (New).
func Kind() models.Kind {
	return models.Kind{Name: models.KindLogistic, Load: func(_ context.Context, card *models.Card, _ datasets.Object) (models.Model, error) {
		return New(card)
	}}
}

// termKind says how a design column is computed from the inputs.
type termKind uint8

const (
	numeric termKind = iota // the input's (imputed) value
	level                   // 1 if the categorical input's code is lvl
	missing                 // 1 if the input is missing
)

// term is one design column.
type term struct {
	kind  termKind
	input int     // index in the card's Inputs
	lvl   float64 // level code, for kind level
	mean  float64
	scale float64
	coef  float64
}

// Model is a fitted logistic regression. It is immutable and safe for
// concurrent use.
type Model struct {
	card      *models.Card
	terms     []term
	intercept float64
	// impute is the replacement of each input's missing value; canImpute
	// says whether there is one (numeric inputs only).
	impute    []float64
	canImpute []bool
	numLevels []int // per input: number of encoder levels (categorical), else 0
}

var _ models.Model = (*Model)(nil)

// ErrInvalid is wrapped by every error New returns for a malformed card.
var ErrInvalid = errors.New("invalid logistic model")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// New validates a logistic card and returns the Model it describes. The
// card is kept, not copied: the caller must not change it afterwards.
func New(card *models.Card) (*Model, error) {
	if card == nil {
		return nil, invalid("nil card")
	}
	if card.Kind != models.KindLogistic {
		return nil, invalid("kind is %q, not %q", card.Kind, models.KindLogistic)
	}
	if err := card.Inputs.Validate(); err != nil {
		return nil, invalid("inputs: %v", err)
	}
	if len(card.Inputs.Features) == 0 {
		return nil, invalid("no inputs")
	}
	if card.Intercept == nil {
		return nil, invalid("no intercept")
	}
	if !finite(*card.Intercept) {
		return nil, invalid("intercept is %v", *card.Intercept)
	}
	if card.Link != "" && card.Link != Link {
		return nil, invalid("link is %q, not %q", card.Link, Link)
	}
	pp := card.Preprocessing
	if pp == nil {
		pp = &models.Preprocessing{}
	}
	in := card.Inputs.Features
	m := &Model{
		card:      card,
		intercept: *card.Intercept,
		impute:    make([]float64, len(in)),
		canImpute: make([]bool, len(in)),
		numLevels: make([]int, len(in)),
	}
	inputIdx := make(map[string]int, len(in))
	for i, f := range in {
		inputIdx[f.Name] = i
		if f.Kind == features.Categorical {
			lv, ok := pp.Encoders[f.Name]
			if !ok {
				return nil, invalid("categorical input %q has no encoder in preprocessing.encoders", f.Name)
			}
			seen := make(map[string]bool, len(lv))
			for _, l := range lv {
				if seen[l] {
					return nil, invalid("encoder of %q lists level %q twice", f.Name, l)
				}
				seen[l] = true
			}
			m.numLevels[i] = len(lv)
			continue
		}
		if v, ok := pp.Impute[f.Name]; ok {
			if !finite(v) {
				return nil, invalid("impute value of %q is %v", f.Name, v)
			}
			m.impute[i], m.canImpute[i] = v, true
		} else if v, ok := pp.Mean[f.Name]; ok && finite(v) {
			m.impute[i], m.canImpute[i] = v, true
		}
	}
	for name := range pp.Encoders {
		i, ok := inputIdx[name]
		if !ok || in[i].Kind != features.Categorical {
			return nil, invalid("encoder for %q, which is not a categorical input", name)
		}
	}

	design := pp.Features
	if len(design) == 0 {
		for _, f := range in {
			if f.Kind != features.Numeric {
				return nil, invalid("preprocessing.features is empty but input %q is categorical", f.Name)
			}
			design = append(design, f.Name)
		}
	}
	seen := make(map[string]bool, len(design))
	for _, d := range design {
		if seen[d] {
			return nil, invalid("design column %q appears twice", d)
		}
		seen[d] = true
		t, err := resolve(d, in, inputIdx, pp.Encoders)
		if err != nil {
			return nil, err
		}
		w, ok := card.Coefficients[d]
		if !ok {
			return nil, invalid("no coefficient for design column %q", d)
		}
		if !finite(w) {
			return nil, invalid("coefficient of %q is %v", d, w)
		}
		t.coef = w
		t.mean, t.scale = 0, 1
		if v, ok := pp.Mean[d]; ok {
			if !finite(v) {
				return nil, invalid("mean of %q is %v", d, v)
			}
			t.mean = v
		}
		if v, ok := pp.Scale[d]; ok {
			if !finite(v) || v <= 0 {
				return nil, invalid("scale of %q is %v (want a finite positive number)", d, v)
			}
			t.scale = v
		}
		m.terms = append(m.terms, t)
	}
	for name := range card.Coefficients {
		if !seen[name] {
			return nil, invalid("coefficient for %q, which is not a design column", name)
		}
	}
	for _, mp := range []struct {
		what string
		m    map[string]float64
	}{{"mean", pp.Mean}, {"scale", pp.Scale}} {
		for name := range mp.m {
			if !seen[name] {
				return nil, invalid("%s for %q, which is not a design column", mp.what, name)
			}
		}
	}
	for name := range pp.Impute {
		i, ok := inputIdx[name]
		if !ok || in[i].Kind != features.Numeric {
			return nil, invalid("impute value for %q, which is not a numeric input", name)
		}
	}
	return m, nil
}

// resolve maps a design column name to how it is computed.
func resolve(d string, in []features.Feature, idx map[string]int, enc map[string][]string) (term, error) {
	if i, ok := idx[d]; ok {
		if in[i].Kind != features.Numeric {
			return term{}, invalid("design column %q is a categorical input: use %q columns", d, d+"=<level>")
		}
		return term{kind: numeric, input: i}, nil
	}
	if name, lvl, ok := strings.Cut(d, "="); ok {
		if i, ok := idx[name]; ok && in[i].Kind == features.Categorical {
			for k, l := range enc[name] {
				if l == lvl {
					return term{kind: level, input: i, lvl: float64(k)}, nil
				}
			}
			return term{}, invalid("design column %q: %q is not a level of the encoder of %q", d, lvl, name)
		}
	}
	if name, ok := strings.CutSuffix(d, "_missing"); ok {
		if i, ok := idx[name]; ok {
			return term{kind: missing, input: i}, nil
		}
	}
	return term{}, invalid("design column %q is neither an input, an input=level indicator nor an input_missing flag", d)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Card returns the model's card. Callers must not change it.
func (m *Model) Card() *models.Card { return m.card }

// Score writes the probability (Response) or the linear predictor (Raw) of
// each row of b into dst[:b.Rows]. b's columns are the card's Inputs.
func (m *Model) Score(dst []float64, b models.Batch, kind models.OutputKind) error {
	if err := b.Check(len(m.impute)); err != nil {
		return err
	}
	if len(dst) < b.Rows {
		return fmt.Errorf("logistic score: dst holds %d values for %d rows", len(dst), b.Rows)
	}
	if kind != models.Response && kind != models.Raw {
		return fmt.Errorf("logistic score: unknown output kind %d", kind)
	}
	for r := 0; r < b.Rows; r++ {
		row := b.Row(r)
		margin, err := m.margin(row)
		if err != nil {
			return fmt.Errorf("logistic score: row %d: %w", r, err)
		}
		if kind == models.Response {
			margin = Sigmoid(margin)
		}
		dst[r] = margin
	}
	return nil
}

// margin computes one row's linear predictor.
func (m *Model) margin(row []float64) (float64, error) {
	var sum float64
	for i := range m.terms {
		c, err := m.term(i, row)
		if err != nil {
			return 0, err
		}
		sum += c
	}
	return sum + m.intercept, nil
}

// term computes design column i's share of a row's linear predictor:
// coefficient x standardised value.
func (m *Model) term(i int, row []float64) (float64, error) {
	t := &m.terms[i]
	x := row[t.input]
	var d float64
	switch t.kind {
	case numeric:
		if math.IsNaN(x) {
			if !m.canImpute[t.input] {
				return 0, fmt.Errorf("input %q is missing and the model has no imputation for it", m.card.Inputs.Features[t.input].Name)
			}
			x = m.impute[t.input]
		}
		d = x
	case level:
		if !math.IsNaN(x) && x != -1 && (x != math.Trunc(x) || x < 0 || int(x) >= m.numLevels[t.input]) {
			return 0, fmt.Errorf("input %q: level code %v out of range [0, %d) (want an encoder index, -1 for an unknown level or NaN)", m.card.Inputs.Features[t.input].Name, x, m.numLevels[t.input])
		}
		if x == t.lvl {
			d = 1
		}
	case missing:
		if math.IsNaN(x) {
			d = 1
		}
	}
	return t.coef * ((d - t.mean) / t.scale), nil
}

// Terms returns the design columns in the order Contributions writes
// them: the card's Preprocessing.Features (or its numeric inputs).
func (m *Model) Terms() []string {
	out := make([]string, len(m.terms))
	pp := m.card.Preprocessing
	for i := range m.terms {
		if pp != nil && len(pp.Features) == len(m.terms) {
			out[i] = pp.Features[i]
		} else {
			out[i] = m.card.Inputs.Features[m.terms[i].input].Name
		}
	}
	return out
}

// Contributions writes each design column's term of one row's linear
// predictor, coefficient x standardised value (missing values imputed as
// Score does), into dst[:len(Terms())]; their sum plus the intercept is
// the Raw score. row holds the card's Inputs, as a Batch row does.
func (m *Model) Contributions(dst, row []float64) error {
	if len(row) != len(m.impute) {
		return fmt.Errorf("%w: row has %d columns, model wants %d", models.ErrSchemaMismatch, len(row), len(m.impute))
	}
	if len(dst) < len(m.terms) {
		return fmt.Errorf("logistic contributions: dst holds %d values for %d terms", len(dst), len(m.terms))
	}
	for i := range m.terms {
		c, err := m.term(i, row)
		if err != nil {
			return err
		}
		dst[i] = c
	}
	return nil
}

// Sigmoid is the inverse of the logit link, 1/(1+exp(-x)), computed
// without overflow for large |x|.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
