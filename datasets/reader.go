package datasets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"

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
	var f *parquet.File
	if err := Guard("open part "+key, func() (err error) {
		if f, err = parquet.OpenFile(obj, obj.Size()); err != nil {
			return fmt.Errorf("open part %s: %w", key, err)
		}
		return nil
	}); err != nil {
		obj.Close()
		return nil, err
	}
	var r *parquet.GenericReader[T]
	if err := Guard("open part "+key, func() error {
		r = parquet.NewGenericReader[T](f)
		return nil
	}); err != nil {
		obj.Close()
		return nil, err
	}
	return &PartReader[T]{key: key, obj: obj, r: r}, nil
}

// NumRows returns the number of rows in the part.
func (p *PartReader[T]) NumRows() int64 { return p.r.NumRows() }

// Read fills rows with the next rows and returns how many it read; io.EOF
// after the last. It clears rows first: pointer fields (nullable columns)
// of rows returned earlier stay valid.
func (p *PartReader[T]) Read(rows []T) (n int, err error) {
	clear(rows)
	if perr := Guard("read part "+p.key, func() error {
		n, err = p.r.Read(rows)
		return nil
	}); perr != nil {
		return 0, perr
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

// ColumnScan says what ScanColumns reads.
type ColumnScan struct {
	// Columns are decoded besides the table's key and time columns; a
	// part without one of them gives nil slices for it.
	Columns []ColumnRequest
	// Symbols interns AsSymbol columns (required when one is requested).
	Symbols *Symbols
	// From and To bound the rows passed on: From <= time < To (UTC
	// microseconds; math.MinInt64 and math.MaxInt64 for no bound). Parts
	// whose recorded bounds miss the range are not read.
	From, To int64
	// Keep, when not nil, selects the keys passed on. Rows with an empty
	// key (anonymous lines) are passed on only with Anonymous.
	Keep func(key []byte) bool
	// Anonymous passes rows with an empty key on too (as one key, the
	// empty one, per month): the lines without a customer, which count
	// for product demand but belong to no customer.
	Anonymous bool
}

// ScanColumns reads a table's parts month by month, in month order, and
// calls fn once per key and month with that key's rows of the month, as
// row converts them, so that fn sees each key's history in month order.
// Within a month the rows of all the month's parts are merged by key:
// they come in part order (parts sorted by key name), then stored order,
// which within a part is by time; callers needing a total order sort rows
// themselves. key and rows are reused after fn returns.
//
// Only the requested columns are decoded, row group by row group, on up
// to GOMAXPROCS goroutines running a month ahead of fn; every decoder call
// is guarded (a malformed part is an error naming it, never a crash).
func ScanColumns[T, R any](ctx context.Context, st Store, t *Table[T], m *Manifest, cs ColumnScan, row func(b *Block, i int) R, fn func(key []byte, rows []R) error) error {
	for _, c := range cs.Columns {
		if c.As == AsSymbol && cs.Symbols == nil {
			return fmt.Errorf("scan %s: column %s decoded as symbols needs ColumnScan.Symbols", t.Name, c.Name)
		}
	}
	from, to := cs.From, cs.To
	s := &columnScanner{st: st, keyCol: t.KeyColumn, timeCol: t.TimeColumn, cs: cs,
		sem: make(chan struct{}, runtime.GOMAXPROCS(0))}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	months := monthParts(m, from, to)
	monthCh := make(chan []*blockCursor)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(monthCh)
		for _, parts := range months {
			curs := make([]*blockCursor, len(parts))
			for i, p := range parts {
				c := &blockCursor{ch: make(chan blockOrErr, 1)}
				curs[i] = c
				wg.Add(1)
				go func(key string) {
					defer wg.Done()
					s.decodePart(ctx, key, c.ch)
				}(p.Key)
			}
			select {
			case monthCh <- curs:
			case <-ctx.Done():
				return
			}
		}
	}()
	var keybuf []byte
	var scratch []R
	for curs := range monthCh {
		heads := curs[:0:0]
		for _, c := range curs {
			ok, err := c.next()
			if err != nil {
				return err
			}
			if ok {
				heads = append(heads, c)
			}
		}
		for len(heads) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			// The smallest key among the heads.
			minKey := heads[0].cur.Key(heads[0].pos)
			for _, h := range heads[1:] {
				if k := h.cur.Key(h.pos); bytes.Compare(k, minKey) < 0 {
					minKey = k
				}
			}
			keybuf = append(keybuf[:0], minKey...)
			keep := (len(keybuf) > 0 || cs.Anonymous) && (cs.Keep == nil || cs.Keep(keybuf))
			scratch = scratch[:0]
			live := heads[:0]
			for _, h := range heads {
				alive := true
				if bytes.Equal(h.cur.Key(h.pos), keybuf) {
					var err error
					scratch, alive, err = appendRun(h, keybuf, scratch, keep, from, to, row)
					if err != nil {
						return err
					}
				}
				if alive {
					live = append(live, h)
				}
			}
			heads = live
			if !keep || len(scratch) == 0 {
				continue
			}
			if err := fn(keybuf, scratch); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// columnScanner decodes the parts of a ColumnScan.
type columnScanner struct {
	st              Store
	keyCol, timeCol string
	cs              ColumnScan
	sem             chan struct{}
}

type blockOrErr struct {
	b   *Block
	err error
}

// blockCursor walks the decoded row groups of one part.
type blockCursor struct {
	ch  chan blockOrErr
	cur *Block
	pos int
}

// next moves to the next non-empty block; false at the end.
func (c *blockCursor) next() (bool, error) {
	for {
		r, ok := <-c.ch
		if !ok {
			c.cur = nil
			return false, nil
		}
		if r.err != nil {
			return false, r.err
		}
		if r.b.N > 0 {
			c.cur, c.pos = r.b, 0
			return true, nil
		}
	}
}

// appendRun appends the head's rows of key (when keep, and inside [from,
// to)) and moves past them; alive is false when the part is exhausted.
func appendRun[R any](h *blockCursor, key []byte, dst []R, keep bool, from, to int64, row func(b *Block, i int) R) (_ []R, alive bool, err error) {
	for {
		b := h.cur
		i := h.pos
		for i < b.N && bytes.Equal(b.Key(i), key) {
			if keep {
				if ts := b.Time[i]; ts >= from && ts < to {
					dst = append(dst, row(b, i))
				}
			}
			i++
		}
		h.pos = i
		if i < b.N {
			return dst, true, nil
		}
		ok, err := h.next()
		if err != nil || !ok {
			return dst, false, err
		}
	}
}

// decodePart decodes every row group of a part into ch, then closes it.
func (s *columnScanner) decodePart(ctx context.Context, key string, ch chan<- blockOrErr) {
	defer close(ch)
	send := func(r blockOrErr) bool {
		select {
		case ch <- r:
			return true
		case <-ctx.Done():
			return false
		}
	}
	obj, err := s.st.Open(ctx, key)
	if err != nil {
		send(blockOrErr{err: fmt.Errorf("open part %s: %w", key, err)})
		return
	}
	defer obj.Close()
	var f *parquet.File
	if err := Guard("open part "+key, func() (err error) {
		f, err = parquet.OpenFile(obj, obj.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			return fmt.Errorf("open part %s: %w", key, err)
		}
		return nil
	}); err != nil {
		send(blockOrErr{err: err})
		return
	}
	cols := columnIndex(f)
	for _, rg := range f.RowGroups() {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		var b *Block
		err := Guard("read part "+key, func() (err error) {
			if b, err = decodeRowGroup(rg, cols, s.keyCol, s.timeCol, s.cs.Columns, s.cs.Symbols); err != nil {
				return fmt.Errorf("read part %s: %w", key, err)
			}
			return nil
		})
		<-s.sem
		if err != nil {
			send(blockOrErr{err: err})
			return
		}
		if !send(blockOrErr{b: b}) {
			return
		}
	}
}

// monthParts groups a manifest's parts by month, months in order and each
// month's parts by key, keeping only months that may hold rows in [lo,
// hi).
func monthParts(m *Manifest, lo, hi int64) [][]Part {
	byMonth := map[string][]Part{}
	for _, p := range m.Parts {
		if p.MinTime != nil && p.MaxTime != nil {
			if p.MaxTime.UnixMicro() < lo || p.MinTime.UnixMicro() >= hi {
				continue
			}
		}
		byMonth[p.Month] = append(byMonth[p.Month], p)
	}
	months := make([]string, 0, len(byMonth))
	for k := range byMonth {
		months = append(months, k)
	}
	sort.Strings(months)
	out := make([][]Part, len(months))
	for i, k := range months {
		ps := byMonth[k]
		sort.Slice(ps, func(a, b int) bool { return ps[a].Key < ps[b].Key })
		out[i] = ps
	}
	return out
}
