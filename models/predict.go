package models

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// RowReader is a table read as text records, as package datasets/table
// provides: a header, then records of as many fields, io.EOF at the end.
type RowReader interface {
	Header() []string
	// Next returns the next record, valid until the following call.
	Next() ([]string, error)
	// Name names the table in error messages (a path or URL).
	Name() string
	// Line is the line (or row) number of the last record.
	Line() int
	// At places err at field col (0-based) of the last record
	// (file:line:column).
	At(col int, err error) error
}

// PredictOptions configures Predict. The zero value writes response
// scores and no id columns, 4096 rows per batch.
type PredictOptions struct {
	// IDs are columns copied to the output before the score, in this
	// order.
	IDs []string
	// Kind is Response or Raw.
	Kind OutputKind
	// BatchRows is the number of rows scored at once; 0 means 4096.
	BatchRows int
}

// DefaultBatchRows is Predict's batch size when PredictOptions.BatchRows is 0.
const DefaultBatchRows = 4096

// Predict scores every record of in with m and writes CSV to w: a header
// of the id columns then "score", and one row per input row, in order,
// with each score in the shortest form that round-trips a float64
// (strconv 'g', -1). It streams: memory holds one batch, whatever the
// number of rows. A column of m's Inputs or of opts.IDs missing from in is
// an error naming it, before anything is written. It returns the number
// of rows written.
func Predict(ctx context.Context, m Model, in RowReader, w io.Writer, opts PredictOptions) (rows int, err error) {
	card := m.Card()
	header := in.Header()
	binder, err := NewBinder(card, header)
	if err != nil {
		return 0, err
	}
	idCols := make([]int, len(opts.IDs))
	var missing []string
	for i, id := range opts.IDs {
		idCols[i] = -1
		for c, h := range header {
			if h == id {
				idCols[i] = c
				break
			}
		}
		if idCols[i] < 0 {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return 0, fmt.Errorf("id column(s): %w", MissingColumns(missing...))
	}
	n := opts.BatchRows
	if n <= 0 {
		n = DefaultBatchRows
	}
	cols := binder.Cols()
	// The batch grows with the rows read, up to n: memory follows the
	// rows scored, not n x columns allocated up front.
	var batch Batch
	batch.Cols = cols
	var scores []float64
	var ids []string // copies: records are reused
	var lines []int
	out := csv.NewWriter(w)
	outRec := make([]string, len(idCols)+1)
	copy(outRec, opts.IDs)
	outRec[len(idCols)] = "score"
	if err := out.Write(outRec); err != nil {
		return 0, err
	}
	var numBuf []byte

	flush := func() error {
		if batch.Rows == 0 {
			return nil
		}
		if err := m.Score(scores, batch, opts.Kind); err != nil {
			return locate(m, batch, lines, opts.Kind, in.Name(), err)
		}
		for r := 0; r < batch.Rows; r++ {
			copy(outRec, ids[r*len(idCols):(r+1)*len(idCols)])
			numBuf = strconv.AppendFloat(numBuf[:0], scores[r], 'g', -1, 64)
			outRec[len(idCols)] = string(numBuf)
			if err := out.Write(outRec); err != nil {
				return err
			}
		}
		rows += batch.Rows
		batch.Rows = 0
		batch.Values, scores, ids, lines = batch.Values[:0], scores[:0], ids[:0], lines[:0]
		out.Flush()
		return out.Error()
	}

	for {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		rec, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rows, err
		}
		r := batch.Rows
		if need := (r + 1) * cols; need > cap(batch.Values) {
			// Double, up to a full batch: a few copies, not one per row.
			grown := make([]float64, len(batch.Values), min(max(2*cap(batch.Values), need), n*cols))
			copy(grown, batch.Values)
			batch.Values = grown
		}
		batch.Values = batch.Values[:(r+1)*cols]
		if err := binder.Bind(batch.Values[r*cols:], rec); err != nil {
			var be *BindError
			if errors.As(err, &be) {
				return rows, in.At(be.Column, err)
			}
			return rows, in.At(0, err)
		}
		for _, c := range idCols {
			ids = append(ids, rec[c])
		}
		lines = append(lines, in.Line())
		scores = append(scores, 0)
		batch.Rows++
		if batch.Rows == n {
			if err := flush(); err != nil {
				return rows, err
			}
		}
	}
	if err := flush(); err != nil {
		return rows, err
	}
	out.Flush()
	return rows, out.Error()
}

// locate finds the first row of a batch that Score refuses, to report its
// line; err is the batch's error.
func locate(m Model, b Batch, lines []int, kind OutputKind, name string, err error) error {
	var dst [1]float64
	for r := 0; r < b.Rows; r++ {
		one := Batch{Rows: 1, Cols: b.Cols, Values: b.Row(r)}
		if rerr := m.Score(dst[:], one, kind); rerr != nil {
			return fmt.Errorf("%s:%d: %w", name, lines[r], rerr)
		}
	}
	return fmt.Errorf("%s: lines %d-%d: %w", name, lines[0], lines[b.Rows-1], err)
}
