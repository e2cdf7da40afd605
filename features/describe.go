package features

import (
	"context"
	"math"

	"github.com/prevoir/prevoir/datasets"
)

// Description summarises a feature table from its rows only: no paths,
// build times or lineage, so two builds from the same facts describe
// identically, byte for byte.
type Description struct {
	Task     string         `json:"task"`
	AsOf     string         `json:"as_of"`
	Spec     string         `json:"spec"`
	Params   Params         `json:"params"`
	Rows     int64          `json:"rows"`
	Label    string         `json:"label,omitempty"`
	Balance  *Balance       `json:"label_balance,omitempty"`
	Features []FeatureStats `json:"features"`
}

// FeatureStats are one column's statistics over the non-null values.
// Min, Mean and Max are nil when every value is null. Mean is the
// correctly rounded mean (an exact sum), so it does not depend on the
// order of the rows.
type FeatureStats struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Nullable    bool     `json:"nullable"`
	Description string   `json:"description"`
	Min         *float64 `json:"min"`
	Mean        *float64 `json:"mean"`
	Max         *float64 `json:"max"`
	NullShare   float64  `json:"null_share"`
}

// Describe reads a table and computes its description.
func Describe(ctx context.Context, st datasets.Store, m *Manifest) (*Description, error) {
	d := &Description{Task: m.Task, AsOf: m.AsOf, Spec: m.Spec, Params: m.Params, Label: m.Label, Balance: m.Balance}
	type acc struct {
		min, max float64
		sum      fsum
		n, nulls int64
	}
	var idx []int
	for i, c := range m.Schema {
		if c.Role != "id" {
			idx = append(idx, i)
		}
	}
	accs := make([]acc, len(idx))
	for i := range accs {
		accs[i].min, accs[i].max = math.Inf(1), math.Inf(-1)
	}
	var rows int64
	err := Rows(ctx, st, m, func(row []any) error {
		rows++
		for k, i := range idx {
			a := &accs[k]
			x, ok := toFloat(row[i])
			if !ok {
				a.nulls++
				continue
			}
			a.n++
			a.min, a.max = min(a.min, x), max(a.max, x)
			a.sum.add(x)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.Rows = rows
	for k, i := range idx {
		c := m.Schema[i]
		a := &accs[k]
		fs := FeatureStats{Name: c.Name, Type: c.Type, Nullable: c.Nullable, Description: c.Description}
		if rows > 0 {
			fs.NullShare = float64(a.nulls) / float64(rows)
		}
		if a.n > 0 {
			mn, mx, mean := a.min, a.max, a.sum.value()/float64(a.n)
			fs.Min, fs.Max, fs.Mean = &mn, &mx, &mean
		}
		d.Features = append(d.Features, fs)
	}
	return d, nil
}

// fsum is an exact floating-point sum (Shewchuk's partials, as Python's
// math.fsum): its value is the correctly rounded sum whatever the order
// of the additions.
type fsum struct {
	partials []float64
}

func (s *fsum) add(x float64) {
	i := 0
	for _, y := range s.partials {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		lo := y - (hi - x)
		if lo != 0 {
			s.partials[i] = lo
			i++
		}
		x = hi
	}
	s.partials = append(s.partials[:i], x)
}

func (s *fsum) value() float64 {
	p := s.partials
	n := len(p)
	if n == 0 {
		return 0
	}
	n--
	hi := p[n]
	lo := 0.0
	for n > 0 {
		x := hi
		n--
		y := p[n]
		hi = x + y
		yr := hi - x
		lo = y - yr
		if lo != 0 {
			break
		}
	}
	if n > 0 && ((lo < 0 && p[n-1] < 0) || (lo > 0 && p[n-1] > 0)) {
		y := lo * 2
		x := hi + y
		yr := x - hi
		if y == yr {
			hi = x
		}
	}
	return hi
}
