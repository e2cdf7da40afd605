package publish

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/prevoir/prevoir/datasets"
)

// A table is written in bounded memory, whatever its size: a tableWriter
// holds at most one part's rows. When they fill a part it sorts them and
// writes them as a run (a part of their own). At the end, runs that
// follow each other in the table's order are its parts as they are (the
// usual case: a scorer fed rows in customer order emits them in order);
// otherwise the runs are merged, streaming, into new parts and removed.
// The result equals a stable sort of all rows cut into parts of PartRows:
// rows with equal keys keep the order they came in.

// tableWriter writes one table's parts under a publication's prefix.
type tableWriter struct {
	ctx      context.Context
	st       datasets.Store
	prefix   string // the publication's folder
	format   string
	partRows int
	run      string
	spec     TableSpec
	keys     []int // the sort columns, empty when the table keeps its order

	buf     [][]any
	runs    []Part
	last    []any // the last row written
	ordered bool  // every run so far starts at or after the one before ends
	rows    int64
	written []string
	parts   int // parts named so far: runs, then the merge's
}

func newTableWriter(ctx context.Context, st datasets.Store, o Options, run string, spec TableSpec) *tableWriter {
	w := &tableWriter{ctx: ctx, st: st, prefix: Prefix(o.Dataset, o.Task, o.AsOf), format: o.Format,
		partRows: o.PartRows, run: run, spec: spec, ordered: true}
	if spec.SortBy != "" {
		w.keys = []int{colIndex(spec.Columns, spec.SortBy)}
		for _, n := range spec.ThenBy {
			w.keys = append(w.keys, colIndex(spec.Columns, n))
		}
	}
	return w
}

// compare orders two rows by the table's sort columns.
func (w *tableWriter) compare(a, b []any) int {
	for _, c := range w.keys {
		if r := compareValues(a[c], b[c]); r != 0 {
			return r
		}
	}
	return 0
}

// add takes a row the writer may keep.
func (w *tableWriter) add(row []any) error {
	w.buf = append(w.buf, row)
	w.rows++
	if len(w.buf) < w.partRows {
		return nil
	}
	return w.flush()
}

// flush writes the buffered rows, sorted, as a run.
func (w *tableWriter) flush() error {
	if len(w.keys) > 0 {
		slices.SortStableFunc(w.buf, w.compare)
	}
	if w.last != nil && len(w.buf) > 0 && w.compare(w.last, w.buf[0]) > 0 {
		w.ordered = false
	}
	p, err := w.put(w.buf)
	if err != nil {
		return err
	}
	w.runs = append(w.runs, p)
	if len(w.buf) > 0 {
		w.last = w.buf[len(w.buf)-1]
	}
	w.buf = w.buf[:0]
	return nil
}

// put writes rows as the table's next part.
func (w *tableWriter) put(rows [][]any) (Part, error) {
	key := fmt.Sprintf("%s%s/part-%s-%05d.%s", w.prefix, w.spec.Name, w.run, w.parts, w.format)
	w.parts++
	p, err := putPart(w.ctx, w.st, key, w.format, w.spec.Columns, rows)
	if err != nil {
		return Part{}, err
	}
	w.written = append(w.written, key)
	return p, nil
}

// close writes what is left and returns the table: its runs when they
// are in order, else their merge.
func (w *tableWriter) close() (Table, error) {
	if len(w.buf) > 0 || len(w.runs) == 0 {
		if err := w.flush(); err != nil {
			return Table{}, err
		}
	}
	w.buf = nil
	t := Table{TableSpec: w.spec, Rows: w.rows, Parts: w.runs}
	if w.ordered {
		return t, nil
	}
	runs := make([][]Part, len(w.runs))
	for i, p := range w.runs {
		runs[i] = []Part{p}
	}
	spent := w.written
	w.written = nil
	parts, err := w.merge(runs)
	if err != nil {
		w.written = append(w.written, spent...) // abort removes both
		return Table{}, err
	}
	deleteAll(w.ctx, w.st, spent)
	t.Parts = parts
	return t, nil
}

// merge writes the rows of sorted runs (each a list of parts in order) as
// new parts in the table's order, reading one row of each run at a time;
// equal rows come in run order.
func (w *tableWriter) merge(runs [][]Part) ([]Part, error) {
	type head struct {
		row  []any
		next func() ([]any, bool)
		stop func()
	}
	heads := make([]head, 0, len(runs))
	defer func() {
		for _, h := range heads {
			h.stop()
		}
	}()
	// The runs are read one row at a time, in turn (iter.Pull): one error
	// variable serves them all, and a run that ends checks it.
	var readErr error
	for _, r := range runs {
		next, stop := iter.Pull(w.rowsOf(r, &readErr))
		row, ok := next()
		if !ok {
			stop()
			if readErr != nil {
				return nil, readErr
			}
			continue
		}
		heads = append(heads, head{row: row, next: next, stop: stop})
	}
	var parts []Part
	out := make([][]any, 0, min(w.partRows, 1<<16))
	put := func() error {
		p, err := w.put(out)
		parts = append(parts, p)
		out = out[:0]
		return err
	}
	for len(heads) > 0 {
		m := 0
		for i := 1; i < len(heads); i++ {
			if w.compare(heads[i].row, heads[m].row) < 0 {
				m = i
			}
		}
		out = append(out, heads[m].row)
		if len(out) == w.partRows {
			if err := put(); err != nil {
				return nil, err
			}
		}
		row, ok := heads[m].next()
		if ok {
			heads[m].row = row
			continue
		}
		heads[m].stop()
		heads = slices.Delete(heads, m, m+1)
		if readErr != nil {
			return nil, readErr
		}
	}
	if len(out) > 0 || len(parts) == 0 {
		if err := put(); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// rowsOf yields copies of the rows of a run's parts; a read error ends
// the sequence and is left in *err.
func (w *tableWriter) rowsOf(run []Part, err *error) iter.Seq[[]any] {
	return func(yield func([]any) bool) {
		stopped := errStopped
		for _, p := range run {
			e := readPart(w.ctx, w.st, w.format, w.spec.Columns, p, func(row []any) error {
				if !yield(slices.Clone(row)) {
					return stopped
				}
				return nil
			})
			if errors.Is(e, stopped) {
				return
			}
			if e != nil {
				*err = e
				return
			}
		}
	}
}

// abort removes every part written.
func (w *tableWriter) abort() { deleteAll(context.WithoutCancel(w.ctx), w.st, w.written) }

// errStopped ends a part's read when the merge needs no more of it.
var errStopped = errors.New("stopped")
