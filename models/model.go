package models

import (
	"errors"
	"fmt"
)

// Batch is a block of rows to score: Rows rows of Cols float64 values each,
// row-major in Values (len(Values) == Rows*Cols). The columns follow the
// model card's Schema order. NaN is a missing value.
type Batch struct {
	Rows   int
	Cols   int
	Values []float64
}

// Row returns row i.
func (b Batch) Row(i int) []float64 { return b.Values[i*b.Cols : (i+1)*b.Cols] }

// Check reports a malformed batch.
func (b Batch) Check(cols int) error {
	if b.Cols != cols {
		return fmt.Errorf("%w: batch has %d columns, model wants %d", ErrSchemaMismatch, b.Cols, cols)
	}
	if b.Rows < 0 || len(b.Values) != b.Rows*b.Cols {
		return fmt.Errorf("batch: %d values for %d rows of %d columns", len(b.Values), b.Rows, b.Cols)
	}
	return nil
}

// OutputKind selects what Score writes.
type OutputKind int

const (
	// Response is the model's prediction on the scale of its output:
	// a probability, a count or a value.
	Response OutputKind = iota
	// Raw is the framework's raw margin before the link's inverse (for a
	// LightGBM random forest, the sum over trees as LightGBM reports it).
	Raw
)

// Model scores rows. Implementations are immutable and safe for concurrent
// use: the native logistic model, and imported LightGBM/XGBoost models.
// Batch scoring and the server never care which one they hold.
type Model interface {
	// Card describes the model: name, version, kind, schema, lineage.
	Card() *Card
	// Score writes one value per row of b into dst[:b.Rows]. dst is
	// allocated by the caller and must hold at least b.Rows values.
	Score(dst []float64, b Batch, kind OutputKind) error
}

// Sentinel errors callers branch on; the HTTP layer maps them to status
// codes in one place.
var (
	ErrNotFound       = errors.New("not found")
	ErrSchemaMismatch = errors.New("schema mismatch")
	ErrUnsupported    = errors.New("unsupported model")
)
