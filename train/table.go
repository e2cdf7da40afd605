package train

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// Records is a table read a record at a time: package datasets/table's
// Reader satisfies it.
type Records interface {
	// Header returns the column names.
	Header() []string
	// Next returns the next record (one string per header column, ""
	// for a missing value), or io.EOF after the last.
	Next() ([]string, error)
	// At places err at field col (0-based) of the last record, so that
	// it reads file:line:column.
	At(col int, err error) error
}

// Missing says what to do with an empty cell, or a non-numeric one in a
// numeric column.
type Missing string

// Missing-value policies.
const (
	// MissingRefuse makes such a cell an error naming file:line:column.
	MissingRefuse Missing = "refuse"
	// MissingDrop drops the rows that have one.
	MissingDrop Missing = "drop"
	// MissingMean imputes the training mean (numeric columns) and adds a
	// 0/1 "<name>_missing" design column; a categorical column's missing
	// value sets its indicators to 0 and "<name>_missing" to 1.
	MissingMean Missing = "mean"
)

// DefaultMaxLevels is the most distinct values a categorical column may
// have (TableOptions.MaxLevels 0).
const DefaultMaxLevels = 1000

// column is one feature column as read: numbers where cells parse, and
// the distinct texts while there are few enough of them.
type column struct {
	name        string
	index       int       // in the header
	num         []float64 // NaN where empty or not a number
	codes       []int32   // into levels; -1 where empty; nil past MaxLevels
	levels      []string
	lookup      map[string]int32
	numbers     int // non-empty cells that parse as numbers
	nonNumbers  int // non-empty cells that do not
	empties     int
	firstEmpty  error // placed errors for the first such cells
	firstText   error
	firstEmptyR int // record index of firstEmpty
	firstTextR  int
	categorical bool
}

func (c *column) missing(i int) bool {
	if c.categorical {
		return c.codes[i] < 0
	}
	return math.IsNaN(c.num[i])
}

// rawTable is a table read into memory, by column.
type rawTable struct {
	rows    int
	cols    []*column
	y       []float64
	yMiss   []bool // label empty
	weights []float64
	ids     [][]string // one slice per ID column
	idNames []string
	label   string
}

// readTable reads every record of rec.
func readTable(rec Records, opt *TableOptions) (*rawTable, error) {
	header := rec.Header()
	pos := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := pos[h]; dup {
			return nil, fmt.Errorf("column %q appears more than once in the header", h)
		}
		pos[h] = i
	}
	var absent []string
	need := func(names ...string) {
		for _, n := range names {
			if _, ok := pos[n]; !ok && n != "" {
				absent = append(absent, n)
			}
		}
	}
	need(opt.Label)
	need(opt.Weight)
	need(opt.IDs...)
	need(opt.Drop...)
	need(opt.Categorical...)
	if len(absent) > 0 {
		return nil, fmt.Errorf("%w (the table has %s)", models.MissingColumns(absent...), strings.Join(header, ", "))
	}
	if opt.Label == "" {
		return nil, errors.New("no label column given")
	}
	skip := map[string]string{opt.Label: "label"}
	if opt.Weight != "" {
		skip[opt.Weight] = "weight"
	}
	for _, n := range opt.IDs {
		skip[n] = "id"
	}
	for _, n := range opt.Drop {
		skip[n] = "drop"
	}
	t := &rawTable{label: opt.Label, idNames: opt.IDs}
	t.ids = make([][]string, len(opt.IDs))
	for i, h := range header {
		if _, ok := skip[h]; ok {
			continue
		}
		t.cols = append(t.cols, &column{
			name: h, index: i, lookup: map[string]int32{},
			categorical: slices.Contains(opt.Categorical, h),
		})
	}
	for _, n := range opt.Categorical {
		if what, ok := skip[n]; ok {
			return nil, fmt.Errorf("column %q is both categorical and the %s column", n, what)
		}
	}
	labelCol := pos[opt.Label]
	weightCol := -1
	if opt.Weight != "" {
		weightCol = pos[opt.Weight]
	}
	for {
		r, err := rec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		row := t.rows
		// label
		ls := strings.TrimSpace(r[labelCol])
		var y float64
		miss := ls == ""
		if !miss {
			if opt.Positive != "" {
				if ls == opt.Positive {
					y = 1
				}
			} else if y, err = parseLabel(ls); err != nil {
				return nil, rec.At(labelCol, err)
			}
		} else if opt.Missing != MissingDrop {
			return nil, rec.At(labelCol, fmt.Errorf("label %q is empty", opt.Label))
		}
		t.y = append(t.y, y)
		t.yMiss = append(t.yMiss, miss)
		if weightCol >= 0 {
			v, err := models.ParseValue(r[weightCol])
			if err == nil && !(v >= 0) && !math.IsNaN(v) {
				err = errors.New("a weight must be >= 0")
			}
			if err == nil && math.IsNaN(v) {
				err = errors.New("the weight is missing")
			}
			if err != nil {
				return nil, rec.At(weightCol, fmt.Errorf("weight %q: %w", r[weightCol], err))
			}
			t.weights = append(t.weights, v)
		}
		for k, n := range opt.IDs {
			t.ids[k] = append(t.ids[k], r[pos[n]])
		}
		for _, c := range t.cols {
			c.add(rec, r[c.index], row, opt.MaxLevels)
		}
		t.rows++
	}
	if t.rows == 0 {
		return nil, errors.New("the table has no rows")
	}
	// Kinds: a column is numeric when most of its non-empty cells are
	// numbers, unless it was named categorical.
	for _, c := range t.cols {
		if !c.categorical {
			c.categorical = c.nonNumbers > c.numbers
		}
		if c.categorical {
			if c.codes == nil {
				return nil, fmt.Errorf("column %q has more than %d distinct values (MaxLevels): drop it (Drop), name it an identifier (IDs) or raise MaxLevels", c.name, opt.MaxLevels)
			}
			c.num = nil
		} else {
			c.codes, c.levels, c.lookup = nil, nil, nil
		}
	}
	return t, nil
}

// add reads the column's cell of record row: a number where it parses,
// and its level while the column has at most maxLevels distinct values.
// The first empty and the first non-numeric cell are kept as placed
// errors (refused or not later, by the missing-value policy).
func (c *column) add(rec Records, cell string, row, maxLevels int) {
	s := strings.TrimSpace(cell)
	v := math.NaN()
	switch {
	case s == "":
		c.empties++
		if c.firstEmpty == nil {
			c.firstEmpty = rec.At(c.index, fmt.Errorf("column %q: empty value, and the missing-value policy (Missing) is refuse", c.name))
			c.firstEmptyR = row
		}
	default:
		if x, err := models.ParseValue(s); err == nil && !math.IsNaN(x) {
			v = x
			c.numbers++
		} else {
			c.nonNumbers++
			if c.firstText == nil {
				c.firstText = rec.At(c.index, fmt.Errorf("column %q: %q is not a number, and the missing-value policy (Missing) is refuse; name the column in Categorical if its values are codes", c.name, cell))
				c.firstTextR = row
			}
		}
	}
	c.num = append(c.num, v)
	if c.codes == nil && row > 0 {
		return // past maxLevels: a number column, or an error
	}
	code := int32(-1)
	if s != "" {
		var ok bool
		if code, ok = c.lookup[s]; !ok {
			if len(c.levels) >= maxLevels {
				c.codes, c.lookup = nil, nil
				return
			}
			code = int32(len(c.levels))
			c.levels = append(c.levels, strings.Clone(s))
			c.lookup[c.levels[code]] = code
		}
	}
	c.codes = append(c.codes, code)
}

// parseLabel reads a 0/1 or true/false label.
func parseLabel(s string) (float64, error) {
	switch strings.ToLower(s) {
	case "1", "true":
		return 1, nil
	case "0", "false":
		return 0, nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && (v == 0 || v == 1) {
		return v, nil
	}
	return 0, fmt.Errorf("label value %q: want 0/1 or true/false, or name the positive class's value (Positive)", s)
}

// feature returns the column's features.Feature.
func (c *column) feature(nullable bool) features.Feature {
	k := features.Numeric
	if c.categorical {
		k = features.Categorical
	}
	return features.Feature{Name: c.name, Kind: k, Nullable: nullable}
}
