package datasets

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// PartReader reads the rows of one part in stored order: sorted by the
// table's key, then time.
type PartReader[T any] struct {
	key string
	obj Object
	r   *parquet.GenericReader[T]
}

// OpenPart opens the part stored under key for reading rows of table t.
func OpenPart[T any](ctx context.Context, st Store, t *Table[T], key string) (*PartReader[T], error) {
	obj, err := st.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open part %s: %w", key, err)
	}
	f, err := parquet.OpenFile(obj, obj.Size())
	if err != nil {
		obj.Close()
		return nil, fmt.Errorf("open part %s: %w", key, err)
	}
	var r *parquet.GenericReader[T]
	if err := safe(func() { r = parquet.NewGenericReader[T](f) }); err != nil {
		obj.Close()
		return nil, fmt.Errorf("open part %s: %w", key, err)
	}
	return &PartReader[T]{key: key, obj: obj, r: r}, nil
}

// safe runs f, turning a panic of the Parquet library (it panics on some
// malformed files) into an error.
func safe(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed parquet: %v", p)
		}
	}()
	f()
	return nil
}

// NumRows returns the number of rows in the part.
func (p *PartReader[T]) NumRows() int64 { return p.r.NumRows() }

// Read fills rows with the next rows and returns how many it read; io.EOF
// after the last. It clears rows first: pointer fields (nullable columns)
// of rows returned earlier stay valid.
func (p *PartReader[T]) Read(rows []T) (n int, err error) {
	clear(rows)
	if perr := safe(func() { n, err = p.r.Read(rows) }); perr != nil {
		return 0, fmt.Errorf("read part %s: %w", p.key, perr)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("read part %s: %w", p.key, err)
	}
	return n, err
}

// Close releases the part.
func (p *PartReader[T]) Close() error {
	p.r.Close()
	return p.obj.Close()
}

// ReadPart reads a whole part into memory: for tests and small tables.
func ReadPart[T any](ctx context.Context, st Store, t *Table[T], key string) ([]T, error) {
	r, err := OpenPart(ctx, st, t, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := make([]T, 0, r.NumRows())
	buf := make([]T, 1024)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// MergeReader reads several parts as one stream sorted by (key, time):
// a k-way merge, holding one batch per part. Feature builders use it on
// the parts of one month to see each customer's rows together. Rows with
// equal key and time come in part order, then stored order.
type MergeReader[T any] struct {
	t     *Table[T]
	heads mergeHeap[T]
	all   []*mergeHead[T]
}

type mergeHead[T any] struct {
	idx  int
	r    *PartReader[T]
	buf  []T
	n, i int
}

type mergeHeap[T any] struct {
	t     *Table[T]
	heads []*mergeHead[T]
}

func (h *mergeHeap[T]) Len() int { return len(h.heads) }
func (h *mergeHeap[T]) Less(i, j int) bool {
	a, b := h.heads[i], h.heads[j]
	ra, rb := &a.buf[a.i], &b.buf[b.i]
	if c := strings.Compare(h.t.key(ra), h.t.key(rb)); c != 0 {
		return c < 0
	}
	if ta, tb := h.t.Time(ra), h.t.Time(rb); ta != tb {
		return ta < tb
	}
	return a.idx < b.idx
}
func (h *mergeHeap[T]) Swap(i, j int) { h.heads[i], h.heads[j] = h.heads[j], h.heads[i] }
func (h *mergeHeap[T]) Push(x any)    { h.heads = append(h.heads, x.(*mergeHead[T])) }
func (h *mergeHeap[T]) Pop() any {
	x := h.heads[len(h.heads)-1]
	h.heads = h.heads[:len(h.heads)-1]
	return x
}

// fill loads the head's next batch; false at the end of its part.
func (m *mergeHead[T]) fill() (bool, error) {
	n, err := m.r.Read(m.buf)
	m.n, m.i = n, 0
	if n > 0 {
		return true, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return false, nil
	}
	return false, err
}

// NewMergeReader opens parts (usually Manifest.PartsIn(month)) for a
// merged read.
func NewMergeReader[T any](ctx context.Context, st Store, t *Table[T], parts []Part) (*MergeReader[T], error) {
	m := &MergeReader[T]{t: t, heads: mergeHeap[T]{t: t}}
	for i, p := range parts {
		r, err := OpenPart(ctx, st, t, p.Key)
		if err != nil {
			m.Close()
			return nil, err
		}
		h := &mergeHead[T]{idx: i, r: r, buf: make([]T, 512)}
		m.all = append(m.all, h)
		ok, err := h.fill()
		if err != nil {
			m.Close()
			return nil, err
		}
		if ok {
			m.heads.heads = append(m.heads.heads, h)
		}
	}
	heap.Init(&m.heads)
	return m, nil
}

// Read fills rows with the next rows in merged order; io.EOF after the
// last.
func (m *MergeReader[T]) Read(rows []T) (int, error) {
	n := 0
	for n < len(rows) && len(m.heads.heads) > 0 {
		h := m.heads.heads[0]
		rows[n] = h.buf[h.i]
		n++
		h.i++
		if h.i == h.n {
			ok, err := h.fill()
			if err != nil {
				return n, err
			}
			if !ok {
				heap.Pop(&m.heads)
				continue
			}
		}
		heap.Fix(&m.heads, 0)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Close closes every part.
func (m *MergeReader[T]) Close() error {
	var first error
	for _, h := range m.all {
		if err := h.r.Close(); err != nil && first == nil {
			first = err
		}
	}
	m.all = nil
	return first
}

// ScanMonths reads a table month by month, in order; within a month rows
// come sorted by (key, time) across all of the month's parts. fn gets
// batches of rows it may keep (they are not reused). An unpartitioned
// table is one "month" named "".
func ScanMonths[T any](ctx context.Context, st Store, t *Table[T], m *Manifest, fn func(month string, rows []T) error) error {
	for _, month := range m.Months() {
		mr, err := NewMergeReader(ctx, st, t, m.PartsIn(month))
		if err != nil {
			return err
		}
		for {
			if err := ctx.Err(); err != nil {
				mr.Close()
				return err
			}
			batch := make([]T, 4096)
			n, err := mr.Read(batch)
			if n > 0 {
				if ferr := fn(month, batch[:n]); ferr != nil {
					mr.Close()
					return ferr
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				mr.Close()
				return err
			}
		}
		if err := mr.Close(); err != nil {
			return err
		}
	}
	return nil
}
