package gbdt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/prevoir/prevoir/models"
)

// ErrReferenceMismatch is a reference check that failed: prevoir's scores
// differ from the framework's beyond the tolerance.
var ErrReferenceMismatch = errors.New("reference check failed")

// ReferenceError is a failed reference check: its result and the worst
// row. errors.Is(err, ErrReferenceMismatch).
type ReferenceError struct {
	Check *models.ReferenceCheck
	// Row is the 1-based data row (after the header) of the largest
	// relative difference.
	Row                int
	Prevoir, Framework float64
}

func (e *ReferenceError) Error() string {
	return fmt.Sprintf("%v: %s row %d: prevoir %.17g, framework %.17g: |diff| %.3g > %.3g * max(1, |framework|) (max relative difference over %d rows %.3g)",
		ErrReferenceMismatch, e.Check.File, e.Row, e.Prevoir, e.Framework, math.Abs(e.Prevoir-e.Framework), e.Check.Tolerance, e.Check.Rows, e.Check.MaxRel)
}

func (e *ReferenceError) Unwrap() error { return ErrReferenceMismatch }

const referenceChunk = 4096

// Records is a table read a record at a time: package datasets/table's
// Reader (the one reader of CSV and Parquet tables) satisfies it.
type Records interface {
	// Header returns the column names.
	Header() []string
	// Next returns the next record (one string per header column), or
	// io.EOF after the last.
	Next() ([]string, error)
	// At places err at field col (0-based) of the last record, so that
	// it reads file:line:column.
	At(col int, err error) error
}

// CheckReference scores a reference table (a header of feature names plus
// a "prediction" column, one row per case; an empty cell or NaN is a
// missing value) with m and compares every score s with the framework's
// prediction f: the check passes when |s - f| <= tol * max(1, |f|) on
// every row. kind says whether "prediction" is the response or the raw
// margin. The result is returned even when the check fails; the error is
// then a *ReferenceError.
func CheckReference(ctx context.Context, m models.Model, r Records, name string, kind models.OutputKind, tol float64) (*models.ReferenceCheck, error) {
	if !(tol >= 0) {
		return nil, fmt.Errorf("reference %s: tolerance %v", name, tol)
	}
	header := r.Header()
	predCol := -1
	for i, h := range header {
		if h == "prediction" {
			if predCol >= 0 {
				return nil, fmt.Errorf("reference %s: two \"prediction\" columns", name)
			}
			predCol = i
		}
	}
	if predCol < 0 {
		return nil, fmt.Errorf("reference %s: no \"prediction\" column in the header", name)
	}
	binder, err := models.NewBinder(m.Card(), header)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", name, err)
	}
	cols := binder.Cols()
	rc := &models.ReferenceCheck{File: name, Tolerance: tol}
	vals := make([]float64, 0, referenceChunk*cols)
	want := make([]float64, 0, referenceChunk)
	got := make([]float64, referenceChunk)
	var worst *ReferenceError
	flush := func() error {
		n := len(want)
		if n == 0 {
			return nil
		}
		if err := m.Score(got, models.Batch{Rows: n, Cols: cols, Values: vals}, kind); err != nil {
			return fmt.Errorf("reference %s: %w", name, err)
		}
		for i := 0; i < n; i++ {
			f, s := want[i], got[i]
			d := math.Abs(s - f)
			rel := d / math.Max(1, math.Abs(f))
			if math.IsNaN(d) {
				d, rel = math.Inf(1), math.Inf(1)
			}
			rc.MaxDiff = math.Max(rc.MaxDiff, d)
			if rel > rc.MaxRel {
				rc.MaxRel = rel
				if rel > tol {
					worst = &ReferenceError{Check: rc, Row: rc.Rows + i + 1, Prevoir: s, Framework: f}
				}
			}
		}
		rc.Rows += n
		vals, want = vals[:0], want[:0]
		return ctx.Err()
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
		f, err := models.ParseValue(rec[predCol])
		if err != nil || math.IsNaN(f) {
			return nil, fmt.Errorf("reference: %w", r.At(predCol, fmt.Errorf("prediction %q is not a number", rec[predCol])))
		}
		k := len(vals)
		vals = vals[:k+cols]
		if err := binder.Bind(vals[k:], rec); err != nil {
			col := 0
			var be *models.BindError
			if errors.As(err, &be) {
				col = be.Column
			}
			return nil, fmt.Errorf("reference: %w", r.At(col, err))
		}
		want = append(want, f)
		if len(want) == referenceChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if rc.Rows == 0 {
		return nil, fmt.Errorf("reference %s: no rows", name)
	}
	rc.Passed = worst == nil
	if worst != nil {
		return rc, worst
	}
	return rc, nil
}
