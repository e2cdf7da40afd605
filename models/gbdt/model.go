package gbdt

import (
	"fmt"
	"math"

	"github.com/dmitryikh/leaves"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
)

// kZeroThreshold is LightGBM's kZeroThreshold (1e-35f) as a float64:
// a zero-as-missing split treats |x| <= it as zero.
const kZeroThreshold = float64(float32(1e-35))

// rowChunk is how many rows Score hands leaves at a time when it has to
// rewrite inputs.
const rowChunk = 1024

// Model is an imported GBDT scored by leaves. It is immutable and safe for
// concurrent use.
type Model struct {
	card *models.Card
	ens  *leaves.Ensemble
	// nFeat is the number of features the trees index.
	nFeat int
	// nEst is the number of trees used (leaves' nEstimators); 0 = all.
	nEst int
	bind *binding
	// catCols, zeroCols: model features split categorically, or with a
	// zero-as-missing split.
	catCols, zeroCols []int
	// f32, for an XGBoost model, scores it with XGBoost's float32
	// arithmetic instead of leaves.
	f32 *forest32
	// average divides the raw sum for the response (LightGBM rf: the
	// number of trees); 0 for none.
	average float64
	link    string
	sigmoid float64
	threads int
}

var _ models.Model = (*Model)(nil)

// Card returns the model card.
func (m *Model) Card() *models.Card { return m.card }

// Score writes one value per row of b into dst[:b.Rows]: the response
// (probability, count or value) or the framework's raw margin (for a
// LightGBM random forest, the sum over trees, as LightGBM reports it).
func (m *Model) Score(dst []float64, b models.Batch, kind models.OutputKind) error {
	if err := b.Check(len(m.bind.inputs.Features)); err != nil {
		return err
	}
	if len(dst) < b.Rows {
		return fmt.Errorf("score: dst holds %d values for %d rows", len(dst), b.Rows)
	}
	if kind != models.Response && kind != models.Raw {
		return fmt.Errorf("score: unknown output kind %d", kind)
	}
	if b.Rows == 0 {
		return nil
	}
	threads := threadsFor(m.threads)
	if m.f32 != nil {
		m.score32(dst, b, kind, threads)
		return nil
	}
	return datasets.Guard("score: leaves", func() error { return m.scoreLeaves(dst, b, kind, threads) })
}

// scoreLeaves scores b with leaves (LightGBM models).
func (m *Model) scoreLeaves(dst []float64, b models.Batch, kind models.OutputKind, threads int) error {
	direct := m.bind.identity && len(m.catCols) == 0 && len(m.zeroCols) == 0 && b.Cols == m.nFeat
	if direct {
		if err := m.ens.PredictDense(b.Values, b.Rows, b.Cols, dst[:b.Rows], m.nEst, threads); err != nil {
			return fmt.Errorf("score: %w", err)
		}
	} else {
		buf := make([]float64, min(b.Rows, rowChunk)*m.nFeat)
		for start := 0; start < b.Rows; start += rowChunk {
			n := min(rowChunk, b.Rows-start)
			x := buf[:n*m.nFeat]
			for i := 0; i < n; i++ {
				m.prepare(x[i*m.nFeat:(i+1)*m.nFeat], b.Row(start+i))
			}
			if err := m.ens.PredictDense(x, n, m.nFeat, dst[start:start+n], m.nEst, threads); err != nil {
				return fmt.Errorf("score: %w", err)
			}
		}
	}
	out := dst[:b.Rows]
	for i, raw := range out {
		if kind == models.Response {
			raw = m.response(raw)
		}
		out[i] = raw
	}
	return nil
}

// prepare maps one batch row to the trees' feature order and applies the
// framework's input semantics.
func (m *Model) prepare(x, row []float64) {
	for j, c := range m.bind.perm {
		x[j] = row[c]
	}
	for _, j := range m.catCols {
		// LightGBM sends NaN (and negative categories) right: a
		// negative value does that in leaves on every platform.
		if v := x[j]; math.IsNaN(v) || v >= 1<<31 || v <= -1 {
			x[j] = -1
		}
	}
	for _, j := range m.zeroCols {
		if v := x[j]; v >= -kZeroThreshold && v <= kZeroThreshold {
			x[j] = 0
		}
	}
}

// response applies the mean (rf) and the inverse link to a raw margin.
func (m *Model) response(raw float64) float64 {
	if m.average > 0 {
		raw /= m.average
	}
	switch m.link {
	case LinkLogit:
		return 1 / (1 + math.Exp(-m.sigmoid*raw))
	case LinkLog:
		return math.Exp(raw)
	}
	return raw
}
