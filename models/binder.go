package models

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir/features"
)

// Binder maps the text records of a table (a header and string records,
// as package datasets/table reads them) to Batch rows for one model: it
// binds the card's Inputs to table columns by name, once per table, then
// parses each record's values.
//
// Binding rules, the same for every kind of model:
//   - every input must be a column of the header, or binding fails with an
//     error that names the missing columns (errors.Is ErrSchemaMismatch,
//     errors.As *features.SchemaError); extra columns are ignored;
//   - an empty cell (after trimming spaces) is a missing value, NaN, as is
//     the text "NaN"; infinities and unparsable text are errors;
//   - a numeric input is parsed as a float64;
//   - a categorical input is coded as the index of its text in the card's
//     Preprocessing.Encoders[name] levels, or -1 for a level the encoder
//     does not know; a categorical input without an encoder is parsed as a
//     number (LightGBM-style integer categories).
//
// A Binder is immutable and safe for concurrent use.
type Binder struct {
	names  []string
	kinds  []features.Kind
	cols   []int            // header index of each input
	levels []map[string]int // categorical inputs with an encoder
	width  int              // header length
}

// BindError is a value that cannot be bound: it carries the column so a
// caller can point at file:line:column.
type BindError struct {
	// Column is the header index (0-based) of the offending cell.
	Column int
	// Name is the column's name.
	Name string
	// Value is the cell's text.
	Value string
	Err   error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("column %q: value %q: %v", e.Name, e.Value, e.Err)
}

func (e *BindError) Unwrap() error { return e.Err }

// schemaMismatch is a *features.SchemaError that is also ErrSchemaMismatch.
type schemaMismatch struct{ *features.SchemaError }

func (e schemaMismatch) Is(target error) bool { return target == ErrSchemaMismatch }
func (e schemaMismatch) Unwrap() error        { return e.SchemaError }

// MissingColumns returns an error naming the columns a table lacks: it
// satisfies errors.Is(err, ErrSchemaMismatch) and errors.As to
// *features.SchemaError.
func MissingColumns(missing ...string) error {
	return schemaMismatch{&features.SchemaError{Missing: missing}}
}

// NewBinder binds card's Inputs to header. It fails when an input is
// missing from the header or appears in it more than once.
func NewBinder(card *Card, header []string) (*Binder, error) {
	idx := make(map[string]int, len(header))
	dup := map[string]bool{}
	for i, h := range header {
		if _, ok := idx[h]; ok {
			dup[h] = true
			continue
		}
		idx[h] = i
	}
	in := card.Inputs.Features
	b := &Binder{
		names:  make([]string, len(in)),
		kinds:  make([]features.Kind, len(in)),
		cols:   make([]int, len(in)),
		levels: make([]map[string]int, len(in)),
		width:  len(header),
	}
	var missing []string
	for i, f := range in {
		b.names[i], b.kinds[i] = f.Name, f.Kind
		c, ok := idx[f.Name]
		if !ok {
			missing = append(missing, f.Name)
			continue
		}
		if dup[f.Name] {
			return nil, fmt.Errorf("%w: column %q appears more than once in the header", ErrSchemaMismatch, f.Name)
		}
		b.cols[i] = c
		if f.Kind == features.Categorical && card.Preprocessing != nil {
			if lv, ok := card.Preprocessing.Encoders[f.Name]; ok {
				m := make(map[string]int, len(lv))
				for k, l := range lv {
					m[l] = k
				}
				b.levels[i] = m
			}
		}
	}
	if len(missing) > 0 {
		return nil, MissingColumns(missing...)
	}
	return b, nil
}

// Cols is the number of values Bind writes: len(card.Inputs.Features).
func (b *Binder) Cols() int { return len(b.cols) }

// Bind parses record (a row of the bound table) into dst[:b.Cols()].
// A failure is a *BindError.
func (b *Binder) Bind(dst []float64, record []string) error {
	if len(record) < b.width {
		return fmt.Errorf("record has %d fields, header has %d", len(record), b.width)
	}
	dst = dst[:len(b.cols)]
	for i, c := range b.cols {
		s := strings.TrimSpace(record[c])
		if s == "" {
			dst[i] = math.NaN()
			continue
		}
		if lv := b.levels[i]; lv != nil {
			if k, ok := lv[s]; ok {
				dst[i] = float64(k)
			} else {
				dst[i] = -1
			}
			continue
		}
		v, err := ParseValue(s)
		if err != nil {
			return &BindError{Column: c, Name: b.names[i], Value: record[c], Err: err}
		}
		dst[i] = v
	}
	return nil
}

// errNotFinite reports an infinite input value.
var errNotFinite = errors.New("not a finite number")

// ParseValue parses a numeric cell: a float64, "NaN" (any case) for a
// missing value; an empty string is missing too. Infinities are refused.
func ParseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, errNotFinite
		}
		return 0, errors.New("not a number")
	}
	if math.IsInf(v, 0) {
		return 0, errNotFinite
	}
	return v, nil
}
