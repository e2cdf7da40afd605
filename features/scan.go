package features

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
)

// line is one fact of a customer's history, whatever table it came from:
// an order line, a web event or a loyalty ledger entry.
type line struct {
	ts   int64   // UTC microseconds
	ord  uint64  // order key: FNV-1a 64 of order_id, or of the timestamp when none
	val  float64 // money value (orders) or points (loyalty)
	qty  float64 // quantity (orders)
	prod uint64  // FNV-1a 64 of product_id, 0 when none or not read
	cat  int32   // category symbol, -1 when none
	kind int32   // line_type (orders) or event_type (events) symbol
	ok   bool    // val is known (a line with a money column)
}

// source says which table a scan reads and which of its columns.
type source int

const (
	srcOrders source = iota
	srcEvents
	srcLoyalty
)

// need lists the optional order columns a feature set reads.
type need struct {
	products bool
}

// cmpLine orders rows by time, then by content.
func cmpLine(a, b line) int {
	switch {
	case a.ts != b.ts:
		return cmpInt(a.ts, b.ts)
	case a.ord != b.ord:
		return cmpU64(a.ord, b.ord)
	case a.kind != b.kind:
		return cmpInt(int64(a.kind), int64(b.kind))
	case a.prod != b.prod:
		return cmpU64(a.prod, b.prod)
	case a.ok != b.ok:
		if a.ok {
			return 1
		}
		return -1
	case a.val != b.val:
		if a.val < b.val {
			return -1
		}
		return 1
	case a.qty != b.qty:
		if a.qty < b.qty {
			return -1
		}
		return 1
	}
	// Category ids depend on decoding order; rows equal in everything
	// else add the same numbers, so their order changes no result.
	return cmpInt(int64(a.cat), int64(b.cat))
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// block is one decoded row group of a part.
type block struct {
	n    int
	cust []byte
	off  []uint32 // n+1 end offsets into cust; off[0] = 0
	ts   []int64
	ord  []uint64
	qty  []float64
	pr   []float64
	prOK []bool
	am   []float64
	amOK []bool
	cat  []int32
	prod []uint64
	kind []int32
	pts  []float64
}

func (b *block) key(i int) []byte { return b.cust[b.off[i]:b.off[i+1]] }

// decodeRowGroup decodes the columns a source needs from one row group.
func decodeRowGroup(rg parquet.RowGroup, cols map[string]colRef, src source, nd need, syms *symtab) (*block, error) {
	chunks := rg.ColumnChunks()
	col := func(name string) (chunk, bool) {
		r, ok := cols[name]
		if !ok {
			return chunk{}, false
		}
		return chunk{cc: chunks[r.index], maxDef: r.maxDef}, true
	}
	n := int(rg.NumRows())
	b := &block{n: n}
	var err error
	cc, ok := col("customer_id")
	if !ok {
		return nil, fmt.Errorf("no customer_id column")
	}
	b.off = append(make([]uint32, 0, n+1), 0)
	if b.cust, b.off, err = decodeStrings(cc, make([]byte, 0, n*8), b.off); err != nil {
		return nil, fmt.Errorf("customer_id: %w", err)
	}
	cc, ok = col("timestamp")
	if !ok {
		return nil, fmt.Errorf("no timestamp column")
	}
	if b.ts, err = decodeInt64(cc, make([]int64, 0, n)); err != nil {
		return nil, fmt.Errorf("timestamp: %w", err)
	}
	switch src {
	case srcOrders:
		if cc, ok := col("order_id"); ok {
			if b.ord, err = decodeHashes(cc, make([]uint64, 0, n)); err != nil {
				return nil, fmt.Errorf("order_id: %w", err)
			}
		}
		if cc, ok := col("quantity"); ok {
			if b.qty, _, err = decodeFloat64(cc, make([]float64, 0, n), make([]bool, 0, n)); err != nil {
				return nil, fmt.Errorf("quantity: %w", err)
			}
		}
		if cc, ok := col("unit_price"); ok {
			if b.pr, b.prOK, err = decodeFloat64(cc, make([]float64, 0, n), make([]bool, 0, n)); err != nil {
				return nil, fmt.Errorf("unit_price: %w", err)
			}
		}
		if cc, ok := col("amount"); ok {
			if b.am, b.amOK, err = decodeFloat64(cc, make([]float64, 0, n), make([]bool, 0, n)); err != nil {
				return nil, fmt.Errorf("amount: %w", err)
			}
		}
		if cc, ok := col("category"); ok {
			if b.cat, err = decodeSymbols(cc, syms, make([]int32, 0, n)); err != nil {
				return nil, fmt.Errorf("category: %w", err)
			}
		}
		if cc, ok := col("line_type"); ok {
			if b.kind, err = decodeSymbols(cc, syms, make([]int32, 0, n)); err != nil {
				return nil, fmt.Errorf("line_type: %w", err)
			}
		}
		if nd.products {
			if cc, ok := col("product_id"); ok {
				if b.prod, err = decodeHashes(cc, make([]uint64, 0, n)); err != nil {
					return nil, fmt.Errorf("product_id: %w", err)
				}
			}
		}
	case srcEvents:
		if cc, ok := col("event_type"); ok {
			if b.kind, err = decodeSymbols(cc, syms, make([]int32, 0, n)); err != nil {
				return nil, fmt.Errorf("event_type: %w", err)
			}
		}
	case srcLoyalty:
		if cc, ok := col("points"); ok {
			if b.pts, _, err = decodeFloat64(cc, make([]float64, 0, n), make([]bool, 0, n)); err != nil {
				return nil, fmt.Errorf("points: %w", err)
			}
		}
	}
	if len(b.off) != n+1 || len(b.ts) != n {
		return nil, fmt.Errorf("row group of %d rows decoded to %d keys and %d times", n, len(b.off)-1, len(b.ts))
	}
	return b, nil
}

// lineAt converts row i of a block.
func (b *block) lineAt(i int) line {
	l := line{ts: b.ts[i], cat: -1, kind: -1}
	if b.ord != nil {
		l.ord = b.ord[i]
	}
	if l.ord == 0 {
		// No order id: a customer's lines with one timestamp form one order.
		l.ord = uint64(l.ts)*0x9E3779B97F4A7C15 | 1
	}
	if b.qty != nil {
		l.qty = b.qty[i]
	}
	switch {
	case b.am != nil && b.amOK[i]:
		l.val, l.ok = b.am[i], true
	case b.pr != nil && b.prOK[i]:
		l.val, l.ok = l.qty*b.pr[i], true
	case b.pts != nil:
		l.val, l.ok = b.pts[i], true
	}
	if b.cat != nil {
		l.cat = b.cat[i]
	}
	if b.prod != nil {
		l.prod = b.prod[i]
	}
	if b.kind != nil {
		l.kind = b.kind[i]
	}
	return l
}

type blockOrErr struct {
	b   *block
	err error
}

// cursor walks the decoded row groups of one part.
type cursor struct {
	ch  chan blockOrErr
	cur *block
	pos int
}

// next moves to the next non-empty block; false at the end.
func (c *cursor) next() (bool, error) {
	for {
		r, ok := <-c.ch
		if !ok {
			c.cur = nil
			return false, nil
		}
		if r.err != nil {
			return false, r.err
		}
		if r.b.n > 0 {
			c.cur, c.pos = r.b, 0
			return true, nil
		}
	}
}

// scanner reads a table's parts month by month. Within a month the parts'
// rows are merged so that each customer's rows of the month come together,
// in time order (ties in part order, then stored order). Decoding runs on
// up to GOMAXPROCS goroutines, a month ahead of the consumer.
type scanner struct {
	st     datasets.Store
	src    source
	need   need
	syms   *symtab
	lo, hi int64 // only rows with lo <= ts < hi are passed on
	keep   func(cust []byte) bool
	sem    chan struct{}
}

// decodePart decodes every row group of a part into ch, then closes it.
func (s *scanner) decodePart(ctx context.Context, key string, ch chan<- blockOrErr) {
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
	f, err := parquet.OpenFile(obj, obj.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		send(blockOrErr{err: fmt.Errorf("open part %s: %w", key, err)})
		return
	}
	cols := columnIndex(f)
	for _, rg := range f.RowGroups() {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		var b *block
		err := safe(func() error {
			var err error
			b, err = decodeRowGroup(rg, cols, s.src, s.need, s.syms)
			return err
		})
		<-s.sem
		if err != nil {
			send(blockOrErr{err: fmt.Errorf("read part %s: %w", key, err)})
			return
		}
		if !send(blockOrErr{b: b}) {
			return
		}
	}
}

func safe(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed parquet: %v", p)
		}
	}()
	return f()
}

// monthParts groups a manifest's parts by month, keeping only months that
// may hold rows in [lo, hi).
func monthParts(m *datasets.Manifest, lo, hi int64) [][]datasets.Part {
	byMonth := map[string][]datasets.Part{}
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
	out := make([][]datasets.Part, len(months))
	for i, k := range months {
		ps := byMonth[k]
		sort.Slice(ps, func(a, b int) bool { return ps[a].Key < ps[b].Key })
		out[i] = ps
	}
	return out
}

// scan calls fn once per customer and month with the customer's rows of
// that month in [lo, hi), in time order. Months come in order, so fn sees
// each customer's history in time order. cust and lines are reused after
// fn returns.
func (s *scanner) scan(ctx context.Context, m *datasets.Manifest, fn func(cust []byte, lines []line) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.sem == nil {
		s.sem = make(chan struct{}, runtime.GOMAXPROCS(0))
	}
	months := monthParts(m, s.lo, s.hi)
	monthCh := make(chan []*cursor)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(monthCh)
		for _, parts := range months {
			curs := make([]*cursor, len(parts))
			for i, p := range parts {
				c := &cursor{ch: make(chan blockOrErr, 1)}
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
	var scratch []line
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
			// The smallest customer key among the heads.
			minKey := heads[0].cur.key(heads[0].pos)
			for _, h := range heads[1:] {
				if k := h.cur.key(h.pos); bytes.Compare(k, minKey) < 0 {
					minKey = k
				}
			}
			keybuf = append(keybuf[:0], minKey...)
			keep := len(keybuf) > 0 && (s.keep == nil || s.keep(keybuf))
			scratch = scratch[:0]
			contributed := 0
			live := heads[:0]
			for _, h := range heads {
				alive := true
				if bytes.Equal(h.cur.key(h.pos), keybuf) {
					contributed++
					var err error
					scratch, alive, err = s.appendRun(h, keybuf, scratch, keep)
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
			// A total order on the rows' content, so that features never
			// depend on how the rows were split into parts (imports, spills).
			if contributed > 1 || !slices.IsSortedFunc(scratch, cmpLine) {
				slices.SortFunc(scratch, cmpLine)
			}
			if err := fn(keybuf, scratch); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// appendRun appends the head's rows of customer key (when keep) and moves
// past them; alive is false when the part is exhausted.
func (s *scanner) appendRun(h *cursor, key []byte, dst []line, keep bool) (_ []line, alive bool, err error) {
	for {
		b := h.cur
		i := h.pos
		for i < b.n && bytes.Equal(b.key(i), key) {
			if keep {
				if ts := b.ts[i]; ts >= s.lo && ts < s.hi {
					dst = append(dst, b.lineAt(i))
				}
			}
			i++
		}
		h.pos = i
		if i < b.n {
			return dst, true, nil
		}
		ok, err := h.next()
		if err != nil || !ok {
			return dst, false, err
		}
	}
}
