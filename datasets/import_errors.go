package datasets

import (
	"errors"
	"fmt"
)

// RowError is a bad source line: PATH:LINE:FIELD: column NAME: value "X": reason.
// Field is 1-based; for a Parquet source, Line is the 1-based row number.
type RowError struct {
	Path   string
	Line   int64
	Field  int
	Column string
	Value  string
	Reason string
	Err    error // the cause, when there is one (ErrAmbiguousTime)
}

func (e *RowError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:77] + "..."
	}
	return fmt.Sprintf("%s:%d:%d: column %s: value %q: %s", e.Path, e.Line, e.Field, e.Column, v, e.Reason)
}

func (e *RowError) Unwrap() error { return e.Err }

// FileError is a problem at a place of a file: the whole file (empty,
// missing column, truncated), a line, or a field. Error() is
// "PATH: reason", "PATH:LINE: reason" or "PATH:LINE:COLUMN: reason": the
// one form of file errors, shared by import and package datasets/table.
// Column is the 1-based field; for a Parquet source, Line is the 1-based
// row number.
type FileError struct {
	Path   string
	Line   int64
	Column int
	Err    error
}

func (e *FileError) Error() string {
	switch {
	case e.Line <= 0:
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	case e.Column <= 0:
		return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d:%d: %v", e.Path, e.Line, e.Column, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// BadRowsError fails an import with more bad lines than MaxBadRows.
type BadRowsError struct {
	// First is the first bad line; Count how many were seen before the
	// import stopped.
	First *RowError
	Count int64
	Max   int
}

func (e *BadRowsError) Error() string {
	return fmt.Sprintf("%v (%d bad lines, more than the %d allowed; nothing was imported)", e.First, e.Count, e.Max)
}

func (e *BadRowsError) Unwrap() error { return e.First }

// ErrNoRows is a source with a header (or a Parquet schema) and no rows:
// the import commits nothing.
var ErrNoRows = errors.New("a header and no rows: nothing was imported")
